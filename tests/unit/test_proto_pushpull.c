/* Unit tests for proto/pushpull: the full-state exchange over TCP. */
#include "proto/mpack_write.h"
#include "proto/pushpull.h"
#include "tests/unit/test_proto_helpers.c"

static const uint8_t meta_agent[] = {0x81, 0x01, 0x00};

static struct gossip_member member(const char *name, enum gossip_state st)
{
    struct gossip_member m;
    memset(&m, 0, sizeof(m));
    m.name = proto_str_c(name);
    m.addr = addr4(10, 0, 0, 1, 7946);
    m.incarnation = 1;
    m.state = st;
    m.meta = (struct proto_bytes){meta_agent, sizeof(meta_agent)};
    return m;
}

static bool member_eq(const struct gossip_member *a, const struct gossip_member *b)
{
    return a->name.len == b->name.len && memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0 &&
           proto_addr_eq(&a->addr, &b->addr) && a->incarnation == b->incarnation &&
           a->state == b->state && a->meta.len == b->meta.len &&
           (a->meta.len == 0 || memcmp(a->meta.ptr, b->meta.ptr, a->meta.len) == 0);
}

static void test_known_answer(void)
{
    struct gossip_member ms[2] = {member("a", GOSSIP_STATE_ALIVE), member("b", GOSSIP_STATE_LEFT)};
    ms[1].addr = addr6_loopback(7947);
    ms[1].incarnation = 300;
    ms[1].meta = (struct proto_bytes){NULL, 0};
    uint8_t buf[256];
    size_t len;
    struct proto_err err;
    CHECK_INT(gossip_pushpull_encode(true, ms, 2, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len,
              "93 01 c3 92"
              " 96 a1 61 c4 04 0a 00 00 01 cd 1f 0a 01 00 c4 03 81 01 00"
              " 96 a1 62 c4 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 cd 1f 0b cd 01 2c 03"
              " c4 00");
    CHECK_INT(gossip_pushpull_encode(false, NULL, 0, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len, "93 01 c2 90");
    /* a sync: one member and a digest of two buckets */
    const uint64_t sums[2] = {0x0102030405060708ULL, 0xffULL};
    CHECK_INT(gossip_pushpull_encode_digest(false, ms, 1, sums, 2, buf, sizeof(buf), &len, &err),
              0);
    CHECK_HEX(buf, len,
              "94 01 c2 91"
              " 96 a1 61 c4 04 0a 00 00 01 cd 1f 0a 01 00 c4 03 81 01 00"
              " c4 10 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 ff");
    struct gossip_pushpull pp;
    CHECK_INT(gossip_pushpull_decode(buf, len, sizeof(buf), &pp, &err), 0);
    CHECK_INT(pp.count, 1);
    CHECK_INT(pp.buckets, 2);
    CHECK(gossip_pushpull_digest(&pp, 0) == sums[0] && gossip_pushpull_digest(&pp, 1) == sums[1]);
    CHECK_ERR(gossip_pushpull_encode_digest(false, ms, 1, sums, GOSSIP_DIGEST_MAX_BUCKETS + 1, buf,
                                            sizeof(buf), &len, &err),
              err, PROTO_ERR_INVALID, "pushpull.digest: 1025 buckets exceed 1024");
}

static void test_round_trip(void)
{
    enum { N = 1000 };
    static struct gossip_member ms[N];
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "node-%d", i);
        ms[i] = member(names[i], (enum gossip_state)(i % 4));
        ms[i].incarnation = (uint64_t)i * 1000003u;
        if (i % 3 == 0)
            ms[i].addr = addr6_loopback((uint16_t)(1000 + i));
    }
    size_t cap = 64 + N * GOSSIP_PUSHPULL_MEMBER_MAX_SIZE, len;
    uint8_t *buf = malloc(cap);
    struct proto_err err;
    CHECK_INT(gossip_pushpull_encode(false, ms, N, buf, cap, &len, &err), 0);
    size_t full_len = len;
    uint8_t *copy = exact_copy(buf, len);
    struct gossip_pushpull pp;
    CHECK_INT(gossip_pushpull_decode(copy, len, GOSSIP_PUSHPULL_MAX_SIZE, &pp, &err), 0);
    CHECK_INT(pp.count, N);
    CHECK(!pp.join);
    struct gossip_member m;
    int i = 0;
    while (gossip_pushpull_next(&pp, &m) == 1) {
        if (i < N && !member_eq(&m, &ms[i]))
            CHECK(member_eq(&m, &ms[i]));
        if (i == 0)
            CHECK((const uint8_t *)m.name.ptr > copy && (const uint8_t *)m.name.ptr < copy + len);
        i++;
    }
    CHECK_INT(i, N);
    CHECK_INT(gossip_pushpull_next(&pp, &m), 0);
    free(copy);

    /* too small a buffer: the message says how much is needed */
    CHECK_INT(gossip_pushpull_encode(false, ms, N, buf, 100, &len, &err), PROTO_ERR_NOSPACE);
    char want[96];
    snprintf(want, sizeof(want), "pushpull: needs %zu bytes, buffer holds 100", full_len);
    CHECK_STR(err.msg, want);
    free(buf);
}

/* The largest exchange: 16,384 members, each at its size bound. */
static void test_limits(void)
{
    static uint8_t meta[512];
    memset(meta, 0x5a, sizeof(meta));
    size_t n = GOSSIP_PUSHPULL_MAX_MEMBERS;
    struct gossip_member *ms = calloc(n + 1, sizeof(*ms));
    char(*names)[65] = calloc(n + 1, 65);
    for (size_t i = 0; i <= n; i++) {
        snprintf(names[i], 65, "%064zu", i);
        ms[i] = member(names[i], GOSSIP_STATE_SUSPECT);
        ms[i].addr = addr6_loopback(65535);
        ms[i].incarnation = UINT64_MAX;
        ms[i].meta = (struct proto_bytes){meta, sizeof(meta)};
    }
    uint8_t *buf = malloc(GOSSIP_PUSHPULL_MAX_SIZE);
    size_t len;
    struct proto_err err;
    CHECK_INT(gossip_pushpull_encode(true, ms, n, buf, GOSSIP_PUSHPULL_MAX_SIZE, &len, &err), 0);
    CHECK(len <= GOSSIP_PUSHPULL_MAX_SIZE);
    CHECK_INT(len, 6 + n * GOSSIP_PUSHPULL_MEMBER_MAX_SIZE); /* the bound is tight */
    struct gossip_pushpull pp;
    CHECK_INT(gossip_pushpull_decode(buf, len, GOSSIP_PUSHPULL_MAX_SIZE, &pp, &err), 0);
    CHECK_INT(pp.count, n);
    CHECK_ERR(gossip_pushpull_decode(buf, len, len - 1, &pp, &err), err, PROTO_ERR_RANGE,
              "pushpull: payload of 10043398 bytes exceeds 10043397");
    CHECK_ERR(gossip_pushpull_encode(true, ms, n + 1, buf, GOSSIP_PUSHPULL_MAX_SIZE, &len, &err),
              err, PROTO_ERR_INVALID, "pushpull.members: 16385 members exceed 16384");

    /* a peer that sends 16,385 (small) members is refused at the list header */
    struct mpw w;
    mpw_init(&w, buf, GOSSIP_PUSHPULL_MAX_SIZE);
    mpw_array(&w, 3);
    mpw_uint(&w, 1);
    mpw_bool(&w, false);
    mpw_array(&w, (uint32_t)n + 1);
    for (size_t i = 0; i <= n; i++) {
        mpw_array(&w, 6);
        mpw_str(&w, "x", 1);
        mpw_bin(&w, "\x01\x02\x03\x04", 4);
        mpw_uint(&w, 1);
        mpw_uint(&w, 1);
        mpw_uint(&w, 0);
        mpw_bin(&w, NULL, 0);
    }
    CHECK(mpw_fits(&w));
    CHECK_ERR(gossip_pushpull_decode(buf, w.len, GOSSIP_PUSHPULL_MAX_SIZE, &pp, &err), err,
              PROTO_ERR_RANGE, "pushpull.members: 16385 elements exceed 16384");
    free(buf);
    free(names);
    free(ms);
}

static int dec(const char *hex, struct gossip_pushpull *pp, struct proto_err *err)
{
    size_t len;
    uint8_t *b = unhex(hex, &len);
    int rc = gossip_pushpull_decode(b, len, 1 << 20, pp, err);
    free(b);
    return rc;
}

static void test_bad_input(void)
{
    struct gossip_pushpull pp;
    struct proto_err err;
    CHECK_ERR(dec("93 02 c2 90", &pp, &err), err, PROTO_ERR_VERSION,
              "unsupported protocol version 2 (this build speaks 1)");
    CHECK_ERR(dec("93 01 01 90", &pp, &err), err, PROTO_ERR_TYPE,
              "pushpull.join: expected bool, got uint");
    CHECK_ERR(dec("92 01 c2", &pp, &err), err, PROTO_ERR_RANGE,
              "pushpull: expected at least 3 elements, got 2");
    CHECK_ERR(dec("93 01 c2 dd ff ff ff ff", &pp, &err), err, PROTO_ERR_TRUNCATED,
              "pushpull.members: truncated: array of 4294967295 elements but 0 bytes left");
    /* member 1 is bad: the whole payload is refused, naming it */
    CHECK_ERR(dec("93 01 c2 92 96 a1 61 c4 04 0a 00 00 01 01 01 00 c4 00"
                  " 96 a1 62 c4 04 0a 00 00 01 01 01 04 c4 00",
                  &pp, &err),
              err, PROTO_ERR_RANGE, "pushpull.members[1].state: unknown state 4");
    CHECK_ERR(dec("93 01 c2 91 96 a1 61 c4 04 0a 00 00 01 a1 31 01 00 c4 00", &pp, &err), err,
              PROTO_ERR_TYPE, "pushpull.members[0].port: expected uint, got str");
    CHECK_ERR(dec("93 01 c2 91 95 a1 61 c4 04 0a 00 00 01 01 01 00", &pp, &err), err,
              PROTO_ERR_RANGE, "pushpull.members[0]: expected at least 6 elements, got 5");
    CHECK_ERR(dec("93 01 c2 91 96 a0 c4 04 0a 00 00 01 01 01 00 c4 00", &pp, &err), err,
              PROTO_ERR_MALFORMED, "pushpull.members[0].name: invalid name: empty");
    CHECK_ERR(dec("93 01 c2 90 00", &pp, &err), err, PROTO_ERR_MALFORMED,
              "pushpull: 1 trailing bytes after the value");
    /* extra fields, in a member and at the top (after the digest), from a newer version:
     * skipped */
    CHECK_INT(dec("95 01 c2 91 97 a1 61 c4 04 0a 00 00 01 01 01 00 c4 00 a1 7a"
                  " c4 08 00 00 00 00 00 00 01 02 81 01 02",
                  &pp, &err),
              0);
    CHECK_INT(pp.count, 1);
    CHECK_INT(pp.buckets, 1); /* (its value: test_known_answer; dec() freed the bytes) */
    /* the digest: a bin of 8 bytes per bucket */
    CHECK_ERR(dec("94 01 c2 90 c4 09 00 00 00 00 00 00 00 00 00", &pp, &err), err, PROTO_ERR_RANGE,
              "pushpull.digest: 9 bytes: not 8 per bucket");
    CHECK_ERR(dec("94 01 c2 90 c4 00", &pp, &err), err, PROTO_ERR_RANGE,
              "pushpull.digest: bin length 0 is below 8");
    CHECK_ERR(dec("94 01 c2 90 01", &pp, &err), err, PROTO_ERR_TYPE,
              "pushpull.digest: expected bin, got uint");

    struct gossip_member bad = member("ok", GOSSIP_STATE_ALIVE);
    bad.state = (enum gossip_state)7;
    uint8_t buf[128];
    size_t len;
    CHECK_ERR(gossip_pushpull_encode(false, &bad, 1, buf, sizeof(buf), &len, &err), err,
              PROTO_ERR_INVALID, "pushpull.members[0].state: unknown state 7");
    CHECK_STR(gossip_state_name(GOSSIP_STATE_LEFT), "left");
}

static void test_truncation_and_mutations(void)
{
    struct gossip_member ms[3] = {member("a", GOSSIP_STATE_ALIVE), member("bb", GOSSIP_STATE_DEAD),
                                  member("ccc", GOSSIP_STATE_SUSPECT)};
    ms[1].addr = addr6_loopback(1);
    uint8_t full[256];
    size_t len;
    struct proto_err err;
    struct gossip_pushpull pp;
    CHECK_INT(gossip_pushpull_encode(true, ms, 3, full, sizeof(full), &len, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = exact_copy(full, cut);
        CHECK_INT(gossip_pushpull_decode(b, cut, 1 << 20, &pp, &err), PROTO_ERR_TRUNCATED);
        free(b);
    }
    int ok = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (int v = 0; v < 256; v += 17) {
            uint8_t *b = exact_copy(full, len);
            b[pos] = (uint8_t)v;
            if (gossip_pushpull_decode(b, len, 1 << 20, &pp, &err) == 0) {
                struct gossip_member m[8];
                size_t k = 0;
                while (k < 8 && gossip_pushpull_next(&pp, &m[k]) == 1)
                    k++;
                CHECK_INT(k, pp.count);
                uint8_t re[512];
                size_t relen;
                CHECK_INT(gossip_pushpull_encode(pp.join, m, k, re, sizeof(re), &relen, &err), 0);
                ok++;
            } else {
                CHECK(err.msg[0] != '\0');
            }
            free(b);
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    RUN(test_known_answer);
    RUN(test_round_trip);
    RUN(test_limits);
    RUN(test_bad_input);
    RUN(test_truncation_and_mutations);
    return check_done();
}
