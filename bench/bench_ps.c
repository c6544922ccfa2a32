/*
 * bench_ps — `docker ps -a` answered by the manager from its engines' view, in process: the
 * time to build the body of GET /containers/json over N engines of 30 containers each.
 *
 *   bench_ps [engines] [reps]          (default 1,000 engines, 20 reps)
 *
 * The engines are struct engine records (engine_init, then a STATE snapshot through
 * engines_apply_state, as the manager holds them) with /containers/json entries as dockerd
 * 20.10 gives them (about 1,100 bytes each: two names on a third, ports on 0.0.0.0 and ::,
 * labels, HostConfig, NetworkSettings with one network, a mount on half); a tenth of the
 * containers are stopped, Created values repeat across engines.
 *
 * Rows (each the median of reps, wall time of the call alone; "cpu" is the thread's CPU time):
 *   before          the way the manager built it until 8aba5e5 (tests/unit/ps_reference.h:
 *                   every entry deep-copied and rewritten, qsort, one json_dumps)
 *   after, cold     api_routes_containers_body with a new cache (every entry's text made)
 *   after, warm     the same cache again, nothing changed
 *   after, 1 changed    one engine changed (a STATE delta) since the last listing
 *   after, 10% changed  a tenth of the engines changed since the last listing
 *   docker ps, warm     without all (running ones only)
 *   label filter, warm  filters={"label":["com.example.app=app3"]}
 *   docker ps -l, warm  limit=1: the pick and the sort of every entry, a body of one
 * Every "after" body is checked equal to "before"'s once.
 */
#include "manager/api_routes.h"
#include "manager/container_list.h"
#include "bench/bench_cluster.h"
#include "manager/engines.h"
#include "tests/unit/ps_reference.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_NODE 30

/* One entry as dockerd's /containers/json?all=1 gives it. */
static void entry(char *out, size_t cap, size_t node, int k, unsigned serial)
{
    char id[80], image_id[80], net_id[80], ep_id[80], names[96], ports[256], mounts[256];
    bench_hex_id(id, node, (unsigned long)k);
    bench_hex_id(image_id, (unsigned long)k % 10, 77);
    bench_hex_id(net_id, node, 9999);
    bench_hex_id(ep_id, node, (unsigned long)k + 5000);
    bool running = k % 10 != 9;
    if (k % 3 == 0)
        snprintf(names, sizeof(names), "\"/svc%d-%zu\",\"/web%zu/db%d\"", k, node, node, k);
    else
        snprintf(names, sizeof(names), "\"/svc%d-%zu\"", k, node);
    if (k % 2 == 0)
        snprintf(ports, sizeof(ports),
                 "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":%d,\"Type\":\"tcp\"},"
                 "{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":%d,\"Type\":\"tcp\"}",
                 10000 + k, 10000 + k);
    else
        snprintf(ports, sizeof(ports), "{\"PrivatePort\":6379,\"Type\":\"tcp\"}");
    if (k % 2 == 1)
        snprintf(mounts, sizeof(mounts),
                 "{\"Type\":\"volume\",\"Name\":\"data%d\",\"Source\":\"/var/lib/docker/volumes/"
                 "data%d/_data\",\"Destination\":\"/data\",\"Driver\":\"local\",\"Mode\":\"z\","
                 "\"RW\":true,\"Propagation\":\"\"}",
                 k, k);
    else
        mounts[0] = '\0';
    snprintf(out, cap,
             "{\"Id\":\"%s\",\"Names\":[%s],\"Image\":\"img%d:latest\",\"ImageID\":\"sha256:%s\","
             "\"Command\":\"/docker-entrypoint.sh nginx -g 'daemon off;'\",\"Created\":%u,"
             "\"Ports\":[%s],\"Labels\":{\"com.example.app\":\"app%d\",\"com.example.owner\":"
             "\"bench\",\"maintainer\":\"NGINX Docker Maintainers <docker-maint@nginx.com>\"},"
             "\"State\":\"%s\",\"Status\":\"%s\",\"HostConfig\":{\"NetworkMode\":\"default\"},"
             "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAMConfig\":null,\"Links\":null,"
             "\"Aliases\":null,\"NetworkID\":\"%s\",\"EndpointID\":\"%s\",\"Gateway\":"
             "\"172.17.0.1\",\"IPAddress\":\"172.17.0.%d\",\"IPPrefixLen\":16,\"IPv6Gateway\":"
             "\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":"
             "\"02:42:ac:11:00:%02x\",\"DriverOpts\":null}}},\"Mounts\":[%s]}",
             id, names, k % 10, image_id, 1732600000u + serial % 20000, ports, k % 7,
             running ? "running" : "exited", running ? "Up 2 hours" : "Exited (0) 3 minutes ago",
             net_id, ep_id, k + 2, k + 2, mounts);
}

static int make_engine(struct engine *e, size_t i)
{
    char name[32];
    snprintf(name, sizeof(name), "node-%zu", i);
    if (engine_init(e, name) < 0)
        return -1;
    snprintf(e->ip, sizeof(e->ip), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
    e->healthy = true;
    e->ready = true;
    return bench_snapshot(e, i, PER_NODE, entry, "}", "bench_ps");
}

/* A STATE delta: container k of e restarted (its entry replaced). */
static void change(struct engine *e, size_t i, int k, unsigned serial)
{
    bench_change(e, i, k, serial, entry, "bench_ps");
}

enum mode { BEFORE, AFTER };

static char *run_once(enum mode m, struct clist *l, struct engine *const *list, size_t n,
                      const char *query, struct bench_figure *f)
{
    char err[256];
    char *body = NULL;
    size_t len = 0;
    int status;
    double t0 = bench_clock_s(CLOCK_MONOTONIC), c0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (m == BEFORE)
        body = psref_body(list, n, query, &status, &len);
    else
        status = api_routes_containers_body(l, list, n, query, &body, &len, err, sizeof(err));
    f->wall_ms = (bench_clock_s(CLOCK_MONOTONIC) - t0) * 1e3;
    f->cpu_ms = (bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e3;
    f->bytes = len;
    if (status != 200 || body == NULL) {
        fprintf(stderr, "bench_ps: status %d\n", status);
        exit(1);
    }
    return body;
}

static void same(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "bench_ps: %s differs from before\n", what);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1000;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (reps < 1 || reps > 256 || n == 0)
        return 2;
    struct engine *engines = calloc(n, sizeof(*engines));
    struct engine **list = calloc(n, sizeof(*list));
    if (engines == NULL || list == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (make_engine(&engines[i], i) < 0)
            return 1;
        list[i] = &engines[i];
    }
    printf("bench_ps: %zu engines x %d containers = %zu, median of %d\n", n, PER_NODE, n * PER_NODE,
           reps);
    printf("%-22s %10s %10s %10s %12s\n", "", "wall ms", "max ms", "cpu ms", "bytes");
    struct bench_figure f[256];
    const char *ps_a = "all=1";
    const char *label = "all=1&filters=%7B%22label%22%3A%5B%22com.example.app%3Dapp3%22%5D%7D";

    char *before = NULL, *before_ps = NULL, *before_label = NULL;
    for (int i = 0; i < reps; i++) {
        free(before);
        before = run_once(BEFORE, NULL, list, n, ps_a, &f[i]);
    }
    bench_report("before (ps -a)", f, reps, 2);
    before_ps = run_once(BEFORE, NULL, list, n, "", &f[0]);
    before_label = run_once(BEFORE, NULL, list, n, label, &f[0]);

    struct clist *l = NULL;
    for (int i = 0; i < reps; i++) {
        clist_free(l);
        l = clist_new();
        char *body = run_once(AFTER, l, list, n, ps_a, &f[i]);
        same("after, cold", body, before);
        free(body);
    }
    bench_report("after, cold", f, reps, 2);
    for (int i = 0; i < reps; i++) {
        char *body = run_once(AFTER, l, list, n, ps_a, &f[i]);
        if (i == 0)
            same("after, warm", body, before);
        free(body);
    }
    bench_report("after, warm", f, reps, 2);
    for (int i = 0; i < reps; i++) {
        char *body = run_once(AFTER, l, list, n, "", &f[i]);
        if (i == 0)
            same("docker ps", body, before_ps);
        free(body);
    }
    bench_report("docker ps, warm", f, reps, 2);
    for (int i = 0; i < reps; i++) {
        char *body = run_once(AFTER, l, list, n, label, &f[i]);
        if (i == 0)
            same("label filter", body, before_label);
        free(body);
    }
    bench_report("label filter, warm", f, reps, 2);
    for (int i = 0; i < reps; i++) {
        char *body = run_once(AFTER, l, list, n, "limit=1", &f[i]);
        if (i == 0) {
            struct bench_figure g;
            char *want = run_once(BEFORE, NULL, list, n, "limit=1", &g);
            same("docker ps -l", body, want);
            free(want);
        }
        free(body);
    }
    bench_report("docker ps -l, warm", f, reps, 2);
    unsigned serial = 1;
    for (int i = 0; i < reps; i++) {
        size_t at = ((size_t)i * 7919) % n;
        change(&engines[at], at, i % PER_NODE, serial++);
        free(run_once(AFTER, l, list, n, ps_a, &f[i]));
    }
    bench_report("after, 1 changed", f, reps, 2);
    for (int i = 0; i < reps; i++) {
        for (size_t j = 0; j < n / 10; j++) {
            size_t at = ((size_t)i * 104729 + j * 7919) % n;
            change(&engines[at], at, (int)(j % PER_NODE), serial++);
        }
        char *body = run_once(AFTER, l, list, n, ps_a, &f[i]);
        if (i == reps - 1) {
            free(before);
            struct bench_figure g;
            before = run_once(BEFORE, NULL, list, n, ps_a, &g);
            same("after, 10% changed", body, before);
        }
        free(body);
    }
    bench_report("after, 10% changed", f, reps, 2);
    clist_free(l);
    free(before);
    free(before_ps);
    free(before_label);
    for (size_t i = 0; i < n; i++)
        engine_clear(&engines[i]);
    free(engines);
    free(list);
    return 0;
}
