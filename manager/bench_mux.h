/*
 * bench_mux — the decoder of the Docker Engine's multiplexed stream, as `GET
 * /containers/{id}/logs` (and attach) sends it for a container without a TTY: a sequence of
 * frames, each an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr, 3 system error), three
 * zero bytes, the payload length as a big-endian uint32 — then that many payload bytes.
 *
 * Incremental: bytes are fed in pieces of any size, as they come off the wire; a header split
 * across pieces is held (at most 7 bytes). The decoder counts payload bytes per stream and
 * frames; it keeps no payload, so it allocates nothing and a frame may be up to 4 GiB.
 * Total: any byte string ends in a valid state or in a sticky error (an unknown stream type,
 * nonzero reserved bytes, or, at bench_mux_finish, a frame cut short). Pure; the caller owns the
 * struct.
 */
#ifndef SWARM_MANAGER_BENCH_MUX_H
#define SWARM_MANAGER_BENCH_MUX_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_MUX_HEADER 8
#define BENCH_MUX_STREAMS 4 /* stdin, stdout, stderr, system error */

enum bench_mux_stream {
    BENCH_MUX_STDIN = 0,
    BENCH_MUX_STDOUT = 1,
    BENCH_MUX_STDERR = 2,
    BENCH_MUX_SYSERR = 3,
};

enum bench_mux_error {
    BENCH_MUX_OK = 0,
    BENCH_MUX_BAD_STREAM,   /* stream type byte above 3 */
    BENCH_MUX_BAD_RESERVED, /* header bytes 1..3 not zero */
    BENCH_MUX_TRUNCATED,    /* the stream ended inside a header or a payload */
};

struct bench_mux {
    unsigned char hdr[BENCH_MUX_HEADER]; /* the header being read */
    unsigned hdr_len;                    /* bytes of it held, 0..7 between calls */
    uint32_t left;                       /* payload bytes still due in the current frame */
    int stream;                          /* the current frame's stream (while left > 0) */
    uint64_t bytes[BENCH_MUX_STREAMS];   /* payload bytes seen, per stream */
    uint64_t frames;                     /* headers decoded */
    enum bench_mux_error error;          /* sticky: once set, feeding does nothing */
};

void bench_mux_init(struct bench_mux *m);

/* Decodes n more bytes (p may be NULL when n is 0). Returns 0, or -1 once m->error is set. */
int bench_mux_feed(struct bench_mux *m, const void *p, size_t n);

/* The stream has ended: returns 0 if it ended on a frame boundary, else -1 (the error is
 * BENCH_MUX_TRUNCATED unless an earlier one was set). */
int bench_mux_finish(struct bench_mux *m);

/* A short phrase for an error code ("truncated frame"); "ok" for BENCH_MUX_OK. */
const char *bench_mux_strerror(enum bench_mux_error e);

#endif
