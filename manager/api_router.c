/* api_router — version prefix, version checks, and the route table. See api_router.h. */
#include "manager/api_router.h"

#include "manager/api_handlers.h"

#include <stdio.h>
#include <string.h>

enum route { ROUTE_PING, ROUTE_VERSION, ROUTE_INFO };

static const struct {
    const char *method;
    const char *path;
    enum route route;
} routes[] = {
    {"HEAD", "/_ping", ROUTE_PING},
    {"GET", "/_ping", ROUTE_PING},
    {"GET", "/version", ROUTE_VERSION},
    {"GET", "/info", ROUTE_INFO},
};

/* First path segments of the Docker Engine API (1.41) that the manager does not answer yet:
 * a clear 501 rather than a 404 that clients would read as "no such object". */
static const char *const engine_api[] = {
    "containers", "images",  "networks", "volumes", "exec",     "events",       "build",
    "auth",       "system",  "swarm",    "nodes",   "services", "tasks",        "secrets",
    "configs",    "plugins", "session",  "commit",  "grpc",     "distribution",
};

static bool is_engine_api(const char *path)
{
    if (path[0] != '/')
        return false;
    const char *seg = path + 1;
    size_t len = strcspn(seg, "/");
    for (size_t i = 0; i < sizeof(engine_api) / sizeof(engine_api[0]); i++) {
        if (strlen(engine_api[i]) == len && memcmp(engine_api[i], seg, len) == 0)
            return true;
    }
    return false;
}

/* Splits "/v1.41/info" into version "1.41" and rest "/info". Without a prefix (or with one not
 * followed by a path) the whole path is the rest and *vlen is 0. */
static const char *strip_version(const char *path, const char **version, size_t *vlen)
{
    *version = NULL;
    *vlen = 0;
    if (path[0] != '/' || path[1] != 'v')
        return path;
    size_t j = 2;
    while ((path[j] >= '0' && path[j] <= '9') || path[j] == '.')
        j++;
    if (j == 2 || path[j] != '/')
        return path;
    *version = path + 2;
    *vlen = j - 2;
    return path + j;
}

const char *api_router_version(const struct api_context *ctx)
{
    const char *v = ctx->api_version ? ctx->api_version(ctx->arg) : NULL;
    return v && api_version_valid(v) ? v : API_DEFAULT_VERSION;
}

bool api_route_streams_body(const struct api_context *ctx, const struct api_request *req)
{
    const char *vtext;
    size_t vlen;
    const char *path = strip_version(req->path, &vtext, &vlen);
    if (ctx->streams_body == NULL || !is_engine_api(path))
        return false;
    return ctx->streams_body(ctx->take_arg, req, path);
}

bool api_route(const struct api_context *ctx, const struct api_request *req, struct api_exchange *x,
               struct api_response *resp, const char **api_version)
{
    const char *cluster = api_router_version(ctx);
    *api_version = cluster;

    const char *vtext;
    size_t vlen;
    const char *path = strip_version(req->path, &vtext, &vlen);
    int found = -1;
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, req->method) == 0) {
            found = (int)i;
            break;
        }
    }
    /* dockerd answers a method the path does not take with 404 too. */
    if (found < 0 && (path_known || !is_engine_api(path))) {
        api_response_error(resp, 404, "page not found: %s %s", req->method, path);
        return false;
    }

    if (vtext) {
        char v[API_VERSION_MAX];
        if (vlen >= sizeof(v)) {
            api_response_error(resp, 400, "client version %.*s... is not a valid API version",
                               (int)(sizeof(v) - 1), vtext);
            return false;
        }
        memcpy(v, vtext, vlen);
        v[vlen] = '\0';
        if (!api_version_valid(v)) {
            api_response_error(resp, 400, "client version %s is not a valid API version", v);
            return false;
        }
        if (api_version_cmp(v, cluster) > 0) {
            api_response_error(resp, 400,
                               "client version %s is too new. Maximum supported API version is %s",
                               v, cluster);
            return false;
        }
        if (api_version_cmp(v, API_MIN_VERSION) < 0) {
            api_response_error(resp, 400,
                               "client version %s is too old. Minimum supported API version is "
                               "%s, please upgrade your client to a newer version",
                               v, API_MIN_VERSION);
            return false;
        }
    }

    if (found < 0) {
        if (x && ctx->take && ctx->take(ctx->take_arg, req, path, x))
            return true;
        api_response_error(resp, 501, "swarm: %s %s is not implemented yet", req->method, path);
        return false;
    }
    switch (routes[found].route) {
    case ROUTE_PING:
        api_handle_ping(ctx, req, resp);
        break;
    case ROUTE_VERSION:
        api_handle_version(ctx, req, cluster, resp);
        break;
    case ROUTE_INFO:
        api_handle_info(ctx, req, resp);
        break;
    }
    return false;
}
