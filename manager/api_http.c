/*
 * api_http — HTTP/1.1 request framing over http-parser, and response serialization.
 * See api_http.h for the limits and the one-request-at-a-time rule.
 */
#include "manager/api_http.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { CB_NONE, CB_URL, CB_FIELD, CB_VALUE };

/* Bytes a request line adds besides its URL ("GET " + " HTTP/1.1\r\n"), and a header line
 * besides its name and value (": " + "\r\n"): counted so the limit means what it says. */
#define REQUEST_LINE_OVERHEAD 16
#define HEADER_LINE_OVERHEAD 4

static int fail(struct api_http *h, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct api_http *h, int status, const char *fmt, ...)
{
    if (!h->failed) {
        h->failed = true;
        h->error_status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->error_msg, sizeof(h->error_msg), fmt, ap);
        va_end(ap);
    }
    return 1; /* stops http-parser with HPE_CB_* */
}

static int head_fail(struct api_http *h)
{
    return fail(h, 431, "request header too large (limit %d bytes, %d header lines)",
                API_HTTP_HEAD_MAX, API_HTTP_HEADERS_MAX);
}

/* Appends to the head arena; counts against the limit. */
static int head_append(struct api_http *h, const char *data, size_t len, size_t counted)
{
    h->head_bytes += counted;
    if (h->head_bytes > API_HTTP_HEAD_MAX)
        return head_fail(h);
    if (h->head_len + len + 1 > h->head_cap) {
        size_t cap = h->head_cap ? h->head_cap : 1024;
        while (cap < h->head_len + len + 1)
            cap *= 2;
        char *p = realloc(h->head, cap);
        if (p == NULL)
            return fail(h, 500, "out of memory reading the request");
        h->head = p;
        h->head_cap = cap;
    }
    if (len)
        memcpy(h->head + h->head_len, data, len);
    h->head_len += len;
    return 0;
}

static int head_terminate(struct api_http *h)
{
    return head_append(h, "", 1, 0);
}

static int on_message_begin(http_parser *p)
{
    struct api_http *h = p->data;
    h->in_message = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct api_http *h = p->data;
    size_t extra = h->last_cb == CB_NONE ? REQUEST_LINE_OVERHEAD : 0;
    h->last_cb = CB_URL;
    h->url_len += len;
    return head_append(h, at, len, len + extra);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct api_http *h = p->data;
    if (h->last_cb != CB_FIELD) {
        /* A new header line: close the URL or the previous value. */
        if (h->last_cb != CB_NONE && head_terminate(h))
            return 1;
        if (h->last_cb == CB_NONE && head_append(h, "", 1, REQUEST_LINE_OVERHEAD))
            return 1; /* no URL callback at all: an empty URL */
        if (h->nheaders == API_HTTP_HEADERS_MAX)
            return head_fail(h);
        h->name_off[h->nheaders] = h->head_len;
        h->last_cb = CB_FIELD;
        return head_append(h, at, len, len + HEADER_LINE_OVERHEAD);
    }
    return head_append(h, at, len, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct api_http *h = p->data;
    if (h->last_cb != CB_VALUE) {
        if (h->last_cb != CB_FIELD)
            return fail(h, 400, "malformed HTTP request: header value without a name");
        if (head_terminate(h))
            return 1;
        h->value_off[h->nheaders++] = h->head_len;
        h->last_cb = CB_VALUE;
    }
    return head_append(h, at, len, len);
}

/* Splits the URL into a NUL-terminated path and query (one malloc'd block). */
static int split_url(struct api_http *h, const char *url, size_t len, bool is_connect)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (len == 0 || http_parser_parse_url(url, len, is_connect, &u) != 0)
        return fail(h, 400, "malformed request URL");
    const char *path = "/";
    size_t plen = 1, qlen = 0;
    const char *query = "";
    if (u.field_set & (1 << UF_PATH)) {
        path = url + u.field_data[UF_PATH].off;
        plen = u.field_data[UF_PATH].len;
    } else if (is_connect) {
        path = "";
        plen = 0;
    }
    if (u.field_set & (1 << UF_QUERY)) {
        query = url + u.field_data[UF_QUERY].off;
        qlen = u.field_data[UF_QUERY].len;
    }
    h->path = malloc(plen + qlen + 2);
    if (h->path == NULL)
        return fail(h, 500, "out of memory reading the request");
    memcpy(h->path, path, plen);
    h->path[plen] = '\0';
    memcpy(h->path + plen + 1, query, qlen);
    h->path[plen + 1 + qlen] = '\0';
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct api_http *h = p->data;
    if (h->last_cb == CB_NONE && head_append(h, "", 0, REQUEST_LINE_OVERHEAD))
        return 1;
    if (h->last_cb == CB_FIELD) {
        /* A name with no value callback: an empty value. */
        if (head_terminate(h))
            return 1;
        h->value_off[h->nheaders++] = h->head_len;
    }
    if (head_terminate(h))
        return 1;
    h->last_cb = CB_NONE;
    if (p->http_major != 1)
        return fail(h, 505, "HTTP/%u.%u is not supported: use HTTP/1.1", p->http_major,
                    p->http_minor);
    struct api_request *r = &h->req;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    r->content_length =
        !r->chunked && p->content_length != ULLONG_MAX ? (unsigned long long)p->content_length : 0;
    bool stop = h->head_stop && (r->chunked || r->content_length > 0);
    /* Content-Length is known before any body byte: refuse a body too big at once (unless the
     * caller may choose to stream it). */
    if (!stop && r->content_length > API_HTTP_BODY_MAX)
        return fail(h, 413, "request body too large (limit %d bytes)", API_HTTP_BODY_MAX);
    r->url = h->head;
    for (size_t i = 0; i < h->nheaders; i++) {
        r->headers[i].name = h->head + h->name_off[i];
        r->headers[i].value = h->head + h->value_off[i];
    }
    r->nheaders = h->nheaders;
    if (split_url(h, h->head, h->url_len, p->method == HTTP_CONNECT))
        return 1;
    r->path = h->path;
    r->query = h->path + strlen(h->path) + 1;
    r->method = http_method_str((enum http_method)p->method);
    r->head = p->method == HTTP_HEAD;
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    r->keep_alive = http_should_keep_alive(p) != 0;
    if (stop) {
        /* The caller chooses how the body is read: api_http_body_buffer / _stream. */
        h->head_ready = true;
        http_parser_pause(p, 1);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct api_http *h = p->data;
    if (h->streaming) {
        h->sink(h->sink_arg, at, len);
        return 0;
    }
    if (len > API_HTTP_BODY_MAX - h->body_len)
        return fail(h, 413, "request body too large (limit %d bytes)", API_HTTP_BODY_MAX);
    if (h->body_len + len > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap : 4096;
        while (cap < h->body_len + len)
            cap *= 2;
        if (cap > API_HTTP_BODY_MAX)
            cap = API_HTTP_BODY_MAX;
        char *b = realloc(h->body, cap);
        if (b == NULL)
            return fail(h, 500, "out of memory reading the request");
        h->body = b;
        h->body_cap = cap;
    }
    memcpy(h->body + h->body_len, at, len);
    h->body_len += len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct api_http *h = p->data;
    h->complete = true;
    h->req.keep_alive = http_should_keep_alive(p) != 0;
    h->req.body = h->body_len ? h->body : NULL;
    h->req.body_len = h->body_len;
    /* Leave the next pipelined request's bytes in the caller's buffer. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void api_http_init(struct api_http *h)
{
    memset(h, 0, sizeof(*h));
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
}

void api_http_free(struct api_http *h)
{
    free(h->head);
    free(h->body);
    free(h->path);
    memset(h, 0, sizeof(*h));
}

enum api_http_result api_http_feed(struct api_http *h, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (h->failed)
        return API_HTTP_ERROR;
    if (h->complete)
        return h->streaming ? API_HTTP_BODY_END : API_HTTP_REQUEST;
    if (h->head_ready)
        return API_HTTP_HEAD;
    if (len == 0)
        return API_HTTP_MORE;
    size_t n = http_parser_execute(&h->parser, &settings, data, len);
    *used = n;
    if (h->failed)
        return API_HTTP_ERROR;
    if (h->complete) {
        h->req.upgrade = h->parser.upgrade != 0;
        return h->streaming ? API_HTTP_BODY_END : API_HTTP_REQUEST;
    }
    if (h->head_ready) {
        h->req.upgrade = h->parser.upgrade != 0;
        return API_HTTP_HEAD;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (e == HPE_HEADER_OVERFLOW) {
        head_fail(h);
        return API_HTTP_ERROR;
    }
    if (e != HPE_OK || n != len) {
        fail(h, 400, "malformed HTTP request: %s", http_errno_description(e));
        return API_HTTP_ERROR;
    }
    return API_HTTP_MORE;
}

const struct api_request *api_http_request(const struct api_http *h)
{
    return h->complete || h->head_ready || h->streaming ? &h->req : NULL;
}

void api_http_set_head_stop(struct api_http *h, bool on)
{
    h->head_stop = on;
}

void api_http_body_buffer(struct api_http *h)
{
    if (!h->head_ready || h->failed)
        return;
    h->head_ready = false;
    if (h->req.content_length > API_HTTP_BODY_MAX) {
        fail(h, 413, "request body too large (limit %d bytes)", API_HTTP_BODY_MAX);
        return;
    }
    http_parser_pause(&h->parser, 0);
}

void api_http_body_stream(struct api_http *h, api_http_body_sink sink, void *arg)
{
    if (!h->head_ready || h->failed)
        return;
    h->head_ready = false;
    h->streaming = true;
    h->sink = sink;
    h->sink_arg = arg;
    h->req.body_stream = true;
    http_parser_pause(&h->parser, 0);
}

void api_http_next(struct api_http *h)
{
    /* Keep small buffers for the next request; give big ones back. */
    if (h->head_cap > 4096) {
        free(h->head);
        h->head = NULL;
        h->head_cap = 0;
    }
    free(h->body);
    free(h->path);
    h->body = h->path = NULL;
    h->body_len = h->body_cap = 0;
    h->head_len = h->head_bytes = h->url_len = h->nheaders = 0;
    h->last_cb = CB_NONE;
    h->in_message = h->complete = h->head_ready = h->streaming = false;
    h->sink = NULL;
    h->sink_arg = NULL;
    memset(&h->req, 0, sizeof(h->req));
    http_parser_pause(&h->parser, 0);
}

bool api_http_in_request(const struct api_http *h)
{
    return h->in_message && !h->complete;
}

int api_http_error_status(const struct api_http *h)
{
    return h->error_status;
}

const char *api_http_error_message(const struct api_http *h)
{
    return h->error_msg;
}

const char *api_request_header(const struct api_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

/* ---- responses ---- */

void api_response_set(struct api_response *r, int status, const char *content_type, char *body,
                      size_t body_len)
{
    free(r->body);
    r->status = status;
    r->content_type = content_type;
    r->body = body;
    r->body_len = body_len;
}

int api_response_error(struct api_response *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Messages may quote what a client sent (a path): keep them printable ASCII, which is
     * also always valid UTF-8 for the JSON string. */
    for (char *c = msg; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    }
    json_t *o = json_pack("{s:s}", "message", msg);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *body = NULL;
    size_t n = text ? strlen(text) : 0;
    if (text && (body = realloc(text, n + 2)) != NULL) {
        body[n] = '\n';
        body[n + 1] = '\0';
        api_response_set(r, status, "application/json", body, n + 1);
        return 0;
    }
    free(text);
    api_response_set(r, 500, NULL, NULL, 0);
    return -1;
}

void api_response_free(struct api_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *api_http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Request Entity Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* IMF-fixdate (RFC 7231), without the locale strftime would consult. */
static void http_date(time_t t, char *buf, size_t cap)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *api_http_format(const struct api_response *r, const struct api_http_common *c, size_t *len)
{
    char date[40];
    http_date(c->now, date, sizeof(date));
    /* 1xx, 204 and 304 have neither Content-Length nor a body. */
    bool bodiless = r->status < 200 || r->status == 204 || r->status == 304;
    char clen[48] = "";
    if (!bodiless)
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", r->body_len);
    const char *ct = r->content_type;
    int n = snprintf(NULL, 0,
                     "HTTP/1.1 %d %s\r\nApi-Version: %s\r\n%s%s%sDocker-Experimental: false\r\n"
                     "Ostype: linux\r\nServer: %s\r\nDate: %s\r\n%s%s%s\r\n",
                     r->status, api_http_reason(r->status), c->api_version,
                     ct ? "Content-Type: " : "", ct ? ct : "", ct ? "\r\n" : "", c->server, date,
                     r->extra_headers ? r->extra_headers : "", clen,
                     c->close ? "Connection: close\r\n" : "");
    if (n < 0)
        return NULL;
    size_t body = bodiless || c->head ? 0 : r->body_len;
    char *out = malloc((size_t)n + body + 1);
    if (out == NULL)
        return NULL;
    snprintf(out, (size_t)n + 1,
             "HTTP/1.1 %d %s\r\nApi-Version: %s\r\n%s%s%sDocker-Experimental: false\r\n"
             "Ostype: linux\r\nServer: %s\r\nDate: %s\r\n%s%s%s\r\n",
             r->status, api_http_reason(r->status), c->api_version, ct ? "Content-Type: " : "",
             ct ? ct : "", ct ? "\r\n" : "", c->server, date,
             r->extra_headers ? r->extra_headers : "", clen,
             c->close ? "Connection: close\r\n" : "");
    if (body)
        memcpy(out + n, r->body, body);
    out[n + body] = '\0';
    *len = (size_t)n + body;
    return out;
}

char *api_http_format_stream_head(int status, const char *content_type,
                                  const struct api_http_common *c, size_t *len)
{
    char date[40];
    http_date(c->now, date, sizeof(date));
#define STREAM_HEAD                                                                                \
    "HTTP/1.1 %d %s\r\nApi-Version: %s\r\nContent-Type: %s\r\nDocker-Experimental: false\r\n"      \
    "Ostype: linux\r\nServer: %s\r\nDate: %s\r\nTransfer-Encoding: chunked\r\n%s\r\n"
    const char *close = c->close ? "Connection: close\r\n" : "";
    int n = snprintf(NULL, 0, STREAM_HEAD, status, api_http_reason(status), c->api_version,
                     content_type, c->server, date, close);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (out == NULL)
        return NULL;
    snprintf(out, (size_t)n + 1, STREAM_HEAD, status, api_http_reason(status), c->api_version,
             content_type, c->server, date, close);
#undef STREAM_HEAD
    *len = (size_t)n;
    return out;
}

char *api_http_chunk(const void *data, size_t len, size_t *out_len)
{
    char *out = malloc(len + 24);
    if (out == NULL)
        return NULL;
    int n = snprintf(out, 24, "%zx\r\n", len);
    memcpy(out + n, data, len);
    memcpy(out + n + len, "\r\n", 2);
    *out_len = (size_t)n + len + 2;
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int api_query_get(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = query;
    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (nlen == klen && memcmp(p, key, klen) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = (size_t)(p + len - v), o = 0;
            for (size_t i = 0; i < vlen; i++) {
                char c = v[i];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    if (i + 2 >= vlen)
                        return -1;
                    int hi = hexval(v[i + 1]);
                    int lo = hexval(v[i + 2]);
                    if (hi < 0 || lo < 0)
                        return -1;
                    c = (char)(hi * 16 + lo);
                    i += 2;
                }
                if (o + 1 >= cap)
                    return -1;
                out[o++] = c;
            }
            if (cap == 0)
                return -1;
            out[o] = '\0';
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}
