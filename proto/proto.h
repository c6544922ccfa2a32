/*
 * proto — the wire formats (gossip messages, beacons, relay frames, engine state). Pure code: no
 * I/O, no clock, no allocation, no globals but constants. Depends on msgpack-c only.
 *
 * This header holds what every codec shares: the wire version, the error report, the views that
 * decoders hand back, addresses, and the character rules for names and text.
 *
 * The codecs, one job each:
 *   proto/mpack_read.h   bounded, zero-allocation msgpack cursor (every decoder reads with it)
 *   proto/mpack_write.h  msgpack-c packer into a caller's fixed buffer (every encoder writes with
 * it) proto/gossip.h       SWIM/Lifeguard messages and the compound datagram proto/pushpull.h the
 * push-pull state exchange (TCP sync) proto/meta.h         member metadata, carried opaque inside
 * alive and push-pull proto/beacon.h       LAN discovery beacon proto/relay_frame.h  relay frames
 * (OPEN, DATA, CLOSE, WINDOW, STATE, PING) docs/PROTOCOL.md describes every layout byte by byte.
 *
 * Ownership, everywhere in proto/: decoders never allocate and never copy strings or byte
 * strings. A decoded proto_str / proto_bytes is a view into the caller's input buffer, valid
 * while that buffer is unchanged, and is not NUL-terminated. Numbers and addresses are copied.
 * Encoders write into a caller's buffer and never past the capacity they are given.
 */
#ifndef SWARM_PROTO_PROTO_H
#define SWARM_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version byte carried by every sealed datagram and relay handshake; bumped on incompatible
 * changes to any wire format. The plaintexts of datagrams, push-pull and beacons carry it too. */
#define PROTO_WIRE_VERSION 1

/* Version of the msgpack-c library linked at run time, e.g. "4.0.0". */
const char *proto_msgpack_version(void);

/* ---- errors ------------------------------------------------------------------------------ */

/* Every proto function returns 0 on success or one of these (negative) codes. */
enum proto_errc {
    PROTO_OK = 0,
    PROTO_ERR_TRUNCATED = -1,    /* input ends inside a value, or a declared length/count
                                    exceeds the bytes that remain */
    PROTO_ERR_TYPE = -2,         /* a field has the wrong msgpack type */
    PROTO_ERR_RANGE = -3,        /* a number, length or count is outside the field's bounds */
    PROTO_ERR_DEPTH = -4,        /* nesting deeper than MPR_MAX_DEPTH */
    PROTO_ERR_VERSION = -5,      /* the peer speaks another wire version */
    PROTO_ERR_MALFORMED = -6,    /* invalid byte, trailing bytes, bad characters, duplicate key */
    PROTO_ERR_UNKNOWN_TYPE = -7, /* a relay frame type this build does not know (skippable) */
    PROTO_ERR_NOSPACE = -8,      /* encoder: the output buffer or byte budget is too small */
    PROTO_ERR_TOO_BIG = -9,      /* encoder: metadata over META_MAX_SIZE (labels do not fit) */
    PROTO_ERR_INVALID = -10,     /* encoder: the caller passed a value the format cannot carry */
};

/* What failed and why, naming the field: "alive.name: string length 300 exceeds 64". Callers
 * may pass NULL wherever a struct proto_err * is taken when they only need the code. */
struct proto_err {
    int code;      /* enum proto_errc */
    char msg[160]; /* NUL-terminated, one line, never contains input bytes beyond a name */
};

/* A short constant description of an enum proto_errc ("truncated input", ...). */
const char *proto_strerror(int code);

/* Fills err (if non-NULL) and returns code. */
int proto_err_set(struct proto_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- views and addresses ------------------------------------------------------------------- */

/* A string: ptr[0..len), not NUL-terminated. Decoders point into their input; encoders read
 * whatever the caller points at. */
struct proto_str {
    const char *ptr;
    size_t len;
};

/* A byte string, same rules as proto_str. */
struct proto_bytes {
    const uint8_t *ptr;
    size_t len;
};

/* An IPv4 or IPv6 address and a port, copied (not a view). len is 4 or 16; ip is in network
 * byte order (as in struct in_addr / in6_addr). */
struct proto_addr {
    uint8_t len;
    uint8_t ip[16];
    uint16_t port;
};

/* View of a NUL-terminated C string (NULL gives the empty view). */
struct proto_str proto_str_c(const char *s);

/* 1 if the view holds exactly the C string s. */
bool proto_str_eq(struct proto_str v, const char *s);

/* Copies the view into dst as a C string; returns -1 (dst = "") if it does not fit in cap. */
int proto_str_copy(struct proto_str v, char *dst, size_t cap);

/* Builds an address from 4 or 16 raw bytes; returns -1 for any other length. */
int proto_addr_set(struct proto_addr *a, const void *ip, size_t len, uint16_t port);

/* 1 if both addresses (family, bytes, port) are equal. */
bool proto_addr_eq(const struct proto_addr *a, const struct proto_addr *b);

/* ---- character rules ----------------------------------------------------------------------- */

/* Node names (gossip identity): 1..PROTO_NAME_MAX bytes, each visible ASCII 0x21..0x7e. */
#define PROTO_NAME_MAX 64

/* Returns NULL if v is a valid node name, else a short reason ("empty", "byte 0x0a at 3 is not
 * visible ASCII", ...) in a static string or in why (cap ≥ 48). */
const char *proto_name_check(struct proto_str v, char *why, size_t cap);

/* Returns NULL if v is valid text: UTF-8 without control characters (no byte < 0x20, no 0x7f).
 * Otherwise a short reason, as proto_name_check. */
const char *proto_text_check(struct proto_str v, char *why, size_t cap);

#endif
