/* bench_stats — latency samples, percentiles, errors by kind. See bench_stats.h. */
#include "manager/bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_samples_init(struct bench_samples *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->max = max;
}

void bench_samples_close(struct bench_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int bench_samples_add(struct bench_samples *s, double t, double ms, int kind)
{
    if (s->n >= s->max) {
        s->dropped++;
        return -1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        if (cap > s->max)
            cap = s->max;
        struct bench_sample *grown = realloc(s->v, cap * sizeof(*grown));
        if (grown == NULL) {
            s->dropped++;
            return -1;
        }
        s->v = grown;
        s->cap = cap;
    }
    s->v[s->n++] = (struct bench_sample){.t = t, .ms = ms, .kind = kind};
    return 0;
}

void bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        bench_samples_add(dst, src->v[i].t, src->v[i].ms, src->v[i].kind);
    dst->dropped += src->dropped;
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    /* Nearest rank: ceil(p/100 * n), 1-based. The epsilon keeps 90 % of 10 at rank 9 despite
     * 0.9 * 10 being 9.000000000000002 in binary. */
    double r = ceil(p / 100.0 * (double)n - 1e-9);
    size_t rank = r < 1 ? 1 : (size_t)r;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_latency_of(const struct bench_samples *s, int kind, struct bench_latency *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += kind < 0 || s->v[i].kind == kind;
    if (n == 0)
        return 0;
    double *ms = malloc(n * sizeof(*ms));
    if (ms == NULL)
        return -1;
    double sum = 0;
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (kind < 0 || s->v[i].kind == kind) {
            ms[j++] = s->v[i].ms;
            sum += s->v[i].ms;
        }
    }
    qsort(ms, n, sizeof(*ms), cmp_double);
    out->count = n;
    out->mean = sum / (double)n;
    out->p50 = bench_percentile(ms, n, 50);
    out->p90 = bench_percentile(ms, n, 90);
    out->p99 = bench_percentile(ms, n, 99);
    out->max = ms[n - 1];
    free(ms);
    return 0;
}

void bench_errors_add(struct bench_errors *errs, const char *kind, uint64_t count)
{
    char cut[BENCH_ERROR_KIND_LEN];
    snprintf(cut, sizeof(cut), "%s", kind);
    errs->total += count;
    for (int i = 0; i < errs->n; i++) {
        if (strcmp(errs->e[i].kind, cut) == 0) {
            errs->e[i].count += count;
            return;
        }
    }
    if (errs->n == BENCH_ERROR_KINDS - 1 && strcmp(cut, "other") != 0) {
        /* The last slot is kept for "other", so the table never loses a count. */
        bench_errors_add(errs, "other", 0);
        errs->e[errs->n - 1].count += count;
        return;
    }
    if (errs->n >= BENCH_ERROR_KINDS) {
        errs->e[BENCH_ERROR_KINDS - 1].count += count; /* "other" */
        return;
    }
    memcpy(errs->e[errs->n].kind, cut, sizeof(cut));
    errs->e[errs->n].count = count;
    errs->n++;
}

void bench_errors_merge(struct bench_errors *dst, const struct bench_errors *src)
{
    for (int i = 0; i < src->n; i++)
        bench_errors_add(dst, src->e[i].kind, src->e[i].count);
}
