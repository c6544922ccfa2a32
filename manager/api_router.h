/*
 * api_router — which answer a Docker API request gets: strips an optional /vX.Y prefix, checks
 * the version against the cluster's, and calls the handler for the path, or answers with a
 * Docker-style error. Pure but for the context's callbacks: no socket, no clock of its own, so
 * the fuzz target runs it on any parsed request.
 *
 *   HEAD|GET /_ping   GET /version   GET /info            (api_handlers.c)
 *   a path of the Docker Engine API not built yet         501 "swarm: GET /x is not implemented
 * yet" any other path, or a method the path does not take   404 "page not found: GET /x" /vX.Y
 * newer than the cluster's API version            400 "client version X is too new. ..." /vX.Y
 * older than API_MIN_VERSION                      400 "client version X is too old. ..." a
 * connection upgrade (attach / exec hijack)           501, and the server closes after it
 *
 * The cluster's API version — the lowest of its engines', API_DEFAULT_VERSION when none says —
 * is also the Api-Version header of every response.
 *
 * Ownership: the context and what it points to are the caller's and must outlive the server.
 * Its callbacks run on the loop thread, one request at a time.
 */
#ifndef SWARM_MANAGER_API_ROUTER_H
#define SWARM_MANAGER_API_ROUTER_H

#include "manager/api_cluster.h"
#include "manager/api_http.h"

#include <stdint.h>

struct api_exchange; /* api_server.h */
struct info_view;    /* info_view.h */

#define API_VERSION_MAX 24 /* longest valid X.Y version text (4 parts of 5 digits) + NUL */

/* The manager's own host, as /info and /version describe it. */
struct api_host {
    const char *name;   /* host name: /info Name */
    const char *id;     /* /info ID */
    const char *os;     /* /info OperatingSystem (os-release PRETTY_NAME) */
    const char *kernel; /* KernelVersion (uname -r) */
    const char *arch;   /* /info Architecture, uname -m ("x86_64") */
    const char *goarch; /* /version Arch, Go's name ("amd64") */
};

/* /info's last answer and the generation it was built at (api_context.generation below). The
 * caller's: zeroed to start, api_info_cache_free to end. */
struct api_info_cache {
    bool valid;
    uint64_t gen;
    char *body; /* malloc'd, len bytes */
    size_t len;
};

void api_info_cache_free(struct api_info_cache *c);

struct api_context {
    const char *version;    /* swarm's version, "0.1.0"; Server "swarm/0.1.0" */
    const char *git_commit; /* /version GitCommit */
    struct api_host host;
    const char *strategy; /* "spread", "binpack" or "random" */
    const char *filters;  /* "health, port, ..." in the order applied */
    /* Fills an initialised cluster with the engines the manager knows now; returns 0, or -1
     * (then /info answers 500). NULL: a cluster with no engine. */
    int (*snapshot)(void *arg, struct api_cluster *out);
    /* Or, used before snapshot when set: brings the caller's per-node view
     * (manager/info_view.h) up to date with the engines the manager knows now and returns it
     * (the caller's; NULL: out of memory, /info answers 500). */
    struct info_view *(*info_view)(void *arg);
    /* The cluster's API version, or NULL for API_DEFAULT_VERSION. Called for every request,
     * so it must be cheap; the string must stay valid until the next call. NULL: default. */
    const char *(*api_version)(void *arg);
    /* A number that changes whenever what snapshot reports may have changed (a member's
     * state, address or metadata, an engine's state). With it and info_cache, /info answers
     * its last body again while the number is the same, and builds it (info_view or snapshot,
     * JSON) only when it changed. NULL (either): /info is built for every request. */
    uint64_t (*generation)(void *arg);
    struct api_info_cache *info_cache; /* the caller's, mutable */
    /* Every request the route table above does not answer (the engine API proper: containers,
     * images, exec, events, ...), after the version checks: path is without its /vX.Y prefix.
     * Returns true if it took the request (it answers through x, see api_server.h), false to
     * let the router answer 501. NULL: nothing is taken. */
    bool (*take)(void *take_arg, const struct api_request *req, const char *path,
                 struct api_exchange *x);
    void *take_arg;
    /* Whether the take hook wants this request's body streamed (api_http.h, head stop) rather
     * than kept whole: asked once the head of a request with a body is in, with the path
     * without its /vX.Y prefix. NULL: every body is kept whole. */
    bool (*streams_body)(void *take_arg, const struct api_request *req, const char *path);
    void *arg;
};

/* The Api-Version every response carries: the context's, or API_DEFAULT_VERSION. */
const char *api_router_version(const struct api_context *ctx);

/* Whether req's body (its head is all there is yet) is to be streamed to the take hook:
 * the context's streams_body on a path of the engine API, false for anything else. */
bool api_route_streams_body(const struct api_context *ctx, const struct api_request *req);

/* Answers req into resp (the caller frees it with api_response_free) and sets *api_version to
 * the Api-Version to send (valid until the next call into the context); returns false. Or hands
 * the request to the context's take hook with x, and returns true if it took it (resp is then
 * untouched). x may be NULL: nothing is taken. */
bool api_route(const struct api_context *ctx, const struct api_request *req, struct api_exchange *x,
               struct api_response *resp, const char **api_version);

#endif
