/*
 * api_handlers — /_ping, /version and /info, answered by the manager itself.
 *
 * /info describes the cluster as one engine, as classic Swarm did (reference/classic-swarm.md
 * §3): sums of the engines' CPUs and memory, the manager host's name and platform, and the
 * per-node listing in SystemStatus that `docker info` prints and classic users' scripts parse.
 * Containers and images are the engines' (healthy ones only in the sums, as classic Swarm), from
 * the state each agent pushes over the relay; an engine whose state has not arrived counts 0.
 * With the context's generation and cache, the body is built once per change of the cluster
 * (hundreds of KB at 1,000 nodes) and answered again, copied, until the next change.
 */
#include "manager/api_handlers.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* RFC 3339 in UTC, as Go's time.RFC3339 prints it. */
static void rfc3339(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

static int status_pair(json_t *arr, const char *k, const char *v)
{
    return json_array_append_new(arr, json_pack("[s, s]", k, v));
}

/* classic Swarm's SystemStatus: Role, Strategy, Filters, Nodes, then per node its lines. */
static json_t *system_status(const struct api_context *ctx, const struct api_cluster *c)
{
    json_t *s = json_array();
    char buf[512];
    int bad = 0;
    bad |= status_pair(s, "Role", "primary");
    bad |= status_pair(s, "Strategy", nz(ctx->strategy));
    bad |= status_pair(s, "Filters", nz(ctx->filters));
    snprintf(buf, sizeof(buf), "%zu", c->n);
    bad |= status_pair(s, "Nodes", buf);
    for (size_t i = 0; i < c->n; i++) {
        const struct api_node *n = &c->nodes[i];
        snprintf(buf, sizeof(buf), " %s", n->name);
        bad |= status_pair(s, buf, n->addr);
        bad |= status_pair(s, "  └ ID", n->id);
        bad |= status_pair(s, "  └ Status", n->healthy ? "Healthy" : "Unhealthy");
        /* Classic Swarm gave the breakdown only for healthy nodes. */
        if (n->healthy)
            snprintf(buf, sizeof(buf),
                     "%" PRIu32 " (%" PRIu32 " Running, %" PRIu32 " Paused, %" PRIu32 " Stopped)",
                     n->containers, n->running, n->paused, n->stopped);
        else
            snprintf(buf, sizeof(buf), "%" PRIu32, n->containers);
        bad |= status_pair(s, "  └ Containers", buf);
        /* Whole CPUs as classic printed them, a fraction when one is reserved. */
        if (n->reserved_mcpus % 1000)
            snprintf(buf, sizeof(buf), "%.2f / %" PRIu32, (double)n->reserved_mcpus / 1000.0,
                     n->cpus);
        else
            snprintf(buf, sizeof(buf), "%" PRId64 " / %" PRIu32, n->reserved_mcpus / 1000, n->cpus);
        bad |= status_pair(s, "  └ Reserved CPUs", buf);
        char total[32], used[32];
        api_bytes_size(n->memory, total, sizeof(total));
        api_bytes_size(n->reserved_memory > 0 ? (uint64_t)n->reserved_memory : 0, used,
                       sizeof(used));
        snprintf(buf, sizeof(buf), "%s / %s", used, total);
        bad |= status_pair(s, "  └ Reserved Memory", buf);
        bad |= status_pair(s, "  └ Labels", n->labels);
        rfc3339(n->updated_at, buf, sizeof(buf));
        bad |= status_pair(s, "  └ UpdatedAt", buf);
        bad |= status_pair(s, "  └ ServerVersion", n->server_version);
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
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

static json_t *build_info(const struct api_context *ctx, struct api_response *resp);

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
    json_t *info = build_info(ctx, resp);
    if (info == NULL)
        return;
    respond_json(resp, info);
    if (cache && resp->status == 200) {
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

/* The /info object, or NULL with resp set to the error. */
static json_t *build_info(const struct api_context *ctx, struct api_response *resp)
{
    struct api_cluster c;
    api_cluster_init(&c);
    if (ctx->snapshot && ctx->snapshot(ctx->arg, &c) < 0) {
        api_cluster_free(&c);
        api_response_error(resp, 500, "swarm: cannot read the cluster view");
        return NULL;
    }
    api_cluster_sort(&c);
    uint64_t ncpu = 0, mem = 0;
    json_int_t containers = 0, running = 0, paused = 0, stopped = 0, images = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (!c.nodes[i].healthy)
            continue;
        ncpu += c.nodes[i].cpus;
        mem += c.nodes[i].memory;
        containers += c.nodes[i].containers;
        running += c.nodes[i].running;
        paused += c.nodes[i].paused;
        stopped += c.nodes[i].stopped;
        images += c.nodes[i].images;
    }
    char version[64];
    snprintf(version, sizeof(version), "swarm/%s", nz(ctx->version));
    json_t *status = system_status(ctx, &c);
    api_cluster_free(&c);
    if (status == NULL) {
        api_response_error(resp, 500, "out of memory");
        return NULL;
    }
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:n, s:o, s:{s:[], s:[], s:n, s:[]}, s:I, s:I, s:s, "
        "s:[], s:b, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:b, "
        "s:{s:s, s:s, s:s, s:b, s:s, s:n}, s:[], s:n}",
        "ID", nz(ctx->host.id), "Containers", containers, "ContainersRunning", running,
        "ContainersPaused", paused, "ContainersStopped", stopped, "Images", images, "Driver", "",
        "DriverStatus", "SystemStatus", status, "Plugins", "Volume", "Network", "Authorization",
        "Log", "NCPU", (json_int_t)ncpu, "MemTotal", (json_int_t)mem, "Name", nz(ctx->host.name),
        "Labels", "ExperimentalBuild", 0, "ServerVersion", version, "OperatingSystem",
        nz(ctx->host.os), "OSType", "linux", "Architecture", nz(ctx->host.arch), "KernelVersion",
        nz(ctx->host.kernel), "NEventsListener", 0, "Debug", 0, "DockerRootDir", "",
        "LiveRestoreEnabled", 0, "Swarm", "NodeID", "", "NodeAddr", "", "LocalNodeState",
        "inactive", "ControlAvailable", 0, "Error", "", "RemoteManagers", "SecurityOptions",
        "Warnings");
    if (info == NULL)
        api_response_error(resp, 500, "out of memory");
    return info;
}
