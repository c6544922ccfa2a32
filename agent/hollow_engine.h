/*
 * hollow_engine — `swarm join --hollow-engine`, FOR SCALE TESTS ONLY: a fake Docker engine that
 * answers the Docker Engine API (1.41 shapes) from memory on a unix socket, so that one machine
 * can run a thousand agents whose real code paths (engine_info at start, the engine watcher,
 * the relay's byte pipes) talk to it as they would to dockerd. It runs no containers: a
 * container is a record whose state changes on request, images are names (any name exists),
 * and every change is one line on /events.
 *
 *   client ─ uv_pipe (SOCK, mode 0600) ─► session: http-parser (request mode) ─► routes ─► model
 *                                       ◄─ answers; chunked streams: /events, wait, logs -f
 *
 * Two layers:
 *   - the engine and its sessions are pure: no socket, no loop. A session takes a client's raw
 *     bytes (hollow_session_feed) and hands its answers to the caller's write callback; the unit
 *     tests and tests/fuzz/fuzz_hollow.c drive it directly.
 *   - the listener (hollow_engine_listen) serves sessions on a uv_pipe on the caller's loop;
 *     hollow_engine_serve_while() does so on a private loop in a helper thread while the caller
 *     blocks (a caller with no loop of its own: the unit tests).
 *
 * The API (any /vX.Y prefix up to 1.41, or none; anything else: 404 {"message":"page not found"}):
 *   GET|HEAD /_ping                     "OK", with the headers the docker CLI negotiates from
 *   GET /version, /info                 Engine "hollow-<version>", API 1.41; /info has the NCPU,
 *                                       MemTotal, Name, ID and Labels of the config and the
 *                                       container counts; OperatingSystem and Driver "hollow"
 *   GET /containers/json                all, limit, filters id (prefix; full ids are looked
 *                                       up, not searched), name (substring), label (key or
 *                                       key=value), status
 *   POST /containers/create?name=       201 {"Id","Warnings"}; keeps Image, Cmd, Entrypoint,
 *                                       Env, Labels, Tty, and HostConfig (minus null/false/0/
 *                                       empty members); 409 on a name in use; any image exists
 *   GET /containers/{id}/json           the inspect (State, Config, HostConfig, Name, ...)
 *   POST /containers/{id}/start         204, 304 if running. A command whose first word is
 *                                       true or echo exits at once with code 0; any other runs
 *                                       until stopped; HostConfig.AutoRemove removes it on exit
 *   POST /containers/{id}/stop|restart  204 (stop: 304 if not running; exit code 0)
 *                                       ({id}: a full id, a unique id prefix, or a name)
 *   POST /containers/{id}/kill?signal=  204 (exit code 128 + signal, 137 for KILL), 409 if not
 *                                       running; WINCH, CHLD, URG and CONT change nothing
 *   POST /containers/{id}/wait?condition=not-running|next-exit|removed
 *                                       200 and its headers at once; {"StatusCode":N,
 *                                       "Error":null} when the condition holds (at once if it
 *                                       already does)
 *   GET /containers/{id}/logs           an echo command's words; 8-byte multiplexed frames
 *                                       unless Tty; follow=1 ends when the container stops
 *   DELETE /containers/{id}?force=      204; 409 if running without force
 *   GET /images/json, /images/{ref}/json   one image per name used (any ref inspects)
 *   POST /images/create?fromImage=&tag=    a few progress lines, at once
 *   GET /events?since=&until=&filters=  chunked, one JSON line per event (create, start, kill,
 *                                       die, stop, destroy, restart; image pull), replayed from
 *                                       the last HOLLOW_EVENTS_KEPT for since; until ends the
 *                                       stream (hollow_engine_tick); filters
 *                                       type, event, container, image, label
 * Attach, exec and every other endpoint answer 404: nothing runs to attach to.
 *
 * Memory: about 320 bytes per container for what `docker run -d` sends (tests/unit/test_hollow.c
 * prints it).
 *
 * Bounds: HOLLOW_CONNS_MAX connections (more are accepted and closed at once); a request head
 * HOLLOW_HEAD_MAX bytes and HOLLOW_HEADERS_MAX lines (431), a body HOLLOW_BODY_MAX (413), both
 * then close; unparsed input HOLLOW_INPUT_MAX per session (closed beyond); containers
 * max_containers (create answers 500 beyond), images HOLLOW_IMAGES_MAX; a client's unsent output
 * HOLLOW_WRITE_QUEUE_MAX (a slower /events reader is dropped).
 *
 * Ownership: hollow_engine_new allocates the engine and copies the config's strings; the caller
 * frees it with hollow_engine_free once it no longer listens (hollow_engine_close's on_closed
 * ran, or the loop ended). Sessions: the caller makes them with hollow_session_new and frees
 * them with hollow_session_free (the listener does both for its connections), never from inside
 * one of the session's own callbacks. Everything runs on one thread at a time.
 */
#ifndef SWARM_AGENT_HOLLOW_ENGINE_H
#define SWARM_AGENT_HOLLOW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HOLLOW_API_VERSION "1.41"
#define HOLLOW_CONNS_MAX 512
#define HOLLOW_HEAD_MAX (64 * 1024)
#define HOLLOW_HEADERS_MAX 100
#define HOLLOW_BODY_MAX (1024 * 1024)
#define HOLLOW_INPUT_MAX (HOLLOW_HEAD_MAX + HOLLOW_BODY_MAX)
#define HOLLOW_CONTAINERS_MAX 100000
#define HOLLOW_IMAGES_MAX 4096
#define HOLLOW_EVENTS_KEPT 256
#define HOLLOW_WRITE_QUEUE_MAX (1024 * 1024)
#define HOLLOW_LABELS_MAX 64
#define HOLLOW_DEFAULT_CPUS 2
#define HOLLOW_DEFAULT_MEMORY (2LL * 1024 * 1024 * 1024)
#define HOLLOW_SOCKET_NAME "hollow.sock"
#define HOLLOW_UNTIL_TICK_MS 250

struct hollow_engine;
struct hollow_session;

struct hollow_engine_config {
    const char *socket_path;   /* for hollow_engine_listen: absolute, at most 107 bytes */
    const char *name;          /* /info Name */
    const char *id;            /* /info ID; NULL: 64 hex chars derived from name */
    int ncpu;                  /* 0: HOLLOW_DEFAULT_CPUS */
    int64_t mem_total;         /* bytes; 0: HOLLOW_DEFAULT_MEMORY */
    const char *const *labels; /* /info Labels, each "key=value" */
    int nlabels;
    const char *version;   /* swarm's version: ServerVersion "hollow-<version>" */
    size_t max_containers; /* 0: HOLLOW_CONTAINERS_MAX */
    /* Tests and fuzzing: a fixed clock (ns since the epoch; 0 = the real clock), and container
     * ids from this seed instead of a random one (so they repeat from run to run). */
    int64_t (*now_ns)(void);
    const uint8_t *id_seed; /* 16 bytes, or NULL */
};

struct hollow_engine_stats {
    uint64_t requests;            /* requests answered (stream starts included) */
    uint64_t connections;         /* accepted by the listener */
    uint64_t refused;             /* connections closed at once: over HOLLOW_CONNS_MAX */
    uint64_t bad_requests;        /* 4xx for malformed or oversized requests */
    uint64_t events;              /* events emitted */
    uint64_t dropped_subscribers; /* /events readers dropped for not reading */
    size_t containers, running, images, sessions, subscribers;
    size_t container_bytes; /* bytes allocated for the containers (records and index) */
};

/* NULL with err on a bad config (no name, a label that is not key=value, too many labels) or
 * out of memory. */
struct hollow_engine *hollow_engine_new(const struct hollow_engine_config *cfg, char *err,
                                        size_t errlen);

/* Listens on cfg->socket_path on loop (a stale socket file is replaced; one that answers is
 * another engine's: an error). The socket is created owner-only (0600). 0, or -1 with err. */
int hollow_engine_listen(struct hollow_engine *h, uv_loop_t *loop, char *err, size_t errlen);

/* Stops listening, closes every connection (streams end) and removes the socket file; the
 * containers stay. on_closed (may be NULL) runs once every handle is closed; listening again,
 * on any loop, is allowed after that. A no-op (on_closed still runs, at once) if not listening. */
void hollow_engine_close(struct hollow_engine *h, void (*on_closed)(void *arg), void *arg);

/* Serves h on a private loop in a helper thread while fn(arg) runs in the calling thread, and
 * stops serving when it returns. Returns fn's result, or -1 with err if h cannot listen. */
int hollow_engine_serve_while(struct hollow_engine *h, int (*fn)(void *arg), void *arg, char *err,
                              size_t errlen);

const struct hollow_engine_stats *hollow_engine_stats(struct hollow_engine *h);

/* Frees the engine and its containers; only when not listening; a no-op on NULL. */
void hollow_engine_free(struct hollow_engine *h);

/* Ends the /events streams whose until has passed; the listener calls it every
 * HOLLOW_UNTIL_TICK_MS while one has an until (its own timer; the pure layer has none). */
void hollow_engine_tick(struct hollow_engine *h);

/* ---- sessions: one client connection's bytes, without a socket ----------------------------- */

struct hollow_session_io {
    /* Output bytes, in order; valid during the call. 0, or -1 if the client is gone or too slow
     * (the session then asks to close). */
    int (*write)(void *arg, const void *data, size_t len);
    /* The session is done: close the connection once the bytes written so far are sent (flush)
     * or at once (!flush). Called at most once; the session writes nothing after it. */
    void (*close)(void *arg, bool flush);
};

/* NULL if out of memory. io is copied. */
struct hollow_session *hollow_session_new(struct hollow_engine *h,
                                          const struct hollow_session_io *io, void *arg);

/* What the client sent: data[0..len); len 0 says it closed its side. Answers what it can at
 * once; a stream (events, wait, logs -f) writes later, as the engine changes. */
void hollow_session_feed(struct hollow_session *s, const char *data, size_t len);

/* Detaches the session from the engine and frees it; a no-op on NULL. */
void hollow_session_free(struct hollow_session *s);

/* ---- pure helpers ---------------------------------------------------------------------------- */

/* "2147483648", "2g", "2GiB", "512m", "512MB", "1.5G": bytes (k, m, g, t are powers of 1024,
 * as docker's --memory reads them). 0, or -1 if s is not a size of 1 byte .. 2^62. */
int hollow_parse_size(const char *s, int64_t *out);

#endif
