/*
 * engine_watch — the agent's live copy of its engine's state (containers, images, /info,
 * /version), kept current by the engine's /events stream and handed out as the relay's STATE
 * messages: a snapshot, then deltas (docs/PROTOCOL.md section 8.1). Everything runs on the
 * daemon's libuv loop through agent/engine_http: no polling, no blocking call, no thread.
 *
 *   (re)start ─► GET /events?since=<now> ─ headers 200 ─► GET /containers/json?all=1,
 *                (kept open)                              /images/json, /info, /version, then
 *                                                         GET /containers/{id}/json for each
 *                                                         container (4 at a time)
 *                                                         ─► snapshot ─► cb.snapshot()
 *   each /events line ─► queue ─► one at a time, in order, each a delta ─► cb.delta():
 *     container destroy                 {"event","removed":id}
 *     container exec_*, attach, detach, resize, top, export, copy, archive-path,
 *       extract-to-dir                  {"event"}                (its listing does not change)
 *     container commit, image *         GET /images/json ─► {"event","images":[...]}
 *     container (any other action)      GET /containers/json?all=1&filters={"id":[id]} and
 *                                       GET /containers/{id}/json ─► {"event","container":E},
 *                                       or {"event","removed":id} if it is gone
 *     daemon reload                     GET /info ─► {"event","info":{...}}
 *     anything else                     {"event"}
 *   engine unreachable, /events ended, a request failed or timed out ─► an error snapshot
 *     (once per distinct error), then a retry after 0.5 s, doubling to 10 s, and a fresh
 *     snapshot when the engine answers again.
 *
 * Why nothing is lost: /events is opened first, with since = the time of the request, so the
 * engine also replays what happened between our request and its subscription; the listings
 * start only once the stream is live, and events that arrive during a snapshot or a re-fetch
 * wait in the queue and are applied after it. Applying an event re-reads the object's current
 * state, so an event the snapshot already reflects is harmless. When a later queued event
 * will re-read the same object, an earlier one is passed on as just {"event"}: the state it
 * would fetch is the same.
 *
 * E (a container entry) is the container's /containers/json?all=1 entry unchanged, except that
 * its HostConfig also carries the inspect's HostConfig fields Memory, NanoCpus, CpuShares,
 * CpusetCpus, PortBindings and RestartPolicy (what the scheduler counts); an "Env" is never
 * sent. All JSON handed out is compact.
 *
 * Bounds: a list body (containers, images, /info, /version) ENGINE_WATCH_LIST_MAX, an inspect
 * ENGINE_WATCH_INSPECT_MAX, an event line ENGINE_WATCH_EVENT_MAX (a longer or unreadable one is
 * skipped and replaced by a fresh snapshot, as is a queue overflow), queued events
 * ENGINE_WATCH_QUEUE_MAX and ENGINE_WATCH_QUEUE_BYTES (overflow: the queue is dropped and a
 * fresh snapshot taken), each request ENGINE_WATCH_TIMEOUT_MS (the /events stream has none),
 * at most ENGINE_WATCH_PARALLEL inspects at once. The state is kept as compact JSON texts, not
 * jansson trees (which take several times the text), and the container list is parsed one
 * entry at a time: 1,000 containers add about 1.3 MB to the agent's RSS.
 *
 * Ownership: engine_watch_start() allocates the watcher; the caller closes it with
 * engine_watch_close() (its on_closed runs once its handles are closed) and then frees it with
 * engine_watch_free(). The config's strings are copied. Callbacks run on the loop thread and
 * must not close the watcher.
 */
#ifndef SWARM_AGENT_ENGINE_WATCH_H
#define SWARM_AGENT_ENGINE_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ENGINE_WATCH_LIST_MAX (8 * 1024 * 1024)
#define ENGINE_WATCH_INSPECT_MAX (1024 * 1024)
#define ENGINE_WATCH_EVENT_MAX (256 * 1024)
#define ENGINE_WATCH_QUEUE_MAX 1024
#define ENGINE_WATCH_QUEUE_BYTES (4 * 1024 * 1024)
#define ENGINE_WATCH_TIMEOUT_MS 30000
#define ENGINE_WATCH_BACKOFF_MIN_MS 500
#define ENGINE_WATCH_BACKOFF_MAX_MS 10000
#define ENGINE_WATCH_PARALLEL 4
#define ENGINE_WATCH_ID_MAX 128

struct engine_watch;

struct engine_watch_callbacks {
    /* A new snapshot is current (engine_watch_snapshot returns it): the first one, one after
     * the engine came back or the queue overflowed, or an error snapshot. */
    void (*snapshot)(void *arg);
    /* A delta, compact JSON json[0..len) (NUL after it), valid during the call; the watcher's
     * own state already includes it. */
    void (*delta)(void *arg, const char *json, size_t len);
};

struct engine_watch_config {
    const char *engine_path; /* the engine's unix socket, e.g. "/var/run/docker.sock" */
    /* Zeros: the ENGINE_WATCH_* defaults (tests make them small). */
    size_t list_max, inspect_max, event_max, queue_max, queue_bytes;
    uint32_t timeout_ms, backoff_min_ms, backoff_max_ms;
};

struct engine_watch_stats {
    uint64_t snapshots;       /* snapshots of a live engine */
    uint64_t error_snapshots; /* error snapshots emitted */
    uint64_t deltas;
    uint64_t events;           /* event lines read */
    uint64_t requests;         /* GETs started (/events included) */
    uint64_t coalesced;        /* events passed on without a re-fetch (a later one re-reads) */
    uint64_t overflows;        /* fresh snapshots instead of queued events (overflow, bad line) */
    uint64_t engine_errors;    /* times the engine was found down or failing */
    uint64_t last_snapshot_ms; /* the last snapshot: from the /events request to the end */
    uint64_t last_snapshot_bytes; /* ... and its size as engine_watch_snapshot gives it */
    size_t containers;            /* containers in the state now */
};

/* Starts watching: the first /events request goes out at once. NULL with err on a bad config
 * (engine path not absolute or over 107 bytes) or out of memory. */
struct engine_watch *engine_watch_start(uv_loop_t *loop, const struct engine_watch_config *cfg,
                                        const struct engine_watch_callbacks *cb, void *arg,
                                        char *err, size_t errlen);

/* The current snapshot as compact JSON, malloc'd (the caller frees it), *len its length; NULL
 * if there is none yet (the engine has neither answered nor failed) or out of memory. */
char *engine_watch_snapshot(struct engine_watch *w, size_t *len);

/* True while the engine answers and the state is live (not an error snapshot). */
bool engine_watch_healthy(const struct engine_watch *w);

const struct engine_watch_stats *engine_watch_stats(const struct engine_watch *w);

/* Cancels every request and stops; on_closed (may be NULL) runs once the watcher's handles are
 * closed. No callback runs after this call. Safe to call twice. */
void engine_watch_close(struct engine_watch *w, void (*on_closed)(void *arg), void *arg);

/* Frees the watcher; only after on_closed ran (or the loop ended), or on NULL. */
void engine_watch_free(struct engine_watch *w);

/* ---- pure helpers (unit tests and tests/fuzz use them) --------------------------------------- */

/* E for one container: the /containers/json entry with HostConfig extended from the inspect
 * (may be NULL), "Env" dropped; malloc'd compact JSON, its Id copied to id. NULL if entry is
 * not an object with an acceptable string Id (1..ENGINE_WATCH_ID_MAX of [A-Za-z0-9_.-]). */
char *engine_watch_entry(const json_t *entry, const json_t *inspect,
                         char id[ENGINE_WATCH_ID_MAX + 1], size_t *len);

enum engine_watch_action {
    ENGINE_WATCH_PASS = 0,      /* delta {"event"} */
    ENGINE_WATCH_CONTAINER = 1, /* re-fetch the container named by id */
    ENGINE_WATCH_REMOVED = 2,   /* the container named by id is gone */
    ENGINE_WATCH_IMAGES = 3,    /* re-fetch the image list */
    ENGINE_WATCH_INFO = 4,      /* re-fetch /info */
};

/* What an engine event (one /events object) asks for; for CONTAINER and REMOVED the container
 * id goes to id. An event that is not an object, or names no acceptable id, is PASS. */
enum engine_watch_action engine_watch_classify(const json_t *event,
                                               char id[ENGINE_WATCH_ID_MAX + 1]);

/* Calls fn for each element of the JSON array text[0..len), parsed one at a time, so a long list
 * never becomes one big tree; fn's v is freed after the call. 0; -1 if the text is not a JSON
 * array or holds a NUL byte (elements before the fault were handed out); or fn's nonzero
 * return. */
int engine_watch_each(const char *text, size_t len, int (*fn)(void *arg, json_t *v), void *arg);

/* Splits a byte stream into lines (for /events): line() gets each complete line without its
 * "\n", valid during the call; a line longer than max is dropped whole and counted in
 * `dropped`. Holds at most max bytes. */
struct engine_lines {
    char *buf;
    size_t len, cap, max;
    bool skipping; /* inside a line that is being dropped */
    uint64_t dropped;
};
void engine_lines_init(struct engine_lines *l, size_t max);
/* 0, or -1 out of memory (the partial line is dropped). */
int engine_lines_feed(struct engine_lines *l, const char *p, size_t n,
                      void (*line)(void *arg, const char *text, size_t len), void *arg);
void engine_lines_reset(struct engine_lines *l); /* forgets a partial line, frees the buffer */

#endif
