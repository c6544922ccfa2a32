/*
 * Fuzz target for what agent/engine_watch reads from the engine: the input (after its first
 * byte, which picks the size of the pieces it is fed in) is an HTTP response that goes through
 * engine_http's decoder; the de-chunked body goes through the /events line splitter, each line
 * through the JSON parser and engine_watch_classify, and the whole body through
 * engine_watch_each (which must agree with jansson's whole-text parser) and each element
 * through engine_watch_entry (as list entry and inspect). Must never crash, leak, exceed its
 * bounds or accept an id it should not.
 */
#include "agent/engine_http.h"
#include "agent/engine_watch.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX (256 * 1024)

struct ctx {
    struct engine_lines lines;
    char body[BODY_MAX];
    size_t len;
};

static void check_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ENGINE_WATCH_ID_MAX ||
        strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") != n)
        abort();
}

static void on_line(void *arg, const char *text, size_t len)
{
    struct ctx *c = arg;
    if (len > c->lines.max)
        abort();
    json_error_t jerr;
    json_t *ev = json_loadb(text, len, 0, &jerr);
    char id[ENGINE_WATCH_ID_MAX + 1] = "";
    enum engine_watch_action a = engine_watch_classify(ev, id);
    if (a == ENGINE_WATCH_CONTAINER || a == ENGINE_WATCH_REMOVED)
        check_id(id);
    json_decref(ev);
}

static int on_body(void *arg, const char *p, size_t n)
{
    struct ctx *c = arg;
    if (c->len + n > BODY_MAX)
        abort(); /* the decoder's bound */
    memcpy(c->body + c->len, p, n);
    c->len += n;
    engine_lines_feed(&c->lines, p, n, on_line, c);
    return 0;
}

/* Each element as a list entry and its own inspect. */
static int on_element(void *arg, json_t *e)
{
    (*(size_t *)arg)++;
    char id[ENGINE_WATCH_ID_MAX + 1];
    size_t len = 0;
    char *text = engine_watch_entry(e, e, id, &len);
    if (text) {
        check_id(id);
        if (strlen(text) != len || strstr(text, "\"HostConfig\":{") == NULL)
            abort();
    }
    free(text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    static struct ctx c;
    c.len = 0;
    engine_lines_init(&c.lines, 4096);
    struct engine_http_decoder d;
    engine_http_decoder_init(&d, BODY_MAX, on_body, &c);
    int rc = ENGINE_HTTP_MORE;
    for (size_t off = 0; off < n && rc == ENGINE_HTTP_MORE; off += step)
        rc = engine_http_decoder_feed(&d, p + off, off + step > n ? n - off : step);
    if (rc == ENGINE_HTTP_MORE)
        rc = engine_http_decoder_feed(&d, NULL, 0);
    if (rc == ENGINE_HTTP_MORE || d.body_len != c.len || d.body_len > BODY_MAX ||
        (rc == ENGINE_HTTP_DONE && !d.headers_done) || (rc == ENGINE_HTTP_ERROR && !d.err[0]))
        abort();
    engine_lines_reset(&c.lines);
    if (rc == ENGINE_HTTP_DONE) {
        /* The element-at-a-time reader agrees with the whole-text parser. */
        size_t count = 0;
        int each = engine_watch_each(c.body, c.len, on_element, &count);
        json_error_t jerr;
        json_t *v = json_loadb(c.body, c.len, 0, &jerr);
        /* A NUL byte is refused outright (jansson would skip one after a number). */
        bool nul = memchr(c.body, '\0', c.len) != NULL;
        if (nul ? each != -1
                : ((each == 0) != json_is_array(v) || (each == 0 && count != json_array_size(v))))
            abort();
        json_decref(v);
    }
    return 0;
}
