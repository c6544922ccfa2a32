/*
 * info_reference — GET /info's body as the manager built it until the per-node view
 * (manager/info_view.h), kept as the reference the body must equal byte for byte, and as the
 * "before" of bench/bench_info.c: every listed member's metadata decoded, its engine's
 * containers counted through their JSON, the cluster sorted, SystemStatus built pair by pair
 * and the whole object dumped. The member loop is manage.c's snapshot over an array of members
 * (the membership's order) with the engine lookup a callback (engines_find in the manager).
 * The engine records (api_cluster_add) are shared, unchanged. Header-only (static functions)
 * for one test and one benchmark.
 */
#ifndef SWARM_TESTS_INFO_REFERENCE_H
#define SWARM_TESTS_INFO_REFERENCE_H

#include "agent/gossip_uv.h"
#include "agent/membership.h"
#include "manager/api_cluster.h"
#include "manager/api_handlers.h"
#include "manager/api_router.h"
#include "manager/engines.h"
#include "manager/scheduler.h"
#include "proto/meta.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct engine *(*inforef_find_fn)(void *arg, const char *member);

static const char *inforef_nz(const char *s)
{
    return s ? s : "";
}

static int inforef_listed(const struct member *x, struct meta *meta)
{
    if (x->self || x->state == MEMBER_LEFT || x->meta_len == 0)
        return -1;
    if (meta_decode(x->meta, x->meta_len, meta, NULL) != 0 || meta->role != META_ROLE_AGENT)
        return -1;
    return 0;
}

static void inforef_engine_counts(const struct engine *e, struct api_member_in *in)
{
    size_t i;
    json_t *c;
    int64_t ncpu = (int64_t)json_integer_value(json_object_get(e->info, "NCPU"));
    json_array_foreach(e->containers, i, c)
    {
        const char *state = json_string_value(json_object_get(c, "State"));
        in->containers++;
        if (state && strcmp(state, "running") == 0)
            in->running++;
        else if (state && strcmp(state, "paused") == 0)
            in->paused++;
        else
            in->stopped++;
        json_t *hc = json_object_get(c, "HostConfig");
        in->reserved_memory += (int64_t)json_integer_value(json_object_get(hc, "Memory"));
        in->reserved_mcpus += sched_mcpus_from_engine(
            (int64_t)json_integer_value(json_object_get(hc, "CpuShares")),
            (int64_t)json_integer_value(json_object_get(hc, "NanoCpus")), ncpu);
    }
    in->images = (uint32_t)json_array_size(e->images);
    in->server_version = json_string_value(json_object_get(e->info, "ServerVersion"));
}

/* manage.c's snapshot: wall = time(NULL), now = the gossip clock (ms). */
static int inforef_snapshot(const struct member *const *members, size_t n, inforef_find_fn find,
                            void *arg, int64_t wall, uint64_t now, struct api_cluster *out)
{
    struct meta *meta = malloc(sizeof(*meta));
    if (meta == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct member *x = members[i];
        if (inforef_listed(x, meta) < 0)
            continue;
        char addr[64];
        gossip_format_addr(&x->addr, addr, sizeof(addr));
        uint64_t ago = now > x->state_since_ms ? now - x->state_since_ms : 0;
        struct api_member_in in = {
            .member = x->name,
            .addr = addr,
            .healthy = x->state == MEMBER_ALIVE,
            .updated_at = wall - (int64_t)(ago / 1000),
            .meta = meta,
        };
        struct engine *e = find ? find(arg, x->name) : NULL;
        if (e)
            inforef_engine_counts(e, &in);
        if (api_cluster_add(out, &in) < 0) {
            free(meta);
            return -1;
        }
    }
    free(meta);
    return 0;
}

static void inforef_rfc3339(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

static int inforef_pair(json_t *arr, const char *k, const char *v)
{
    return json_array_append_new(arr, json_pack("[s, s]", k, v));
}

static json_t *inforef_system_status(const struct api_context *ctx, const struct api_cluster *c)
{
    json_t *s = json_array();
    char buf[512];
    int bad = 0;
    bad |= inforef_pair(s, "Role", "primary");
    bad |= inforef_pair(s, "Strategy", inforef_nz(ctx->strategy));
    bad |= inforef_pair(s, "Filters", inforef_nz(ctx->filters));
    snprintf(buf, sizeof(buf), "%zu", c->n);
    bad |= inforef_pair(s, "Nodes", buf);
    for (size_t i = 0; i < c->n; i++) {
        const struct api_node *n = &c->nodes[i];
        snprintf(buf, sizeof(buf), " %s", n->name);
        bad |= inforef_pair(s, buf, n->addr);
        bad |= inforef_pair(s, "  └ ID", n->id);
        bad |= inforef_pair(s, "  └ Status", n->healthy ? "Healthy" : "Unhealthy");
        if (n->healthy)
            snprintf(buf, sizeof(buf),
                     "%" PRIu32 " (%" PRIu32 " Running, %" PRIu32 " Paused, %" PRIu32 " Stopped)",
                     n->containers, n->running, n->paused, n->stopped);
        else
            snprintf(buf, sizeof(buf), "%" PRIu32, n->containers);
        bad |= inforef_pair(s, "  └ Containers", buf);
        if (n->reserved_mcpus % 1000)
            snprintf(buf, sizeof(buf), "%.2f / %" PRIu32, (double)n->reserved_mcpus / 1000.0,
                     n->cpus);
        else
            snprintf(buf, sizeof(buf), "%" PRId64 " / %" PRIu32, n->reserved_mcpus / 1000, n->cpus);
        bad |= inforef_pair(s, "  └ Reserved CPUs", buf);
        char total[32], used[32];
        api_bytes_size(n->memory, total, sizeof(total));
        api_bytes_size(n->reserved_memory > 0 ? (uint64_t)n->reserved_memory : 0, used,
                       sizeof(used));
        snprintf(buf, sizeof(buf), "%s / %s", used, total);
        bad |= inforef_pair(s, "  └ Reserved Memory", buf);
        bad |= inforef_pair(s, "  └ Labels", n->labels);
        inforef_rfc3339(n->updated_at, buf, sizeof(buf));
        bad |= inforef_pair(s, "  └ UpdatedAt", buf);
        bad |= inforef_pair(s, "  └ ServerVersion", n->server_version);
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}

/* The whole answer as the old api_handle_info gave it: *status 200 and the body (a newline at
 * its end; malloc'd, *len bytes), or 500 and NULL. ctx gives strategy, filters, version, host. */
static char *inforef_body(const struct api_context *ctx, const struct member *const *members,
                          size_t nmembers, inforef_find_fn find, void *arg, int64_t wall,
                          uint64_t now, int *status, size_t *len)
{
    struct api_cluster c;
    api_cluster_init(&c);
    *status = 500;
    *len = 0;
    if (inforef_snapshot(members, nmembers, find, arg, wall, now, &c) < 0) {
        api_cluster_free(&c);
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
    snprintf(version, sizeof(version), "swarm/%s", inforef_nz(ctx->version));
    json_t *st = inforef_system_status(ctx, &c);
    api_cluster_free(&c);
    if (st == NULL)
        return NULL;
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:n, s:o, s:{s:[], s:[], s:n, s:[]}, s:I, s:I, s:s, "
        "s:[], s:b, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:b, "
        "s:{s:s, s:s, s:s, s:b, s:s, s:n}, s:[], s:n}",
        "ID", inforef_nz(ctx->host.id), "Containers", containers, "ContainersRunning", running,
        "ContainersPaused", paused, "ContainersStopped", stopped, "Images", images, "Driver", "",
        "DriverStatus", "SystemStatus", st, "Plugins", "Volume", "Network", "Authorization", "Log",
        "NCPU", (json_int_t)ncpu, "MemTotal", (json_int_t)mem, "Name", inforef_nz(ctx->host.name),
        "Labels", "ExperimentalBuild", 0, "ServerVersion", version, "OperatingSystem",
        inforef_nz(ctx->host.os), "OSType", "linux", "Architecture", inforef_nz(ctx->host.arch),
        "KernelVersion", inforef_nz(ctx->host.kernel), "NEventsListener", 0, "Debug", 0,
        "DockerRootDir", "", "LiveRestoreEnabled", 0, "Swarm", "NodeID", "", "NodeAddr", "",
        "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "", "RemoteManagers",
        "SecurityOptions", "Warnings");
    char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
    json_decref(info);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    char *body = realloc(text, n + 2);
    if (body == NULL) {
        free(text);
        return NULL;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    *len = n + 1;
    *status = 200;
    return body;
}

#endif
