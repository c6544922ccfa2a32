/*
 * engine_info — what the agent learns about its local Docker engine at start: identity and
 * capacity for the member metadata, read from the engine's GET /info and GET /version.
 *
 * engine_info_parse() is pure (JSON text in, struct out) so it can be unit-tested and fuzzed;
 * engine_info_fetch() makes the two requests over the engine's unix socket, once, at agent start,
 * before the daemon's loop runs: agent/engine_http.h's client on a private libuv loop, run until
 * the answers are in (blocking the caller).
 *
 * Ownership: struct engine_info is plain data with fixed-size, NUL-terminated strings; the caller
 * owns it. Strings longer than their field are an error, never silently truncated.
 */
#ifndef SWARM_AGENT_ENGINE_INFO_H
#define SWARM_AGENT_ENGINE_INFO_H

#include <stddef.h>
#include <stdint.h>

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

/* The socket path inside an engine URL: "unix:///x" → "/x", "/x" → "/x"; NULL if not a unix URL. */
const char *engine_socket_path(const char *url);

#endif
