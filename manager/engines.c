/*
 * engines — one record per agent in gossip, one relay connection per alive one, and the engine
 * state its STATE messages carry; the API is in engines.h.
 *
 * Records. es->recs holds the records gossip lists, sorted by name in natural order. A record
 * that goes (member left or reaped, engines_close) is detached from that array at once, so no
 * lookup finds it, and freed only once its relay connection's on_close and its retry timer's
 * close callback have run: both are deferred by libuv, so a struct engine stays valid until
 * control returns to the loop whatever a callback does. engines_close waits for the last
 * record, then closes its own handle, whose close callback runs on_closed.
 *
 * Connections. A record whose member is alive has a relay connection or a retry timer armed
 * (first delay retry_min, doubling up to retry_max per failure; back to retry_min after a
 * connection that delivered a snapshot, an error snapshot included, ends without a protocol
 * error: a flapping or misbehaving agent is dialled ever less often). e->conn is set
 * when the handshake completes and cleared as soon as the connection ends or is closed. A
 * member in any other state is marked unhealthy and keeps its state; it loses its connection
 * and timer, except that a suspect member keeps a connection it has (a suspicion is often
 * refuted: the connection stays usable for when it is, and ends by itself if the host is gone).
 *
 * State. engines_apply_state validates a whole message before it changes anything, so a
 * malformed one leaves the last good view; the connection that sent it is then closed (and
 * retried), with the reason logged once and kept in e->error. A delta before the connection's
 * first snapshot is refused likewise. Each record indexes its containers by id and by name
 * (jansson objects used as hash maps); beside them, cluster-wide indexes (manager/cindex.h)
 * map every container id and every container name to its (engine, entry), and every member
 * name and engine id to its record, kept by the same calls that change a record's containers
 * or identity (put_container, unput, apply_snapshot, engines_update_member, detach): a lookup
 * is one binary search, whatever the number of engines. An index that could not be kept (out
 * of memory) is marked broken and built again before the next lookup; until that succeeds,
 * lookups ask each engine's own indexes as before.
 */
#include "manager/engines.h"

#include "common/log.h"
#include "manager/api_cluster.h"
#include "manager/cindex.h"
#include "proto/meta.h"
#include "proto/relay_frame.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct rec {
    struct engine e; /* first: engines_at hands out &rec->e */
    struct engines *es;
    uint8_t pubkey[META_PUBKEY_LEN];
    uint16_t relay_port;
    uint8_t relay_hs;         /* the highest relay handshake version the agent accepts (0: 1) */
    struct relay_conn *rconn; /* open or opening; e.conn once ready */
    uv_timer_t retry;
    bool timer_closed;
    bool detached;       /* no longer in es->recs: freed once rconn and the timer are gone */
    uint32_t backoff_ms; /* the next retry's delay */
    bool ever_connected; /* a handshake completed once: the next one is a reconnect */
    bool failing;        /* connect attempts failing in a row: only the first is logged */
    /* the current connection */
    bool handshaken;   /* its handshake completed */
    bool got_snapshot; /* a snapshot came on it */
    bool good;         /* ... and applied */
    bool bad;          /* we are closing it for a protocol error: ignore what still comes */
    char why[256];     /* why we closed it, for the log ("" if the agent or network did) */
    bool reported_up;  /* the last on_engine said up */
};

/* The cluster-wide indexes; containers' names are indexed without their leading '/'. */
struct engines_index {
    struct cindex ids;     /* container id -> (engine, entry) */
    struct cindex names;   /* each of a container's names -> (engine, entry) */
    struct cindex members; /* member name -> (record, NULL) */
    struct cindex eids;    /* engine id -> (record, NULL) */
    bool broken;           /* an insertion failed: rebuilt before the next lookup */
};

struct exec_note {
    char *id;     /* one allocation: id, NUL, member, NUL */
    char *member; /* the engine's member name */
};

struct engines {
    uv_loop_t *loop;
    struct keypair self;
    struct engines_callbacks cb;
    void *arg;
    struct engines_timing timing;
    struct rec **recs; /* attached records, natural name order */
    size_t n, cap;
    size_t alive; /* records not yet freed, detached ones included */
    bool closing, finishing;
    void (*on_closed)(void *arg);
    void *closed_arg;
    uv_idle_t handle; /* closed last: its close callback ends engines_close */
    struct exec_note execs[ENGINES_EXEC_MAX];
    size_t exec_next;
    struct engines_index cx; /* attached records only */
};

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- one record's state: validation, indexes, application ---------------------------------- */

/* The last gen given to any record: gens are unique across records, so a record freed and
 * another made at the same address never look the same to a reader that kept a gen. */
static uint64_t last_gen;

void engine_touch(struct engine *e)
{
    e->gen = ++last_gen;
}

int engine_init(struct engine *e, const char *name)
{
    memset(e, 0, sizeof(*e));
    engine_touch(e);
    snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
    e->containers = json_array();
    e->images = json_array();
    e->info = json_object();
    e->version = json_object();
    e->by_id = json_object();
    e->by_name = json_object();
    e->agent_labels = json_array();
    e->clock = icache_clock_new();
    if (!e->containers || !e->images || !e->info || !e->version || !e->by_id || !e->by_name ||
        !e->agent_labels || !e->clock) {
        engine_clear(e);
        return -1;
    }
    return 0;
}

void engine_clear(struct engine *e)
{
    json_decref(e->containers);
    json_decref(e->images);
    json_decref(e->info);
    json_decref(e->version);
    json_decref(e->by_id);
    json_decref(e->by_name);
    json_decref(e->agent_labels);
    e->containers = e->images = e->info = e->version = e->by_id = e->by_name = NULL;
    e->agent_labels = NULL;
    icache_clock_bump(e->clock); /* whoever still holds it: nothing kept under it is current */
    icache_clock_unref(e->clock);
    e->clock = NULL;
}

/* The key a name is indexed under: without its leading '/'; NULL for an empty one. */
static const char *name_key(const char *name)
{
    if (name == NULL)
        return NULL;
    if (name[0] == '/')
        name++;
    return name[0] ? name : NULL;
}

static const char *container_id(const json_t *c)
{
    return json_string_value(json_object_get(c, "Id"));
}

/* Checks one /containers/json entry; where names it in err. */
static int check_container(const json_t *c, const char *where, char *err, size_t errlen)
{
    if (!json_is_object(c)) {
        set_err(err, errlen, "%s: not an object", where);
        return -1;
    }
    const char *id = container_id(c);
    if (id == NULL || id[0] == '\0') {
        set_err(err, errlen, "%s: \"Id\" is not a non-empty string", where);
        return -1;
    }
    const json_t *names = json_object_get(c, "Names");
    if (names && !json_is_null(names)) {
        if (!json_is_array(names)) {
            set_err(err, errlen, "%s: \"Names\" is not an array", where);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(names); i++) {
            if (!json_is_string(json_array_get(names, i))) {
                set_err(err, errlen, "%s: \"Names\"[%zu] is not a string", where, i);
                return -1;
            }
        }
    }
    static const char *const strings[] = {"Image", "State"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const json_t *v = json_object_get(c, strings[i]);
        if (v && !json_is_string(v)) {
            set_err(err, errlen, "%s: \"%s\" is not a string", where, strings[i]);
            return -1;
        }
    }
    const json_t *labels = json_object_get(c, "Labels");
    if (labels && !json_is_object(labels) && !json_is_null(labels)) {
        set_err(err, errlen, "%s: \"Labels\" is not an object", where);
        return -1;
    }
    const json_t *hc = json_object_get(c, "HostConfig");
    if (hc && !json_is_null(hc)) {
        if (!json_is_object(hc)) {
            set_err(err, errlen, "%s: \"HostConfig\" is not an object", where);
            return -1;
        }
        static const char *const ints[] = {"Memory", "NanoCpus", "CpuShares"};
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            const json_t *v = json_object_get(hc, ints[i]);
            if (v && !json_is_integer(v)) {
                set_err(err, errlen, "%s: \"HostConfig\".\"%s\" is not an integer", where, ints[i]);
                return -1;
            }
        }
    }
    return 0;
}

static int check_array_of_objects(const json_t *a, const char *what, char *err, size_t errlen)
{
    if (!json_is_array(a)) {
        set_err(err, errlen, "\"%s\" is not an array", what);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!json_is_object(json_array_get(a, i))) {
            set_err(err, errlen, "\"%s\"[%zu] is not an object", what, i);
            return -1;
        }
    }
    return 0;
}

/* Adds c (an entry of e) to the cluster-wide indexes e is kept in, if any. */
static void cx_add(struct engine *e, json_t *c)
{
    struct engines_index *x = e->index;
    if (x == NULL || x->broken)
        return;
    if (cindex_add(&x->ids, container_id(c), e, c) < 0)
        x->broken = true;
    const json_t *names = json_object_get(c, "Names");
    for (size_t i = 0; i < json_array_size(names) && !x->broken; i++)
        if (cindex_add(&x->names, name_key(json_string_value(json_array_get(names, i))), e, c) < 0)
            x->broken = true;
}

/* Takes c (an entry of e) out of the cluster-wide indexes. */
static void cx_remove(struct engine *e, const json_t *c)
{
    struct engines_index *x = e->index;
    if (x == NULL || x->broken)
        return;
    cindex_remove(&x->ids, container_id(c), e, c);
    const json_t *names = json_object_get(c, "Names");
    for (size_t i = 0; i < json_array_size(names); i++)
        cindex_remove(&x->names, name_key(json_string_value(json_array_get(names, i))), e, c);
}

/* Indexes c's id and names into by_id / by_name. -1 when out of memory. */
static int index_add(json_t *by_id, json_t *by_name, json_t *c)
{
    if (json_object_set(by_id, container_id(c), c) < 0)
        return -1;
    const json_t *names = json_object_get(c, "Names");
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *key = name_key(json_string_value(json_array_get(names, i)));
        if (key && json_object_set(by_name, key, c) < 0)
            return -1;
    }
    return 0;
}

/* Drops c from the indexes. A name c shared with another entry (which Docker never allows on
 * one engine, but a confused agent might send) goes to that entry. */
static void index_remove(struct engine *e, json_t *c)
{
    cx_remove(e, c);
    const char *id = container_id(c);
    if (json_object_get(e->by_id, id) == c)
        json_object_del(e->by_id, id);
    const json_t *names = json_object_get(c, "Names");
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *key = name_key(json_string_value(json_array_get(names, i)));
        if (key == NULL || json_object_get(e->by_name, key) != c)
            continue;
        json_object_del(e->by_name, key);
        size_t k;
        json_t *other;
        json_array_foreach(e->containers, k, other)
        {
            if (other == c)
                continue;
            const json_t *on = json_object_get(other, "Names");
            for (size_t j = 0; j < json_array_size(on); j++) {
                const char *ok = name_key(json_string_value(json_array_get(on, j)));
                if (ok && strcmp(ok, key) == 0)
                    json_object_set(e->by_name, key, other);
            }
        }
    }
}

static size_t container_pos(const struct engine *e, const json_t *c)
{
    size_t i;
    json_t *x;
    json_array_foreach(e->containers, i, x)
    {
        if (x == c)
            return i;
    }
    return (size_t)-1;
}

/* Takes c out of the containers and the indexes, wherever it got to. */
static void unput(struct engine *e, json_t *c)
{
    json_incref(c);
    index_remove(e, c);
    size_t pos = container_pos(e, c);
    if (pos != (size_t)-1)
        json_array_remove(e->containers, pos);
    json_decref(c);
}

/* Adds c (a valid entry), or replaces the entry with its id. -1 when out of memory (then c
 * may be half in: unput it). */
static int put_container(struct engine *e, json_t *c)
{
    json_t *old = json_object_get(e->by_id, container_id(c));
    if (old == c)
        return 0;
    if (old) {
        size_t pos = container_pos(e, old);
        json_incref(old);
        index_remove(e, old);
        int rc = pos == (size_t)-1 ? json_array_append(e->containers, c)
                                   : json_array_set(e->containers, pos, c);
        json_decref(old);
        if (rc < 0)
            return -1;
    } else if (json_array_append(e->containers, c) < 0) {
        return -1;
    }
    if (index_add(e->by_id, e->by_name, c) < 0)
        return -1;
    cx_add(e, c);
    return 0;
}

static void drop_container(struct engine *e, const char *id)
{
    json_t *old = json_object_get(e->by_id, id);
    if (old)
        unput(e, old);
}

static void replace(json_t **slot, json_t *v)
{
    json_incref(v);
    json_decref(*slot);
    *slot = v;
}

static int apply_snapshot(struct engine *e, json_t *root, char *err, size_t errlen)
{
    json_t *containers = json_object_get(root, "containers");
    json_t *images = json_object_get(root, "images");
    json_t *info = json_object_get(root, "info");
    json_t *version = json_object_get(root, "version");
    json_t *error = json_object_get(root, "error");
    if (containers && !json_is_array(containers)) {
        set_err(err, errlen, "snapshot: \"containers\" is not an array");
        return -1;
    }
    if (images && check_array_of_objects(images, "images", err, errlen) < 0)
        return -1;
    if (info && !json_is_object(info)) {
        set_err(err, errlen, "snapshot: \"info\" is not an object");
        return -1;
    }
    if (version && !json_is_object(version)) {
        set_err(err, errlen, "snapshot: \"version\" is not an object");
        return -1;
    }
    if (error && !json_is_string(error)) {
        set_err(err, errlen, "snapshot: \"error\" is not a string");
        return -1;
    }
    json_t *nc = containers ? json_incref(containers) : json_array();
    json_t *ni = images ? json_incref(images) : json_array();
    json_t *ninfo = info ? json_incref(info) : json_object();
    json_t *nv = version ? json_incref(version) : json_object();
    json_t *by_id = json_object(), *by_name = json_object();
    int rc = -1;
    if (!nc || !ni || !ninfo || !nv || !by_id || !by_name) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(nc, i, c)
    {
        char where[48];
        snprintf(where, sizeof(where), "snapshot: containers[%zu]", i);
        if (check_container(c, where, err, errlen) < 0)
            goto out;
        if (json_object_get(by_id, container_id(c))) {
            set_err(err, errlen, "%s: duplicate \"Id\" %.80s", where, container_id(c));
            goto out;
        }
        if (index_add(by_id, by_name, c) < 0) {
            set_err(err, errlen, "out of memory");
            goto out;
        }
    }
    json_array_foreach(e->containers, i, c)
    {
        cx_remove(e, c);
    }
    replace(&e->containers, nc);
    json_array_foreach(e->containers, i, c)
    {
        cx_add(e, c);
    }
    replace(&e->images, ni);
    replace(&e->info, ninfo);
    replace(&e->version, nv);
    replace(&e->by_id, by_id);
    replace(&e->by_name, by_name);
    if (error) {
        e->ready = false;
        snprintf(e->error, sizeof(e->error), "%s", json_string_value(error));
    } else {
        e->ready = true;
        e->error[0] = '\0';
    }
    rc = 0;
out:
    json_decref(nc);
    json_decref(ni);
    json_decref(ninfo);
    json_decref(nv);
    json_decref(by_id);
    json_decref(by_name);
    return rc;
}

static int apply_delta(struct engine *e, json_t *root, json_t **event, char *err, size_t errlen)
{
    json_t *ev = json_object_get(root, "event");
    json_t *c = json_object_get(root, "container");
    json_t *removed = json_object_get(root, "removed");
    json_t *images = json_object_get(root, "images");
    json_t *info = json_object_get(root, "info");
    json_t *version = json_object_get(root, "version");
    if (ev && !json_is_object(ev)) {
        set_err(err, errlen, "delta: \"event\" is not an object");
        return -1;
    }
    if (c && check_container(c, "delta: container", err, errlen) < 0)
        return -1;
    if (removed && !json_is_string(removed)) {
        set_err(err, errlen, "delta: \"removed\" is not a string");
        return -1;
    }
    if (images && check_array_of_objects(images, "images", err, errlen) < 0)
        return -1;
    if (info && !json_is_object(info)) {
        set_err(err, errlen, "delta: \"info\" is not an object");
        return -1;
    }
    if (version && !json_is_object(version)) {
        set_err(err, errlen, "delta: \"version\" is not an object");
        return -1;
    }
    if (c && put_container(e, c) < 0) {
        unput(e, c);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    if (removed)
        drop_container(e, json_string_value(removed));
    if (images)
        replace(&e->images, images);
    if (info)
        replace(&e->info, info);
    if (version)
        replace(&e->version, version);
    if (event && ev)
        *event = json_incref(ev);
    return 0;
}

int engines_apply_state(struct engine *e, int kind, const char *json, size_t len, json_t **event,
                        char *err, size_t errlen)
{
    if (event)
        *event = NULL;
    engine_touch(e);
    if (kind != FRAME_STATE_SNAPSHOT && kind != FRAME_STATE_DELTA) {
        set_err(err, errlen, "unknown state kind %d", kind);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        set_err(err, errlen, "%s: not JSON: %s (at byte %d)",
                kind == FRAME_STATE_SNAPSHOT ? "snapshot" : "delta", jerr.text, jerr.position);
        return -1;
    }
    int rc;
    if (!json_is_object(root)) {
        set_err(err, errlen, "%s: not a JSON object",
                kind == FRAME_STATE_SNAPSHOT ? "snapshot" : "delta");
        rc = -1;
    } else if (kind == FRAME_STATE_SNAPSHOT) {
        rc = apply_snapshot(e, root, err, errlen);
        icache_clock_bump(e->clock);
    } else {
        rc = apply_delta(e, root, event, err, errlen);
    }
    if (rc == 0)
        e->updated_at = wall_now();
    json_decref(root);
    return rc;
}

/* ---- records -------------------------------------------------------------------------------- */

static int cmp_rec(const void *x, const void *y)
{
    const struct rec *a = *(struct rec *const *)x, *b = *(struct rec *const *)y;
    int d = api_natural_cmp(a->e.name, b->e.name);
    return d ? d : strcmp(a->e.member, b->e.member);
}

/* Takes r out of the name-ordered array; false if it was not in it. */
static bool unlist(struct engines *es, struct rec *r)
{
    size_t i = 0;
    while (i < es->n && es->recs[i] != r)
        i++;
    if (i == es->n)
        return false;
    memmove(&es->recs[i], &es->recs[i + 1], (es->n - i - 1) * sizeof(es->recs[0]));
    es->n--;
    return true;
}

/* Moves r (attached) to its place in natural name order, the others being in order. */
static void place_rec(struct engines *es, struct rec *r)
{
    if (!unlist(es, r))
        return;
    size_t lo = 0, hi = es->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_rec(&es->recs[mid], &r) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&es->recs[lo + 1], &es->recs[lo], (es->n - lo) * sizeof(es->recs[0]));
    es->recs[lo] = r;
    es->n++;
}

/* The cluster-wide indexes, built again from the records (after an insertion failed). */
static void cx_rebuild(struct engines *es)
{
    struct engines_index *x = &es->cx;
    cindex_free(&x->ids);
    cindex_free(&x->names);
    cindex_free(&x->members);
    cindex_free(&x->eids);
    x->broken = false;
    for (size_t i = 0; i < es->n && !x->broken; i++) {
        struct engine *e = &es->recs[i]->e;
        if (cindex_add(&x->members, e->member, e, NULL) < 0 ||
            cindex_add(&x->eids, e->id, e, NULL) < 0)
            x->broken = true;
        size_t k;
        json_t *c;
        json_array_foreach(e->containers, k, c)
        {
            cx_add(e, c);
        }
    }
    if (x->broken)
        log_warn("engines", "out of memory for the lookup indexes: lookups scan every engine");
}

/* Whether the cluster-wide indexes can answer (rebuilt first if they were broken). */
static bool cx_ready(struct engines *es)
{
    if (es->closing)
        return false; /* freed by engines_close: the few lookups left scan */
    if (es->cx.broken)
        cx_rebuild(es);
    return !es->cx.broken;
}

static struct rec *find_member(struct engines *es, const char *member)
{
    if (cx_ready(es)) {
        size_t i = cindex_lower(&es->cx.members, member);
        return cindex_match(&es->cx.members, i, member, 0) ? (struct rec *)es->cx.members.v[i]->e
                                                           : NULL;
    }
    for (size_t i = 0; i < es->n; i++)
        if (strcmp(es->recs[i]->e.member, member) == 0)
            return es->recs[i];
    return NULL;
}

/* Tells on_engine when e's "up" (ready and healthy) changed since the last call. */
static void report(struct rec *r)
{
    bool up = r->e.ready && r->e.healthy && !r->detached;
    if (up == r->reported_up)
        return;
    r->reported_up = up;
    if (r->es->cb.on_engine)
        r->es->cb.on_engine(r->es->arg, &r->e, up);
}

static void finish(struct engines *es);

static void rec_maybe_free(struct rec *r)
{
    if (!r->detached || r->rconn || !r->timer_closed)
        return;
    struct engines *es = r->es;
    engine_clear(&r->e);
    free(r);
    es->alive--;
    finish(es);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct rec *r = h->data;
    r->timer_closed = true;
    rec_maybe_free(r);
}

/* Closes r's connection, if any, for why (logged when it ends). */
static void drop_conn(struct rec *r, const char *why)
{
    if (r->rconn == NULL)
        return;
    if (r->why[0] == '\0')
        snprintf(r->why, sizeof(r->why), "%s", why);
    engine_touch(&r->e);
    icache_clock_bump(r->e.clock);
    r->e.conn = NULL;
    r->e.ready = false;
    relay_conn_close(r->rconn);
}

static void detach(struct engines *es, struct rec *r, const char *why)
{
    if (!unlist(es, r))
        return;
    if (!es->cx.broken) {
        cindex_remove(&es->cx.members, r->e.member, &r->e, NULL);
        cindex_remove(&es->cx.eids, r->e.id, &r->e, NULL);
        cindex_remove_engine(&es->cx.ids, &r->e);
        cindex_remove_engine(&es->cx.names, &r->e);
    }
    r->e.index = NULL;
    engine_touch(&r->e);
    r->e.ready = false;
    report(r);
    r->detached = true;
    drop_conn(r, why);
    uv_timer_stop(&r->retry);
    uv_close((uv_handle_t *)&r->retry, on_timer_closed);
}

/* ---- connections ---------------------------------------------------------------------------- */

static void connect_rec(struct rec *r);

static void on_retry(uv_timer_t *t)
{
    struct rec *r = t->data;
    if (!r->detached && r->e.healthy && r->rconn == NULL)
        connect_rec(r);
}

static void schedule_retry(struct rec *r)
{
    struct engines *es = r->es;
    uint32_t delay = r->backoff_ms;
    uint64_t next = (uint64_t)delay * 2;
    r->backoff_ms = next > es->timing.retry_max_ms ? es->timing.retry_max_ms : (uint32_t)next;
    uv_timer_start(&r->retry, on_retry, delay, 0);
}

/* A connect attempt that failed before any handshake: log the first of a series only. */
static void connect_failed(struct rec *r, const char *reason)
{
    uint32_t max = r->es->timing.retry_max_ms;
    if (!r->failing)
        log_warn("engines", "engine %s unreachable addr=%s: %s (retrying, backing off to %u %s)",
                 r->e.name, r->e.addr, reason, max % 1000 ? max : max / 1000,
                 max % 1000 ? "ms" : "s");
    else
        log_debug("engines", "engine %s still unreachable addr=%s: %s", r->e.name, r->e.addr,
                  reason);
    r->failing = true;
    /* A long reason is cut to the field (it is for display). */
    size_t n = strlen(reason);
    if (n >= sizeof(r->e.error))
        n = sizeof(r->e.error) - 1;
    memcpy(r->e.error, reason, n);
    r->e.error[n] = '\0';
}

static void conn_ready(struct relay_conn *c, void *arg)
{
    struct rec *r = arg;
    if (r->rconn != c || r->detached)
        return;
    r->handshaken = true;
    r->failing = false;
    engine_touch(&r->e);
    icache_clock_bump(r->e.clock);
    r->e.conn = c;
    log_info("engines", "engine %s %s addr=%s", r->e.name,
             r->ever_connected ? "reconnected" : "connected", r->e.addr);
    r->ever_connected = true;
}

static void conn_closed(struct relay_conn *c, const char *reason, void *arg)
{
    struct rec *r = arg;
    if (r->rconn != c)
        return;
    r->rconn = NULL;
    engine_touch(&r->e);
    icache_clock_bump(r->e.clock);
    r->e.conn = NULL;
    r->e.ready = false;
    const char *why = r->why[0] ? r->why : reason;
    if (r->handshaken)
        log_msg(r->bad || !r->why[0] ? LOG_WARN : LOG_INFO, "engines",
                "engine %s disconnected addr=%s: %s", r->e.name, r->e.addr, why);
    else if (!r->why[0])
        connect_failed(r, reason);
    if (!r->why[0] && r->handshaken)
        snprintf(r->e.error, sizeof(r->e.error), "%s", reason);
    if (r->good && !r->bad)
        r->backoff_ms = r->es->timing.retry_min_ms;
    r->handshaken = r->got_snapshot = r->good = r->bad = false;
    r->why[0] = '\0';
    if (r->detached) {
        rec_maybe_free(r);
        return;
    }
    report(r);
    if (r->e.healthy && !r->es->closing && !uv_is_active((uv_handle_t *)&r->retry))
        schedule_retry(r);
}

/* The agent broke the state protocol: log it once, keep it, and drop the connection. */
static void state_error(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void state_error(struct rec *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->e.error, sizeof(r->e.error), "bad state from the agent: %.100s", msg);
    char why[sizeof(r->why)];
    snprintf(why, sizeof(why), "bad state from the agent: %.200s", msg);
    r->bad = true;
    drop_conn(r, why); /* conn_closed logs it, once */
    report(r);
}

static void conn_state(struct relay_conn *c, int kind, uint64_t seq, const char *json, size_t len,
                       void *arg)
{
    struct rec *r = arg;
    if (r->rconn != c || r->detached || r->bad)
        return;
    if (kind == FRAME_STATE_DELTA && !r->got_snapshot) {
        state_error(r, "delta seq %llu before any snapshot", (unsigned long long)seq);
        return;
    }
    char err[256];
    json_t *event = NULL;
    if (engines_apply_state(&r->e, kind, json, len, &event, err, sizeof(err)) < 0) {
        state_error(r, "seq %llu: %s", (unsigned long long)seq, err);
        return;
    }
    if (kind == FRAME_STATE_SNAPSHOT)
        r->got_snapshot = r->good = true; /* the agent works, even if its engine does not */
    report(r);
    if (event && r->es->cb.on_event && !r->detached)
        r->es->cb.on_event(r->es->arg, &r->e, event);
    json_decref(event);
}

static const struct relay_conn_callbacks conn_cb = {
    .on_ready = conn_ready,
    .on_close = conn_closed,
    .on_state = conn_state,
};

static void connect_rec(struct rec *r)
{
    struct engines *es = r->es;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    int rc = strchr(r->e.ip, ':') ? uv_ip6_addr(r->e.ip, r->relay_port, (struct sockaddr_in6 *)&ss)
                                  : uv_ip4_addr(r->e.ip, r->relay_port, (struct sockaddr_in *)&ss);
    char err[256];
    if (rc < 0) {
        snprintf(err, sizeof(err), "bad address %s: %s", r->e.ip, uv_strerror(rc));
        connect_failed(r, err);
        schedule_retry(r);
        return;
    }
    const struct relay_link_timing *t = &es->timing.relay;
    bool dflt = t->handshake_ms == 0 && t->idle_ms == 0 && t->ping_ms == 0;
    r->handshaken = r->got_snapshot = r->good = r->bad = false;
    r->why[0] = '\0';
    r->rconn = relay_conn_new(es->loop, (const struct sockaddr *)&ss, r->pubkey, &es->self,
                              dflt ? NULL : t, &conn_cb, r, err, sizeof(err));
    if (r->rconn == NULL) {
        connect_failed(r, err);
        schedule_retry(r);
        return;
    }
    if (r->relay_hs >= HS_VERSION_SUITES)
        relay_conn_offer_suites(r->rconn);
}

/* ---- the API -------------------------------------------------------------------------------- */

struct engines *engines_new(uv_loop_t *loop, const struct keypair *self,
                            const struct engines_callbacks *cb, void *arg)
{
    struct engines *es = calloc(1, sizeof(*es));
    if (es == NULL)
        return NULL;
    es->loop = loop;
    es->self = *self;
    if (cb)
        es->cb = *cb;
    es->arg = arg;
    es->timing.retry_min_ms = RETRY_MIN_MS;
    es->timing.retry_max_ms = RETRY_MAX_MS;
    uv_idle_init(loop, &es->handle);
    es->handle.data = es;
    return es;
}

void engines_set_timing(struct engines *es, const struct engines_timing *t)
{
    es->timing = *t;
    if (es->timing.retry_min_ms == 0)
        es->timing.retry_min_ms = RETRY_MIN_MS;
    if (es->timing.retry_max_ms == 0)
        es->timing.retry_max_ms = RETRY_MAX_MS;
    if (es->timing.retry_max_ms < es->timing.retry_min_ms)
        es->timing.retry_max_ms = es->timing.retry_min_ms;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct engines *es = h->data;
    cindex_free(&es->cx.ids);
    cindex_free(&es->cx.names);
    cindex_free(&es->cx.members);
    cindex_free(&es->cx.eids);
    for (size_t i = 0; i < ENGINES_EXEC_MAX; i++)
        free(es->execs[i].id);
    free(es->recs);
    void (*on_closed)(void *) = es->on_closed;
    void *arg = es->closed_arg;
    keypair_wipe(&es->self);
    free(es);
    if (on_closed)
        on_closed(arg);
}

static void finish(struct engines *es)
{
    if (!es->closing || es->alive > 0 || es->finishing)
        return;
    es->finishing = true;
    uv_close((uv_handle_t *)&es->handle, on_handle_closed);
}

void engines_close(struct engines *es, void (*on_closed)(void *arg), void *arg)
{
    if (es->closing)
        return;
    es->closing = true;
    es->on_closed = on_closed;
    es->closed_arg = arg;
    /* The indexes go first: taking each record out of them would cost a pass per record. */
    es->cx.broken = true;
    cindex_free(&es->cx.ids);
    cindex_free(&es->cx.names);
    cindex_free(&es->cx.members);
    cindex_free(&es->cx.eids);
    while (es->n > 0)
        detach(es, es->recs[es->n - 1], "the manager is stopping");
    finish(es);
}

/* The member's relay address from its gossip address: ip (no port) into ip[48]. */
static void format_ip(const struct proto_addr *a, char ip[48])
{
    if (inet_ntop(a->len == 16 ? AF_INET6 : AF_INET, a->ip, ip, 48) == NULL)
        snprintf(ip, 48, "?");
}

void engines_update_member(struct engines *es, const struct member *x)
{
    if (es->closing || x->self)
        return;
    struct rec *r = find_member(es, x->name);
    struct meta meta;
    bool agent = x->meta_len > 0 && meta_decode(x->meta, x->meta_len, &meta, NULL) == 0 &&
                 meta.role == META_ROLE_AGENT && meta.relay_port != 0 && meta.has_pubkey;
    if (!agent || x->state == MEMBER_LEFT) {
        if (r)
            detach(es, r, agent ? "the member left" : "the member is no longer an agent");
        if (r && agent)
            log_info("engines", "engine %s removed: member %s left", r->e.name, x->name);
        return;
    }
    if (strlen(x->name) > ENGINES_NAME_MAX)
        return; /* gossip names are at most 64 bytes; nothing longer can be one */
    char name[ENGINES_NAME_MAX + 1], id[ENGINES_NAME_MAX + 1], ip[48], addr[64];
    if (meta.engine_name.len == 0 || proto_str_copy(meta.engine_name, name, sizeof(name)) < 0)
        snprintf(name, sizeof(name), "%s", x->name);
    if (proto_str_copy(meta.engine_id, id, sizeof(id)) < 0)
        id[0] = '\0';
    format_ip(&x->addr, ip);
    snprintf(addr, sizeof(addr), x->addr.len == 16 ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)meta.relay_port);

    bool added = r == NULL;
    if (r == NULL) {
        if (es->n == es->cap) {
            size_t cap = es->cap ? es->cap * 2 : 8;
            struct rec **recs = realloc(es->recs, cap * sizeof(*recs));
            if (recs == NULL)
                return;
            es->recs = recs;
            es->cap = cap;
        }
        r = calloc(1, sizeof(*r));
        if (r == NULL || engine_init(&r->e, name) < 0) {
            free(r);
            log_error("engines", "out of memory for engine %s", name);
            return;
        }
        r->es = es;
        r->backoff_ms = es->timing.retry_min_ms;
        snprintf(r->e.member, sizeof(r->e.member), "%s", x->name);
        r->e.index = &es->cx;
        if (!es->cx.broken && cindex_add(&es->cx.members, r->e.member, &r->e, NULL) < 0)
            es->cx.broken = true;
        uv_timer_init(es->loop, &r->retry);
        r->retry.data = r;
        es->recs[es->n++] = r;
        es->alive++;
        r->e.updated_at = wall_now();
    }
    struct engine *e = &r->e;
    engine_touch(e); /* name, id, labels, health: whatever changes below */
    bool moved = strcmp(e->addr, addr) != 0 || r->relay_port != meta.relay_port ||
                 memcmp(r->pubkey, meta.pubkey, sizeof(r->pubkey)) != 0;
    bool renamed = strcmp(e->name, name) != 0;
    snprintf(e->name, sizeof(e->name), "%s", name);
    if (strcmp(e->id, id) != 0 && !es->cx.broken) {
        cindex_remove(&es->cx.eids, e->id, e, NULL);
        if (cindex_add(&es->cx.eids, id, e, NULL) < 0)
            es->cx.broken = true;
    }
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    memcpy(r->pubkey, meta.pubkey, sizeof(r->pubkey));
    r->relay_port = meta.relay_port;
    r->relay_hs = meta.relay_hs;
    /* The agent's --labels, for the scheduler's constraints. */
    json_array_clear(e->agent_labels);
    for (size_t i = 0; i < meta.nlabels; i++) {
        char kv[META_LABEL_KEY_MAX + META_LABEL_VALUE_MAX + 2];
        snprintf(kv, sizeof(kv), "%.*s=%.*s", (int)meta.labels[i].key.len,
                 (const char *)meta.labels[i].key.ptr, (int)meta.labels[i].value.len,
                 (const char *)meta.labels[i].value.ptr);
        json_array_append_new(e->agent_labels, json_string(kv));
    }
    if (added || renamed)
        place_rec(es, r);

    bool alive = x->state == MEMBER_ALIVE;
    if (alive != e->healthy || moved)
        icache_clock_bump(e->clock);
    if (alive != e->healthy)
        e->updated_at = wall_now();
    e->healthy = alive;
    if (!alive && x->state == MEMBER_SUSPECT && r->rconn && !moved) {
        /* A suspicion is not a failure: the member may refute it, and on a loaded network
         * often does. The connection (which ends by itself if the host is gone: the relay's
         * own PINGs) and the state it keeps current stay; the engine is unhealthy meanwhile.
         * Closing it here cost a handshake and a full snapshot per refuted suspicion, on both
         * sides, just when the hosts were slow. */
        report(r);
        return;
    }
    if (!alive) {
        char why[64];
        snprintf(why, sizeof(why), "member %s", member_state_name(x->state));
        drop_conn(r, why);
        uv_timer_stop(&r->retry);
        r->backoff_ms = es->timing.retry_min_ms;
        report(r);
        return;
    }
    if (moved && r->rconn) {
        drop_conn(r, "the member's relay address or key changed");
        report(r);
    }
    if (moved) {
        /* A new address deserves a prompt try, whatever the old one's backoff. */
        uv_timer_stop(&r->retry);
        r->backoff_ms = es->timing.retry_min_ms;
        r->failing = false;
    }
    report(r); /* up at once after a refuted suspicion, on the connection it kept */
    if (r->rconn == NULL && !uv_is_active((uv_handle_t *)&r->retry))
        connect_rec(r);
}

void engines_remove_member(struct engines *es, const char *member)
{
    struct rec *r = find_member(es, member);
    if (r == NULL)
        return;
    log_info("engines", "engine %s removed: member %s forgotten", r->e.name, member);
    detach(es, r, "the member was forgotten");
}

size_t engines_count(const struct engines *es)
{
    return es->n;
}

struct engine *engines_at(struct engines *es, size_t i)
{
    return i < es->n ? &es->recs[i]->e : NULL;
}

struct engine *engines_find(struct engines *es, const char *ref)
{
    if (ref == NULL || ref[0] == '\0')
        return NULL;
    /* By name: es->recs is in natural name order, where names that differ only in leading
     * zeros ("n01", "n1") compare equal; the first of that run named ref exactly. */
    size_t lo = 0, hi = es->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (api_natural_cmp(es->recs[mid]->e.name, ref) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < es->n && api_natural_cmp(es->recs[i]->e.name, ref) == 0; i++)
        if (strcmp(es->recs[i]->e.name, ref) == 0)
            return &es->recs[i]->e;
    struct rec *r = find_member(es, ref);
    if (r)
        return &r->e;
    if (!cx_ready(es)) {
        for (size_t i = 0; i < es->n; i++)
            if (es->recs[i]->e.id[0] && strcmp(es->recs[i]->e.id, ref) == 0)
                return &es->recs[i]->e;
        return NULL;
    }
    /* By engine id: the first in name order among those with it. */
    struct rec *first = NULL;
    for (size_t i = cindex_lower(&es->cx.eids, ref); cindex_match(&es->cx.eids, i, ref, 0); i++) {
        struct rec *x = (struct rec *)es->cx.eids.v[i]->e;
        if (first == NULL || cmp_rec(&x, &first) < 0)
            first = x;
    }
    return first ? &first->e : NULL;
}

uint64_t engines_generation(const struct engines *es)
{
    (void)es;
    return last_gen;
}

/* Counts one more match, keeping the first. */
static void match(size_t *n, struct engine **fe, json_t **fc, struct engine *e, json_t *c)
{
    if ((*n)++ == 0) {
        *fe = e;
        *fc = c;
    }
}

enum engines_lookup engines_find_container_scan(struct engines *es, const char *ref,
                                                struct engine **e, json_t **container)
{
    struct engine *fe = NULL;
    json_t *fc = NULL;
    size_t n = 0;
    if (e)
        *e = NULL;
    if (container)
        *container = NULL;
    if (ref == NULL || ref[0] == '\0')
        return ENGINES_NOT_FOUND;
    /* 1. the full id */
    for (size_t i = 0; i < es->n; i++) {
        json_t *c = json_object_get(es->recs[i]->e.by_id, ref);
        if (c)
            match(&n, &fe, &fc, &es->recs[i]->e, c);
    }
    /* 2. a name, "web" or "/web", on every engine; on several, the one copy on a healthy
     * engine wins (a container rescheduled off a failed host is named there too) */
    const char *name = ref[0] == '/' ? ref + 1 : ref;
    if (n == 0 && name[0]) {
        size_t nh = 0;
        struct engine *he = NULL;
        json_t *hc = NULL;
        for (size_t i = 0; i < es->n; i++) {
            json_t *c = json_object_get(es->recs[i]->e.by_name, name);
            if (c) {
                match(&n, &fe, &fc, &es->recs[i]->e, c);
                if (es->recs[i]->e.healthy)
                    match(&nh, &he, &hc, &es->recs[i]->e, c);
            }
        }
        if (n > 1 && nh == 1) {
            n = 1;
            fe = he;
            fc = hc;
        }
    }
    /* 3. "node/name", node an engine's name or id */
    const char *slash = strchr(name, '/');
    if (n == 0 && slash && slash > name && slash[1] && (size_t)(slash - name) <= ENGINES_NAME_MAX) {
        char node[ENGINES_NAME_MAX + 1];
        memcpy(node, name, (size_t)(slash - name));
        node[slash - name] = '\0';
        for (size_t i = 0; i < es->n; i++) {
            struct engine *x = &es->recs[i]->e;
            if (strcmp(x->name, node) != 0 && (x->id[0] == '\0' || strcmp(x->id, node) != 0))
                continue;
            json_t *c = json_object_get(x->by_name, slash + 1);
            if (c)
                match(&n, &fe, &fc, x, c);
        }
    }
    /* 4. a unique id prefix: the only step that scans containers */
    if (n == 0) {
        size_t plen = strlen(ref);
        for (size_t i = 0; i < es->n && n < 2; i++) {
            struct engine *x = &es->recs[i]->e;
            const char *id;
            json_t *c;
            json_object_foreach(x->by_id, id, c)
            {
                if (strncmp(id, ref, plen) == 0)
                    match(&n, &fe, &fc, x, c);
            }
        }
    }
    if (n == 0)
        return ENGINES_NOT_FOUND;
    if (n > 1)
        return ENGINES_AMBIGUOUS;
    if (e)
        *e = fe;
    if (container)
        *container = fc;
    return ENGINES_FOUND;
}

/* Whether the cluster-wide name entry at i counts as a match of key: an engine counts once,
 * with the entry its own by_name holds, whatever a confused agent sent (two entries of one
 * name, or one entry listing a name twice: its index entries are then next to each other). */
static bool name_entry_counts(const struct cindex *names, size_t i, const char *key)
{
    const struct cindex_entry *en = names->v[i];
    if (i > 0 && names->v[i - 1]->e == en->e && names->v[i - 1]->c == en->c &&
        strcmp(names->v[i - 1]->key, key) == 0)
        return false;
    return json_object_get(en->e->by_name, key) == en->c;
}

/* engines_find_container's steps on the cluster-wide indexes: as the scan, same answers. */
static enum engines_lookup find_indexed(struct engines *es, const char *ref, struct engine **fe,
                                        json_t **fc)
{
    struct engines_index *x = &es->cx;
    size_t n = 0;
    /* 1. the full id */
    for (size_t i = cindex_lower(&x->ids, ref); cindex_match(&x->ids, i, ref, 0); i++)
        match(&n, fe, fc, x->ids.v[i]->e, x->ids.v[i]->c);
    /* 2. a name on every engine; on several, the one copy on a healthy engine wins */
    const char *name = ref[0] == '/' ? ref + 1 : ref;
    if (n == 0 && name[0]) {
        size_t nh = 0;
        struct engine *he = NULL;
        json_t *hc = NULL;
        for (size_t i = cindex_lower(&x->names, name); cindex_match(&x->names, i, name, 0); i++) {
            const struct cindex_entry *en = x->names.v[i];
            if (!name_entry_counts(&x->names, i, name))
                continue;
            match(&n, fe, fc, en->e, en->c);
            if (en->e->healthy)
                match(&nh, &he, &hc, en->e, en->c);
        }
        if (n > 1 && nh == 1) {
            n = 1;
            *fe = he;
            *fc = hc;
        }
    }
    /* 3. "node/name", node an engine's name or id */
    const char *slash = strchr(name, '/');
    if (n == 0 && slash && slash > name && slash[1] && (size_t)(slash - name) <= ENGINES_NAME_MAX) {
        char node[ENGINES_NAME_MAX + 1];
        memcpy(node, name, (size_t)(slash - name));
        node[slash - name] = '\0';
        const char *cname = slash + 1;
        for (size_t i = cindex_lower(&x->names, cname); cindex_match(&x->names, i, cname, 0); i++) {
            const struct cindex_entry *en = x->names.v[i];
            if (strcmp(en->e->name, node) != 0 &&
                (en->e->id[0] == '\0' || strcmp(en->e->id, node) != 0))
                continue;
            if (name_entry_counts(&x->names, i, cname))
                match(&n, fe, fc, en->e, en->c);
        }
    }
    /* 4. a unique id prefix: the ids that start with ref follow each other in the index */
    if (n == 0) {
        size_t plen = strlen(ref);
        for (size_t i = cindex_lower(&x->ids, ref); n < 2 && cindex_match(&x->ids, i, ref, plen);
             i++)
            match(&n, fe, fc, x->ids.v[i]->e, x->ids.v[i]->c);
    }
    return n == 0 ? ENGINES_NOT_FOUND : n > 1 ? ENGINES_AMBIGUOUS : ENGINES_FOUND;
}

enum engines_lookup engines_find_container(struct engines *es, const char *ref, struct engine **e,
                                           json_t **container)
{
    if (!cx_ready(es))
        return engines_find_container_scan(es, ref, e, container);
    struct engine *fe = NULL;
    json_t *fc = NULL;
    if (e)
        *e = NULL;
    if (container)
        *container = NULL;
    if (ref == NULL || ref[0] == '\0')
        return ENGINES_NOT_FOUND;
    enum engines_lookup lk = find_indexed(es, ref, &fe, &fc);
    if (lk == ENGINES_FOUND) {
        if (e)
            *e = fe;
        if (container)
            *container = fc;
    }
    return lk;
}

bool engines_name_taken(struct engines *es, const char *name)
{
    const char *key = name_key(name);
    if (key == NULL)
        return false;
    if (cx_ready(es))
        return cindex_match(&es->cx.names, cindex_lower(&es->cx.names, key), key, 0);
    for (size_t i = 0; i < es->n; i++)
        if (json_object_get(es->recs[i]->e.by_name, key))
            return true;
    return false;
}

void engines_note_container(struct engines *es, struct engine *e, const char *id, const char *name)
{
    (void)es;
    if (id == NULL || id[0] == '\0' || json_object_get(e->by_id, id))
        return;
    engine_touch(e);
    const char *key = name_key(name);
    char slashed[512];
    if (key)
        snprintf(slashed, sizeof(slashed), "/%s", key);
    json_t *c =
        json_pack("{s:s, s:[], s:s, s:{}}", "Id", id, "Names", "State", "created", "Labels");
    if (c == NULL ||
        (key && json_array_append_new(json_object_get(c, "Names"), json_string(slashed)) < 0) ||
        put_container(e, c) < 0) {
        if (c)
            unput(e, c);
        log_warn("engines", "engine %s: cannot note container %.64s (out of memory?)", e->name, id);
    }
    json_decref(c);
}

void engines_note_exec(struct engines *es, struct engine *e, const char *exec_id)
{
    if (exec_id == NULL || exec_id[0] == '\0')
        return;
    size_t ilen = strlen(exec_id), mlen = strlen(e->member);
    for (size_t i = 0; i < ENGINES_EXEC_MAX; i++) {
        struct exec_note *x = &es->execs[i];
        if (x->id && strcmp(x->id, exec_id) == 0) {
            if (strcmp(x->member, e->member) == 0)
                return;
            free(x->id);
            x->id = x->member = NULL;
        }
    }
    char *text = malloc(ilen + mlen + 2);
    if (text == NULL)
        return;
    memcpy(text, exec_id, ilen + 1);
    memcpy(text + ilen + 1, e->member, mlen + 1);
    struct exec_note *slot = &es->execs[es->exec_next];
    es->exec_next = (es->exec_next + 1) % ENGINES_EXEC_MAX;
    free(slot->id);
    slot->id = text;
    slot->member = text + ilen + 1;
}

struct engine *engines_find_exec(struct engines *es, const char *exec_id)
{
    if (exec_id == NULL || exec_id[0] == '\0')
        return NULL;
    size_t plen = strlen(exec_id), n = 0;
    const struct exec_note *found = NULL;
    for (size_t i = 0; i < ENGINES_EXEC_MAX; i++) {
        const struct exec_note *x = &es->execs[i];
        if (x->id == NULL || strncmp(x->id, exec_id, plen) != 0)
            continue;
        if (x->id[plen] == '\0') {
            found = x;
            n = 1;
            break;
        }
        if (n++ == 0)
            found = x;
    }
    if (n != 1)
        return NULL;
    struct rec *r = find_member(es, found->member);
    return r ? &r->e : NULL;
}
