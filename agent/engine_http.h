/*
 * engine_http — a small HTTP/1.1 client for the local Docker engine's unix socket, on the
 * caller's libuv loop, that never blocks. It is what agent/engine_watch talks to the engine
 * with: one GET per connection ("Connection: close"), the response framed by http-parser
 * (Content-Length, chunked, or up to the engine's end-of-file).
 *
 *   engine_http_get ── uv_pipe_connect ── "GET path HTTP/1.1" ── read ──► decoder
 *     collected (lists, inspects): body kept up to body_max, handed to done() whole
 *     streamed (/events):          body bytes handed to data() as they come, de-chunked
 *
 * Two parts:
 *   - engine_http_decoder: pure, bytes in → status, de-chunked body bytes, end of message.
 *     No allocation; the engine's bytes are untrusted input (tests/fuzz/fuzz_engine_http.c).
 *   - engine_http_get: one request on a uv_pipe with an optional deadline.
 *
 * Messages name the request by its path without the query: "GET /events: the engine closed the
 * connection before the end of the response".
 *
 * Bounds: the status line and headers at most http-parser's 80 KiB; the body at most body_max
 * (collected mode keeps at most body_max + 1 bytes; streamed mode keeps nothing); the request
 * path at most ENGINE_HTTP_PATH_MAX bytes; a read buffer of ENGINE_HTTP_READ_BUF per request.
 *
 * Ownership: engine_http_get allocates the request; it is freed by this module once done() ran
 * (after done returns) or after engine_http_cancel(). Callbacks run on the loop thread, never
 * from inside engine_http_get or engine_http_cancel; after engine_http_cancel none runs.
 * Strings passed in are copied.
 */
#ifndef SWARM_AGENT_ENGINE_HTTP_H
#define SWARM_AGENT_ENGINE_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ENGINE_HTTP_PATH_MAX 1024
#define ENGINE_HTTP_READ_BUF (32 * 1024)

/* ---- the response decoder (pure) ------------------------------------------------------------ */

enum engine_http_status {
    ENGINE_HTTP_MORE = 0, /* give it more bytes */
    ENGINE_HTTP_DONE = 1, /* the response is complete; later bytes are ignored */
    ENGINE_HTTP_ERROR = -1,
};

struct engine_http_decoder {
    http_parser parser;
    int status;        /* the HTTP status once the headers are read, else 0 */
    bool headers_done; /* the status and headers are read */
    bool done;
    bool failed;
    size_t body_len; /* body bytes so far, de-chunked */
    size_t body_max;
    /* Body bytes, de-chunked, as they come. Returns 0, or -1 to stop (the decoder then fails
     * with the reason the callback put in err via engine_http_decoder_fail, or "stopped"). */
    int (*on_body)(void *arg, const char *p, size_t n);
    void *arg;
    char err[160];
};

/* body_max: a response whose body is longer is an error. on_body may be NULL. */
void engine_http_decoder_init(struct engine_http_decoder *d, size_t body_max,
                              int (*on_body)(void *arg, const char *p, size_t n), void *arg);

/* Feeds p[0..n); n == 0 says the connection ended. ENGINE_HTTP_MORE, ENGINE_HTTP_DONE, or
 * ENGINE_HTTP_ERROR with the reason in d->err (a response cut short, bad framing, an upgrade, a
 * body over body_max). After DONE or ERROR it returns the same again. */
int engine_http_decoder_feed(struct engine_http_decoder *d, const char *p, size_t n);

/* For on_body: sets the reason the decoder fails with. */
void engine_http_decoder_fail(struct engine_http_decoder *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- one request ----------------------------------------------------------------------------- */

struct engine_http;

struct engine_http_callbacks {
    /* Optional: the status line and headers arrived (a stream is now live). */
    void (*headers)(struct engine_http *h, int status, void *arg);
    /* Streamed requests: body bytes as they come, de-chunked; valid during the call. The
     * callback may call engine_http_cancel(h). */
    void (*data)(struct engine_http *h, const char *p, size_t n, void *arg);
    /* Runs once, unless the request was cancelled first. err is NULL for a complete response
     * (of any status), else why there is none: the connect failed, the deadline passed, the
     * response was cut short, too large or malformed. status is the HTTP status if the headers
     * came, else 0. Collected requests: body[0..len) with a NUL after it, valid during the call
     * (NULL for streams). The request is freed after done returns. */
    void (*done)(struct engine_http *h, int status, const char *body, size_t len, const char *err,
                 void *arg);
};

struct engine_http_request {
    const char *path;    /* absolute, e.g. "/containers/json?all=1"; copied */
    size_t body_max;     /* longest body accepted */
    uint32_t timeout_ms; /* for the whole request; 0: none (streams) */
    bool stream;         /* body to data(), not collected */
};

/* Starts the request: connects to the unix socket at sock_path, sends the GET, reads the
 * response. NULL only if the request cannot even start (out of memory, a path over
 * ENGINE_HTTP_PATH_MAX); a socket that does not answer is reported by done(). */
struct engine_http *engine_http_get(uv_loop_t *loop, const char *sock_path,
                                    const struct engine_http_request *rq,
                                    const struct engine_http_callbacks *cb, void *arg);

/* Abandons the request: no callback runs after this; the connection is closed and the memory
 * freed once its handles are closed. Safe from inside the request's own callbacks (inside
 * done() it changes nothing); a no-op on NULL; never after done() returned (h is gone). */
void engine_http_cancel(struct engine_http *h);

/* The path the request was made for, and the same without its query (for messages). */
const char *engine_http_path(const struct engine_http *h);
const char *engine_http_name(const struct engine_http *h);

#endif
