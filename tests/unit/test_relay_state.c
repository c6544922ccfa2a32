/*
 * Unit tests for the relay's STATE messages (agent/relay_server.h, docs/PROTOCOL.md 8.1): the
 * agent's relay_server with agent/engine_watch in front of tests/unit/fake_engine.h (or a
 * hand-made state source), and a manager played by a bare relay_link that reassembles STATE
 * frames itself and checks every chunk: same kind and seq within a message, seq growing, no
 * message over 4 MiB. Covered: the snapshot on connect (over 64 KiB, so in chunks, with a
 * proxied stream's DATA going on meanwhile), deltas to every manager, a manager that connects
 * before there is a snapshot, an engine that fails and comes back, a burst the connection
 * cannot take (a fresh snapshot, never a silent gap), and messages too large to send. Every
 * test ends with every handle closed and uv_loop_close() == 0.
 */
#include "agent/engine_watch.h"
#include "agent/relay_server.h"
#include "common/log.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_engine.h"
#include "tests/unit/loop_harness.h"

#include <jansson.h>
#include <signal.h>

#define TIMEOUT_MS 20000

static struct keypair agent_kp, manager_kp;

/* ---- the manager: a relay_link that reassembles STATE messages ------------------------------ */

struct mgr {
    struct relay_link link;
    bool ready, closed;
    char reason[256];
    uint8_t *buf;
    size_t len, cap;
    bool in_msg;
    int kind, chunks, max_chunks;
    uint64_t seq, last_seq;
    int errors;
    json_t *msgs; /* {"kind","seq","chunks","body"} per message, in order */
    char data[8192];
    size_t dlen;
    int data_frames, interleaved, stream_closes;
};

static void mgr_ready(struct relay_link *l)
{
    ((struct mgr *)l->data)->ready = true;
}

static void mgr_state(struct mgr *m, const struct frame *f)
{
    if (!m->in_msg) {
        m->in_msg = true;
        m->kind = (int)f->u.state.kind;
        m->seq = f->u.state.seq;
        m->len = 0;
        m->chunks = 0;
        if (m->seq <= m->last_seq) {
            m->errors++;
            printf("# seq %llu after %llu\n", (unsigned long long)m->seq,
                   (unsigned long long)m->last_seq);
        }
    } else if (m->kind != (int)f->u.state.kind || m->seq != f->u.state.seq) {
        m->errors++;
        printf("# a chunk of another message inside seq %llu\n", (unsigned long long)m->seq);
    }
    size_t n = f->u.state.payload.len;
    if (n > FRAME_STATE_CHUNK_MAX || m->len + n > FRAME_STATE_MAX) {
        m->errors++;
        return;
    }
    if (m->len + n + 1 > m->cap) {
        m->cap = (m->len + n + 1) * 2;
        m->buf = realloc(m->buf, m->cap);
    }
    memcpy(m->buf + m->len, f->u.state.payload.ptr, n);
    m->len += n;
    m->chunks++;
    if (f->u.state.more)
        return;
    m->in_msg = false;
    m->last_seq = m->seq;
    if (m->chunks > m->max_chunks)
        m->max_chunks = m->chunks;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)m->buf, m->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        m->errors++;
        printf("# message seq %llu is not a JSON object: %s\n", (unsigned long long)m->seq,
               jerr.text);
    }
    json_array_append_new(m->msgs, json_pack("{s:i, s:I, s:i, s:o}", "kind", m->kind, "seq",
                                             (json_int_t)m->seq, "chunks", m->chunks, "body",
                                             body ? body : json_null()));
}

static void mgr_frame(struct relay_link *l, const struct frame *f)
{
    struct mgr *m = l->data;
    if (f->type == FRAME_STATE) {
        mgr_state(m, f);
    } else if (f->type == FRAME_DATA && f->stream == 1) {
        m->data_frames++;
        m->interleaved += m->in_msg;
        size_t n = f->u.data.payload.len;
        if (m->dlen + n < sizeof(m->data)) {
            memcpy(m->data + m->dlen, f->u.data.payload.ptr, n);
            m->dlen += n;
        }
    } else if (f->type == FRAME_CLOSE && f->stream == 1) {
        m->stream_closes++;
    }
}

static void mgr_closed(struct relay_link *l, const char *reason)
{
    struct mgr *m = l->data;
    m->closed = true;
    snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

static const struct relay_link_ops mgr_ops = {mgr_ready, mgr_frame, NULL, mgr_closed};

static size_t mgr_count(struct mgr *m)
{
    return json_array_size(m->msgs);
}

static json_t *mgr_msg(struct mgr *m, size_t i)
{
    return json_array_get(m->msgs, i);
}

static int msg_kind(json_t *msg)
{
    return (int)json_integer_value(json_object_get(msg, "kind"));
}

static json_t *msg_body(json_t *msg)
{
    return json_object_get(msg, "body");
}

/* ---- the world ------------------------------------------------------------------------------- */

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct fake_engine fe;
    struct engine_watch *w;
    bool w_closed;
    struct relay_server *srv;
    bool srv_closed;
    /* a hand-made source instead of the watcher */
    char *text;
};

static char *watch_snapshot(void *arg, size_t *len)
{
    struct world *w = arg;
    return w->w ? engine_watch_snapshot(w->w, len) : NULL;
}

static char *manual_snapshot(void *arg, size_t *len)
{
    struct world *w = arg;
    if (w->text == NULL)
        return NULL;
    *len = strlen(w->text);
    return strdup(w->text);
}

static void watch_on_snapshot(void *arg)
{
    struct world *w = arg;
    relay_server_state_snapshot(w->srv);
}

static void watch_on_delta(void *arg, const char *json, size_t len)
{
    struct world *w = arg;
    relay_server_state_delta(w->srv, json, len);
}

static const struct engine_watch_callbacks watch_cb = {watch_on_snapshot, watch_on_delta};

/* with_watcher: the state comes from engine_watch on the fake engine; else from w->text. */
static void world_start(struct world *w, bool with_watcher)
{
    memset(w, 0, sizeof(*w));
    LOOP_HARNESS_INIT(w);
    fe_init(&w->fe, &w->loop);
    const uint8_t(*managers)[KEYPAIR_BYTES] = (const uint8_t(*)[KEYPAIR_BYTES]) & manager_kp.pk;
    struct relay_server_config cfg = {
        .host = "127.0.0.1",
        .engine_path = w->fe.path,
        .self = &agent_kp,
        .managers = managers,
        .nmanagers = 1,
        .state = {with_watcher ? watch_snapshot : manual_snapshot, w},
    };
    char err[256] = "";
    w->srv = relay_server_start(&w->loop, &cfg, err, sizeof(err));
    CHECK(w->srv != NULL);
    if (with_watcher) {
        struct engine_watch_config wc = {
            .engine_path = w->fe.path, .backoff_min_ms = 50, .backoff_max_ms = 200};
        w->w = engine_watch_start(&w->loop, &wc, &watch_cb, w, err, sizeof(err));
        CHECK(w->w != NULL);
    }
}

static void mgr_connect(struct world *w, struct mgr *m)
{
    memset(m, 0, sizeof(*m));
    m->msgs = json_array();
    m->link.data = m;
    relay_link_init(&m->link, &w->loop, &mgr_ops, NULL);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", relay_server_port(w->srv), &a);
    char err[256] = "";
    CHECK_INT(relay_link_connect(&m->link, (const struct sockaddr *)&a, &manager_kp, agent_kp.pk,
                                 err, sizeof(err)),
              0);
}

static void mgr_finish(struct world *w, struct mgr *m)
{
    if (!m->closed) {
        relay_link_close_graceful(&m->link, "done");
        RUN_UNTIL(w, m->closed, TIMEOUT_MS);
    }
    CHECK_INT(m->errors, 0);
    CHECK(!m->in_msg);
    free(m->buf);
    json_decref(m->msgs);
}

static void cb_flag(void *arg)
{
    *(bool *)arg = true;
}

static void world_finish(struct world *w)
{
    if (w->w) {
        engine_watch_close(w->w, cb_flag, &w->w_closed);
        RUN_UNTIL(w, w->w_closed, TIMEOUT_MS);
    }
    relay_server_close(w->srv, cb_flag, &w->srv_closed);
    RUN_UNTIL(w, w->srv_closed, TIMEOUT_MS);
    fe_stop(&w->fe);
    LOOP_HARNESS_DRAIN(w);
    engine_watch_free(w->w);
    relay_server_free(w->srv);
    free(w->text);
    CHECK_LOOP_CLOSED(w);
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* 200 containers (a snapshot over 64 KiB), a stream proxied meanwhile, deltas to two managers,
 * and a manager that comes later gets the state as it is then. */
static void test_snapshot_and_deltas(void)
{
    struct world w;
    world_start(&w, true);
    for (int i = 0; i < 200; i++)
        fe_add(&w.fe, "c", "running", (long long)i << 20);
    CHECK_INT(fe_listen(&w.fe), 0);
    RUN_UNTIL(&w, engine_watch_healthy(w.w), TIMEOUT_MS);

    struct mgr a;
    mgr_connect(&w, &a);
    RUN_UNTIL(&w, a.ready, TIMEOUT_MS);
    /* a stream to the engine while the snapshot goes out */
    struct frame f = {.type = FRAME_OPEN, .stream = 1};
    f.u.open.target = proto_str_c(RELAY_TARGET_ENGINE);
    f.u.open.window = RELAY_WINDOW;
    CHECK_INT(relay_link_send(&a.link, &f), 0);
    static const char req[] = "GET /version HTTP/1.1\r\nHost: docker\r\n\r\n";
    CHECK_INT(relay_link_send_data(&a.link, 1, (const uint8_t *)req, sizeof(req) - 1), 0);
    RUN_UNTIL(&w, mgr_count(&a) == 1 && a.stream_closes == 1, TIMEOUT_MS);
    json_t *s = mgr_msg(&a, 0);
    CHECK_INT(msg_kind(s), FRAME_STATE_SNAPSHOT);
    CHECK(json_integer_value(json_object_get(s, "chunks")) >= 2);
    CHECK_INT(json_array_size(json_object_get(msg_body(s), "containers")), 200);
    CHECK(json_object_get(msg_body(s), "error") == NULL);
    CHECK(strstr(a.data, "\"ApiVersion\":\"1.41\"") != NULL);
    printf("# snapshot: %lld chunks; %d DATA frames, %d inside the snapshot\n",
           (long long)json_integer_value(json_object_get(s, "chunks")), a.data_frames,
           a.interleaved);

    struct mgr b;
    mgr_connect(&w, &b);
    RUN_UNTIL(&w, mgr_count(&b) == 1, TIMEOUT_MS);
    struct fe_container *c = fe_add(&w.fe, "new", "created", 0);
    fe_event(&w.fe, "container", "create", c->id);
    RUN_UNTIL(&w, mgr_count(&a) == 2 && mgr_count(&b) == 2, TIMEOUT_MS);
    json_t *da = mgr_msg(&a, 1), *db = mgr_msg(&b, 1);
    CHECK_INT(msg_kind(da), FRAME_STATE_DELTA);
    CHECK(json_equal(msg_body(da), msg_body(db)));
    CHECK_INT(json_integer_value(json_object_get(da, "seq")),
              json_integer_value(json_object_get(db, "seq")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(msg_body(da), "container"), "Id")),
              c->id);

    struct mgr late;
    mgr_connect(&w, &late);
    RUN_UNTIL(&w, mgr_count(&late) == 1, TIMEOUT_MS);
    CHECK_INT(json_array_size(json_object_get(msg_body(mgr_msg(&late, 0)), "containers")), 201);
    fe_remove(&w.fe, c->id);
    fe_event(&w.fe, "container", "destroy", c->id);
    RUN_UNTIL(&w, mgr_count(&a) == 3 && mgr_count(&b) == 3 && mgr_count(&late) == 2, TIMEOUT_MS);
    CHECK_STR(json_string_value(json_object_get(msg_body(mgr_msg(&late, 1)), "removed")), c->id);

    const struct relay_server_stats *st = relay_server_stats(w.srv);
    CHECK_INT(st->state_messages, 8);
    CHECK(st->state_bytes > 3 * 64 * 1024);
    CHECK_INT(st->state_resyncs, 0);
    mgr_finish(&w, &a);
    mgr_finish(&w, &b);
    mgr_finish(&w, &late);
    world_finish(&w);
}

/* No engine: the manager gets an error snapshot; the engine comes and goes: fresh snapshots. */
static void test_engine_comes_and_goes(void)
{
    struct world w;
    world_start(&w, true);
    struct mgr m;
    mgr_connect(&w, &m);
    RUN_UNTIL(&w, mgr_count(&m) == 1, TIMEOUT_MS);
    const char *err = json_string_value(json_object_get(msg_body(mgr_msg(&m, 0)), "error"));
    CHECK(err && strstr(err, w.fe.path) != NULL);
    CHECK_INT(json_array_size(json_object_get(msg_body(mgr_msg(&m, 0)), "containers")), 0);
    fe_add(&w.fe, "a", "running", 0);
    CHECK_INT(fe_listen(&w.fe), 0);
    RUN_UNTIL(&w, mgr_count(&m) == 2, TIMEOUT_MS);
    CHECK_INT(msg_kind(mgr_msg(&m, 1)), FRAME_STATE_SNAPSHOT);
    CHECK(json_object_get(msg_body(mgr_msg(&m, 1)), "error") == NULL);
    CHECK_INT(json_array_size(json_object_get(msg_body(mgr_msg(&m, 1)), "containers")), 1);
    fe_stop(&w.fe);
    RUN_UNTIL(&w, mgr_count(&m) == 3, TIMEOUT_MS);
    CHECK(json_object_get(msg_body(mgr_msg(&m, 2)), "error") != NULL);
    mgr_finish(&w, &m);
    world_finish(&w);
}

/* A manager that connects before there is any snapshot gets the first one announced. */
static void test_snapshot_later(void)
{
    struct world w;
    world_start(&w, false);
    struct mgr m;
    mgr_connect(&w, &m);
    RUN_UNTIL(&w, m.ready, TIMEOUT_MS);
    relay_server_state_delta(w.srv, "{\"event\":{}}", 12); /* before any snapshot: not sent */
    RUN_FOR(&w, 100);
    CHECK_INT(mgr_count(&m), 0);
    w.text = strdup("{\"containers\":[],\"images\":[],\"info\":{},\"version\":{}}");
    relay_server_state_snapshot(w.srv);
    static const char net[] = "{\"event\":{\"Type\":\"network\"}}";
    relay_server_state_delta(w.srv, net, sizeof(net) - 1);
    RUN_UNTIL(&w, mgr_count(&m) == 2, TIMEOUT_MS);
    CHECK_INT(msg_kind(mgr_msg(&m, 0)), FRAME_STATE_SNAPSHOT);
    CHECK_INT(msg_kind(mgr_msg(&m, 1)), FRAME_STATE_DELTA);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(msg_body(mgr_msg(&m, 1)), "event"), "Type")),
              "network");
    mgr_finish(&w, &m);
    world_finish(&w);
}

/* A delta a second, padded: {"n":i,"pad":"..."}; a snapshot {"n":K,...}. */
static char *numbered(int n, size_t pad)
{
    char *p = malloc(pad + 64);
    int k = snprintf(p, 64, "{\"n\":%d,\"pad\":\"", n);
    memset(p + k, 'x', pad);
    snprintf(p + (size_t)k + pad, 8, "\"}");
    return p;
}

/* A burst the connection cannot keep up with: the manager gets a fresh snapshot in place of
 * what it could not take, and after every snapshot the deltas follow without a gap. */
static void test_burst_resync(void)
{
    enum { N = 2000, PAD = 20000 }; /* 40 MB: more than socket buffers and queues hold */
    struct world w;
    world_start(&w, false);
    w.text = numbered(0, 100);
    struct mgr m;
    mgr_connect(&w, &m);
    RUN_UNTIL(&w, mgr_count(&m) == 1, TIMEOUT_MS);
    for (int i = 1; i <= N; i++) {
        free(w.text);
        w.text = numbered(i, 100); /* the source's state includes delta i */
        char *d = numbered(i, PAD);
        relay_server_state_delta(w.srv, d, strlen(d));
        free(d);
    }
    const struct relay_server_stats *st = relay_server_stats(w.srv);
    CHECK(st->state_resyncs >= 1);
    /* the last message the manager gets says n = N */
    int last = -1;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (last != N && !w.timed_out) {
        uv_run(&w.loop, UV_RUN_ONCE);
        if (mgr_count(&m))
            last = (int)json_integer_value(
                json_object_get(msg_body(mgr_msg(&m, mgr_count(&m) - 1)), "n"));
    }
    DEADLINE_STOP(&w);
    CHECK_INT(last, N);
    int snapshots = 0, gaps = 0, n = -1;
    for (size_t i = 0; i < mgr_count(&m); i++) {
        json_t *msg = mgr_msg(&m, i);
        int v = (int)json_integer_value(json_object_get(msg_body(msg), "n"));
        if (msg_kind(msg) == FRAME_STATE_SNAPSHOT) {
            snapshots++;
            CHECK(v >= n);
        } else if (v != n + 1) {
            gaps++;
        }
        n = v;
    }
    CHECK_INT(gaps, 0);
    CHECK(snapshots >= 2);
    printf("# %d deltas of %d bytes at once: %zu messages arrived, %d snapshots, %llu resyncs\n", N,
           PAD, mgr_count(&m), snapshots, (unsigned long long)st->state_resyncs);
    mgr_finish(&w, &m);
    world_finish(&w);
}

/* Over 4 MiB: a snapshot becomes an error snapshot; a delta becomes a fresh snapshot. */
static void test_too_large(void)
{
    struct world w;
    world_start(&w, false);
    w.text = numbered(1, FRAME_STATE_MAX + 10);
    size_t big = strlen(w.text);
    struct mgr m;
    mgr_connect(&w, &m);
    RUN_UNTIL(&w, mgr_count(&m) == 1, TIMEOUT_MS);
    char want[128];
    snprintf(want, sizeof(want), "state too large: %zu bytes", big);
    CHECK_STR(json_string_value(json_object_get(msg_body(mgr_msg(&m, 0)), "error")), want);
    CHECK_INT(json_array_size(json_object_get(msg_body(mgr_msg(&m, 0)), "containers")), 0);
    CHECK_INT(relay_server_stats(w.srv)->state_too_large, 1);

    free(w.text);
    w.text = numbered(2, 100);
    char *d = numbered(2, FRAME_STATE_MAX);
    relay_server_state_delta(w.srv, d, strlen(d));
    free(d);
    RUN_UNTIL(&w, mgr_count(&m) == 2, TIMEOUT_MS);
    CHECK_INT(msg_kind(mgr_msg(&m, 1)), FRAME_STATE_SNAPSHOT);
    CHECK_INT(json_integer_value(json_object_get(msg_body(mgr_msg(&m, 1)), "n")), 2);
    CHECK_INT(relay_server_stats(w.srv)->state_too_large, 2);
    /* exactly 4 MiB goes, in 64 chunks */
    free(w.text);
    w.text = malloc(FRAME_STATE_MAX + 1);
    memset(w.text, ' ', FRAME_STATE_MAX);
    w.text[0] = '{';
    w.text[FRAME_STATE_MAX - 1] = '}';
    w.text[FRAME_STATE_MAX] = '\0';
    relay_server_state_snapshot(w.srv);
    RUN_UNTIL(&w, mgr_count(&m) == 3, TIMEOUT_MS);
    CHECK_INT(json_integer_value(json_object_get(mgr_msg(&m, 2), "chunks")), 64);
    mgr_finish(&w, &m);
    world_finish(&w);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("RELAY_TEST_LOG") == NULL)
        log_set_level(LOG_ERROR);
    if (swcrypto_init() < 0)
        return 1;
    keypair_generate(&agent_kp);
    keypair_generate(&manager_kp);
    RUN(test_snapshot_and_deltas);
    RUN(test_engine_comes_and_goes);
    RUN(test_snapshot_later);
    RUN(test_burst_resync);
    RUN(test_too_large);
    keypair_wipe(&agent_kp);
    keypair_wipe(&manager_kp);
    return check_done();
}
