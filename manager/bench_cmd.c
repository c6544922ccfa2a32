/*
 * bench_cmd — `swarm bench [-H URL] WORKLOAD [flags]` and `swarm bench --cleanup`.
 *
 * A run: check the inputs, ping the endpoint, check the image is there, then N worker threads
 * each with its own keep-alive connection loop over the workload's operation until the deadline
 * (--duration, default 10 s), the shared ticket counter (--count) or a signal stops them. The
 * main thread only watches the clock and draws the progress line. Then every container labelled
 * with this run's id is removed, and the summary is printed (stdout), with --json and --plot.
 *
 * Workloads (an "operation" is what ops/s counts; its steps are timed too):
 *   api          one GET per operation, in turn: /_ping, /containers/json, /containers/ID/json
 *                of a container made at start
 *   inspect      one GET /containers/ID/json of a container made at start per operation (the
 *                api mix's forwarded call alone)
 *   ps           one GET /containers/json per operation (the api mix's listing alone)
 *   churn        create, start, wait, remove one short-lived container (`true`)
 *   run-latency  create + start, as `docker run -d` does (the container is then removed, untimed);
 *                one at a time unless --concurrency says otherwise
 *   logs         one read of a log stream (GET /containers/ID/logs?follow=1, multiplexed frames
 *                decoded by bench_mux) of one of K containers (K = --concurrency, one per worker)
 *                that wrote --log-mb MB of lines before the clock started; the payload count
 *                must equal what the container wrote. Throughput counts every payload byte read,
 *                also of the streams cut short by the deadline or a signal.
 *
 * Stopping: SIGINT/SIGTERM raise a flag that workers check between operations and that aborts
 * the request in flight (not counted); a second signal kills the process as usual (the handler
 * resets), leaving `--cleanup` to remove what is left.
 */
#include "manager/bench_cmd.h"
#include "manager/curl_runtime.h"
#include "manager/bench_docker.h"
#include "manager/bench_opts.h"
#include "manager/bench_stats.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_IMAGE "busybox:local"
#define DEFAULT_DURATION_S 10.0
#define DEFAULT_LOG_MB 20
#define MAX_LOG_MB 1000
/* Each line the logs workload's containers write: LOG_LINE_LEN bytes, the newline included, so
 * --log-mb M is M * 1000 lines and exactly M * 10^6 bytes. */
#define LOG_LINE_LEN 1000
#define MAX_CONCURRENCY 256
#define REQUEST_TIMEOUT_MS 60000L
/* Per-worker bound on kept samples (24 bytes each): ~24 MB per worker at most. */
#define SAMPLES_PER_WORKER (1u << 20)

static const struct flag_spec bench_flags[] = {
    {"host", 'H', FLAG_VALUE, "URL",
     "Docker endpoint: unix:///PATH or tcp://HOST:PORT, the manager or one\n"
     "engine (default $DOCKER_HOST, else " BENCH_DEFAULT_HOST ")"},
    {"concurrency", 'c', FLAG_VALUE, "N",
     "worker threads, one connection each (default 4; run-latency 1)"},
    {"duration", 'd', FLAG_VALUE, "SECONDS",
     "stop after this long: 10, 2.5s, 500ms, 1m (default 10s)"},
    {"count", 'n', FLAG_VALUE, "N", "stop after N operations instead of a duration"},
    {"image", 0, FLAG_VALUE, "IMAGE", "image of the containers made (default " DEFAULT_IMAGE ")"},
    {"env", 'e', FLAG_LIST, "KEY=VALUE",
     "environment of the containers made; through the manager\n"
     "-e constraint:node==NAME places them on one engine"},
    {"log-mb", 0, FLAG_VALUE, "MB",
     "logs: MB (10^6 bytes) each container writes (default 20, at most 1000)"},
    {"no-cache", 0, FLAG_BOOL, NULL,
     "send Cache-Control: no-cache with every GET: the manager forwards each\n"
     "inspect to its engine instead of giving the answer it kept"},
    {"json", 0, FLAG_VALUE, "FILE", "also write the summary as JSON to FILE"},
    {"plot", 0, FLAG_VALUE, "FILE.png", "also draw latency over time and ops/s (needs gnuplot)"},
    {"cleanup", 0, FLAG_BOOL, NULL,
     "remove every container labelled " BENCH_LABEL "=1 (left by a crashed run)\nand exit"},
};

const struct swarm_command manager_bench_command = {
    .name = "bench",
    .summary = "measure a Docker endpoint: churn, api, inspect, ps, run-latency, logs",
    .usage = "swarm bench [-H URL] WORKLOAD [--concurrency N] [--duration S | --count N] [flags]",
    .description =
        "Workloads:\n"
        "  api          a read mix, one request per operation: GET /_ping, /containers/json,\n"
        "               /containers/ID/json of a container made for the run\n"
        "  inspect      GET /containers/ID/json of a container made for the run, alone\n"
        "  ps           GET /containers/json, alone\n"
        "  churn        create, start, wait and remove a container running `true`\n"
        "  run-latency  create + start one container at a time, as `docker run -d`\n"
        "  logs         stream throughput: each worker's container writes --log-mb MB of\n"
        "               lines, then the worker reads its log (GET /containers/ID/logs\n"
        "               ?follow=1) again and again, checking the byte count; reports MB/s\n"
        "               in total and per stream, time to first byte and stream time\n"
        "\n"
        "Prints operations per second, latency p50/p90/p99/max per step, and errors by kind\n"
        "(HTTP status, transport error; logs: a byte count mismatch, a bad or truncated\n"
        "frame, output on stderr); a progress line on stderr when it is a terminal.\n"
        "Every container it makes is labelled " BENCH_LABEL "=1 and " BENCH_LABEL_RUN "=ID and\n"
        "removed at the end, also on Ctrl-C (the partial summary is printed; exit 130).\n"
        "Exit 1 if the endpoint cannot be reached or no operation succeeded.",
    .flags = bench_flags,
    .nflags = sizeof(bench_flags) / sizeof(bench_flags[0]),
    .max_positional = 1,
    .run = bench_cmd_run,
};

/* The steps each workload times; op_kind is the step that is the whole operation (-1: every
 * sample is an operation). */
struct workload_def {
    const char *const *steps;
    int nsteps;
    int op_kind;
    const char *op_name;
};

static const char *const api_steps[] = {"ping", "ps", "inspect"};
static const char *const churn_steps[] = {"create", "start", "wait", "remove", "cycle"};
static const char *const run_steps[] = {"create", "start", "run"};
static const char *const logs_steps[] = {"ttfb", "stream"};
static const char *const inspect_steps[] = {"inspect"};
static const char *const ps_steps[] = {"ps"};
enum { API_PING, API_PS, API_INSPECT };
enum { CHURN_CREATE, CHURN_START, CHURN_WAIT, CHURN_REMOVE, CHURN_CYCLE };
enum { RUN_CREATE, RUN_START, RUN_RUN };
enum { LOGS_TTFB, LOGS_STREAM };

static const struct workload_def workloads[BENCH_NWORKLOADS] = {
    [BENCH_API] = {api_steps, 3, -1, "request"},
    [BENCH_CHURN] = {churn_steps, 5, CHURN_CYCLE, "cycle"},
    [BENCH_RUN_LATENCY] = {run_steps, 3, RUN_RUN, "run"},
    [BENCH_LOGS] = {logs_steps, 2, LOGS_STREAM, "stream"},
    [BENCH_INSPECT] = {inspect_steps, 1, 0, "inspect"},
    [BENCH_PS] = {ps_steps, 1, 0, "ps"},
};

/* Raised by SIGINT/SIGTERM (interrupted too) or by the main thread at the deadline. */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    stop_flag = 1;
}

struct run {
    enum bench_workload w;
    struct bench_endpoint ep;
    const char *image;
    char run_id[17];
    char *create_body; /* JSON for POST /containers/create, shared read-only */
    char api_id[65];   /* the api and inspect workloads' inspect target */
    const char **env;  /* --env values (argv's), nenv of them */
    int nenv;
    long log_mb;             /* logs: MB each container writes */
    char (*log_ids)[65];     /* logs: worker i's container; concurrency entries */
    double log_setup_s;      /* logs: making the containers and waiting for their output */
    atomic_ullong log_bytes; /* logs: payload bytes read, every stream's, cut ones too */
    long concurrency;
    bool no_cache;   /* --no-cache */
    double duration; /* 0 with --count */
    long count;      /* 0 with --duration */
    struct timespec t0;
    atomic_long tickets;
    atomic_long ok_ops, failed_ops;
    atomic_int workers_done;
};

struct worker {
    pthread_t thread;
    struct run *r;
    long idx;
    struct bench_samples samples;
    struct bench_errors errors;
    int started;
};

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A request's bound: a log stream gets a second more per MB (it still fails at 1 MB/s). */
static long request_timeout_ms(const struct run *r)
{
    return REQUEST_TIMEOUT_MS + (r->w == BENCH_LOGS ? r->log_mb * 1000L : 0);
}

/* One operation of the api workload (i picks the request), or of inspect or ps alone. */
static int op_api(struct worker *w, struct bench_client *c, long i, char *kind, size_t kl)
{
    char path[128];
    enum bench_workload wl = w->r->w;
    int step = wl == BENCH_INSPECT ? API_INSPECT : wl == BENCH_PS ? API_PS : (int)(i % 3);
    if (step == API_PING)
        snprintf(path, sizeof(path), "/_ping");
    else if (step == API_PS)
        snprintf(path, sizeof(path), "/containers/json");
    else
        snprintf(path, sizeof(path), "/containers/%s/json", w->r->api_id);
    double t = since(&w->r->t0);
    int rc = bench_call(c, "GET", path, NULL, 200, 200, kind, kl);
    if (rc == BENCH_OK)
        bench_samples_add(&w->samples, t, (since(&w->r->t0) - t) * 1e3, wl == BENCH_API ? step : 0);
    return rc;
}

/* Times fn(c, id, ...) as step `kind`; on success records a sample. */
static int timed_step(struct worker *w, int kind_idx,
                      int (*fn)(struct bench_client *, const char *, char *, size_t),
                      struct bench_client *c, const char *id, char *kind, size_t kl)
{
    double t = since(&w->r->t0);
    int rc = fn(c, id, kind, kl);
    if (rc == BENCH_OK)
        bench_samples_add(&w->samples, t, (since(&w->r->t0) - t) * 1e3, kind_idx);
    return rc;
}

/* churn (full = 1) or run-latency (full = 0). */
static int op_container(struct worker *w, struct bench_client *c, int full, char *kind, size_t kl)
{
    char id[65] = "";
    double t0 = since(&w->r->t0);
    double t = t0;
    int rc = bench_container_create(c, w->r->create_body, id, kind, kl);
    if (rc == BENCH_OK)
        bench_samples_add(&w->samples, t, (since(&w->r->t0) - t) * 1e3,
                          full ? CHURN_CREATE : RUN_CREATE);
    if (rc == BENCH_OK)
        rc = timed_step(w, full ? CHURN_START : RUN_START, bench_container_start, c, id, kind, kl);
    if (rc == BENCH_OK && !full) {
        bench_samples_add(&w->samples, t0, (since(&w->r->t0) - t0) * 1e3, RUN_RUN);
        char ignored[BENCH_ERROR_KIND_LEN];
        /* Untimed; whatever fails here the run's final cleanup removes. */
        bench_container_remove(c, id, ignored, sizeof(ignored));
        return BENCH_OK;
    }
    if (rc == BENCH_OK)
        rc = timed_step(w, CHURN_WAIT, bench_container_wait, c, id, kind, kl);
    if (rc == BENCH_OK)
        rc = timed_step(w, CHURN_REMOVE, bench_container_remove, c, id, kind, kl);
    if (rc == BENCH_OK) {
        bench_samples_add(&w->samples, t0, (since(&w->r->t0) - t0) * 1e3, CHURN_CYCLE);
    } else if (rc == BENCH_FAIL && id[0] != '\0') {
        char ignored[BENCH_ERROR_KIND_LEN];
        bench_container_remove(c, id, ignored, sizeof(ignored));
    }
    return rc;
}

/* One read of this worker's container's log: its whole output, counted and checked. */
static int op_logs(struct worker *w, struct bench_client *c, char *kind, size_t kl)
{
    struct bench_logs lg;
    double t = since(&w->r->t0);
    int rc = bench_container_logs(c, w->r->log_ids[w->idx], &lg, kind, kl);
    uint64_t payload = 0;
    for (int i = 0; i < BENCH_MUX_STREAMS; i++)
        payload += lg.mux.bytes[i];
    atomic_fetch_add(&w->r->log_bytes, (unsigned long long)payload);
    if (rc != BENCH_OK)
        return rc;
    uint64_t want = (uint64_t)w->r->log_mb * 1000000u;
    if (lg.mux.bytes[BENCH_MUX_STDERR] != 0 || lg.mux.bytes[BENCH_MUX_SYSERR] != 0) {
        snprintf(kind, kl, "logs: output on stderr");
        return BENCH_FAIL;
    }
    if (lg.mux.bytes[BENCH_MUX_STDOUT] != want || payload != want) {
        snprintf(kind, kl, "logs: byte count mismatch");
        return BENCH_FAIL;
    }
    bench_samples_add(&w->samples, t, lg.ttfb_ms, LOGS_TTFB);
    bench_samples_add(&w->samples, t, lg.ms, LOGS_STREAM);
    return BENCH_OK;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    struct bench_client c;
    int init = bench_client_init(&c, &r->ep, &stop_flag, request_timeout_ms(r));
    if (init == 0 && r->no_cache && bench_client_no_cache(&c) < 0) {
        bench_client_close(&c);
        init = -1;
    }
    if (init < 0) {
        bench_errors_add(&w->errors, "client: curl_easy_init failed", 1);
        atomic_fetch_add(&r->failed_ops, 1);
        atomic_fetch_add(&r->workers_done, 1);
        return NULL;
    }
    char kind[BENCH_ERROR_KIND_LEN];
    for (long i = 0; !stop_flag; i++) {
        if (r->count > 0 && atomic_fetch_add(&r->tickets, 1) >= r->count)
            break;
        int rc;
        if (r->w == BENCH_API || r->w == BENCH_INSPECT || r->w == BENCH_PS)
            rc = op_api(w, &c, i, kind, sizeof(kind));
        else if (r->w == BENCH_LOGS)
            rc = op_logs(w, &c, kind, sizeof(kind));
        else
            rc = op_container(w, &c, r->w == BENCH_CHURN, kind, sizeof(kind));
        if (rc == BENCH_ABORTED)
            break;
        if (rc == BENCH_OK) {
            atomic_fetch_add(&r->ok_ops, 1);
        } else {
            bench_errors_add(&w->errors, kind, 1);
            atomic_fetch_add(&r->failed_ops, 1);
        }
    }
    bench_client_close(&c);
    atomic_fetch_add(&r->workers_done, 1);
    return NULL;
}

/* ---- the summary ------------------------------------------------------------------------- */

struct result {
    double elapsed;
    long ok, failed;
    struct bench_samples samples;
    struct bench_errors errors;
};

/* The logs workload's throughput: MB = 10^6 bytes of payload. */
struct logs_figures {
    double mb_total;    /* payload read, every stream's */
    double mbps;        /* mb_total / the run's duration */
    double stream_p50;  /* one stream's MB/s at the median stream time */
    double stream_mean; /* the mean of each stream's MB/s */
};

static void logs_figures_of(const struct run *r, const struct result *res, struct logs_figures *lf)
{
    memset(lf, 0, sizeof(*lf));
    lf->mb_total = (double)atomic_load(&r->log_bytes) / 1e6;
    lf->mbps = res->elapsed > 0 ? lf->mb_total / res->elapsed : 0;
    struct bench_latency l;
    bench_latency_of(&res->samples, LOGS_STREAM, &l);
    if (l.p50 > 0)
        lf->stream_p50 = (double)r->log_mb / (l.p50 / 1e3);
    size_t n = 0;
    for (size_t i = 0; i < res->samples.n; i++) {
        const struct bench_sample *sm = &res->samples.v[i];
        if (sm->kind == LOGS_STREAM && sm->ms > 0) {
            lf->stream_mean += (double)r->log_mb / (sm->ms / 1e3);
            n++;
        }
    }
    if (n > 0)
        lf->stream_mean /= (double)n;
}

static void print_row(FILE *out, const char *name, const struct bench_latency *l)
{
    fprintf(out, "  %-9s %8zu %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, l->count, l->mean, l->p50,
            l->p90, l->p99, l->max);
}

static void print_summary(FILE *out, const struct run *r, const struct result *res)
{
    const struct workload_def *d = &workloads[r->w];
    fprintf(out, "swarm bench %s%s\n", bench_workload_name(r->w),
            interrupted ? " (interrupted: partial results)" : "");
    fprintf(out, "  endpoint     %s\n", r->ep.url);
    fprintf(out, "  image        %s\n", r->image);
    fprintf(out, "  run id       %s\n", r->run_id);
    fprintf(out, "  concurrency  %ld\n", r->concurrency);
    fprintf(out, "  duration     %.2f s\n", res->elapsed);
    fprintf(out, "  operations   %ld %s, %.1f/s\n", res->ok, d->op_name,
            res->elapsed > 0 ? (double)res->ok / res->elapsed : 0.0);
    if (r->w == BENCH_LOGS) {
        struct logs_figures lf;
        logs_figures_of(r, res, &lf);
        fprintf(out,
                "  log          %ld MB per container (%ld lines of %d bytes), ready in %.2f s\n",
                r->log_mb, r->log_mb * (1000000 / LOG_LINE_LEN), LOG_LINE_LEN, r->log_setup_s);
        fprintf(out,
                "  throughput   %.1f MB/s total (%.1f MB read); per stream %.1f MB/s p50, %.1f "
                "mean\n",
                lf.mbps, lf.mb_total, lf.stream_p50, lf.stream_mean);
    }
    fprintf(out, "  errors       %ld\n", res->failed);
    for (int i = 0; i < res->errors.n; i++)
        fprintf(out, "    %-40s %llu\n", res->errors.e[i].kind,
                (unsigned long long)res->errors.e[i].count);
    if (res->samples.dropped)
        fprintf(out, "  (latency from the first samples only: %zu not kept)\n",
                res->samples.dropped);
    fprintf(out, "  latency ms   %8s %9s %9s %9s %9s %9s\n", "count", "mean", "p50", "p90", "p99",
            "max");
    struct bench_latency l;
    if (d->op_kind < 0) {
        bench_latency_of(&res->samples, -1, &l);
        print_row(out, d->op_name, &l);
    }
    for (int k = 0; k < d->nsteps; k++) {
        bench_latency_of(&res->samples, k, &l);
        print_row(out, d->steps[k], &l);
    }
}

static json_t *latency_json(const struct bench_latency *l)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)l->count, "mean", l->mean,
                     "p50", l->p50, "p90", l->p90, "p99", l->p99, "max", l->max);
}

static int write_json(const char *file, const struct run *r, const struct result *res)
{
    const struct workload_def *d = &workloads[r->w];
    json_t *errs = json_object();
    for (int i = 0; i < res->errors.n; i++)
        json_object_set_new(errs, res->errors.e[i].kind,
                            json_integer((json_int_t)res->errors.e[i].count));
    json_t *lat = json_object();
    struct bench_latency l;
    bench_latency_of(&res->samples, d->op_kind, &l);
    json_object_set_new(lat, d->op_name, latency_json(&l));
    for (int k = 0; k < d->nsteps; k++) {
        if (k == d->op_kind)
            continue;
        bench_latency_of(&res->samples, k, &l);
        json_object_set_new(lat, d->steps[k], latency_json(&l));
    }
    json_t *root = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:f,s:b,s:s,s:I,s:f,s:{s:I,s:o},s:o,s:I}", "workload",
        bench_workload_name(r->w), "endpoint", r->ep.url, "image", r->image, "run_id", r->run_id,
        "concurrency", (json_int_t)r->concurrency, "duration_s", res->elapsed, "interrupted",
        (int)interrupted, "operation", d->op_name, "operations", (json_int_t)res->ok, "ops_per_s",
        res->elapsed > 0 ? (double)res->ok / res->elapsed : 0.0, "errors", "total",
        (json_int_t)res->failed, "by_kind", errs, "latency_ms", lat, "samples_dropped",
        (json_int_t)res->samples.dropped);
    if (root != NULL && r->w == BENCH_LOGS) {
        struct logs_figures lf;
        logs_figures_of(r, res, &lf);
        json_object_set_new(root, "logs",
                            json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f}", "bytes_per_stream",
                                      (json_int_t)r->log_mb * 1000000, "line_bytes",
                                      (json_int_t)LOG_LINE_LEN, "setup_s", r->log_setup_s,
                                      "mb_read", lf.mb_total, "mb_per_s", lf.mbps,
                                      "stream_mb_per_s_p50", lf.stream_p50, "stream_mb_per_s_mean",
                                      lf.stream_mean));
    }
    if (root == NULL) {
        fprintf(stderr, "swarm bench: --json %s: cannot build the JSON\n", file);
        return -1;
    }
    int rc =
        json_dump_file(root, file, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (rc != 0) {
        fprintf(stderr, "swarm bench: --json %s: cannot write the file\n", file);
        return -1;
    }
    return 0;
}

static int have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    char buf[4096];
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len + strlen(name) + 2 <= sizeof(buf)) {
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        path += len + (path[len] == ':');
    }
    return 0;
}

/* Writes s as a gnuplot single-quoted string (a quote is doubled). */
static void gp_quote(FILE *gp, const char *s)
{
    fputc('\'', gp);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', gp);
        if (*s != '\n')
            fputc(*s, gp);
    }
    fputc('\'', gp);
}

static int write_plot(const char *file, const struct run *r, const struct result *res)
{
    if (!have_program("gnuplot")) {
        fprintf(stderr,
                "swarm bench: gnuplot not found; --plot %s skipped (apt-get install "
                "gnuplot-nox)\n",
                file);
        return 0;
    }
    const struct workload_def *d = &workloads[r->w];
    char dat[] = "/tmp/swarm-bench-XXXXXX";
    int fd = mkstemp(dat);
    FILE *df = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (df == NULL) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "swarm bench: --plot: cannot create a temporary file\n");
        return -1;
    }
    for (size_t i = 0; i < res->samples.n; i++) {
        const struct bench_sample *s = &res->samples.v[i];
        if (d->op_kind < 0 || s->kind == d->op_kind)
            fprintf(df, "%.6f %.3f %.6f\n", s->t, s->ms, s->t + s->ms / 1e3);
    }
    fclose(df);
    int rc = -1;
    FILE *gp = popen("gnuplot", "w");
    if (gp != NULL) {
        fprintf(gp, "set terminal pngcairo size 1000,720\nset output ");
        gp_quote(gp, file);
        fprintf(gp, "\nset multiplot layout 2,1 title ");
        char title[512];
        snprintf(title, sizeof(title), "swarm bench %s, %s, concurrency %ld",
                 bench_workload_name(r->w), r->ep.url, r->concurrency);
        gp_quote(gp, title);
        fprintf(gp,
                "\nset grid\nset xrange [0:*]\nset xlabel 'time (s)'\n"
                "set ylabel '%s latency (ms)'\n"
                "plot ",
                d->op_name);
        gp_quote(gp, dat);
        fprintf(gp,
                " using 1:2 with points pt 7 ps 0.4 notitle\n"
                "set ylabel '%s/s (by completion)'\nset yrange [0:*]\nset boxwidth 1\nset style "
                "fill solid 0.5\n"
                "plot ",
                d->op_name);
        gp_quote(gp, dat);
        fprintf(gp, " using (floor($3)+0.5):(1) smooth frequency with boxes notitle\n"
                    "unset multiplot\n");
        rc = pclose(gp) == 0 ? 0 : -1;
    }
    unlink(dat);
    if (rc < 0)
        fprintf(stderr, "swarm bench: --plot %s: gnuplot failed\n", file);
    return rc;
}

/* ---- setup, the run, teardown --------------------------------------------------------------- */

static int usage(const char *msg)
{
    fprintf(stderr, "swarm bench: %s\n", msg);
    return SWARM_EXIT_USAGE;
}

static void make_run_id(char *out, size_t len)
{
    unsigned char b[6] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, sizeof(b), f) != sizeof(b)) {
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
        memcpy(b, &x, sizeof(b) < sizeof(x) ? sizeof(b) : sizeof(x));
    }
    if (f)
        fclose(f);
    snprintf(out, len, "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* The logs workload's container command: --log-mb * 1000 lines of LOG_LINE_LEN bytes on stdout,
 * with `yes` (or busybox's, in an image that has no `yes` link) and `head`. */
static json_t *logs_cmd(long log_mb)
{
    char line[LOG_LINE_LEN];
    for (int i = 0; i < LOG_LINE_LEN - 1; i++)
        line[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
    line[LOG_LINE_LEN - 1] = '\0';
    char script[LOG_LINE_LEN + 160];
    snprintf(script, sizeof(script),
             "y=yes; command -v yes >/dev/null 2>&1 || y='busybox yes'; $y %s | head -n %ld", line,
             log_mb * (1000000 / LOG_LINE_LEN));
    return json_pack("[s,s,s]", "sh", "-c", script);
}

static char *create_body(const struct run *r)
{
    json_t *env = json_array();
    for (int i = 0; env != NULL && i < r->nenv; i++)
        json_array_append_new(env, json_string(r->env[i]));
    json_t *cmd = r->w == BENCH_LOGS ? logs_cmd(r->log_mb) : json_pack("[s]", "true");
    json_t *j = json_pack("{s:s,s:o,s:o,s:b,s:{s:s,s:s},s:{s:s}}", "Image", r->image, "Cmd", cmd,
                          "Env", env, "Tty", 0, "Labels", BENCH_LABEL, "1", BENCH_LABEL_RUN,
                          r->run_id, "HostConfig", "NetworkMode", "default");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* Parses the flags into r; returns 0 or a SWARM_EXIT_USAGE after a one-line message. */
static int parse_flags(const struct flagset *f, struct run *r, int *cleanup)
{
    char err[320];
    const struct flag_value *v;
    *cleanup = flags_bool(f, "cleanup");
    const char *host = (v = flags_get(f, "host"))->count ? v->value : getenv("DOCKER_HOST");
    if (host == NULL || host[0] == '\0')
        host = BENCH_DEFAULT_HOST;
    if (bench_endpoint_parse(host, &r->ep, err, sizeof(err)) < 0)
        return usage(err);
    if (*cleanup) {
        if (f->npositional > 0)
            return usage("--cleanup takes no workload");
        return 0;
    }
    if (f->npositional == 0)
        return usage("no workload given: expected api, inspect, ps, churn, run-latency or logs");
    int w = bench_workload_parse(f->positional[0]);
    if (w < 0) {
        snprintf(
            err, sizeof(err),
            "unknown workload \"%.64s\": expected api, inspect, ps, churn, run-latency or logs",
            f->positional[0]);
        return usage(err);
    }
    r->w = (enum bench_workload)w;
    r->concurrency = r->w == BENCH_RUN_LATENCY ? 1 : 4;
    if ((v = flags_get(f, "concurrency"))->count &&
        bench_parse_long(v->value, 1, MAX_CONCURRENCY, &r->concurrency) < 0) {
        snprintf(err, sizeof(err), "--concurrency \"%.64s\": expected 1..%d", v->value,
                 MAX_CONCURRENCY);
        return usage(err);
    }
    const struct flag_value *dur = flags_get(f, "duration"), *cnt = flags_get(f, "count");
    if (dur->count && cnt->count)
        return usage("--duration and --count exclude each other");
    r->duration = cnt->count ? 0 : DEFAULT_DURATION_S;
    if (dur->count && bench_parse_seconds(dur->value, &r->duration) < 0) {
        snprintf(
            err, sizeof(err),
            "--duration \"%.64s\": expected seconds above 0, up to a day (10, 2.5s, 500ms, 1m)",
            dur->value);
        return usage(err);
    }
    if (cnt->count && bench_parse_long(cnt->value, 1, 1000000000, &r->count) < 0) {
        snprintf(err, sizeof(err), "--count \"%.64s\": expected 1..1000000000", cnt->value);
        return usage(err);
    }
    r->image = (v = flags_get(f, "image"))->count ? v->value : DEFAULT_IMAGE;
    v = flags_get(f, "env");
    for (int i = 0; i < v->count; i++) {
        const char *eq = strchr(v->list[i], '=');
        if (eq == NULL || eq == v->list[i]) {
            snprintf(err, sizeof(err), "--env \"%.64s\": expected KEY=VALUE", v->list[i]);
            return usage(err);
        }
    }
    r->env = v->list;
    r->nenv = v->count;
    r->no_cache = flags_bool(f, "no-cache");
    r->log_mb = DEFAULT_LOG_MB;
    if ((v = flags_get(f, "log-mb"))->count) {
        if (r->w != BENCH_LOGS)
            return usage("--log-mb applies to the logs workload only");
        if (bench_parse_long(v->value, 1, MAX_LOG_MB, &r->log_mb) < 0) {
            snprintf(err, sizeof(err), "--log-mb \"%.64s\": expected 1..%d", v->value, MAX_LOG_MB);
            return usage(err);
        }
    }
    return 0;
}

/* Can we talk to the endpoint, and does it have the image? One line and -1 if not. */
static int preflight(struct bench_client *c, const struct run *r)
{
    char kind[BENCH_ERROR_KIND_LEN];
    int rc = bench_request(c, "GET", "/_ping", NULL, kind, sizeof(kind));
    if (rc != BENCH_OK || c->status != 200) {
        if (rc == BENCH_OK)
            snprintf(kind, sizeof(kind), "HTTP %ld", c->status);
        fprintf(stderr, "swarm bench: cannot reach the Docker endpoint %s: GET /_ping: %s\n",
                r->ep.url, kind);
        return -1;
    }
    char path[512];
    snprintf(path, sizeof(path), "/images/%s/json", r->image);
    rc = bench_request(c, "GET", path, NULL, kind, sizeof(kind));
    if (rc == BENCH_OK && c->status == 404) {
        fprintf(stderr,
                "swarm bench: image %s is not on %s: pull it first, or pick another with "
                "--image\n",
                r->image, r->ep.url);
        return -1;
    }
    return 0;
}

static int run_cleanup(const struct bench_endpoint *ep)
{
    struct bench_client c;
    if (bench_client_init(&c, ep, NULL, REQUEST_TIMEOUT_MS) < 0) {
        fprintf(stderr, "swarm bench: curl_easy_init failed\n");
        return SWARM_EXIT_FAILURE;
    }
    char err[512];
    int removed = 0;
    int rc = bench_cleanup(&c, BENCH_LABEL, "1", &removed, err, sizeof(err));
    bench_client_close(&c);
    if (rc < 0) {
        fprintf(stderr, "swarm bench: cleanup: %s (removed %d)\n", err, removed);
        return SWARM_EXIT_FAILURE;
    }
    printf("removed %d container%s labelled %s=1 at %s\n", removed, removed == 1 ? "" : "s",
           BENCH_LABEL, ep->url);
    return SWARM_EXIT_OK;
}

/*
 * The logs workload's containers, before the clock starts: one per worker, all created and
 * started, then each waited for (it must exit 0 once it has written its lines). Returns 0, or -1
 * after a one-line message (interrupted: no message, the caller says so).
 */
static int logs_setup(struct run *r)
{
    r->log_ids = calloc((size_t)r->concurrency, sizeof(*r->log_ids));
    if (r->log_ids == NULL) {
        fprintf(stderr, "swarm bench: out of memory\n");
        return -1;
    }
    struct bench_client c;
    if (bench_client_init(&c, &r->ep, &stop_flag, request_timeout_ms(r)) < 0) {
        fprintf(stderr, "swarm bench: curl_easy_init failed\n");
        return -1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char kind[BENCH_ERROR_KIND_LEN];
    const char *what = "";
    int rc = BENCH_OK;
    for (long i = 0; rc == BENCH_OK && i < r->concurrency; i++) {
        what = "create";
        rc = bench_container_create(&c, r->create_body, r->log_ids[i], kind, sizeof(kind));
        if (rc == BENCH_OK) {
            what = "start";
            rc = bench_container_start(&c, r->log_ids[i], kind, sizeof(kind));
        }
    }
    for (long i = 0; rc == BENCH_OK && i < r->concurrency; i++) {
        what = "wait for";
        rc = bench_container_wait(&c, r->log_ids[i], kind, sizeof(kind));
    }
    r->log_setup_s = since(&t0);
    bench_client_close(&c);
    if (rc == BENCH_FAIL)
        fprintf(stderr, "swarm bench: cannot %s a container writing the log: %s\n", what, kind);
    return rc == BENCH_OK ? 0 : -1;
}

static void progress(const struct run *r, double t)
{
    long ok = atomic_load(&r->ok_ops), failed = atomic_load(&r->failed_ops);
    fprintf(stderr, "\r\033[K%s  %5.1f s  %ld %s  %.1f/s  %ld errors", bench_workload_name(r->w), t,
            ok, workloads[r->w].op_name, t > 0 ? (double)ok / t : 0.0, failed);
    if (r->w == BENCH_LOGS && t > 0)
        fprintf(stderr, "  %.1f MB/s", (double)atomic_load(&r->log_bytes) / 1e6 / t);
    fflush(stderr);
}

/* Starts the workers, waits for the deadline, count or a signal, joins them, merges results. */
static int run_workers(struct run *r, struct result *res)
{
    struct worker *ws = calloc((size_t)r->concurrency, sizeof(*ws));
    if (ws == NULL)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    int started = 0;
    for (long i = 0; i < r->concurrency; i++) {
        ws[i].r = r;
        ws[i].idx = i;
        bench_samples_init(&ws[i].samples, SAMPLES_PER_WORKER);
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "swarm bench: cannot start worker thread %ld\n", i + 1);
            stop_flag = 1;
            break;
        }
        ws[i].started = 1;
        started++;
    }
    int tty = isatty(STDERR_FILENO);
    double next_draw = 0;
    while (atomic_load(&r->workers_done) < started) {
        double t = since(&r->t0);
        if (r->duration > 0 && t >= r->duration)
            stop_flag = 1;
        if (tty && t >= next_draw) {
            progress(r, t);
            next_draw = t + 0.25;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    res->elapsed = since(&r->t0);
    if (tty) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    bench_samples_init(&res->samples, SAMPLES_PER_WORKER * (size_t)r->concurrency);
    for (long i = 0; i < r->concurrency; i++) {
        if (ws[i].started)
            pthread_join(ws[i].thread, NULL);
        bench_samples_merge(&res->samples, &ws[i].samples);
        bench_errors_merge(&res->errors, &ws[i].errors);
        bench_samples_close(&ws[i].samples);
    }
    free(ws);
    res->ok = atomic_load(&r->ok_ops);
    res->failed = atomic_load(&r->failed_ops);
    return started == r->concurrency ? 0 : -1;
}

int bench_cmd_run(const struct flagset *f)
{
    static struct run r; /* big and shared with the workers; one run per process */
    memset(&r, 0, sizeof(r));
    int cleanup;
    int rc = parse_flags(f, &r, &cleanup);
    if (rc != 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "swarm bench: %s\n",
                curl_runtime_error()[0] ? curl_runtime_error() : "curl_global_init failed");
        return SWARM_EXIT_FAILURE;
    }
    if (cleanup) {
        rc = run_cleanup(&r.ep);
        curl_global_cleanup();
        return rc;
    }

    struct bench_client c;
    if (bench_client_init(&c, &r.ep, NULL, REQUEST_TIMEOUT_MS) < 0) {
        fprintf(stderr, "swarm bench: curl_easy_init failed\n");
        curl_global_cleanup();
        return SWARM_EXIT_FAILURE;
    }
    rc = SWARM_EXIT_FAILURE;
    struct result res;
    memset(&res, 0, sizeof(res));
    make_run_id(r.run_id, sizeof(r.run_id));
    r.create_body = create_body(&r);
    if (r.create_body == NULL || preflight(&c, &r) < 0)
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills; --cleanup then finds the rest */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char kind[BENCH_ERROR_KIND_LEN];
    if ((r.w == BENCH_API || r.w == BENCH_INSPECT) &&
        bench_container_create(&c, r.create_body, r.api_id, kind, sizeof(kind)) != BENCH_OK) {
        fprintf(stderr, "swarm bench: cannot create the container the api workload inspects: %s\n",
                kind);
        goto cleanup;
    }
    if (r.w == BENCH_LOGS && logs_setup(&r) < 0) {
        if (interrupted) {
            fprintf(stderr, "swarm bench: interrupted while the containers wrote their logs\n");
            rc = BENCH_EXIT_INTERRUPTED;
        }
        goto cleanup;
    }
    if (run_workers(&r, &res) < 0)
        goto cleanup;
    print_summary(stdout, &r, &res);
    fflush(stdout);
    rc = interrupted                     ? BENCH_EXIT_INTERRUPTED
         : res.ok == 0 && res.failed > 0 ? SWARM_EXIT_FAILURE
                                         : SWARM_EXIT_OK;
    const struct flag_value *v;
    if ((v = flags_get(f, "json"))->count && write_json(v->value, &r, &res) < 0)
        rc = SWARM_EXIT_FAILURE;
    if ((v = flags_get(f, "plot"))->count && write_plot(v->value, &r, &res) < 0)
        rc = SWARM_EXIT_FAILURE;

cleanup:;
    char err[512];
    int removed = 0;
    if (bench_cleanup(&c, BENCH_LABEL_RUN, r.run_id, &removed, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm bench: cleanup: %s; run `swarm bench -H %s --cleanup`\n", err,
                r.ep.url);
        rc = SWARM_EXIT_FAILURE;
    }
out:
    bench_samples_close(&res.samples);
    free(r.create_body);
    free(r.log_ids);
    bench_client_close(&c);
    curl_global_cleanup();
    return rc;
}
