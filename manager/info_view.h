/*
 * info_view — the per-node part of GET /info kept from one body to the next: for each listed
 * agent (a gossip member with agent metadata, not ourselves, not left) its sizes, its engine's
 * counts and its lines of classic Swarm's SystemStatus as compact JSON text. A pass over the
 * members remakes only the entries whose member (address, state, metadata) or engine record
 * (its gen, engines.h) moved since the last pass, so the body after a change costs what
 * changed plus one walk over the kept texts.
 *
 *   info_view_begin ─► info_view_member, every member (membership order) ─► info_view_end
 *                  ─► info_view_count, info_view_text (classic's order), info_view_sums
 *
 * A member's UpdatedAt is the wall time of its last state change, reckoned once per change
 * (wall - time since it, at the first pass that sees the change) and kept while its state does
 * not change, so that the entry's text does not move meanwhile.
 *
 * Ownership: info_view_new allocates, info_view_free frees everything. Entries keep copies of
 * what they are made from (the member's name, metadata bytes, address) and no pointer into a
 * member or an engine record across calls. What info_view_text and info_view_sums return is the
 * view's, valid until the next info_view_begin or info_view_free.
 */
#ifndef SWARM_MANAGER_INFO_VIEW_H
#define SWARM_MANAGER_INFO_VIEW_H

#include "agent/membership.h"
#include "manager/api_cluster.h"
#include "manager/engines.h"

#include <stddef.h>
#include <stdint.h>

struct info_view;

/* The sums /info gives, over the healthy nodes (classic Swarm's). */
struct info_view_sums {
    uint64_t ncpu, memory;
    int64_t containers, running, paused, stopped, images;
};

/* The engine record of a listed member (engines_find(member) in the manager), or NULL. */
typedef struct engine *(*info_view_find_fn)(void *arg, const char *member);

/* NULL when out of memory. */
struct info_view *info_view_new(void);
void info_view_free(struct info_view *v);

/* Starts a pass; wall is the unix time in seconds, now_ms the clock of the members'
 * state_since_ms (gossip's). */
void info_view_begin(struct info_view *v, int64_t wall, uint64_t now_ms);

/* One member of the pass (any member: those not listed are remembered as such). find is
 * called for a listed one only. Returns 0, or -1 when out of memory (the pass is then to be
 * dropped: begin another). */
int info_view_member(struct info_view *v, const struct member *x, info_view_find_fn find,
                     void *arg);

/* A node given whole (the api_context.snapshot path): an entry made from n for this pass only,
 * whatever was kept. 0, or -1 when out of memory. */
int info_view_node(struct info_view *v, const struct api_node *n);

/* Ends the pass: drops the entries of members not seen, orders the nodes as classic Swarm did
 * (api_node_cmp), adds up the sums. 0, or -1 when out of memory. */
int info_view_end(struct info_view *v);

/* The listed nodes after info_view_end, i < info_view_count: node i's SystemStatus pairs as
 * compact JSON without the brackets around them ("[\" h1\",\"10.0.0.1:7946\"],[\"  └ ID\",...]"),
 * *len bytes; NULL when they could not be made (a string that is not UTF-8, or out of memory:
 * /info answers 500 then, as it always did). */
size_t info_view_count(const struct info_view *v);
const char *info_view_text(const struct info_view *v, size_t i, size_t *len);
const struct info_view_sums *info_view_sums(const struct info_view *v);

#endif
