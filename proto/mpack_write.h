/*
 * mpack_write — msgpack-c's packer writing into a caller's fixed buffer.
 *
 * msgpack-c's packer calls a write callback for every piece it emits; ours copies into
 * buf[0..cap) while the piece fits and otherwise only counts. `len` is always the number of
 * bytes the encoding needs so far — past cap once it stopped fitting — so an encoder can tell
 * the caller how many bytes over it is (meta_encode does), and the compound-datagram encoder can
 * roll back a message that did not fit by resetting len to a mark. Nothing is ever written at or
 * past buf + cap. No allocation.
 *
 * msgpack-c chooses the smallest encoding for every integer, string, bin, array and map header;
 * that is the canonical form docs/PROTOCOL.md describes and the known-answer tests pin down.
 */
#ifndef SWARM_PROTO_MPACK_WRITE_H
#define SWARM_PROTO_MPACK_WRITE_H

#include "proto/proto.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpw {
    uint8_t *buf;      /* caller's buffer */
    size_t cap;        /* its size */
    size_t len;        /* bytes the encoding needs so far (may exceed cap) */
    msgpack_packer pk; /* writes through mpw_write_cb into buf */
};

void mpw_init(struct mpw *w, void *buf, size_t cap);

/* 1 while everything packed so far fits in cap. */
static inline bool mpw_fits(const struct mpw *w)
{
    return w->len <= w->cap;
}

/* Forgets everything packed after mark (a previous w->len), as if it had not been packed. */
static inline void mpw_rewind(struct mpw *w, size_t mark)
{
    w->len = mark;
}

/* Thin wrappers so encoders read as the format. Each returns nothing: overflow is checked once,
 * at the end, with mpw_fits. */
void mpw_uint(struct mpw *w, uint64_t v);
void mpw_bool(struct mpw *w, bool v);
void mpw_nil(struct mpw *w);
void mpw_array(struct mpw *w, uint32_t n);
void mpw_map(struct mpw *w, uint32_t n);
void mpw_str(struct mpw *w, const void *p, size_t len);
void mpw_bin(struct mpw *w, const void *p, size_t len);
/* Just the bin header: the caller sends the len body bytes itself (gather write). */
void mpw_bin_header(struct mpw *w, size_t len);
/* Raw, already-encoded msgpack bytes. */
void mpw_raw(struct mpw *w, const void *p, size_t len);

#endif
