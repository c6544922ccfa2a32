/*
 * Fuzz target for agent/hollow_engine's request handling without sockets: any bytes as what
 * three clients send to one hollow engine, so that one client's requests end another's streams
 * (wait, logs -f, events until). The input is cut at 0xFF bytes into pieces; the byte after
 * each 0xFF picks the session the next piece goes to (low 2 bits: 0..2, 3 = the same one) and
 * whether that session's client then closes its side (bit 2) or the engine ticks (bit 3).
 * The clock is fake and advances by 0.3 s per reading, ids come from a fixed seed: runs repeat.
 * Must never crash, leak or over-read; the first bytes a session writes must be a status line,
 * and no session may write after asking to close.
 */
#include "agent/hollow_engine.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fake_now;

static int64_t clock_fn(void)
{
    fake_now += 300000000LL;
    return fake_now;
}

struct client {
    size_t written;
    bool closed;
};

static int on_write(void *arg, const void *p, size_t len)
{
    struct client *c = arg;
    if (c->closed)
        abort(); /* nothing after close */
    if (c->written == 0 && (len < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0))
        abort();
    c->written += len;
    return 0;
}

static void on_close(void *arg, bool flush)
{
    (void)flush;
    struct client *c = arg;
    if (c->closed)
        abort(); /* at most once */
    c->closed = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t seed[16] = {7};
    static const char *const labels[] = {"zone=a"};
    fake_now = 1795623600LL * 1000000000LL;
    struct hollow_engine_config cfg = {
        .name = "fuzz",
        .labels = labels,
        .nlabels = 1,
        .version = "0",
        .max_containers = 64,
        .now_ns = clock_fn,
        .id_seed = seed,
    };
    char err[256];
    struct hollow_engine *h = hollow_engine_new(&cfg, err, sizeof(err));
    if (h == NULL)
        abort();
    static const struct hollow_session_io io = {on_write, on_close};
    struct client clients[3];
    struct hollow_session *s[3];
    memset(clients, 0, sizeof(clients));
    for (int i = 0; i < 3; i++) {
        s[i] = hollow_session_new(h, &io, &clients[i]);
        if (s[i] == NULL)
            abort();
    }
    int cur = 0;
    size_t i = 0;
    while (i < size) {
        const uint8_t *ff = memchr(data + i, 0xff, size - i);
        size_t end = ff ? (size_t)(ff - data) : size;
        if (end > i)
            hollow_session_feed(s[cur], (const char *)data + i, end - i);
        if (ff == NULL || end + 1 >= size)
            break;
        uint8_t ctl = data[end + 1];
        if (ctl & 4)
            hollow_session_feed(s[cur], NULL, 0);
        if (ctl & 8)
            hollow_engine_tick(h);
        if ((ctl & 3) != 3)
            cur = ctl & 3;
        i = end + 2;
    }
    for (int k = 0; k < 3; k++)
        hollow_session_free(s[k]);
    const struct hollow_engine_stats *st = hollow_engine_stats(h);
    if (st->sessions != 0 || st->subscribers != 0 || st->containers > 64)
        abort();
    hollow_engine_free(h);
    return 0;
}
