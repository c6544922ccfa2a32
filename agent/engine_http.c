/* engine_http — GET requests to the engine's unix socket on libuv; see engine_http.h. */
#include "agent/engine_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* ---- the decoder ----------------------------------------------------------------------------- */

void engine_http_decoder_fail(struct engine_http_decoder *d, const char *fmt, ...)
{
    if (d->failed)
        return;
    d->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
}

static int dec_headers_complete(http_parser *p)
{
    struct engine_http_decoder *d = p->data;
    d->status = (int)p->status_code;
    d->headers_done = true;
    return 0;
}

static int dec_body(http_parser *p, const char *at, size_t n)
{
    struct engine_http_decoder *d = p->data;
    if (n > d->body_max - d->body_len) {
        engine_http_decoder_fail(d, "body longer than %zu bytes", d->body_max);
        return -1;
    }
    d->body_len += n;
    if (d->on_body && d->on_body(d->arg, at, n) != 0) {
        engine_http_decoder_fail(d, "stopped");
        return -1;
    }
    return 0;
}

static int dec_message_complete(http_parser *p)
{
    struct engine_http_decoder *d = p->data;
    d->done = true;
    /* One response per connection: whatever follows it is not read. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings dec_settings = {
    .on_headers_complete = dec_headers_complete,
    .on_body = dec_body,
    .on_message_complete = dec_message_complete,
};

void engine_http_decoder_init(struct engine_http_decoder *d, size_t body_max,
                              int (*on_body)(void *arg, const char *p, size_t n), void *arg)
{
    memset(d, 0, sizeof(*d));
    http_parser_init(&d->parser, HTTP_RESPONSE);
    d->parser.data = d;
    d->body_max = body_max;
    d->on_body = on_body;
    d->arg = arg;
}

int engine_http_decoder_feed(struct engine_http_decoder *d, const char *p, size_t n)
{
    if (d->failed)
        return ENGINE_HTTP_ERROR;
    if (d->done)
        return ENGINE_HTTP_DONE;
    http_parser_execute(&d->parser, &dec_settings, n ? p : NULL, n);
    if (d->failed)
        return ENGINE_HTTP_ERROR;
    /* A 101 completes its (empty) message at once: what follows is not HTTP any more. */
    if (d->parser.upgrade) {
        engine_http_decoder_fail(d, "the engine switched protocols (HTTP %d)", d->status);
        return ENGINE_HTTP_ERROR;
    }
    if (d->done)
        return ENGINE_HTTP_DONE;
    if (n == 0) {
        engine_http_decoder_fail(d, "the engine closed the connection %s",
                                 d->headers_done ? "before the end of the response"
                                                 : "without a response");
        return ENGINE_HTTP_ERROR;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&d->parser);
    if (e != HPE_OK) {
        engine_http_decoder_fail(d, "bad HTTP response: %s", http_errno_description(e));
        return ENGINE_HTTP_ERROR;
    }
    return ENGINE_HTTP_MORE;
}

/* ---- one request ----------------------------------------------------------------------------- */

struct engine_http {
    uv_loop_t *loop;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    int handles;
    bool finished;  /* done() ran */
    bool cancelled; /* no callback may run any more */
    bool closing;
    bool headers_reported;
    struct engine_http_callbacks cb;
    void *arg;
    size_t body_max;
    uint32_t timeout_ms;
    bool stream;
    struct engine_http_decoder dec;
    char *body; /* collected mode: dec.body_len bytes and a NUL */
    size_t body_cap;
    char path[ENGINE_HTTP_PATH_MAX + 1];
    char name[ENGINE_HTTP_PATH_MAX + 1]; /* path less its query */
    char req[ENGINE_HTTP_PATH_MAX + 160];
    size_t req_len;
    char rbuf[ENGINE_HTTP_READ_BUF];
};

static bool silenced(const struct engine_http *h)
{
    return h->finished || h->cancelled;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct engine_http *h = handle->data;
    if (--h->handles > 0)
        return;
    free(h->body);
    free(h);
}

static void begin_close(struct engine_http *h)
{
    if (h->closing)
        return;
    h->closing = true;
    uv_close((uv_handle_t *)&h->pipe, on_handle_closed);
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
}

void engine_http_cancel(struct engine_http *h)
{
    if (h == NULL)
        return;
    h->cancelled = true;
    begin_close(h);
}

const char *engine_http_path(const struct engine_http *h)
{
    return h->path;
}

const char *engine_http_name(const struct engine_http *h)
{
    return h->name;
}

static void finish(struct engine_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void finish(struct engine_http *h, const char *fmt, ...)
{
    if (silenced(h))
        return;
    h->finished = true;
    char err[256];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, sizeof(err), fmt, ap);
        va_end(ap);
    }
    int status = h->dec.headers_done ? h->dec.status : 0;
    const char *body = NULL;
    size_t len = 0;
    if (!h->stream && fmt == NULL) {
        body = h->body ? h->body : "";
        len = h->dec.body_len;
    }
    h->cb.done(h, status, body, len, fmt ? err : NULL, h->arg);
    begin_close(h);
}

static void report_headers(struct engine_http *h)
{
    if (h->headers_reported || !h->dec.headers_done || silenced(h))
        return;
    h->headers_reported = true;
    if (h->cb.headers)
        h->cb.headers(h, h->dec.status, h->arg);
}

static int on_body(void *arg, const char *p, size_t n)
{
    struct engine_http *h = arg;
    report_headers(h);
    if (silenced(h))
        return -1;
    if (h->stream) {
        if (h->cb.data)
            h->cb.data(h, p, n, h->arg);
        return silenced(h) ? -1 : 0;
    }
    size_t need = h->dec.body_len + n + 1; /* body_len already counts these n */
    if (need > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap : 16 * 1024;
        while (cap < need)
            cap *= 2;
        if (cap > h->body_max + 1)
            cap = h->body_max + 1;
        char *grown = realloc(h->body, cap);
        if (grown == NULL) {
            engine_http_decoder_fail(&h->dec, "out of memory");
            return -1;
        }
        h->body = grown;
        h->body_cap = cap;
    }
    memcpy(h->body + h->dec.body_len - n, p, n);
    h->body[h->dec.body_len] = '\0';
    return 0;
}

static void feed(struct engine_http *h, const char *p, size_t n)
{
    int rc = engine_http_decoder_feed(&h->dec, p, n);
    report_headers(h);
    if (silenced(h))
        return;
    if (rc == ENGINE_HTTP_DONE)
        finish(h, NULL);
    else if (rc == ENGINE_HTTP_ERROR)
        finish(h, "GET %s: %s", h->name, h->dec.err);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct engine_http *h = handle->data;
    buf->base = h->rbuf;
    buf->len = sizeof(h->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct engine_http *h = s->data;
    if (silenced(h) || nread == 0)
        return;
    if (nread == UV_EOF) {
        feed(h, NULL, 0);
        return;
    }
    if (nread < 0) {
        finish(h, "GET %s: read: %s", h->name, uv_strerror((int)nread));
        return;
    }
    feed(h, buf->base, (size_t)nread);
}

static void on_written(uv_write_t *req, int status)
{
    struct engine_http *h = req->data;
    if (status < 0 && !silenced(h))
        finish(h, "GET %s: write: %s", h->name, uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status)
{
    struct engine_http *h = req->data;
    if (silenced(h))
        return;
    if (status < 0) {
        finish(h, "%s", uv_strerror(status));
        return;
    }
    uv_buf_t b = uv_buf_init(h->req, (unsigned)h->req_len);
    h->write.data = h;
    int rc = uv_write(&h->write, (uv_stream_t *)&h->pipe, &b, 1, on_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&h->pipe, on_alloc, on_read);
    if (rc < 0)
        finish(h, "GET %s: %s", h->name, uv_strerror(rc));
}

static void on_timeout(uv_timer_t *t)
{
    struct engine_http *h = t->data;
    finish(h, "GET %s: no answer within %u ms", h->name, h->timeout_ms);
}

/* A path we put in a request line: absolute, visible ASCII only (no CR, LF or space). */
static bool path_ok(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > ENGINE_HTTP_PATH_MAX || path[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f)
            return false;
    return true;
}

struct engine_http *engine_http_get(uv_loop_t *loop, const char *sock_path,
                                    const struct engine_http_request *rq,
                                    const struct engine_http_callbacks *cb, void *arg)
{
    struct sockaddr_un probe;
    if (!path_ok(rq->path) || cb->done == NULL || strlen(sock_path) >= sizeof(probe.sun_path))
        return NULL;
    struct engine_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->loop = loop;
    h->cb = *cb;
    h->arg = arg;
    h->body_max = rq->body_max;
    h->timeout_ms = rq->timeout_ms;
    h->stream = rq->stream;
    snprintf(h->path, sizeof(h->path), "%s", rq->path);
    snprintf(h->name, sizeof(h->name), "%.*s", (int)strcspn(h->path, "?"), h->path);
    int n = snprintf(h->req, sizeof(h->req),
                     "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: swarm-agent\r\n"
                     "Accept: application/json\r\nConnection: close\r\n\r\n",
                     h->path);
    h->req_len = (size_t)n;
    engine_http_decoder_init(&h->dec, rq->body_max, on_body, h);
    uv_pipe_init(loop, &h->pipe, 0);
    uv_timer_init(loop, &h->timer);
    h->pipe.data = h->timer.data = h;
    h->handles = 2;
    h->connect.data = h;
    uv_pipe_connect(&h->connect, &h->pipe, sock_path, on_connect);
    if (h->timeout_ms)
        uv_timer_start(&h->timer, on_timeout, h->timeout_ms, 0);
    return h;
}
