/*
 * Unit tests for the relay: the agent's relay_server and the manager's relay_client, both in
 * this process on one libuv loop over loopback TCP, in front of a fake engine — a unix socket
 * server whose behaviour the first byte of each connection picks:
 *
 *   'E'  echo: writes back every byte after it; at end-of-file writes "bye\n", then shuts
 *        down its side (so the bytes after the manager's half-close are seen to pass)
 *   'S'  stream: writes engine.stream_bytes bytes of a known pattern, then closes
 *   'H'  half: writes "banner\n" and shuts down its side at once, then counts what it reads
 *        until end-of-file
 *
 * Raw TCP clients play the hostile peer: garbage, silence, a replayed frame, an oversized
 * frame, a frame that does not decode. Every test ends with every handle closed and
 * uv_loop_close() == 0; the valgrind label runs the same binary for leaks.
 */
#include "agent/relay_server.h"
#include "common/log.h"
#include "crypto/swcrypto.h"
#include "manager/relay_client.h"
#include "tests/unit/check.h"
#include "tests/unit/loop_harness.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MB (1024 * 1024)
#define TIMEOUT_MS 60000

static struct keypair agent_kp, manager_kp, other_kp;

static uint8_t pat(size_t i)
{
    return (uint8_t)((i * 131u) ^ (i >> 9));
}

/* ---- the fake engine ------------------------------------------------------------------------- */

struct engine {
    uv_loop_t *loop;
    uv_pipe_t server;
    char path[80];
    size_t stream_bytes;
    int open, accepted, closed;
    int echo_eofs, half_eofs;
    size_t half_received;
};

struct econn {
    struct engine *e;
    uv_pipe_t pipe;
    uv_shutdown_t sd;
    char mode;
    size_t sent, inflight;
    bool paused, closing, shut;
};

struct ewrite {
    uv_write_t req;
    struct econn *ec;
    size_t len;
    uint8_t data[];
};

static void econn_closed(uv_handle_t *h)
{
    struct econn *ec = h->data;
    ec->e->open--;
    free(ec);
}

static void econn_close(struct econn *ec)
{
    if (ec->closing)
        return;
    ec->closing = true;
    uv_close((uv_handle_t *)&ec->pipe, econn_closed);
}

static void econn_write_done(uv_write_t *req, int status);

static int econn_write(struct econn *ec, const uint8_t *p, size_t len)
{
    struct ewrite *w = malloc(sizeof(*w) + len);
    w->ec = ec;
    w->len = len;
    memcpy(w->data, p, len);
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&ec->pipe, &b, 1, econn_write_done) < 0) {
        free(w);
        econn_close(ec);
        return -1;
    }
    ec->inflight += len;
    return 0;
}

static void econn_shut_done(uv_shutdown_t *req, int status)
{
    (void)status;
    struct econn *ec = req->data;
    if (ec->mode != 'H')
        econn_close(ec);
}

static void econn_shutdown(struct econn *ec)
{
    if (ec->shut || ec->closing)
        return;
    ec->shut = true;
    ec->sd.data = ec;
    if (uv_shutdown(&ec->sd, (uv_stream_t *)&ec->pipe, econn_shut_done) < 0 && ec->mode != 'H')
        econn_close(ec);
}

static void stream_pump(struct econn *ec)
{
    uint8_t chunk[65536];
    while (!ec->closing && ec->inflight < 4 * sizeof(chunk) && ec->sent < ec->e->stream_bytes) {
        size_t n = ec->e->stream_bytes - ec->sent;
        if (n > sizeof(chunk))
            n = sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = pat(ec->sent + i);
        if (econn_write(ec, chunk, n) < 0)
            return;
        ec->sent += n;
    }
    if (ec->sent == ec->e->stream_bytes && ec->inflight == 0)
        econn_shutdown(ec);
}

static void econn_alloc(uv_handle_t *h, size_t sugg, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(sugg);
    buf->len = sugg;
}

static void econn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void econn_write_done(uv_write_t *req, int status)
{
    struct ewrite *w = req->data;
    struct econn *ec = w->ec;
    ec->inflight -= w->len;
    free(w);
    if (ec->closing)
        return;
    if (status < 0) {
        econn_close(ec);
        return;
    }
    if (ec->mode == 'S')
        stream_pump(ec);
    if (ec->mode == 'E' && ec->paused && ec->inflight < 256 * 1024) {
        ec->paused = false;
        uv_read_start((uv_stream_t *)&ec->pipe, econn_alloc, econn_read);
    }
}

static void econn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct econn *ec = st->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = nread > 0 ? (size_t)nread : 0;
    if (nread < 0) {
        free(buf->base);
        if (nread != UV_EOF) {
            econn_close(ec);
            return;
        }
        uv_read_stop(st);
        ec->paused = false; /* reading is over: a write callback must not restart it */
        if (ec->mode == 'E') {
            ec->e->echo_eofs++;
            econn_write(ec, (const uint8_t *)"bye\n", 4);
            econn_shutdown(ec);
        } else if (ec->mode == 'H') {
            ec->e->half_eofs++;
            econn_close(ec);
        } else if (ec->mode == 0) {
            econn_close(ec);
        }
        return;
    }
    if (n && ec->mode == 0) {
        ec->mode = (char)p[0];
        p++;
        n--;
        if (ec->mode == 'S') {
            stream_pump(ec);
        } else if (ec->mode == 'H') {
            econn_write(ec, (const uint8_t *)"banner\n", 7);
            econn_shutdown(ec);
        }
    }
    if (n && ec->mode == 'E') {
        econn_write(ec, p, n);
        if (ec->inflight > MB && !ec->paused) {
            ec->paused = true;
            uv_read_stop(st);
        }
    } else if (ec->mode == 'H') {
        ec->e->half_received += n;
    }
    free(buf->base);
}

static void engine_on_conn(uv_stream_t *server, int status)
{
    struct engine *e = server->data;
    if (status < 0)
        return;
    struct econn *ec = calloc(1, sizeof(*ec));
    ec->e = e;
    uv_pipe_init(e->loop, &ec->pipe, 0);
    ec->pipe.data = ec;
    e->open++;
    if (uv_accept(server, (uv_stream_t *)&ec->pipe) < 0) {
        econn_close(ec);
        return;
    }
    e->accepted++;
    uv_read_start((uv_stream_t *)&ec->pipe, econn_alloc, econn_read);
}

static int engine_counter;

static void engine_start(struct engine *e, uv_loop_t *loop)
{
    memset(e, 0, sizeof(*e));
    e->loop = loop;
    e->stream_bytes = MB;
    snprintf(e->path, sizeof(e->path), "/tmp/swrelay-%d-%d.sock", (int)getpid(), engine_counter++);
    unlink(e->path);
    uv_pipe_init(loop, &e->server, 0);
    e->server.data = e;
    CHECK_INT(uv_pipe_bind(&e->server, e->path), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&e->server, 128, engine_on_conn), 0);
}

static void engine_closed(uv_handle_t *h)
{
    struct engine *e = h->data;
    e->closed = 1;
    unlink(e->path);
}

/* ---- the world: loop, engine, agent, manager connection -------------------------------------- */

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct engine eng;
    struct relay_server *srv;
    bool srv_closed;
    struct relay_conn *conn;
    int ready, conn_closed;
    char conn_reason[256];
};

static void world_start(struct world *w, const char *engine_path, const struct relay_link_timing *t)
{
    memset(w, 0, sizeof(*w));
    LOOP_HARNESS_INIT(w);
    engine_start(&w->eng, &w->loop);
    const uint8_t(*managers)[KEYPAIR_BYTES] = (const uint8_t(*)[KEYPAIR_BYTES]) & manager_kp.pk;
    struct relay_server_config cfg = {
        .host = "127.0.0.1",
        .port = 0,
        .engine_path = engine_path ? engine_path : w->eng.path,
        .self = &agent_kp,
        .managers = managers,
        .nmanagers = 1,
    };
    if (t)
        cfg.timing = *t;
    char err[256] = "";
    w->srv = relay_server_start(&w->loop, &cfg, err, sizeof(err));
    CHECK(w->srv != NULL);
    if (w->srv == NULL)
        printf("# %s\n", err);
}

static void conn_ready(struct relay_conn *c, void *arg)
{
    (void)c;
    struct world *w = arg;
    w->ready++;
}

static void conn_closed(struct relay_conn *c, const char *reason, void *arg)
{
    (void)c;
    struct world *w = arg;
    w->conn_closed++;
    snprintf(w->conn_reason, sizeof(w->conn_reason), "%s", reason);
}

static const struct relay_conn_callbacks conn_cb = {.on_ready = conn_ready,
                                                    .on_close = conn_closed};

static void server_addr(struct world *w, struct sockaddr_in *a)
{
    uv_ip4_addr("127.0.0.1", relay_server_port(w->srv), a);
}

static struct relay_conn *world_connect(struct world *w, const struct keypair *mgr,
                                        const uint8_t *agent_pk, const struct relay_link_timing *t)
{
    struct sockaddr_in a;
    server_addr(w, &a);
    char err[256] = "";
    w->ready = w->conn_closed = 0;
    w->conn = relay_conn_new(&w->loop, (const struct sockaddr *)&a, agent_pk, mgr, t, &conn_cb, w,
                             err, sizeof(err));
    CHECK(w->conn != NULL);
    return w->conn;
}

static void srv_closed_cb(void *arg)
{
    struct world *w = arg;
    w->srv_closed = true;
}

static void world_finish(struct world *w)
{
    if (w->conn && !w->conn_closed) {
        relay_conn_close(w->conn);
        RUN_UNTIL(w, w->conn_closed, TIMEOUT_MS);
    }
    relay_server_close(w->srv, srv_closed_cb, w);
    RUN_UNTIL(w, w->srv_closed, TIMEOUT_MS);
    RUN_UNTIL(w, w->eng.open == 0, TIMEOUT_MS);
    uv_close((uv_handle_t *)&w->eng.server, engine_closed);
    LOOP_HARNESS_DRAIN(w);
    CHECK(w->eng.closed);
    relay_server_free(w->srv);
    CHECK_LOOP_CLOSED(w);
}

/* ---- a manager-side stream ------------------------------------------------------------------- */

struct ms {
    struct relay_stream *s;
    /* what we send: src[0..src_len), then a shutdown if shutdown_after */
    const uint8_t *src;
    size_t src_len, src_off;
    bool shutdown_after, shut, write_on_eof;
    bool park_on_done, parked; /* park the stream as its last write is done */
    size_t piece;              /* bytes per write (0: 65536) */
    int done_ok, done_cancelled;
    /* what we receive */
    bool keep, check_pattern, pause_on_first, shutdown_on_eof;
    uint8_t *rx;
    size_t rx_len, rx_cap, received, pattern_errors;
    int eof, closed, code;
    char reason[256];
};

static void ms_pump(struct ms *m);

static void ms_written(struct relay_stream *s, int status, void *arg)
{
    (void)s;
    struct ms *m = arg;
    if (status == 0)
        m->done_ok++;
    else
        m->done_cancelled++;
    if (status == 0 && m->park_on_done && m->src_off == m->src_len && relay_stream_park(s)) {
        m->parked = true;
        m->s = NULL;
        return;
    }
    if (status == 0 && m->s)
        ms_pump(m);
}

static void ms_pump(struct ms *m)
{
    while (m->s && m->src_off < m->src_len) {
        size_t n = m->src_len - m->src_off;
        size_t most = m->piece ? m->piece : 65536;
        if (n > most)
            n = most;
        int rc = relay_stream_write(m->s, m->src + m->src_off, n, ms_written, m);
        if (rc == UV_ENOBUFS)
            return;
        CHECK_INT(rc, 0);
        if (rc != 0)
            return;
        m->src_off += n;
    }
    if (m->s && m->src_off == m->src_len && m->shutdown_after && !m->shut) {
        m->shut = true;
        CHECK_INT(relay_stream_shutdown(m->s), 0);
    }
}

static void ms_data(struct relay_stream *s, const uint8_t *data, size_t len, void *arg)
{
    struct ms *m = arg;
    if (m->keep) {
        if (m->rx_len + len > m->rx_cap) {
            m->rx_cap = (m->rx_len + len) * 2;
            m->rx = realloc(m->rx, m->rx_cap);
        }
        memcpy(m->rx + m->rx_len, data, len);
        m->rx_len += len;
    }
    if (m->check_pattern)
        for (size_t i = 0; i < len; i++)
            if (data[i] != pat(m->received + i))
                m->pattern_errors++;
    m->received += len;
    if (m->pause_on_first) {
        m->pause_on_first = false;
        relay_stream_read_stop(s);
    }
}

static void ms_eof(struct relay_stream *s, void *arg)
{
    (void)s;
    struct ms *m = arg;
    m->eof++;
    if (m->write_on_eof) {
        m->shutdown_after = true;
        ms_pump(m);
    }
    if (m->shutdown_on_eof && !m->shut) {
        m->shut = true;
        CHECK_INT(relay_stream_shutdown(m->s), 0);
    }
}

static void ms_close(struct relay_stream *s, int code, const char *reason, void *arg)
{
    (void)s;
    struct ms *m = arg;
    m->closed++;
    m->code = code;
    snprintf(m->reason, sizeof(m->reason), "%s", reason);
    m->s = NULL;
}

static const struct relay_stream_callbacks ms_cb = {ms_data, ms_eof, ms_close};

/* Opens a stream on the world's connection; a connection that already ended (which a test
 * did not expect) fails the check instead of touching freed memory. */
static void ms_open(struct ms *m, struct world *w)
{
    CHECK(w->conn != NULL && !w->conn_closed);
    if (w->conn == NULL || w->conn_closed)
        return;
    m->s = relay_stream_open(w->conn, &ms_cb, m);
    CHECK(m->s != NULL);
    ms_pump(m);
}

static void ms_free(struct ms *m)
{
    free(m->rx);
    m->rx = NULL;
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* Handshake, one echo round trip with both half-closes, and PING answered by the agent. */
static void test_handshake_echo(void)
{
    struct world w;
    /* The agent drops a connection silent for 2 s; the manager pings every 50 ms. */
    struct relay_link_timing agent_t = {.idle_ms = 2000};
    world_start(&w, NULL, &agent_t);
    struct relay_link_timing t = {.ping_ms = 50, .idle_ms = 10000};
    world_connect(&w, &manager_kp, agent_kp.pk, &t);
    RUN_UNTIL(&w, w.ready == 1, TIMEOUT_MS);
    CHECK(!w.conn_closed && relay_conn_ready(w.conn));

    static const uint8_t msg[] = "Ehello relay";
    struct ms m = {.src = msg, .src_len = sizeof(msg) - 1, .shutdown_after = true, .keep = true};
    ms_open(&m, &w);
    RUN_UNTIL(&w, m.closed, TIMEOUT_MS);
    CHECK_INT(m.code, RELAY_END_OK);
    CHECK_INT(m.eof, 1);
    CHECK_INT(m.done_ok, 1);
    CHECK_INT(m.rx_len, 15);
    CHECK(m.rx_len == 15 && memcmp(m.rx, "hello relaybye\n", 15) == 0);
    CHECK_INT(w.eng.echo_eofs, 1);
    CHECK_INT(relay_server_nstreams(w.srv), 0);
    CHECK(!w.conn_closed && relay_conn_nstreams(w.conn) == 0);

    /* 3 s with nothing but pings: the agent keeps the connection. */
    DEADLINE_START(&w, 3000);
    while (!w.timed_out && !w.conn_closed)
        uv_run(&w.loop, UV_RUN_ONCE);
    DEADLINE_STOP(&w);
    CHECK_INT(w.conn_closed, 0);

    const struct relay_server_stats *st = relay_server_stats(w.srv);
    CHECK_INT(st->authenticated, 1);
    CHECK_INT(st->streams_opened, 1);
    CHECK_INT(st->handshake_failed, 0);
    CHECK_INT(st->conn_errors, 0);
    ms_free(&m);
    world_finish(&w);
}

/* A manager that never pings is dropped once the agent heard nothing for idle_ms. */
static void test_idle_timeout(void)
{
    struct world w;
    struct relay_link_timing agent_t = {.idle_ms = 300};
    world_start(&w, NULL, &agent_t);
    struct relay_link_timing t = {.ping_ms = 0, .idle_ms = 60000};
    uint64_t t0 = uv_now(&w.loop); /* the agent hears the handshake after this */
    world_connect(&w, &manager_kp, agent_kp.pk, &t);
    RUN_UNTIL(&w, w.conn_closed == 1, TIMEOUT_MS);
    CHECK_INT(w.ready, 1);
    CHECK(uv_now(&w.loop) - t0 >= 300);
    CHECK(strstr(w.conn_reason, "without a FINAL") != NULL);
    CHECK_INT(relay_server_stats(w.srv)->conn_errors, 1);
    world_finish(&w);
}

/* A manager key the token does not name, or a wrong agent key: refused at message 1; a stream
 * opened before the handshake ends with the connection. */
static void test_wrong_keys(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &other_kp, agent_kp.pk, NULL);
    struct ms m = {0};
    ms_open(&m, &w);
    RUN_UNTIL(&w, w.conn_closed, TIMEOUT_MS);
    CHECK_INT(w.ready, 0);
    CHECK(strstr(w.conn_reason, "during the handshake") != NULL);
    CHECK_INT(m.closed, 1);
    CHECK_INT(m.code, RELAY_END_CONN);
    RUN_UNTIL(&w, relay_server_stats(w.srv)->handshake_failed == 1, TIMEOUT_MS);

    /* The right manager key, but we expect another agent key. */
    world_connect(&w, &manager_kp, other_kp.pk, NULL);
    RUN_UNTIL(&w, w.conn_closed, TIMEOUT_MS);
    CHECK_INT(w.ready, 0);
    RUN_UNTIL(&w, relay_server_stats(w.srv)->handshake_failed == 2, TIMEOUT_MS);
    CHECK_INT(relay_server_stats(w.srv)->authenticated, 0);
    CHECK_INT(w.eng.accepted, 0);
    world_finish(&w);
}

/* 100 streams at once, each echoing its own 20 KB, all byte-exact. */
static void test_many_streams(void)
{
    enum { N = 100, SIZE = 20000 };
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    static struct ms ms[N];
    static uint8_t src[N][SIZE + 1];
    memset(ms, 0, sizeof(ms));
    for (int i = 0; i < N; i++) {
        src[i][0] = 'E';
        for (int j = 1; j <= SIZE; j++)
            src[i][j] = (uint8_t)(i * 7 + j);
        ms[i] = (struct ms){.src = src[i], .src_len = SIZE + 1, .keep = true};
        ms_open(&ms[i], &w);
    }
    CHECK(!w.conn_closed && relay_conn_nstreams(w.conn) == N);
    /* Every echo back before any stream closes: all N are open at the agent at once. */
    int echoed = 0;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (echoed < N && !w.timed_out && !w.conn_closed) {
        uv_run(&w.loop, UV_RUN_ONCE);
        echoed = 0;
        for (int i = 0; i < N; i++)
            echoed += ms[i].rx_len == SIZE;
    }
    DEADLINE_STOP(&w);
    CHECK_INT(echoed, N);
    CHECK_INT(relay_server_nstreams(w.srv), N);
    CHECK_INT(w.eng.open, N);
    /* Then each closes its side; the engine's "bye" and EOF come back on every one. */
    for (int i = 0; i < N; i++) {
        ms[i].shutdown_after = true;
        ms_pump(&ms[i]);
    }
    int closed = 0;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (closed < N && !w.timed_out) {
        uv_run(&w.loop, UV_RUN_ONCE);
        closed = 0;
        for (int i = 0; i < N; i++)
            closed += ms[i].closed;
    }
    DEADLINE_STOP(&w);
    CHECK_INT(closed, N);
    int exact = 0;
    for (int i = 0; i < N; i++)
        exact += ms[i].code == RELAY_END_OK && ms[i].rx_len == SIZE + 4 &&
                 memcmp(ms[i].rx, src[i] + 1, SIZE) == 0 &&
                 memcmp(ms[i].rx + SIZE, "bye\n", 4) == 0;
    CHECK_INT(exact, N);
    RUN_UNTIL(&w, w.eng.echo_eofs == N && relay_server_nstreams(w.srv) == 0, TIMEOUT_MS);
    for (int i = 0; i < N; i++)
        ms_free(&ms[i]);
    world_finish(&w);
}

/* A paused reader holds at most its window; another stream goes on at full speed meanwhile. */
static void test_slow_consumer(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    w.eng.stream_bytes = 4 * MB;
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    struct ms slow = {.src = (const uint8_t *)"S",
                      .src_len = 1,
                      .check_pattern = true,
                      .pause_on_first = true,
                      .shutdown_on_eof = true};
    ms_open(&slow, &w);
    RUN_UNTIL(&w, slow.received > 0, TIMEOUT_MS);

    size_t n = MB + 1;
    uint8_t *src = malloc(n);
    src[0] = 'E';
    for (size_t i = 1; i < n; i++)
        src[i] = pat(i * 3);
    struct ms fast = {.src = src, .src_len = n, .shutdown_after = true, .keep = true};
    ms_open(&fast, &w);
    RUN_UNTIL(&w, fast.closed, TIMEOUT_MS);
    CHECK_INT(fast.code, RELAY_END_OK);
    CHECK(fast.rx_len == n + 3 && memcmp(fast.rx, src + 1, n - 1) == 0);
    /* Still paused: what arrived meanwhile is within the window. */
    CHECK_INT(slow.closed, 0);
    if (!slow.closed) {
        RUN_UNTIL(&w, slow.closed || relay_stream_buffered(slow.s) > 0, TIMEOUT_MS);
        CHECK(!slow.closed && relay_stream_buffered(slow.s) <= RELAY_WINDOW);
        if (!slow.closed)
            relay_stream_read_start(slow.s);
    }
    RUN_UNTIL(&w, slow.closed, TIMEOUT_MS);
    CHECK_INT(slow.code, RELAY_END_OK);
    CHECK_INT(slow.received, 4 * MB);
    CHECK_INT(slow.pattern_errors, 0);
    CHECK_INT(slow.eof, 1);
    free(src);
    ms_free(&fast);
    world_finish(&w);
}

/* 10 MB from the engine, and 10 MB to the engine and back, byte-exact. */
/* 10 MB each way, with the frame suite each handshake gives: version 1 (secretstream),
 * version 2 (AES-256-GCM where this machine has it), version 2 with SWARM_RELAY_CIPHER=
 * secretstream. */
static void ten_megabytes(int v2, const char *force)
{
    struct world w;
    if (force)
        setenv("SWARM_RELAY_CIPHER", force, 1);
    world_start(&w, NULL, NULL);
    w.eng.stream_bytes = 10 * MB;
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    if (v2)
        relay_conn_offer_suites(w.conn);
    RUN_UNTIL(&w, w.ready == 1, TIMEOUT_MS);
    unsigned want = FRAME_SUITE_SECRETSTREAM;
    if (v2 && !force && crypto_aead_aes256gcm_is_available())
        want = FRAME_SUITE_AES256GCM;
    CHECK_INT(relay_conn_suite(w.conn), want);
    unsetenv("SWARM_RELAY_CIPHER");
    struct ms down = {
        .src = (const uint8_t *)"S", .src_len = 1, .check_pattern = true, .shutdown_on_eof = true};
    ms_open(&down, &w);
    size_t n = 10 * MB + 1;
    uint8_t *src = malloc(n);
    src[0] = 'E';
    for (size_t i = 1; i < n; i++)
        src[i] = pat(i + 12345);
    struct ms echo = {.src = src, .src_len = n, .shutdown_after = true, .keep = true};
    ms_open(&echo, &w);
    RUN_UNTIL(&w, down.closed && echo.closed, TIMEOUT_MS);
    CHECK_INT(down.code, RELAY_END_OK);
    CHECK_INT(down.received, 10 * MB);
    CHECK_INT(down.pattern_errors, 0);
    CHECK_INT(echo.code, RELAY_END_OK);
    CHECK_INT(echo.rx_len, n + 3);
    CHECK(echo.rx_len == n + 3 && memcmp(echo.rx, src + 1, n - 1) == 0);
    CHECK_INT(echo.done_cancelled, 0);
    const struct relay_server_stats *st = relay_server_stats(w.srv);
    CHECK_INT(st->bytes_to_engine, 1 + n);
    CHECK_INT(st->bytes_from_engine, 10 * MB + (n - 1) + 4);
    free(src);
    ms_free(&echo);
    world_finish(&w);
}

static void test_ten_megabytes(void)
{
    ten_megabytes(0, NULL);
    ten_megabytes(1, NULL);
    ten_megabytes(1, "secretstream");
}

/* The engine closes its side first and still reads; then the manager closes its side. */
static void test_half_close(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    size_t n = 100000;
    uint8_t *body = malloc(n);
    memset(body, 'x', n);
    struct ms m = {.src = (const uint8_t *)"H", .src_len = 1, .keep = true};
    ms_open(&m, &w);
    RUN_UNTIL(&w, m.eof == 1, TIMEOUT_MS);
    CHECK(m.rx_len == 7 && memcmp(m.rx, "banner\n", 7) == 0);
    /* After the engine's EOF, 100 KB more to it, then our EOF. */
    m.src = body;
    m.src_len = n;
    m.src_off = 0;
    m.shutdown_after = true;
    ms_pump(&m);
    RUN_UNTIL(&w, m.closed, TIMEOUT_MS);
    CHECK_INT(m.code, RELAY_END_OK);
    RUN_UNTIL(&w, w.eng.half_eofs == 1, TIMEOUT_MS);
    CHECK_INT(w.eng.half_received, n);
    free(body);
    ms_free(&m);
    world_finish(&w);
}

/* Many small writes (joined into frames by the client) arrive whole and in order, each with
 * its done callback. */
static void test_small_writes(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    size_t n = 3 * MB + 1;
    uint8_t *src = malloc(n);
    src[0] = 'E';
    for (size_t i = 1; i < n; i++)
        src[i] = pat(i - 1);
    struct ms m = {
        .src = src, .src_len = n, .piece = 1000, .shutdown_after = true, .check_pattern = true};
    /* the first byte picks the mode: checked from the second on */
    m.received = 0;
    ms_open(&m, &w);
    RUN_UNTIL(&w, m.closed, TIMEOUT_MS);
    CHECK_INT(m.code, RELAY_END_OK);
    CHECK_INT((int)m.received, (int)(n - 1 + 4)); /* the echo and "bye\n" */
    CHECK_INT(m.done_ok, (int)((n + 999) / 1000));
    CHECK_INT(m.done_cancelled, 0);
    CHECK((int)m.pattern_errors <= 4); /* only "bye\n" may differ from the pattern */
    free(src);
    world_finish(&w);
}

/* No engine at the path: the stream ends with code 2 and a reason; the connection lives on. */
static void test_engine_missing(void)
{
    struct world w;
    world_start(&w, "/tmp/swrelay-no-such-engine.sock", NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    struct ms m = {.src = (const uint8_t *)"Ehi", .src_len = 3, .shutdown_after = true};
    ms_open(&m, &w);
    RUN_UNTIL(&w, m.closed, TIMEOUT_MS);
    CHECK_INT(m.code, FRAME_CODE_UNREACHABLE);
    CHECK(strstr(m.reason, "swrelay-no-such-engine.sock") != NULL);
    CHECK(strstr(m.reason, "no such file") != NULL);
    CHECK_INT(m.done_ok + m.done_cancelled, 1);
    CHECK_INT(relay_server_stats(w.srv)->streams_unreachable, 1);
    CHECK_INT(w.conn_closed, 0);
    world_finish(&w);
}

/* relay_stream_close mid-stream and relay_conn_close with a stream open: the agent lets go of
 * the engine sockets, every callback runs once. */
static void test_close_paths(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    w.eng.stream_bytes = 10 * MB;
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    struct ms a = {.src = (const uint8_t *)"S", .src_len = 1, .pause_on_first = true};
    ms_open(&a, &w);
    RUN_UNTIL(&w, a.received > 0 && w.eng.open == 1, TIMEOUT_MS);
    relay_stream_close(a.s);
    relay_stream_close(a.s); /* harmless until on_close */
    CHECK_INT(a.closed, 0);  /* never from inside the call */
    RUN_UNTIL(&w, a.closed == 1, TIMEOUT_MS);
    CHECK_INT(a.code, RELAY_END_LOCAL);
    RUN_UNTIL(&w, relay_server_nstreams(w.srv) == 0 && w.eng.open == 0, TIMEOUT_MS);

    /* A queued write that the window holds back is cancelled by the close. */
    struct ms b = {.src = (const uint8_t *)"S", .src_len = 1, .pause_on_first = true};
    ms_open(&b, &w);
    RUN_UNTIL(&w, b.received > 0, TIMEOUT_MS);
    CHECK_INT(w.conn_closed, 0);
    if (!w.conn_closed)
        relay_conn_close(w.conn);
    RUN_UNTIL(&w, w.conn_closed == 1, TIMEOUT_MS);
    CHECK_INT(b.closed, 1);
    CHECK_INT(b.code, RELAY_END_CONN);
    CHECK_STR(w.conn_reason, "closed");
    RUN_UNTIL(&w, relay_server_nconns(w.srv) == 0 && w.eng.open == 0, TIMEOUT_MS);
    CHECK_INT(relay_server_stats(w.srv)->conn_errors, 0);

    /* The agent stops with a stream open: the manager sees a clean close. */
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    struct ms c = {.src = (const uint8_t *)"S", .src_len = 1, .pause_on_first = true};
    ms_open(&c, &w);
    RUN_UNTIL(&w, c.received > 0, TIMEOUT_MS);
    relay_server_close(w.srv, srv_closed_cb, &w);
    RUN_UNTIL(&w, w.conn_closed == 1 && w.srv_closed, TIMEOUT_MS);
    CHECK_INT(c.closed, 1);
    CHECK_INT(c.code, RELAY_END_CONN);
    CHECK(strstr(w.conn_reason, "closed the connection") != NULL);
    CHECK(strstr(w.conn_reason, "without") == NULL); /* it came with a FINAL */
    world_finish(&w);
}

/* ---- hostile raw clients --------------------------------------------------------------------- */

enum raw_mode { RAW_GARBAGE, RAW_IDLE, RAW_REPLAY, RAW_BIGFRAME, RAW_BADFRAME, RAW_PROTOCOL };

struct raw {
    enum raw_mode mode;
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct hs hs;
    struct frame_cipher fc;
    bool ready, got_pong, peer_closed, closed;
    uint8_t in[4096];
    size_t inlen;
    uint8_t sent[64];
    size_t sent_len;
    uint32_t closes[4]; /* RAW_PROTOCOL: the CLOSE code seen per stream id, +1 */
};

struct rw {
    uv_write_t req;
    uint8_t data[];
};

static void raw_written(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

static void raw_write(struct raw *r, const uint8_t *p, size_t len)
{
    struct rw *w = malloc(sizeof(*w) + len);
    memcpy(w->data, p, len);
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&r->tcp, &b, 1, raw_written) < 0)
        free(w);
}

static void raw_closed(uv_handle_t *h)
{
    struct raw *r = h->data;
    r->closed = true;
}

static void raw_seal(struct raw *r, const uint8_t *pt, size_t len, bool keep)
{
    uint8_t out[128];
    size_t outlen;
    CHECK_INT(frame_seal(&r->fc, pt, len, 0, out, sizeof(out), &outlen), FRAME_OK);
    if (keep) {
        memcpy(r->sent, out, outlen);
        r->sent_len = outlen;
    }
    raw_write(r, out, outlen);
}

static void raw_frame(struct raw *r, const struct frame *f)
{
    uint8_t pt[256];
    size_t len;
    CHECK_INT(frame_encode(f, pt, sizeof(pt), &len, NULL), 0);
    raw_seal(r, pt, len, false);
}

/* Breaks the protocol step by step: an unknown target, DATA after CLOSE (each ends only its
 * stream), then an OPEN that reuses an id (ends the connection). */
static void raw_protocol(struct raw *r)
{
    struct frame f = {.type = FRAME_OPEN, .stream = 1};
    f.u.open.target = proto_str_c("nosuch");
    f.u.open.window = 1000;
    raw_frame(r, &f);
    f.stream = 2;
    f.u.open.target = proto_str_c("engine");
    raw_frame(r, &f);
    struct frame c = {.type = FRAME_CLOSE, .stream = 2};
    c.u.close.how = FRAME_CLOSE_WRITE;
    c.u.close.reason = proto_str_c("");
    raw_frame(r, &c);
    struct frame d = {.type = FRAME_DATA, .stream = 2};
    d.u.data.payload = (struct proto_bytes){(const uint8_t *)"late", 4};
    raw_frame(r, &d);
    raw_frame(r, &f); /* OPEN 2 again */
}

static void raw_after_handshake(struct raw *r)
{
    if (r->mode == RAW_PROTOCOL) {
        raw_protocol(r);
        return;
    }
    if (r->mode == RAW_REPLAY) {
        struct frame f = {.type = FRAME_PING, .u.ping = {.nonce = 7, .pong = false}};
        uint8_t pt[64];
        size_t len;
        CHECK_INT(frame_encode(&f, pt, sizeof(pt), &len, NULL), 0);
        raw_seal(r, pt, len, true);
    } else if (r->mode == RAW_BIGFRAME) {
        static const uint8_t big[8] = {0x00, 0x10, 0x00, 0x00, 1, 2, 3, 4}; /* 1 MiB declared */
        raw_write(r, big, sizeof(big));
    } else if (r->mode == RAW_BADFRAME) {
        static const uint8_t junk[] = {0xc1, 0xc1, 0xc1};
        raw_seal(r, junk, sizeof(junk), false);
    }
}

static void raw_alloc(uv_handle_t *h, size_t sugg, uv_buf_t *buf)
{
    (void)sugg;
    struct raw *r = h->data;
    buf->base = (char *)r->in + r->inlen;
    buf->len = sizeof(r->in) - r->inlen;
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct raw *r = s->data;
    if (nread < 0) {
        r->peer_closed = true;
        uv_close((uv_handle_t *)&r->tcp, raw_closed);
        return;
    }
    r->inlen += (size_t)nread;
    while (!r->ready && hs_expect(&r->hs) && r->inlen >= hs_expect(&r->hs)) {
        size_t need = hs_expect(&r->hs), outlen;
        uint8_t out[HS_MAX_MESSAGE];
        int rc = hs_step(&r->hs, r->in, need, out, sizeof(out), &outlen);
        CHECK(rc != HS_ERROR);
        memmove(r->in, r->in + need, r->inlen - need);
        r->inlen -= need;
        if (outlen)
            raw_write(r, out, outlen);
        if (rc == HS_DONE) {
            uint8_t pk[KEYPAIR_BYTES];
            CHECK_INT(hs_finish(&r->hs, &r->fc, pk, NULL), 0);
            r->ready = true;
            raw_after_handshake(r);
        }
        if (rc == HS_ERROR)
            return;
    }
    while (r->ready && r->mode == RAW_PROTOCOL) {
        size_t consumed, ptlen;
        int final;
        uint8_t pt[256];
        if (frame_open(&r->fc, r->in, r->inlen, &consumed, pt, sizeof(pt), &ptlen, &final) !=
            FRAME_OK)
            break;
        struct frame f;
        CHECK_INT(frame_decode(pt, ptlen, &f, NULL), 0);
        if (f.type == FRAME_CLOSE && f.stream < 4 && f.u.close.how == FRAME_CLOSE_RESET)
            r->closes[f.stream] = f.u.close.code + 1;
        memmove(r->in, r->in + consumed, r->inlen - consumed);
        r->inlen -= consumed;
    }
    if (r->ready && r->mode == RAW_REPLAY && !r->got_pong) {
        size_t consumed, ptlen;
        int final;
        uint8_t pt[256];
        if (frame_open(&r->fc, r->in, r->inlen, &consumed, pt, sizeof(pt), &ptlen, &final) ==
            FRAME_OK) {
            struct frame f;
            CHECK_INT(frame_decode(pt, ptlen, &f, NULL), 0);
            r->got_pong = f.type == FRAME_PING && f.u.ping.pong && f.u.ping.nonce == 7;
            memmove(r->in, r->in + consumed, r->inlen - consumed);
            r->inlen -= consumed;
            /* The same sealed bytes again: a replay. */
            raw_write(r, r->sent, r->sent_len);
        }
    }
}

static void raw_connected(uv_connect_t *req, int status)
{
    struct raw *r = req->data;
    CHECK_INT(status, 0);
    uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
    if (r->mode == RAW_GARBAGE) {
        uint8_t junk[600];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)(i * 37 + 1);
        memcpy(junk, "GET /info HTTP/1.1\r\n", 20);
        raw_write(r, junk, sizeof(junk));
    } else if (r->mode != RAW_IDLE) {
        uint8_t out[HS_MAX_MESSAGE];
        size_t outlen;
        hs_initiator_init(&r->hs, &manager_kp, agent_kp.pk);
        CHECK_INT(hs_step(&r->hs, NULL, 0, out, sizeof(out), &outlen), HS_CONTINUE);
        raw_write(r, out, outlen);
    }
}

static void raw_start(struct world *w, struct raw *r, enum raw_mode mode)
{
    memset(r, 0, sizeof(*r));
    r->mode = mode;
    uv_tcp_init(&w->loop, &r->tcp);
    r->tcp.data = r;
    r->creq.data = r;
    struct sockaddr_in a;
    server_addr(w, &a);
    CHECK_INT(uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)&a, raw_connected), 0);
}

static void raw_finish(struct raw *r)
{
    hs_close(&r->hs);
    frame_cipher_close(&r->fc);
}

/* One echo on the manager connection, to show the server still serves. */
static void check_still_serving(struct world *w)
{
    static const uint8_t msg[] = "Estill here";
    struct ms m = {.src = msg, .src_len = sizeof(msg) - 1, .shutdown_after = true, .keep = true};
    ms_open(&m, w);
    RUN_UNTIL(w, m.closed, TIMEOUT_MS);
    CHECK_INT(m.code, RELAY_END_OK);
    CHECK(m.rx_len == 14 && memcmp(m.rx, "still herebye\n", 14) == 0);
    ms_free(&m);
}

/* Garbage, an oversized frame, a frame that does not decode and a replayed frame each close
 * that connection only. */
static void test_hostile_peers(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    RUN_UNTIL(&w, w.ready, TIMEOUT_MS);

    static const enum raw_mode modes[] = {RAW_GARBAGE, RAW_BIGFRAME, RAW_BADFRAME, RAW_REPLAY,
                                          RAW_PROTOCOL};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct raw r;
        raw_start(&w, &r, modes[i]);
        RUN_UNTIL(&w, r.closed, TIMEOUT_MS);
        CHECK(r.peer_closed);
        if (modes[i] != RAW_GARBAGE)
            CHECK(r.ready);
        if (modes[i] == RAW_REPLAY)
            CHECK(r.got_pong); /* the first copy was answered, the second closed it */
        if (modes[i] == RAW_PROTOCOL) {
            CHECK_INT(r.closes[1], FRAME_CODE_REFUSED + 1);
            CHECK_INT(r.closes[2], FRAME_CODE_PROTOCOL + 1);
        }
        raw_finish(&r);
        check_still_serving(&w);
    }
    const struct relay_server_stats *st = relay_server_stats(w.srv);
    CHECK_INT(st->handshake_failed, 1);
    CHECK_INT(st->authenticated, 5);
    CHECK_INT(st->conn_errors, 4);
    CHECK_INT(st->streams_refused, 1);
    CHECK_INT(st->streams_reset, 1);
    CHECK_INT(w.conn_closed, 0);
    world_finish(&w);
}

/* Silent clients: at most RELAY_SERVER_MAX_PENDING in the handshake, each for the deadline. */
static void test_handshake_limits(void)
{
    struct world w;
    struct relay_link_timing t = {.handshake_ms = 300};
    world_start(&w, NULL, &t);
    enum { N = RELAY_SERVER_MAX_PENDING + 1 };
    static struct raw r[N];
    for (int i = 0; i < N; i++)
        raw_start(&w, &r[i], RAW_IDLE);
    RUN_UNTIL(&w, relay_server_stats(w.srv)->accepted == N, TIMEOUT_MS);
    CHECK_INT(relay_server_stats(w.srv)->refused_busy, 1);
    int closed = 0;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (closed < N && !w.timed_out) {
        uv_run(&w.loop, UV_RUN_ONCE);
        closed = 0;
        for (int i = 0; i < N; i++)
            closed += r[i].closed;
    }
    DEADLINE_STOP(&w);
    CHECK_INT(closed, N);
    CHECK_INT(relay_server_stats(w.srv)->handshake_failed, RELAY_SERVER_MAX_PENDING);
    for (int i = 0; i < N; i++)
        raw_finish(&r[i]);
    /* The manager still gets in. */
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    check_still_serving(&w);
    world_finish(&w);
}

/* One connection more than RELAY_SERVER_MAX_CONNS: the oldest is let go, cleanly. */
struct evict_conn {
    struct relay_conn *c;
    int ready, closed;
};

static void evict_ready(struct relay_conn *c, void *arg)
{
    (void)c;
    ((struct evict_conn *)arg)->ready++;
}

static void evict_closed(struct relay_conn *c, const char *reason, void *arg)
{
    (void)c;
    (void)reason;
    ((struct evict_conn *)arg)->closed++;
}

static void test_eviction(void)
{
    enum { N = RELAY_SERVER_MAX_CONNS + 1 };
    static const struct relay_conn_callbacks cb = {.on_ready = evict_ready,
                                                   .on_close = evict_closed};
    struct world w;
    world_start(&w, NULL, NULL);
    struct evict_conn ec[N];
    memset(ec, 0, sizeof(ec));
    struct sockaddr_in a;
    server_addr(&w, &a);
    char err[256];
    for (int i = 0; i < N; i++) {
        ec[i].c = relay_conn_new(&w.loop, (const struct sockaddr *)&a, agent_kp.pk, &manager_kp,
                                 NULL, &cb, &ec[i], err, sizeof(err));
        /* One at a time, so that the first is the oldest. */
        RUN_UNTIL(&w, ec[i].ready == 1, TIMEOUT_MS);
    }
    RUN_UNTIL(&w, ec[0].closed == 1, TIMEOUT_MS);
    CHECK_INT(relay_server_stats(w.srv)->evicted, 1);
    int open = 0;
    for (int i = 1; i < N; i++) {
        open += !ec[i].closed;
        if (!ec[i].closed)
            relay_conn_close(ec[i].c);
    }
    CHECK_INT(open, N - 1);
    int closed = 0;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (closed < N && !w.timed_out) {
        uv_run(&w.loop, UV_RUN_ONCE);
        closed = 0;
        for (int i = 0; i < N; i++)
            closed += ec[i].closed;
    }
    DEADLINE_STOP(&w);
    CHECK_INT(closed, N);
    CHECK_INT(relay_server_stats(w.srv)->conn_errors, 0);
    world_finish(&w);
}

/* Reuse: a stream parked after its echo is handed out again, on the same engine connection;
 * anything the agent sends on a parked stream closes it; parking is bounded per connection;
 * a connection closing with parked streams frees them. */
static void test_park(void)
{
    struct world w;
    world_start(&w, NULL, NULL);
    world_connect(&w, &manager_kp, agent_kp.pk, NULL);
    RUN_UNTIL(&w, w.ready == 1, TIMEOUT_MS);
    CHECK(relay_conn_unpark(w.conn, &ms_cb, NULL) == NULL);

    struct ms m = {.src = (const uint8_t *)"Ehello", .src_len = 6, .keep = true};
    ms_open(&m, &w);
    RUN_UNTIL(&w, m.rx_len == 5 && m.done_ok == 1, TIMEOUT_MS);
    /* Not while bytes wait to be sealed; yes once the exchange is over. */
    CHECK_INT(relay_stream_write(m.s, (const uint8_t *)"x", 1, NULL, NULL), 0);
    CHECK(!relay_stream_park(m.s));
    RUN_UNTIL(&w, m.rx_len == 6, TIMEOUT_MS);
    CHECK(relay_stream_park(m.s));
    CHECK_INT((int)relay_conn_nparked(w.conn), 1);
    m.s = NULL; /* the client's now */

    struct ms m2 = {.src = (const uint8_t *)"again", .src_len = 5, .keep = true};
    m2.s = relay_conn_unpark(w.conn, &ms_cb, &m2);
    CHECK(m2.s != NULL);
    CHECK_INT((int)relay_conn_nparked(w.conn), 0);
    ms_pump(&m2);
    RUN_UNTIL(&w, m2.rx_len == 5, TIMEOUT_MS);
    CHECK(m2.rx_len == 5 && memcmp(m2.rx, "again", 5) == 0);
    CHECK_INT(w.eng.accepted, 1); /* one engine connection carried both */
    CHECK_INT((int)relay_server_stats(w.srv)->streams_opened, 1);
    CHECK_INT(m.closed, 0); /* the first owner hears nothing more */

    /* Parked with an echo still on its way (as its write is done, before the echo can
     * come): the echo closes it, and the agent lets go of the engine connection. */
    m2.src = (const uint8_t *)"late";
    m2.src_len = 4;
    m2.src_off = 0;
    m2.park_on_done = true;
    ms_pump(&m2);
    RUN_UNTIL(&w, m2.parked, TIMEOUT_MS);
    CHECK_INT((int)relay_conn_nparked(w.conn), 1);
    RUN_UNTIL(&w, relay_conn_nparked(w.conn) == 0 && relay_server_nstreams(w.srv) == 0, TIMEOUT_MS);
    CHECK_INT(m2.closed, 0);
    CHECK_INT((int)m2.rx_len, 5);

    /* At most RELAY_PARKED_MAX: one more closes the oldest. */
    enum { N = RELAY_PARKED_MAX + 1 };
    static struct ms many[N];
    memset(many, 0, sizeof(many));
    for (int i = 0; i < N; i++) {
        many[i] = (struct ms){.src = (const uint8_t *)"Eab", .src_len = 3, .keep = true};
        ms_open(&many[i], &w);
    }
    int echoed = 0;
    DEADLINE_START(&w, TIMEOUT_MS);
    while (echoed < N && !w.timed_out) {
        uv_run(&w.loop, UV_RUN_ONCE);
        echoed = 0;
        for (int i = 0; i < N; i++)
            echoed += many[i].rx_len == 2 && many[i].done_ok == 1;
    }
    DEADLINE_STOP(&w);
    CHECK_INT(echoed, N);
    int parked = 0;
    for (int i = 0; i < N; i++) {
        if (many[i].s && relay_stream_park(many[i].s)) {
            parked++;
            many[i].s = NULL;
        }
    }
    CHECK_INT(parked, N);
    CHECK_INT((int)relay_conn_nparked(w.conn), RELAY_PARKED_MAX);
    RUN_UNTIL(&w, relay_server_nstreams(w.srv) == RELAY_PARKED_MAX, TIMEOUT_MS);
    for (int i = 0; i < N; i++) {
        CHECK_INT(many[i].closed, 0);
        ms_free(&many[i]);
    }
    ms_free(&m);
    ms_free(&m2);
    world_finish(&w); /* closes the parked streams with the connection */
    CHECK_INT(w.eng.open, 0);
}

/* ---- the link's write batch ------------------------------------------------------------------ */

struct lb {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    uv_tcp_t listener;
    struct relay_link a, m; /* the agent's end (accepted), the manager's (connected) */
    int ready, closed;
    size_t frames, bytes; /* DATA frames and their bytes at the agent's end */
    uint32_t last_stream;
    bool in_order;
};

static void lb_ready(struct relay_link *l)
{
    struct lb *b = l->data;
    b->ready++;
}

static void lb_frame(struct relay_link *l, const struct frame *f)
{
    struct lb *b = l->data;
    if (l != &b->a || f->type != FRAME_DATA)
        return;
    b->in_order = b->in_order && f->stream == b->last_stream + 1;
    b->last_stream = f->stream;
    b->frames++;
    b->bytes += f->u.data.payload.len;
}

static void lb_closed(struct relay_link *l, const char *reason)
{
    (void)reason;
    struct lb *b = l->data;
    b->closed++;
}

static const struct relay_link_ops lb_ops = {
    .ready = lb_ready, .frame = lb_frame, .drained = NULL, .closed = lb_closed};

static void lb_connection(uv_stream_t *server, int status)
{
    struct lb *b = server->data;
    CHECK_INT(status, 0);
    char err[128];
    const uint8_t(*managers)[KEYPAIR_BYTES] = (const uint8_t(*)[KEYPAIR_BYTES]) & manager_kp.pk;
    CHECK_INT(relay_link_accept(&b->a, server, &agent_kp, managers, 1, err, sizeof(err)), 0);
}

/* Frames sealed in one turn of the loop leave in one write, in order, before the loop waits;
 * a full DATA frame leaves at once. */
static void test_link_batch(void)
{
    static struct lb b;
    memset(&b, 0, sizeof(b));
    b.in_order = true;
    LOOP_HARNESS_INIT(&b);
    uv_tcp_init(&b.loop, &b.listener);
    b.listener.data = &b;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    CHECK_INT(uv_tcp_bind(&b.listener, (const struct sockaddr *)&addr, 0), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&b.listener, 8, lb_connection), 0);
    int alen = sizeof(addr);
    uv_tcp_getsockname(&b.listener, (struct sockaddr *)&addr, &alen);
    b.a.data = b.m.data = &b;
    relay_link_init(&b.a, &b.loop, &lb_ops, NULL);
    relay_link_init(&b.m, &b.loop, &lb_ops, NULL);
    char err[128];
    CHECK_INT(relay_link_connect(&b.m, (const struct sockaddr *)&addr, &manager_kp, agent_kp.pk,
                                 err, sizeof(err)),
              0);
    RUN_UNTIL(&b, b.ready == 2, TIMEOUT_MS);

    /* 20 small frames from one callback: nothing written yet, then one write. */
    uint64_t w0 = relay_link_writes(&b.m);
    for (uint32_t i = 1; i <= 20; i++)
        CHECK_INT(relay_link_send_data(&b.m, i, (const uint8_t *)"0123456789", 10), 0);
    CHECK(relay_link_writes(&b.m) == w0);
    CHECK(relay_link_queued(&b.m) > 200);
    RUN_UNTIL(&b, b.frames == 20, TIMEOUT_MS);
    CHECK(relay_link_writes(&b.m) == w0 + 1);
    CHECK_INT((int)relay_link_queued(&b.m), 0);
    CHECK(b.in_order);
    CHECK_INT((int)b.bytes, 200);

    /* Two small frames around a full DATA frame: the batch leaves with the full frame, at once,
     * and the last small one before the loop waits. */
    static uint8_t big[FRAME_DATA_MAX];
    memset(big, 'x', sizeof(big));
    w0 = relay_link_writes(&b.m);
    CHECK_INT(relay_link_send_data(&b.m, 21, (const uint8_t *)"a", 1), 0);
    CHECK_INT(relay_link_send_data(&b.m, 22, big, sizeof(big)), 0);
    CHECK(relay_link_writes(&b.m) == w0 + 1);
    CHECK_INT(relay_link_send_data(&b.m, 23, (const uint8_t *)"b", 1), 0);
    CHECK(relay_link_writes(&b.m) == w0 + 1);
    RUN_UNTIL(&b, b.frames == 23, TIMEOUT_MS);
    CHECK(relay_link_writes(&b.m) == w0 + 2);
    CHECK(b.in_order);
    CHECK_INT((int)b.bytes, 200 + 2 + FRAME_DATA_MAX);

    /* A graceful close sends what is batched before its FINAL frame. */
    CHECK_INT(relay_link_send_data(&b.m, 24, (const uint8_t *)"c", 1), 0);
    relay_link_close_graceful(&b.m, "done");
    RUN_UNTIL(&b, b.closed == 2, TIMEOUT_MS);
    CHECK_INT((int)b.frames, 24);
    CHECK(b.a.clean);
    uv_close((uv_handle_t *)&b.listener, NULL);
    LOOP_HARNESS_DRAIN(&b);
    CHECK_LOOP_CLOSED(&b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as daemon_run does: a peer gone is an error code, not a signal */
    if (getenv("RELAY_TEST_LOG") == NULL)
        log_set_level(LOG_ERROR);
    if (swcrypto_init() < 0)
        return 1;
    keypair_generate(&agent_kp);
    keypair_generate(&manager_kp);
    keypair_generate(&other_kp);
    RUN(test_handshake_echo);
    RUN(test_idle_timeout);
    RUN(test_wrong_keys);
    RUN(test_many_streams);
    RUN(test_slow_consumer);
    RUN(test_ten_megabytes);
    RUN(test_half_close);
    RUN(test_small_writes);
    RUN(test_engine_missing);
    RUN(test_close_paths);
    RUN(test_park);
    RUN(test_hostile_peers);
    RUN(test_handshake_limits);
    RUN(test_eviction);
    RUN(test_link_batch);
    keypair_wipe(&agent_kp);
    keypair_wipe(&manager_kp);
    keypair_wipe(&other_kp);
    return check_done();
}
