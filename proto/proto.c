#include "proto/proto.h"
#include "proto/proto_internal.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *proto_msgpack_version(void)
{
    return msgpack_version();
}

const char *proto_strerror(int code)
{
    switch (code) {
    case PROTO_OK:
        return "success";
    case PROTO_ERR_TRUNCATED:
        return "truncated input";
    case PROTO_ERR_TYPE:
        return "wrong type";
    case PROTO_ERR_RANGE:
        return "value out of range";
    case PROTO_ERR_DEPTH:
        return "nesting too deep";
    case PROTO_ERR_VERSION:
        return "unsupported protocol version";
    case PROTO_ERR_MALFORMED:
        return "malformed input";
    case PROTO_ERR_UNKNOWN_TYPE:
        return "unknown message type";
    case PROTO_ERR_NOSPACE:
        return "no space in output buffer";
    case PROTO_ERR_TOO_BIG:
        return "metadata too big";
    case PROTO_ERR_INVALID:
        return "invalid value";
    default:
        return "unknown error";
    }
}

int proto_err_set(struct proto_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

struct proto_str proto_str_c(const char *s)
{
    struct proto_str v = {s != NULL ? s : "", s != NULL ? strlen(s) : 0};
    return v;
}

bool proto_str_eq(struct proto_str v, const char *s)
{
    return strlen(s) == v.len && (v.len == 0 || memcmp(v.ptr, s, v.len) == 0);
}

int proto_str_copy(struct proto_str v, char *dst, size_t cap)
{
    if (cap == 0)
        return -1;
    if (v.len >= cap) {
        dst[0] = '\0';
        return -1;
    }
    if (v.len > 0)
        memcpy(dst, v.ptr, v.len);
    dst[v.len] = '\0';
    return 0;
}

int proto_addr_set(struct proto_addr *a, const void *ip, size_t len, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    if (len != 4 && len != 16)
        return -1;
    a->len = (uint8_t)len;
    memcpy(a->ip, ip, len);
    a->port = port;
    return 0;
}

bool proto_addr_eq(const struct proto_addr *a, const struct proto_addr *b)
{
    return a->len == b->len && a->port == b->port && memcmp(a->ip, b->ip, a->len) == 0;
}

const char *proto_name_check(struct proto_str v, char *why, size_t cap)
{
    if (v.len == 0)
        return "empty";
    if (v.len > PROTO_NAME_MAX)
        return "longer than 64 bytes";
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c < 0x21 || c > 0x7e) {
            snprintf(why, cap, "byte 0x%02x at %zu is not visible ASCII", c, i);
            return why;
        }
    }
    return NULL;
}

/* Length of the UTF-8 sequence starting at s[0..n), or 0 if it is not valid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as RFC 3629 says). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

const char *proto_text_check(struct proto_str v, char *why, size_t cap)
{
    const unsigned char *s = (const unsigned char *)v.ptr;
    for (size_t i = 0; i < v.len;) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(why, cap, "control byte 0x%02x at %zu", s[i], i);
            return why;
        }
        size_t n = utf8_seq(s + i, v.len - i);
        if (n == 0) {
            snprintf(why, cap, "invalid UTF-8 at byte %zu", i);
            return why;
        }
        i += n;
    }
    return NULL;
}

/* ---- encoder-side checks shared by the codecs (proto/proto_internal.h) ---- */

int proto_chk_name(struct proto_err *err, const char *where, const char *field, struct proto_str v)
{
    char why[64];
    const char *bad =
        v.ptr == NULL && v.len > 0 ? "NULL pointer" : proto_name_check(v, why, sizeof(why));
    if (bad != NULL)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: invalid name: %s", where, field, bad);
    return 0;
}

int proto_chk_text(struct proto_err *err, const char *where, const char *field, struct proto_str v,
                   size_t max)
{
    char why[64];
    if (v.len > max)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: string length %zu exceeds %zu", where,
                             field, v.len, max);
    if (v.len > 0 && v.ptr == NULL)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: NULL pointer", where, field);
    const char *bad = proto_text_check(v, why, sizeof(why));
    if (bad != NULL)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: invalid text: %s", where, field, bad);
    return 0;
}

int proto_chk_bytes(struct proto_err *err, const char *where, const char *field,
                    struct proto_bytes v, size_t max)
{
    if (v.len > max)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: bin length %zu exceeds %zu", where,
                             field, v.len, max);
    if (v.len > 0 && v.ptr == NULL)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: NULL pointer", where, field);
    return 0;
}

int proto_chk_addr(struct proto_err *err, const char *where, const char *field,
                   const struct proto_addr *a)
{
    if (a->len != 4 && a->len != 16)
        return proto_err_set(err, PROTO_ERR_INVALID,
                             "%s.%s: address is %u bytes, expected 4 (IPv4) or 16 (IPv6)", where,
                             field, a->len);
    if (a->port == 0)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.%s: port 0 is not valid", where, field);
    return 0;
}
