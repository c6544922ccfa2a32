/*
 * bench_sched — the scheduler's decision rate and latency (manager/scheduler.h), one core.
 *
 *   bench_sched [seconds-per-case] [nodes...]      (default 1 s; 10 100 1000 10000 nodes)
 *
 * For each cluster size it builds a view of N simulated nodes, each holding 30 containers
 * (ids, names, two labels, an image, reservations on half of them, a published port on a
 * third), 8 CPUs, 32 GiB, six labels and ten images, then times sched_select with want = 1
 * (the create path: the best node only) for each workload below, calling it over and over on
 * the same view for the given time. Each call is timed alone (CLOCK_MONOTONIC around it) for
 * p50/p99, so on a shared machine p99 also counts the times the thread was preempted;
 * decisions/s is calls / the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which preemption does
 * not inflate. No I/O inside the timed loop.
 *
 *   plain      spread, -m 256m -c 1, no expressions
 *   typical    spread, -m 256m, -p 8080:80, constraint:zone==z1
 *   binpack    binpack, -m 256m -c 1
 *   random     random, -m 256m -c 1 (a seeded generator)
 *   heavy      spread, -m 256m, -p 8080:80, constraint:zone==/z[12]/, constraint:rack!=r1*,
 *              affinity:com.example.app==app3, affinity:image==img7, and a soft
 *              constraint:disk==~nvme no node has (so both passes run)
 *
 * Then, for the manager's side of it, from N struct engine holding the same state as jansson
 * (/containers/json-style entries): the time to build the whole view (sched_view_add_engine
 * for each engine: what a create costs if the caller rebuilds the view for each one), the
 * time to refresh one engine's node in a built view (sched_view_update_engine, steady state:
 * what it costs when only the engines that changed are re-read), and the view's memory; these
 * times are the thread's CPU time too.
 */
#include "manager/engines.h"
#include "manager/scheduler.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_NODE 30
#define GIB (1024LL * 1024 * 1024)

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double cpu_now(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void hex_id(char *out, unsigned long a, unsigned long b)
{
    /* 64 hex digits, distinct per (a, b) */
    snprintf(out, 65, "%016lx%016lx%016lx%016lx", a * 0x9e3779b97f4a7c15UL, b + 1,
             (a ^ (b << 20)) * 0xbf58476d1ce4e5b9UL, a + b);
}

static struct sched_view *make_view(size_t n)
{
    struct sched_view *v = sched_view_new();
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char name[32], id[80], zone[8], rack[16];
        snprintf(name, sizeof(name), "node-%zu", i);
        hex_id(id, i, 999);
        snprintf(zone, sizeof(zone), "z%zu", i % 3);
        snprintf(rack, sizeof(rack), "r%zu", i % 17);
        struct sched_kv labels[] = {
            {"storagedriver", "overlay2"},
            {"kernelversion", "6.1.0-18-amd64"},
            {"operatingsystem", "Debian GNU/Linux 12 (bookworm)"},
            {"ostype", "linux"},
            {"zone", zone},
            {"rack", rack},
        };
        long idx = sched_view_add_node(v, name, id, 100, 8, 32 * GIB, labels, 6, NULL);
        if (idx < 0)
            goto fail;
        for (int k = 0; k < PER_NODE; k++) {
            char cid[80], cname[48], app[16], image[32], port[8];
            hex_id(cid, i, (unsigned long)k);
            snprintf(cname, sizeof(cname), "svc%d-%zu", k, i);
            snprintf(app, sizeof(app), "app%d", k % 7);
            snprintf(image, sizeof(image), "img%d:latest", (int)((i + (size_t)k) % 10));
            snprintf(port, sizeof(port), "%d", 10000 + k);
            const char *names[] = {cname};
            struct sched_kv cl[] = {{"com.example.app", app}, {"com.example.owner", "bench"}};
            struct sched_port p = {"", port, "tcp"};
            struct sched_container c = {
                .id = cid,
                .names = names,
                .nnames = 1,
                .swarm_id = "",
                .image = image,
                .image_id = "",
                .labels = cl,
                .nlabels = 2,
                .memory = k % 2 ? 128LL << 20 : 0,
                .mcpus = k % 2 ? 250 : 0,
                .ports = &p,
                .nports = k % 3 == 0 ? 1 : 0,
            };
            if (sched_node_add_container(v, (size_t)idx, &c) < 0)
                goto fail;
        }
        for (int k = 0; k < 10; k++) {
            char img[40], tag[32];
            snprintf(img, sizeof(img), "sha256:%032d", k);
            snprintf(tag, sizeof(tag), "img%d:latest", k);
            const char *tags[] = {tag};
            if (sched_node_add_image(v, (size_t)idx, img, tags, 1) < 0)
                goto fail;
        }
    }
    return v;
fail:
    sched_view_free(v);
    return NULL;
}

struct workload {
    const char *name;
    enum sched_strategy strategy;
    struct sched_request req;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const struct sched_port http = {"", "8080", "tcp"};

static void run_case(const struct sched_view *v, const struct workload *w, double secs)
{
    struct sched_config c;
    char err[128];
    const char *strategy = w->strategy == SCHED_BINPACK  ? "binpack"
                           : w->strategy == SCHED_RANDOM ? "random"
                                                         : "spread";
    if (sched_config_init(&c, strategy, NULL, 0.05, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_sched: %s\n", err);
        exit(1);
    }
    struct sched_rng rng;
    sched_rng_seed(&rng, 12345);
    c.random = sched_rng_next;
    c.random_arg = &rng;
    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof(*lat));
    if (lat == NULL)
        exit(1);
    unsigned long sink = 0;
    int failures = 0;
    double start = now(), end = start + secs, cpu_start = cpu_now();
    double t = start;
    while (t < end || n < 20) {
        struct sched_result res;
        double t0 = now();
        int rc = sched_select(&c, v, &w->req, 1, &res);
        t = now();
        if (rc == 0)
            sink += res.ranked[0];
        else
            failures++;
        sched_result_clear(&res);
        if (n == cap) {
            cap *= 2;
            double *more = realloc(lat, cap * sizeof(*lat));
            if (more == NULL)
                exit(1);
            lat = more;
        }
        lat[n++] = (t - t0) * 1e6;
    }
    double total = cpu_now() - cpu_start;
    qsort(lat, n, sizeof(*lat), cmp_double);
    double p50 = lat[n / 2], p99 = lat[(size_t)((double)n * 0.99)];
    printf("%6zu  %-8s  %10.0f  %9.1f  %9.1f  %8zu%s\n", v->nnodes, w->name, (double)n / total, p50,
           p99, n, failures ? "  (failures!)" : "");
    (void)sink;
    free(lat);
}

struct build_figures {
    double full_ms, refresh_us;
    size_t bytes;
};

/* N engines as the manager holds them, then the time to turn them all into a view, and to
 * refresh one node of it. */
static struct build_figures view_build(size_t n, double secs)
{
    struct build_figures f = {-1, -1, 0};
    struct engine *es = calloc(n, sizeof(*es));
    if (es == NULL)
        return f;
    int dummy;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "node-%zu", i);
        if (engine_init(&es[i], name) < 0)
            return f;
        struct engine *e = &es[i];
        e->healthy = e->ready = true;
        e->conn = (struct relay_conn *)&dummy; /* only compared with NULL */
        json_decref(e->info);
        e->info = json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:[s, s]}", "NCPU", 8, "MemTotal",
                            (json_int_t)(32 * GIB), "Driver", "overlay2", "KernelVersion",
                            "6.1.0-18-amd64", "OperatingSystem", "Debian GNU/Linux 12 (bookworm)",
                            "OSType", "linux", "Labels", "zone=z1", "rack=r3");
        for (int k = 0; k < PER_NODE; k++) {
            char cid[80], cname[48], app[16], image[32];
            hex_id(cid, i, (unsigned long)k);
            snprintf(cname, sizeof(cname), "/svc%d-%zu", k, i);
            snprintf(app, sizeof(app), "app%d", k % 7);
            snprintf(image, sizeof(image), "img%d:latest", (int)((i + (size_t)k) % 10));
            json_t *pb = json_object();
            json_t *ports = json_array();
            if (k % 3 == 0) {
                char port[8];
                snprintf(port, sizeof(port), "%d", 10000 + k);
                json_object_set_new(pb, "80/tcp",
                                    json_pack("[{s:s, s:s}]", "HostIp", "", "HostPort", port));
                json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "IP", "0.0.0.0",
                                                       "PrivatePort", 80, "PublicPort", 10000 + k,
                                                       "Type", "tcp"));
            }
            json_t *c = json_pack(
                "{s:s, s:[s], s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:{s:s, s:I, s:I, s:I, s:o}}", "Id",
                cid, "Names", cname, "Image", image, "ImageID", "sha256:0", "State", "running",
                "Ports", ports, "Labels", "com.example.app", app, "com.example.owner", "bench",
                "HostConfig", "NetworkMode", "bridge", "Memory",
                (json_int_t)(k % 2 ? 128LL << 20 : 0), "NanoCpus", (json_int_t)0, "CpuShares",
                (json_int_t)(k % 2 ? 256 : 0), "PortBindings", pb);
            json_array_append_new(e->containers, c);
        }
        for (int k = 0; k < 10; k++) {
            char img[40], tag[32];
            snprintf(img, sizeof(img), "sha256:%032d", k);
            snprintf(tag, sizeof(tag), "img%d:latest", k);
            json_array_append_new(e->images, json_pack("{s:s, s:[s]}", "Id", img, "RepoTags", tag));
        }
    }
    int rounds = 0;
    double start = cpu_now(), t = start;
    struct sched_view *v = NULL;
    while (rounds < 2 || t - start < secs) {
        sched_view_free(v);
        v = sched_view_new();
        for (size_t i = 0; i < n; i++)
            if (v == NULL || sched_view_add_engine(v, &es[i], NULL, 0) < 0)
                exit(1);
        rounds++;
        t = cpu_now();
    }
    f.full_ms = (t - start) * 1e3 / rounds;
    f.bytes = sched_view_bytes(v);
    /* Refresh one node at a time, round robin (the view keeps growing a little: the replaced
     * lists stay until it is freed). */
    size_t refreshes = 0;
    start = cpu_now();
    t = start;
    while (refreshes < 100 || t - start < secs / 2) {
        for (int k = 0; k < 100; k++, refreshes++)
            if (sched_view_update_engine(v, refreshes % n, &es[refreshes % n], NULL, 0) < 0)
                exit(1);
        t = cpu_now();
    }
    f.refresh_us = (t - start) * 1e6 / (double)refreshes;
    sched_view_free(v);
    for (size_t i = 0; i < n; i++)
        engine_clear(&es[i]);
    free(es);
    return f;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0)
        secs = 1.0;
    size_t sizes[16] = {10, 100, 1000, 10000};
    size_t nsizes = 4;
    if (argc > 2) {
        nsizes = 0;
        for (int i = 2; i < argc && nsizes < 16; i++)
            sizes[nsizes++] = (size_t)strtoul(argv[i], NULL, 10);
    }
    struct workload w[] = {
        {"plain", SCHED_SPREAD, {.memory = 256LL << 20, .mcpus = 1000}},
        {"typical",
         SCHED_SPREAD,
         {.memory = 256LL << 20,
          .ports = &http,
          .nports = 1,
          .constraints = (const char *const[]){"zone==z1"},
          .nconstraints = 1}},
        {"binpack", SCHED_BINPACK, {.memory = 256LL << 20, .mcpus = 1000}},
        {"random", SCHED_RANDOM, {.memory = 256LL << 20, .mcpus = 1000}},
        {"heavy",
         SCHED_SPREAD,
         {.memory = 256LL << 20,
          .ports = &http,
          .nports = 1,
          .constraints = (const char *const[]){"zone==/z[12]/", "rack!=r1*", "disk==~nvme"},
          .nconstraints = 3,
          .affinities = (const char *const[]){"com.example.app==app3", "image==img7"},
          .naffinities = 2}},
    };
    size_t nw = sizeof(w) / sizeof(w[0]);
    for (size_t i = 0; i < nw; i++) {
        w[i].req.name = "";
        w[i].req.image = "";
        w[i].req.swarm_id = "";
    }
    printf("bench_sched: sched_select (want = 1, default filters, overcommit 0.05), %d containers "
           "per node, %.1f s per case, one core\n",
           PER_NODE, secs);
    printf("%6s  %-8s  %10s  %9s  %9s  %8s\n", "nodes", "workload", "decisions/s", "p50 us",
           "p99 us", "calls");
    printf("%6s  %-8s  %10s  %9s  %9s\n", "", "", "(cpu time)", "(wall)", "(wall)");
    for (size_t s = 0; s < nsizes; s++) {
        struct sched_view *v = make_view(sizes[s]);
        if (v == NULL) {
            fprintf(stderr, "bench_sched: out of memory at %zu nodes\n", sizes[s]);
            return 1;
        }
        for (size_t i = 0; i < nw; i++)
            run_case(v, &w[i], secs);
        sched_view_free(v);
    }
    printf("\nthe view from jansson engines: a full build (sched_view_add_engine for each), one "
           "node refreshed (sched_view_update_engine), memory\n");
    printf("%6s  %14s  %14s  %16s  %9s\n", "nodes", "full build ms", "us per engine",
           "refresh 1 node us", "view MB");
    for (size_t s = 0; s < nsizes; s++) {
        struct build_figures f = view_build(sizes[s], secs);
        printf("%6zu  %14.2f  %14.2f  %16.2f  %9.1f\n", sizes[s], f.full_ms,
               f.full_ms * 1e3 / (double)sizes[s], f.refresh_us, (double)f.bytes / 1048576.0);
    }
    return 0;
}
