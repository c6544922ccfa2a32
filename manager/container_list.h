/*
 * container_list — the GET /containers/json body over the cluster, as text: the entries of the
 * engines given, as the cluster shows them (clist_entry), those the caller picks, newest
 * "Created" first (equal ones in the order of the engines given, then each engine's own order:
 * what a stable sort of that sequence gives), cut to a limit, as one compact JSON array.
 *
 * Each entry's compact JSON text is made the first time a listing shows it and kept while its
 * engine's gen (manager/engines.h) stays the same, so a listing of entries already seen costs
 * a pick per entry, a sort of (Created, position) pairs and one copy of their texts: no JSON
 * tree is copied or dumped. The texts kept cost about the size of a full listing; an engine's
 * go at the first listing that finds it at another gen, or gone.
 *
 * Ownership: clist_new allocates, clist_free frees what it kept; engines and their entries are
 * borrowed for the length of a call. One thread (the loop's), as the engines.
 */
#ifndef SWARM_MANAGER_CONTAINER_LIST_H
#define SWARM_MANAGER_CONTAINER_LIST_H

#include "manager/engines.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct clist;

/* NULL on ENOMEM. */
struct clist *clist_new(void);
void clist_free(struct clist *l);

/* Does the listing show entry c (an element of e->containers)? */
typedef bool (*clist_pick_fn)(void *arg, const struct engine *e, json_t *c);

/* The body of the listing of list[0..n) (engines, in this order): the picked entries as
 * clist_entry makes them (pick NULL: every one), newest first as above, the first limit of
 * them if limit > 0, as one
 * compact JSON array followed by "\n" (what the API answers). *out (malloc'd, NUL-terminated,
 * the caller's) and *len (without the NUL). 0, or -1 on ENOMEM (*out NULL). */
int clist_json(struct clist *l, struct engine *const *list, size_t n, clist_pick_fn pick, void *arg,
               long limit, char **out, size_t *len);

/* The entry as the cluster shows it: the names prefixed by the engine's ("/node/name"), the
 * ports' IP 0.0.0.0 or :: replaced by the engine's address, and "Host Down" as status when the
 * engine is unhealthy; everything else as in c. A new object (caller decrefs) that shares its
 * unchanged members with c: read it, do not change it. NULL on ENOMEM. */
json_t *clist_entry(const struct engine *e, json_t *c);

#endif
