/*
 * mpack_read — a bounded msgpack cursor for decoding untrusted input. Every decoder in proto/
 * reads with it; nothing in proto/ decodes with msgpack-c's unpacker (see below why).
 *
 * The reader walks (p, end) one value header at a time. Before it trusts any declared size it
 * checks it against the bytes that remain:
 *   - str / bin / ext: the body length must be <= bytes left;
 *   - array of n:      n <= bytes left (every element needs at least one byte);
 *   - map of n:        2n <= bytes left (a key and a value, one byte each at least).
 * So a 5-byte `dd ff ff ff ff` (array32 of 4 billion) fails at once, with no allocation — unlike
 * msgpack-c 4.0's unpacker, which allocates n * 24 bytes at the header (c-ecosystem-style §A1).
 * Containers opened through mpr_array / mpr_map and containers skipped by mpr_skip together may
 * nest at most MPR_MAX_DEPTH deep. Every loop a decoder runs over a declared count consumes at
 * least one byte per step, so the work is linear in the input.
 *
 * It never allocates. Strings, bins and ext bodies come back as views into the input buffer
 * (see proto.h: valid while the caller's buffer is). Non-negative integers are returned as
 * MPR_UINT whatever their encoding (positive fixint, uint8..64, or int8..64 with a value >= 0),
 * so other encoders interoperate.
 *
 * Errors: each call takes the field being read ("seq", "name") and on failure fills the
 * reader's proto_err with "<where>[<index>].<field>: <reason>", e.g.
 * "alive.name: string length 300 exceeds 64" or "pushpull.members[12].port: expected uint, got
 * str". where and index are set by the decoder as it descends (index < 0: none). After the
 * first error the reader is poisoned: every later call fails with the same code, so decoders
 * may check once at the end of a run of reads if they like.
 */
#ifndef SWARM_PROTO_MPACK_READ_H
#define SWARM_PROTO_MPACK_READ_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and maps accepted anywhere in one input. */
#define MPR_MAX_DEPTH 8

enum mpr_kind {
    MPR_NIL,
    MPR_BOOL,
    MPR_UINT, /* any integer >= 0 */
    MPR_INT,  /* any integer < 0 */
    MPR_FLOAT,
    MPR_STR,
    MPR_BIN,
    MPR_ARRAY,
    MPR_MAP,
    MPR_EXT,
};

/* One value header as read by mpr_next. */
struct mpr_item {
    enum mpr_kind kind;
    bool b;             /* MPR_BOOL */
    uint64_t u;         /* MPR_UINT */
    int64_t i;          /* MPR_INT */
    double f;           /* MPR_FLOAT */
    uint32_t len;       /* STR/BIN/EXT: body bytes; ARRAY: elements; MAP: key-value pairs */
    const uint8_t *ptr; /* STR/BIN/EXT: the body, a view into the input */
    int8_t ext_type;    /* MPR_EXT */
};

/* The cursor. Caller-owned (usually on the stack); holds no resources. */
struct mpr {
    const uint8_t *p;      /* next byte to read */
    const uint8_t *end;    /* one past the last byte */
    unsigned depth;        /* containers entered through mpr_array / mpr_map */
    const char *where;     /* error prefix, e.g. "alive"; NULL for none */
    long index;            /* appended to where as "[index]" when >= 0 */
    int failed;            /* the first error's code, 0 while none */
    struct proto_err *err; /* may be NULL */
};

/* Starts a reader over buf[0..len). err may be NULL. */
void mpr_init(struct mpr *r, const void *buf, size_t len, struct proto_err *err);

/* Bytes not read yet. */
static inline size_t mpr_left(const struct mpr *r)
{
    return (size_t)(r->end - r->p);
}

/* Records an error for field (formatted as described above) and returns code. */
int mpr_fail(struct mpr *r, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads one value header. For STR/BIN/EXT the body is consumed too and returned as a view; for
 * ARRAY/MAP only the header is consumed (the elements follow), and the reader's depth is not
 * changed — use mpr_array / mpr_map to descend, mpr_skip to jump over. */
int mpr_next(struct mpr *r, const char *field, struct mpr_item *it);

/* A short name for a kind, for messages: "uint", "str", ... */
const char *mpr_kind_name(enum mpr_kind k);

/* Typed reads. Each fails with PROTO_ERR_TYPE ("expected uint, got str") on another type. */

/* An unsigned integer <= max (PROTO_ERR_RANGE: "value 70000 exceeds 65535"). */
int mpr_uint(struct mpr *r, const char *field, uint64_t max, uint64_t *out);
int mpr_u8(struct mpr *r, const char *field, uint8_t *out);
int mpr_u16(struct mpr *r, const char *field, uint16_t *out);
int mpr_u32(struct mpr *r, const char *field, uint32_t *out);
int mpr_u64(struct mpr *r, const char *field, uint64_t *out);
int mpr_bool(struct mpr *r, const char *field, bool *out);

/* A str of min..max bytes (PROTO_ERR_RANGE: "string length 300 exceeds 64"). */
int mpr_str(struct mpr *r, const char *field, size_t min, size_t max, struct proto_str *out);
/* A str that is a node name (proto_name_check); PROTO_ERR_MALFORMED otherwise. */
int mpr_name(struct mpr *r, const char *field, struct proto_str *out);
/* A str of at most max bytes that is valid text (proto_text_check). */
int mpr_text(struct mpr *r, const char *field, size_t max, struct proto_str *out);
/* A bin of min..max bytes. */
int mpr_bin(struct mpr *r, const char *field, size_t min, size_t max, struct proto_bytes *out);
/* An address: a bin of 4 or 16 bytes (into a->ip, a->len); the port is left alone. */
int mpr_ip(struct mpr *r, const char *field, struct proto_addr *a);
/* A port: uint 1..65535 (PROTO_ERR_RANGE for 0). */
int mpr_port(struct mpr *r, const char *field, uint16_t *out);

/* Opens an array of min..max elements (PROTO_ERR_RANGE: "expected at least 6 elements, got 3")
 * and descends: depth + 1, PROTO_ERR_DEPTH past MPR_MAX_DEPTH. Close it with mpr_leave. */
int mpr_array(struct mpr *r, const char *field, uint32_t min, uint32_t max, uint32_t *n);
/* Opens a top-level array of at least min elements whose first element is the wire version,
 * reads and checks it: PROTO_ERR_VERSION "unsupported protocol version N (this build speaks
 * 1)" for any other value. *n = the array's element count, the version included. */
int mpr_versioned(struct mpr *r, uint32_t min, uint32_t *n);
/* Opens a map of at most max pairs and descends. Close it with mpr_leave. */
int mpr_map(struct mpr *r, const char *field, uint32_t max, uint32_t *n);
/* Skips the `unread` elements of the innermost open container that the decoder did not read
 * (fields a newer peer appended), then ascends. For a map, unread counts keys and values. */
int mpr_leave(struct mpr *r, const char *field, uint64_t unread);

/* Skips one complete value of any type, nested containers included, within the depth bound.
 * Iterative: no recursion, no allocation, linear in the bytes skipped. */
int mpr_skip(struct mpr *r, const char *field);

/* Fails with PROTO_ERR_MALFORMED ("3 trailing bytes") unless the whole input was read. */
int mpr_finish(struct mpr *r, const char *field);

#endif
