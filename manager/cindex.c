/* cindex — a sorted multimap from strings to (engine, container) pairs; see cindex.h. */
#include "manager/cindex.h"

#include <stdlib.h>
#include <string.h>

void cindex_init(struct cindex *x)
{
    memset(x, 0, sizeof(*x));
}

void cindex_free(struct cindex *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->v[i]);
    free(x->v);
    memset(x, 0, sizeof(*x));
}

size_t cindex_lower(const struct cindex *x, const char *key)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid]->key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first position whose key is > key. */
static size_t upper(const struct cindex *x, const char *key)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid]->key, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool cindex_match(const struct cindex *x, size_t i, const char *key, size_t plen)
{
    if (i >= x->n)
        return false;
    return plen ? strncmp(x->v[i]->key, key, plen) == 0 : strcmp(x->v[i]->key, key) == 0;
}

int cindex_add(struct cindex *x, const char *key, struct engine *e, json_t *c)
{
    if (key == NULL || key[0] == '\0')
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        struct cindex_entry **v = realloc(x->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        x->v = v;
        x->cap = cap;
    }
    size_t len = strlen(key);
    struct cindex_entry *en = malloc(sizeof(*en) + len + 1);
    if (en == NULL)
        return -1;
    en->e = e;
    en->c = c;
    memcpy(en->key, key, len + 1);
    size_t at = upper(x, key);
    memmove(&x->v[at + 1], &x->v[at], (x->n - at) * sizeof(x->v[0]));
    x->v[at] = en;
    x->n++;
    return 0;
}

bool cindex_remove(struct cindex *x, const char *key, const struct engine *e, const json_t *c)
{
    if (key == NULL || key[0] == '\0')
        return false;
    for (size_t i = cindex_lower(x, key); cindex_match(x, i, key, 0); i++) {
        if (x->v[i]->e != e || x->v[i]->c != c)
            continue;
        free(x->v[i]);
        memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(x->v[0]));
        x->n--;
        return true;
    }
    return false;
}

size_t cindex_remove_engine(struct cindex *x, const struct engine *e)
{
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->v[i]->e == e)
            free(x->v[i]);
        else
            x->v[k++] = x->v[i];
    }
    size_t gone = x->n - k;
    x->n = k;
    return gone;
}
