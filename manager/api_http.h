/*
 * api_http — the Docker API server's HTTP/1.1 request framing and response serialization, with
 * no socket in sight: bytes in, one complete request out at a time, or an error status to
 * answer before closing. api_server.c drives it from libuv; the fuzz target drives it from a
 * byte string.
 *
 * Framing is http-parser 2.9 (reference/c-ecosystem-style.md §A4): its data callbacks may give
 * a URL, a header name or a value in several pieces, so they are accumulated here. After a
 * request's last byte the parser is paused: api_http_feed() returns API_HTTP_REQUEST with *used
 * short of len, and the bytes after it (a pipelined request) stay in the caller's buffer until
 * the caller has answered and called api_http_next(). One request at a time per connection.
 *
 * Limits (each breach is answered with a Docker-style error, then the connection is closed,
 * since the rest of the stream cannot be trusted to be framed right):
 *   API_HTTP_HEAD_MAX     request line + header lines, in bytes          → 431
 *   API_HTTP_HEADERS_MAX  header lines                                   → 431
 *   API_HTTP_BODY_MAX     request body kept in memory (Content-Length is
 *                         checked before any body byte is read; chunked
 *                         bodies are counted as they arrive)             → 413
 *   malformed HTTP (http-parser error, bad URL)                          → 400
 *   an HTTP major version other than 1                                   → 505
 * http-parser's own header limit (80 KiB, process-global) is above API_HTTP_HEAD_MAX and is
 * never changed here.
 *
 * Streamed bodies. With api_http_set_head_stop(h, true), a request that has a body (a
 * Content-Length above 0, or chunked) stops after its head: api_http_feed returns API_HTTP_HEAD
 * and api_http_request gives the head (body NULL, content_length / chunked set). The caller
 * then chooses, before feeding on:
 *   - api_http_body_buffer: the body is kept whole as usual (API_HTTP_BODY_MAX, 413), and the
 *     request completes with API_HTTP_REQUEST;
 *   - api_http_body_stream: the body is handed out as it arrives, decoded (chunk framing and
 *     trailers removed), to the sink given; api_http_feed returns API_HTTP_MORE while it flows
 *     and API_HTTP_BODY_END after its last byte, with the bytes behind it (a pipelined request)
 *     left in the caller's buffer. No size limit applies: the sink sets the pace. A malformed
 *     chunked body is API_HTTP_ERROR (400) like any framing error.
 * Without head stop (the default) every body is buffered.
 *
 * An upgrade request (Docker's attach/exec hijack: `Connection: Upgrade`, `Upgrade: tcp`) is
 * framed like any other; api_request.upgrade is set and the parser stops there, so the caller
 * must close the connection after answering (until hijacking is built).
 *
 * Ownership: struct api_http is the caller's (embed it); api_http_init/api_http_free. The
 * request it hands out (api_http_request) and every pointer in it are owned by the api_http and
 * valid until the next api_http_next / api_http_free. Responses: api_http_format returns a
 * malloc'd buffer the caller frees.
 */
#ifndef SWARM_MANAGER_API_HTTP_H
#define SWARM_MANAGER_API_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define API_HTTP_HEAD_MAX (64 * 1024)
#define API_HTTP_HEADERS_MAX 100
#define API_HTTP_BODY_MAX (1024 * 1024)
#define API_HTTP_MSG_MAX 256 /* error message text */

struct api_header {
    const char *name; /* as sent (case kept); compare with strcasecmp */
    const char *value;
};

struct api_request {
    const char *method; /* "GET", "HEAD", ... */
    bool head;          /* method is HEAD: the answer has no body */
    const char *url;    /* request target as sent, NUL-terminated */
    const char *path;   /* its path, without query (NUL-terminated copy) */
    const char *query;  /* the query without '?', "" if none */
    unsigned short http_major, http_minor;
    struct api_header headers[API_HTTP_HEADERS_MAX];
    size_t nheaders;
    const char *body; /* NULL when empty or streamed; not NUL-terminated */
    size_t body_len;
    /* The body as framed by the client: chunked, or content_length bytes (0: none). */
    bool chunked;
    unsigned long long content_length;
    bool body_stream; /* the body is handed to the sink (api_http_body_stream) */
    bool keep_alive;  /* the client allows another request on this connection */
    bool upgrade;     /* Connection: Upgrade (or CONNECT): close after answering */
};

enum api_http_result {
    API_HTTP_MORE,     /* everything was consumed; feed more bytes */
    API_HTTP_REQUEST,  /* a request is complete: api_http_request(); answer, then api_http_next */
    API_HTTP_ERROR,    /* answer api_http_error_status / message, then close */
    API_HTTP_HEAD,     /* (head stop) a head whose body follows: buffer it or stream it */
    API_HTTP_BODY_END, /* (streaming) the body's last byte went to the sink */
};

/* Where a streamed body goes: decoded pieces, in order, each valid during the call only. */
typedef void (*api_http_body_sink)(void *arg, const char *data, size_t len);

struct api_http {
    http_parser parser;
    /* Request line and headers, NUL-separated: URL, then name/value pairs. Offsets into it
     * become pointers once the head is complete (the buffer may move while it grows). */
    char *head;
    size_t head_len, head_cap;
    size_t head_bytes; /* bytes of request line + headers counted against the limit */
    size_t url_len;
    size_t name_off[API_HTTP_HEADERS_MAX], value_off[API_HTTP_HEADERS_MAX];
    size_t nheaders;
    int last_cb; /* 0 none, 1 url, 2 field, 3 value */
    char *body;
    size_t body_len, body_cap;
    char *path; /* malloc'd copy of the URL's path */
    bool in_message, complete, failed;
    bool head_stop;  /* stop after the head of a request with a body */
    bool head_ready; /* stopped there: waiting for body_buffer / body_stream */
    bool streaming;  /* the body goes to sink */
    api_http_body_sink sink;
    void *sink_arg;
    int error_status;
    char error_msg[API_HTTP_MSG_MAX];
    struct api_request req;
};

void api_http_init(struct api_http *h);
void api_http_free(struct api_http *h);

/* Feeds data[0..len). *used = bytes consumed (< len only with API_HTTP_REQUEST). After
 * API_HTTP_ERROR, every later call returns API_HTTP_ERROR again. */
enum api_http_result api_http_feed(struct api_http *h, const char *data, size_t len, size_t *used);

/* Stop after the head of each request that has a body (API_HTTP_HEAD); see above. */
void api_http_set_head_stop(struct api_http *h, bool on);
/* After API_HTTP_HEAD: keep the body whole (a Content-Length over API_HTTP_BODY_MAX makes the
 * next feed API_HTTP_ERROR with 413). */
void api_http_body_buffer(struct api_http *h);
/* After API_HTTP_HEAD: hand the body to sink(arg, ...) as it is fed. */
void api_http_body_stream(struct api_http *h, api_http_body_sink sink, void *arg);

/* The request: complete after API_HTTP_REQUEST, or its head after API_HTTP_HEAD (and while its
 * body streams). NULL otherwise. */
const struct api_request *api_http_request(const struct api_http *h);

/* Forgets the answered request and gets ready for the next one on the connection. */
void api_http_next(struct api_http *h);

/* True between a request's first byte and its last (a client that leaves now leaves
 * mid-request). */
bool api_http_in_request(const struct api_http *h);

int api_http_error_status(const struct api_http *h);
const char *api_http_error_message(const struct api_http *h);

/* The value of key in a query string ("a=1&b=x%20y"), percent- and '+'-decoded into out
 * (NUL-terminated). 1 if present (a key without '=' has the value ""), 0 if absent, -1 if the
 * value does not fit in cap or is badly encoded. */
int api_query_get(const char *query, const char *key, char *out, size_t cap);

/* Case-insensitive header lookup; NULL if absent. */
const char *api_request_header(const struct api_request *r, const char *name);

/* A response before serialization. body is malloc'd and owned by the response
 * (api_response_free); extra_headers is static text, each line ending in "\r\n". */
struct api_response {
    int status;
    const char *content_type; /* NULL: no Content-Type header */
    char *body;
    size_t body_len;
    const char *extra_headers;
};

/* {"message":"..."} + "\n" as the body, Content-Type application/json. Returns 0, or -1 when
 * out of memory (the response then carries a fixed 500 body). */
int api_response_error(struct api_response *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes body (malloc'd) as the response's body. */
void api_response_set(struct api_response *r, int status, const char *content_type, char *body,
                      size_t body_len);
void api_response_free(struct api_response *r);

/* What every response head carries besides the response's own headers. */
struct api_http_common {
    const char *api_version; /* Api-Version */
    const char *server;      /* Server, e.g. "swarm/0.1.0" */
    bool head;               /* answering HEAD: Content-Length but no body */
    bool close;              /* Connection: close */
    time_t now;              /* Date */
};

/* The response as bytes (head + body), malloc'd, length in *len (a NUL follows, not counted);
 * NULL when out of memory. */
char *api_http_format(const struct api_response *r, const struct api_http_common *c, size_t *len);

/* The head of a streamed answer (Transfer-Encoding: chunked, no Content-Length), malloc'd,
 * length in *len; NULL when out of memory. The body follows as api_http_chunk pieces. */
char *api_http_format_stream_head(int status, const char *content_type,
                                  const struct api_http_common *c, size_t *len);

/* One chunk of a chunked body (len 0: the last chunk), malloc'd; NULL when out of memory. */
char *api_http_chunk(const void *data, size_t len, size_t *out_len);

/* "OK", "Not Found", ... ("Unknown" for codes not in the table). */
const char *api_http_reason(int status);

#endif
