/* api_cluster — engine records for the Docker API, from gossip members and their metadata. */
#include "manager/api_cluster.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_cluster_init(struct api_cluster *c)
{
    memset(c, 0, sizeof(*c));
}

void api_node_free(struct api_node *n)
{
    free(n->name);
    free(n->member);
    free(n->id);
    free(n->addr);
    free(n->labels);
    free(n->api_version);
    free(n->server_version);
    memset(n, 0, sizeof(*n));
}

void api_cluster_free(struct api_cluster *c)
{
    for (size_t i = 0; i < c->n; i++)
        api_node_free(&c->nodes[i]);
    free(c->nodes);
    memset(c, 0, sizeof(*c));
}

static char *dup_view(struct proto_str v)
{
    char *s = malloc(v.len + 1);
    if (s) {
        if (v.len)
            memcpy(s, v.ptr, v.len);
        s[v.len] = '\0';
    }
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "k=v" for each label, sorted, joined with ", ". */
static char *format_labels(const struct meta *m)
{
    char *items[META_MAX_LABELS + 2];
    size_t n = 0, total = 0;
    char *out = NULL;
    if (m->kernel.len) {
        struct proto_str k = proto_str_c("kernelversion=");
        char *s = malloc(k.len + m->kernel.len + 1);
        if (s == NULL)
            goto out;
        memcpy(s, k.ptr, k.len);
        memcpy(s + k.len, m->kernel.ptr, m->kernel.len);
        s[k.len + m->kernel.len] = '\0';
        items[n++] = s;
    }
    if (m->os.len) {
        struct proto_str k = proto_str_c("operatingsystem=");
        char *s = malloc(k.len + m->os.len + 1);
        if (s == NULL)
            goto out;
        memcpy(s, k.ptr, k.len);
        memcpy(s + k.len, m->os.ptr, m->os.len);
        s[k.len + m->os.len] = '\0';
        items[n++] = s;
    }
    for (size_t i = 0; i < m->nlabels && i < META_MAX_LABELS; i++) {
        const struct meta_label *l = &m->labels[i];
        /* What the engine reports wins over a label that claims the same key. */
        if ((m->kernel.len && proto_str_eq(l->key, "kernelversion")) ||
            (m->os.len && proto_str_eq(l->key, "operatingsystem")))
            continue;
        char *s = malloc(l->key.len + l->value.len + 2);
        if (s == NULL)
            goto out;
        memcpy(s, l->key.ptr, l->key.len);
        s[l->key.len] = '=';
        if (l->value.len)
            memcpy(s + l->key.len + 1, l->value.ptr, l->value.len);
        s[l->key.len + 1 + l->value.len] = '\0';
        items[n++] = s;
    }
    qsort(items, n, sizeof(items[0]), cmp_str);
    for (size_t i = 0; i < n; i++)
        total += strlen(items[i]) + 2;
    out = malloc(total + 1);
    if (out) {
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(items[i]);
            if (i) {
                memcpy(out + off, ", ", 2);
                off += 2;
            }
            memcpy(out + off, items[i], len);
            off += len;
        }
        out[off] = '\0';
    }
out:
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    return out;
}

int api_node_init(struct api_node *n, const struct api_member_in *m)
{
    memset(n, 0, sizeof(*n));
    const struct meta *meta = m->meta;
    n->name = meta->engine_name.len ? dup_view(meta->engine_name) : strdup(m->member);
    n->member = strdup(m->member);
    n->id = dup_view(meta->engine_id);
    n->addr = strdup(m->addr);
    n->labels = format_labels(meta);
    n->api_version = dup_view(meta->api_version);
    n->server_version = strdup(m->server_version && m->server_version[0] ? m->server_version
                               : n->api_version                          ? n->api_version
                                                                         : "");
    if (!n->name || !n->member || !n->id || !n->addr || !n->labels || !n->api_version ||
        !n->server_version) {
        api_node_free(n);
        return -1;
    }
    n->healthy = m->healthy;
    n->cpus = meta->cpus;
    n->memory = meta->memory;
    n->updated_at = m->updated_at;
    n->containers = m->containers;
    n->running = m->running;
    n->paused = m->paused;
    n->stopped = m->stopped;
    n->images = m->images;
    n->reserved_mcpus = m->reserved_mcpus;
    n->reserved_memory = m->reserved_memory;
    return 0;
}

int api_cluster_add(struct api_cluster *c, const struct api_member_in *m)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct api_node *nodes = realloc(c->nodes, cap * sizeof(*nodes));
        if (nodes == NULL)
            return -1;
        c->nodes = nodes;
        c->cap = cap;
    }
    if (api_node_init(&c->nodes[c->n], m) < 0)
        return -1;
    c->n++;
    return 0;
}

int api_natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int d = strncmp(a, b, la);
            if (d)
                return d;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

int api_node_cmp(const char *name_a, const char *member_a, const char *name_b, const char *member_b)
{
    int d = api_natural_cmp(name_a, name_b);
    return d ? d : strcmp(member_a, member_b);
}

static int cmp_node(const void *x, const void *y)
{
    const struct api_node *a = x, *b = y;
    return api_node_cmp(a->name, a->member, b->name, b->member);
}

void api_cluster_sort(struct api_cluster *c)
{
    if (c->n > 1)
        qsort(c->nodes, c->n, sizeof(c->nodes[0]), cmp_node);
}

bool api_version_valid(const char *v)
{
    int parts = 0;
    const char *p = v;
    for (;;) {
        size_t digits = 0;
        while (isdigit((unsigned char)p[digits]))
            digits++;
        if (digits == 0 || digits > 5 || ++parts > 4)
            return false;
        p += digits;
        if (*p == '\0')
            return true;
        if (*p != '.')
            return false;
        p++;
    }
}

int api_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return 0;
}

const char *api_cluster_api_version(const struct api_cluster *c, const char *dflt)
{
    const char *low = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const char *v = c->nodes[i].api_version;
        if (api_version_valid(v) && (low == NULL || api_version_cmp(v, low) < 0))
            low = v;
    }
    return low ? low : dflt;
}
