/* Unit tests for proto/meta: member metadata, its 512-byte bound and the labels message. */
#include "proto/meta.h"
#include "tests/unit/test_proto_helpers.c"

static struct meta agent_meta(void)
{
    struct meta m;
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_AGENT;
    m.engine_id = S("ABCD");
    m.engine_name = S("pi1");
    m.cpus = 4;
    m.memory = 8589934592ull;
    m.os = S("Debian");
    m.arch = S("aarch64");
    m.kernel = S("6.1.0");
    m.api_version = S("1.43");
    m.nlabels = 1;
    m.labels[0] = (struct meta_label){S("zone"), S("a")};
    m.relay_port = 7947;
    m.has_pubkey = true;
    for (int i = 0; i < META_PUBKEY_LEN; i++)
        m.pubkey[i] = (uint8_t)(i + 1);
    return m;
}

static void test_known_answers(void)
{
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta m = agent_meta();
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len,
              "8c"
              " 01 00"
              " 02 a4 41 42 43 44"
              " 03 a3 70 69 31"
              " 04 04"
              " 05 cf 00 00 00 02 00 00 00 00"
              " 06 a6 44 65 62 69 61 6e"
              " 07 a7 61 61 72 63 68 36 34"
              " 08 a5 36 2e 31 2e 30"
              " 09 a4 31 2e 34 33"
              " 0a 81 a4 7a 6f 6e 65 a1 61"
              " 0b cd 1f 0b"
              " 0c c4 20 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19"
              " 1a 1b 1c 1d 1e 1f 20");

    struct meta mgr;
    memset(&mgr, 0, sizeof(mgr));
    mgr.role = META_ROLE_MANAGER;
    CHECK_INT(meta_encode(&mgr, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len, "81 01 01");

    /* Key 13, relay_hs: after the public key; absent decodes as 0 (version 1 only). */
    mgr.role = META_ROLE_AGENT;
    mgr.relay_hs = 2;
    CHECK_INT(meta_encode(&mgr, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len, "82 01 00 0d 02");
    struct meta back;
    CHECK_INT(meta_decode(buf, len, &back, &err), 0);
    CHECK_INT(back.relay_hs, 2);
    CHECK(meta_equal(&mgr, &back));
    CHECK_INT(meta_decode("\x81\x01\x00", 3, &back, &err), 0);
    CHECK_INT(back.relay_hs, 0);
    CHECK_ERR(meta_decode("\x82\x01\x00\x0d\xcd\x01\x00", 7, &back, &err), err, PROTO_ERR_RANGE,
              "meta.relay_hs: value 256 exceeds 255");
    CHECK_ERR(meta_decode("\x83\x01\x00\x0d\x02\x0d\x02", 7, &back, &err), err, PROTO_ERR_MALFORMED,
              "meta: key 13 appears twice");
}

static void test_round_trip(void)
{
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta m = agent_meta(), out;
    m.nlabels = 3;
    m.labels[1] = (struct meta_label){S("disk"), S("ssd")};
    m.labels[2] = (struct meta_label){S("note"), S("caf\xc3\xa9")};
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    uint8_t *copy = exact_copy(buf, len);
    CHECK_INT(meta_decode(copy, len, &out, &err), 0);
    CHECK(meta_equal(&m, &out));
    CHECK((const uint8_t *)out.os.ptr > copy && (const uint8_t *)out.os.ptr < copy + len);
    struct proto_str v;
    CHECK_INT(meta_label_get(&out, "disk", &v), 1);
    CHECK(proto_str_eq(v, "ssd"));
    CHECK_INT(meta_label_get(&out, "nope", &v), 0);
    CHECK_STR(meta_role_name(out.role), "agent");
    free(copy);

    /* every field at its bound */
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_AGENT;
    m.engine_id = S("0123456789012345678901234567890123456789012345678901234567890123");
    m.engine_name = m.engine_id;
    m.os = m.engine_id;
    m.kernel = m.engine_id;
    m.arch = S("01234567890123456789012345678901");
    m.api_version = S("0123456789012345");
    m.cpus = UINT32_MAX;
    m.memory = UINT64_MAX;
    m.relay_port = 65535;
    m.has_pubkey = true;
    m.relay_hs = 255;
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    printf("# largest metadata without labels: %zu bytes\n", len);
    CHECK(len < 400);
    CHECK_INT(meta_decode(buf, len, &out, &err), 0);
    CHECK(meta_equal(&m, &out));
}

/* The 512-byte bound: exactly at it fits, one byte over is refused with the over-by count. */
static void test_size_bound(void)
{
    static char value[257];
    memset(value, 'v', 256);
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta m;
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_AGENT;
    m.nlabels = 4;
    m.labels[0] = (struct meta_label){S("l0"), {value, 150}};
    m.labels[1] = (struct meta_label){S("l1"), {value, 150}};
    m.labels[2] = (struct meta_label){S("l2"), {value, 150}};
    /* 82 01 00 0a 84 + 3 x (a2 6c 3x d9 96 +150) = 470, + a2 6c 33 d9 25 + 37 = 512 */
    m.labels[3] = (struct meta_label){S("l3"), {value, 37}};
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    CHECK_INT(len, 512);
    m.labels[3].value.len = 38;
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_TOO_BIG,
              "metadata: labels do not fit: 513 bytes encoded, 1 over the 512-byte limit (labels "
              "take 510 bytes)");
    m.labels[3].value.len = 200;
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_TOO_BIG,
              "metadata: labels do not fit: 675 bytes encoded, 163 over the 512-byte limit (labels "
              "take 672 bytes)");

    memset(&m, 0, sizeof(m));
    m.nlabels = META_MAX_LABELS + 1;
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_TOO_BIG,
              "metadata: labels do not fit: 65 labels, at most 64");

    /* fits the limit but not the caller's buffer */
    m = agent_meta();
    CHECK_ERR(meta_encode(&m, buf, 10, &len, &err), err, PROTO_ERR_NOSPACE,
              "metadata: needs 104 bytes, buffer holds 10");
}

static void test_invalid_values(void)
{
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta m = agent_meta();
    m.labels[0].key = S("a=b");
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.labels[0].key: contains '='");
    m.labels[0].key = S("");
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.labels[0].key: empty");
    m = agent_meta();
    m.nlabels = 2;
    m.labels[1] = m.labels[0];
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.labels[1].key: duplicate of labels[0]");
    m = agent_meta();
    m.labels[0].value = S("line\nbreak");
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.labels[0].value: invalid text: control byte 0x0a at 4");
    m = agent_meta();
    m.os = S("01234567890123456789012345678901234567890123456789012345678901234");
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.os: string length 65 exceeds 64");
    m = agent_meta();
    m.role = (enum meta_role)5;
    CHECK_ERR(meta_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "meta.role: unknown role 5");
}

static int dec(const char *hex, struct meta *m, struct proto_err *err)
{
    size_t len;
    uint8_t *b = unhex(hex, &len);
    int rc = meta_decode(b, len, m, err);
    free(b);
    return rc;
}

static void test_decode_errors(void)
{
    struct meta m;
    struct proto_err err;
    CHECK_ERR(dec("81 04 04", &m, &err), err, PROTO_ERR_MALFORMED, "meta.role: missing");
    CHECK_ERR(dec("83 01 00 04 04 04 05", &m, &err), err, PROTO_ERR_MALFORMED,
              "meta: key 4 appears twice");
    CHECK_ERR(dec("81 a1 31 00", &m, &err), err, PROTO_ERR_TYPE,
              "meta.key: expected uint, got str");
    CHECK_ERR(dec("81 01 07", &m, &err), err, PROTO_ERR_RANGE, "meta.role: unknown role 7");
    CHECK_ERR(dec("82 01 00 0c c4 02 01 02", &m, &err), err, PROTO_ERR_RANGE,
              "meta.pubkey: bin length 2 is below 32");
    CHECK_ERR(dec("82 01 00 0b 00", &m, &err), err, PROTO_ERR_RANGE,
              "meta.relay_port: port 0 is not valid");
    CHECK_ERR(dec("82 01 00 06 a2 0a 0a", &m, &err), err, PROTO_ERR_MALFORMED,
              "meta.os: invalid text: control byte 0x0a at 0");
    CHECK_ERR(dec("82 01 00 0a 82 a1 6b a1 76 a1 6b a1 77", &m, &err), err, PROTO_ERR_MALFORMED,
              "meta.labels[1].key: duplicate of labels[0]");
    CHECK_ERR(dec("82 01 00 0a 81 a0 a1 76", &m, &err), err, PROTO_ERR_MALFORMED,
              "meta.labels[0].key: empty");
    CHECK_ERR(dec("82 01 00 0a 81 a1 6b 01", &m, &err), err, PROTO_ERR_TYPE,
              "meta.labels[0].value: expected str, got uint");
    CHECK_ERR(dec("82 01 00 0a de 00 41", &m, &err), err, PROTO_ERR_TRUNCATED,
              "meta.labels: truncated: map of 65 pairs but 0 bytes left");
    CHECK_ERR(dec("91 01", &m, &err), err, PROTO_ERR_TYPE, "meta: expected map, got array");
    CHECK_ERR(dec("df ff ff ff ff", &m, &err), err, PROTO_ERR_TRUNCATED,
              "meta: truncated: map of 4294967295 pairs but 0 bytes left");
    CHECK_ERR(dec("81 01 00 00", &m, &err), err, PROTO_ERR_MALFORMED,
              "meta: 1 trailing bytes after the value");
    /* unknown keys (a newer version's) are skipped, whatever their value */
    CHECK_INT(dec("83 01 01 63 92 01 81 01 02 cd 01 00 a1 78", &m, &err), 0);
    CHECK_INT(m.role, META_ROLE_MANAGER);
    /* an empty string field is accepted (the encoder leaves it out) */
    CHECK_INT(dec("82 01 00 02 a0", &m, &err), 0);

    static uint8_t big[META_MAX_SIZE + 1];
    CHECK_ERR(meta_decode(big, sizeof(big), &m, &err), err, PROTO_ERR_RANGE,
              "meta: 513 bytes exceed 512");
}

static void test_truncation_and_mutations(void)
{
    uint8_t full[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta m = agent_meta(), out, again;
    CHECK_INT(meta_encode(&m, full, sizeof(full), &len, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = exact_copy(full, cut);
        CHECK_INT(meta_decode(b, cut, &out, &err), PROTO_ERR_TRUNCATED);
        free(b);
    }
    int ok = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (int v = 0; v < 256; v += 5) {
            uint8_t *b = exact_copy(full, len);
            b[pos] = (uint8_t)v;
            if (meta_decode(b, len, &out, &err) == 0) {
                uint8_t re[META_MAX_SIZE];
                size_t relen;
                ok++;
                CHECK_INT(meta_encode(&out, re, sizeof(re), &relen, &err), 0);
                CHECK_INT(meta_decode(re, relen, &again, &err), 0);
                CHECK(meta_equal(&out, &again));
            }
            free(b);
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    RUN(test_known_answers);
    RUN(test_round_trip);
    RUN(test_size_bound);
    RUN(test_invalid_values);
    RUN(test_decode_errors);
    RUN(test_truncation_and_mutations);
    return check_done();
}
