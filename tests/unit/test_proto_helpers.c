/*
 * Helpers shared by the proto unit tests; #included by each test_proto_*.c (one executable per
 * file, so no separate library). Inputs to decoders are always copied into a heap buffer of the
 * exact size, so ASan and valgrind report any read past the end.
 */
#ifndef SWARM_TEST_PROTO_HELPERS_C
#define SWARM_TEST_PROTO_HELPERS_C

#include "proto/proto.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of p[0..len) with nothing after it (malloc(0) avoided: 1-byte minimum, len 0). */
static inline uint8_t *exact_copy(const void *p, size_t len)
{
    uint8_t *c = malloc(len > 0 ? len : 1);
    if (c == NULL)
        abort();
    if (len > 0)
        memcpy(c, p, len);
    return c;
}

/* Parses hex (spaces ignored) into an exact-size heap buffer; *len = bytes. */
static inline uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = 0, cap = strlen(hex) / 2 + 1;
    uint8_t *out = malloc(cap);
    if (out == NULL)
        abort();
    int hi = -1;
    for (const char *s = hex; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    uint8_t *exact = exact_copy(out, n);
    free(out);
    *len = n;
    return exact;
}

/* Lower-case hex of p[0..len) into a static buffer (tests are single-threaded). */
static inline const char *tohex(const void *p, size_t len)
{
    static char out[2 * 4096 + 1];
    const uint8_t *b = p;
    size_t i;
    for (i = 0; i < len && i < 4096; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * i] = '\0';
    return out;
}

/* rc must be code, and err must say exactly msg. */
#define CHECK_ERR(rc_, e_, code_, msg_)                                                            \
    do {                                                                                           \
        CHECK_INT(rc_, code_);                                                                     \
        CHECK_INT((e_).code, code_);                                                               \
        CHECK_STR((e_).msg, msg_);                                                                 \
    } while (0)

/* The bytes must be exactly the hex string (spaces ignored). */
#define CHECK_HEX(p, len, hex)                                                                     \
    do {                                                                                           \
        size_t want_len_;                                                                          \
        uint8_t *want_ = unhex(hex, &want_len_);                                                   \
        check_count++;                                                                             \
        if ((size_t)(len) != want_len_ || memcmp(p, want_, want_len_) != 0) {                      \
            check_failures++;                                                                      \
            printf("not ok %d - %s:%d: bytes differ\n  got  %s\n", check_count, __FILE__,          \
                   __LINE__, tohex(p, len));                                                       \
            printf("  want %s\n", tohex(want_, want_len_));                                        \
        }                                                                                          \
        free(want_);                                                                               \
    } while (0)

static inline struct proto_addr addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct proto_addr x;
    uint8_t ip[4] = {a, b, c, d};
    proto_addr_set(&x, ip, 4, port);
    return x;
}

static inline struct proto_addr addr6_loopback(uint16_t port)
{
    struct proto_addr x;
    uint8_t ip[16] = {0};
    ip[15] = 1;
    proto_addr_set(&x, ip, 16, port);
    return x;
}

#define S(lit) ((struct proto_str){lit, sizeof(lit) - 1})

#endif
