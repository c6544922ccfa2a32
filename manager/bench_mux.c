/* bench_mux — the Docker multiplexed-stream frame decoder. See bench_mux.h. */
#include "manager/bench_mux.h"

#include <string.h>

void bench_mux_init(struct bench_mux *m)
{
    memset(m, 0, sizeof(*m));
}

/* A complete header is in m->hdr: check it and start its frame. */
static int take_header(struct bench_mux *m)
{
    const unsigned char *h = m->hdr;
    if (h[0] >= BENCH_MUX_STREAMS) {
        m->error = BENCH_MUX_BAD_STREAM;
        return -1;
    }
    if (h[1] != 0 || h[2] != 0 || h[3] != 0) {
        m->error = BENCH_MUX_BAD_RESERVED;
        return -1;
    }
    m->stream = h[0];
    m->left = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
    m->hdr_len = 0;
    m->frames++;
    return 0;
}

int bench_mux_feed(struct bench_mux *m, const void *p, size_t n)
{
    if (m->error != BENCH_MUX_OK)
        return -1;
    const unsigned char *b = p;
    while (n > 0) {
        if (m->left > 0) {
            size_t take = n < m->left ? n : m->left;
            m->bytes[m->stream] += take;
            m->left -= (uint32_t)take;
            b += take;
            n -= take;
            continue;
        }
        size_t want = BENCH_MUX_HEADER - m->hdr_len;
        size_t take = n < want ? n : want;
        memcpy(m->hdr + m->hdr_len, b, take);
        m->hdr_len += (unsigned)take;
        b += take;
        n -= take;
        if (m->hdr_len == BENCH_MUX_HEADER && take_header(m) < 0)
            return -1;
    }
    return 0;
}

int bench_mux_finish(struct bench_mux *m)
{
    if (m->error != BENCH_MUX_OK)
        return -1;
    if (m->hdr_len != 0 || m->left != 0) {
        m->error = BENCH_MUX_TRUNCATED;
        return -1;
    }
    return 0;
}

const char *bench_mux_strerror(enum bench_mux_error e)
{
    switch (e) {
    case BENCH_MUX_OK:
        return "ok";
    case BENCH_MUX_BAD_STREAM:
        return "bad frame header (stream type)";
    case BENCH_MUX_BAD_RESERVED:
        return "bad frame header (reserved bytes)";
    case BENCH_MUX_TRUNCATED:
        return "truncated frame";
    }
    return "unknown error";
}
