/*
 * Fuzz target for manager/bench_mux, the Docker multiplexed-stream frame decoder that `swarm bench
 * logs` reads log streams with. The first input byte picks a piece size (1..256); the rest is the
 * stream, fed once whole and once in pieces of that size. Must never crash or read out of bounds,
 * and both feedings must end in the same state. Without an error, every byte is accounted for:
 * payload + 8 per header + the header bytes held = the input; finish succeeds exactly at a frame
 * boundary.
 */
#include "manager/bench_mux.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t payload(const struct bench_mux *m)
{
    uint64_t sum = 0;
    for (int i = 0; i < BENCH_MUX_STREAMS; i++)
        sum += m->bytes[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;

    struct bench_mux whole, parts;
    bench_mux_init(&whole);
    bench_mux_init(&parts);
    int rc_whole = bench_mux_feed(&whole, data, size);
    int rc_parts = 0;
    for (size_t off = 0; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        rc_parts = bench_mux_feed(&parts, data + off, n);
    }
    if (rc_whole != rc_parts || whole.error != parts.error || whole.frames != parts.frames ||
        memcmp(whole.bytes, parts.bytes, sizeof(whole.bytes)) != 0)
        abort();
    if (whole.error == BENCH_MUX_OK) {
        if (rc_whole != 0 || whole.hdr_len >= BENCH_MUX_HEADER || whole.hdr_len != parts.hdr_len ||
            whole.left != parts.left)
            abort();
        if (payload(&whole) + BENCH_MUX_HEADER * whole.frames + whole.hdr_len != size)
            abort();
        int boundary = whole.hdr_len == 0 && whole.left == 0;
        if ((bench_mux_finish(&whole) == 0) != boundary)
            abort();
        if (!boundary && whole.error != BENCH_MUX_TRUNCATED)
            abort();
    } else {
        /* Stopped at a bad header: what came before it is accounted for, nothing after. */
        if (rc_whole != -1 || payload(&whole) + BENCH_MUX_HEADER * (whole.frames + 1) > size ||
            bench_mux_finish(&whole) != -1 || bench_mux_feed(&whole, data, size) != -1)
            abort();
    }
    if (bench_mux_strerror(whole.error)[0] == '\0')
        abort();
    return 0;
}
