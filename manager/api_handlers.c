/*
 * api_handlers — /_ping, /version and /info, answered by the manager itself.
 *
 * /info describes the cluster as one engine, as classic Swarm did (reference/classic-swarm.md
 * §3): sums of the engines' CPUs and memory, the manager host's name and platform, and the
 * per-node listing in SystemStatus that `docker info` prints and classic users' scripts parse.
 * Containers and images are the engines' (healthy ones only in the sums, as classic Swarm), from
 * the state each agent pushes over the relay; an engine whose state has not arrived counts 0.
 * With the context's generation and cache, the body is built once per change of the cluster
 * (hundreds of KB at 1,000 nodes) and answered again, copied, until the next change. Built from
 * the context's info_view (manager/info_view.h), it costs what changed since the last one: each
 * node's SystemStatus lines are kept as text, and the body is the members before and after
 * SystemStatus as jansson dumps them, around those texts.
 */
#include "manager/api_handlers.h"

#include "manager/info_view.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Compact JSON of v and a newline as the response body; takes the reference to v. */
static void respond_json(struct api_response *resp, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    size_t n = text ? strlen(text) : 0;
    char *body = text ? realloc(text, n + 2) : NULL;
    if (body == NULL) {
        free(text);
        api_response_error(resp, 500, "out of memory");
        return;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    api_response_set(resp, 200, "application/json", body, n + 1);
}

void api_handle_ping(const struct api_context *ctx, const struct api_request *req,
                     struct api_response *resp)
{
    (void)ctx;
    char *body = strdup("OK");
    if (body == NULL) {
        api_response_error(resp, 500, "out of memory");
        return;
    }
    /* dockerd answers HEAD with an empty body (Content-Length: 0), GET with "OK". */
    api_response_set(resp, 200, "text/plain; charset=utf-8", body, req->head ? 0 : 2);
    resp->extra_headers = "Cache-Control: no-cache, no-store, must-revalidate\r\n"
                          "Pragma: no-cache\r\n";
}

void api_handle_version(const struct api_context *ctx, const struct api_request *req,
                        const char *api_version, struct api_response *resp)
{
    (void)req;
    char version[64];
    snprintf(version, sizeof(version), "swarm/%s", nz(ctx->version));
    /* Classic Swarm's shape: top-level fields, no Components (CLI 28 renders it as one
     * "Engine" component). We are not written in Go: GoVersion says so. */
    json_t *v = json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "Platform",
                          "Name", "swarm", "Version", version, "ApiVersion", api_version,
                          "MinAPIVersion", API_MIN_VERSION, "GitCommit", nz(ctx->git_commit),
                          "GoVersion", "n/a", "Os", "linux", "Arch", nz(ctx->host.goarch),
                          "KernelVersion", nz(ctx->host.kernel), "Experimental", 0);
    respond_json(resp, v);
}

void api_bytes_size(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double size = (double)bytes;
    size_t u = 0;
    while (size >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        size /= 1024.0;
        u++;
    }
    snprintf(buf, cap, "%.4g %s", size, units[u]);
}

void api_info_cache_free(struct api_info_cache *c)
{
    free(c->body);
    memset(c, 0, sizeof(*c));
}

/* Answers with a copy of the cached body. */
static void respond_cached(struct api_response *resp, const struct api_info_cache *cache)
{
    char *body = malloc(cache->len + 1);
    if (body == NULL) {
        api_response_error(resp, 500, "out of memory");
        return;
    }
    memcpy(body, cache->body, cache->len);
    body[cache->len] = '\0';
    api_response_set(resp, 200, "application/json", body, cache->len);
}

static char *build_info(const struct api_context *ctx, size_t *len, struct api_response *resp);

void api_handle_info(const struct api_context *ctx, const struct api_request *req,
                     struct api_response *resp)
{
    (void)req;
    struct api_info_cache *cache = ctx->generation ? ctx->info_cache : NULL;
    uint64_t gen = cache ? ctx->generation(ctx->arg) : 0;
    if (cache && cache->valid && cache->gen == gen) {
        respond_cached(resp, cache);
        return;
    }
    size_t len = 0;
    char *body = build_info(ctx, &len, resp);
    if (body == NULL)
        return;
    api_response_set(resp, 200, "application/json", body, len);
    if (cache) {
        char *copy = malloc(resp->body_len + 1);
        if (copy) {
            memcpy(copy, resp->body, resp->body_len);
            copy[resp->body_len] = '\0';
            free(cache->body);
            cache->body = copy;
            cache->len = resp->body_len;
            cache->gen = gen;
            cache->valid = true;
        }
    }
}

/* Compact JSON of v without its last byte (an object's '}'), or NULL. Takes v. */
static char *dump_open(json_t *v, size_t *len)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    *len = text ? strlen(text) : 0;
    return text;
}

/* The /info body (a newline at its end) from the view: the object's members before
 * SystemStatus and after it dumped as jansson does, SystemStatus from the nodes' kept texts.
 * NULL with resp set to the error. */
static char *info_body(const struct api_context *ctx, const struct info_view *v, size_t *len,
                       struct api_response *resp)
{
    const struct info_view_sums *s = info_view_sums(v);
    size_t count = info_view_count(v), nodes_len = 0;
    for (size_t i = 0; i < count; i++) {
        size_t l;
        if (info_view_text(v, i, &l) == NULL) {
            api_response_error(resp, 500, "out of memory");
            return NULL;
        }
        nodes_len += l + 1;
    }
    char version[64], nodes[32];
    snprintf(version, sizeof(version), "swarm/%s", nz(ctx->version));
    snprintf(nodes, sizeof(nodes), "%zu", count);
    size_t head_len, status_len, tail_len;
    char *head =
        dump_open(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:n}", "ID", nz(ctx->host.id),
                            "Containers", (json_int_t)s->containers, "ContainersRunning",
                            (json_int_t)s->running, "ContainersPaused", (json_int_t)s->paused,
                            "ContainersStopped", (json_int_t)s->stopped, "Images",
                            (json_int_t)s->images, "Driver", "", "DriverStatus"),
                  &head_len);
    /* classic Swarm's SystemStatus: Role, Strategy, Filters, Nodes, then per node its lines. */
    char *status =
        dump_open(json_pack("[[s, s], [s, s], [s, s], [s, s]]", "Role", "primary", "Strategy",
                            nz(ctx->strategy), "Filters", nz(ctx->filters), "Nodes", nodes),
                  &status_len);
    char *tail = dump_open(
        json_pack("{s:{s:[], s:[], s:n, s:[]}, s:I, s:I, s:s, s:[], s:b, s:s, s:s, s:s, s:s, "
                  "s:s, s:i, s:b, s:s, s:b, s:{s:s, s:s, s:s, s:b, s:s, s:n}, s:[], s:n}",
                  "Plugins", "Volume", "Network", "Authorization", "Log", "NCPU",
                  (json_int_t)s->ncpu, "MemTotal", (json_int_t)s->memory, "Name",
                  nz(ctx->host.name), "Labels", "ExperimentalBuild", 0, "ServerVersion", version,
                  "OperatingSystem", nz(ctx->host.os), "OSType", "linux", "Architecture",
                  nz(ctx->host.arch), "KernelVersion", nz(ctx->host.kernel), "NEventsListener", 0,
                  "Debug", 0, "DockerRootDir", "", "LiveRestoreEnabled", 0, "Swarm", "NodeID", "",
                  "NodeAddr", "", "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                  "RemoteManagers", "SecurityOptions", "Warnings"),
        &tail_len);
    static const char key[] = ",\"SystemStatus\":";
    size_t total = head_len + sizeof(key) + status_len + nodes_len + tail_len + 1;
    char *body = head && status && tail ? malloc(total) : NULL;
    if (body) {
        /* head "{...}" less its '}', the key, status "[...]" less its ']', ",node" per node,
         * ']', then tail "{...}" as ",..." */
        size_t off = head_len - 1;
        memcpy(body, head, off);
        memcpy(body + off, key, sizeof(key) - 1);
        off += sizeof(key) - 1;
        memcpy(body + off, status, status_len - 1);
        off += status_len - 1;
        for (size_t i = 0; i < count; i++) {
            size_t l;
            const char *t = info_view_text(v, i, &l);
            body[off++] = ',';
            memcpy(body + off, t, l);
            off += l;
        }
        body[off++] = ']';
        body[off++] = ',';
        memcpy(body + off, tail + 1, tail_len - 1);
        off += tail_len - 1;
        body[off++] = '\n';
        body[off] = '\0';
        *len = off;
    }
    free(head);
    free(status);
    free(tail);
    if (body == NULL)
        api_response_error(resp, 500, "out of memory");
    return body;
}

/* The /info body, or NULL with resp set to the error. */
static char *build_info(const struct api_context *ctx, size_t *len, struct api_response *resp)
{
    if (ctx->info_view) {
        struct info_view *v = ctx->info_view(ctx->arg);
        if (v == NULL) {
            api_response_error(resp, 500, "swarm: cannot read the cluster view");
            return NULL;
        }
        return info_body(ctx, v, len, resp);
    }
    /* The whole cluster from snapshot, every node's text made for this body. */
    struct api_cluster c;
    api_cluster_init(&c);
    struct info_view *v = info_view_new();
    int rc = v == NULL || (ctx->snapshot && ctx->snapshot(ctx->arg, &c) < 0) ? -1 : 0;
    if (rc == 0) {
        info_view_begin(v, 0, 0);
        for (size_t i = 0; i < c.n && rc == 0; i++)
            rc = info_view_node(v, &c.nodes[i]);
        if (rc == 0)
            rc = info_view_end(v);
    }
    api_cluster_free(&c);
    char *body = NULL;
    if (rc < 0)
        api_response_error(resp, 500, "swarm: cannot read the cluster view");
    else
        body = info_body(ctx, v, len, resp);
    info_view_free(v);
    return body;
}
