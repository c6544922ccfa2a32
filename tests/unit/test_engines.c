/*
 * Unit tests for the manager's engines (manager/engines.h) and the relay client's STATE
 * receiving (manager/relay_client.h), in one process on one libuv loop over loopback TCP.
 *
 * The agent here is a fake one at the frame level: a TCP listener whose connections are
 * agent/relay_link responders (the real handshake and sealing), from which the test sends
 * STATE frames by hand — whole messages cut into chunks of any size, DATA between the chunks,
 * mismatched chunks, oversized messages, malformed JSON — paced by the link's congestion
 * signal. Lookups, the exec map and the STATE applier are also tested without a network, on
 * records fed with engines_apply_state. Every test ends with every handle closed and
 * uv_loop_close() == 0; the valgrind label runs the same binary for leaks.
 */
#include "agent/relay_link.h"
#include "common/log.h"
#include "crypto/swcrypto.h"
#include "manager/engines.h"
#include "manager/relay_client.h"
#include "proto/meta.h"
#include "tests/unit/check.h"
#include "tests/unit/loop_harness.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 20000

static struct keypair agent_kp, manager_kp;

/* ---- the loop and its deadline --------------------------------------------------------------- */

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    LOOP_HARNESS_INIT(w);
}

static void world_finish(struct world *w)
{
    LOOP_HARNESS_DRAIN(w);
    CHECK_LOOP_CLOSED(w);
}

/* ---- the fake agent: relay_link responders, frames sent by hand ------------------------------ */

struct fa_item {
    struct fa_item *next;
    struct frame f; /* payload points into data */
    size_t len;
    uint8_t data[];
};

struct fake_agent;

struct fconn {
    struct relay_link link;
    struct fake_agent *a;
    bool ready;
    struct fa_item *q, *q_tail;
};

struct fake_agent {
    uv_loop_t *loop;
    uv_tcp_t server;
    uint16_t port;
    struct fconn *cur; /* the newest connection still open */
    int accepted, nready, nclosed;
    uint32_t last_open; /* the last OPEN's stream id */
    char reason[256];   /* why the last connection closed, as the agent saw it */
    bool server_closed;
};

static void fa_pump(struct fconn *fc)
{
    while (fc->q && relay_link_ready(&fc->link) && !relay_link_congested(&fc->link)) {
        struct fa_item *it = fc->q;
        fc->q = it->next;
        if (fc->q == NULL)
            fc->q_tail = NULL;
        relay_link_send(&fc->link, &it->f);
        free(it);
    }
}

static void fa_ready(struct relay_link *l)
{
    struct fconn *fc = l->data;
    fc->ready = true;
    fc->a->nready++;
    fa_pump(fc);
}

static void fa_frame(struct relay_link *l, const struct frame *f)
{
    struct fconn *fc = l->data;
    if (f->type == FRAME_OPEN)
        fc->a->last_open = f->stream;
}

static void fa_drained(struct relay_link *l)
{
    fa_pump(l->data);
}

static void fa_closed(struct relay_link *l, const char *reason)
{
    struct fconn *fc = l->data;
    struct fake_agent *a = fc->a;
    snprintf(a->reason, sizeof(a->reason), "%s", reason);
    a->nclosed++;
    if (a->cur == fc)
        a->cur = NULL;
    while (fc->q) {
        struct fa_item *it = fc->q;
        fc->q = it->next;
        free(it);
    }
    free(fc);
}

static const struct relay_link_ops fa_ops = {fa_ready, fa_frame, fa_drained, fa_closed};

static void fa_on_conn(uv_stream_t *server, int status)
{
    struct fake_agent *a = server->data;
    if (status < 0)
        return;
    struct fconn *fc = calloc(1, sizeof(*fc));
    fc->a = a;
    fc->link.data = fc;
    relay_link_init(&fc->link, a->loop, &fa_ops, NULL);
    const uint8_t(*managers)[KEYPAIR_BYTES] = (const uint8_t(*)[KEYPAIR_BYTES]) & manager_kp.pk;
    char err[256];
    a->accepted++;
    a->cur = fc;
    if (relay_link_accept(&fc->link, server, &agent_kp, managers, 1, err, sizeof(err)) < 0)
        relay_link_close(&fc->link, "%s", err);
}

static void fa_start(struct fake_agent *a, uv_loop_t *loop)
{
    memset(a, 0, sizeof(*a));
    a->loop = loop;
    uv_tcp_init(loop, &a->server);
    a->server.data = a;
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    CHECK_INT(uv_tcp_bind(&a->server, (const struct sockaddr *)&sin, 0), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&a->server, 16, fa_on_conn), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&a->server, (struct sockaddr *)&ss, &len);
    a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void fa_server_closed(uv_handle_t *h)
{
    struct fake_agent *a = h->data;
    a->server_closed = true;
}

static void fa_stop(struct fake_agent *a, struct world *w)
{
    if (a->cur)
        relay_link_close(&a->cur->link, "test over");
    RUN_UNTIL(w, a->nclosed == a->accepted, TIMEOUT_MS);
    uv_close((uv_handle_t *)&a->server, fa_server_closed);
    RUN_UNTIL(w, a->server_closed, TIMEOUT_MS);
}

static void fa_push(struct fconn *fc, const struct frame *f, const void *payload, size_t len)
{
    struct fa_item *it = malloc(sizeof(*it) + len);
    it->next = NULL;
    it->f = *f;
    it->len = len;
    if (len)
        memcpy(it->data, payload, len);
    if (f->type == FRAME_STATE)
        it->f.u.state.payload = (struct proto_bytes){it->data, len};
    else if (f->type == FRAME_DATA)
        it->f.u.data.payload = (struct proto_bytes){it->data, len};
    if (fc->q_tail)
        fc->q_tail->next = it;
    else
        fc->q = it;
    fc->q_tail = it;
    fa_pump(fc);
}

/* One STATE frame: a chunk of a message. */
static void fa_chunk(struct fconn *fc, int kind, uint64_t seq, bool more, const void *p, size_t len)
{
    struct frame f = {.type = FRAME_STATE, .stream = 0};
    f.u.state.kind = (enum frame_state_kind)kind;
    f.u.state.seq = seq;
    f.u.state.more = more;
    fa_push(fc, &f, p, len);
}

/* json[0..len) in chunks of at most chunk bytes; the last one says more = last_more. */
static void fa_chunks(struct fconn *fc, int kind, uint64_t seq, const char *json, size_t len,
                      size_t chunk, bool last_more)
{
    size_t off = 0;
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        fa_chunk(fc, kind, seq, off + n < len || last_more, json + off, n);
        off += n;
    } while (off < len);
}

/* A whole message in chunks of at most chunk bytes. */
static void fa_message(struct fconn *fc, int kind, uint64_t seq, const char *json, size_t len,
                       size_t chunk)
{
    fa_chunks(fc, kind, seq, json, len, chunk, false);
}

static void fa_json(struct fconn *fc, int kind, uint64_t seq, const char *json)
{
    fa_message(fc, kind, seq, json, strlen(json), FRAME_STATE_CHUNK_MAX);
}

static void fa_data(struct fconn *fc, uint32_t stream, const char *text)
{
    struct frame f = {.type = FRAME_DATA, .stream = stream};
    fa_push(fc, &f, text, strlen(text));
}

/* ---- 1. relay_client: STATE chunks joined, bounds enforced ----------------------------------- */

struct sconn {
    struct relay_conn *c;
    int ready, closed, messages;
    int kind;
    uint64_t seq;
    char *json; /* the last message */
    size_t len;
    bool nul_ok; /* every message came NUL-terminated */
    char reason[256];
    /* a stream, to see DATA between the chunks */
    char data[64];
    size_t data_len;
    int stream_closed;
};

static void sc_ready(struct relay_conn *c, void *arg)
{
    (void)c;
    ((struct sconn *)arg)->ready++;
}

static void sc_closed(struct relay_conn *c, const char *reason, void *arg)
{
    (void)c;
    struct sconn *s = arg;
    s->closed++;
    snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

static void sc_state(struct relay_conn *c, int kind, uint64_t seq, const char *json, size_t len,
                     void *arg)
{
    (void)c;
    struct sconn *s = arg;
    s->messages++;
    s->kind = kind;
    s->seq = seq;
    free(s->json);
    s->json = malloc(len + 1);
    memcpy(s->json, json, len + 1);
    s->len = len;
    s->nul_ok = s->nul_ok && json[len] == '\0';
}

static const struct relay_conn_callbacks sc_cb = {
    .on_ready = sc_ready, .on_close = sc_closed, .on_state = sc_state};

static void st_data(struct relay_stream *st, const uint8_t *data, size_t len, void *arg)
{
    (void)st;
    struct sconn *s = arg;
    if (s->data_len + len < sizeof(s->data)) {
        memcpy(s->data + s->data_len, data, len);
        s->data_len += len;
    }
}

static void st_close(struct relay_stream *st, int code, const char *reason, void *arg)
{
    (void)st;
    (void)code;
    (void)reason;
    ((struct sconn *)arg)->stream_closed++;
}

static const struct relay_stream_callbacks st_cb = {st_data, NULL, st_close};

static void sc_connect(struct sconn *s, struct world *w, struct fake_agent *a)
{
    free(s->json);
    memset(s, 0, sizeof(*s));
    s->nul_ok = true;
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", a->port, &sin);
    char err[256];
    s->c = relay_conn_new(&w->loop, (const struct sockaddr *)&sin, agent_kp.pk, &manager_kp, NULL,
                          &sc_cb, s, err, sizeof(err));
    CHECK(s->c != NULL);
    int nready = a->nready;
    RUN_UNTIL(w, s->ready == 1 && a->nready == nready + 1 && a->cur, TIMEOUT_MS);
}

static char *pattern_json(size_t len)
{
    /* A JSON string of exactly len bytes: "xxx...". */
    char *p = malloc(len + 1);
    p[0] = '"';
    for (size_t i = 1; i + 1 < len; i++)
        p[i] = (char)('a' + i % 26);
    p[len - 1] = '"';
    p[len] = '\0';
    return p;
}

static void test_relay_state(void)
{
    struct world w;
    world_init(&w);
    struct fake_agent a;
    fa_start(&a, &w.loop);
    struct sconn s = {0};
    sc_connect(&s, &w, &a);

    /* One chunk. */
    fa_json(a.cur, FRAME_STATE_SNAPSHOT, 1, "{\"containers\":[]}");
    RUN_UNTIL(&w, s.messages == 1, TIMEOUT_MS);
    CHECK_INT(s.kind, FRAME_STATE_SNAPSHOT);
    CHECK_INT(s.seq, 1);
    CHECK_STR(s.json, "{\"containers\":[]}");

    /* Three chunks with a stream's DATA between them: the message is whole, the DATA passes. */
    struct relay_stream *st = relay_stream_open(s.c, &st_cb, &s);
    CHECK(st != NULL);
    RUN_UNTIL(&w, a.last_open == 1, TIMEOUT_MS);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 2, true, "{\"info\":", 8);
    fa_data(a.cur, 1, "hello");
    fa_chunk(a.cur, FRAME_STATE_DELTA, 2, true, "{\"Name\":", 8);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 2, false, "\"h1\"}}", 6);
    RUN_UNTIL(&w, s.messages == 2, TIMEOUT_MS);
    CHECK_INT(s.kind, FRAME_STATE_DELTA);
    CHECK_INT(s.seq, 2);
    CHECK_STR(s.json, "{\"info\":{\"Name\":\"h1\"}}");
    CHECK_INT(s.data_len, 5);
    CHECK(memcmp(s.data, "hello", 5) == 0);
    relay_stream_close(st);
    RUN_UNTIL(&w, s.stream_closed == 1, TIMEOUT_MS);

    /* An empty message, and one of exactly FRAME_STATE_MAX bytes in full chunks. */
    fa_chunk(a.cur, FRAME_STATE_DELTA, 3, false, "", 0);
    RUN_UNTIL(&w, s.messages == 3, TIMEOUT_MS);
    CHECK_INT(s.len, 0);
    char *big = pattern_json(FRAME_STATE_MAX);
    fa_message(a.cur, FRAME_STATE_SNAPSHOT, 4, big, FRAME_STATE_MAX, FRAME_STATE_CHUNK_MAX);
    RUN_UNTIL(&w, s.messages == 4, TIMEOUT_MS);
    CHECK_INT(s.len, FRAME_STATE_MAX);
    CHECK(s.len == FRAME_STATE_MAX && memcmp(s.json, big, FRAME_STATE_MAX) == 0);
    CHECK(s.nul_ok);
    CHECK_INT(s.closed, 0);

    /* One byte more: refused, the connection closes with the reason. */
    fa_chunks(a.cur, FRAME_STATE_SNAPSHOT, 5, big, FRAME_STATE_MAX, FRAME_STATE_CHUNK_MAX, true);
    fa_chunk(a.cur, FRAME_STATE_SNAPSHOT, 5, false, "x", 1);
    RUN_UNTIL(&w, s.closed == 1, TIMEOUT_MS);
    CHECK_INT(s.messages, 4);
    CHECK(strstr(s.reason, "protocol error") != NULL);
    CHECK(strstr(s.reason, "seq 5 over 4194304 bytes") != NULL);
    free(big);
    RUN_UNTIL(&w, a.nclosed == 1, TIMEOUT_MS);

    /* A chunk of another message before the last one ended. */
    sc_connect(&s, &w, &a);
    fa_chunk(a.cur, FRAME_STATE_SNAPSHOT, 7, true, "{", 1);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 8, false, "}", 1);
    RUN_UNTIL(&w, s.closed == 1, TIMEOUT_MS);
    CHECK_INT(s.messages, 0);
    CHECK(strstr(s.reason, "kind 1 seq 8 inside the message of kind 0 seq 7") != NULL);
    RUN_UNTIL(&w, a.nclosed == 2, TIMEOUT_MS);

    /* Same kind, another seq: refused too. */
    sc_connect(&s, &w, &a);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 9, true, "{", 1);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 10, false, "}", 1);
    RUN_UNTIL(&w, s.closed == 1, TIMEOUT_MS);
    CHECK(strstr(s.reason, "seq 10 inside the message of kind 1 seq 9") != NULL);
    RUN_UNTIL(&w, a.nclosed == 3, TIMEOUT_MS);

    /* Without on_state, messages are joined and dropped; the connection lives on. */
    static const struct relay_conn_callbacks quiet = {.on_ready = sc_ready, .on_close = sc_closed};
    free(s.json);
    memset(&s, 0, sizeof(s));
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", a.port, &sin);
    char err[256];
    s.c = relay_conn_new(&w.loop, (const struct sockaddr *)&sin, agent_kp.pk, &manager_kp, NULL,
                         &quiet, &s, err, sizeof(err));
    RUN_UNTIL(&w, s.ready == 1 && a.cur && a.cur->ready, TIMEOUT_MS);
    fa_chunk(a.cur, FRAME_STATE_SNAPSHOT, 1, true, "{", 1);
    fa_chunk(a.cur, FRAME_STATE_SNAPSHOT, 1, false, "}", 1);
    RUN_FOR(&w, 100);
    CHECK_INT(s.closed, 0);
    relay_conn_close(s.c);
    RUN_UNTIL(&w, s.closed == 1, TIMEOUT_MS);
    CHECK_STR(s.reason, "closed");

    fa_stop(&a, &w);
    free(s.json);
    world_finish(&w);
}

/* ---- engines over the fake agent ------------------------------------------------------------- */

struct watch {
    int ups, downs, events;
    char last_action[32];
    bool closed;
};

static void w_event(void *arg, struct engine *e, json_t *event)
{
    (void)e;
    struct watch *x = arg;
    x->events++;
    const char *action = json_string_value(json_object_get(event, "Action"));
    snprintf(x->last_action, sizeof(x->last_action), "%s", action ? action : "");
}

static void w_engine(void *arg, struct engine *e, bool up)
{
    (void)e;
    struct watch *x = arg;
    if (up)
        x->ups++;
    else
        x->downs++;
}

static void w_closed(void *arg)
{
    ((struct watch *)arg)->closed = true;
}

static const struct engines_callbacks w_cb = {w_event, w_engine};

struct tmember {
    struct member m;
    uint8_t meta[META_MAX_SIZE];
};

static uint8_t member_relay_hs; /* metadata key 13 of the members make_member builds */

static void make_member(struct tmember *t, const char *name, const char *engine_name,
                        const char *engine_id, uint16_t relay_port, enum member_state st)
{
    memset(t, 0, sizeof(*t));
    struct meta m = {
        .role = META_ROLE_AGENT,
        .engine_name = proto_str_c(engine_name),
        .engine_id = proto_str_c(engine_id),
        .relay_port = relay_port,
        .has_pubkey = true,
        .relay_hs = member_relay_hs,
    };
    memcpy(m.pubkey, agent_kp.pk, sizeof(m.pubkey));
    size_t len = 0;
    CHECK_INT(meta_encode(&m, t->meta, sizeof(t->meta), &len, NULL), 0);
    t->m.name = (char *)name;
    t->m.meta = t->meta;
    t->m.meta_len = (uint16_t)len;
    t->m.state = st;
    static const uint8_t lo[4] = {127, 0, 0, 1};
    proto_addr_set(&t->m.addr, lo, 4, 7946);
}

static const struct engines_timing fast = {.retry_min_ms = 50, .retry_max_ms = 200};

/* A snapshot of n containers "web0".."web{n-1}" with ids "c0000..", padded to be large. */
static char *snapshot_json(int n, const char *extra)
{
    json_t *cs = json_array();
    for (int i = 0; i < n; i++) {
        char id[65], name[32];
        snprintf(id, sizeof(id), "c%063d", i);
        snprintf(name, sizeof(name), "/web%d", i);
        json_array_append_new(
            cs, json_pack("{s:s, s:[s], s:s, s:s, s:{s:s}, s:{s:I, s:I, s:I}}", "Id", id, "Names",
                          name, "Image", "busybox", "State", "exited", "Labels", "pad",
                          "0123456789012345678901234567890123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789",
                          "HostConfig", "Memory", (json_int_t)0, "NanoCpus", (json_int_t)0,
                          "CpuShares", (json_int_t)0));
    }
    json_t *root =
        json_pack("{s:o, s:[{s:s}], s:{s:s, s:i}, s:{s:s}}", "containers", cs, "images", "Id",
                  "sha256:b", "info", "Name", "h1", "NCPU", 4, "version", "ApiVersion", "1.41");
    if (extra)
        json_object_set_new(root, "error", json_string(extra));
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static void send_snapshot(struct fake_agent *a, uint64_t seq, int n, const char *error)
{
    char *s = snapshot_json(n, error);
    fa_message(a->cur, FRAME_STATE_SNAPSHOT, seq, s, strlen(s), 16384);
    free(s);
}

static void test_engines_relay(void)
{
    struct world w;
    world_init(&w);
    struct fake_agent a;
    fa_start(&a, &w.loop);
    struct watch x = {0};
    struct engines *es = engines_new(&w.loop, &manager_kp, &w_cb, &x);
    engines_set_timing(es, &fast);

    struct tmember h1;
    make_member(&h1, "m1", "h1", "ID1", a.port, MEMBER_ALIVE);
    engines_update_member(es, &h1.m);
    CHECK_INT(engines_count(es), 1);
    struct engine *e = engines_at(es, 0);
    CHECK_STR(e->name, "h1");
    CHECK_STR(e->member, "m1");
    CHECK_STR(e->id, "ID1");
    CHECK_STR(e->ip, "127.0.0.1");
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", a.port);
    CHECK_STR(e->addr, addr);
    CHECK(e->healthy && !e->ready);
    RUN_UNTIL(&w, a.cur && a.cur->ready && e->conn, TIMEOUT_MS);
    /* Its metadata does not say it accepts relay handshake version 2: version 1, secretstream. */
    CHECK_INT(relay_link_suite(&a.cur->link), FRAME_SUITE_SECRETSTREAM);

    /* A snapshot of 300 containers (~100 KB) in 16 KB chunks. */
    send_snapshot(&a, 1, 300, NULL);
    RUN_UNTIL(&w, e->ready, TIMEOUT_MS);
    CHECK_INT(x.ups, 1);
    CHECK_INT(json_array_size(e->containers), 300);
    CHECK_INT(json_array_size(e->images), 1);
    CHECK_STR(json_string_value(json_object_get(e->info, "Name")), "h1");
    CHECK_STR(json_string_value(json_object_get(e->version, "ApiVersion")), "1.41");
    CHECK_STR(e->error, "");

    /* A delta with an event and a changed container: the view first, then on_event. */
    char id0[65], id1[65];
    snprintf(id0, sizeof(id0), "c%063d", 0);
    snprintf(id1, sizeof(id1), "c%063d", 1);
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"event\":{\"Type\":\"container\",\"Action\":\"start\",\"id\":\"%s\"},"
             "\"container\":{\"Id\":\"%s\",\"Names\":[\"/web0\"],\"State\":\"running\"}}",
             id0, id0);
    fa_json(a.cur, FRAME_STATE_DELTA, 2, buf);
    RUN_UNTIL(&w, x.events == 1, TIMEOUT_MS);
    CHECK_STR(x.last_action, "start");
    struct engine *fe;
    json_t *c;
    CHECK_INT(engines_find_container(es, "web0", &fe, &c), ENGINES_FOUND);
    CHECK(fe == e);
    CHECK_STR(json_string_value(json_object_get(c, "State")), "running");
    CHECK_INT(json_array_size(e->containers), 300);

    snprintf(buf, sizeof(buf), "{\"removed\":\"%s\"}", id1);
    fa_json(a.cur, FRAME_STATE_DELTA, 3, buf);
    fa_json(a.cur, FRAME_STATE_DELTA, 4,
            "{\"images\":[{\"Id\":\"sha256:a\"},{\"Id\":\"sha256:c\"}],\"info\":{\"Name\":\"h1\","
            "\"NCPU\":8}}");
    RUN_UNTIL(&w, json_array_size(e->images) == 2, TIMEOUT_MS);
    CHECK_INT(json_array_size(e->containers), 299);
    CHECK_INT(engines_find_container(es, "web1", NULL, NULL), ENGINES_NOT_FOUND);
    CHECK_INT(json_integer_value(json_object_get(e->info, "NCPU")), 8);
    CHECK_INT(x.events, 1);

    /* The agent now says it accepts version 2 (the connection stays); the next one uses it. */
    member_relay_hs = HS_VERSION_SUITES;
    make_member(&h1, "m1", "h1", "ID1", a.port, MEMBER_ALIVE);
    member_relay_hs = 0;
    engines_update_member(es, &h1.m);
    CHECK(e->conn != NULL);

    /* Malformed JSON: the connection goes, the view stays, the agent is dialled again. */
    fa_json(a.cur, FRAME_STATE_DELTA, 5, "{\"removed\": ");
    RUN_UNTIL(&w, x.downs == 1, TIMEOUT_MS);
    CHECK(strstr(e->error, "not JSON") != NULL);
    CHECK(!e->ready && e->conn == NULL && e->healthy);
    CHECK_INT(json_array_size(e->containers), 299);
    RUN_UNTIL(&w, a.nclosed == 1 && a.accepted == 2 && a.cur && a.cur->ready, TIMEOUT_MS);
    CHECK_INT(relay_link_suite(&a.cur->link), crypto_aead_aes256gcm_is_available()
                                                  ? FRAME_SUITE_AES256GCM
                                                  : FRAME_SUITE_SECRETSTREAM);
    send_snapshot(&a, 1, 2, NULL);
    RUN_UNTIL(&w, x.ups == 2, TIMEOUT_MS);
    CHECK_INT(json_array_size(e->containers), 2);
    CHECK_STR(e->error, "");

    /* A wrong type in a delta: the same. */
    fa_json(a.cur, FRAME_STATE_DELTA, 2, "{\"container\":{\"Id\":7}}");
    RUN_UNTIL(&w, x.downs == 2, TIMEOUT_MS);
    CHECK(strstr(e->error, "\"Id\" is not a non-empty string") != NULL);
    CHECK_INT(json_array_size(e->containers), 2);
    RUN_UNTIL(&w, a.nclosed == 2 && a.accepted == 3 && a.cur && a.cur->ready && e->conn,
              TIMEOUT_MS);

    /* A chunk of another message in the middle of one: relay_client refuses it. */
    send_snapshot(&a, 1, 2, NULL);
    RUN_UNTIL(&w, x.ups == 3, TIMEOUT_MS);
    fa_chunk(a.cur, FRAME_STATE_SNAPSHOT, 10, true, "{", 1);
    fa_chunk(a.cur, FRAME_STATE_DELTA, 11, false, "}", 1);
    RUN_UNTIL(&w, x.downs == 3, TIMEOUT_MS);
    CHECK(strstr(e->error, "inside the message") != NULL);
    RUN_UNTIL(&w, a.nclosed == 3 && a.accepted == 4 && a.cur && a.cur->ready && e->conn,
              TIMEOUT_MS);

    /* A delta before any snapshot on this connection. */
    fa_json(a.cur, FRAME_STATE_DELTA, 1, "{}");
    RUN_UNTIL(&w, a.nclosed == 4, TIMEOUT_MS);
    CHECK(strstr(e->error, "before any snapshot") != NULL);
    CHECK_INT(x.downs, 3); /* it was not up */
    RUN_UNTIL(&w, a.accepted == 5 && a.cur && a.cur->ready && e->conn, TIMEOUT_MS);

    /* The engine is down behind the agent: a snapshot with "error" is not ready. */
    send_snapshot(&a, 1, 0, "Cannot connect to the Docker daemon");
    RUN_UNTIL(&w, strstr(e->error, "Cannot connect") != NULL, TIMEOUT_MS);
    CHECK(!e->ready);
    CHECK_INT(json_array_size(e->containers), 0);
    CHECK_INT(x.ups, 3);
    send_snapshot(&a, 2, 3, NULL);
    RUN_UNTIL(&w, x.ups == 4, TIMEOUT_MS);
    CHECK(e->ready);
    CHECK_STR(e->error, "");

    /* Suspect: unhealthy (down), the connection and its state kept; alive again: up, on the
     * same connection, without a new snapshot. */
    h1.m.state = MEMBER_SUSPECT;
    engines_update_member(es, &h1.m);
    CHECK_INT(x.downs, 4);
    CHECK(!e->healthy && e->ready && e->conn != NULL);
    RUN_FOR(&w, 300);
    CHECK_INT(a.nclosed, 4);
    h1.m.state = MEMBER_ALIVE;
    engines_update_member(es, &h1.m);
    CHECK_INT(x.ups, 5);
    CHECK(e->healthy && e->ready && e->conn != NULL);
    CHECK_INT(a.accepted, 5);

    /* Failed: connection closed, state kept, no retries until alive again. */
    h1.m.state = MEMBER_FAILED;
    engines_update_member(es, &h1.m);
    CHECK_INT(x.downs, 5);
    CHECK(!e->healthy && !e->ready && e->conn == NULL);
    RUN_UNTIL(&w, a.nclosed == 5, TIMEOUT_MS);
    RUN_FOR(&w, 300);
    CHECK_INT(a.accepted, 5);
    CHECK_INT(json_array_size(e->containers), 3);
    CHECK_INT(engines_find_container(es, "web2", NULL, NULL), ENGINES_FOUND);
    h1.m.state = MEMBER_ALIVE;
    engines_update_member(es, &h1.m);
    CHECK(e->healthy);
    RUN_UNTIL(&w, a.accepted == 6 && a.cur && a.cur->ready && e->conn, TIMEOUT_MS);
    send_snapshot(&a, 1, 1, NULL);
    RUN_UNTIL(&w, x.ups == 6, TIMEOUT_MS);

    /* Left: the record goes at once, its connection after. */
    h1.m.state = MEMBER_LEFT;
    engines_update_member(es, &h1.m);
    CHECK_INT(engines_count(es), 0);
    CHECK_INT(x.downs, 6);
    CHECK_INT(engines_find_container(es, "web0", NULL, NULL), ENGINES_NOT_FOUND);
    RUN_UNTIL(&w, a.nclosed == 6, TIMEOUT_MS);

    engines_close(es, w_closed, &x);
    CHECK(!x.closed); /* never from inside the call */
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    fa_stop(&a, &w);
    world_finish(&w);
}

/* Retries against a dead port back off; a reaped member goes; closing with a connection open
 * and a retry armed frees everything. */
static void test_engines_retry_close(void)
{
    struct world w;
    world_init(&w);
    struct fake_agent a, dead;
    fa_start(&a, &w.loop);
    fa_start(&dead, &w.loop);
    uint16_t dead_port = dead.port;
    fa_stop(&dead, &w); /* nothing listens there now */
    struct watch x = {0};
    struct engines *es = engines_new(&w.loop, &manager_kp, &w_cb, &x);
    engines_set_timing(es, &fast);

    struct tmember live, gone, other;
    make_member(&live, "m-live", "", "", a.port, MEMBER_ALIVE);
    make_member(&gone, "m-gone", "h-gone", "", dead_port, MEMBER_ALIVE);
    make_member(&other, "m-mgr", "", "", 0, MEMBER_ALIVE); /* no relay port: not an engine */
    engines_update_member(es, &live.m);
    engines_update_member(es, &gone.m);
    engines_update_member(es, &other.m);
    CHECK_INT(engines_count(es), 2);
    struct engine *g = engines_find(es, "h-gone");
    struct engine *l = engines_find(es, "m-live");
    CHECK(g != NULL && l != NULL);
    if (g == NULL || l == NULL)
        return;
    CHECK_STR(l->name, "m-live"); /* no engine name in the metadata: the member name */
    RUN_UNTIL(&w, strstr(g->error, "refused") != NULL, TIMEOUT_MS);
    RUN_UNTIL(&w, a.cur && a.cur->ready && l->conn, TIMEOUT_MS);
    CHECK(g->healthy && !g->ready && g->conn == NULL);

    /* Reaped: gone from the list. An unknown name is no error. */
    engines_remove_member(es, "m-gone");
    engines_remove_member(es, "nobody");
    CHECK_INT(engines_count(es), 1);
    CHECK(engines_find(es, "h-gone") == NULL);
    make_member(&gone, "m-gone", "h-gone", "", dead_port, MEMBER_ALIVE);
    engines_update_member(es, &gone.m);
    CHECK_INT(engines_count(es), 2);
    RUN_FOR(&w, 100);

    engines_close(es, w_closed, &x);
    CHECK_INT(engines_count(es), 0);
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    RUN_UNTIL(&w, a.nclosed == 1, TIMEOUT_MS);
    CHECK(strstr(a.reason, "closed the connection") != NULL); /* a clean close, with a FINAL */
    fa_stop(&a, &w);
    world_finish(&w);
}

/* ---- lookups, without a network -------------------------------------------------------------- */

#define ID_WEB "aaaa1111000000000000000000000000000000000000000000000000000000a1"
#define ID_DB "abcd0000000000000000000000000000000000000000000000000000000000d1"
#define ID_SH1 "bbbb0000000000000000000000000000000000000000000000000000000000b1"
#define ID_API "aaaa2222000000000000000000000000000000000000000000000000000000a2"
#define ID_SH2 "cccc0000000000000000000000000000000000000000000000000000000000c2"
#define ID_BB "dddd0000000000000000000000000000000000000000000000000000000000d4"
#define ID_IMP "eeee0000000000000000000000000000000000000000000000000000000000e5"

static void feed(struct engine *e, int kind, const char *json)
{
    char err[256] = "";
    int rc = engines_apply_state(e, kind, json, strlen(json), NULL, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc)
        printf("# %s\n", err);
}

/* Three engines whose members are suspect: records without connections. */
static struct engines *lookup_world(struct world *w, struct watch *x, struct engine **h1,
                                    struct engine **h2, struct engine **h10)
{
    struct engines *es = engines_new(&w->loop, &manager_kp, &w_cb, x);
    struct tmember t;
    make_member(&t, "m10", "h10", "E10", 1, MEMBER_SUSPECT);
    engines_update_member(es, &t.m);
    make_member(&t, "m2", "h2", "E2", 1, MEMBER_SUSPECT);
    engines_update_member(es, &t.m);
    make_member(&t, "m1", "h1", "E1", 1, MEMBER_SUSPECT);
    engines_update_member(es, &t.m);
    CHECK_INT(engines_count(es), 3);
    *h1 = engines_at(es, 0);
    *h2 = engines_at(es, 1);
    *h10 = engines_at(es, 2);
    CHECK_STR((*h1)->name, "h1");
    CHECK_STR((*h2)->name, "h2");
    CHECK_STR((*h10)->name, "h10");
    feed(*h1, FRAME_STATE_SNAPSHOT,
         "{\"containers\":["
         "{\"Id\":\"" ID_WEB "\",\"Names\":[\"/web\"]},"
         "{\"Id\":\"" ID_DB "\",\"Names\":[\"/db\",\"/web/db\"]},"
         "{\"Id\":\"" ID_SH1 "\",\"Names\":[\"/shared\"]}]}");
    feed(*h2, FRAME_STATE_SNAPSHOT,
         "{\"containers\":["
         "{\"Id\":\"" ID_API "\",\"Names\":[\"/api\"]},"
         "{\"Id\":\"" ID_SH2 "\",\"Names\":[\"/shared\"]}]}");
    /* h10: a container named like an id prefix of h1's, one named like h1's db full id. */
    feed(*h10, FRAME_STATE_SNAPSHOT,
         "{\"containers\":["
         "{\"Id\":\"" ID_BB "\",\"Names\":[\"/bbbb\"]},"
         "{\"Id\":\"" ID_IMP "\",\"Names\":[\"/" ID_DB "\"]}]}");
    return es;
}

static void expect(struct engines *es, const char *ref, enum engines_lookup want,
                   const struct engine *want_e, const char *want_id)
{
    struct engine *e = (struct engine *)1;
    json_t *c = (json_t *)1;
    enum engines_lookup got = engines_find_container(es, ref, &e, &c);
    check_count++;
    bool ok = got == want;
    if (want == ENGINES_FOUND)
        ok = ok && e == want_e && strcmp(json_string_value(json_object_get(c, "Id")), want_id) == 0;
    else
        ok = ok && e == NULL && c == NULL;
    if (!ok) {
        check_failures++;
        printf("not ok %d - lookup \"%s\": got %d on %s, want %d on %s\n", check_count, ref,
               (int)got, got == ENGINES_FOUND && e ? e->name : "-", (int)want,
               want_e ? want_e->name : "-");
    }
}

static void test_lookup(void)
{
    struct world w;
    world_init(&w);
    struct watch x = {0};
    struct engine *h1, *h2, *h10;
    struct engines *es = lookup_world(&w, &x, &h1, &h2, &h10);
    CHECK_INT(x.ups, 0); /* suspect: never up */

    /* 1. the full id, before a container named like it */
    expect(es, ID_WEB, ENGINES_FOUND, h1, ID_WEB);
    expect(es, ID_DB, ENGINES_FOUND, h1, ID_DB);
    /* 2. names, with or without '/'; a name on two engines is ambiguous */
    expect(es, "web", ENGINES_FOUND, h1, ID_WEB);
    expect(es, "/web", ENGINES_FOUND, h1, ID_WEB);
    expect(es, "api", ENGINES_FOUND, h2, ID_API);
    expect(es, "shared", ENGINES_AMBIGUOUS, NULL, NULL);
    expect(es, "/shared", ENGINES_AMBIGUOUS, NULL, NULL);
    expect(es, "web/db", ENGINES_FOUND, h1, ID_DB); /* a link name is a name */
    /* ... before an id prefix */
    expect(es, "bbbb", ENGINES_FOUND, h10, ID_BB);
    /* 3. node/name, node an engine name or id */
    expect(es, "h1/shared", ENGINES_FOUND, h1, ID_SH1);
    expect(es, "/h2/shared", ENGINES_FOUND, h2, ID_SH2);
    expect(es, "E2/shared", ENGINES_FOUND, h2, ID_SH2);
    expect(es, "h1/web", ENGINES_FOUND, h1, ID_WEB);
    expect(es, "h1/api", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "h3/shared", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "m1/shared", ENGINES_NOT_FOUND, NULL, NULL); /* not the member name */
    expect(es, "h1/", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "/", ENGINES_NOT_FOUND, NULL, NULL);
    /* 4. a unique id prefix, from 1 character */
    expect(es, "aaaa1", ENGINES_FOUND, h1, ID_WEB);
    expect(es, "aaaa", ENGINES_AMBIGUOUS, NULL, NULL);
    expect(es, "a", ENGINES_AMBIGUOUS, NULL, NULL);
    expect(es, "abc", ENGINES_FOUND, h1, ID_DB);
    expect(es, "c", ENGINES_FOUND, h2, ID_SH2);
    expect(es, "e", ENGINES_FOUND, h10, ID_IMP);
    expect(es, "bbbb0", ENGINES_FOUND, h1, ID_SH1);
    expect(es, "zzz", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "", ENGINES_NOT_FOUND, NULL, NULL);
    CHECK_INT(engines_find_container(es, "web", NULL, NULL), ENGINES_FOUND);
    CHECK_INT(engines_find_container(es, NULL, NULL, NULL), ENGINES_NOT_FOUND);

    CHECK(engines_name_taken(es, "web"));
    CHECK(engines_name_taken(es, "/api"));
    CHECK(engines_name_taken(es, "shared"));
    CHECK(!engines_name_taken(es, "nope"));
    CHECK(!engines_name_taken(es, ""));

    CHECK(engines_find(es, "h2") == h2);
    CHECK(engines_find(es, "m2") == h2);
    CHECK(engines_find(es, "E10") == h10);
    CHECK(engines_find(es, "h3") == NULL);
    CHECK(engines_find(es, "") == NULL);

    /* Created through the manager: found at once, replaced by the real entry later. */
    engines_note_container(es, h2, "ffff000000000000", "newone");
    engines_note_container(es, h2, "ffff000000000000", "other"); /* idempotent */
    engines_note_container(es, h2, "ffff111100000000", NULL);
    engines_note_container(es, h2, ID_API, "api2"); /* known: unchanged */
    CHECK_INT(json_array_size(h2->containers), 4);
    CHECK(engines_name_taken(es, "newone"));
    CHECK(!engines_name_taken(es, "other"));
    CHECK(!engines_name_taken(es, "api2"));
    json_t *c;
    struct engine *fe;
    CHECK_INT(engines_find_container(es, "newone", &fe, &c), ENGINES_FOUND);
    CHECK(fe == h2);
    CHECK_STR(json_string_value(json_object_get(c, "State")), "created");
    CHECK(json_is_object(json_object_get(c, "Labels")));
    expect(es, "ffff1", ENGINES_FOUND, h2, "ffff111100000000");
    expect(es, "ffff", ENGINES_AMBIGUOUS, NULL, NULL);
    feed(h2, FRAME_STATE_DELTA,
         "{\"container\":{\"Id\":\"ffff000000000000\",\"Names\":[\"/newone\"],"
         "\"State\":\"running\"}}");
    CHECK_INT(json_array_size(h2->containers), 4);
    CHECK_INT(engines_find_container(es, "/newone", &fe, &c), ENGINES_FOUND);
    CHECK_STR(json_string_value(json_object_get(c, "State")), "running");

    /* A rename: the old name goes, the new one resolves; a removal. */
    feed(h1, FRAME_STATE_DELTA, "{\"container\":{\"Id\":\"" ID_WEB "\",\"Names\":[\"/web2\"]}}");
    expect(es, "web", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "web2", ENGINES_FOUND, h1, ID_WEB);
    expect(es, "web/db", ENGINES_FOUND, h1, ID_DB);
    feed(h2, FRAME_STATE_DELTA, "{\"removed\":\"" ID_SH2 "\"}");
    expect(es, "shared", ENGINES_FOUND, h1, ID_SH1);
    feed(h2, FRAME_STATE_DELTA, "{\"removed\":\"no-such-id\"}");
    CHECK_INT(json_array_size(h2->containers), 3);

    /* A name two entries of one engine claim (a confused agent): removing one leaves the
     * other findable. */
    feed(h10, FRAME_STATE_DELTA,
         "{\"container\":{\"Id\":\"9999\",\"Names\":[\"/bbbb\"],\"State\":\"created\"}}");
    feed(h10, FRAME_STATE_DELTA, "{\"removed\":\"9999\"}");
    expect(es, "bbbb", ENGINES_FOUND, h10, ID_BB);

    /* A new snapshot replaces everything, noted entries included. */
    feed(h2, FRAME_STATE_SNAPSHOT, "{\"containers\":[]}");
    CHECK_INT(json_array_size(h2->containers), 0);
    expect(es, "newone", ENGINES_NOT_FOUND, NULL, NULL);
    expect(es, "api", ENGINES_NOT_FOUND, NULL, NULL);

    engines_close(es, w_closed, &x);
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    world_finish(&w);
}

/* Natural order, renames, and engines that are not agents. */
static void test_order(void)
{
    struct world w;
    world_init(&w);
    struct watch x = {0};
    struct engines *es = engines_new(&w.loop, &manager_kp, NULL, NULL);
    static const char *const names[] = {"node10", "node2", "node1", "node02b", "alpha"};
    struct tmember t;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char member[32];
        snprintf(member, sizeof(member), "m-%s", names[i]);
        make_member(&t, member, names[i], "", 1, MEMBER_FAILED);
        engines_update_member(es, &t.m);
    }
    static const char *const want[] = {"alpha", "node1", "node2", "node02b", "node10"};
    CHECK_INT(engines_count(es), 5);
    for (size_t i = 0; i < engines_count(es); i++)
        CHECK_STR(engines_at(es, i)->name, want[i]);
    CHECK(engines_at(es, 5) == NULL);
    /* A new engine name re-sorts; updates are in place. */
    make_member(&t, "m-alpha", "zulu", "", 1, MEMBER_FAILED);
    engines_update_member(es, &t.m);
    CHECK_INT(engines_count(es), 5);
    CHECK_STR(engines_at(es, 4)->name, "zulu");
    CHECK_STR(engines_at(es, 4)->member, "m-alpha");
    /* Ourselves, a manager, bad metadata: not engines; an agent turning into none goes. */
    make_member(&t, "self", "self", "", 1, MEMBER_ALIVE);
    t.m.self = true;
    engines_update_member(es, &t.m);
    struct meta mm = {.role = META_ROLE_MANAGER, .has_pubkey = true};
    size_t len;
    CHECK_INT(meta_encode(&mm, t.meta, sizeof(t.meta), &len, NULL), 0);
    t.m.self = false;
    t.m.name = "mgr";
    t.m.meta_len = (uint16_t)len;
    engines_update_member(es, &t.m);
    t.m.name = "m-node1";
    engines_update_member(es, &t.m);
    t.m.name = "junk";
    t.m.meta_len = 3;
    memcpy(t.meta, "\xc1\xc1\xc1", 3);
    engines_update_member(es, &t.m);
    CHECK_INT(engines_count(es), 4);
    CHECK(engines_find(es, "node1") == NULL);
    for (size_t i = 0; i < engines_count(es); i++)
        CHECK(!engines_at(es, i)->healthy && !engines_at(es, i)->ready);
    engines_close(es, w_closed, &x);
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    world_finish(&w);
}

/* ---- the cluster-wide indexes against a scan of every engine --------------------------------- */

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state % n;
}

/* Short ids over a small alphabet, so prefixes are shared and some ids are on two engines. */
static void rnd_id(char *out)
{
    size_t len = 1 + rnd(5);
    for (size_t i = 0; i < len; i++)
        out[i] = "ab0"[rnd(3)];
    out[len] = '\0';
}

static const char *const rnd_names[] = {"web", "db", "web/db", "a", "ab", "h1", "x"};
#define NRNAMES (sizeof(rnd_names) / sizeof(rnd_names[0]))

static json_t *rnd_container(const char *id)
{
    json_t *c = json_pack("{s:s, s:[]}", "Id", id, "Names");
    size_t k = rnd(3);
    for (size_t i = 0; i < k; i++) {
        char name[32];
        snprintf(name, sizeof(name), "/%s", rnd_names[rnd(NRNAMES)]);
        json_array_append_new(json_object_get(c, "Names"), json_string(name));
    }
    return c;
}

static void feed_json(struct engine *e, int kind, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    char err[256];
    engines_apply_state(e, kind, text, strlen(text), NULL, err, sizeof(err));
    free(text);
    json_decref(msg);
}

/* engines_find's answer, found by walking the engines in order. */
static struct engine *find_linear(struct engines *es, const char *ref)
{
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < engines_count(es); i++) {
            struct engine *e = engines_at(es, i);
            const char *v = pass == 0 ? e->name : pass == 1 ? e->member : e->id;
            if (v[0] && strcmp(v, ref) == 0)
                return e;
        }
    return NULL;
}

static int lookup_counts[3];

/* 1 if the index and the scan disagree on ref. */
static int differs(struct engines *es, const char *ref)
{
    struct engine *e1 = NULL, *e2 = NULL;
    json_t *c1 = NULL, *c2 = NULL;
    enum engines_lookup a = engines_find_container(es, ref, &e1, &c1);
    enum engines_lookup b = engines_find_container_scan(es, ref, &e2, &c2);
    lookup_counts[a]++;
    bool taken = false;
    const char *key = ref[0] == '/' ? ref + 1 : ref;
    for (size_t i = 0; i < engines_count(es) && key[0]; i++)
        taken |= json_object_get(engines_at(es, i)->by_name, key) != NULL;
    if (a == b && e1 == e2 && c1 == c2 && engines_name_taken(es, ref) == taken &&
        engines_find(es, ref) == find_linear(es, ref))
        return 0;
    printf("# \"%s\": index %d on %s, scan %d on %s\n", ref, (int)a, e1 ? e1->name : "-", (int)b,
           e2 ? e2->name : "-");
    return 1;
}

static void test_lookup_index(void)
{
    struct world w;
    world_init(&w);
    struct watch x = {0};
    struct engines *es = engines_new(&w.loop, &manager_kp, &w_cb, &x);
    /* Two engines share a name, two an engine id. */
    static const char *const members[] = {"m1", "m2", "m3", "m4", "m5", "m6"};
    static const char *const enames[] = {"h1", "h2", "h2", "h10", "h01", "h3"};
    static const char *const eids[] = {"E1", "E2", "E3", "E3", "", "E6"};
    struct tmember t;
    for (size_t i = 0; i < 6; i++) {
        make_member(&t, members[i], enames[i], eids[i], 1, MEMBER_SUSPECT);
        engines_update_member(es, &t.m);
    }
    CHECK_INT(engines_count(es), 6);
    int bad = 0, rounds = 600;
    for (int round = 0; round < rounds; round++) {
        struct engine *e = engines_at(es, rnd((uint32_t)engines_count(es)));
        uint32_t op = rnd(100);
        char id[16];
        rnd_id(id);
        if (op < 8) {
            json_t *cs = json_array();
            for (uint32_t k = rnd(6); k > 0; k--) {
                rnd_id(id);
                bool dup = false;
                for (size_t j = 0; j < json_array_size(cs); j++)
                    dup |= strcmp(json_string_value(json_object_get(json_array_get(cs, j), "Id")),
                                  id) == 0;
                if (!dup)
                    json_array_append_new(cs, rnd_container(id));
            }
            feed_json(e, FRAME_STATE_SNAPSHOT, json_pack("{s:o}", "containers", cs));
        } else if (op < 55) {
            feed_json(e, FRAME_STATE_DELTA, json_pack("{s:o}", "container", rnd_container(id)));
        } else if (op < 75) {
            feed_json(e, FRAME_STATE_DELTA, json_pack("{s:s}", "removed", id));
        } else if (op < 88) {
            engines_note_container(es, e, id, rnd(2) ? rnd_names[rnd(NRNAMES)] : NULL);
        } else if (op < 94) {
            e->healthy = !e->healthy;
        } else if (op < 97) {
            /* a new engine name or id for a member */
            size_t k = rnd(6);
            make_member(&t, members[k], enames[rnd(6)], eids[rnd(6)], 1, MEMBER_SUSPECT);
            engines_update_member(es, &t.m);
        } else {
            /* a member forgotten and back: its record goes, a new one comes */
            size_t k = rnd(6);
            engines_remove_member(es, members[k]);
            make_member(&t, members[k], enames[k], eids[k], 1, MEMBER_SUSPECT);
            engines_update_member(es, &t.m);
        }
        /* Every id, its prefixes, every name in every form, and some that are nowhere. */
        for (size_t i = 0; i < engines_count(es); i++) {
            struct engine *y = engines_at(es, i);
            size_t k;
            json_t *c;
            json_array_foreach(y->containers, k, c)
            {
                const char *cid = json_string_value(json_object_get(c, "Id"));
                char pre[16];
                for (size_t l = 1; l <= strlen(cid) && l < sizeof(pre); l++) {
                    snprintf(pre, sizeof(pre), "%.*s", (int)l, cid);
                    bad += differs(es, pre);
                }
            }
            bad += differs(es, y->name);
            bad += differs(es, y->member);
            if (y->id[0])
                bad += differs(es, y->id);
        }
        for (size_t i = 0; i < NRNAMES; i++) {
            char ref[64];
            bad += differs(es, rnd_names[i]);
            snprintf(ref, sizeof(ref), "/%s", rnd_names[i]);
            bad += differs(es, ref);
            snprintf(ref, sizeof(ref), "%s/%s", enames[rnd(6)], rnd_names[i]);
            bad += differs(es, ref);
            snprintf(ref, sizeof(ref), "/%s/%s", eids[rnd(6)], rnd_names[i]);
            bad += differs(es, ref);
        }
        bad += differs(es, "zz");
        bad += differs(es, "");
    }
    CHECK_INT(bad, 0);
    /* The walk met every kind of answer, many times. */
    CHECK(lookup_counts[ENGINES_FOUND] > 1000);
    CHECK(lookup_counts[ENGINES_NOT_FOUND] > 1000);
    CHECK(lookup_counts[ENGINES_AMBIGUOUS] > 1000);
    printf("# %d rounds: %d found, %d not found, %d ambiguous\n", rounds,
           lookup_counts[ENGINES_FOUND], lookup_counts[ENGINES_NOT_FOUND],
           lookup_counts[ENGINES_AMBIGUOUS]);
    engines_close(es, w_closed, &x);
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    world_finish(&w);
}

static void test_exec_map(void)
{
    struct world w;
    world_init(&w);
    struct watch x = {0};
    struct engine *h1, *h2, *h10;
    struct engines *es = lookup_world(&w, &x, &h1, &h2, &h10);
    engines_note_exec(es, h1, "e1aaaa");
    engines_note_exec(es, h2, "e2bbbb");
    engines_note_exec(es, h2, "abc");
    engines_note_exec(es, h1, "abcd");
    CHECK(engines_find_exec(es, "e1aaaa") == h1);
    CHECK(engines_find_exec(es, "e1") == h1);
    CHECK(engines_find_exec(es, "e2bbbb") == h2);
    CHECK(engines_find_exec(es, "e") == NULL); /* ambiguous */
    CHECK(engines_find_exec(es, "abc") == h2); /* exact beats prefix */
    CHECK(engines_find_exec(es, "abcd") == h1);
    CHECK(engines_find_exec(es, "zz") == NULL);
    CHECK(engines_find_exec(es, "") == NULL);
    engines_note_exec(es, h10, "e1aaaa"); /* moved: the latest engine wins */
    CHECK(engines_find_exec(es, "e1aaaa") == h10);
    /* The engine goes: its execs are not found (no dangling pointer). */
    engines_remove_member(es, "m2");
    CHECK(engines_find_exec(es, "e2bbbb") == NULL);
    /* Bounded: the oldest are forgotten. */
    for (int i = 0; i < ENGINES_EXEC_MAX; i++) {
        char id[32];
        snprintf(id, sizeof(id), "x%08d", i);
        engines_note_exec(es, h1, id);
    }
    CHECK(engines_find_exec(es, "abcd") == NULL);
    CHECK(engines_find_exec(es, "x00000000") == h1);
    CHECK(engines_find_exec(es, "x00004095") == h1);
    engines_note_exec(es, h1, "y");
    CHECK(engines_find_exec(es, "x00000000") == NULL);
    CHECK(engines_find_exec(es, "x00000001") == h1);
    engines_close(es, w_closed, &x);
    RUN_UNTIL(&w, x.closed, TIMEOUT_MS);
    world_finish(&w);
}

/* ---- the applier on its own ------------------------------------------------------------------ */

static void bad(struct engine *e, int kind, const char *json, const char *want)
{
    json_t *before = e->containers, *info = e->info;
    size_t n = json_array_size(e->containers);
    char err[256] = "";
    json_t *ev = (json_t *)1;
    int rc = engines_apply_state(e, kind, json, strlen(json), &ev, err, sizeof(err));
    check_count++;
    if (rc != -1 || ev != NULL || strstr(err, want) == NULL || e->containers != before ||
        e->info != info || json_array_size(e->containers) != n) {
        check_failures++;
        printf("not ok %d - %s: rc %d, err \"%s\", want \"%s\"\n", check_count, json, rc, err,
               want);
    }
}

static void test_apply(void)
{
    struct engine e;
    CHECK_INT(engine_init(&e, "solo"), 0);
    CHECK_STR(e.name, "solo");
    CHECK(!e.ready && json_array_size(e.containers) == 0 && json_object_size(e.info) == 0);

    /* A snapshot with nothing in it is a valid, empty one. */
    feed(&e, FRAME_STATE_SNAPSHOT, "{}");
    CHECK(e.ready);
    CHECK(e.updated_at > 0);
    feed(&e, FRAME_STATE_SNAPSHOT,
         "{\"containers\":[{\"Id\":\"c1\",\"Names\":[\"/one\"],\"Image\":\"busybox\","
         "\"State\":\"running\",\"Labels\":null,\"HostConfig\":{\"Memory\":1048576,"
         "\"NanoCpus\":0,\"CpuShares\":2}},{\"Id\":\"c0\",\"Names\":null,\"HostConfig\":null}],"
         "\"images\":[],\"info\":{\"NCPU\":2},"
         "\"future\":[1,2,3]}");
    CHECK_INT(json_array_size(e.containers), 2);

    bad(&e, FRAME_STATE_SNAPSHOT, "", "snapshot: not JSON");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[]", "not JSON");
    bad(&e, FRAME_STATE_SNAPSHOT, "{} {}", "not JSON");
    bad(&e, FRAME_STATE_SNAPSHOT, "[]", "snapshot: not a JSON object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"info\":{},\"info\":{}}", "duplicate");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":{}}", "\"containers\" is not an array");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[1]}", "containers[0]: not an object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Names\":[]}]}", "containers[0]: \"Id\"");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"\"}]}", "\"Id\" is not");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\"},{\"Id\":\"a\"}]}",
        "containers[1]: duplicate \"Id\" a");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\",\"Names\":\"/x\"}]}",
        "\"Names\" is not an array");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\",\"Names\":[\"/x\",3]}]}",
        "\"Names\"[1] is not a string");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\",\"State\":1}]}",
        "\"State\" is not a string");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\",\"Labels\":[]}]}",
        "\"Labels\" is not an object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[{\"Id\":\"a\",\"HostConfig\":1}]}",
        "\"HostConfig\" is not an object");
    bad(&e, FRAME_STATE_SNAPSHOT,
        "{\"containers\":[{\"Id\":\"a\",\"HostConfig\":{\"Memory\":\"1g\"}}]}",
        "\"HostConfig\".\"Memory\" is not an integer");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"images\":{}}", "\"images\" is not an array");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"images\":[\"x\"]}", "\"images\"[0] is not an object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"info\":[]}", "\"info\" is not an object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"version\":\"1\"}", "\"version\" is not an object");
    bad(&e, FRAME_STATE_SNAPSHOT, "{\"error\":true}", "\"error\" is not a string");
    bad(&e, FRAME_STATE_DELTA, "{\"event\":\"start\"}", "\"event\" is not an object");
    bad(&e, FRAME_STATE_DELTA, "{\"container\":{\"Id\":\"c2\",\"Names\":[1]}}",
        "delta: container: \"Names\"[0]");
    bad(&e, FRAME_STATE_DELTA, "{\"container\":[]}", "delta: container: not an object");
    bad(&e, FRAME_STATE_DELTA, "{\"removed\":1}", "\"removed\" is not a string");
    bad(&e, FRAME_STATE_DELTA, "{\"images\":null}", "\"images\" is not an array");
    bad(&e, FRAME_STATE_DELTA, "{\"info\":1}", "\"info\" is not an object");
    bad(&e, FRAME_STATE_DELTA, "{\"version\":[]}", "\"version\" is not an object");
    /* A valid part does not go in when another part is bad. */
    bad(&e, FRAME_STATE_DELTA, "{\"container\":{\"Id\":\"c9\"},\"removed\":5}", "\"removed\"");
    CHECK_INT(json_array_size(e.containers), 2);
    bad(&e, FRAME_STATE_DELTA, "\"just a string\"", "delta: not JSON");
    bad(&e, FRAME_STATE_DELTA, "[{}]", "delta: not a JSON object");
    bad(&e, 7, "{}", "unknown state kind 7");
    /* Strings with NUL bytes are not JSON jansson takes without JSON_ALLOW_NUL. */
    char nul[] = "{\"removed\":\"c1\\u0000x\"}";
    bad(&e, FRAME_STATE_DELTA, nul, "not JSON");
    CHECK(e.ready);

    /* An event comes back as a new reference; unknown keys are skipped. */
    json_t *ev = NULL;
    char err[256];
    const char *d = "{\"event\":{\"Action\":\"die\"},\"whatever\":1}";
    CHECK_INT(engines_apply_state(&e, FRAME_STATE_DELTA, d, strlen(d), &ev, err, sizeof(err)), 0);
    CHECK(ev != NULL && json_is_object(ev));
    CHECK_STR(json_string_value(json_object_get(ev, "Action")), "die");
    json_decref(ev);
    CHECK_INT(engines_apply_state(&e, FRAME_STATE_DELTA, d, strlen(d), NULL, err, sizeof(err)), 0);

    /* A snapshot with "error": empty lists, not ready, the text kept (truncated). */
    char big[600];
    int off = snprintf(big, sizeof(big), "{\"containers\":[],\"images\":[],\"error\":\"");
    memset(big + off, 'e', 300);
    snprintf(big + off + 300, sizeof(big) - (size_t)off - 300, "\"}");
    feed(&e, FRAME_STATE_SNAPSHOT, big);
    CHECK(!e.ready);
    CHECK_INT(strlen(e.error), sizeof(e.error) - 1);
    CHECK_INT(json_array_size(e.containers), 0);
    feed(&e, FRAME_STATE_SNAPSHOT, "{\"containers\":[]}");
    CHECK(e.ready);
    CHECK_STR(e.error, "");
    engine_clear(&e);
    engine_clear(&e); /* harmless twice */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("ENGINES_TEST_LOG") == NULL)
        log_set_level(LOG_ERROR);
    if (swcrypto_init() < 0)
        return 1;
    keypair_generate(&agent_kp);
    keypair_generate(&manager_kp);
    RUN(test_apply);
    RUN(test_lookup);
    RUN(test_lookup_index);
    RUN(test_order);
    RUN(test_exec_map);
    RUN(test_relay_state);
    RUN(test_engines_relay);
    RUN(test_engines_retry_close);
    keypair_wipe(&agent_kp);
    keypair_wipe(&manager_kp);
    return check_done();
}
