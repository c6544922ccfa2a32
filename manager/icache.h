/*
 * icache — the engines' container inspect answers (GET /containers/{id}/json), kept by the
 * manager and given again while nothing they show can have changed. Pure: no I/O, no clock.
 *
 * An inspect is the most frequent call clients make on one object (docker-compose, `docker
 * run`, monitoring), and forwarding it costs the manager, the agent and the engine CPU on
 * every call. A kept answer is as current as the manager's listing (`docker ps`), which is
 * answered from the same events:
 *
 *   an answer is kept     for (container id, API version prefix of the path), with the engine
 *                         clock's epoch at the time the request was sent; put() refuses it if
 *                         the epoch moved since (the engine's state may have changed while
 *                         the answer was on its way)
 *   it goes               with any engine event naming the container (icache_drop_id: every
 *                         container event, and network/volume events whose "container"
 *                         attribute names it), and with its engine's clock epoch, which moves
 *                         with a new snapshot, a connection or health change, and at the end
 *                         of every other call forwarded to that engine (a stop, a wait, a logs
 *                         stream: read-your-writes for whatever the call did)
 *   it is never kept      when it is not a 200 with a JSON object, is larger than
 *                         ICACHE_ENTRY_MAX or a quarter of the budget, or shows a health check
 *                         ("Health" in its State: its log moves with no event)
 *
 * The bytes of all kept answers (bodies, keys, bookkeeping) stay under the budget given to
 * icache_new; the least recently used go first.
 *
 * Clocks: struct icache_clock is one engine's (manager/engines.h: struct engine .clock),
 * reference-counted so that a kept answer and a forwarded call can outlive the engine record
 * (a record made later under the same name has another clock, so nothing kept for the old
 * one is ever given for it).
 *
 * Ownership: icache_new allocates, icache_free frees every kept answer (and its clock
 * reference). put() copies the body; get() returns an entry valid until the next call on the
 * cache. Loop thread only.
 */
#ifndef SWARM_MANAGER_ICACHE_H
#define SWARM_MANAGER_ICACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICACHE_ENTRY_MAX (256 * 1024)
#define ICACHE_ID_MAX 64      /* a full container id */
#define ICACHE_VARIANT_MAX 15 /* "/v1.41": the API version prefix, "" for none */

struct icache_clock {
    uint64_t epoch; /* moves (icache_clock_bump) when the engine's earlier answers may be stale */
    uint32_t refs;
};

/* A clock with one reference; NULL when out of memory. */
struct icache_clock *icache_clock_new(void);
/* c may be NULL (returned as is). */
struct icache_clock *icache_clock_ref(struct icache_clock *c);
void icache_clock_unref(struct icache_clock *c);
/* Every answer kept under c's current epoch is stale from now on. c may be NULL. */
void icache_clock_bump(struct icache_clock *c);

struct icache;

struct icache_entry {
    const char *body; /* the engine's answer, NUL after it */
    size_t len;
    const char *content_type;
    uint64_t stamp; /* the caller's, given to put() (a time, say) */
};

struct icache_stats {
    uint64_t hits, misses, stores, refused, evicted, dropped;
    size_t entries, bytes, budget;
};

/* budget: bytes the kept answers may take (0: a cache that keeps nothing). NULL on ENOMEM. */
struct icache *icache_new(size_t budget);
void icache_free(struct icache *c);

/* The answer kept for id and variant under clock's current epoch, or NULL (counted as a hit
 * or a miss; a stale one found is dropped). */
const struct icache_entry *icache_get(struct icache *c, const char *id, const char *variant,
                                      const struct icache_clock *clock);

/* Whether put() would keep an answer like this (status, content type, body): for callers
 * that want to skip work on answers that are never kept. */
bool icache_keepable(const struct icache *c, int status, const char *content_type, const char *body,
                     size_t len);

/* Keeps body[0..len) for id and variant, if icache_keepable and epoch (the clock's epoch when
 * the request went out) is still clock's; replaces what was kept for the pair. stamp is handed
 * back with the entry. Returns 1 if kept, 0 if not (stale, not keepable, too long a key), -1
 * when out of memory. */
int icache_put(struct icache *c, const char *id, const char *variant, struct icache_clock *clock,
               uint64_t epoch, int status, const char *content_type, const char *body, size_t len,
               uint64_t stamp);

/* Forgets every answer kept for id (full id; any variant). */
void icache_drop_id(struct icache *c, const char *id);

void icache_get_stats(const struct icache *c, struct icache_stats *out);

#endif
