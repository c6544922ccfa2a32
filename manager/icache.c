/* icache — kept container inspect answers; see icache.h. */
#include "manager/icache.h"

#include <stdlib.h>
#include <string.h>

#define CTYPE_MAX 63

struct ent {
    struct ent *hnext;       /* the bucket's chain */
    struct ent *prev, *next; /* use order: head is the most recent */
    uint64_t hash;
    struct icache_clock *clock; /* a reference */
    uint64_t epoch;
    size_t cost; /* bytes counted against the budget */
    struct icache_entry pub;
    char id[ICACHE_ID_MAX + 1];
    char variant[ICACHE_VARIANT_MAX + 1];
    char ctype[CTYPE_MAX + 1];
    char body[];
};

struct icache {
    size_t budget, bytes, n;
    struct ent **buckets;
    size_t nbuckets; /* a power of two, or 0 */
    struct ent *head, *tail;
    struct icache_stats st;
};

/* ---- clocks ---- */

struct icache_clock *icache_clock_new(void)
{
    struct icache_clock *c = calloc(1, sizeof(*c));
    if (c)
        c->refs = 1;
    return c;
}

struct icache_clock *icache_clock_ref(struct icache_clock *c)
{
    if (c)
        c->refs++;
    return c;
}

void icache_clock_unref(struct icache_clock *c)
{
    if (c && --c->refs == 0)
        free(c);
}

void icache_clock_bump(struct icache_clock *c)
{
    if (c)
        c->epoch++;
}

/* ---- the table ---- */

/* The id's alone: every variant of one id shares a bucket, so icache_drop_id looks at one. */
static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct icache *icache_new(size_t budget)
{
    struct icache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->budget = budget;
    c->st.budget = budget;
    return c;
}

static void lru_unlink(struct icache *c, struct ent *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(struct icache *c, struct ent *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

/* Takes e out of its bucket and the use order and frees it. */
static void remove_ent(struct icache *c, struct ent *e)
{
    struct ent **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->cost;
    c->n--;
    icache_clock_unref(e->clock);
    free(e);
}

void icache_free(struct icache *c)
{
    if (c == NULL)
        return;
    while (c->head)
        remove_ent(c, c->head);
    free(c->buckets);
    free(c);
}

static struct ent *find(const struct icache *c, uint64_t h, const char *id, const char *variant)
{
    if (c->nbuckets == 0)
        return NULL;
    for (struct ent *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->id, id) == 0 && strcmp(e->variant, variant) == 0)
            return e;
    return NULL;
}

/* Room for one more entry in the buckets (one bucket per entry at most). 0, or -1 on ENOMEM. */
static int grow(struct icache *c)
{
    if (c->n < c->nbuckets)
        return 0;
    size_t nb = c->nbuckets ? c->nbuckets * 2 : 64;
    struct ent **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct ent *e = c->buckets[i];
        while (e) {
            struct ent *next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
    return 0;
}

const struct icache_entry *icache_get(struct icache *c, const char *id, const char *variant,
                                      const struct icache_clock *clock)
{
    struct ent *e = clock ? find(c, id_hash(id), id, variant) : NULL;
    if (e && (e->clock != clock || e->epoch != clock->epoch)) {
        remove_ent(c, e);
        c->st.dropped++;
        e = NULL;
    }
    if (e == NULL) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    lru_unlink(c, e);
    lru_front(c, e);
    return &e->pub;
}

/* Whether body[0..len) holds the bytes "Health": (a key: inside a JSON string its quotes
 * would be escaped). */
static bool has_health(const char *body, size_t len)
{
    static const char key[] = "\"Health\":";
    const size_t kl = sizeof(key) - 1;
    for (const char *p = body; len >= kl;) {
        const char *q = memchr(p, '"', len - kl + 1);
        if (q == NULL)
            return false;
        if (memcmp(q, key, kl) == 0)
            return true;
        len -= (size_t)(q + 1 - p);
        p = q + 1;
    }
    return false;
}

static size_t cost_of(size_t len)
{
    return sizeof(struct ent) + len + 1 + 2 * sizeof(void *); /* + its bucket share */
}

bool icache_keepable(const struct icache *c, int status, const char *content_type, const char *body,
                     size_t len)
{
    if (status != 200 || len == 0 || len > ICACHE_ENTRY_MAX || cost_of(len) > c->budget / 4)
        return false;
    if (content_type == NULL || strncmp(content_type, "application/json", 16) != 0 ||
        strlen(content_type) > CTYPE_MAX)
        return false;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    return i < len && body[i] == '{' && !has_health(body, len);
}

int icache_put(struct icache *c, const char *id, const char *variant, struct icache_clock *clock,
               uint64_t epoch, int status, const char *content_type, const char *body, size_t len,
               uint64_t stamp)
{
    if (clock == NULL || epoch != clock->epoch || strlen(id) > ICACHE_ID_MAX ||
        strlen(variant) > ICACHE_VARIANT_MAX ||
        !icache_keepable(c, status, content_type, body, len)) {
        c->st.refused++;
        return 0;
    }
    uint64_t h = id_hash(id);
    struct ent *old = find(c, h, id, variant);
    if (old)
        remove_ent(c, old);
    size_t cost = cost_of(len);
    while (c->tail && c->bytes + cost > c->budget) {
        remove_ent(c, c->tail);
        c->st.evicted++;
    }
    if (grow(c) < 0)
        return -1;
    struct ent *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return -1;
    memset(e, 0, sizeof(*e));
    e->hash = h;
    e->clock = icache_clock_ref(clock);
    e->epoch = epoch;
    e->cost = cost;
    strcpy(e->id, id);
    strcpy(e->variant, variant);
    strcpy(e->ctype, content_type);
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->pub.body = e->body;
    e->pub.len = len;
    e->pub.content_type = e->ctype;
    e->pub.stamp = stamp;
    size_t b = h & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    lru_front(c, e);
    c->bytes += cost;
    c->n++;
    c->st.stores++;
    return 1;
}

void icache_drop_id(struct icache *c, const char *id)
{
    if (c->nbuckets == 0)
        return;
    uint64_t h = id_hash(id);
    struct ent *e = c->buckets[h & (c->nbuckets - 1)];
    while (e) {
        struct ent *next = e->hnext;
        if (e->hash == h && strcmp(e->id, id) == 0) {
            remove_ent(c, e);
            c->st.dropped++;
        }
        e = next;
    }
}

void icache_get_stats(const struct icache *c, struct icache_stats *out)
{
    *out = c->st;
    out->entries = c->n;
    out->bytes = c->bytes;
    out->budget = c->budget;
}
