/*
 * test_sched_cache — manager/sched_cache: the view kept across decisions equals a fresh build
 * after any sequence of changes, and so does every decision made on it. Random sequences
 * (seeded, so a failure replays) of what the manager sees happen to its engines: STATE
 * snapshots and deltas (containers created, started with ports, removed; images and /info
 * replaced), a create's answer noted, health and connection changes, agent labels, renames,
 * engines joining and leaving one or many at a time (records freed and allocated again, so an
 * address comes back as another engine), and creates in flight counted through the hook. After
 * each step the cached view is compared field by field with sched_cache_build's, and a set of
 * requests (spread, binpack, random; constraints, affinities, ports, reservations, soft
 * expressions) is decided on both. Plus the cache's own bookkeeping: what a sync re-reads.
 */
#include "manager/engines.h"
#include "manager/sched_cache.h"
#include "manager/scheduler.h"
#include "proto/relay_frame.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENGINES 48
#define MAX_INFLIGHT 16

static int dummy_conn;
#define CONN ((struct relay_conn *)&dummy_conn)

/* ---- the fake cluster: engines as engines.c keeps them, creates in flight as api_routes --- */

struct flight {
    char engine[ENGINES_NAME_MAX + 1];
    struct sched_request *req;
};

struct world {
    struct sched_rng rng;
    struct engine *es[MAX_ENGINES]; /* in name order, as engines_at gives them */
    size_t n;
    struct flight fl[MAX_INFLIGHT];
    size_t nfl;
    unsigned serial; /* names, ids */
};

static uint64_t rnd(struct world *w, uint64_t n)
{
    return n ? sched_rng_next(&w->rng) % n : 0;
}

static int decorate(void *arg, struct sched_view *v, size_t i, const struct engine *e)
{
    struct world *w = arg;
    if (!(e->healthy && e->ready && e->conn != NULL))
        v->nodes[i].health = 0;
    for (size_t k = 0; k < w->nfl; k++)
        if (strcmp(w->fl[k].engine, e->name) == 0 &&
            sched_view_add_inflight(v, i, w->fl[k].req) < 0)
            return -1;
    return 0;
}

static void touch_named(struct world *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->es[i]->name, name) == 0)
            engine_touch(w->es[i]);
}

static void sort_engines(struct world *w)
{
    for (size_t i = 1; i < w->n; i++)
        for (size_t j = i; j > 0 && strcmp(w->es[j - 1]->name, w->es[j]->name) > 0; j--) {
            struct engine *t = w->es[j];
            w->es[j] = w->es[j - 1];
            w->es[j - 1] = t;
        }
}

static const char *const images[] = {
    "busybox:local", "redis:7", "nginx", "nginx:1.25", "registry:5000/app:v2", "alpine@sha256:abc"};
static const char *const zones[] = {"z1", "z2", "z3"};

/* A /containers/json entry, as the agent sends it. */
static json_t *random_container(struct world *w)
{
    unsigned s = ++w->serial;
    char id[80], name[40], sid[40];
    snprintf(id, sizeof(id), "%064x", s);
    snprintf(name, sizeof(name), "/c%u", s % 40); /* names repeat across engines */
    snprintf(sid, sizeof(sid), "sw%u", (unsigned)rnd(w, 30));
    json_t *labels = json_pack("{s:s}", "tier", rnd(w, 2) ? "front" : "back");
    if (rnd(w, 2))
        json_object_set_new(labels, "com.docker.swarm.id", json_string(sid));
    json_t *hc =
        json_pack("{s:I, s:I, s:I}", "Memory", (json_int_t)(rnd(w, 4) << 28), "CpuShares",
                  (json_int_t)(rnd(w, 3) * 512), "NanoCpus", (json_int_t)(rnd(w, 3) * 500000000));
    bool host = rnd(w, 6) == 0;
    if (host)
        json_object_set_new(hc, "NetworkMode", json_string("host"));
    json_t *ports = json_array();
    if (rnd(w, 3) == 0) {
        char port[16];
        snprintf(port, sizeof(port), "%u", 8000 + (unsigned)rnd(w, 6));
        json_object_set_new(hc, "PortBindings",
                            json_pack("{s:[{s:s, s:s}]}", rnd(w, 2) ? "80/tcp" : "53/udp", "HostIp",
                                      rnd(w, 4) ? "" : "10.0.0.1", "HostPort", port));
        json_array_append_new(ports, json_pack("{s:i, s:i, s:s}", "PrivatePort", 80, "PublicPort",
                                               32768 + (int)rnd(w, 4), "Type", "tcp"));
    }
    json_t *c = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:o, s:o, s:o}", "Id", id, "Names", name,
                          "Image", images[rnd(w, 6)], "ImageID", rnd(w, 2) ? "sha256:i1" : "",
                          "State", rnd(w, 2) ? "running" : "created", "Labels", labels,
                          "HostConfig", hc, "Ports", ports);
    if (host)
        json_object_set_new(c, "ExposedPorts", json_pack("{s:{}}", "9090/udp"));
    return c;
}

static json_t *random_images(struct world *w)
{
    json_t *a = json_array();
    for (uint64_t k = rnd(w, 4); k > 0; k--)
        json_array_append_new(a, json_pack("{s:s, s:[s]}", "Id", rnd(w, 2) ? "sha256:i1" : "i2",
                                           "RepoTags", images[rnd(w, 6)]));
    return a;
}

static json_t *random_info(struct world *w)
{
    char label[32];
    snprintf(label, sizeof(label), "zone=%s", zones[rnd(w, 3)]);
    json_t *info = json_pack("{s:I, s:I, s:s, s:s, s:[s]}", "NCPU", (json_int_t)rnd(w, 5),
                             "MemTotal", (json_int_t)((1 + rnd(w, 8)) << 30), "Driver",
                             rnd(w, 2) ? "overlay2" : "vfs", "OSType", "linux", "Labels", label);
    if (rnd(w, 4) == 0)
        json_array_append_new(json_object_get(info, "Labels"), json_string("containerslots=3"));
    return info;
}

static void apply(struct engine *e, int kind, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    char err[256];
    CHECK(text != NULL);
    if (text) {
        int rc = engines_apply_state(e, kind, text, strlen(text), NULL, err, sizeof(err));
        if (rc != 0)
            printf("# apply: %s\n", err);
        CHECK_INT(rc, 0);
    }
    free(text);
    json_decref(msg);
}

static void snapshot(struct world *w, struct engine *e)
{
    json_t *cs = json_array();
    for (uint64_t k = rnd(w, 8); k > 0; k--)
        json_array_append_new(cs, random_container(w));
    apply(e, FRAME_STATE_SNAPSHOT,
          json_pack("{s:o, s:o, s:o, s:{}}", "containers", cs, "images", random_images(w), "info",
                    random_info(w), "version"));
}

static struct engine *new_engine(struct world *w)
{
    struct engine *e = malloc(sizeof(*e));
    char name[32];
    snprintf(name, sizeof(name), "h%u", (unsigned)rnd(w, 100));
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->es[i]->name, name) == 0)
            snprintf(name, sizeof(name), "x%u", ++w->serial);
    CHECK(e != NULL && engine_init(e, name) == 0);
    snprintf(e->id, sizeof(e->id), "ID-%s", name);
    e->healthy = rnd(w, 8) != 0;
    e->ready = true;
    e->conn = CONN;
    snapshot(w, e);
    return e;
}

static void add_engine(struct world *w)
{
    if (w->n == MAX_ENGINES)
        return;
    struct engine *e = new_engine(w);
    w->es[w->n++] = e;
    sort_engines(w);
}

static void drop_engine(struct world *w, size_t i)
{
    engine_clear(w->es[i]);
    free(w->es[i]);
    memmove(&w->es[i], &w->es[i + 1], (w->n - i - 1) * sizeof(w->es[0]));
    w->n--;
}

static void add_flight(struct world *w)
{
    if (w->n == 0 || w->nfl == MAX_INFLIGHT)
        return;
    struct engine *e = w->es[rnd(w, w->n)];
    char text[512], sid[40], name[40];
    snprintf(sid, sizeof(sid), "sw%u", (unsigned)rnd(w, 30)); /* may be on the engine already */
    snprintf(name, sizeof(name), "f%u", ++w->serial);
    snprintf(text, sizeof(text),
             "{\"Image\":\"%s\",\"Labels\":{\"tier\":\"front\"},\"HostConfig\":{\"Memory\":%lld,"
             "\"CpuShares\":%d%s}}",
             images[rnd(w, 6)], (long long)(rnd(w, 3) << 28), (int)rnd(w, 3),
             rnd(w, 3) ? "" : ",\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8001\"}]}");
    json_t *body = json_loads(text, 0, NULL);
    struct flight *f = &w->fl[w->nfl];
    int status;
    char err[256];
    CHECK_INT(sched_request_from_body(body, rnd(w, 2) ? name : "", sid, &f->req, &status, err,
                                      sizeof(err)),
              0);
    json_decref(body);
    snprintf(f->engine, sizeof(f->engine), "%s", e->name);
    w->nfl++;
    touch_named(w, f->engine);
}

static void end_flight(struct world *w, size_t k)
{
    char name[ENGINES_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", w->fl[k].engine);
    sched_request_free(w->fl[k].req);
    /* the others keep their order, as in api_routes' list */
    memmove(&w->fl[k], &w->fl[k + 1], (w->nfl - k - 1) * sizeof(w->fl[0]));
    w->nfl--;
    touch_named(w, name);
}

/* One random change, made the way engines.c and api_routes make it. */
static void step(struct world *w)
{
    uint64_t op = rnd(w, 100);
    struct engine *e = w->n ? w->es[rnd(w, w->n)] : NULL;
    if (e == NULL || op < 4) {
        add_engine(w);
    } else if (op < 8) {
        drop_engine(w, (size_t)rnd(w, w->n));
    } else if (op < 10) {
        /* many join or leave at once: past SCHED_CACHE_MAX_EDITS, a fresh build */
        if (rnd(w, 2))
            for (int k = 0; k < 20; k++)
                add_engine(w);
        else
            while (w->n > 4)
                drop_engine(w, (size_t)rnd(w, w->n));
    } else if (op < 16) {
        snapshot(w, e);
    } else if (op < 36) {
        apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "container", random_container(w)));
    } else if (op < 46) {
        size_t nc = json_array_size(e->containers);
        if (nc) {
            json_t *c = json_array_get(e->containers, (size_t)rnd(w, nc));
            json_t *copy = json_deep_copy(c);
            /* the same container again: stopped, or started with its ports published */
            json_object_set_new(copy, "State", json_string(rnd(w, 2) ? "exited" : "running"));
            json_object_set_new(copy, "Ports",
                                json_pack("[{s:i, s:i, s:s}]", "PrivatePort", 80, "PublicPort",
                                          32768 + (int)rnd(w, 4), "Type", "tcp"));
            apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "container", copy));
        }
    } else if (op < 54) {
        size_t nc = json_array_size(e->containers);
        const char *id = nc ? json_string_value(json_object_get(
                                  json_array_get(e->containers, (size_t)rnd(w, nc)), "Id"))
                            : "nosuch";
        apply(e, FRAME_STATE_DELTA, json_pack("{s:s}", "removed", id));
    } else if (op < 58) {
        apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "images", random_images(w)));
    } else if (op < 61) {
        apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "info", random_info(w)));
    } else if (op < 64) {
        char id[80], name[40];
        snprintf(id, sizeof(id), "%064x", ++w->serial);
        snprintf(name, sizeof(name), "noted%u", w->serial);
        engines_note_container(NULL, e, id, name);
    } else if (op < 70) {
        /* health and connection, as engines.c changes them (with a new gen) */
        switch (rnd(w, 3)) {
        case 0:
            e->healthy = !e->healthy;
            break;
        case 1:
            e->ready = !e->ready;
            break;
        default:
            e->conn = e->conn ? NULL : CONN;
            break;
        }
        engine_touch(e);
    } else if (op < 72) {
        /* the same without a new gen: sched_cache compares these too */
        e->healthy = !e->healthy;
    } else if (op < 75) {
        json_array_clear(e->agent_labels);
        if (rnd(w, 2))
            json_array_append_new(e->agent_labels, json_string(rnd(w, 2) ? "rack=r1" : "zone=z9"));
        engine_touch(e);
    } else if (op < 77) {
        /* a rename moves the engine in the order, and its creates in flight with the name */
        snprintf(e->name, sizeof(e->name), "r%u", ++w->serial % 100);
        engine_touch(e);
        sort_engines(w);
    } else if (op < 90) {
        add_flight(w);
    } else if (w->nfl) {
        end_flight(w, (size_t)rnd(w, w->nfl));
    }
}

/* ---- comparing views and decisions ----------------------------------------------------- */

static int mismatches;

#define SAME(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond) && mismatches++ < 5)                                                           \
            printf("# node %zu: %s differs\n", i, #cond);                                          \
    } while (0)

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool kvs_eq(const struct sched_kv *a, size_t na, const struct sched_kv *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t k = 0; k < na; k++)
        if (!str_eq(a[k].key, b[k].key) || !str_eq(a[k].value, b[k].value))
            return false;
    return true;
}

static bool strs_eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t k = 0; k < na; k++)
        if (!str_eq(a[k], b[k]))
            return false;
    return true;
}

static bool container_eq(const struct sched_container *a, const struct sched_container *b)
{
    if (!str_eq(a->id, b->id) || !strs_eq(a->names, a->nnames, b->names, b->nnames) ||
        !str_eq(a->swarm_id, b->swarm_id) || !str_eq(a->image, b->image) ||
        !str_eq(a->image_id, b->image_id) ||
        !kvs_eq(a->labels, a->nlabels, b->labels, b->nlabels) || a->memory != b->memory ||
        a->mcpus != b->mcpus || a->host_network != b->host_network || a->nports != b->nports ||
        !strs_eq(a->exposed, a->nexposed, b->exposed, b->nexposed) || a->inflight != b->inflight)
        return false;
    for (size_t k = 0; k < a->nports; k++)
        if (!str_eq(a->ports[k].host_ip, b->ports[k].host_ip) ||
            !str_eq(a->ports[k].host_port, b->ports[k].host_port) ||
            !str_eq(a->ports[k].proto, b->ports[k].proto))
            return false;
    return true;
}

/* True when a and b hold the same nodes (strings by value: each view has its own table). */
static bool views_eq(const struct sched_view *a, const struct sched_view *b)
{
    int before = mismatches;
    if (a->nnodes != b->nnodes) {
        printf("# %zu nodes, want %zu\n", a->nnodes, b->nnodes);
        return false;
    }
    for (size_t i = 0; i < a->nnodes; i++) {
        const struct sched_node *x = &a->nodes[i], *y = &b->nodes[i];
        SAME(str_eq(x->name, y->name));
        SAME(str_eq(x->id, y->id));
        SAME(x->health == y->health);
        SAME(kvs_eq(x->labels, x->nlabels, y->labels, y->nlabels));
        SAME(x->cpus == y->cpus && x->memory == y->memory);
        SAME(x->user == y->user);
        SAME(x->ncontainers == y->ncontainers);
        for (size_t k = 0; k < x->ncontainers && k < y->ncontainers; k++) {
            SAME(container_eq(&x->containers[k], &y->containers[k]));
            if (!container_eq(&x->containers[k], &y->containers[k]) && mismatches < 6)
                printf("#   container %zu: id %.12s/%.12s names %zu/%zu labels %zu/%zu mem "
                       "%lld/%lld ports %zu/%zu inflight %d/%d image %s/%s\n",
                       k, x->containers[k].id, y->containers[k].id, x->containers[k].nnames,
                       y->containers[k].nnames, x->containers[k].nlabels, y->containers[k].nlabels,
                       (long long)x->containers[k].memory, (long long)y->containers[k].memory,
                       x->containers[k].nports, y->containers[k].nports, x->containers[k].inflight,
                       y->containers[k].inflight, x->containers[k].image, y->containers[k].image);
        }
        SAME(x->used_memory == y->used_memory && x->used_mcpus == y->used_mcpus);
        SAME(strs_eq(x->image_refs, x->nimage_refs, y->image_refs, y->nimage_refs));
        SAME(x->nbound == y->nbound);
        for (size_t k = 0; k < x->nbound && k < y->nbound; k++) {
            const struct sched_bound *p = &x->bound[k], *q = &y->bound[k];
            SAME(str_eq(p->ip, q->ip) && p->lo == q->lo && p->hi == q->hi && p->proto == q->proto &&
                 p->any_ip == q->any_ip && p->host_mode == q->host_mode);
        }
        SAME(x->has_slots == y->has_slots && x->slots == y->slots);
        SAME(memcmp(x->port_mask, y->port_mask, sizeof(x->port_mask)) == 0);
    }
    return mismatches == before;
}

static char outcome[2][4096];

static const char *decide(int which, const struct sched_config *c, const struct sched_view *v,
                          const struct sched_request *r, size_t want)
{
    struct sched_result res;
    char *out = outcome[which];
    out[0] = '\0';
    if (sched_select(c, v, r, want, &res) != 0) {
        snprintf(out, sizeof(outcome[0]), "error %d: %s", res.status,
                 res.error ? res.error : "(null)");
    } else {
        size_t len = 0;
        for (size_t i = 0; i < res.nranked && len < sizeof(outcome[0]) - 80; i++)
            len += (size_t)snprintf(out + len, sizeof(outcome[0]) - len, "%s%s", i ? "," : "",
                                    v->nodes[res.ranked[i]].name);
    }
    sched_result_clear(&res);
    return out;
}

/* The requests decided on both views. */
static const char *const bodies[] = {
    "{\"Image\":\"busybox:local\"}",
    "{\"Image\":\"busybox:local\",\"HostConfig\":{\"Memory\":1073741824,\"CpuShares\":1}}",
    "{\"Image\":\"redis:7\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":"
    "\"8001\"}]}}}",
    "{\"Image\":\"nginx\",\"Env\":[\"constraint:zone==z1\"]}",
    "{\"Image\":\"nginx\",\"Env\":[\"constraint:zone==~z2\",\"affinity:image==redis\"]}",
    "{\"Image\":\"nginx\",\"Env\":[\"affinity:container==c7\",\"constraint:rack!=r1\"]}",
    "{\"Image\":\"nginx\",\"Env\":[\"affinity:tier==~back\",\"constraint:node==/h[0-4].*/\"]}",
    "{\"Image\":\"nginx\",\"HostConfig\":{\"NetworkMode\":\"host\"},\"ExposedPorts\":"
    "{\"9090/udp\":{}}}",
    "{\"Image\":\"nginx\",\"HostConfig\":{\"VolumesFrom\":[\"c3\"],\"Memory\":4294967296}}",
    "{\"Image\":\"nginx\",\"Env\":[\"constraint:storagedriver==vfs\",\"whitelist:node==h1*\"]}",
};
#define NBODIES (sizeof(bodies) / sizeof(bodies[0]))

static struct sched_request *requests[NBODIES];

static void make_requests(void)
{
    for (size_t k = 0; k < NBODIES; k++) {
        json_t *b = json_loads(bodies[k], 0, NULL);
        int status;
        char err[256];
        CHECK(b != NULL);
        CHECK_INT(sched_request_from_body(b, "", NULL, &requests[k], &status, err, sizeof(err)), 0);
        json_decref(b);
    }
}

static void free_requests(void)
{
    for (size_t k = 0; k < NBODIES; k++)
        sched_request_free(requests[k]);
}

/* Every request under every strategy, ranked in full and best only: the same on both. */
static bool decisions_eq(const struct sched_view *a, const struct sched_view *b)
{
    static const char *const strategies[] = {"spread", "binpack", "random"};
    for (size_t s = 0; s < 3; s++) {
        struct sched_config c;
        char err[128];
        CHECK_INT(sched_config_init(&c, strategies[s], NULL, 0.05, err, sizeof(err)), 0);
        for (size_t k = 0; k < NBODIES; k++)
            for (size_t want = 0; want < 2; want++) {
                struct sched_rng ra, rb;
                sched_rng_seed(&ra, k * 7 + want);
                rb = ra;
                c.random = sched_rng_next;
                c.random_arg = &ra;
                decide(0, &c, a, requests[k], want);
                c.random_arg = &rb;
                decide(1, &c, b, requests[k], want);
                if (strcmp(outcome[0], outcome[1]) != 0) {
                    printf("# %s, request %zu, want %zu:\n#   cached: %.200s\n#   fresh:  %.200s\n",
                           strategies[s], k, want, outcome[0], outcome[1]);
                    return false;
                }
            }
    }
    return true;
}

static void world_free(struct world *w)
{
    while (w->n)
        drop_engine(w, w->n - 1);
    while (w->nfl)
        end_flight(w, w->nfl - 1);
}

/* ---- the tests ------------------------------------------------------------------------- */

static void run_seed(uint64_t seed, int steps)
{
    struct world w;
    memset(&w, 0, sizeof(w));
    sched_rng_seed(&w.rng, seed);
    for (int k = 0; k < 6; k++)
        add_engine(&w);
    struct sched_cache_hooks hooks = {.decorate = decorate, .arg = &w};
    struct sched_cache *c = sched_cache_new(&hooks);
    CHECK(c != NULL);
    int bad_views = 0, bad_decisions = 0;
    for (int s = 0; s < steps && bad_views + bad_decisions == 0; s++) {
        /* most syncs follow one change (a create after a delta), some a few */
        for (uint64_t k = 1 + (rnd(&w, 4) == 0 ? rnd(&w, 5) : 0); k > 0; k--)
            step(&w);
        struct sched_view *got = sched_cache_sync(c, w.es, w.n);
        struct sched_view *want = sched_cache_build(w.es, w.n, &hooks);
        CHECK(got != NULL && want != NULL);
        if (got == NULL || want == NULL)
            break;
        if (!views_eq(got, want)) {
            printf("# seed %llu, step %d: the views differ\n", (unsigned long long)seed, s);
            bad_views++;
        } else if (s % 3 == 0 && !decisions_eq(got, want)) {
            printf("# seed %llu, step %d: the decisions differ\n", (unsigned long long)seed, s);
            bad_decisions++;
        }
        sched_view_free(want);
    }
    CHECK_INT(bad_views, 0);
    CHECK_INT(bad_decisions, 0);
    struct sched_cache_stats st;
    sched_cache_get_stats(c, &st);
    /* the changes were met mostly in place */
    CHECK(st.refreshed > st.full_builds);
    CHECK(st.inserted > 0 && st.removed > 0);
    sched_cache_free(c);
    world_free(&w);
}

static void test_random_sequences(void)
{
    make_requests();
    for (uint64_t seed = 1; seed <= 8; seed++)
        run_seed(seed, 250);
    free_requests();
}

/* What a sync re-reads: nothing when nothing changed, the one engine that did, one node for a
 * join or a leave, everything when many come at once. */
static void test_incremental(void)
{
    struct world w;
    memset(&w, 0, sizeof(w));
    sched_rng_seed(&w.rng, 42);
    for (int k = 0; k < 10; k++)
        add_engine(&w);
    struct sched_cache_hooks hooks = {.decorate = decorate, .arg = &w};
    struct sched_cache *c = sched_cache_new(&hooks);
    struct sched_cache_stats st;
    struct sched_view *v = sched_cache_sync(c, w.es, w.n);
    CHECK(v != NULL);
    CHECK_INT(v->nnodes, 10);
    sched_cache_get_stats(c, &st);
    CHECK_INT(st.full_builds, 1);

    CHECK(sched_cache_sync(c, w.es, w.n) == v);
    sched_cache_get_stats(c, &st);
    CHECK_INT(st.full_builds + st.refreshed + st.inserted + st.removed, 1);

    apply(w.es[3], FRAME_STATE_DELTA, json_pack("{s:o}", "container", random_container(&w)));
    add_flight(&w);
    sched_cache_sync(c, w.es, w.n);
    sched_cache_get_stats(c, &st);
    CHECK(st.refreshed >= 1 && st.refreshed <= 2);
    CHECK_INT(st.full_builds, 1);

    add_engine(&w);
    drop_engine(&w, 0);
    v = sched_cache_sync(c, w.es, w.n);
    sched_cache_get_stats(c, &st);
    CHECK_INT(st.inserted, 1);
    CHECK_INT(st.removed, 1);
    CHECK_INT(st.full_builds, 1);
    CHECK_INT(v->nnodes, 10);

    for (int k = 0; k < SCHED_CACHE_MAX_EDITS + 1; k++)
        add_engine(&w);
    sched_cache_sync(c, w.es, w.n);
    sched_cache_get_stats(c, &st);
    CHECK_INT(st.full_builds, 2);

    /* the string table: new container ids only add to it; past twice its size, a fresh build */
    for (int k = 0; k < 4000; k++) {
        apply(w.es[0], FRAME_STATE_SNAPSHOT,
              json_pack("{s:[o], s:[], s:o}", "containers", random_container(&w), "images", "info",
                        random_info(&w)));
        sched_cache_sync(c, w.es, w.n);
    }
    sched_cache_get_stats(c, &st);
    CHECK(st.full_builds >= 3);
    struct sched_view *fresh = sched_cache_build(w.es, w.n, &hooks);
    v = sched_cache_sync(c, w.es, w.n);
    CHECK(views_eq(v, fresh));
    CHECK(sched_view_string_bytes(v) < 3 * sched_view_string_bytes(fresh) + 512 * 1024);
    sched_view_free(fresh);

    /* an empty cluster, and back */
    struct sched_view *empty = sched_cache_sync(c, w.es, 0);
    CHECK(empty != NULL && empty->nnodes == 0);
    v = sched_cache_sync(c, w.es, w.n);
    CHECK(v != NULL && v->nnodes == w.n);
    sched_cache_reset(c);
    CHECK(sched_cache_sync(c, w.es, w.n) != NULL);
    sched_cache_free(c);
    world_free(&w);
}

/* The view's own pieces: a node inserted in the middle, removed, re-read with less. */
static void test_view_edits(void)
{
    struct world w;
    memset(&w, 0, sizeof(w));
    sched_rng_seed(&w.rng, 7);
    for (int k = 0; k < 3; k++)
        add_engine(&w);
    struct sched_view *v = sched_view_new();
    CHECK_INT(sched_view_insert_engine(v, 0, w.es[2], NULL, 0), 0);
    CHECK_INT(sched_view_insert_engine(v, 0, w.es[0], NULL, 0), 0);
    CHECK_INT(sched_view_insert_engine(v, 1, w.es[1], NULL, 0), 1);
    CHECK_INT(sched_view_insert_engine(v, 9, w.es[1], NULL, 0), -1);
    CHECK_INT(v->nnodes, 3);
    struct sched_view *fresh = sched_cache_build(w.es, w.n, NULL);
    CHECK(views_eq(v, fresh));
    sched_view_free(fresh);
    sched_view_remove_node(v, 1);
    sched_view_remove_node(v, 7);
    CHECK_INT(v->nnodes, 2);
    CHECK(v->nodes[0].user == w.es[0] && v->nodes[1].user == w.es[2]);
    /* re-read many times: the node's memory stays what one reading takes */
    size_t bytes = sched_view_bytes(v);
    for (int k = 0; k < 200; k++)
        CHECK_INT(sched_view_update_engine(v, 0, w.es[0], NULL, 0), 0);
    CHECK(sched_view_bytes(v) <= bytes + 4096);
    sched_view_free(v);
    world_free(&w);
}

int main(void)
{
    RUN(test_view_edits);
    RUN(test_incremental);
    RUN(test_random_sequences);
    return check_done();
}
