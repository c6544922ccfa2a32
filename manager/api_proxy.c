/* api_proxy — a client request forwarded to an engine through its relay. See api_proxy.h. */
#include "manager/api_proxy.h"

#include "common/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes queued toward the engine past which the client is no longer read (hijacked streams,
 * streamed request bodies); a detached leg's on_body_drain runs once it is below
 * TO_ENGINE_LOW again. */
#define TO_ENGINE_HIGH API_PROXY_BODY_HIGH
#define TO_ENGINE_LOW (TO_ENGINE_HIGH / 4)

struct api_proxy {
    struct api_exchange *x; /* NULL once the exchange ended or was abandoned */
    struct relay_stream *s; /* NULL once the stream's on_close ran */
    char engine[ENGINES_NAME_MAX + 1];
    char *request; /* the request as sent to the engine */
    size_t request_len;
    http_parser parser;
    bool head;         /* the client asked with HEAD: the answer has no body */
    bool sent;         /* bytes reached the client: errors can only close now */
    bool complete;     /* the engine's answer is over */
    bool upgraded;     /* 101: a raw pipe both ways */
    bool engine_eof;   /* (upgraded) the engine closed its side */
    bool client_eof;   /* (upgraded) the client closed its side */
    bool paused;       /* stream reads stopped for a slow client */
    bool keep_alive;   /* the engine's answer allows another request on the connection */
    bool done_called;  /* opts.done ran */
    bool detached;     /* started without a client (api_proxy_start with x NULL) */
    bool answered;     /* (detached) on_response ran */
    bool body_stream;  /* the request's body follows the head (opts.body_stream) */
    bool body_chunked; /* ... re-framed as chunks toward the engine */
    bool body_ended;   /* ... and its end was written */
    bool body_high;    /* (detached) the queue went over TO_ENGINE_HIGH: on_body_drain owed */
    bool reused;       /* the stream carried an earlier request (relay_conn_unpark) */
    bool answering;    /* bytes of the answer arrived */
    bool extra;        /* bytes came after the answer: the connection is not reusable */
    /* buffered mode */
    bool buffered;
    char *body;
    size_t body_len, body_cap;
    bool too_big;
    char content_type[128];
    bool in_ctype; /* the header being parsed is Content-Type */
    struct api_proxy_opts o;
    struct icache_clock *clock; /* a reference to the engine's; NULL for a read-only call */
};

/* The engine's answer is over, or the call ended: what it did is done (see read_only). */
static void answer_over(struct api_proxy *p)
{
    icache_clock_bump(p->clock);
}

static void proxy_maybe_free(struct api_proxy *p)
{
    if (p->x || p->s)
        return;
    answer_over(p);
    if (!p->done_called) {
        p->done_called = true;
        if (p->o.done)
            p->o.done(p->o.arg);
    }
    icache_clock_unref(p->clock);
    free(p->request);
    free(p->body);
    free(p);
}

/* ---- answers ---- */

void api_proxy_respond(struct api_exchange *x, int status, const char *content_type,
                       const char *body, size_t len)
{
    struct api_response resp = {.status = status,
                                .content_type =
                                    content_type && content_type[0] ? content_type : NULL,
                                .body = (char *)body,
                                .body_len = len};
    api_exchange_respond(x, &resp);
}

void api_proxy_error(struct api_exchange *x, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct api_response resp = {0};
    api_response_error(&resp, status, "%s", msg);
    api_exchange_respond(x, &resp);
    api_response_free(&resp);
}

/* The engine's answer is over: its connection carries the next request to this engine if the
 * answer said keep-alive, was read in full with nothing after it, and the request is all out
 * (no upgrade, no body still streaming); otherwise the stream is closed. Leaves p->s NULL when
 * parked: the caller then owes proxy_maybe_free. */
static void release_stream(struct api_proxy *p)
{
    if (p->s == NULL)
        return;
    if (p->complete && p->keep_alive && !p->extra && !p->upgraded &&
        (!p->body_stream || p->body_ended) && relay_stream_park(p->s)) {
        p->s = NULL;
        return;
    }
    relay_stream_close(p->s);
}

/* The exchange is over from our side: answered, or the client's connection to be closed. */
static void finish(struct api_proxy *p, bool keep_alive)
{
    if (p->x) {
        struct api_exchange *x = p->x;
        p->x = NULL;
        api_exchange_end(x, keep_alive);
    }
    if (p->s && p->complete && keep_alive)
        release_stream(p);
    else if (p->s)
        relay_stream_close(p->s);
}

/* A detached call's failure, as an answer in the engine's own error form. */
static void detached_error(struct api_proxy *p, int status, const char *msg)
{
    if (p->answered)
        return;
    p->answered = true;
    json_t *v = json_pack("{s:s}", "message", msg);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    p->o.on_response(p->o.arg, NULL, p->engine, status, "application/json", text ? text : "",
                     text ? strlen(text) : 0);
    free(text);
}

/* A failure: an error answer if nothing was sent yet, else a closed connection. */
static void fail(struct api_proxy *p, const char *reason)
{
    answer_over(p);
    if (p->detached) {
        char msg[300];
        snprintf(msg, sizeof(msg), "swarm: node %s: %s", p->engine, reason);
        detached_error(p, 502, msg);
    } else if (p->x && !p->sent) {
        struct api_exchange *x = p->x;
        p->x = NULL;
        api_proxy_error(x, 502, "swarm: node %s: %s", p->engine, reason);
    } else if (p->x) {
        log_info("api", "node %s: %s (the client's connection is closed)", p->engine, reason);
    }
    finish(p, false);
}

/* ---- the engine's response ---- */

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct api_proxy *p = hp->data;
    p->in_ctype = len == 12 && strncasecmp(at, "Content-Type", 12) == 0;
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct api_proxy *p = hp->data;
    if (p->in_ctype) {
        size_t have = strlen(p->content_type);
        size_t n =
            len < sizeof(p->content_type) - 1 - have ? len : sizeof(p->content_type) - 1 - have;
        memcpy(p->content_type + have, at, n);
        p->content_type[have + n] = '\0';
    }
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    struct api_proxy *p = hp->data;
    /* A HEAD answer carries headers only, whatever its Content-Length says. */
    return p->head ? 1 : 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    struct api_proxy *p = hp->data;
    if (!p->buffered || p->too_big)
        return 0;
    if (p->body_len + len + 1 > API_PROXY_BUFFER_MAX) {
        p->too_big = true;
        return 0;
    }
    if (p->body_len + len + 1 > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 4096;
        while (cap < p->body_len + len + 1)
            cap *= 2;
        char *b = realloc(p->body, cap);
        if (b == NULL) {
            p->too_big = true;
            return 0;
        }
        p->body = b;
        p->body_cap = cap;
    }
    memcpy(p->body + p->body_len, at, len);
    p->body_len += len;
    p->body[p->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    struct api_proxy *p = hp->data;
    p->complete = true;
    p->keep_alive = http_should_keep_alive(hp) != 0;
    answer_over(p);
    return 1; /* stop: anything after it is not ours */
}

static const http_parser_settings response_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void buffered_answer(struct api_proxy *p)
{
    if (p->too_big) {
        fail(p, "the engine's answer is larger than the manager buffers");
        return;
    }
    struct api_exchange *x = p->x;
    p->x = NULL;
    /* The client first, the stream's close after: the close is not on the client's path. */
    if (p->detached && !p->answered) {
        p->answered = true;
        p->o.on_response(p->o.arg, NULL, p->engine, (int)p->parser.status_code, p->content_type,
                         p->body ? p->body : "", p->body_len);
    } else if (x) {
        p->o.on_response(p->o.arg, x, p->engine, (int)p->parser.status_code, p->content_type,
                         p->body ? p->body : "", p->body_len);
    }
    release_stream(p);
}

/* ---- the two directions of an upgraded stream ---- */

static void to_engine_done(struct relay_stream *s, int status, void *arg)
{
    (void)s;
    (void)status;
    struct api_proxy *p = arg;
    /* The buffer is freed by the write's own record; see client_data. */
    if (p->s == NULL)
        return;
    size_t queued = relay_stream_write_queue_size(p->s);
    if (p->x && queued < TO_ENGINE_HIGH)
        api_exchange_read_start(p->x);
    if (p->detached && p->body_high && queued < TO_ENGINE_LOW) {
        p->body_high = false;
        if (p->o.on_body_drain)
            p->o.on_body_drain(p->o.arg);
    }
}

struct chunk {
    struct api_proxy *p;
    uint8_t data[];
};

static void chunk_done(struct relay_stream *s, int status, void *arg)
{
    struct chunk *ch = arg;
    struct api_proxy *p = ch->p;
    free(ch);
    to_engine_done(s, status, p);
}

/* One piece of a streamed request body toward the engine (copied), as a chunk of its own
 * when the body is chunked. 0, or -1 after fail(). */
static int body_piece(struct api_proxy *p, const char *data, size_t len)
{
    if (p->s == NULL || len == 0)
        return 0;
    char head[24] = "";
    size_t hl = p->body_chunked ? (size_t)snprintf(head, sizeof(head), "%zx\r\n", len) : 0;
    size_t total = hl + len + (p->body_chunked ? 2 : 0);
    struct chunk *ch = malloc(sizeof(*ch) + total);
    if (ch == NULL) {
        fail(p, "out of memory");
        return -1;
    }
    ch->p = p;
    memcpy(ch->data, head, hl);
    memcpy(ch->data + hl, data, len);
    if (p->body_chunked)
        memcpy(ch->data + hl + len, "\r\n", 2);
    int rc = relay_stream_write(p->s, ch->data, total, chunk_done, ch);
    if (rc < 0) {
        free(ch);
        fail(p, uv_strerror(rc));
        return -1;
    }
    if (relay_stream_write_queue_size(p->s) >= TO_ENGINE_HIGH) {
        if (p->x)
            api_exchange_read_stop(p->x);
        p->body_high = true;
    }
    return 0;
}

/* The streamed body is over: the last chunk, if chunked. */
static void body_finish(struct api_proxy *p)
{
    static const char last[] = "0\r\n\r\n";
    if (p->body_ended)
        return;
    p->body_ended = true;
    if (p->s && p->body_chunked) {
        int rc = relay_stream_write(p->s, (const uint8_t *)last, sizeof(last) - 1, NULL, NULL);
        if (rc < 0)
            fail(p, uv_strerror(rc));
    }
}

static void client_body_end(struct api_exchange *x, void *arg)
{
    (void)x;
    body_finish(arg);
}

static void client_data(struct api_exchange *x, const char *data, size_t len, void *arg)
{
    struct api_proxy *p = arg;
    (void)x;
    if (p->s == NULL)
        return;
    if (p->body_stream && !p->body_ended && !p->upgraded) {
        body_piece(p, data, len);
        return;
    }
    struct chunk *ch = malloc(sizeof(*ch) + len);
    if (ch == NULL) {
        fail(p, "out of memory");
        return;
    }
    ch->p = p;
    memcpy(ch->data, data, len);
    int rc = relay_stream_write(p->s, ch->data, len, chunk_done, ch);
    if (rc < 0) {
        free(ch);
        fail(p, uv_strerror(rc));
        return;
    }
    if (relay_stream_write_queue_size(p->s) >= TO_ENGINE_HIGH && p->x)
        api_exchange_read_stop(p->x);
}

static void client_eof(struct api_exchange *x, void *arg)
{
    (void)x;
    struct api_proxy *p = arg;
    p->client_eof = true;
    if (p->s)
        relay_stream_shutdown(p->s);
    if (p->engine_eof)
        finish(p, false);
}

static void client_drain(struct api_exchange *x, void *arg)
{
    (void)x;
    struct api_proxy *p = arg;
    if (p->paused && p->s) {
        p->paused = false;
        relay_stream_read_start(p->s);
    }
}

static void client_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    struct api_proxy *p = arg;
    p->x = NULL;
    if (p->s)
        relay_stream_close(p->s);
    proxy_maybe_free(p);
}

static const struct api_exchange_callbacks exchange_cb = {
    .on_client_data = client_data,
    .on_client_eof = client_eof,
    .on_drain = client_drain,
    .on_abort = client_abort,
    .on_body_end = client_body_end,
};

/* ---- relay stream callbacks ---- */

static void pass(struct api_proxy *p, const uint8_t *data, size_t len)
{
    if (p->x == NULL || len == 0)
        return;
    if (api_exchange_write(p->x, data, len) < 0)
        return; /* the client is gone: on_abort follows */
    p->sent = true;
    if (api_exchange_queued(p->x) > API_EXCHANGE_HIGH_WATER && p->s && !p->paused) {
        p->paused = true;
        relay_stream_read_stop(p->s);
    }
}

static void stream_data(struct relay_stream *s, const uint8_t *data, size_t len, void *arg)
{
    (void)s;
    struct api_proxy *p = arg;
    if (p->x == NULL && !(p->detached && !p->answered))
        return;
    if (p->upgraded) {
        pass(p, data, len);
        return;
    }
    if (p->complete) {
        p->extra = true;
        return; /* bytes after the answer: not the client's */
    }
    p->answering = true;
    size_t used = http_parser_execute(&p->parser, &response_settings, (const char *)data, len);
    if (p->parser.upgrade && p->parser.status_code == 101) {
        /* The head went through the parser; everything from the head on is the client's. */
        p->upgraded = true;
        pass(p, data, len);
        if (p->x) {
            api_exchange_set_callbacks(p->x, &exchange_cb, p);
            api_exchange_hijack(p->x);
        }
        return;
    }
    if (HTTP_PARSER_ERRNO(&p->parser) != HPE_OK && !p->complete) {
        char reason[160];
        snprintf(reason, sizeof(reason), "the engine's answer is not HTTP (%s)",
                 http_errno_description(HTTP_PARSER_ERRNO(&p->parser)));
        fail(p, reason);
        return;
    }
    if (!p->buffered)
        pass(p, data, p->complete ? used : len);
    if (p->complete) {
        p->extra = used < len;
        if (p->buffered)
            buffered_answer(p);
        else
            finish(p, p->keep_alive);
        proxy_maybe_free(p); /* if the stream was parked: nothing else holds p */
    }
}

static void request_written(struct relay_stream *s, int status, void *arg);
static const struct relay_stream_callbacks stream_cb;

static void orphan_data(struct relay_stream *s, const uint8_t *data, size_t len, void *arg)
{
    (void)s;
    (void)data;
    (void)len;
    (void)arg;
}

static void orphan_close(struct relay_stream *s, int code, const char *reason, void *arg)
{
    (void)s;
    (void)code;
    (void)reason;
    (void)arg;
}

static const struct relay_stream_callbacks orphan_cb = {orphan_data, NULL, orphan_close};

/* A reused stream that ended before any byte of the answer came: the engine closed that idle
 * connection as it was handed out. The request is still whole here, so it goes once more, on a
 * new stream. true if handled (retried, or failed and p released); false if it cannot be
 * retried. */
static bool retry(struct api_proxy *p, struct relay_stream *old)
{
    if (!p->reused || p->answering || p->body_stream || p->upgraded ||
        (p->x == NULL && !(p->detached && !p->answered)))
        return false;
    p->reused = false;
    struct relay_conn *c = relay_stream_conn(old);
    relay_stream_set_callbacks(old, &orphan_cb, NULL);
    relay_stream_close(old);
    log_debug("api", "node %s: a kept engine connection was gone; the request goes again",
              p->engine);
    p->s = relay_stream_open(c, &stream_cb, p);
    int rc = p->s ? relay_stream_write(p->s, (const uint8_t *)p->request, p->request_len,
                                       request_written, p)
                  : UV_ENOTCONN;
    if (rc < 0) {
        fail(p, p->s ? uv_strerror(rc) : "the relay connection is closing");
        proxy_maybe_free(p);
    }
    return true;
}

static void stream_eof(struct relay_stream *s, void *arg)
{
    struct api_proxy *p = arg;
    if (p->upgraded) {
        p->engine_eof = true;
        answer_over(p);
        if (p->x)
            api_exchange_shutdown(p->x);
        if (p->client_eof)
            finish(p, false);
        return;
    }
    if (!p->complete && retry(p, s))
        return;
    if (!p->complete) {
        /* A body delimited by the connection's end completes here. */
        http_parser_execute(&p->parser, &response_settings, NULL, 0);
        if (p->complete) {
            p->keep_alive = false;
            if (p->buffered)
                buffered_answer(p);
            else
                finish(p, false);
            return;
        }
        fail(p, "the engine closed the connection before it answered in full");
    }
}

static void stream_close(struct relay_stream *s, int code, const char *reason, void *arg)
{
    struct api_proxy *p = arg;
    p->s = NULL;
    if (!p->complete && retry(p, s))
        return;
    if (p->detached && !p->answered) {
        fail(p, reason && reason[0] ? reason : "stream ended");
    } else if (p->x) {
        if (p->upgraded && p->engine_eof) {
            finish(p, false);
        } else if (!p->complete || p->upgraded) {
            char why[200];
            snprintf(why, sizeof(why), "%s", reason && reason[0] ? reason : "stream ended");
            (void)code;
            fail(p, why);
        }
    }
    proxy_maybe_free(p);
}

static const struct relay_stream_callbacks stream_cb = {
    .on_data = stream_data,
    .on_eof = stream_eof,
    .on_close = stream_close,
};

/* ---- the request ---- */

static bool skip_header(const char *name)
{
    return strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
           strcasecmp(name, "Expect") == 0;
}

static char *serialize(const struct api_request *req, const struct api_proxy_opts *o, size_t *len)
{
    const char *url = o->url ? o->url : req->url;
    const char *body = o->body_set ? o->body : req->body;
    size_t body_len = o->body_set ? o->body_len : req->body_len;
    if (o->body_stream) {
        body = NULL; /* it follows */
        body_len = 0;
    }
    bool with_length =
        body_len > 0 || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
    size_t cap = strlen(req->method) + strlen(url) + 32 + 48 + body_len;
    for (size_t i = 0; i < req->nheaders; i++)
        cap += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 4;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t n = (size_t)snprintf(out, cap, "%s %s HTTP/1.1\r\n", req->method, url);
    for (size_t i = 0; i < req->nheaders; i++) {
        if (skip_header(req->headers[i].name))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s: %s\r\n", req->headers[i].name,
                              req->headers[i].value);
    }
    if (o->body_stream && req->chunked)
        n += (size_t)snprintf(out + n, cap - n, "Transfer-Encoding: chunked\r\n");
    else if (o->body_stream)
        n += (size_t)snprintf(out + n, cap - n, "Content-Length: %llu\r\n", req->content_length);
    else if (with_length)
        n += (size_t)snprintf(out + n, cap - n, "Content-Length: %zu\r\n", body_len);
    n += (size_t)snprintf(out + n, cap - n, "\r\n");
    if (body_len)
        memcpy(out + n, body, body_len);
    *len = n + body_len;
    return out;
}

static void request_written(struct relay_stream *s, int status, void *arg)
{
    (void)s;
    (void)status;
    (void)arg;
}

int api_proxy_start(struct api_exchange *x, struct engine *e, const struct api_request *req,
                    const struct api_proxy_opts *opts)
{
    if (e->conn == NULL || !relay_conn_ready(e->conn)) {
        if (x) {
            api_proxy_error(x, 502, "swarm: node %s is not connected%s%s", e->name,
                            e->error[0] ? ": " : "", e->error);
        } else {
            char msg[300];
            snprintf(msg, sizeof(msg), "swarm: node %s is not connected", e->name);
            json_t *v = json_pack("{s:s}", "message", msg);
            char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
            json_decref(v);
            opts->on_response(opts->arg, NULL, e->name, 502, "application/json", text ? text : "",
                              text ? strlen(text) : 0);
            free(text);
        }
        if (opts->done)
            opts->done(opts->arg);
        return -1;
    }
    struct api_proxy *p = calloc(1, sizeof(*p));
    if (p)
        p->request = serialize(req, opts, &p->request_len);
    if (p == NULL || p->request == NULL) {
        free(p);
        if (x)
            api_proxy_error(x, 500, "swarm: out of memory");
        else
            opts->on_response(opts->arg, NULL, e->name, 500, "application/json",
                              "{\"message\":\"swarm: out of memory\"}",
                              strlen("{\"message\":\"swarm: out of memory\"}"));
        if (opts->done)
            opts->done(opts->arg);
        return -1;
    }
    p->o = *opts;
    p->o.url = NULL;
    p->o.body = NULL;
    p->clock = opts->read_only ? NULL : icache_clock_ref(e->clock);
    p->x = x;
    p->head = req->head;
    p->buffered = opts->on_response != NULL;
    snprintf(p->engine, sizeof(p->engine), "%s", e->name);
    http_parser_init(&p->parser, HTTP_RESPONSE);
    p->parser.data = p;
    p->detached = x == NULL;
    p->body_stream = opts->body_stream;
    p->body_chunked = opts->body_stream && req->chunked;
    /* A kept engine connection when there is one, for a GET or HEAD only: if that connection
     * turns out to be gone, the request is sent again, and only those are safe to repeat
     * (another request may have reached the engine before its connection went). */
    if (!p->body_stream && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0))
        p->s = relay_conn_unpark(e->conn, &stream_cb, p);
    p->reused = p->s != NULL;
    if (p->s == NULL)
        p->s = relay_stream_open(e->conn, &stream_cb, p);
    if (p->s == NULL) {
        p->x = NULL;
        if (x)
            api_proxy_error(x, 503, "swarm: node %s: too many streams open; try again", e->name);
        else
            detached_error(p, 503, "swarm: too many streams open on the node; try again");
        proxy_maybe_free(p);
        return -1;
    }
    if (x)
        api_exchange_set_callbacks(x, &exchange_cb, p);
    if (opts->handle)
        *opts->handle = p;
    int rc =
        relay_stream_write(p->s, (const uint8_t *)p->request, p->request_len, request_written, p);
    if (rc < 0) {
        fail(p, uv_strerror(rc));
        return 0;
    }
    /* No half-close after the request: Go's HTTP server reads an early end-of-file as the
     * client gone, and would cancel a `wait` or `logs -f`. The stream is closed once the
     * answer is complete. */
    return 0;
}

/* ---- a detached leg's streamed body ---- */

int api_proxy_body_write(struct api_proxy *p, const void *data, size_t len)
{
    if (p->s == NULL || p->answered || p->complete || p->body_ended)
        return -1;
    return body_piece(p, data, len);
}

void api_proxy_body_end(struct api_proxy *p)
{
    if (p->s && !p->answered && !p->complete)
        body_finish(p);
}

size_t api_proxy_body_queued(const struct api_proxy *p)
{
    return p->s ? relay_stream_write_queue_size(p->s) : 0;
}

void api_proxy_cancel(struct api_proxy *p, const char *reason)
{
    fail(p, reason);
}
