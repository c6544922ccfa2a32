#include "proto/mpack_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mpr_init(struct mpr *r, const void *buf, size_t len, struct proto_err *err)
{
    r->p = buf;
    r->end = r->p + len;
    r->depth = 0;
    r->where = NULL;
    r->index = -1;
    r->failed = 0;
    r->err = err;
    if (err != NULL) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

int mpr_fail(struct mpr *r, int code, const char *field, const char *fmt, ...)
{
    if (r->failed)
        return r->failed; /* keep the first, most precise, report */
    r->failed = code;
    if (r->err == NULL)
        return code;
    char *m = r->err->msg;
    size_t cap = sizeof(r->err->msg), n = 0;
    int w = 0;
    if (r->where != NULL && r->index >= 0)
        w = snprintf(m, cap, "%s[%ld]%s%s: ", r->where, r->index, field ? "." : "",
                     field ? field : "");
    else if (r->where != NULL)
        w = snprintf(m, cap, "%s%s%s: ", r->where, field ? "." : "", field ? field : "");
    else if (field != NULL)
        w = snprintf(m, cap, "%s: ", field);
    n = w > 0 ? (size_t)w : 0;
    if (n < cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m + n, cap - n, fmt, ap);
        va_end(ap);
    }
    r->err->code = code;
    return code;
}

const char *mpr_kind_name(enum mpr_kind k)
{
    static const char *const names[] = {
        [MPR_NIL] = "nil",     [MPR_BOOL] = "bool", [MPR_UINT] = "uint", [MPR_INT] = "negative int",
        [MPR_FLOAT] = "float", [MPR_STR] = "str",   [MPR_BIN] = "bin",   [MPR_ARRAY] = "array",
        [MPR_MAP] = "map",     [MPR_EXT] = "ext",
    };
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static uint64_t load_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Consumes an n-byte big-endian number that is part of a header. */
static int take_be(struct mpr *r, const char *field, unsigned n, uint64_t *v)
{
    if (mpr_left(r) < n)
        return mpr_fail(r, PROTO_ERR_TRUNCATED, field,
                        "truncated: header needs %u more bytes, %zu left", n, mpr_left(r));
    *v = load_be(r->p, n);
    r->p += n;
    return 0;
}

/* Consumes a body of len bytes (str, bin, ext) and returns a view of it. */
static int take_body(struct mpr *r, const char *field, const char *what, uint64_t len,
                     struct mpr_item *it)
{
    if (len > mpr_left(r))
        return mpr_fail(r, PROTO_ERR_TRUNCATED, field,
                        "truncated: %s length %llu but %zu bytes left", what,
                        (unsigned long long)len, mpr_left(r));
    it->len = (uint32_t)len;
    it->ptr = r->p;
    r->p += len;
    return 0;
}

static int take_count(struct mpr *r, const char *field, enum mpr_kind kind, uint64_t n,
                      struct mpr_item *it)
{
    uint64_t need = kind == MPR_MAP ? 2 * n : n; /* n < 2^32: no overflow */
    if (need > mpr_left(r))
        return mpr_fail(r, PROTO_ERR_TRUNCATED, field,
                        "truncated: %s of %llu %s but %zu bytes left", mpr_kind_name(kind),
                        (unsigned long long)n, kind == MPR_MAP ? "pairs" : "elements", mpr_left(r));
    it->kind = kind;
    it->len = (uint32_t)n;
    return 0;
}

int mpr_next(struct mpr *r, const char *field, struct mpr_item *it)
{
    if (r->failed)
        return r->failed;
    memset(it, 0, sizeof(*it));
    if (r->p >= r->end)
        return mpr_fail(r, PROTO_ERR_TRUNCATED, field, "truncated: value missing");
    uint8_t b = *r->p++;
    uint64_t v = 0;
    int rc = 0;

    if (b <= 0x7f) {
        it->kind = MPR_UINT;
        it->u = b;
    } else if (b <= 0x8f) {
        return take_count(r, field, MPR_MAP, b & 0x0f, it);
    } else if (b <= 0x9f) {
        return take_count(r, field, MPR_ARRAY, b & 0x0f, it);
    } else if (b <= 0xbf) {
        it->kind = MPR_STR;
        return take_body(r, field, "string", b & 0x1f, it);
    } else if (b >= 0xe0) {
        it->kind = MPR_INT;
        it->i = (int8_t)b;
    } else {
        switch (b) {
        case 0xc0:
            it->kind = MPR_NIL;
            break;
        case 0xc2:
        case 0xc3:
            it->kind = MPR_BOOL;
            it->b = b == 0xc3;
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            it->kind = MPR_BIN;
            rc = take_be(r, field, 1u << (b - 0xc4), &v);
            return rc ? rc : take_body(r, field, "bin", v, it);
        case 0xc7:
        case 0xc8:
        case 0xc9:
            it->kind = MPR_EXT;
            rc = take_be(r, field, 1u << (b - 0xc7), &v);
            if (rc)
                return rc;
            if (mpr_left(r) < 1)
                return mpr_fail(r, PROTO_ERR_TRUNCATED, field, "truncated: ext type missing");
            it->ext_type = (int8_t)*r->p++;
            return take_body(r, field, "ext", v, it);
        case 0xca:
        case 0xcb: {
            it->kind = MPR_FLOAT;
            rc = take_be(r, field, b == 0xca ? 4 : 8, &v);
            if (rc)
                return rc;
            if (b == 0xca) {
                uint32_t u32 = (uint32_t)v;
                float f;
                memcpy(&f, &u32, sizeof(f));
                it->f = f;
            } else {
                memcpy(&it->f, &v, sizeof(it->f));
            }
            break;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            it->kind = MPR_UINT;
            rc = take_be(r, field, 1u << (b - 0xcc), &it->u);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            unsigned n = 1u << (b - 0xd0);
            rc = take_be(r, field, n, &v);
            if (rc)
                return rc;
            /* sign-extend the n-byte two's complement value */
            int64_t s;
            if (n == 8) {
                memcpy(&s, &v, sizeof(s));
            } else {
                uint64_t sign = (uint64_t)1 << (8 * n - 1);
                s = (int64_t)(v ^ sign) - (int64_t)sign;
            }
            if (s >= 0) {
                it->kind = MPR_UINT;
                it->u = (uint64_t)s;
            } else {
                it->kind = MPR_INT;
                it->i = s;
            }
            break;
        }
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            it->kind = MPR_EXT;
            if (mpr_left(r) < 1)
                return mpr_fail(r, PROTO_ERR_TRUNCATED, field, "truncated: ext type missing");
            it->ext_type = (int8_t)*r->p++;
            return take_body(r, field, "ext", 1u << (b - 0xd4), it);
        case 0xd9:
        case 0xda:
        case 0xdb:
            it->kind = MPR_STR;
            rc = take_be(r, field, 1u << (b - 0xd9), &v);
            return rc ? rc : take_body(r, field, "string", v, it);
        case 0xdc:
        case 0xdd:
            rc = take_be(r, field, b == 0xdc ? 2 : 4, &v);
            return rc ? rc : take_count(r, field, MPR_ARRAY, v, it);
        case 0xde:
        case 0xdf:
            rc = take_be(r, field, b == 0xde ? 2 : 4, &v);
            return rc ? rc : take_count(r, field, MPR_MAP, v, it);
        default: /* 0xc1, the one byte msgpack never uses */
            return mpr_fail(r, PROTO_ERR_MALFORMED, field, "invalid byte 0x%02x", b);
        }
    }
    return rc;
}

/* Reads a header and demands a kind. */
static int next_kind(struct mpr *r, const char *field, enum mpr_kind want, struct mpr_item *it)
{
    int rc = mpr_next(r, field, it);
    if (rc)
        return rc;
    if (it->kind != want)
        return mpr_fail(r, PROTO_ERR_TYPE, field, "expected %s, got %s", mpr_kind_name(want),
                        mpr_kind_name(it->kind));
    return 0;
}

int mpr_uint(struct mpr *r, const char *field, uint64_t max, uint64_t *out)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_UINT, &it);
    if (rc)
        return rc;
    if (it.u > max)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "value %llu exceeds %llu",
                        (unsigned long long)it.u, (unsigned long long)max);
    *out = it.u;
    return 0;
}

int mpr_u8(struct mpr *r, const char *field, uint8_t *out)
{
    uint64_t v = 0;
    int rc = mpr_uint(r, field, UINT8_MAX, &v);
    *out = (uint8_t)v;
    return rc;
}

int mpr_u16(struct mpr *r, const char *field, uint16_t *out)
{
    uint64_t v = 0;
    int rc = mpr_uint(r, field, UINT16_MAX, &v);
    *out = (uint16_t)v;
    return rc;
}

int mpr_u32(struct mpr *r, const char *field, uint32_t *out)
{
    uint64_t v = 0;
    int rc = mpr_uint(r, field, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

int mpr_u64(struct mpr *r, const char *field, uint64_t *out)
{
    return mpr_uint(r, field, UINT64_MAX, out);
}

int mpr_bool(struct mpr *r, const char *field, bool *out)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_BOOL, &it);
    if (rc)
        return rc;
    *out = it.b;
    return 0;
}

int mpr_str(struct mpr *r, const char *field, size_t min, size_t max, struct proto_str *out)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_STR, &it);
    if (rc)
        return rc;
    if (it.len > max)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "string length %u exceeds %zu", it.len, max);
    if (it.len < min)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "string length %u is below %zu", it.len, min);
    out->ptr = (const char *)it.ptr;
    out->len = it.len;
    return 0;
}

int mpr_name(struct mpr *r, const char *field, struct proto_str *out)
{
    struct proto_str v;
    int rc = mpr_str(r, field, 0, PROTO_NAME_MAX, &v);
    if (rc)
        return rc;
    char why[64];
    const char *bad = proto_name_check(v, why, sizeof(why));
    if (bad != NULL)
        return mpr_fail(r, PROTO_ERR_MALFORMED, field, "invalid name: %s", bad);
    *out = v;
    return 0;
}

int mpr_text(struct mpr *r, const char *field, size_t max, struct proto_str *out)
{
    struct proto_str v;
    int rc = mpr_str(r, field, 0, max, &v);
    if (rc)
        return rc;
    char why[64];
    const char *bad = proto_text_check(v, why, sizeof(why));
    if (bad != NULL)
        return mpr_fail(r, PROTO_ERR_MALFORMED, field, "invalid text: %s", bad);
    *out = v;
    return 0;
}

int mpr_bin(struct mpr *r, const char *field, size_t min, size_t max, struct proto_bytes *out)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_BIN, &it);
    if (rc)
        return rc;
    if (it.len > max)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "bin length %u exceeds %zu", it.len, max);
    if (it.len < min)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "bin length %u is below %zu", it.len, min);
    out->ptr = it.ptr;
    out->len = it.len;
    return 0;
}

int mpr_ip(struct mpr *r, const char *field, struct proto_addr *a)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_BIN, &it);
    if (rc)
        return rc;
    if (it.len != 4 && it.len != 16)
        return mpr_fail(r, PROTO_ERR_RANGE, field,
                        "address is %u bytes, expected 4 (IPv4) or 16 (IPv6)", it.len);
    a->len = (uint8_t)it.len;
    memset(a->ip, 0, sizeof(a->ip));
    memcpy(a->ip, it.ptr, it.len);
    return 0;
}

int mpr_port(struct mpr *r, const char *field, uint16_t *out)
{
    int rc = mpr_u16(r, field, out);
    if (rc == 0 && *out == 0)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "port 0 is not valid");
    return rc;
}

static int enter(struct mpr *r, const char *field)
{
    if (r->depth >= MPR_MAX_DEPTH)
        return mpr_fail(r, PROTO_ERR_DEPTH, field, "nesting deeper than %d", MPR_MAX_DEPTH);
    r->depth++;
    return 0;
}

int mpr_array(struct mpr *r, const char *field, uint32_t min, uint32_t max, uint32_t *n)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_ARRAY, &it);
    if (rc)
        return rc;
    if (it.len < min)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "expected at least %u elements, got %u", min,
                        it.len);
    if (it.len > max)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "%u elements exceed %u", it.len, max);
    rc = enter(r, field);
    if (rc)
        return rc;
    *n = it.len;
    return 0;
}

int mpr_map(struct mpr *r, const char *field, uint32_t max, uint32_t *n)
{
    struct mpr_item it;
    int rc = next_kind(r, field, MPR_MAP, &it);
    if (rc)
        return rc;
    if (it.len > max)
        return mpr_fail(r, PROTO_ERR_RANGE, field, "%u entries exceed %u", it.len, max);
    rc = enter(r, field);
    if (rc)
        return rc;
    *n = it.len;
    return 0;
}

int mpr_leave(struct mpr *r, const char *field, uint64_t unread)
{
    for (uint64_t i = 0; i < unread; i++) {
        int rc = mpr_skip(r, field);
        if (rc)
            return rc;
    }
    if (r->failed)
        return r->failed;
    if (r->depth > 0)
        r->depth--;
    return 0;
}

int mpr_skip(struct mpr *r, const char *field)
{
    /* left[k]: elements still to skip in the k-th open container (keys and values for maps) */
    uint64_t left[MPR_MAX_DEPTH];
    unsigned open = 0;
    do {
        struct mpr_item it;
        int rc = mpr_next(r, field, &it);
        if (rc)
            return rc;
        if (open > 0)
            left[open - 1]--;
        if (it.kind == MPR_ARRAY || it.kind == MPR_MAP) {
            if (r->depth + open >= MPR_MAX_DEPTH)
                return mpr_fail(r, PROTO_ERR_DEPTH, field, "nesting deeper than %d", MPR_MAX_DEPTH);
            left[open++] = it.kind == MPR_MAP ? 2 * (uint64_t)it.len : it.len;
        }
        while (open > 0 && left[open - 1] == 0)
            open--;
    } while (open > 0);
    return 0;
}

int mpr_finish(struct mpr *r, const char *field)
{
    if (r->failed)
        return r->failed;
    if (r->p != r->end)
        return mpr_fail(r, PROTO_ERR_MALFORMED, field, "%zu trailing bytes after the value",
                        mpr_left(r));
    return 0;
}

int mpr_versioned(struct mpr *r, uint32_t min, uint32_t *n)
{
    uint64_t version;
    int rc;
    if ((rc = mpr_array(r, NULL, min, UINT32_MAX, n)) ||
        (rc = mpr_uint(r, "version", UINT64_MAX, &version)))
        return rc;
    if (version == PROTO_WIRE_VERSION)
        return 0;
    r->where = NULL; /* the message stands alone, whatever was being decoded */
    return mpr_fail(r, PROTO_ERR_VERSION, NULL,
                    "unsupported protocol version %llu (this build speaks %d)",
                    (unsigned long long)version, PROTO_WIRE_VERSION);
}
