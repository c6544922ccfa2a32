/*
 * test_info_view — GET /info's body from the kept per-node view (manager/info_view.h, the
 * manager's api_context.info_view) against the way it was built before (tests/unit/
 * info_reference.h: every member decoded, every engine counted, one dump), byte for byte, on
 * random clusters changed step by step with the same view kept: container deltas, engines new,
 * replaced or gone, members' states, addresses and metadata (names, labels that clash with the
 * kernel and os keys, roles, none), members joining and leaving, the membership's order, the
 * clock; with unhealthy members, members without an engine, ourselves, names in natural order
 * (h2, h10, h01) and names shared by two members. The snapshot path (api_context.snapshot)
 * must give the same bytes too, and a string that is not UTF-8 the same 500.
 */
#include "agent/membership.h"
#include "manager/api_cluster.h"
#include "manager/api_handlers.h"
#include "manager/api_router.h"
#include "manager/engines.h"
#include "manager/info_view.h"
#include "proto/meta.h"
#include "proto/relay_frame.h"
#include "tests/unit/check.h"
#include "tests/unit/xorshift.h"
#include "tests/unit/info_reference.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 14

/* The cluster: members in membership order, each maybe with an engine record. */
struct tmember {
    struct member m;
    bool has_engine;
    struct engine e;
};

static struct {
    struct tmember *t[MAX_MEMBERS];
    size_t n;
    int64_t wall;
    uint64_t now;
    uint64_t gen;
    bool bad_utf8; /* allow a member name that is not UTF-8 (metadata cannot hold one) */
} cl;

static struct engine *find_engine(void *arg, const char *member)
{
    (void)arg;
    for (size_t i = 0; i < cl.n; i++)
        if (cl.t[i]->has_engine && strcmp(cl.t[i]->m.name, member) == 0)
            return &cl.t[i]->e;
    return NULL;
}

static const char *const member_names[] = {"h1",     "h2",  "h10",   "h01",   "n1",
                                           "node-a", "n02", "agent", "web-3", "web-12",
                                           "x",      "h9",  "db",    "db0"};
static const char *const engine_names[] = {"", "", "", "h2", "h10", "h1", "h01", "engine-7", "x"};

static void set_meta(struct tmember *t)
{
    free(t->m.meta);
    t->m.meta = NULL;
    t->m.meta_len = 0;
    if (rnd(12) == 0)
        return; /* no metadata */
    static const char *const ids[] = {"", "ID1", "AAAA:BBBB", "ID \"q\" \\"};
    static const char *const oses[] = {"", "Debian GNU/Linux 12 (bookworm)", "Alpine \t3.19"};
    static const char *const kernels[] = {"", "6.1.0-13-amd64", "5.15.0"};
    static const char *const keys[] = {"zone", "disk",         "kernelversion", "operatingsystem",
                                       "a",    "storagedriver"};
    static const char *const values[] = {"", "attic", "ssd", "h\xc3\xa9llo", "1.2=3"};
    static const char *const apis[] = {"", "1.41", "1.40", "1.43"};
    struct meta m;
    memset(&m, 0, sizeof(m));
    m.role = rnd(8) ? META_ROLE_AGENT : META_ROLE_MANAGER;
    m.engine_id = proto_str_c(PICK(ids));
    m.engine_name = proto_str_c(PICK(engine_names));
    m.cpus = rnd(3) ? 1 + rnd(64) : 0;
    m.memory = rnd(4) ? (uint64_t)rnd(1 << 20) * (1 + rnd(1 << 14)) : 0;
    m.os = proto_str_c(PICK(oses));
    m.kernel = proto_str_c(PICK(kernels));
    m.api_version = proto_str_c(PICK(apis));
    m.nlabels = rnd(4);
    for (size_t i = 0; i < m.nlabels; i++)
        m.labels[i] = (struct meta_label){proto_str_c(PICK(keys)), proto_str_c(PICK(values))};
    m.relay_port = rnd(4) ? 2377 : 0;
    uint8_t buf[META_MAX_SIZE];
    size_t len = 0;
    if (meta_encode(&m, buf, sizeof(buf), &len, NULL) != 0)
        return;
    t->m.meta = malloc(len);
    if (t->m.meta == NULL)
        return;
    memcpy(t->m.meta, buf, len);
    t->m.meta_len = (uint16_t)len;
}

static void set_state(struct tmember *t)
{
    static const enum member_state states[] = {MEMBER_ALIVE,   MEMBER_ALIVE,  MEMBER_ALIVE,
                                               MEMBER_SUSPECT, MEMBER_FAILED, MEMBER_LEFT};
    t->m.state = states[rnd(6)];
    t->m.state_since_ms = cl.now - rnd(3) * (uint64_t)rnd(100000000);
}

static void set_addr(struct tmember *t)
{
    memset(&t->m.addr, 0, sizeof(t->m.addr));
    t->m.addr.len = rnd(4) ? 4 : 16;
    for (size_t i = 0; i < t->m.addr.len; i++)
        t->m.addr.ip[i] = (uint8_t)(rnd(3) * 10);
    t->m.addr.port = (uint16_t)(7946 + rnd(3));
}

static unsigned next_id;

/* One /containers/json entry: its state and reservations (what /info counts). */
static void entry(char *out, size_t cap)
{
    static const char *const states[] = {"running", "running", "exited", "paused", "created", ""};
    char hc[200];
    switch (rnd(5)) {
    case 0:
        snprintf(hc, sizeof(hc), ",\"HostConfig\":null");
        break;
    case 1:
        hc[0] = '\0';
        break;
    default:
        snprintf(hc, sizeof(hc),
                 ",\"HostConfig\":{\"NetworkMode\":\"default\",\"Memory\":%u,\"NanoCpus\":%u,"
                 "\"CpuShares\":%u}",
                 rnd(3) ? 0 : (1 + rnd(64)) << 20, rnd(3) ? 0 : 125000000 * rnd(9),
                 rnd(3) ? 0 : 256 * rnd(8));
        break;
    }
    const char *state = PICK(states);
    char st[40];
    if (state[0])
        snprintf(st, sizeof(st), ",\"State\":\"%s\"", state);
    else
        st[0] = '\0';
    snprintf(out, cap, "{\"Id\":\"c%08x\",\"Names\":[\"/n%u\"]%s%s}", next_id, next_id, st, hc);
    next_id++;
}

static void snapshot_engine(struct engine *e)
{
    char buf[8192];
    size_t off = (size_t)snprintf(buf, sizeof(buf), "{\"containers\":[");
    uint32_t n = rnd(6);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf[off++] = ',';
        entry(buf + off, sizeof(buf) - off);
        off += strlen(buf + off);
    }
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "],\"images\":[");
    uint32_t ni = rnd(4);
    for (uint32_t i = 0; i < ni; i++)
        off +=
            (size_t)snprintf(buf + off, sizeof(buf) - off, "%s{\"Id\":\"i%u\"}", i ? "," : "", i);
    static const char *const infos[] = {"{}", "{\"NCPU\":4,\"ServerVersion\":\"20.10.24+dfsg1\"}",
                                        "{\"NCPU\":0,\"ServerVersion\":\"\"}",
                                        "{\"ServerVersion\":\"24.0.7\"}"};
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "],\"info\":%s}", PICK(infos));
    char err[256];
    if (engines_apply_state(e, FRAME_STATE_SNAPSHOT, buf, off, NULL, err, sizeof(err)) < 0) {
        printf("# %s\n", err);
        CHECK(0);
    }
}

static void engine_new(struct tmember *t)
{
    if (t->has_engine)
        engine_clear(&t->e);
    t->has_engine = engine_init(&t->e, t->m.name) == 0;
    if (t->has_engine)
        snapshot_engine(&t->e);
}

static void engine_delta(struct engine *e)
{
    char buf[1024];
    size_t n = json_array_size(e->containers);
    if (n && rnd(3) == 0) {
        const char *id = json_string_value(
            json_object_get(json_array_get(e->containers, rnd((uint32_t)n)), "Id"));
        snprintf(buf, sizeof(buf), "{\"removed\":\"%s\"}", id ? id : "");
    } else {
        size_t off = (size_t)snprintf(buf, sizeof(buf), "{\"container\":");
        entry(buf + off, sizeof(buf) - off);
        strcat(buf, "}");
    }
    char err[256];
    CHECK(engines_apply_state(e, FRAME_STATE_DELTA, buf, strlen(buf), NULL, err, sizeof(err)) == 0);
}

static bool name_used(const char *name)
{
    for (size_t i = 0; i < cl.n; i++)
        if (strcmp(cl.t[i]->m.name, name) == 0)
            return true;
    return false;
}

static void member_add(void)
{
    if (cl.n == MAX_MEMBERS)
        return;
    const char *name;
    do
        name = cl.bad_utf8 && rnd(10) == 0 ? "bad\xff" : PICK(member_names);
    while (name_used(name));
    struct tmember *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->m.name = strdup(name)) == NULL) {
        free(t);
        return;
    }
    t->m.self = rnd(20) == 0;
    set_meta(t);
    set_state(t);
    set_addr(t);
    if (rnd(5))
        engine_new(t);
    /* joins at a random place of the membership's order */
    size_t at = rnd((uint32_t)cl.n + 1);
    memmove(&cl.t[at + 1], &cl.t[at], (cl.n - at) * sizeof(cl.t[0]));
    cl.t[at] = t;
    cl.n++;
}

static void member_free(struct tmember *t)
{
    if (t->has_engine)
        engine_clear(&t->e);
    free(t->m.name);
    free(t->m.meta);
    free(t);
}

static void member_remove(size_t i)
{
    member_free(cl.t[i]);
    memmove(&cl.t[i], &cl.t[i + 1], (cl.n - i - 1) * sizeof(cl.t[0]));
    cl.n--;
}

/* One random change to the cluster. */
static void change(void)
{
    if (cl.n == 0 || rnd(10) == 0) {
        member_add();
        return;
    }
    size_t i = rnd((uint32_t)cl.n);
    struct tmember *t = cl.t[i];
    switch (rnd(11)) {
    case 0:
    case 1:
    case 2:
        if (t->has_engine)
            engine_delta(&t->e);
        break;
    case 3:
        engine_new(t);
        break;
    case 4:
        if (t->has_engine) {
            engine_clear(&t->e);
            t->has_engine = false;
        }
        break;
    case 5:
        set_state(t);
        break;
    case 6:
        set_meta(t);
        break;
    case 7:
        set_addr(t);
        break;
    case 8:
        member_remove(i);
        break;
    case 9: {
        size_t j = rnd((uint32_t)cl.n);
        cl.t[i] = cl.t[j];
        cl.t[j] = t;
        break;
    }
    default: {
        uint64_t s = rnd(90);
        cl.wall += (int64_t)s;
        cl.now += 1000 * s;
        break;
    }
    }
}

/* ---- the three ways to the body ---- */

static struct info_view *view;

static struct info_view *view_pass(void *arg)
{
    const struct member *ms[MAX_MEMBERS];
    for (size_t i = 0; i < cl.n; i++)
        ms[i] = &cl.t[i]->m;
    info_view_begin(view, cl.wall, cl.now);
    for (size_t i = 0; i < cl.n; i++)
        if (info_view_member(view, ms[i], find_engine, arg) < 0)
            return NULL;
    return info_view_end(view) < 0 ? NULL : view;
}

static int snapshot(void *arg, struct api_cluster *out)
{
    const struct member *ms[MAX_MEMBERS];
    for (size_t i = 0; i < cl.n; i++)
        ms[i] = &cl.t[i]->m;
    return inforef_snapshot(ms, cl.n, find_engine, arg, cl.wall, cl.now, out);
}

static uint64_t generation(void *arg)
{
    (void)arg;
    return cl.gen;
}

static const struct api_context base = {
    .version = "9.9.9",
    .git_commit = "abc123",
    .host = {.name = "mgr",
             .id = "MGRID",
             .os = "Debian GNU/Linux 12 (bookworm)",
             .kernel = "6.1.0-13-amd64",
             .arch = "x86_64",
             .goarch = "amd64"},
    .strategy = "spread",
    .filters = "health, port",
    .generation = generation,
};

static void compare(const struct api_context *ctx, const char *what, int step)
{
    const struct member *ms[MAX_MEMBERS];
    for (size_t i = 0; i < cl.n; i++)
        ms[i] = &cl.t[i]->m;
    int status;
    size_t len;
    char *want = inforef_body(&base, ms, cl.n, find_engine, NULL, cl.wall, cl.now, &status, &len);
    struct api_response resp = {0};
    api_handle_info(ctx, NULL, &resp);
    CHECK_INT(resp.status, status);
    if (status == 200) {
        bool same = resp.body && resp.body_len == len && memcmp(resp.body, want, len) == 0;
        CHECK(same);
        if (!same)
            printf("# %s, step %d:\n# want %s# got  %.*s\n", what, step, want, (int)resp.body_len,
                   resp.body ? resp.body : "");
    }
    free(want);
    api_response_free(&resp);
}

static void run_cluster(uint64_t seed, int steps, bool bad_utf8)
{
    rng_state = seed;
    memset(&cl, 0, sizeof(cl));
    cl.wall = 1795000000 + rnd(100000);
    cl.now = 500000000 + rnd(1000000);
    cl.bad_utf8 = bad_utf8;
    uint32_t start = rnd(MAX_MEMBERS);
    for (uint32_t i = 0; i < start; i++)
        member_add();
    view = info_view_new();
    CHECK(view != NULL);
    struct api_info_cache cache = {0};
    struct api_context kept = base, whole = base;
    kept.info_view = view_pass;
    kept.info_cache = &cache;
    whole.snapshot = snapshot;
    for (int s = 0; s < steps; s++) {
        uint32_t k = rnd(4);
        for (uint32_t j = 0; j < k; j++)
            change();
        cl.gen++;
        compare(&kept, "kept view", s);
        if (rnd(4) == 0)
            compare(&kept, "kept view, nothing changed", s);
        if (rnd(8) == 0)
            compare(&whole, "snapshot", s);
    }
    api_info_cache_free(&cache);
    info_view_free(view);
    view = NULL;
    while (cl.n)
        member_remove(cl.n - 1);
}

static void test_random_clusters(void)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        run_cluster(seed * 0x9e3779b97f4a7c15ULL, 40, false);
}

static void test_not_utf8(void)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_cluster(seed * 0xbf58476d1ce4e5b9ULL + 7, 30, true);
}

/* An empty cluster, and the view without members after some. */
static void test_empty(void)
{
    memset(&cl, 0, sizeof(cl));
    rng_state = 99;
    view = info_view_new();
    struct api_context kept = base;
    kept.info_view = view_pass;
    compare(&kept, "empty", 0);
    for (int i = 0; i < 6; i++)
        member_add();
    compare(&kept, "six", 1);
    while (cl.n)
        member_remove(cl.n - 1);
    compare(&kept, "none again", 2);
    struct api_context none = base;
    compare(&none, "no snapshot", 3);
    info_view_free(view);
    view = NULL;
}

int main(void)
{
    RUN(test_empty);
    RUN(test_random_clusters);
    RUN(test_not_utf8);
    return check_done();
}
