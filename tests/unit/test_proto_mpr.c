/* Unit tests for proto/mpack_read (the bounded msgpack cursor) and proto/mpack_write. */
#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "tests/unit/test_proto_helpers.c"

/* Reads the single value in hex; returns mpr_next's code and the item. */
static int read_one(const char *hex, struct mpr_item *it, struct proto_err *err)
{
    size_t len;
    uint8_t *b = unhex(hex, &len);
    struct mpr r;
    mpr_init(&r, b, len, err);
    int rc = mpr_next(&r, "v", it);
    if (rc == 0)
        rc = mpr_finish(&r, "v");
    free(b);
    return rc;
}

static void test_every_header(void)
{
    struct mpr_item it;
    struct proto_err err;
    static const struct {
        const char *hex;
        enum mpr_kind kind;
        uint64_t u;
        int64_t i;
        uint32_t len;
    } cases[] = {
        {"00", MPR_UINT, 0, 0, 0},
        {"7f", MPR_UINT, 127, 0, 0},
        {"cc ff", MPR_UINT, 255, 0, 0},
        {"cd 01 00", MPR_UINT, 256, 0, 0},
        {"ce ff ff ff ff", MPR_UINT, 0xffffffffu, 0, 0},
        {"cf ff ff ff ff ff ff ff ff", MPR_UINT, UINT64_MAX, 0, 0},
        {"d0 05", MPR_UINT, 5, 0, 0}, /* signed encodings of values >= 0 are uints */
        {"d3 00 00 00 00 00 00 00 07", MPR_UINT, 7, 0, 0},
        {"ff", MPR_INT, 0, -1, 0},
        {"e0", MPR_INT, 0, -32, 0},
        {"d0 80", MPR_INT, 0, -128, 0},
        {"d1 80 00", MPR_INT, 0, -32768, 0},
        {"d2 80 00 00 00", MPR_INT, 0, INT32_MIN, 0},
        {"d3 80 00 00 00 00 00 00 00", MPR_INT, 0, INT64_MIN, 0},
        {"c0", MPR_NIL, 0, 0, 0},
        {"a3 61 62 63", MPR_STR, 0, 0, 3},
        {"d9 02 61 62", MPR_STR, 0, 0, 2},
        {"da 00 01 61", MPR_STR, 0, 0, 1},
        {"db 00 00 00 00", MPR_STR, 0, 0, 0},
        {"c4 01 ff", MPR_BIN, 0, 0, 1},
        {"c5 00 02 01 02", MPR_BIN, 0, 0, 2},
        {"c6 00 00 00 00", MPR_BIN, 0, 0, 0},
        {"d4 01 aa", MPR_EXT, 0, 0, 1},
        {"d8 01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", MPR_EXT, 0, 0, 16},
        {"c7 02 05 aa bb", MPR_EXT, 0, 0, 2},
        {"c9 00 00 00 01 05 aa", MPR_EXT, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = read_one(cases[i].hex, &it, &err);
        CHECK_INT(rc, 0);
        CHECK_INT(it.kind, cases[i].kind);
        if (cases[i].kind == MPR_UINT)
            CHECK(it.u == cases[i].u);
        if (cases[i].kind == MPR_INT)
            CHECK_INT(it.i, cases[i].i);
        if (cases[i].kind == MPR_STR || cases[i].kind == MPR_BIN || cases[i].kind == MPR_EXT)
            CHECK_INT(it.len, cases[i].len);
    }
    CHECK_INT(read_one("c3", &it, &err), 0);
    CHECK(it.kind == MPR_BOOL && it.b);
    CHECK_INT(read_one("c2", &it, &err), 0);
    CHECK(it.kind == MPR_BOOL && !it.b);
    CHECK_INT(read_one("ca 3f c0 00 00", &it, &err), 0);
    CHECK(it.kind == MPR_FLOAT && it.f == 1.5);
    CHECK_INT(read_one("cb 40 09 21 fb 54 44 2d 18", &it, &err), 0);
    CHECK(it.kind == MPR_FLOAT && it.f > 3.14159 && it.f < 3.1416);

    /* containers: only the header is consumed, the count is reported */
    size_t len;
    uint8_t *b = unhex("dc 00 02 01 02", &len);
    struct mpr r;
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_next(&r, "a", &it), 0);
    CHECK(it.kind == MPR_ARRAY && it.len == 2 && mpr_left(&r) == 2);
    free(b);
    b = unhex("82 01 02 03 04", &len);
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_next(&r, "m", &it), 0);
    CHECK(it.kind == MPR_MAP && it.len == 2 && mpr_left(&r) == 4);
    free(b);
}

/* Every proper prefix of a valid value is a truncation error, never a crash or over-read. */
static void test_truncation_every_length(void)
{
    static const char *valid[] = {
        "cd 01 00",
        "ce ff ff ff ff",
        "cf 00 00 00 00 00 00 00 01",
        "d1 80 00",
        "a3 61 62 63",
        "d9 02 61 62",
        "da 00 01 61",
        "db 00 00 00 01 61",
        "c4 01 ff",
        "c5 00 01 ff",
        "c6 00 00 00 01 ff",
        "d4 01 aa",
        "c7 01 05 aa",
        "c8 00 01 05 aa",
        "c9 00 00 00 01 05 aa",
        "ca 3f c0 00 00",
        "cb 40 09 21 fb 54 44 2d 18",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        size_t len;
        uint8_t *full = unhex(valid[i], &len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *b = exact_copy(full, cut);
            struct mpr r;
            struct mpr_item it;
            struct proto_err err;
            mpr_init(&r, b, cut, &err);
            CHECK_INT(mpr_next(&r, "v", &it), PROTO_ERR_TRUNCATED);
            free(b);
        }
        free(full);
    }
}

/* Declared sizes far beyond the input fail at the header, before anything else. */
static void test_huge_declared_sizes(void)
{
    struct mpr_item it;
    struct proto_err err;
    CHECK_ERR(read_one("dd ff ff ff ff", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: array of 4294967295 elements but 0 bytes left");
    CHECK_ERR(read_one("df ff ff ff ff 01 02", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: map of 4294967295 pairs but 2 bytes left");
    CHECK_ERR(read_one("db ff ff ff ff", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: string length 4294967295 but 0 bytes left");
    CHECK_ERR(read_one("c6 ff ff ff ff 00", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: bin length 4294967295 but 1 bytes left");
    CHECK_ERR(read_one("c9 ff ff ff ff 01", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: ext length 4294967295 but 0 bytes left");
    /* a map needs two bytes per pair: 2 pairs in 3 bytes is short */
    CHECK_ERR(read_one("82 01 02 03", &it, &err), err, PROTO_ERR_TRUNCATED,
              "v: truncated: map of 2 pairs but 3 bytes left");
    CHECK_ERR(read_one("c1", &it, &err), err, PROTO_ERR_MALFORMED, "v: invalid byte 0xc1");
    CHECK_ERR(read_one("", &it, &err), err, PROTO_ERR_TRUNCATED, "v: truncated: value missing");
    CHECK_ERR(read_one("01 02", &it, &err), err, PROTO_ERR_MALFORMED,
              "v: 1 trailing bytes after the value");

    /* Skipping nested arrays each claiming as many elements as bytes remain is still linear
     * and fails on the real end of input. */
    uint8_t big[4096];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = 0xdc; /* array16 headers all the way down: dc dc dc = count 0xdcdc */
    uint8_t *b = exact_copy(big, sizeof(big));
    struct mpr r;
    mpr_init(&r, b, sizeof(big), &err);
    int rc = mpr_skip(&r, "v");
    CHECK(rc == PROTO_ERR_TRUNCATED || rc == PROTO_ERR_DEPTH);
    free(b);
}

static void test_typed_reads_name_the_field(void)
{
    size_t len;
    uint8_t *b = unhex("a1 78 cd 01 00 c3 d9 05 68 65 6c 6c 6f c4 02 01 02 c4 03 01 02 03", &len);
    struct mpr r;
    struct proto_err err;
    uint64_t u;
    uint8_t u8;
    mpr_init(&r, b, len, &err);
    r.where = "ping";
    CHECK_ERR(mpr_uint(&r, "seq", 10, &u), err, PROTO_ERR_TYPE, "ping.seq: expected uint, got str");
    /* poisoned: the next call reports the first error again */
    CHECK_INT(mpr_u8(&r, "other", &u8), PROTO_ERR_TYPE);
    CHECK_STR(err.msg, "ping.seq: expected uint, got str");

    mpr_init(&r, b, len, &err);
    r.where = "alive";
    r.index = 3;
    struct proto_str s;
    CHECK_INT(mpr_str(&r, "name", 1, 64, &s), 0);
    CHECK(s.len == 1 && s.ptr[0] == 'x' && (const uint8_t *)s.ptr == b + 1); /* a view */
    CHECK_ERR(mpr_u8(&r, "port", &u8), err, PROTO_ERR_RANGE,
              "alive[3].port: value 256 exceeds 255");

    mpr_init(&r, b + 5, len - 5, &err);
    bool flag;
    CHECK_INT(mpr_bool(&r, "nack", &flag), 0);
    CHECK(flag);
    CHECK_ERR(mpr_str(&r, "name", 0, 4, &s), err, PROTO_ERR_RANGE,
              "name: string length 5 exceeds 4");

    mpr_init(&r, b + 13, len - 13, &err);
    struct proto_addr a;
    CHECK_ERR(mpr_ip(&r, "addr", &a), err, PROTO_ERR_RANGE,
              "addr: address is 2 bytes, expected 4 (IPv4) or 16 (IPv6)");
    mpr_init(&r, b + 17, len - 17, &err);
    struct proto_bytes by;
    CHECK_ERR(mpr_bin(&r, "key", 32, 32, &by), err, PROTO_ERR_RANGE,
              "key: bin length 3 is below 32");
    free(b);

    b = unhex("a2 61 0a c0 00", &len);
    mpr_init(&r, b, len, &err);
    CHECK_ERR(mpr_name(&r, "name", &s), err, PROTO_ERR_MALFORMED,
              "name: invalid name: byte 0x0a at 1 is not visible ASCII");
    mpr_init(&r, b + 3, len - 3, &err);
    CHECK_ERR(mpr_u16(&r, "port", &(uint16_t){0}), err, PROTO_ERR_TYPE,
              "port: expected uint, got nil");
    mpr_init(&r, b + 4, len - 4, &err);
    CHECK_ERR(mpr_port(&r, "port", &(uint16_t){0}), err, PROTO_ERR_RANGE,
              "port: port 0 is not valid");
    free(b);
}

/* Builds n nested one-element arrays around a 1: [[[...1...]]] */
static uint8_t *nested(unsigned n, size_t *len)
{
    uint8_t *b = malloc(n + 1);
    memset(b, 0x91, n);
    b[n] = 0x01;
    *len = n + 1;
    return b;
}

static void test_depth_bound(void)
{
    struct mpr r;
    struct proto_err err;
    size_t len;
    uint8_t *b = nested(MPR_MAX_DEPTH, &len);
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_skip(&r, "v"), 0);
    CHECK_INT(mpr_finish(&r, "v"), 0);
    free(b);

    b = nested(MPR_MAX_DEPTH + 1, &len);
    mpr_init(&r, b, len, &err);
    CHECK_ERR(mpr_skip(&r, "v"), err, PROTO_ERR_DEPTH, "v: nesting deeper than 8");
    free(b);

    /* depth opened by the decoder counts too: 1 opened + 7 skipped is fine, 1 + 8 is not */
    uint32_t n;
    b = nested(MPR_MAX_DEPTH, &len);
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_array(&r, "outer", 1, 1, &n), 0);
    CHECK_INT(mpr_skip(&r, "extra"), 0);
    free(b);
    b = nested(MPR_MAX_DEPTH + 1, &len);
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_array(&r, "outer", 1, 1, &n), 0);
    CHECK_INT(r.depth, 1);
    CHECK_ERR(mpr_skip(&r, "extra"), err, PROTO_ERR_DEPTH, "extra: nesting deeper than 8");
    free(b);

    b = nested(MPR_MAX_DEPTH + 1, &len);
    mpr_init(&r, b, len, &err);
    for (unsigned i = 0; i < MPR_MAX_DEPTH; i++)
        CHECK_INT(mpr_array(&r, "a", 1, 1, &n), 0);
    CHECK_ERR(mpr_array(&r, "a", 1, 1, &n), err, PROTO_ERR_DEPTH, "a: nesting deeper than 8");
    free(b);

    /* 100,000 levels: rejected at level 9, no recursion */
    b = nested(100000, &len);
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_skip(&r, "v"), PROTO_ERR_DEPTH);
    free(b);
}

static void test_skip_and_leave(void)
{
    /* [1, {"a": [1, 2, {}], "b": nil}, "x", [], 7] then a trailing 5 */
    size_t len;
    uint8_t *b = unhex("95 01 82 a1 61 93 01 02 80 a1 62 c0 a1 78 90 07 05", &len);
    struct mpr r;
    struct proto_err err;
    uint32_t n;
    uint64_t u;
    mpr_init(&r, b, len, &err);
    CHECK_INT(mpr_array(&r, "top", 1, 10, &n), 0);
    CHECK_INT(n, 5);
    CHECK_INT(mpr_uint(&r, "first", 1, &u), 0);
    CHECK_INT(mpr_leave(&r, "rest", n - 1), 0); /* skips the map, "x", [] and 7 */
    CHECK_INT(r.depth, 0);
    CHECK_INT(mpr_uint(&r, "after", 5, &u), 0);
    CHECK_INT(u, 5);
    CHECK_INT(mpr_finish(&r, "end"), 0);

    /* a skip that runs off the end is a truncation */
    mpr_init(&r, b, len - 3, &err);
    CHECK_INT(mpr_skip(&r, "v"), PROTO_ERR_TRUNCATED);
    /* an array with too few or too many elements */
    mpr_init(&r, b, len, &err);
    CHECK_ERR(mpr_array(&r, "top", 6, 10, &n), err, PROTO_ERR_RANGE,
              "top: expected at least 6 elements, got 5");
    mpr_init(&r, b, len, &err);
    CHECK_ERR(mpr_array(&r, "top", 1, 4, &n), err, PROTO_ERR_RANGE, "top: 5 elements exceed 4");
    mpr_init(&r, b, len, &err);
    CHECK_ERR(mpr_map(&r, "top", 4, &n), err, PROTO_ERR_TYPE, "top: expected map, got array");
    free(b);
}

static void test_text_rules(void)
{
    char why[64];
    CHECK(proto_name_check(S("node-1.lan"), why, sizeof(why)) == NULL);
    CHECK_STR(proto_name_check(S(""), why, sizeof(why)), "empty");
    CHECK_STR(proto_name_check(S("a b"), why, sizeof(why)), "byte 0x20 at 1 is not visible ASCII");
    CHECK(proto_name_check(S("0123456789012345678901234567890123456789012345678901234567890123"),
                           why, sizeof(why)) == NULL);
    CHECK_STR(
        proto_name_check(S("01234567890123456789012345678901234567890123456789012345678901234"),
                         why, sizeof(why)),
        "longer than 64 bytes");
    CHECK(proto_text_check(S("Debian GNU/Linux 12 (bookworm)"), why, sizeof(why)) == NULL);
    CHECK(proto_text_check(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"), why, sizeof(why)) ==
          NULL);
    CHECK_STR(proto_text_check(S("a\tb"), why, sizeof(why)), "control byte 0x09 at 1");
    CHECK_STR(proto_text_check(S("\x7f"), why, sizeof(why)), "control byte 0x7f at 0");
    CHECK_STR(proto_text_check(S("ab\xc3"), why, sizeof(why)), "invalid UTF-8 at byte 2");
    CHECK_STR(proto_text_check(S("\xc0\x80"), why, sizeof(why)), "invalid UTF-8 at byte 0");
    CHECK_STR(proto_text_check(S("\xed\xa0\x80"), why, sizeof(why)), "invalid UTF-8 at byte 0");
    CHECK_STR(proto_text_check(S("\xf4\x90\x80\x80"), why, sizeof(why)), "invalid UTF-8 at byte 0");
    CHECK_STR(proto_text_check(S("\xe0\x80\x80"), why, sizeof(why)), "invalid UTF-8 at byte 0");

    char buf[4];
    CHECK_INT(proto_str_copy(S("abc"), buf, sizeof(buf)), 0);
    CHECK_STR(buf, "abc");
    CHECK_INT(proto_str_copy(S("abcd"), buf, sizeof(buf)), -1);
    CHECK_STR(buf, "");
    CHECK(proto_str_eq(proto_str_c("xy"), "xy"));
    CHECK(!proto_str_eq(proto_str_c(NULL), "x"));
    CHECK_STR(proto_strerror(PROTO_ERR_TRUNCATED), "truncated input");
    CHECK_STR(proto_strerror(12345), "unknown error");
}

/* The writer: msgpack-c's packer, canonical (smallest) forms, never past cap, counts overflow. */
static void test_writer(void)
{
    uint8_t buf[64];
    struct mpw w;
    mpw_init(&w, buf, sizeof(buf));
    mpw_array(&w, 3);
    mpw_uint(&w, 1);
    mpw_uint(&w, 200);
    mpw_uint(&w, 70000);
    mpw_str(&w, "ab", 2);
    mpw_bin(&w, "\x01", 1);
    mpw_bool(&w, true);
    mpw_nil(&w);
    mpw_map(&w, 16);
    CHECK(mpw_fits(&w));
    CHECK_HEX(buf, w.len, "93 01 cc c8 ce 00 01 11 70 a2 61 62 c4 01 01 c3 c0 de 00 10");

    /* overflow: nothing written at or past cap, len keeps counting */
    uint8_t small[8];
    memset(small, 0xee, sizeof(small));
    mpw_init(&w, small, 4);
    mpw_str(&w, "hello world", 11);
    CHECK(!mpw_fits(&w));
    CHECK_INT(w.len, 12);
    CHECK_INT(small[4], 0xee);
    mpw_rewind(&w, 0);
    mpw_uint(&w, 5);
    CHECK(mpw_fits(&w));
    CHECK_HEX(small, w.len, "05");
}

int main(void)
{
    printf("msgpack-c %s\n", proto_msgpack_version());
    RUN(test_every_header);
    RUN(test_truncation_every_length);
    RUN(test_huge_declared_sizes);
    RUN(test_typed_reads_name_the_field);
    RUN(test_depth_bound);
    RUN(test_skip_and_leave);
    RUN(test_text_rules);
    RUN(test_writer);
    return check_done();
}
