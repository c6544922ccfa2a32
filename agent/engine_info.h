/*
 * engine_info — what the agent learns about its local Docker engine at start: identity and
 * capacity for the member metadata, read from the engine's GET /info and GET /version.
 *
 * engine_info_parse() is pure (JSON text in, struct out) so it can be unit-tested and fuzzed;
 * engine_info_fetch_start() makes the two requests at once over the engine's unix socket with
 * agent/engine_http.h's client on the caller's loop (the agent asks once, at start, while gossip
 * already runs); engine_info_fetch() does the same on a private loop, blocking the caller.
 * engine_info_probe() only checks that something listens on the socket, without blocking.
 *
 * Ownership: struct engine_info is plain data with fixed-size, NUL-terminated strings; the caller
 * owns what it passes in, and the callback's engine_info is lent for the call. A fetch is owned
 * here: freed after its callback returns, or by engine_info_fetch_cancel(). Strings longer than
 * their field are an error, never silently truncated.
 */
#ifndef SWARM_AGENT_ENGINE_INFO_H
#define SWARM_AGENT_ENGINE_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ENGINE_LABELS_MAX 32

struct engine_info {
    char id[80];   /* /info ID, e.g. "PBJL:GGVM:..." (daemon id; 64 hex chars on newer engines) */
    char name[65]; /* /info Name: the engine's host name */
    int ncpu;
    int64_t mem_total;       /* bytes */
    char os[64];             /* /info OperatingSystem, e.g. "Debian GNU/Linux 12 (bookworm)" */
    char ostype[16];         /* /info OSType, e.g. "linux" */
    char arch[32];           /* /info Architecture, e.g. "x86_64" */
    char kernel[64];         /* /info KernelVersion */
    char storage_driver[32]; /* /info Driver */
    char server_version[32]; /* /info ServerVersion, e.g. "20.10.24+dfsg1" */
    char api_version[16];    /* /version ApiVersion, e.g. "1.41" */
    int nlabels;
    char labels[ENGINE_LABELS_MAX][128]; /* /info Labels, each "key=value" */
};

/*
 * Fills out from the bodies of GET /info and GET /version (either may have extra fields; the
 * ones above are required but Labels). Returns 0, or -1 with the reason naming the field in err.
 */
int engine_info_parse(const char *info_json, size_t info_len, const char *version_json,
                      size_t version_len, struct engine_info *out, char *err, size_t errlen);

/*
 * Asks the engine at url ("unix:///var/run/docker.sock" or a bare socket path) for /info and
 * /version, within timeout_ms each. Returns 0, or -1 with a message in err that says the engine
 * did not answer (and how to point --engine elsewhere) or what was wrong with its answer.
 */
int engine_info_fetch(const char *url, long timeout_ms, struct engine_info *out, char *err,
                      size_t errlen);

/*
 * Asks the engine for /info and /version, both at once, on loop, each within timeout_ms (0: no
 * limit). cb runs once on the loop thread, never from inside this call: info filled (valid
 * during the call) and err NULL, or info NULL and err saying why, as engine_info_fetch's.
 * Returns NULL with err if the URL is not a unix socket's (or out of memory); nothing runs then.
 */
struct engine_info_fetch;
typedef void (*engine_info_cb)(void *arg, const struct engine_info *info, const char *err);
struct engine_info_fetch *engine_info_fetch_start(uv_loop_t *loop, const char *url,
                                                  uint32_t timeout_ms, engine_info_cb cb, void *arg,
                                                  char *err, size_t errlen);
/* Abandons a fetch whose callback has not run: it never will. A no-op on NULL. */
void engine_info_fetch_cancel(struct engine_info_fetch *f);

/* Connects to the engine's socket and hangs up: 0 if something listens there (or its backlog is
 * full), else -1 with the message engine_info_fetch would give for an engine that is not there.
 * Never blocks. */
int engine_info_probe(const char *url, char *err, size_t errlen);

/* The socket path inside an engine URL: "unix:///x" → "/x", "/x" → "/x"; NULL if not a unix URL. */
const char *engine_socket_path(const char *url);

#endif
