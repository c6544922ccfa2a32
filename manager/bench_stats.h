/*
 * bench_stats — what `swarm bench` measures, kept apart from HTTP and threads: latency samples,
 * their percentiles, and errors tallied by kind.
 *
 * Each worker thread owns one bench_samples and one bench_errors and fills them without locks;
 * the command merges them once the workers have joined. All of it is pure and unit-tested.
 *
 * Bounds: a bench_samples keeps at most `max` samples (the caller picks it; extra ones are only
 * counted in `dropped`), a bench_errors at most BENCH_ERROR_KINDS kinds (the rest go to "other").
 * Ownership: bench_samples_init/close for caller-owned structs; the sample array is the struct's.
 */
#ifndef SWARM_MANAGER_BENCH_STATS_H
#define SWARM_MANAGER_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* One timed operation: when it started (seconds since the run began), how long it took, and
 * which step of the workload it was (an index into the workload's step names). */
struct bench_sample {
    double t;
    double ms;
    int kind;
};

struct bench_samples {
    struct bench_sample *v;
    size_t n, cap;
    size_t max;     /* bound on n */
    size_t dropped; /* samples not kept because n reached max */
};

void bench_samples_init(struct bench_samples *s, size_t max);
void bench_samples_close(struct bench_samples *s);

/* Appends a sample; returns 0, or -1 when it was dropped (bound reached or out of memory). */
int bench_samples_add(struct bench_samples *s, double t, double ms, int kind);

/* Appends every sample of src to dst (dst's bound applies). */
void bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src);

/*
 * The p-th percentile (0..100) of n values sorted ascending, by the nearest-rank method: the
 * smallest value with at least p % of the values at or below it. p <= 0 gives the minimum; n == 0
 * gives 0.
 */
double bench_percentile(const double *sorted, size_t n, double p);

struct bench_latency {
    size_t count;
    double mean, p50, p90, p99, max; /* milliseconds */
};

/* Latency figures of the samples of one kind (kind < 0: all of them). Returns 0, or -1 if out of
 * memory. With no matching sample, out is all zeros. */
int bench_latency_of(const struct bench_samples *s, int kind, struct bench_latency *out);

#define BENCH_ERROR_KINDS 16
#define BENCH_ERROR_KIND_LEN 64

/* Errors by kind ("HTTP 500", "transport: Timeout was reached"), in order of first sight. */
struct bench_errors {
    uint64_t total;
    int n;
    struct {
        char kind[BENCH_ERROR_KIND_LEN];
        uint64_t count;
    } e[BENCH_ERROR_KINDS];
};

/* Counts `count` errors of this kind; a kind longer than the field is cut, a kind beyond the
 * table's bound is counted as "other". */
void bench_errors_add(struct bench_errors *errs, const char *kind, uint64_t count);

void bench_errors_merge(struct bench_errors *dst, const struct bench_errors *src);

#endif
