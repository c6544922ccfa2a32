/*
 * api_server — listeners and connections for the Docker API (see api_server.h).
 *
 * A connection's life: READ (bytes go through api_http until a request is complete) → WRITE
 * (reading stopped, the answer in flight) → READ again, or, when the answer said
 * `Connection: close`, LINGER (our side shut down, the client's leftovers drained) → closed.
 * One timer per connection covers whichever phase it is in. A connection is freed only in the
 * close callback of its last handle; a write still pending then is cancelled by libuv first,
 * and its callback frees the buffer.
 */
#include "manager/api_server.h"

#include "common/log.h"
#include "common/unixsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

union stream {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
};

struct listener {
    union stream h;
    struct api_server *srv;
    enum api_endpoint_kind kind;
    char path[108];
    char text[160];
};

enum phase { PHASE_READ, PHASE_WRITE, PHASE_ASYNC, PHASE_LINGER };

struct conn;

/* The request a handler answers later or streams (api_server.h). One per connection at most. */
struct api_exchange {
    struct conn *c;
    struct api_exchange_callbacks cb;
    void *arg;
    const char *api_version;
    size_t queued;     /* bytes passed to uv_write and not yet written */
    bool raw;          /* api_exchange_write sent or queued bytes */
    bool active;       /* the handler holds it */
    bool hijacked;     /* client bytes go to on_client_data */
    bool above_high;   /* queued went over the high water mark: on_drain owed */
    bool end_pending;  /* ended: finish the connection's turn once queued is 0 */
    bool shut_pending; /* api_exchange_shutdown: half-close once queued is 0 */
    bool shut_done;
    bool paused;      /* the handler asked us not to read */
    bool body_stream; /* the request's body goes to on_client_data as it arrives */
    bool body_done;   /* ... and its last byte went (on_body_end ran) */
};

struct conn {
    union stream h;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct api_server *srv;
    struct conn *prev, *next;
    struct api_http http;
    enum phase phase;
    int handles;     /* open handles: the stream and the timer */
    bool closing;    /* uv_close called */
    bool reading;    /* uv_read_start in force */
    bool timing_req; /* the timer counts API_SERVER_REQUEST_MS for a request in progress */
    bool close_after;
    bool head; /* the request in progress is a HEAD */
    struct api_exchange x;
    size_t len, off; /* unframed bytes buf[off..len) */
    size_t body_w;   /* a streamed body's decoded bytes are gathered at buf[..body_w) */
    char buf[API_SERVER_READ_BUF];
};

struct write_req {
    uv_write_t req;
    struct conn *c;
    char *data;
    size_t len;
    bool exchange; /* a chunk written by an exchange (not a whole answer) */
    bool interim;  /* a 100 Continue ahead of the answer */
};

struct api_server {
    uv_loop_t *loop;
    const struct api_context *ctx;
    struct listener listeners[API_SERVER_MAX_LISTENERS];
    size_t nlisteners;
    struct conn *conns;
    size_t nconns;
    unsigned max_conns;
    uint32_t idle_ms, request_ms;
    int open_handles; /* listeners + connection handles not yet closed */
    bool closing;
    void (*on_closed)(void *arg);
    void *closed_arg;
    char server_header[64];
    struct api_server_stats stats;
};

/* ---- endpoints ---- */

static bool loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
    return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

int api_endpoint_parse(const char *text, struct api_endpoint *ep, char *err, size_t errlen)
{
    memset(ep, 0, sizeof(*ep));
    snprintf(ep->text, sizeof(ep->text), "%s", text);
    if (strncmp(text, "unix://", 7) == 0) {
        const char *path = text + 7;
        if (path[0] != '/') {
            snprintf(err, errlen, "-H %s: the socket path must be absolute (unix:///run/x.sock)",
                     text);
            return -1;
        }
        if (strlen(path) >= sizeof(ep->path)) {
            snprintf(err, errlen, "-H %.100s...: the socket path is longer than %zu bytes", text,
                     sizeof(ep->path) - 1);
            return -1;
        }
        ep->kind = API_ENDPOINT_UNIX;
        snprintf(ep->path, sizeof(ep->path), "%s", path);
        return 0;
    }
    if (strncmp(text, "tcp://", 6) != 0) {
        snprintf(err, errlen, "-H %s: expected unix://PATH or tcp://ADDR:PORT", text);
        return -1;
    }
    const char *hp = text + 6;
    char host[64];
    const char *port_text = NULL;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (end == NULL || (size_t)(end - hp - 1) >= sizeof(host) || (end[1] && end[1] != ':'))
            goto bad;
        memcpy(host, hp + 1, (size_t)(end - hp - 1));
        host[end - hp - 1] = '\0';
        port_text = end[1] ? end + 2 : NULL;
    } else {
        const char *colon = strrchr(hp, ':');
        size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
        if (hl >= sizeof(host))
            goto bad;
        memcpy(host, hp, hl);
        host[hl] = '\0';
        port_text = colon ? colon + 1 : NULL;
    }
    unsigned long port = API_SERVER_TCP_DEFAULT_PORT;
    if (port_text) {
        char *end;
        port = strtoul(port_text, &end, 10);
        if (*port_text == '\0' || *end != '\0' || port == 0 || port > 65535)
            goto bad;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    ep->kind = API_ENDPOINT_TCP;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ep->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ep->addr;
    if (uv_ip4_addr(host, (int)port, a4) != 0 && uv_ip6_addr(host, (int)port, a6) != 0)
        goto bad;
    if (!loopback(&ep->addr)) {
        snprintf(err, errlen,
                 "-H %s: serving the Docker API on a non-loopback TCP address needs TLS, which "
                 "swarm does not have yet; use unix://PATH, or tcp://127.0.0.1:PORT with an "
                 "SSH tunnel",
                 text);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "-H %s: expected tcp://ADDR:PORT with a numeric loopback address", text);
    return -1;
}

/* ---- connections ---- */

static void maybe_finished(struct api_server *s)
{
    if (!s->closing || s->open_handles > 0)
        return;
    void (*cb)(void *) = s->on_closed;
    void *arg = s->closed_arg;
    free(s);
    if (cb)
        cb(arg);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct api_server *s = c->srv;
    s->open_handles--;
    if (--c->handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    api_http_free(&c->http);
    free(c);
    maybe_finished(s);
}

static void exchange_abort(struct conn *c)
{
    struct api_exchange *x = &c->x;
    if (!x->active)
        return;
    x->active = false;
    if (x->cb.on_abort)
        x->cb.on_abort(x, x->arg);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    exchange_abort(c);
    if (c->phase == PHASE_READ && api_http_in_request(&c->http))
        c->srv->stats.abandoned++;
    uv_close(&c->h.handle, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_timer(uv_timer_t *t);
static void process(struct conn *c);

/* The request's body streams and has not all been read: the connection cannot be framed for
 * another request once the answer is out. */
static bool body_unread(const struct conn *c)
{
    return c->x.body_stream && !c->x.body_done;
}
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void arm_timer(struct conn *c, uint32_t ms)
{
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    /* Reading happens only once every framed byte is consumed (see process), so the whole
     * buffer is free; while lingering it is a scratch area for discarded bytes. */
    buf->base = c->buf + c->len;
    buf->len = sizeof(c->buf) - c->len;
}

static void read_start(struct conn *c)
{
    /* A full buffer is not read into: pipelined bytes wait until the exchange ends. */
    if (c->len >= sizeof(c->buf))
        return;
    if (!c->reading && !c->closing && uv_read_start(&c->h.stream, on_alloc, on_read) == 0)
        c->reading = true;
}

static void read_stop(struct conn *c)
{
    if (c->reading) {
        uv_read_stop(&c->h.stream);
        c->reading = false;
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    /* Drain what the client still sends until it closes, or the linger time is up. */
    c->len = c->off = 0;
    read_start(c);
}

static void linger(struct conn *c)
{
    c->phase = PHASE_LINGER;
    arm_timer(c, API_SERVER_LINGER_MS);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, &c->h.stream, on_shutdown) < 0)
        conn_close(c);
}

static void next_request(struct conn *c);
static void exchange_written(struct conn *c);

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct conn *c = wr->c;
    bool exchange = wr->exchange, interim = wr->interim;
    if (exchange)
        c->x.queued -= wr->len;
    free(wr->data);
    free(wr);
    if (c->closing)
        return; /* cancelled by the close */
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (interim)
        return;
    if (exchange) {
        exchange_written(c);
        return;
    }
    if (c->close_after) {
        linger(c);
        return;
    }
    next_request(c);
}

static void next_request(struct conn *c)
{
    api_http_next(&c->http);
    c->phase = PHASE_READ;
    c->timing_req = false;
    arm_timer(c, c->srv->idle_ms);
    process(c); /* a pipelined request may already wait in the buffer */
}

/* Sends resp; reading stays stopped until it is written. */
static void send_response(struct conn *c, const struct api_response *resp, const char *api_version,
                          bool head, bool close)
{
    struct api_http_common common = {
        .api_version = api_version,
        .server = c->srv->server_header,
        .head = head,
        .close = close,
        .now = time(NULL),
    };
    read_stop(c);
    size_t len = 0;
    char *data = api_http_format(resp, &common, &len);
    struct write_req *wr = data ? malloc(sizeof(*wr)) : NULL;
    if (wr == NULL) {
        free(data);
        log_error("api", "out of memory answering a request: closing the connection");
        conn_close(c);
        return;
    }
    wr->c = c;
    wr->data = data;
    wr->len = len;
    wr->exchange = false;
    wr->interim = false;
    c->phase = PHASE_WRITE;
    c->close_after = close;
    arm_timer(c, c->srv->request_ms);
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&wr->req, &c->h.stream, &b, 1, on_written) < 0) {
        free(data);
        free(wr);
        conn_close(c);
    }
}

/* A Docker-style error, then close: the stream can no longer be trusted to be framed. */
static void send_error_close(struct conn *c, int status, const char *msg)
{
    struct api_response resp = {0};
    api_response_error(&resp, status, "%s", msg);
    send_response(c, &resp, api_router_version(c->srv->ctx), false, true);
    api_response_free(&resp);
}

/* A streamed body's decoded bytes, from api_http inside api_http_feed: they point into the
 * bytes being framed (c->buf), at or after the bytes gathered so far, so they are moved down
 * to join them, and the handler gets one piece per read however the client cut its chunks. */
static void body_sink(void *arg, const char *data, size_t len)
{
    struct conn *c = arg;
    size_t from = (size_t)(data - c->buf);
    if (from != c->body_w)
        memmove(c->buf + c->body_w, c->buf + from, len);
    c->body_w += len;
}

/* Frames the streamed body's bytes in the buffer (each piece to on_client_data), then reads
 * more unless the handler paused it. The buffer holds at most API_SERVER_READ_BUF bytes, so
 * that is all a handler gets beyond what it asked for. */
static void body_pump(struct conn *c)
{
    struct api_exchange *x = &c->x;
    while (!c->closing && c->phase == PHASE_ASYNC && body_unread(c) && c->off < c->len) {
        size_t used = 0, start = c->off;
        c->body_w = start;
        enum api_http_result r = api_http_feed(&c->http, c->buf + c->off, c->len - c->off, &used);
        c->off += used;
        if (c->body_w > start && x->active && x->cb.on_client_data && r != API_HTTP_ERROR)
            x->cb.on_client_data(x, c->buf + start, c->body_w - start, x->arg);
        if (c->closing || c->phase != PHASE_ASYNC)
            return;
        if (r == API_HTTP_ERROR) {
            /* A malformed chunked body: the engine's request cannot be completed. */
            log_info("api", "request body: %s (closing the connection)",
                     api_http_error_message(&c->http));
            c->srv->stats.bad++;
            conn_close(c);
            return;
        }
        if (r == API_HTTP_BODY_END) {
            x->body_done = true;
            uv_timer_stop(&c->timer);
            if (x->active && x->cb.on_body_end)
                x->cb.on_body_end(x, x->arg); /* may end the exchange: nothing after this */
            else if (x->active && !c->closing)
                read_start(c);
            return;
        }
    }
    if (c->closing || c->phase != PHASE_ASYNC || !body_unread(c))
        return;
    c->len = c->off = 0;
    if (x->active && !x->paused) {
        arm_timer(c, c->srv->request_ms); /* a client that stalls mid-body */
        read_start(c);
    }
}

/* Sends "100 Continue" to a client that waits for it before its body. */
static void send_continue(struct conn *c)
{
    static const char text[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct write_req *wr = malloc(sizeof(*wr));
    char *data = malloc(sizeof(text) - 1);
    if (wr == NULL || data == NULL) {
        free(wr);
        free(data);
        return; /* the client sends its body anyway after a while */
    }
    memcpy(data, text, sizeof(text) - 1);
    *wr = (struct write_req){.c = c, .data = data, .len = sizeof(text) - 1, .interim = true};
    uv_buf_t b = uv_buf_init(data, (unsigned)wr->len);
    if (uv_write(&wr->req, &c->h.stream, &b, 1, on_written) < 0) {
        free(data);
        free(wr);
    }
}

static void answer(struct conn *c, const struct api_request *req)
{
    struct api_response resp = {0};
    const char *api_version = NULL;
    c->srv->stats.requests++;
    c->head = req->head;
    struct api_exchange *x = &c->x;
    memset(x, 0, sizeof(*x));
    x->c = c;
    x->active = true;
    x->body_stream = req->body_stream;
    c->phase = PHASE_ASYNC;
    uv_timer_stop(&c->timer);
    if (api_route(c->srv->ctx, req, x, &resp, &api_version)) {
        /* A handler took it. Keep reading, to notice a client that goes away. */
        log_debug("api", "%s %s -> taken", req->method, req->path);
        x->api_version = api_version;
        if (body_unread(c))
            body_pump(c); /* the body's first bytes came with the head */
        else if (x->active && !c->closing && !x->hijacked)
            read_start(c);
        return;
    }
    x->active = false;
    /* After an upgrade request the bytes that follow are not HTTP: answer, then close. */
    bool close = !req->keep_alive || req->upgrade || c->srv->closing || body_unread(c);
    log_debug("api", "%s %s -> %d", req->method, req->path, resp.status);
    send_response(c, &resp, api_version, req->head, close);
    api_response_free(&resp);
}

/* Frames buffered bytes: answers one complete request, or asks for more. */
static void process(struct conn *c)
{
    if (c->closing || c->phase != PHASE_READ)
        return;
    size_t used = 0;
    enum api_http_result r = api_http_feed(&c->http, c->buf + c->off, c->len - c->off, &used);
    c->off += used;
    switch (r) {
    case API_HTTP_REQUEST:
        answer(c, api_http_request(&c->http));
        return;
    case API_HTTP_HEAD: {
        /* A body follows: streamed to the handler, or kept whole. */
        const struct api_request *req = api_http_request(&c->http);
        if (!api_route_streams_body(c->srv->ctx, req)) {
            api_http_body_buffer(&c->http);
            process(c);
            return;
        }
        api_http_body_stream(&c->http, body_sink, c);
        const char *expect = api_request_header(req, "Expect");
        if (expect && strcasecmp(expect, "100-continue") == 0)
            send_continue(c);
        answer(c, req);
        return;
    }
    case API_HTTP_BODY_END: /* only while a body streams (body_pump), never here */
        conn_close(c);
        return;
    case API_HTTP_ERROR:
        c->srv->stats.bad++;
        log_debug("api", "bad request -> %d %s", api_http_error_status(&c->http),
                  api_http_error_message(&c->http));
        send_error_close(c, api_http_error_status(&c->http), api_http_error_message(&c->http));
        return;
    case API_HTTP_MORE:
        c->len = c->off = 0;
        if (api_http_in_request(&c->http) && !c->timing_req) {
            c->timing_req = true;
            arm_timer(c, c->srv->request_ms);
        }
        read_start(c);
        return;
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = st->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && c->phase == PHASE_ASYNC && c->x.hijacked && c->x.active) {
            /* A half-close: the client sends no more, but still reads. */
            read_stop(c);
            if (c->x.cb.on_client_eof)
                c->x.cb.on_client_eof(&c->x, c->x.arg);
            return;
        }
        /* EOF or an error: whatever was in progress is abandoned. */
        conn_close(c);
        return;
    }
    if (c->phase == PHASE_LINGER)
        return; /* discarded */
    if (c->phase == PHASE_ASYNC && c->x.hijacked) {
        if (c->x.cb.on_client_data)
            c->x.cb.on_client_data(&c->x, c->buf + c->len, (size_t)nread, c->x.arg);
        return;
    }
    c->len += (size_t)nread;
    if (c->phase == PHASE_ASYNC && body_unread(c)) {
        body_pump(c);
        return;
    }
    if (c->phase == PHASE_ASYNC) {
        /* Bytes ahead of the exchange's end wait; a full buffer stops reading. */
        if (c->len >= sizeof(c->buf))
            read_stop(c);
        return;
    }
    process(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->closing)
        return;
    if (c->phase == PHASE_READ && api_http_in_request(&c->http)) {
        c->srv->stats.timeouts++;
        send_error_close(c, 408, "timed out reading the request");
        return;
    }
    if (c->phase != PHASE_LINGER)
        c->srv->stats.timeouts++;
    conn_close(c);
}

static void discard_closed(uv_handle_t *h)
{
    struct api_server *s = h->data;
    free(h);
    s->open_handles--;
    maybe_finished(s);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct api_server *s = l->srv;
    if (status < 0 || s->closing)
        return;
    if (s->nconns >= s->max_conns + API_SERVER_REJECT_SLACK) {
        /* Far over the limit: not even an answer. */
        union stream *h = malloc(sizeof(*h));
        if (h == NULL)
            return;
        if (l->kind == API_ENDPOINT_UNIX)
            uv_pipe_init(s->loop, &h->pipe, 0);
        else
            uv_tcp_init(s->loop, &h->tcp);
        h->handle.data = s;
        s->open_handles++;
        uv_accept(server, &h->stream);
        s->stats.rejected++;
        uv_close(&h->handle, discard_closed);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->srv = s;
    if (l->kind == API_ENDPOINT_UNIX)
        uv_pipe_init(s->loop, &c->h.pipe, 0);
    else
        uv_tcp_init(s->loop, &c->h.tcp);
    uv_timer_init(s->loop, &c->timer);
    c->h.handle.data = c;
    c->timer.data = c;
    c->handles = 2;
    s->open_handles += 2;
    api_http_init(&c->http);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(server, &c->h.stream) < 0) {
        conn_close(c);
        return;
    }
    if (l->kind == API_ENDPOINT_TCP)
        uv_tcp_nodelay(&c->h.tcp, 1);
    if (s->nconns > s->max_conns) {
        s->stats.rejected++;
        char msg[96];
        snprintf(msg, sizeof(msg), "swarm: too many connections (limit %u); try again later",
                 s->max_conns);
        send_error_close(c, 503, msg);
        return;
    }
    s->stats.accepted++;
    api_http_set_head_stop(&c->http, s->ctx->streams_body != NULL);
    arm_timer(c, s->idle_ms);
    read_start(c);
}

/* ---- listeners ---- */

static void listener_closed(uv_handle_t *h)
{
    struct listener *l = h->data;
    struct api_server *s = l->srv;
    s->open_handles--;
    maybe_finished(s);
}

static int listen_unix(struct api_server *s, struct listener *l, const struct api_endpoint *ep,
                       unsigned mode, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(ep->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "-H %s: %s exists and is not a socket; not replacing it",
                     ep->text, ep->path);
            return -1;
        }
        if (unixsock_listening(ep->path)) {
            snprintf(err, errlen, "-H %s: another process already serves on %s", ep->text,
                     ep->path);
            return -1;
        }
        unlink(ep->path); /* stale: left by a process that did not exit cleanly */
    }
    uv_pipe_init(s->loop, &l->h.pipe, 0);
    l->h.handle.data = l;
    s->open_handles++;
    /* Created with the final mode: no moment when others could connect. */
    mode_t old = umask(0777 & ~mode);
    int rc = uv_pipe_bind(&l->h.pipe, ep->path);
    umask(old);
    if (rc == 0) {
        snprintf(l->path, sizeof(l->path), "%s", ep->path);
        if (chmod(ep->path, mode) < 0)
            rc = uv_translate_sys_error(errno);
    }
    if (rc == 0)
        rc = uv_listen(&l->h.stream, 128, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "-H %s: cannot listen on %s: %s", ep->text, ep->path,
                 uv_strerror(rc));
        return -1;
    }
    return 0;
}

static int listen_tcp(struct api_server *s, struct listener *l, const struct api_endpoint *ep,
                      char *err, size_t errlen)
{
    uv_tcp_init(s->loop, &l->h.tcp);
    l->h.handle.data = l;
    s->open_handles++;
    int rc = uv_tcp_bind(&l->h.tcp, (const struct sockaddr *)&ep->addr, 0);
    if (rc == 0)
        rc = uv_listen(&l->h.stream, 128, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "-H %s: cannot listen: %s", ep->text, uv_strerror(rc));
        return -1;
    }
    return 0;
}

struct api_server *api_server_start(uv_loop_t *loop, const struct api_server_config *cfg, char *err,
                                    size_t errlen)
{
    if (cfg->nendpoints == 0 || cfg->nendpoints > API_SERVER_MAX_LISTENERS) {
        snprintf(err, errlen, "between 1 and %d -H addresses, not %zu", API_SERVER_MAX_LISTENERS,
                 cfg->nendpoints);
        return NULL;
    }
    struct api_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->ctx = cfg->ctx;
    s->max_conns = cfg->max_conns ? cfg->max_conns : API_SERVER_MAX_CONNS;
    s->idle_ms = cfg->idle_ms ? cfg->idle_ms : API_SERVER_IDLE_MS;
    s->request_ms = cfg->request_ms ? cfg->request_ms : API_SERVER_REQUEST_MS;
    snprintf(s->server_header, sizeof(s->server_header), "swarm/%s",
             cfg->ctx->version ? cfg->ctx->version : "unknown");
    unsigned mode = cfg->unix_mode ? cfg->unix_mode : API_SERVER_UNIX_MODE;
    for (size_t i = 0; i < cfg->nendpoints; i++) {
        const struct api_endpoint *ep = &cfg->endpoints[i];
        struct listener *l = &s->listeners[s->nlisteners];
        l->srv = s;
        l->kind = ep->kind;
        snprintf(l->text, sizeof(l->text), "%s", ep->text);
        s->nlisteners++;
        int rc = ep->kind == API_ENDPOINT_UNIX ? listen_unix(s, l, ep, mode, err, errlen)
                                               : listen_tcp(s, l, ep, err, errlen);
        if (rc < 0) {
            /* A unix listener that failed before uv_pipe_init has no handle to close. */
            if (l->h.handle.data == NULL)
                s->nlisteners--;
            api_server_close(s, NULL, NULL);
            return NULL;
        }
        log_info("api", "serving the Docker API on %s", ep->text);
    }
    return s;
}

void api_server_close(struct api_server *s, void (*on_closed)(void *arg), void *arg)
{
    if (s->closing)
        return;
    s->closing = true;
    s->on_closed = on_closed;
    s->closed_arg = arg;
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct listener *l = &s->listeners[i];
        if (l->path[0])
            unlink(l->path);
        uv_close(&l->h.handle, listener_closed);
    }
    for (struct conn *c = s->conns; c; c = c->next)
        conn_close(c);
    if (s->open_handles == 0) {
        /* Nothing was ever opened: finish on the caller's stack. */
        maybe_finished(s);
    }
}

size_t api_server_connections(const struct api_server *s)
{
    return s->nconns;
}

const struct api_server_stats *api_server_stats(const struct api_server *s)
{
    return &s->stats;
}

/* ---- exchanges ---- */

static void exchange_finish(struct conn *c)
{
    struct api_exchange *x = &c->x;
    x->end_pending = false;
    if (x->hijacked) {
        conn_close(c); /* the raw stream is over; nothing can follow it */
        return;
    }
    if (c->close_after) {
        linger(c);
        return;
    }
    next_request(c);
}

static void on_exchange_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0)
        conn_close(c);
}

static void exchange_shutdown_now(struct conn *c)
{
    struct api_exchange *x = &c->x;
    x->shut_pending = false;
    x->shut_done = true;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, &c->h.stream, on_exchange_shutdown) < 0)
        conn_close(c);
}

static void exchange_written(struct conn *c)
{
    struct api_exchange *x = &c->x;
    if (x->queued > 0) {
        if (x->active && x->above_high && x->queued <= API_EXCHANGE_LOW_WATER) {
            x->above_high = false;
            if (x->cb.on_drain)
                x->cb.on_drain(x, x->arg);
        }
        return;
    }
    if (x->shut_pending && !c->closing)
        exchange_shutdown_now(c);
    if (x->end_pending && !c->closing) {
        exchange_finish(c);
        return;
    }
    if (x->active && x->above_high) {
        x->above_high = false;
        if (x->cb.on_drain)
            x->cb.on_drain(x, x->arg);
    }
}

void api_exchange_set_callbacks(struct api_exchange *x, const struct api_exchange_callbacks *cb,
                                void *arg)
{
    x->cb = *cb;
    x->arg = arg;
}

void api_exchange_respond(struct api_exchange *x, const struct api_response *resp)
{
    struct conn *c = x->c;
    if (!x->active)
        return;
    x->active = false;
    if (c->closing)
        return;
    const struct api_request *req = api_http_request(&c->http);
    bool close = !req->keep_alive || req->upgrade || c->srv->closing || body_unread(c);
    log_debug("api", "%s %s -> %d", req->method, req->path, resp->status);
    if (x->raw) {
        /* Raw bytes went first: the answer cannot be framed after them. */
        conn_close(c);
        return;
    }
    send_response(c, resp, x->api_version ? x->api_version : api_router_version(c->srv->ctx),
                  c->head, close);
}

int api_exchange_write(struct api_exchange *x, const void *data, size_t len)
{
    struct conn *c = x->c;
    if (!x->active || c->closing || x->shut_done || x->shut_pending)
        return -1;
    if (len == 0)
        return 0;
    /* Straight to the socket when nothing is queued ahead (uv_try_write refuses otherwise, so
     * the order holds); only what it does not take is copied and queued. */
    x->raw = true;
    uv_buf_t now = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write(&c->h.stream, &now, 1);
    if (n > 0) {
        data = (const char *)data + n;
        len -= (size_t)n;
        if (len == 0)
            return 0;
    }
    struct write_req *wr = malloc(sizeof(*wr));
    char *copy = malloc(len);
    if (wr == NULL || copy == NULL) {
        free(wr);
        free(copy);
        log_error("api", "out of memory streaming an answer: closing the connection");
        conn_close(c);
        return -1;
    }
    memcpy(copy, data, len);
    wr->c = c;
    wr->data = copy;
    wr->len = len;
    wr->exchange = true;
    wr->interim = false;
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    if (uv_write(&wr->req, &c->h.stream, &b, 1, on_written) < 0) {
        free(copy);
        free(wr);
        conn_close(c);
        return -1;
    }
    x->queued += len;
    if (x->queued > API_EXCHANGE_HIGH_WATER)
        x->above_high = true;
    return 0;
}

size_t api_exchange_queued(const struct api_exchange *x)
{
    return x->queued;
}

void api_exchange_end(struct api_exchange *x, bool keep_alive)
{
    struct conn *c = x->c;
    if (!x->active)
        return;
    x->active = false;
    if (c->closing)
        return;
    const struct api_request *req = api_http_request(&c->http);
    c->close_after = !keep_alive || !req->keep_alive || req->upgrade || x->hijacked ||
                     c->srv->closing || x->shut_done || x->shut_pending || body_unread(c);
    read_stop(c);
    x->end_pending = true;
    if (x->queued == 0)
        exchange_finish(c);
}

void api_exchange_hijack(struct api_exchange *x)
{
    struct conn *c = x->c;
    if (!x->active || x->hijacked || c->closing)
        return;
    x->hijacked = true;
    /* What the client sent behind the request head belongs to the raw stream. */
    size_t n = c->len - c->off;
    if (n > 0 && x->cb.on_client_data) {
        char *copy = malloc(n);
        if (copy) {
            memcpy(copy, c->buf + c->off, n);
            c->len = c->off = 0;
            x->cb.on_client_data(x, copy, n, x->arg);
            free(copy);
        }
    }
    c->len = c->off = 0;
    if (x->active && !x->paused && !c->closing)
        read_start(c);
}

void api_exchange_read_stop(struct api_exchange *x)
{
    x->paused = true;
    read_stop(x->c);
    if (body_unread(x->c) && x->active)
        uv_timer_stop(&x->c->timer); /* the handler's pace, not the client's */
}

void api_exchange_read_start(struct api_exchange *x)
{
    struct conn *c = x->c;
    bool was_paused = x->paused;
    x->paused = false;
    if (!x->active || c->closing)
        return;
    if (x->hijacked) {
        read_start(c);
    } else if (body_unread(c) && was_paused && !c->reading) {
        arm_timer(c, c->srv->request_ms);
        read_start(c);
    }
}

void api_exchange_shutdown(struct api_exchange *x)
{
    struct conn *c = x->c;
    if (c->closing || x->shut_done || x->shut_pending)
        return;
    if (x->queued == 0)
        exchange_shutdown_now(c);
    else
        x->shut_pending = true;
}

const char *api_exchange_api_version(const struct api_exchange *x)
{
    return x->api_version ? x->api_version : api_router_version(x->c->srv->ctx);
}

const char *api_exchange_server_header(const struct api_exchange *x)
{
    return x->c->srv->server_header;
}
