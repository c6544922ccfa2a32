/*
 * bench_gossip_sim — the membership module (agent/membership.c) at scale on the simulator
 * (tests/sim): for each cluster size N, the virtual time to converge, gossip bandwidth per node
 * in steady state, and the time until the others list a killed node failed; with the wall time
 * and the peak RSS the simulation took on this machine.
 *
 *   bench_gossip_sim [--quick] [--seed S] [--stagger MS] [--budget S] [--out DIR] [N...]
 *   bench_gossip_sim --replot [--out DIR]      (the plot again, from DIR/gossip_sim.csv)
 *
 * Sizes: the N arguments, else 100 1000 10000; --quick: 100 1000. Each N runs in a child
 * process, so its peak RSS (getrusage) is its own, and a child that runs out of memory (its
 * address space is capped at 90 % of MemAvailable) or past --budget seconds of wall time (default
 * 900) is reported as such without taking the others down. Writes DIR/gossip_sim.csv,
 * DIR/gossip_sim.gp and, with gnuplot installed, DIR/gossip_sim.png (DIR defaults to
 * bench/results in the source tree).
 *
 * Method. Virtual time, the LAN tuning, 1-5 ms latency, no loss.
 *  - Start: all N at t = 0, each joining node 0 (sim_start_all, as the unit tests do). With
 *    --stagger MS, node i starts at i * MS and joins a random earlier node (sim_start_staggered)
 *    instead. Staggering does not make the run cheaper (the cost is in the module's per-update
 *    work, not in node 0's push-pulls), but it shows a weakness: a node that joins just after
 *    some news was spent keeps missing those members until its first periodic push-pull.
 *    Converged: a node lists all N members alive. Measured exactly from the membership events
 *    (a viewer x member state table kept by the event hook), for 99.9 % of the nodes and for
 *    all of them, from t = 0.
 *  - Steady state: 10 s chunks until the datagram bytes/s moves by less than 10 % from one
 *    chunk to the next (the joins' updates have drained from the broadcast queues) and every
 *    node has done its first push-pull, then a 60 s window for datagrams. Push-pull is counted
 *    over whole push-pull periods instead (one exchange per node per period; a 60 s slice of a
 *    90-300 s period would catch a burst or nothing). Bytes are datagram plaintexts (sealing
 *    adds 44 bytes each, not counted) and both directions of every push-pull, reported apart.
 *  - Detection: kill one random node; the time until 99.9 % and 100 % of the others list it
 *    failed (their FAILED events), and until the first suspects it.
 */
#include "agent/membership.h"
#include "tests/sim/sim.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SWARM_SOURCE_DIR
#define SWARM_SOURCE_DIR "."
#endif

#define CONVERGE_LIMIT_MS 600000 /* after the last join */
#define SETTLE_CHUNK_MS 10000
#define SETTLE_MAX_CHUNKS 30
#define WINDOW_MS 60000
#define DETECT_LIMIT_MS 120000

enum status { ST_OK, ST_NO_CONVERGENCE, ST_NO_DETECTION, ST_WALL_BUDGET, ST_CRASHED, ST_NO_MEMORY };

static const char *status_name(enum status s)
{
    switch (s) {
    case ST_OK:
        return "ok";
    case ST_NO_CONVERGENCE:
        return "no-convergence";
    case ST_NO_DETECTION:
        return "no-detection";
    case ST_WALL_BUDGET:
        return "wall-budget";
    case ST_CRASHED:
        return "crashed";
    case ST_NO_MEMORY:
        return "skipped-memory";
    }
    return "?";
}

/* What a child hands back through its pipe. Times in virtual ms; NAN when not reached. */
struct result {
    size_t n;
    enum status status;
    double last_join_ms, conv999_ms, conv100_ms, settle_ms;
    double udp_bps, pushpull_bps, dgram_ps;               /* per node, steady-state window */
    double pushpull_period_ms, pushpulls_per_node_period; /* the latter should be 1 */
    double suspect_ms, detect999_ms, detect100_ms;
    uint64_t false_failures;
    double wall_s, cpu_s;
    long rss_kb;
};

/* The event hook's bookkeeping: what each node lists, from its events alone. */
struct track {
    struct sim *sim;
    size_t n;
    uint8_t *view;   /* view[i * n + j]: member state + 1 as node i lists node j; 0 unknown */
    uint32_t *alive; /* alive[i]: members other than i that node i lists alive */
    size_t complete; /* nodes listing all n alive */
    size_t need999;
    uint64_t t999, t100; /* first times reached; 0 = not yet */
    size_t killed;       /* SIZE_MAX before the kill */
    size_t failed, failed_need999;
    uint64_t suspect_t, failed_t999, failed_t100;
    uint64_t false_failures;
    double wall_start, wall_budget;
    bool over_budget;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_event(void *arg, size_t node, uint64_t now, const struct membership_event *ev)
{
    struct track *t = arg;
    int j = sim_node_at(t->sim, &ev->member->addr);
    if (j < 0 || (size_t)j == node)
        return;
    if (ev->kind == MEMBERSHIP_FAILED) {
        if ((size_t)j != t->killed) {
            t->false_failures++;
        } else {
            t->failed++;
            if (t->failed >= t->failed_need999 && t->failed_t999 == 0)
                t->failed_t999 = now;
            if (t->failed == t->n - 1 && t->failed_t100 == 0)
                t->failed_t100 = now;
        }
    }
    if (ev->kind == MEMBERSHIP_SUSPECT && (size_t)j == t->killed && t->suspect_t == 0)
        t->suspect_t = now;

    uint8_t *v = &t->view[node * t->n + (size_t)j];
    uint8_t st = ev->kind == MEMBERSHIP_REAPED ? 0 : (uint8_t)(ev->member->state + 1);
    bool was_alive = *v == MEMBER_ALIVE + 1, is_alive = st == MEMBER_ALIVE + 1;
    *v = st;
    if (was_alive == is_alive)
        return;
    if (is_alive) {
        if (++t->alive[node] == t->n - 1) {
            t->complete++;
            if (t->complete >= t->need999 && t->t999 == 0)
                t->t999 = now;
            if (t->complete == t->n && t->t100 == 0)
                t->t100 = now;
        }
    } else {
        if (t->alive[node]-- == t->n - 1)
            t->complete--;
    }
}

static bool check_budget(struct track *t)
{
    if (!t->over_budget && wall_now() - t->wall_start > t->wall_budget)
        t->over_budget = true;
    return t->over_budget;
}

static bool pred_converged(struct sim *s, void *arg)
{
    (void)s;
    struct track *t = arg;
    return t->t100 != 0 || check_budget(t);
}

static bool pred_detected(struct sim *s, void *arg)
{
    (void)s;
    struct track *t = arg;
    return t->failed_t100 != 0 || check_budget(t);
}

/* The same thing asked of the membership instances directly (names are unique, so N members
 * all alive means every node alive): a cross-check of the event bookkeeping. */
static bool all_list_all_alive(struct sim *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct membership *m = sim_view(s, i);
        if (m == NULL || membership_count(m) != n || membership_count_state(m, MEMBER_ALIVE) != n)
            return false;
    }
    return true;
}

static double ms_since(uint64_t t, uint64_t t0)
{
    return t == 0 ? NAN : (double)(t - t0);
}

/* The push-pull period at n members, as agent/membership.c's pushpull_interval() computes it
 * (memberlist's scaling: the base up to 32 members, then base * (ceil(log2 n - 5) + 1)). Kept
 * in step by hand; the bench reports the exchanges it saw per node per period (should be 1). */
static uint64_t pushpull_period(const struct membership_tuning *t, size_t n)
{
    uint64_t base = t->pushpull_interval_ms;
    if (n <= 32)
        return base;
    return base * (uint64_t)(ceil(log2((double)n) - log2(32)) + 1);
}

static size_t ceil_frac(size_t n, double f)
{
    return (size_t)ceil((double)n * f - 1e-9);
}

static void progress(const struct track *t, const char *what, struct sim *s, uint64_t t0)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "  N=%zu %-34s virtual %8.1f s  wall %7.1f s  cpu %7.1f s  rss %6ld MB\n", t->n,
            what, (double)(sim_now(s) - t0) / 1000, wall_now() - t->wall_start,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, ru.ru_maxrss / 1024);
}

static void result_empty(struct result *r, size_t n, enum status st)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->status = st;
    r->last_join_ms = r->conv999_ms = r->conv100_ms = r->settle_ms = NAN;
    r->udp_bps = r->pushpull_bps = r->dgram_ps = NAN;
    r->pushpull_period_ms = r->pushpulls_per_node_period = NAN;
    r->suspect_ms = r->detect999_ms = r->detect100_ms = r->wall_s = r->cpu_s = NAN;
}

static void run_one(size_t n, uint64_t seed, uint32_t stagger, double budget, struct result *r)
{
    result_empty(r, n, ST_OK);
    struct membership_tuning tuning;
    membership_tuning_lan(&tuning);

    struct track t = {.n = n,
                      .need999 = ceil_frac(n, 0.999),
                      .killed = SIZE_MAX,
                      .failed_need999 = ceil_frac(n - 1, 0.999),
                      .wall_start = wall_now(),
                      .wall_budget = budget};
    t.view = calloc(n * n, 1);
    t.alive = calloc(n, sizeof(*t.alive));
    struct sim *s = sim_new(n, seed, &tuning);
    if (t.view == NULL || t.alive == NULL || s == NULL) {
        r->status = ST_CRASHED;
        goto out;
    }
    t.sim = s;
    sim_on_event(s, on_event, &t);

    /* 1. Start and converge. */
    uint64_t t0 = sim_now(s);
    if (stagger == 0)
        sim_start_all(s);
    else
        sim_start_staggered(s, stagger);
    r->last_join_ms = (double)(sim_now(s) - t0);
    progress(&t, "all started", s, t0);
    sim_run_until_pred(s, pred_converged, &t, 100, sim_now(s) + CONVERGE_LIMIT_MS, NULL);
    r->conv999_ms = ms_since(t.t999, t0);
    r->conv100_ms = ms_since(t.t100, t0);
    if (t.over_budget) {
        r->status = ST_WALL_BUDGET;
        goto out;
    }
    if (t.t100 == 0 || !all_list_all_alive(s, n)) {
        r->status = ST_NO_CONVERGENCE;
        goto out;
    }
    progress(&t, "converged", s, t0);

    /* 2. Settle: until the datagram rate is steady, and past every node's first push-pull
     * (at start + 1..2 base intervals; from then on each node syncs once per period). */
    uint64_t settle0 = sim_now(s);
    uint64_t first_pp_done =
        t0 + (uint64_t)r->last_join_ms + 2 * (uint64_t)tuning.pushpull_interval_ms;
    double prev = -1;
    for (int c = 0; c < SETTLE_MAX_CHUNKS && !check_budget(&t); c++) {
        uint64_t udp0 = sim_bytes(s) - sim_pushpull_bytes(s);
        sim_run_until(s, sim_now(s) + SETTLE_CHUNK_MS);
        double rate = (double)(sim_bytes(s) - sim_pushpull_bytes(s) - udp0);
        if (prev > 0 && fabs(rate - prev) < 0.1 * prev && sim_now(s) >= first_pp_done)
            break;
        prev = rate;
    }
    r->settle_ms = (double)(sim_now(s) - settle0);
    progress(&t, "settled", s, t0);

    /* The window: datagrams over WINDOW_MS; push-pull over whole periods (at least
     * WINDOW_MS), which hold exactly one exchange per node — a 60 s slice of a 90-300 s
     * period would catch a burst or nothing. */
    uint64_t period = pushpull_period(&tuning, n);
    uint64_t pp_window = period * ((WINDOW_MS + period - 1) / period);
    uint64_t w0 = sim_now(s);
    uint64_t b0 = sim_bytes(s), p0 = sim_pushpull_bytes(s), d0 = sim_datagrams(s);
    uint64_t x0 = sim_pushpulls(s);
    sim_run_until(s, w0 + WINDOW_MS);
    double per = (double)n * (WINDOW_MS / 1000.0);
    uint64_t pp = sim_pushpull_bytes(s) - p0;
    r->udp_bps = (double)(sim_bytes(s) - b0 - pp) / per;
    r->dgram_ps = (double)(sim_datagrams(s) - d0) / per;
    sim_run_until(s, w0 + pp_window);
    r->pushpull_bps = (double)(sim_pushpull_bytes(s) - p0) / ((double)n * (double)pp_window / 1000);
    r->pushpull_period_ms = (double)period;
    r->pushpulls_per_node_period =
        (double)(sim_pushpulls(s) - x0) / (double)n / (double)(pp_window / period);
    if (check_budget(&t)) {
        r->status = ST_WALL_BUDGET;
        goto out;
    }
    progress(&t, "steady-state window done", s, t0);

    /* 3. Kill one node; everyone else must list it failed. */
    uint64_t pick = seed * 0x9e3779b97f4a7c15ULL + n;
    t.killed = 1 + (size_t)((pick ^ (pick >> 29)) % (n - 1));
    sim_kill(s, t.killed);
    uint64_t k0 = sim_now(s);
    sim_run_until_pred(s, pred_detected, &t, 100, k0 + DETECT_LIMIT_MS, NULL);
    r->suspect_ms = ms_since(t.suspect_t, k0);
    r->detect999_ms = ms_since(t.failed_t999, k0);
    r->detect100_ms = ms_since(t.failed_t100, k0);
    if (t.over_budget)
        r->status = ST_WALL_BUDGET;
    else if (t.failed_t100 == 0 || !sim_all_see(s, t.killed, MEMBER_FAILED))
        r->status = ST_NO_DETECTION;
    progress(&t, "killed node listed failed by all", s, t0);

out:
    r->false_failures = t.false_failures;
    r->wall_s = wall_now() - t.wall_start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->rss_kb = ru.ru_maxrss;
    r->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (s)
        sim_free(s);
    free(t.view);
    free(t.alive);
}

static unsigned long long mem_available_kb(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

/* Caps the child's address space at 90 % of what the machine has free, so running out of
 * memory fails an allocation (and the child aborts) instead of waking the OOM killer. */
static void cap_memory(void)
{
    unsigned long long kb = mem_available_kb();
    if (kb == 0)
        return;
    struct rlimit rl = {.rlim_cur = (rlim_t)(kb * 1024 / 10 * 9), .rlim_max = RLIM_INFINITY};
    rl.rlim_max = rl.rlim_cur;
    setrlimit(RLIMIT_AS, &rl);
}

static void run_child(size_t n, uint64_t seed, uint32_t stagger, double budget, struct result *r)
{
    int fd[2];
    if (pipe(fd) < 0) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fd[0]);
        cap_memory();
        struct result out;
        run_one(n, seed, stagger, budget, &out);
        ssize_t w = write(fd[1], &out, sizeof(out));
        _exit(w == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = 0;
    while (got < (ssize_t)sizeof(*r)) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof(*r) - (size_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += k;
    }
    close(fd[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (got != (ssize_t)sizeof(*r)) {
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        result_empty(r, n, ST_CRASHED);
        r->rss_kb = ru.ru_maxrss;
        fprintf(stderr, "  N=%zu: child %s %d\n", n, WIFSIGNALED(ws) ? "killed by signal" : "exit",
                WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
    }
}

/* Seconds with millisecond precision, or NaN (gnuplot skips it). */
static void put_s(FILE *f, double ms)
{
    if (isnan(ms))
        fprintf(f, ",NaN");
    else
        fprintf(f, ",%.3f", ms / 1000);
}

static void put_v(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, ",NaN");
    else
        fprintf(f, ",%.1f", v);
}

static void write_csv(const char *path, const struct result *r, size_t k, uint64_t seed,
                      uint32_t stagger)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_gossip_sim: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "n,status,seed,stagger_ms,last_join_s,converge999_s,converge100_s,settle_s,"
               "udp_bytes_per_s_node,pushpull_bytes_per_s_node,bytes_per_s_node,"
               "datagrams_per_s_node,pushpull_period_s,pushpulls_per_node_period,first_suspect_s,"
               "detect999_s,detect100_s,false_failures,"
               "wall_s,cpu_s,peak_rss_mb,projected_rss_mb\n");
    for (size_t i = 0; i < k; i++) {
        fprintf(f, "%zu,%s,%llu,%u", r[i].n, status_name(r[i].status), (unsigned long long)seed,
                stagger);
        put_s(f, r[i].last_join_ms);
        put_s(f, r[i].conv999_ms);
        put_s(f, r[i].conv100_ms);
        put_s(f, r[i].settle_ms);
        put_v(f, r[i].udp_bps);
        put_v(f, r[i].pushpull_bps);
        put_v(f, r[i].udp_bps + r[i].pushpull_bps);
        put_v(f, r[i].dgram_ps);
        put_s(f, r[i].pushpull_period_ms);
        if (isnan(r[i].pushpulls_per_node_period))
            fprintf(f, ",NaN");
        else
            fprintf(f, ",%.3f", r[i].pushpulls_per_node_period);
        put_s(f, r[i].suspect_ms);
        put_s(f, r[i].detect999_ms);
        put_s(f, r[i].detect100_ms);
        fprintf(f, ",%llu", (unsigned long long)r[i].false_failures);
        put_v(f, r[i].wall_s);
        put_v(f, r[i].cpu_s);
        bool projected = r[i].status == ST_NO_MEMORY;
        put_v(f, projected ? NAN : (double)r[i].rss_kb / 1024);
        put_v(f, projected ? (double)r[i].rss_kb / 1024 : NAN);
        fputc('\n', f);
    }
    fclose(f);
}

/* Two panels: bandwidth per node vs N (flat is SWIM's promise), detection time vs N. */
static void write_plot(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/gossip_sim.gp", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_gossip_sim: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f,
            "# written by bench_gossip_sim; gnuplot [-e \"dir='DIR'\"] gossip_sim.gp (DIR: where "
            "the csv is, default .)\n"
            "if (!exists(\"dir\")) dir = '.'\n"
            "set terminal pngcairo size 1500,480 font ',10'\n"
            "set output dir.'/gossip_sim.png'\n"
            "set datafile separator ','\n"
            "set datafile missing 'NaN'\n"
            "set key top left\n"
            "set logscale x\n"
            "set grid\n"
            "set xlabel 'cluster size N (nodes)'\n"
            "set yrange [0:*]\n"
            "f = dir.'/gossip_sim.csv'\n"
            "set multiplot layout 1,3 title 'swarm membership (SWIM + Lifeguard) on the "
            "simulator: LAN tuning, 1-5 ms latency, no loss'\n"
            "set title 'bandwidth per node, steady state'\n"
            "set ylabel 'bytes/s per node'\n"
            "plot f using 'n':'bytes_per_s_node' with linespoints lw 2 pt 7 title 'total', \\\n"
            "     f using 'n':'udp_bytes_per_s_node' with linespoints pt 5 title 'UDP "
            "datagrams', \\\n"
            "     f using 'n':'pushpull_bytes_per_s_node' with linespoints pt 9 title 'TCP "
            "push-pull'\n"
            "set title 'convergence from the first start'\n"
            "set ylabel 'virtual seconds (log)'\n"
            "set logscale y\n"
            "set yrange [*:*]\n"
            "plot f using 'n':'converge999_s' with linespoints lw 2 pt 7 title '99.9 %% of nodes "
            "list all alive', \\\n"
            "     f using 'n':'converge100_s' with linespoints pt 9 title 'all nodes', \\\n"
            "     f using 'n':'last_join_s' with linespoints pt 4 title 'last node started'\n"
            "unset logscale y\n"
            "set yrange [0:*]\n"
            "set title 'failure detection after a kill'\n"
            "set ylabel 'virtual seconds after the kill'\n"
            "plot f using 'n':'first_suspect_s' with linespoints pt 5 title 'first suspects "
            "it', \\\n"
            "     f using 'n':'detect999_s' with linespoints lw 2 pt 7 title '99.9 %% list it "
            "failed', \\\n"
            "     f using 'n':'detect100_s' with linespoints pt 9 title '100 %% list it failed'\n"
            "unset multiplot\n");
    fclose(f);
    char cmd[8400 + 200];
    snprintf(cmd, sizeof(cmd), "gnuplot -e \"dir='%s'\" '%s'", dir, path);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_gossip_sim: gnuplot failed (is gnuplot installed?): %s\n", cmd);
    else
        printf("plot: %s/gossip_sim.png\n", dir);
}

static void fmt_s(char *buf, size_t cap, double ms)
{
    if (isnan(ms))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.2f", ms / 1000);
}

/* A number for the table, "-" when there is none. */
static const char *fmt_v(char *buf, size_t cap, int decimals, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.*f", decimals, v);
    return buf;
}

static void print_table(const struct result *r, size_t k)
{
    printf("\n%6s %-14s %8s %8s %8s %6s %8s %7s %7s %8s %8s %7s %7s %7s\n", "N", "status",
           "conv99.9", "conv100", "B/s/node", "UDP", "pushpull", "dgram/s", "suspect", "fail99.9",
           "fail100", "wall s", "cpu s", "RSS MB");
    for (size_t i = 0; i < k; i++) {
        char c9[32], c1[32], su[32], d9[32], d1[32], b[8][32];
        fmt_s(c9, sizeof(c9), r[i].conv999_ms);
        fmt_s(c1, sizeof(c1), r[i].conv100_ms);
        fmt_s(su, sizeof(su), r[i].suspect_ms);
        fmt_s(d9, sizeof(d9), r[i].detect999_ms);
        fmt_s(d1, sizeof(d1), r[i].detect100_ms);
        bool projected = r[i].status == ST_NO_MEMORY;
        printf("%6zu %-14s %8s %8s %8s %6s %8s %7s %7s %8s %8s %7s %7s %7s%s\n", r[i].n,
               status_name(r[i].status), c9, c1,
               fmt_v(b[0], sizeof(b[0]), 0, r[i].udp_bps + r[i].pushpull_bps),
               fmt_v(b[1], sizeof(b[1]), 0, r[i].udp_bps),
               fmt_v(b[2], sizeof(b[2]), 0, r[i].pushpull_bps),
               fmt_v(b[3], sizeof(b[3]), 2, r[i].dgram_ps), su, d9, d1,
               fmt_v(b[4], sizeof(b[4]), 1, r[i].wall_s), fmt_v(b[5], sizeof(b[5]), 1, r[i].cpu_s),
               fmt_v(b[6], sizeof(b[6]), 0, (double)r[i].rss_kb / 1024),
               projected ? " (projected)" : "");
    }
    printf("times: virtual seconds; conv from the first node's start, suspect/fail from the kill. "
           "bytes: datagram plaintext (60 s window) + push-pull both ways (one full period).\n");
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gossip_sim [--quick] [--seed S] [--stagger MS] [--budget S] "
                    "[--out DIR] [N...]\n"
                    "       bench_gossip_sim --replot [--out DIR]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t sizes[64], k = 0;
    bool quick = false, replot = false;
    uint64_t seed = 1;
    uint32_t stagger = 0;
    double budget = 900;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/bench/results", SWARM_SOURCE_DIR);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0)
            quick = true;
        else if (strcmp(a, "--replot") == 0)
            replot = true;
        else if (strcmp(a, "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--stagger") == 0 && i + 1 < argc)
            stagger = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--budget") == 0 && i + 1 < argc)
            budget = strtod(argv[++i], NULL);
        else if (strcmp(a, "--out") == 0 && i + 1 < argc)
            snprintf(dir, sizeof(dir), "%s", argv[++i]);
        else if (a[0] >= '1' && a[0] <= '9' && k < sizeof(sizes) / sizeof(sizes[0]))
            sizes[k++] = strtoul(a, NULL, 10);
        else
            usage();
    }
    if (k == 0) {
        sizes[k++] = 100;
        sizes[k++] = 1000;
        if (!quick)
            sizes[k++] = 10000;
    }
    for (size_t i = 0; i < k; i++) {
        if (sizes[i] < 3 || sizes[i] > 65536) {
            fprintf(stderr, "bench_gossip_sim: N must be 3..65536 (sim addresses)\n");
            return 2;
        }
    }
    if (replot) {
        write_plot(dir);
        return 0;
    }
    mkdir(dir, 0755);

    struct result res[64];
    for (size_t i = 0; i < k; i++) {
        /* Every node lists every member, so memory grows as N^2: project from the largest size
         * already run, and skip rather than push the machine into the OOM killer. */
        const struct result *base = NULL;
        for (size_t j = 0; j < i; j++) {
            if (res[j].status != ST_NO_MEMORY && res[j].rss_kb > 0 && res[j].n < sizes[i] &&
                (!base || res[j].n > base->n))
                base = &res[j];
        }
        double avail = (double)mem_available_kb() * 0.9;
        if (base) {
            double x = (double)sizes[i] / (double)base->n;
            double want = (double)base->rss_kb * x * x;
            if (avail > 0 && want > avail) {
                fprintf(stderr,
                        "N=%zu: skipped: projected peak RSS %.1f GB (N=%zu took %.2f GB, times "
                        "%.0f for N^2) > %.1f GB (90%% of MemAvailable)\n",
                        sizes[i], want / 1048576, base->n, (double)base->rss_kb / 1048576, x * x,
                        avail / 1048576);
                result_empty(&res[i], sizes[i], ST_NO_MEMORY);
                res[i].rss_kb = (long)want;
                continue;
            }
        }
        fprintf(stderr, "N=%zu: seed %llu, stagger %u ms, wall budget %.0f s\n", sizes[i],
                (unsigned long long)seed, stagger, budget);
        run_child(sizes[i], seed, stagger, budget, &res[i]);
    }
    print_table(res, k);
    char csv[4200];
    snprintf(csv, sizeof(csv), "%s/gossip_sim.csv", dir);
    write_csv(csv, res, k, seed, stagger);
    printf("csv: %s\n", csv);
    write_plot(dir);
    int bad = 0;
    for (size_t i = 0; i < k; i++)
        bad |= res[i].status != ST_OK;
    return bad ? 1 : 0;
}
