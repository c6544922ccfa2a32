/*
 * cindex — a sorted multimap from strings to (engine, container) pairs: the manager's
 * cluster-wide lookups (manager/engines.c keeps them): containers by id and by name, engines by
 * member name and by engine id. The entries are one array of pointers sorted by key (bytewise,
 * strcmp), entries of equal keys in the order they were added, so an exact lookup and a prefix
 * lookup are one binary search and a walk over the run of matching keys, whatever the number
 * of engines; an insertion or a removal moves the pointers after it (memmove), small next to
 * the JSON work that goes with it. Pure: no I/O.
 *
 * Ownership: struct cindex is the caller's (cindex_init, cindex_free). Each entry and its key
 * (a copy) are the index's; e and c are borrowed: the caller removes an entry before either
 * goes.
 */
#ifndef SWARM_MANAGER_CINDEX_H
#define SWARM_MANAGER_CINDEX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct engine;

struct cindex_entry {
    struct engine *e;
    json_t *c; /* the container, or NULL in an index of engines */
    char key[];
};

struct cindex {
    struct cindex_entry **v; /* sorted by key */
    size_t n, cap;
};

void cindex_init(struct cindex *x);
/* Frees every entry and the array; x is then empty (as after cindex_init). */
void cindex_free(struct cindex *x);

/* Adds (key, e, c) after the entries with the same key. 0, or -1 when out of memory (x is
 * unchanged). A NULL or empty key is not indexed (0). */
int cindex_add(struct cindex *x, const char *key, struct engine *e, json_t *c);

/* Removes the entry (key, e, c) (the first, were it there twice); false if there is none. */
bool cindex_remove(struct cindex *x, const char *key, const struct engine *e, const json_t *c);

/* Removes every entry of engine e; returns how many went. One pass over the index. */
size_t cindex_remove_engine(struct cindex *x, const struct engine *e);

/* The first position whose key is >= key (x->n if none): the entries with key exactly key,
 * or starting with it, follow from there (cindex_match). */
size_t cindex_lower(const struct cindex *x, const char *key);

/* Whether entry i exists and its key is key (plen == 0) or starts with its first plen bytes. */
bool cindex_match(const struct cindex *x, size_t i, const char *key, size_t plen);

#endif
