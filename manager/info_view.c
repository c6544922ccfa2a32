/* info_view — /info's per-node entries, remade when their member or engine record moved. */
#include "manager/info_view.h"

#include "agent/gossip_uv.h"
#include "manager/api_handlers.h"
#include "manager/scheduler.h"
#include "proto/meta.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ventry {
    /* what it was made from */
    char *member; /* the key */
    uint8_t *meta;
    uint16_t meta_len;
    struct proto_addr addr;
    enum member_state state;
    bool self;
    bool keyed;      /* in the table (not a whole node of info_view_node) */
    bool listed;     /* a listed agent: the fields below are valid */
    bool stale;      /* to be made again whatever moved (a pass failed on it) */
    uint64_t since;  /* the member's state_since_ms */
    int64_t updated; /* UpdatedAt, reckoned when since changed */
    uint64_t egen;   /* the engine record's gen when made, 0: none */
    uint64_t pass;   /* the last pass that saw it */
    /* what it gives */
    char *name; /* the node name: the sort key with member */
    bool healthy;
    uint32_t cpus;
    uint64_t memory;
    uint32_t containers, running, paused, stopped, images;
    char *text; /* NULL: could not be made */
    size_t len;
};

struct info_view {
    struct ventry **all; /* every entry, in no order */
    size_t n, cap;
    struct ventry **slots; /* open addressing by member name, keyed entries only */
    size_t nslots;         /* a power of 2, 0 before the first */
    size_t nkeyed;         /* entries in the table */
    struct ventry **order; /* the listed entries in classic's order, after info_view_end */
    size_t norder, order_cap;
    bool dirty; /* order to be made again */
    uint64_t pass;
    int64_t wall;
    uint64_t now_ms;
    struct meta meta; /* scratch for decoding */
    struct info_view_sums sums;
};

struct info_view *info_view_new(void)
{
    return calloc(1, sizeof(struct info_view));
}

static void entry_free(struct ventry *e)
{
    if (e == NULL)
        return;
    free(e->member);
    free(e->meta);
    free(e->name);
    free(e->text);
    free(e);
}

void info_view_free(struct info_view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        entry_free(v->all[i]);
    free(v->all);
    free(v->slots);
    free(v->order);
    free(v);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct ventry *lookup(const struct info_view *v, const char *member)
{
    if (v->nslots == 0)
        return NULL;
    size_t mask = v->nslots - 1;
    for (size_t i = (size_t)hash_name(member) & mask;; i = (i + 1) & mask) {
        struct ventry *e = v->slots[i];
        if (e == NULL || strcmp(e->member, member) == 0)
            return e;
    }
}

static void slot_put(struct ventry **slots, size_t nslots, struct ventry *e)
{
    size_t mask = nslots - 1;
    size_t i = (size_t)hash_name(e->member) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = e;
}

/* The table made again for the keyed entries, with room for one more at half load. */
static int rehash(struct info_view *v)
{
    size_t keyed = 0;
    for (size_t i = 0; i < v->n; i++)
        keyed += v->all[i]->keyed;
    size_t nslots = 16;
    while (nslots < 2 * (keyed + 1))
        nslots *= 2;
    struct ventry **slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < v->n; i++)
        if (v->all[i]->keyed)
            slot_put(slots, nslots, v->all[i]);
    free(v->slots);
    v->slots = slots;
    v->nslots = nslots;
    v->nkeyed = keyed;
    return 0;
}

static struct ventry *entry_add(struct info_view *v, const char *member, bool keyed)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        struct ventry **all = realloc(v->all, cap * sizeof(*all));
        if (all == NULL)
            return NULL;
        v->all = all;
        v->cap = cap;
    }
    struct ventry *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->member = strdup(member)) == NULL) {
        free(e);
        return NULL;
    }
    e->keyed = keyed;
    v->all[v->n++] = e;
    v->dirty = true;
    if (keyed) {
        if (2 * (v->nkeyed + 1) > v->nslots) {
            if (rehash(v) < 0) {
                e->keyed = false; /* not seen in this pass: dropped at its end */
                return NULL;
            }
        } else {
            slot_put(v->slots, v->nslots, e);
            v->nkeyed++;
        }
    }
    return e;
}

void info_view_begin(struct info_view *v, int64_t wall, uint64_t now_ms)
{
    v->pass++;
    v->wall = wall;
    v->now_ms = now_ms;
}

/* ---- one node's SystemStatus lines ---- */

/* RFC 3339 in UTC, as Go's time.RFC3339 prints it. */
static void rfc3339(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

static int status_pair(json_t *arr, const char *k, const char *v)
{
    return json_array_append_new(arr, json_pack("[s, s]", k, v));
}

/* classic Swarm's lines for one node, as compact JSON without the outer brackets. */
static char *node_text(const struct api_node *n, size_t *len)
{
    json_t *s = json_array();
    char buf[512];
    int bad = s == NULL;
    snprintf(buf, sizeof(buf), " %s", n->name);
    bad |= status_pair(s, buf, n->addr);
    bad |= status_pair(s, "  └ ID", n->id);
    bad |= status_pair(s, "  └ Status", n->healthy ? "Healthy" : "Unhealthy");
    /* Classic Swarm gave the breakdown only for healthy nodes. */
    if (n->healthy)
        snprintf(buf, sizeof(buf),
                 "%" PRIu32 " (%" PRIu32 " Running, %" PRIu32 " Paused, %" PRIu32 " Stopped)",
                 n->containers, n->running, n->paused, n->stopped);
    else
        snprintf(buf, sizeof(buf), "%" PRIu32, n->containers);
    bad |= status_pair(s, "  └ Containers", buf);
    /* Whole CPUs as classic printed them, a fraction when one is reserved. */
    if (n->reserved_mcpus % 1000)
        snprintf(buf, sizeof(buf), "%.2f / %" PRIu32, (double)n->reserved_mcpus / 1000.0, n->cpus);
    else
        snprintf(buf, sizeof(buf), "%" PRId64 " / %" PRIu32, n->reserved_mcpus / 1000, n->cpus);
    bad |= status_pair(s, "  └ Reserved CPUs", buf);
    char total[32], used[32];
    api_bytes_size(n->memory, total, sizeof(total));
    api_bytes_size(n->reserved_memory > 0 ? (uint64_t)n->reserved_memory : 0, used, sizeof(used));
    snprintf(buf, sizeof(buf), "%s / %s", used, total);
    bad |= status_pair(s, "  └ Reserved Memory", buf);
    bad |= status_pair(s, "  └ Labels", n->labels);
    rfc3339(n->updated_at, buf, sizeof(buf));
    bad |= status_pair(s, "  └ UpdatedAt", buf);
    bad |= status_pair(s, "  └ ServerVersion", n->server_version);
    char *text = bad ? NULL : json_dumps(s, JSON_COMPACT);
    json_decref(s);
    if (text == NULL)
        return NULL;
    /* "[...]" -> "..." */
    size_t l = strlen(text);
    memmove(text, text + 1, l - 2);
    text[l - 2] = '\0';
    *len = l - 2;
    return text;
}

/* Sets what e gives from the node record: 0, or -1 when out of memory. */
static int entry_set(struct info_view *v, struct ventry *e, const struct api_node *n)
{
    if (e->name == NULL || strcmp(e->name, n->name) != 0) {
        char *name = strdup(n->name);
        if (name == NULL)
            return -1;
        free(e->name);
        e->name = name;
        v->dirty = true;
    }
    e->healthy = n->healthy;
    e->cpus = n->cpus;
    e->memory = n->memory;
    e->containers = n->containers;
    e->running = n->running;
    e->paused = n->paused;
    e->stopped = n->stopped;
    e->images = n->images;
    free(e->text);
    e->len = 0;
    e->text = node_text(n, &e->len);
    return 0;
}

int info_view_node(struct info_view *v, const struct api_node *n)
{
    struct ventry *e = entry_add(v, n->member, false);
    if (e == NULL)
        return -1;
    e->pass = v->pass;
    e->listed = true;
    if (entry_set(v, e, n) < 0) {
        e->pass = 0; /* not seen: dropped at the end of the pass */
        return -1;
    }
    return 0;
}

/* ---- a member ---- */

static bool same_addr(const struct proto_addr *a, const struct proto_addr *b)
{
    return a->len == b->len && a->port == b->port && a->len <= sizeof(a->ip) &&
           memcmp(a->ip, b->ip, a->len) == 0;
}

/* What the engine's state says: containers by state, images, reservations, version. */
static void engine_counts(const struct engine *e, struct api_member_in *in)
{
    size_t i;
    json_t *c;
    int64_t ncpu = (int64_t)json_integer_value(json_object_get(e->info, "NCPU"));
    json_array_foreach(e->containers, i, c)
    {
        const char *state = json_string_value(json_object_get(c, "State"));
        in->containers++;
        if (state && strcmp(state, "running") == 0)
            in->running++;
        else if (state && strcmp(state, "paused") == 0)
            in->paused++;
        else
            in->stopped++;
        json_t *hc = json_object_get(c, "HostConfig");
        in->reserved_memory += (int64_t)json_integer_value(json_object_get(hc, "Memory"));
        in->reserved_mcpus += sched_mcpus_from_engine(
            (int64_t)json_integer_value(json_object_get(hc, "CpuShares")),
            (int64_t)json_integer_value(json_object_get(hc, "NanoCpus")), ncpu);
    }
    in->images = (uint32_t)json_array_size(e->images);
    in->server_version = json_string_value(json_object_get(e->info, "ServerVersion"));
}

/* Listed: an agent's metadata, not ourselves, not left (what the manager lists). */
static bool listed_agent(const struct member *x, struct meta *meta)
{
    return !x->self && x->state != MEMBER_LEFT && x->meta_len != 0 &&
           meta_decode(x->meta, x->meta_len, meta, NULL) == 0 && meta->role == META_ROLE_AGENT;
}

int info_view_member(struct info_view *v, const struct member *x, info_view_find_fn find, void *arg)
{
    struct ventry *e = lookup(v, x->name);
    if (e && e->pass == v->pass)
        e = NULL; /* a name twice in one pass: an entry of its own, as a node of its own */
    bool fresh = e == NULL;
    if (fresh && (e = entry_add(v, x->name, lookup(v, x->name) == NULL)) == NULL)
        return -1;
    e->pass = v->pass;
    bool moved = fresh || e->stale || e->meta_len != x->meta_len ||
                 (x->meta_len && memcmp(e->meta, x->meta, x->meta_len) != 0) ||
                 !same_addr(&e->addr, &x->addr) || e->state != x->state || e->self != x->self ||
                 e->since != x->state_since_ms;
    bool decoded = false;
    if (moved) {
        uint8_t *meta = NULL;
        if (x->meta_len && (meta = malloc(x->meta_len)) == NULL) {
            e->stale = true;
            e->pass = 0;
            return -1;
        }
        if (x->meta_len)
            memcpy(meta, x->meta, x->meta_len);
        free(e->meta);
        e->meta = meta;
        e->meta_len = x->meta_len;
        if (fresh || e->since != x->state_since_ms) {
            uint64_t ago = v->now_ms > x->state_since_ms ? v->now_ms - x->state_since_ms : 0;
            e->updated = v->wall - (int64_t)(ago / 1000);
        }
        e->addr = x->addr;
        e->state = x->state;
        e->self = x->self;
        e->since = x->state_since_ms;
        e->stale = false;
        bool listed = listed_agent(x, &v->meta);
        decoded = true;
        if (listed != e->listed)
            v->dirty = true;
        e->listed = listed;
    }
    if (!e->listed)
        return 0;
    struct engine *en = find ? find(arg, x->name) : NULL;
    uint64_t egen = en ? en->gen : 0;
    if (!moved && egen == e->egen && e->text)
        return 0;
    if (!decoded && meta_decode(e->meta, e->meta_len, &v->meta, NULL) != 0) {
        e->stale = true; /* decoded before from the same bytes: cannot happen */
        e->pass = 0;
        return -1;
    }
    char addr[64];
    gossip_format_addr(&e->addr, addr, sizeof(addr));
    struct api_member_in in = {
        .member = x->name,
        .addr = addr,
        .healthy = x->state == MEMBER_ALIVE,
        .updated_at = e->updated,
        .meta = &v->meta,
    };
    if (en)
        engine_counts(en, &in);
    struct api_node n;
    if (api_node_init(&n, &in) < 0) {
        e->stale = true;
        e->pass = 0;
        return -1;
    }
    int rc = entry_set(v, e, &n);
    api_node_free(&n);
    if (rc < 0) {
        e->stale = true;
        e->pass = 0;
        return -1;
    }
    e->egen = egen;
    return 0;
}

/* ---- the end of a pass ---- */

static int cmp_entry(const void *x, const void *y)
{
    const struct ventry *a = *(struct ventry *const *)x, *b = *(struct ventry *const *)y;
    return api_node_cmp(a->name, a->member, b->name, b->member);
}

int info_view_end(struct info_view *v)
{
    /* Drop the entries not seen in this pass. */
    size_t w = 0;
    bool removed = false;
    for (size_t i = 0; i < v->n; i++) {
        struct ventry *e = v->all[i];
        if (e->pass == v->pass) {
            v->all[w++] = e;
            continue;
        }
        removed |= e->keyed;
        if (e->listed)
            v->dirty = true;
        entry_free(e);
    }
    v->n = w;
    if (removed && rehash(v) < 0) {
        v->nslots = 0; /* no table: every entry is made again */
        free(v->slots);
        v->slots = NULL;
        for (size_t i = 0; i < v->n; i++)
            v->all[i]->keyed = false;
        v->dirty = true;
    }
    if (v->dirty) {
        if (v->order_cap < v->n) {
            struct ventry **order = realloc(v->order, v->n * sizeof(*order));
            if (order == NULL)
                return -1;
            v->order = order;
            v->order_cap = v->n;
        }
        v->norder = 0;
        for (size_t i = 0; i < v->n; i++)
            if (v->all[i]->listed)
                v->order[v->norder++] = v->all[i];
        if (v->norder > 1)
            qsort(v->order, v->norder, sizeof(v->order[0]), cmp_entry);
        v->dirty = false;
    }
    struct info_view_sums s = {0};
    for (size_t i = 0; i < v->norder; i++) {
        const struct ventry *e = v->order[i];
        if (!e->healthy)
            continue;
        s.ncpu += e->cpus;
        s.memory += e->memory;
        s.containers += e->containers;
        s.running += e->running;
        s.paused += e->paused;
        s.stopped += e->stopped;
        s.images += e->images;
    }
    v->sums = s;
    return 0;
}

size_t info_view_count(const struct info_view *v)
{
    return v->norder;
}

const char *info_view_text(const struct info_view *v, size_t i, size_t *len)
{
    const struct ventry *e = v->order[i];
    *len = e->len;
    return e->text;
}

const struct info_view_sums *info_view_sums(const struct info_view *v)
{
    return &v->sums;
}
