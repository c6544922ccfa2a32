/*
 * bench_relay — throughput of one large stream through the relay (manager relay_client ⇄
 * loopback TCP, Noise KK + sealed frames ⇄ agent relay_server ⇄ unix socket ⇄ engine)
 * beside the same bytes read straight from the engine's unix socket, in MB/s.
 *
 *   bench_relay [MB]        (default 1024)
 *
 * The handshake is version 2, so the frames are AES-256-GCM where libsodium has it;
 * SWARM_RELAY_CIPHER=secretstream in the environment measures secretstream instead.
 *
 * The "engine" is a unix socket server in this process: after the command byte 'S' it writes
 * MB megabytes and closes; after 'D' it discards what it reads and answers "ok" at EOF. The
 * agent side (engine + relay server) runs on its own loop in a second thread and the client on
 * the main thread, as on two hosts: both directions are measured, through the relay and
 * direct. No timing asserts; the figures go to stdout.
 */
#include "agent/relay_server.h"
#include "common/log.h"
#include "crypto/swcrypto.h"
#include "manager/relay_client.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define INFLIGHT 4

static size_t total_bytes;
static uint8_t source[CHUNK];
static struct keypair agent_kp, manager_kp;

/* ---- the engine (agent thread) --------------------------------------------------------------- */

struct econn {
    uv_pipe_t pipe;
    uv_shutdown_t sd;
    char mode;
    size_t sent, inflight;
    uv_write_t w[INFLIGHT];
    int wfree[INFLIGHT];
    int nfree;
};

static char engine_path[80];

static void econn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void econn_close(struct econn *ec)
{
    if (!uv_is_closing((uv_handle_t *)&ec->pipe))
        uv_close((uv_handle_t *)&ec->pipe, econn_closed);
}

static void econn_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    econn_close(req->data);
}

static void pump(struct econn *ec);

static void econn_written(uv_write_t *req, int status)
{
    struct econn *ec = req->data;
    ec->wfree[ec->nfree++] = (int)(req - ec->w);
    ec->inflight--;
    if (status < 0) {
        econn_close(ec);
        return;
    }
    if (ec->mode == 'S')
        pump(ec);
}

static void pump(struct econn *ec)
{
    while (ec->nfree > 0 && ec->sent < total_bytes) {
        size_t n = total_bytes - ec->sent < CHUNK ? total_bytes - ec->sent : CHUNK;
        uv_write_t *w = &ec->w[ec->wfree[--ec->nfree]];
        w->data = ec;
        uv_buf_t b = uv_buf_init((char *)source, (unsigned)n);
        if (uv_write(w, (uv_stream_t *)&ec->pipe, &b, 1, econn_written) < 0) {
            econn_close(ec);
            return;
        }
        ec->inflight++;
        ec->sent += n;
    }
    if (ec->sent == total_bytes && ec->inflight == 0 && ec->sd.data == NULL) {
        ec->sd.data = ec;
        uv_shutdown(&ec->sd, (uv_stream_t *)&ec->pipe, econn_shut);
    }
}

static uint8_t ebuf[CHUNK];

static void ealloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    b->base = (char *)ebuf;
    b->len = sizeof(ebuf);
}

static void eread(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct econn *ec = st->data;
    if (nread < 0) {
        uv_read_stop(st);
        if (nread == UV_EOF && ec->mode == 'D') {
            static const char ok[] = "ok";
            uv_buf_t b = uv_buf_init((char *)ok, 2);
            ec->w[0].data = ec;
            uv_write(&ec->w[0], st, &b, 1, NULL);
            ec->sd.data = ec;
            uv_shutdown(&ec->sd, st, econn_shut);
        } else if (ec->mode != 'S') {
            econn_close(ec);
        }
        return;
    }
    if (nread > 0 && ec->mode == 0) {
        ec->mode = buf->base[0];
        if (ec->mode == 'S')
            pump(ec);
    }
}

static void eaccept(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct econn *ec = calloc(1, sizeof(*ec));
    for (int i = 0; i < INFLIGHT; i++)
        ec->wfree[i] = i;
    ec->nfree = INFLIGHT;
    uv_pipe_init(server->loop, &ec->pipe, 0);
    ec->pipe.data = ec;
    if (uv_accept(server, (uv_stream_t *)&ec->pipe) == 0)
        uv_read_start((uv_stream_t *)&ec->pipe, ealloc, eread);
    else
        econn_close(ec);
}

/* ---- the agent thread ------------------------------------------------------------------------ */

struct agent {
    uv_loop_t loop;
    uv_pipe_t engine;
    uv_async_t stop;
    struct relay_server *srv;
    uv_sem_t ready;
    uint16_t port;
};

static void agent_stop(uv_async_t *a)
{
    struct agent *ag = a->data;
    relay_server_close(ag->srv, NULL, NULL);
    uv_close((uv_handle_t *)&ag->engine, NULL);
    uv_close((uv_handle_t *)&ag->stop, NULL);
}

static void agent_thread(void *arg)
{
    struct agent *ag = arg;
    uv_loop_init(&ag->loop);
    unlink(engine_path);
    uv_pipe_init(&ag->loop, &ag->engine, 0);
    if (uv_pipe_bind(&ag->engine, engine_path) != 0 ||
        uv_listen((uv_stream_t *)&ag->engine, 16, eaccept) != 0) {
        fprintf(stderr, "bench_relay: cannot listen on %s\n", engine_path);
        exit(1);
    }
    uv_async_init(&ag->loop, &ag->stop, agent_stop);
    ag->stop.data = ag;
    const uint8_t(*managers)[KEYPAIR_BYTES] = (const uint8_t(*)[KEYPAIR_BYTES]) & manager_kp.pk;
    struct relay_server_config cfg = {.host = "127.0.0.1",
                                      .engine_path = engine_path,
                                      .self = &agent_kp,
                                      .managers = managers,
                                      .nmanagers = 1};
    char err[256];
    ag->srv = relay_server_start(&ag->loop, &cfg, err, sizeof(err));
    if (ag->srv == NULL) {
        fprintf(stderr, "bench_relay: %s\n", err);
        exit(1);
    }
    ag->port = relay_server_port(ag->srv);
    uv_sem_post(&ag->ready);
    uv_run(&ag->loop, UV_RUN_DEFAULT);
    relay_server_free(ag->srv);
    unlink(engine_path);
    uv_loop_close(&ag->loop);
}

/* ---- the client (main thread) ---------------------------------------------------------------- */

struct run {
    char mode;
    size_t got, sent;
    bool done;
    /* direct */
    uv_pipe_t pipe;
    uv_connect_t creq;
    uv_write_t w[INFLIGHT + 1];
    int nfree, wfree[INFLIGHT];
    uv_shutdown_t sd;
    /* relay */
    struct relay_conn *conn;
    struct relay_stream *s;
};

static uint8_t cbuf[CHUNK];

static void calloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    b->base = (char *)cbuf;
    b->len = sizeof(cbuf);
}

static void direct_closed(uv_handle_t *h)
{
    struct run *r = h->data;
    r->done = true;
}

static void direct_pump(struct run *r);

static void direct_written(uv_write_t *req, int status)
{
    struct run *r = req->data;
    if (req != &r->w[INFLIGHT])
        r->wfree[r->nfree++] = (int)(req - r->w);
    if (status == 0 && r->mode == 'D')
        direct_pump(r);
}

static void direct_pump(struct run *r)
{
    while (r->nfree > 0 && r->sent < total_bytes) {
        size_t n = total_bytes - r->sent < CHUNK ? total_bytes - r->sent : CHUNK;
        uv_write_t *w = &r->w[r->wfree[--r->nfree]];
        w->data = r;
        uv_buf_t b = uv_buf_init((char *)source, (unsigned)n);
        uv_write(w, (uv_stream_t *)&r->pipe, &b, 1, direct_written);
        r->sent += n;
    }
    if (r->sent == total_bytes && r->sd.data == NULL) {
        r->sd.data = r;
        uv_shutdown(&r->sd, (uv_stream_t *)&r->pipe, NULL);
    }
}

static void direct_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct run *r = st->data;
    if (nread < 0) {
        uv_close((uv_handle_t *)st, direct_closed);
        return;
    }
    r->got += (size_t)nread;
}

static void direct_connected(uv_connect_t *req, int status)
{
    struct run *r = req->data;
    if (status < 0) {
        fprintf(stderr, "bench_relay: connect %s: %s\n", engine_path, uv_strerror(status));
        exit(1);
    }
    static char cmd[1];
    cmd[0] = r->mode;
    uv_buf_t b = uv_buf_init(cmd, 1);
    r->w[INFLIGHT].data = r;
    uv_write(&r->w[INFLIGHT], (uv_stream_t *)&r->pipe, &b, 1, direct_written);
    uv_read_start((uv_stream_t *)&r->pipe, calloc_cb, direct_read);
}

static void run_direct(uv_loop_t *loop, struct run *r)
{
    for (int i = 0; i < INFLIGHT; i++)
        r->wfree[i] = i;
    r->nfree = INFLIGHT;
    uv_pipe_init(loop, &r->pipe, 0);
    r->pipe.data = r;
    r->creq.data = r;
    uv_pipe_connect(&r->creq, &r->pipe, engine_path, direct_connected);
    while (!r->done)
        uv_run(loop, UV_RUN_ONCE);
}

static void relay_pump(struct run *r);

static void relay_written(struct relay_stream *s, int status, void *arg)
{
    (void)s;
    if (status == 0)
        relay_pump(arg);
}

static void relay_pump(struct run *r)
{
    while (r->s && r->sent < total_bytes) {
        size_t n = total_bytes - r->sent < FRAME_DATA_MAX ? total_bytes - r->sent : FRAME_DATA_MAX;
        if (relay_stream_write(r->s, source, n, relay_written, r) != 0)
            return;
        r->sent += n;
    }
    if (r->s && r->sent == total_bytes && r->sd.data == NULL) {
        r->sd.data = r;
        relay_stream_shutdown(r->s);
    }
}

static void rs_data(struct relay_stream *s, const uint8_t *d, size_t len, void *arg)
{
    (void)s;
    (void)d;
    struct run *r = arg;
    r->got += len;
}

static void rs_eof(struct relay_stream *s, void *arg)
{
    struct run *r = arg;
    if (r->mode == 'S')
        relay_stream_shutdown(s);
}

static void rs_close(struct relay_stream *s, int code, const char *reason, void *arg)
{
    (void)s;
    struct run *r = arg;
    if (code != RELAY_END_OK)
        fprintf(stderr, "bench_relay: stream ended: %d %s\n", code, reason);
    r->s = NULL;
    relay_conn_close(r->conn);
}

static void rc_close(struct relay_conn *c, const char *reason, void *arg)
{
    (void)c;
    (void)reason;
    struct run *r = arg;
    r->done = true;
}

static const struct relay_stream_callbacks rs_cb = {rs_data, rs_eof, rs_close};
static const struct relay_conn_callbacks rc_cb = {.on_close = rc_close};

static void run_relay(uv_loop_t *loop, struct run *r, uint16_t port)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    char err[256];
    r->conn = relay_conn_new(loop, (const struct sockaddr *)&a, agent_kp.pk, &manager_kp, NULL,
                             &rc_cb, r, err, sizeof(err));
    if (r->conn == NULL) {
        fprintf(stderr, "bench_relay: %s\n", err);
        exit(1);
    }
    relay_conn_offer_suites(r->conn);
    r->s = relay_stream_open(r->conn, &rs_cb, r);
    static uint8_t cmd[1];
    cmd[0] = (uint8_t)r->mode;
    relay_stream_write(r->s, cmd, 1, NULL, NULL);
    if (r->mode == 'D')
        relay_pump(r);
    while (!r->done)
        uv_run(loop, UV_RUN_ONCE);
}

static double measure(uv_loop_t *loop, char mode, bool relay, uint16_t port)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.mode = mode;
    uint64_t t0 = uv_hrtime();
    if (relay)
        run_relay(loop, &r, port);
    else
        run_direct(loop, &r);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    size_t moved = mode == 'S' ? r.got : r.sent;
    if (moved != total_bytes || (mode == 'D' && r.got != 2)) {
        fprintf(stderr, "bench_relay: moved %zu of %zu bytes\n", moved, total_bytes);
        exit(1);
    }
    return (double)total_bytes / (1024.0 * 1024.0) / secs;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    if (mb == 0) {
        fprintf(stderr, "usage: bench_relay [MB]\n");
        return 2;
    }
    total_bytes = mb * 1024 * 1024;
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_WARN);
    if (swcrypto_init() < 0)
        return 1;
    keypair_generate(&agent_kp);
    keypair_generate(&manager_kp);
    memset(source, 'x', sizeof(source));
    snprintf(engine_path, sizeof(engine_path), "/tmp/bench-relay-%d.sock", (int)getpid());

    struct agent ag;
    memset(&ag, 0, sizeof(ag));
    uv_sem_init(&ag.ready, 0);
    uv_thread_t tid;
    uv_thread_create(&tid, agent_thread, &ag);
    uv_sem_wait(&ag.ready);

    uv_loop_t loop;
    uv_loop_init(&loop);
    printf("bench_relay: frames %s\n", frame_suite_name(relay_link_suites() & FRAME_SUITE_AES256GCM
                                                            ? FRAME_SUITE_AES256GCM
                                                            : FRAME_SUITE_SECRETSTREAM));
    printf("bench_relay: one stream of %zu MB, engine and agent on one thread, client on another\n",
           mb);
    printf("%-28s %10s %10s %8s\n", "direction", "direct", "relay", "ratio");
    double sd = measure(&loop, 'S', false, 0), sr = measure(&loop, 'S', true, ag.port);
    printf("%-28s %7.0f MB/s %5.0f MB/s %7.2f\n", "engine -> client (read)", sd, sr, sr / sd);
    double dd = measure(&loop, 'D', false, 0), dr = measure(&loop, 'D', true, ag.port);
    printf("%-28s %7.0f MB/s %5.0f MB/s %7.2f\n", "client -> engine (write)", dd, dr, dr / dd);

    uv_async_send(&ag.stop);
    uv_thread_join(&tid);
    uv_sem_destroy(&ag.ready);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    keypair_wipe(&agent_kp);
    keypair_wipe(&manager_kp);
    return 0;
}
