/* sched_cache — the scheduler's view kept across decisions. See sched_cache.h. */
#include "manager/sched_cache.h"

#include "manager/engines.h"
#include "proto/meta.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The string table may grow this far past twice its size after a fresh build before the
 * next sync builds afresh (so a small cluster does not rebuild for a handful of strings). */
#define STRINGS_SLACK (256 * 1024)

/* What node i was read from. */
struct stamp {
    const struct engine *e; /* compared, never read: the record may be gone */
    uint64_t gen;
    unsigned flags;
};

struct placed {
    uintptr_t addr; /* an engine record's address */
    size_t index;   /* its place in this sync's array */
};

struct sched_cache {
    struct sched_cache_hooks h;
    struct sched_view *v; /* NULL: build afresh */
    struct stamp *st;     /* st[i] for v->nodes[i] */
    size_t stcap;
    size_t strings_built; /* sched_view_string_bytes after the last fresh build */
    struct placed *pos;   /* scratch for joins and leaves */
    size_t poscap;
    struct sched_cache_stats stats;
};

/* What the view reads of e besides its gen, compared too: a missed gen would cost a decision
 * on a node that is down. */
static unsigned flags_of(const struct engine *e)
{
    return (unsigned)e->healthy | (unsigned)e->ready << 1 | (unsigned)(e->conn != NULL) << 2;
}

static struct stamp stamp_of(const struct engine *e)
{
    return (struct stamp){.e = e, .gen = e->gen, .flags = flags_of(e)};
}

static bool stale(const struct stamp *s, const struct engine *e)
{
    return s->gen != e->gen || s->flags != flags_of(e);
}

static int reserve(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*(void **)p, ncap * size);
    if (q == NULL)
        return -1;
    *(void **)p = q;
    *cap = ncap;
    return 0;
}

/* Reads e into v at node at: a new node there (insert) or node at re-read in place; then the
 * caller's hook. 0 or -1. */
static int read_engine(const struct sched_cache_hooks *h, struct sched_view *v, size_t at,
                       bool insert, const struct engine *e)
{
    /* The agent's --labels join the engine's as constraint targets. */
    const char *extra[META_MAX_LABELS];
    size_t nextra = 0, k;
    json_t *l;
    json_array_foreach(e->agent_labels, k, l)
    {
        if (nextra < META_MAX_LABELS && json_string_value(l))
            extra[nextra++] = json_string_value(l);
    }
    int rc = insert ? (sched_view_insert_engine(v, at, e, extra, nextra) < 0 ? -1 : 0)
                    : sched_view_update_engine(v, at, e, extra, nextra);
    if (rc < 0)
        return -1;
    return h->decorate ? h->decorate(h->arg, v, at, e) : 0;
}

struct sched_view *sched_cache_build(struct engine *const *engines, size_t n,
                                     const struct sched_cache_hooks *hooks)
{
    struct sched_cache_hooks none = {0};
    const struct sched_cache_hooks *h = hooks ? hooks : &none;
    struct sched_view *v = sched_view_new();
    for (size_t i = 0; v && i < n; i++) {
        if (read_engine(h, v, v->nnodes, true, engines[i]) < 0) {
            sched_view_free(v);
            v = NULL;
        }
    }
    return v;
}

struct sched_cache *sched_cache_new(const struct sched_cache_hooks *hooks)
{
    struct sched_cache *c = calloc(1, sizeof(*c));
    if (c && hooks)
        c->h = *hooks;
    return c;
}

void sched_cache_reset(struct sched_cache *c)
{
    sched_view_free(c->v);
    c->v = NULL;
}

void sched_cache_free(struct sched_cache *c)
{
    if (c == NULL)
        return;
    sched_cache_reset(c);
    free(c->st);
    free(c->pos);
    free(c);
}

void sched_cache_get_stats(const struct sched_cache *c, struct sched_cache_stats *out)
{
    *out = c->stats;
}

static struct sched_view *build_afresh(struct sched_cache *c, struct engine *const *es, size_t n)
{
    sched_cache_reset(c);
    if (reserve(&c->st, &c->stcap, n, sizeof(*c->st)) < 0)
        return NULL;
    c->v = sched_cache_build(es, n, &c->h);
    if (c->v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c->st[i] = stamp_of(es[i]);
    c->strings_built = sched_view_string_bytes(c->v);
    c->stats.full_builds++;
    c->stats.syncs++;
    return c->v;
}

static int cmp_placed(const void *a, const void *b)
{
    uintptr_t x = ((const struct placed *)a)->addr, y = ((const struct placed *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Where e is in this sync's array, or -1. */
static long position(const struct sched_cache *c, size_t n, const struct engine *e)
{
    struct placed key = {.addr = (uintptr_t)e};
    const struct placed *p = bsearch(&key, c->pos, n, sizeof(*c->pos), cmp_placed);
    return p ? (long)p->index : -1;
}

/* Makes the nodes the engines of es[0..n), in order: keeps each node whose engine is still
 * there (in the same relative order), removes the others, inserts a node for each engine
 * that has none. 0; 1 when more than SCHED_CACHE_MAX_EDITS were needed (the view is then
 * half done: build afresh); -1 when out of memory. */
static int merge(struct sched_cache *c, struct engine *const *es, size_t n)
{
    if (reserve(&c->pos, &c->poscap, n, sizeof(*c->pos)) < 0 ||
        reserve(&c->st, &c->stcap, c->v->nnodes + n, sizeof(*c->st)) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        c->pos[i] = (struct placed){.addr = (uintptr_t)es[i], .index = i};
    qsort(c->pos, n, sizeof(*c->pos), cmp_placed);
    struct sched_view *v = c->v;
    size_t i = 0, j = 0, edits = 0;
    while (i < n || j < v->nnodes) {
        if (i < n && j < v->nnodes && c->st[j].e == es[i]) {
            i++, j++;
            continue;
        }
        if (++edits > SCHED_CACHE_MAX_EDITS)
            return 1;
        if (j < v->nnodes) {
            /* Node j's engine left, or is already placed before i (its order changed). */
            long p = position(c, n, c->st[j].e);
            if (p < 0 || (size_t)p < i) {
                sched_view_remove_node(v, j);
                memmove(&c->st[j], &c->st[j + 1], (v->nnodes - j) * sizeof(*c->st));
                c->stats.removed++;
                continue;
            }
        }
        /* Here i < n: with i == n every node left is one whose engine is placed already. */
        memmove(&c->st[j + 1], &c->st[j], (v->nnodes - j) * sizeof(*c->st));
        c->st[j] = stamp_of(es[i]);
        if (read_engine(&c->h, v, j, true, es[i]) < 0)
            return -1;
        c->stats.inserted++;
        i++, j++;
    }
    return 0;
}

struct sched_view *sched_cache_sync(struct sched_cache *c, struct engine *const *es, size_t n)
{
    if (c->v && sched_view_string_bytes(c->v) > 2 * c->strings_built + STRINGS_SLACK)
        sched_cache_reset(c);
    if (c->v == NULL)
        return build_afresh(c, es, n);
    bool same = c->v->nnodes == n;
    for (size_t i = 0; same && i < n; i++)
        same = c->st[i].e == es[i];
    if (!same) {
        int rc = merge(c, es, n);
        if (rc > 0)
            return build_afresh(c, es, n);
        if (rc < 0) {
            sched_cache_reset(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!stale(&c->st[i], es[i]))
            continue;
        c->st[i] = stamp_of(es[i]);
        if (read_engine(&c->h, c->v, i, false, es[i]) < 0) {
            sched_cache_reset(c);
            return NULL;
        }
        c->stats.refreshed++;
    }
    c->stats.syncs++;
    return c->v;
}
