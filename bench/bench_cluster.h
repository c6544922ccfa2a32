/*
 * bench_cluster — what the in-process manager benches (bench_ps, bench_info) share: engine
 * records filled as the manager holds them (engine_init, then a STATE snapshot through
 * engines_apply_state) from container entries a bench writes, a STATE delta replacing one
 * entry, the clocks, and the median row each bench prints. Header-only: each bench includes it
 * once. Everything a function allocates it frees; the records are the caller's (engine_clear).
 */
#ifndef SWARM_BENCH_CLUSTER_H
#define SWARM_BENCH_CLUSTER_H

#include "manager/engines.h"
#include "proto/relay_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Writes container k of engine `node` as a /containers/json entry into out[0..cap); serial
 * varies its Created. */
typedef void (*bench_entry_fn)(char *out, size_t cap, size_t node, int k, unsigned serial);

#define BENCH_ENTRY_MAX 2048 /* an entry's bytes at most */

static inline double bench_clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 64-hex-digit id made from a and b (out: 65 bytes). */
static inline void bench_hex_id(char *out, unsigned long a, unsigned long b)
{
    snprintf(out, 65, "%016lx%016lx%016lx%016lx", a * 0x9e3779b97f4a7c15UL, b + 1,
             (a ^ (b << 20)) * 0xbf58476d1ce4e5b9UL, a + b);
}

/* Applies a snapshot to e: per_node entries of engine `node` ({"containers":[...]), then tail
 * (the rest of the object, "}" at least: images, info...). 0, or -1 (said on stderr as prog). */
static inline int bench_snapshot(struct engine *e, size_t node, int per_node, bench_entry_fn entry,
                                 const char *tail, const char *prog)
{
    size_t cap = (size_t)per_node * BENCH_ENTRY_MAX + strlen(tail) + 64, off = 0;
    char *snap = malloc(cap);
    if (snap == NULL)
        return -1;
    off += (size_t)snprintf(snap + off, cap - off, "{\"containers\":[");
    for (int k = 0; k < per_node; k++) {
        if (k)
            snap[off++] = ',';
        entry(snap + off, cap - off, node, k,
              (unsigned)(node * (size_t)per_node + (size_t)k) * 7919u);
        off += strlen(snap + off);
    }
    off += (size_t)snprintf(snap + off, cap - off, "]%s", tail);
    char err[256];
    int rc = engines_apply_state(e, FRAME_STATE_SNAPSHOT, snap, off, NULL, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err);
    free(snap);
    return rc;
}

/* A STATE delta: container k of e (engine `node`) restarted, its entry replaced. Exits on a
 * refusal (a bench bug). */
static inline void bench_change(struct engine *e, size_t node, int k, unsigned serial,
                                bench_entry_fn entry, const char *prog)
{
    char buf[BENCH_ENTRY_MAX + 32];
    int n = snprintf(buf, sizeof(buf), "{\"container\":");
    entry(buf + n, sizeof(buf) - (size_t)n, node, k, serial);
    strcat(buf, "}");
    char err[256];
    if (engines_apply_state(e, FRAME_STATE_DELTA, buf, strlen(buf), NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        exit(1);
    }
}

/* One timed call: wall and thread CPU time, the body's bytes. */
struct bench_figure {
    double wall_ms, cpu_ms;
    size_t bytes;
};

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints "what  wall-median  wall-max  cpu-median  bytes" over f[0..reps), reps <= 256, with
 * `decimals` digits. */
static inline void bench_report(const char *what, const struct bench_figure *f, int reps,
                                int decimals)
{
    double wall[256], cpu[256];
    for (int i = 0; i < reps; i++) {
        wall[i] = f[i].wall_ms;
        cpu[i] = f[i].cpu_ms;
    }
    qsort(wall, (size_t)reps, sizeof(double), bench_cmp_double);
    qsort(cpu, (size_t)reps, sizeof(double), bench_cmp_double);
    printf("%-22s %10.*f %10.*f %10.*f %12zu\n", what, decimals, wall[reps / 2], decimals,
           wall[reps - 1], decimals, cpu[reps / 2], f[0].bytes);
}

#endif
