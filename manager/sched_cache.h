/*
 * sched_cache — the scheduler's view of the engines (scheduler.h), kept from one decision to
 * the next and brought up to date from what changed since, instead of rebuilt for each one.
 *
 *   engines, in order ──sched_cache_sync──► the view: node i is engine i, read as
 *   (struct engine, gen)                     sched_cache_build would read it now
 *
 * Each node remembers the engine record it was read from (its address) and that record's gen
 * (engines.h: every change to what the scheduler reads of an engine gives it a new gen,
 * unique among all records). A sync walks the engines once (a pointer and a number compared
 * per engine) and re-reads only the nodes whose gen moved (a STATE delta, a health change, a
 * create sent there or answered), inserts a node for an engine that joined and removes the
 * node of one that left. The result is the view a fresh build gives, node for node and
 * string for string, so every decision is the same; tests/unit/test_sched_cache.c checks it
 * on random sequences of changes. A fresh build is made instead when there is no view yet,
 * when more than SCHED_CACHE_MAX_EDITS engines joined or left at once, after an allocation
 * failed, and when the view's string table (it keeps every distinct string it ever saw:
 * container ids come and go) has grown past twice its size after the last fresh build.
 *
 * The caller's part (the hook): after a node is (re)read from engine e, the hook adds what
 * the caller counts on e besides the engine's own state — the creates sent there and not
 * answered yet — and may lower its health; it must depend on nothing but e and state whose
 * every change the caller marks with engine_touch(e). Pure: no I/O, no clock.
 *
 * Ownership: the cache owns its view; a view returned is valid until the next sync, reset or
 * free of that cache. The engines are the caller's; the cache keeps their addresses only to
 * compare them and never reads a record that is not in the array given to the current sync.
 */
#ifndef SWARM_MANAGER_SCHED_CACHE_H
#define SWARM_MANAGER_SCHED_CACHE_H

#include "manager/scheduler.h"

#include <stddef.h>
#include <stdint.h>

struct engine; /* manager/engines.h */

/* Joins and leaves handled one node at a time in a sync; beyond, a fresh build is cheaper. */
#define SCHED_CACHE_MAX_EDITS 16

struct sched_cache_hooks {
    /* After node i of v was read from e (fresh or re-read): adds the caller's in-flight
     * creates on e (sched_view_add_inflight), may set the node's health to 0. 0, or -1 when
     * out of memory. May be NULL. */
    int (*decorate)(void *arg, struct sched_view *v, size_t i, const struct engine *e);
    void *arg;
};

struct sched_cache_stats {
    uint64_t syncs;       /* sched_cache_sync calls that returned a view */
    uint64_t full_builds; /* of which built from scratch */
    uint64_t refreshed;   /* nodes re-read in place */
    uint64_t inserted;    /* nodes added for engines that joined */
    uint64_t removed;     /* nodes removed for engines that left */
};

struct sched_cache;

/* hooks copied (may be NULL). NULL when out of memory. */
struct sched_cache *sched_cache_new(const struct sched_cache_hooks *hooks);
void sched_cache_free(struct sched_cache *c);

/* The view of engines[0..n) in that order, current (see above). NULL when out of memory (the
 * next sync starts from scratch). */
struct sched_view *sched_cache_sync(struct sched_cache *c, struct engine *const *engines, size_t n);

/* Forgets the view: the next sync builds it from scratch. */
void sched_cache_reset(struct sched_cache *c);

void sched_cache_get_stats(const struct sched_cache *c, struct sched_cache_stats *out);

/* A fresh view of engines[0..n), as each sync's result must equal: node i is engine i
 * (sched_view_add_engine with the agent's labels, e->agent_labels), then hooks->decorate.
 * The caller frees it (sched_view_free). NULL when out of memory. */
struct sched_view *sched_cache_build(struct engine *const *engines, size_t n,
                                     const struct sched_cache_hooks *hooks);

#endif
