/*
 * engines — the manager's view of the cluster's engines: one relay connection (relay_client.h)
 * to every alive agent that advertises a relay, and the engine state each agent pushes over it
 * as STATE messages (a snapshot on connect, then deltas driven by the engine's /events;
 * docs/PROTOCOL.md section 8.1). The API handlers answer listings from this view, resolve
 * container references against it, and open proxied streams on an engine's connection.
 *
 *   gossip member events ──engines_update_member──► connect / keep / close one relay_conn
 *   relay STATE snapshot ──► replace the engine's containers, images, info
 *   relay STATE delta    ──► apply it; hand its engine event to on_event
 *
 * A connection that fails is retried with backoff (1 s doubling to 30 s) while gossip says the
 * member is alive; a suspect member keeps its connection (unhealthy meanwhile: no placement, no
 * proxied call) and needs no new snapshot when it is alive again; a member that fails or
 * leaves has its connection closed and its state kept,
 * marked unhealthy (classic Swarm listed such containers as "Host Down"), until it leaves or is
 * reaped from membership, when its engine record is removed.
 *
 * Ownership: engines_new allocates; engines_close closes every connection and frees everything
 * once the last handle is closed (on_closed runs then). Every struct engine and every json_t in
 * it is owned by engines: valid until control returns to the loop (a callback may remove it);
 * callers that keep a json_t across loop turns take a reference (json_incref). All calls and
 * callbacks run on the loop thread.
 */
#ifndef SWARM_MANAGER_ENGINES_H
#define SWARM_MANAGER_ENGINES_H

#include "agent/membership.h"
#include "crypto/keypair.h"
#include "manager/icache.h"
#include "manager/relay_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ENGINES_NAME_MAX 64

struct engines_index; /* private (engines.c) */

struct engine {
    char name[ENGINES_NAME_MAX + 1];   /* engine name (metadata engine_name, else member name) */
    char member[ENGINES_NAME_MAX + 1]; /* gossip member name */
    char id[ENGINES_NAME_MAX + 1];     /* engine id from the metadata ("" if none) */
    char ip[48];                       /* the member's address, without port */
    char addr[64];                     /* relay address "ip:port" */
    bool healthy;                      /* gossip says alive */
    bool ready;                        /* relay connected and a snapshot received */
    json_t *containers;      /* array, never NULL: the engine's /containers/json?all=1 entries */
    json_t *images;          /* array, never NULL: the engine's /images/json entries */
    json_t *info;            /* object, never NULL (empty before the first snapshot): /info */
    uint32_t pending;        /* containers being created here (the scheduler counts them) */
    int64_t updated_at;      /* unix seconds: last state change seen (gossip or STATE) */
    char error[128];         /* last connection or state error, "" if none */
    struct relay_conn *conn; /* NULL while not connected */
    json_t *version;         /* object, never NULL: the engine's /version (empty before) */
    json_t *agent_labels;    /* array of "k=v", never NULL: the agent's --label flags */
    /* private: indexes of containers, kept by engines_apply_state and engines_note_container:
     * "Id" -> entry, and each of "Names" without its leading '/' -> entry */
    json_t *by_id, *by_name;
    /* A new value, unique among all records of the process, whenever anything above may have
     * changed (engines does it; engine_touch for a caller's change that a reader of e counts,
     * such as a create sent there): a reading of e made at one gen is current while gen is
     * the same (manager/sched_cache.h). */
    uint64_t gen;
    /* The clock of the inspect answers kept for this engine (manager/icache.h): its epoch moves
     * with a new snapshot, a connection or health change (engines does it) and at the end of
     * every call forwarded here that may change something (api_proxy does it). Made and
     * released with the record; NULL only in a record engine_init could not complete. */
    struct icache_clock *clock;
    /* private: the cluster-wide indexes (manager/cindex.h) that hold this record's containers
     * beside by_id and by_name, kept with them; NULL for a record outside engines */
    struct engines_index *index;
};

struct engines_callbacks {
    /* An event from e's engine (the object its /events stream gave); borrowed: incref to keep.
     * May be NULL. */
    void (*on_event)(void *arg, struct engine *e, json_t *event);
    /* e's relay became ready with its first snapshot (up = true), or e lost its connection or
     * health (up = false). May be NULL. */
    void (*on_engine)(void *arg, struct engine *e, bool up);
};

struct engines;

/* self: the manager's keypair (copied). cb copied; arg passed to callbacks. NULL on ENOMEM. */
struct engines *engines_new(uv_loop_t *loop, const struct keypair *self,
                            const struct engines_callbacks *cb, void *arg);

/* Closes every connection and frees everything; on_closed (may be NULL) runs once done. */
void engines_close(struct engines *es, void (*on_closed)(void *arg), void *arg);

/* A member appeared or changed (state, address, metadata). Members that are not agents with a
 * relay port and a public key (managers, ourselves) are ignored. Call it for every member at
 * start and after every membership event. */
void engines_update_member(struct engines *es, const struct member *x);

/* Engines in natural name order (h2 before h10). i < engines_count. */
size_t engines_count(const struct engines *es);
struct engine *engines_at(struct engines *es, size_t i);

/* The engine whose name, member name or id is ref (looked up in that order; the first in the
 * order above among several); NULL if none. A binary search, whatever the number of engines. */
struct engine *engines_find(struct engines *es, const char *ref);

enum engines_lookup {
    ENGINES_FOUND = 0,
    ENGINES_NOT_FOUND = 1,
    ENGINES_AMBIGUOUS = 2,
};

/* Resolves a container reference as classic Swarm did: full id; name ("web" or "/web"),
 * "node/name"; unique id prefix. On ENGINES_FOUND sets *e and *container (the entry in
 * e->containers; borrowed). Both may be NULL. A name held by several engines resolves to the
 * one copy on a healthy engine if there is exactly one, else it is ambiguous. Answered from
 * cluster-wide indexes (one binary search per step, whatever the number of engines). */
enum engines_lookup engines_find_container(struct engines *es, const char *ref, struct engine **e,
                                           json_t **container);

/* The same answer found by asking every engine's own indexes (what engines_find_container
 * falls back to if its cluster-wide indexes could not be kept, out of memory); for tests. */
enum engines_lookup engines_find_container_scan(struct engines *es, const char *ref,
                                                struct engine **e, json_t **container);

/* A number that changes whenever any engine record may have changed (its gen, above), and
 * only grows: a reading of every engine made at one value is current while it is the same.
 * es may be NULL (the number is the process's). */
uint64_t engines_generation(const struct engines *es);

/* True if some engine holds a container named name (without '/'), pending ones included. */
bool engines_name_taken(struct engines *es, const char *name);

/* The create call answered: record container id (and name, may be NULL or "") on e at once,
 * so later calls resolve it before the engine's event arrives. Idempotent. */
void engines_note_container(struct engines *es, struct engine *e, const char *id, const char *name);

/* Exec instances live on the container's engine: remember which one (for /exec/{id}/...). */
void engines_note_exec(struct engines *es, struct engine *e, const char *exec_id);
struct engine *engines_find_exec(struct engines *es, const char *exec_id);

/* ---- added to the first version of this header ------------------------------------------- */

/* The exec map keeps the last ENGINES_EXEC_MAX exec ids (with the engine's member name, so an
 * engine removed since is simply not found). engines_find_exec takes the full id or a prefix
 * unique among them. */
#define ENGINES_EXEC_MAX 4096

/* The member was reaped from membership (MEMBERSHIP_REAPED, whatever its last state): its
 * record goes, as for a member that left. Unknown names are ignored. */
void engines_remove_member(struct engines *es, const char *member);

struct engines_timing {
    uint32_t retry_min_ms; /* first reconnect delay, doubling per failure; 0: 1000 */
    uint32_t retry_max_ms; /* cap of the delay; 0: 30000 */
    /* for each relay connection; all 0: relay_client's defaults (a PING every 15 s) */
    struct relay_link_timing relay;
};

/* Changes the timing for connections and retries started from now on (tests use short ones). */
void engines_set_timing(struct engines *es, const struct engines_timing *t);

/*
 * Applies one whole STATE message json[0..len) of kind FRAME_STATE_SNAPSHOT or
 * FRAME_STATE_DELTA (docs/PROTOCOL.md section 8.1) to e, which belongs to engines or was set
 * up with engine_init. Pure: no I/O and no callbacks (but updated_at = now).
 *   snapshot  {"containers": [E...], "images": [I...], "info": {...}, "version": {...},
 *              "error": "text"}: replaces all four (a missing one becomes empty); ready = true
 *              and error = "" without "error", else ready = false and error = the text;
 *   delta     any of "container": E (adds it, or replaces the entry with its "Id"),
 *              "removed": "<id>" (drops that entry; an unknown id is no error), "images": [...],
 *              "info": {...}, "version": {...} (replace), "event": {...} (handed back in
 *              *event); applied in that order. Unknown keys are skipped (a newer agent's).
 * E is a /containers/json entry: an object with a non-empty string "Id", and if present
 * "Names" an array of strings, "Image" and "State" strings, "Labels" an object, "HostConfig"
 * an object whose "Memory", "NanoCpus", "CpuShares" are integers (Go's nil: null is taken for
 * "Names", "Labels" and "HostConfig").
 * Returns 0; *event (event may be NULL) is then the delta's event as a new reference for the
 * caller to json_decref, or NULL. Returns -1 for a malformed message (not JSON, duplicate keys,
 * a wrong type, a duplicate "Id" in a snapshot, an unknown kind): err says what and where,
 * and e is unchanged. Whether a delta may come at all (after a snapshot) is the caller's rule.
 */
int engines_apply_state(struct engine *e, int kind, const char *json, size_t len, json_t **event,
                        char *err, size_t errlen);

/* A record outside engines (tests, fuzzing): zeroed, named name (truncated to
 * ENGINES_NAME_MAX), empty lists and indexes. 0, or -1 when out of memory (nothing to clear).
 * engine_clear frees what it holds; the struct itself is the caller's. */
int engine_init(struct engine *e, const char *name);
void engine_clear(struct engine *e);

/* Gives e a new gen (see struct engine). Loop thread only, as every call here. */
void engine_touch(struct engine *e);

#endif
