/*
 * bench_info — `docker info` answered by the manager itself, in process: the time of GET /info
 * (api_handle_info, body included) over N engines of 30 containers each, with the cluster's
 * generation and the kept body as the manager runs it.
 *
 *   bench_info [engines] [reps]          (default 1,000 engines, 20 reps)
 *
 * The cluster is N gossip members (struct member: an agent's metadata with an engine name, id,
 * size, platform and 3 labels; alive) and N engine records (engine_init, then a STATE snapshot
 * through engines_apply_state: 30 /containers/json entries as dockerd 20.10 gives them, a tenth
 * stopped, a third with a memory and CPU reservation; 12 images; /info's NCPU and
 * ServerVersion). The member's engine is found as engines_find does: a binary search in
 * natural name order.
 *
 * Rows (each the median of reps, wall time of the call alone; "cpu" is the thread's CPU time):
 *   nothing changed   the generation is the same: the kept body, copied
 *   1 changed         one engine changed (a STATE delta) since the last /info
 *   100 changed       100 engines changed since the last /info
 *   first             the first /info (nothing kept yet)
 * for "before" (tests/unit/info_reference.h: every engine counted, the status built and dumped
 * for any change) and "after" (the manager's /info now: manager/info_view.h, each node's entry
 * kept and made again when its member or engine record moved). Every body is checked equal to
 * the reference's.
 */
#include "agent/membership.h"
#include "manager/api_cluster.h"
#include "manager/api_handlers.h"
#include "manager/api_router.h"
#include "bench/bench_cluster.h"
#include "manager/engines.h"
#include "manager/info_view.h"
#include "proto/meta.h"
#include "tests/unit/info_reference.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_NODE 30
#define WALL 1795000000
#define NOW_MS 86400000ULL

/* One entry as dockerd's /containers/json?all=1 gives it. */
static void entry(char *out, size_t cap, size_t node, int k, unsigned serial)
{
    char id[80], image_id[80], net_id[80], ep_id[80], hc[160];
    bench_hex_id(id, node, (unsigned long)k);
    bench_hex_id(image_id, (unsigned long)k % 10, 77);
    bench_hex_id(net_id, node, 9999);
    bench_hex_id(ep_id, node, (unsigned long)k + 5000);
    bool running = k % 10 != 9;
    if (k % 3 == 0)
        snprintf(hc, sizeof(hc),
                 "{\"NetworkMode\":\"default\",\"Memory\":%d,\"NanoCpus\":%d,\"CpuShares\":0}",
                 (64 << 20) * (1 + k % 4), 250000000 * (1 + k % 2));
    else
        snprintf(hc, sizeof(hc), "{\"NetworkMode\":\"default\"}");
    snprintf(out, cap,
             "{\"Id\":\"%s\",\"Names\":[\"/svc%d-%zu\"],\"Image\":\"img%d:latest\",\"ImageID\":"
             "\"sha256:%s\",\"Command\":\"/docker-entrypoint.sh nginx -g 'daemon off;'\","
             "\"Created\":%u,\"Ports\":[{\"PrivatePort\":6379,\"Type\":\"tcp\"}],\"Labels\":{"
             "\"com.example.app\":\"app%d\",\"com.example.owner\":\"bench\"},\"State\":\"%s\","
             "\"Status\":\"%s\",\"HostConfig\":%s,\"NetworkSettings\":{\"Networks\":{\"bridge\":"
             "{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"NetworkID\":\"%s\","
             "\"EndpointID\":\"%s\",\"Gateway\":\"172.17.0.1\",\"IPAddress\":\"172.17.0.%d\","
             "\"IPPrefixLen\":16,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\","
             "\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"02:42:ac:11:00:%02x\",\"DriverOpts\":"
             "null}}},\"Mounts\":[]}",
             id, k, node, k % 10, image_id, 1732600000u + serial % 20000, k % 7,
             running ? "running" : "exited", running ? "Up 2 hours" : "Exited (0) 3 minutes ago",
             hc, net_id, ep_id, k + 2, k + 2);
}

static int make_engine(struct engine *e, size_t i)
{
    char name[32];
    snprintf(name, sizeof(name), "node-%zu", i);
    if (engine_init(e, name) < 0)
        return -1;
    snprintf(e->member, sizeof(e->member), "%s", name);
    e->healthy = true;
    e->ready = true;
    char tail[512];
    size_t off = (size_t)snprintf(tail, sizeof(tail), ",\"images\":[");
    for (int k = 0; k < 12; k++)
        off += (size_t)snprintf(tail + off, sizeof(tail) - off, "%s{\"Id\":\"sha256:%d\"}",
                                k ? "," : "", k);
    snprintf(tail + off, sizeof(tail) - off,
             "],\"info\":{\"NCPU\":8,\"ServerVersion\":\"20.10.24+dfsg1\"}}");
    return bench_snapshot(e, i, PER_NODE, entry, tail, "bench_info");
}

/* A STATE delta: container k of e restarted (its entry replaced). */
static void change(struct engine *e, size_t i, int k, unsigned serial)
{
    bench_change(e, i, k, serial, entry, "bench_info");
}

static int make_member(struct member *x, size_t i)
{
    char name[32], id[80];
    snprintf(name, sizeof(name), "node-%zu", i);
    bench_hex_id(id, i, 4242);
    id[64] = '\0';
    struct meta m;
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_AGENT;
    m.engine_id = proto_str_c(id);
    m.engine_name = proto_str_c(name);
    m.cpus = 8;
    m.memory = 16ULL << 30;
    m.os = proto_str_c("Debian GNU/Linux 12 (bookworm)");
    m.arch = proto_str_c("x86_64");
    m.kernel = proto_str_c("6.1.0-13-amd64");
    m.api_version = proto_str_c("1.41");
    char zone[16];
    snprintf(zone, sizeof(zone), "z%zu", i % 3);
    m.nlabels = 3;
    m.labels[0] = (struct meta_label){proto_str_c("zone"), proto_str_c(zone)};
    m.labels[1] = (struct meta_label){proto_str_c("disk"), proto_str_c(i % 2 ? "ssd" : "hdd")};
    m.labels[2] = (struct meta_label){proto_str_c("rack"), proto_str_c("r1")};
    m.relay_port = 2377;
    m.has_pubkey = true;
    memset(m.pubkey, (int)(i & 255), sizeof(m.pubkey));
    uint8_t buf[META_MAX_SIZE];
    size_t len = 0;
    if (meta_encode(&m, buf, sizeof(buf), &len, NULL) != 0)
        return -1;
    memset(x, 0, sizeof(*x));
    x->name = strdup(name);
    x->meta = malloc(len);
    if (x->name == NULL || x->meta == NULL)
        return -1;
    memcpy(x->meta, buf, len);
    x->meta_len = (uint16_t)len;
    x->state = MEMBER_ALIVE;
    x->state_since_ms = NOW_MS - 1000 * (i % 5000) - 377;
    x->addr.len = 4;
    x->addr.ip[0] = 10;
    x->addr.ip[1] = (uint8_t)(i >> 16);
    x->addr.ip[2] = (uint8_t)(i >> 8);
    x->addr.ip[3] = (uint8_t)i;
    x->addr.port = 7946;
    return 0;
}

/* The cluster: members in membership order, engines in natural name order. */
static struct {
    struct member *members;
    const struct member **mlist;
    struct engine *engines;
    size_t n;
    uint64_t gen;
} cl;

/* As engines_find: by engine name in natural order (the member's name here). */
static struct engine *find_engine(void *arg, const char *member)
{
    (void)arg;
    size_t lo = 0, hi = cl.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (api_natural_cmp(cl.engines[mid].name, member) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cl.n && strcmp(cl.engines[lo].name, member) == 0 ? &cl.engines[lo] : NULL;
}

static int snapshot(void *arg, struct api_cluster *out)
{
    return inforef_snapshot(cl.mlist, cl.n, find_engine, arg, WALL, NOW_MS, out);
}

/* The manager's info_view callback (manage.c) over the same members. */
static struct info_view *view;

static struct info_view *view_pass(void *arg)
{
    if (view == NULL && (view = info_view_new()) == NULL)
        return NULL;
    info_view_begin(view, WALL, NOW_MS);
    for (size_t i = 0; i < cl.n; i++)
        if (info_view_member(view, cl.mlist[i], find_engine, arg) < 0)
            return NULL;
    return info_view_end(view) < 0 ? NULL : view;
}

static uint64_t generation(void *arg)
{
    (void)arg;
    return cl.gen;
}

static char *run_once(const struct api_context *ctx, struct bench_figure *f)
{
    struct api_response resp = {0};
    double t0 = bench_clock_s(CLOCK_MONOTONIC), c0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
    api_handle_info(ctx, NULL, &resp);
    f->wall_ms = (bench_clock_s(CLOCK_MONOTONIC) - t0) * 1e3;
    f->cpu_ms = (bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e3;
    f->bytes = resp.body_len;
    if (resp.status != 200 || resp.body == NULL) {
        fprintf(stderr, "bench_info: status %d\n", resp.status);
        exit(1);
    }
    char *body = resp.body;
    resp.body = NULL;
    api_response_free(&resp);
    return body;
}

static const struct api_context base = {
    .version = "1.0.0",
    .git_commit = "0000000",
    .host = {.name = "mgr",
             .id = "MGRID",
             .os = "Debian GNU/Linux 12 (bookworm)",
             .kernel = "6.1.0-13-amd64",
             .arch = "x86_64",
             .goarch = "amd64"},
    .strategy = "spread",
    .filters = "health, port, containerslots, dependency, affinity, constraint, whitelist",
    .generation = generation,
};

static char *reference(void)
{
    int status;
    size_t len;
    char *body =
        inforef_body(&base, cl.mlist, cl.n, find_engine, NULL, WALL, NOW_MS, &status, &len);
    if (status != 200 || body == NULL) {
        fprintf(stderr, "bench_info: the reference failed\n");
        exit(1);
    }
    return body;
}

static void same(const char *what, const char *got)
{
    char *want = reference();
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "bench_info: %s differs from before\n", what);
        exit(1);
    }
    free(want);
}

static unsigned serial = 1;

/* One mode's four rows. */
static void rows(const char *mode, struct api_context *ctx, int reps)
{
    struct bench_figure f[256];
    char what[64];
    struct api_info_cache cache = {0};
    ctx->info_cache = &cache;
    free(run_once(ctx, &f[0]));
    for (int i = 0; i < reps; i++) {
        char *body = run_once(ctx, &f[i]);
        if (i == 0)
            same("nothing changed", body);
        free(body);
    }
    snprintf(what, sizeof(what), "%s, nothing changed", mode);
    bench_report(what, f, reps, 3);
    for (int i = 0; i < reps; i++) {
        size_t at = ((size_t)i * 7919) % cl.n;
        change(&cl.engines[at], at, i % PER_NODE, serial++);
        cl.gen++;
        char *body = run_once(ctx, &f[i]);
        if (i == 0)
            same("1 changed", body);
        free(body);
    }
    snprintf(what, sizeof(what), "%s, 1 changed", mode);
    bench_report(what, f, reps, 3);
    for (int i = 0; i < reps; i++) {
        for (size_t j = 0; j < 100 && j < cl.n; j++) {
            size_t at = ((size_t)i * 104729 + j * 7919) % cl.n;
            change(&cl.engines[at], at, (int)(j % PER_NODE), serial++);
        }
        cl.gen++;
        char *body = run_once(ctx, &f[i]);
        if (i == reps - 1)
            same("100 changed", body);
        free(body);
    }
    snprintf(what, sizeof(what), "%s, 100 changed", mode);
    bench_report(what, f, reps, 3);
    api_info_cache_free(&cache);
    for (int i = 0; i < reps; i++) {
        api_info_cache_free(&cache);
        info_view_free(view);
        view = NULL;
        char *body = run_once(ctx, &f[i]);
        if (i == 0)
            same("first", body);
        free(body);
    }
    snprintf(what, sizeof(what), "%s, first", mode);
    bench_report(what, f, reps, 3);
    api_info_cache_free(&cache);
    ctx->info_cache = NULL;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1000;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (reps < 1 || reps > 256 || n == 0)
        return 2;
    cl.n = n;
    cl.gen = 1;
    cl.members = calloc(n, sizeof(*cl.members));
    cl.mlist = calloc(n, sizeof(*cl.mlist));
    cl.engines = calloc(n, sizeof(*cl.engines));
    if (cl.members == NULL || cl.mlist == NULL || cl.engines == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (make_engine(&cl.engines[i], i) < 0 || make_member(&cl.members[i], i) < 0)
            return 1;
        /* membership order (join order), not the name order */
        cl.mlist[i] = &cl.members[n % 7919 ? (i * 7919) % n : i];
    }
    printf("bench_info: %zu engines x %d containers = %zu, median of %d\n", n, PER_NODE,
           n * PER_NODE, reps);
    printf("%-22s %10s %10s %10s %12s\n", "", "wall ms", "max ms", "cpu ms", "bytes");

    struct api_context before = base;
    before.snapshot = snapshot;
    rows("before", &before, reps);
    struct api_context after = base;
    after.info_view = view_pass;
    rows("after", &after, reps);
    info_view_free(view);

    for (size_t i = 0; i < n; i++) {
        engine_clear(&cl.engines[i]);
        free(cl.members[i].name);
        free(cl.members[i].meta);
    }
    free(cl.engines);
    free(cl.members);
    free(cl.mlist);
    return 0;
}
