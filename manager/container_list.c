/* container_list — the cluster's /containers/json body from texts kept per engine gen. See
 * container_list.h. */
#include "manager/container_list.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX 512

/* One entry's text in its slot's buffer; len 0: not made yet (an object's text never is). */
struct text {
    int64_t created;
    size_t off, len;
};

/* The texts of one engine's entries at one gen. */
struct slot {
    uint64_t gen;
    size_t n; /* entries: the size of e->containers at gen */
    struct text *ent;
    char *buf;
    size_t used, cap;
    bool taken; /* matched by an engine of the listing under way */
};

/* A picked entry: list[i]'s k-th. */
struct pick {
    int64_t created;
    uint32_t i, k;
};

struct clist {
    struct slot *slots; /* sorted by gen (gens are unique across records) */
    size_t n;
    struct pick *picks, *tmp; /* kept across listings: the scratch of one */
    size_t pcap;
};

struct clist *clist_new(void)
{
    return calloc(1, sizeof(struct clist));
}

static void slot_clear(struct slot *s)
{
    free(s->ent);
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

void clist_free(struct clist *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        slot_clear(&l->slots[i]);
    free(l->slots);
    free(l->picks);
    free(l->tmp);
    free(l);
}

json_t *clist_entry(const struct engine *e, json_t *c)
{
    /* A shallow copy: only Names, Ports and the ports that change are copied below them. */
    json_t *out = json_copy(c);
    if (out == NULL)
        return NULL;
    size_t i;
    json_t *names = json_object_get(out, "Names");
    if (json_array_size(names) > 0) {
        names = json_copy(names);
        if (names == NULL || json_object_set_new(out, "Names", names) < 0) {
            json_decref(out);
            return NULL;
        }
        json_t *n;
        json_array_foreach(names, i, n)
        {
            const char *name = json_string_value(n);
            if (name == NULL)
                continue;
            char buf[REF_MAX];
            snprintf(buf, sizeof(buf), "/%s%s%s", e->name, name[0] == '/' ? "" : "/", name);
            json_array_set_new(names, i, json_string(buf));
        }
    }
    json_t *ports = json_object_get(out, "Ports");
    if (json_array_size(ports) > 0 && e->ip[0]) {
        ports = json_copy(ports);
        if (ports == NULL || json_object_set_new(out, "Ports", ports) < 0) {
            json_decref(out);
            return NULL;
        }
        json_t *p;
        json_array_foreach(ports, i, p)
        {
            const char *ip = json_string_value(json_object_get(p, "IP"));
            if (ip == NULL || (strcmp(ip, "0.0.0.0") != 0 && strcmp(ip, "::") != 0))
                continue;
            json_t *copy = json_copy(p);
            if (copy == NULL) {
                json_decref(out);
                return NULL;
            }
            if (json_object_set_new(copy, "IP", json_string(e->ip)) == 0)
                json_array_set_new(ports, i, copy);
            else
                json_decref(copy);
        }
    }
    if (!e->healthy)
        json_object_set_new(out, "Status", json_string("Host Down"));
    return out;
}

/* Makes the text of s's entry k (c, of e). 0 or -1 (ENOMEM, or c will not dump). */
static int slot_make(struct slot *s, size_t k, const struct engine *e, json_t *c)
{
    json_t *entry = clist_entry(e, c);
    char *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
    json_decref(entry);
    if (text == NULL)
        return -1;
    size_t len = strlen(text);
    if (s->cap - s->used < len) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap - s->used < len)
            cap *= 2;
        char *buf = realloc(s->buf, cap);
        if (buf == NULL) {
            free(text);
            return -1;
        }
        s->buf = buf;
        s->cap = cap;
    }
    memcpy(s->buf + s->used, text, len);
    free(text);
    s->ent[k].created = (int64_t)json_integer_value(json_object_get(c, "Created"));
    s->ent[k].off = s->used;
    s->ent[k].len = len;
    s->used += len;
    return 0;
}

static int cmp_slot_gen(const void *a, const void *b)
{
    uint64_t x = ((const struct slot *)a)->gen, y = ((const struct slot *)b)->gen;
    return x < y ? -1 : x > y;
}

/* The kept slot of gen, not yet taken by this listing; NULL if none. */
static struct slot *slot_find(struct clist *l, uint64_t gen)
{
    if (l->n == 0)
        return NULL; /* slots may be NULL: bsearch must not see it */
    struct slot key = {.gen = gen};
    struct slot *s = bsearch(&key, l->slots, l->n, sizeof(*l->slots), cmp_slot_gen);
    return s && !s->taken ? s : NULL;
}

/* Sorts p[0..n) newest first, keeping the order of equal ones (a stable LSD radix sort on
 * max - Created, one byte a pass, as many passes as the range of Created needs); tmp: n more. */
static void sort_picks(struct pick *p, struct pick *tmp, size_t n)
{
    if (n < 2)
        return;
    int64_t max = p[0].created, min = p[0].created;
    for (size_t j = 1; j < n; j++) {
        if (p[j].created > max)
            max = p[j].created;
        if (p[j].created < min)
            min = p[j].created;
    }
    /* Unsigned: max - created is in [0, 2^64) whatever the values. */
    uint64_t range = (uint64_t)max - (uint64_t)min;
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += 8) {
        size_t count[257] = {0};
        for (size_t j = 0; j < n; j++)
            count[(((uint64_t)max - (uint64_t)p[j].created) >> shift & 0xff) + 1]++;
        for (size_t d = 1; d < 257; d++)
            count[d] += count[d - 1];
        for (size_t j = 0; j < n; j++)
            tmp[count[((uint64_t)max - (uint64_t)p[j].created) >> shift & 0xff]++] = p[j];
        memcpy(p, tmp, n * sizeof(*p));
    }
}

int clist_json(struct clist *l, struct engine *const *list, size_t n, clist_pick_fn pick, void *arg,
               long limit, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (n > UINT32_MAX)
        return -1;
    /* This listing's slots, in the order of list: kept ones moved over, new ones empty. */
    struct slot *next = calloc(n ? n : 1, sizeof(*next));
    if (next == NULL)
        return -1;
    int rc = -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct engine *e = list[i];
        struct slot *old = slot_find(l, e->gen);
        if (old) {
            next[i] = *old;
            old->taken = true;
        } else {
            next[i].gen = e->gen;
            next[i].n = json_array_size(e->containers);
            next[i].ent = calloc(next[i].n ? next[i].n : 1, sizeof(*next[i].ent));
            if (next[i].ent == NULL) {
                next[i] = (struct slot){0};
                goto out;
            }
        }
        next[i].taken = false;
        total += next[i].n;
    }
    if (total > l->pcap) {
        free(l->picks);
        free(l->tmp);
        l->picks = malloc(total * sizeof(*l->picks));
        l->tmp = malloc(total * sizeof(*l->tmp));
        l->pcap = l->picks && l->tmp ? total : 0;
        if (l->pcap == 0)
            goto out;
    }
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        const struct engine *e = list[i];
        struct slot *s = &next[i];
        for (size_t k = 0; k < s->n; k++) {
            json_t *c = json_array_get(e->containers, k);
            if (pick && !pick(arg, e, c))
                continue;
            if (s->ent[k].len == 0 && slot_make(s, k, e, c) < 0)
                goto out;
            l->picks[np++] = (struct pick){s->ent[k].created, (uint32_t)i, (uint32_t)k};
        }
    }
    sort_picks(l->picks, l->tmp, np);
    if (limit > 0 && (unsigned long)limit < np)
        np = (size_t)limit;
    size_t size = 4 + (np ? np - 1 : 0); /* "[", "]", "\n", NUL, commas */
    for (size_t j = 0; j < np; j++)
        size += next[l->picks[j].i].ent[l->picks[j].k].len;
    char *body = malloc(size);
    if (body == NULL)
        goto out;
    char *w = body;
    *w++ = '[';
    for (size_t j = 0; j < np; j++) {
        const struct slot *s = &next[l->picks[j].i];
        const struct text *t = &s->ent[l->picks[j].k];
        if (j)
            *w++ = ',';
        memcpy(w, s->buf + t->off, t->len);
        w += t->len;
    }
    *w++ = ']';
    *w++ = '\n';
    *w = '\0';
    *out = body;
    *len = (size_t)(w - body);
    rc = 0;
out:
    /* The kept slots no engine took are gone; this listing's are kept (also after a failure:
     * every one of them is whole). */
    for (size_t i = 0; i < l->n; i++)
        if (!l->slots[i].taken)
            slot_clear(&l->slots[i]);
    free(l->slots);
    qsort(next, n, sizeof(*next), cmp_slot_gen);
    l->slots = next;
    l->n = n;
    return rc;
}
