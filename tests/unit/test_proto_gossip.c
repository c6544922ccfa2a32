/*
 * Unit tests for proto/gossip: every message round-trips, known-answer bytes pin the wire
 * format, the compound datagram respects its byte budget exactly, and bad input of every kind
 * is an error naming the field — never a crash, an over-read or an allocation.
 */
#include "proto/gossip.h"
#include "proto/mpack_read.h"
#include "tests/unit/test_proto_helpers.c"

static const uint8_t meta_agent[] = {0x81, 0x01, 0x00}; /* {1: 0}: role agent */

/* One message of each type; known-answer bytes below. */
static struct gossip_msg sample(enum gossip_type t)
{
    struct gossip_msg m;
    memset(&m, 0, sizeof(m));
    m.type = t;
    switch (t) {
    case GOSSIP_PING:
        m.u.ping.seq = 7;
        m.u.ping.target = S("b");
        m.u.ping.source.name = S("a");
        m.u.ping.source.addr = addr4(10, 0, 0, 1, 7946);
        break;
    case GOSSIP_PING_REQ:
        m.u.ping_req.seq = 300;
        m.u.ping_req.target.name = S("c");
        m.u.ping_req.target.addr = addr6_loopback(7946);
        m.u.ping_req.source.name = S("a");
        m.u.ping_req.source.addr = addr4(10, 0, 0, 1, 7946);
        m.u.ping_req.nack = true;
        break;
    case GOSSIP_ACK:
        m.u.ack.seq = 7;
        break;
    case GOSSIP_NACK:
        m.u.nack.seq = 70000;
        break;
    case GOSSIP_ALIVE:
        m.u.alive.incarnation = 3;
        m.u.alive.node.name = S("node-1");
        m.u.alive.node.addr = addr4(192, 168, 1, 20, 7946);
        m.u.alive.meta = (struct proto_bytes){meta_agent, sizeof(meta_agent)};
        break;
    case GOSSIP_SUSPECT:
        m.u.suspect.incarnation = 4;
        m.u.suspect.name = S("node-1");
        m.u.suspect.from = S("node-2");
        break;
    case GOSSIP_DEAD:
        m.u.dead.incarnation = 4294967296ull;
        m.u.dead.name = S("n");
        m.u.dead.from = S("m");
        break;
    case GOSSIP_LEAVE:
        m.u.leave.incarnation = 0;
        m.u.leave.name = S("n");
        break;
    }
    return m;
}

/* Derived by hand from docs/PROTOCOL.md, not from the encoder: if the encoder changes the
 * bytes, this test fails and the change must be deliberate (and the wire version bumped). */
static const char *const kat[] = {
    [GOSSIP_PING] = "96 01 07 a1 62 a1 61 c4 04 0a 00 00 01 cd 1f 0a",
    [GOSSIP_PING_REQ] = "99 02 cd 01 2c a1 63 c4 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"
                        " cd 1f 0a a1 61 c4 04 0a 00 00 01 cd 1f 0a c3",
    [GOSSIP_ACK] = "92 03 07",
    [GOSSIP_NACK] = "92 04 ce 00 01 11 70",
    [GOSSIP_ALIVE] = "96 05 03 a6 6e 6f 64 65 2d 31 c4 04 c0 a8 01 14 cd 1f 0a c4 03 81 01 00",
    [GOSSIP_SUSPECT] = "94 06 04 a6 6e 6f 64 65 2d 31 a6 6e 6f 64 65 2d 32",
    [GOSSIP_DEAD] = "94 07 cf 00 00 00 01 00 00 00 00 a1 6e a1 6d",
    [GOSSIP_LEAVE] = "93 08 00 a1 6e",
};

static void test_known_answers(void)
{
    uint8_t buf[256];
    size_t len;
    struct proto_err err;
    for (int t = GOSSIP_PING; t <= GOSSIP_LEAVE; t++) {
        struct gossip_msg m = sample((enum gossip_type)t);
        CHECK_INT(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), 0);
        CHECK_HEX(buf, len, kat[t]);
        CHECK_INT(gossip_msg_size(&m), len);
    }

    /* a whole datagram: header, probe, four updates */
    struct gossip_msg probe = sample(GOSSIP_PING);
    struct gossip_msg ups[4] = {sample(GOSSIP_ALIVE), sample(GOSSIP_SUSPECT), sample(GOSSIP_DEAD),
                                sample(GOSSIP_LEAVE)};
    uint8_t inc[4];
    CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), &probe, ups, 4, inc, &len, &err), 4);
    char want[1024];
    snprintf(want, sizeof(want), "96 01 %s %s %s %s %s", kat[GOSSIP_PING], kat[GOSSIP_ALIVE],
             kat[GOSSIP_SUSPECT], kat[GOSSIP_DEAD], kat[GOSSIP_LEAVE]);
    CHECK_HEX(buf, len, want);

    /* 20 acks: more than 15 elements, so an array16 header */
    struct gossip_msg acks[20];
    for (int i = 0; i < 20; i++) {
        acks[i] = sample(GOSSIP_ACK);
        acks[i].u.ack.seq = (uint32_t)i;
    }
    CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), NULL, acks, 20, NULL, &len, &err), 20);
    CHECK_HEX(buf, len,
              "dc 00 15 01 9203 00 9203 01 9203 02 9203 03 9203 04 9203 05 9203 06 9203 07 9203 08"
              " 9203 09 9203 0a 9203 0b 9203 0c 9203 0d 9203 0e 9203 0f 9203 10 9203 11 9203 12"
              " 9203 13");

    /* an empty datagram is just the version */
    CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), NULL, NULL, 0, NULL, &len, &err), 0);
    CHECK_HEX(buf, len, "91 01");
}

/* gossip_msg_size equals the encoded size across every header-size boundary. */
static void test_msg_size_exact(void)
{
    static const uint64_t nums[] = {0,     127,   128,        255,        256,
                                    65535, 65536, 4294967295, 4294967296, UINT64_MAX};
    static const size_t lens[] = {1, 31, 32, 64};
    static const size_t metas[] = {0, 255, 256, 512};
    static const char name[] = "0123456789012345678901234567890123456789012345678901234567890123";
    static uint8_t meta[512];
    uint8_t buf[1024];
    size_t len;
    struct proto_err err;
    for (int t = GOSSIP_PING; t <= GOSSIP_LEAVE; t++)
        for (size_t a = 0; a < 10; a++)
            for (size_t b = 0; b < 4; b++) {
                struct gossip_msg m = sample((enum gossip_type)t);
                struct proto_str nm = {name, lens[b]};
                uint32_t seq = (uint32_t)(nums[a] > UINT32_MAX ? UINT32_MAX : nums[a]);
                uint16_t port = (uint16_t)(nums[a] == 0 || nums[a] > 65535 ? 65535 : nums[a]);
                m.u.ping.seq = seq; /* seq is the first field of ping, ping-req, ack, nack */
                if (t == GOSSIP_PING) {
                    m.u.ping.target = nm;
                    m.u.ping.source.addr.port = port;
                } else if (t == GOSSIP_PING_REQ) {
                    m.u.ping_req.source.name = nm;
                    m.u.ping_req.target.addr.port = port;
                } else if (t == GOSSIP_ALIVE) {
                    m.u.alive.incarnation = nums[a];
                    m.u.alive.node.name = nm;
                    m.u.alive.node.addr.port = port;
                    m.u.alive.meta = (struct proto_bytes){meta, metas[b]};
                } else if (t == GOSSIP_SUSPECT || t == GOSSIP_DEAD) {
                    m.u.suspect.incarnation = nums[a];
                    m.u.suspect.from = nm;
                } else if (t == GOSSIP_LEAVE) {
                    m.u.leave.incarnation = nums[a];
                    m.u.leave.name = nm;
                }
                CHECK_INT(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), 0);
                CHECK_INT(gossip_msg_size(&m), len);
            }
}

static void test_round_trip_every_type(void)
{
    for (int t = GOSSIP_PING; t <= GOSSIP_LEAVE; t++) {
        struct gossip_msg m = sample((enum gossip_type)t), out[4];
        uint8_t buf[256];
        size_t len, count, unknown;
        struct proto_err err;
        CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), &m, NULL, 0, NULL, &len, &err), 0);
        uint8_t *copy = exact_copy(buf, len);
        CHECK_INT(gossip_datagram_decode(copy, len, out, 4, &count, &unknown, &err), 0);
        CHECK_INT(count, 1);
        CHECK_INT(unknown, 0);
        CHECK(gossip_msg_equal(&m, &out[0]));
        if (t == GOSSIP_ALIVE) /* names and meta are views into the input */
            CHECK((const uint8_t *)out[0].u.alive.node.name.ptr > copy &&
                  out[0].u.alive.meta.ptr + out[0].u.alive.meta.len == copy + len);
        free(copy);
    }

    /* bounds at their limits: 64-byte names, 512-byte meta, IPv6, max integers */
    static uint8_t meta[GOSSIP_META_MAX];
    memset(meta, 0xab, sizeof(meta));
    struct gossip_msg a = sample(GOSSIP_ALIVE);
    a.u.alive.incarnation = UINT64_MAX;
    a.u.alive.node.name = S("0123456789012345678901234567890123456789012345678901234567890123");
    a.u.alive.node.addr = addr6_loopback(65535);
    a.u.alive.meta = (struct proto_bytes){meta, sizeof(meta)};
    struct gossip_msg p = sample(GOSSIP_PING_REQ);
    p.u.ping_req.seq = UINT32_MAX;
    p.u.ping_req.nack = false;
    uint8_t buf[GOSSIP_PLAINTEXT_BUDGET];
    size_t len, count;
    struct proto_err err;
    CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), &p, &a, 1, NULL, &len, &err), 1);
    struct gossip_msg out[2];
    CHECK_INT(gossip_datagram_decode(buf, len, out, 2, &count, NULL, &err), 0);
    CHECK_INT(count, 2);
    CHECK(gossip_msg_equal(&p, &out[0]));
    CHECK(gossip_msg_equal(&a, &out[1]));
}

/* Model of the greedy fill, from sizes alone: what the encoder must include for a budget. */
static size_t model_fill(const size_t *sizes, size_t n, size_t probe, size_t budget, uint8_t *inc)
{
    size_t body = 1 + probe, elems = probe ? 2 : 1, carried = 0;
    for (size_t i = 0; i < n; i++) {
        size_t hdr = elems + 1 <= 15 ? 1 : 3;
        inc[i] = body + sizes[i] + hdr <= budget && elems - 1 < GOSSIP_DATAGRAM_MAX_MSGS;
        if (inc[i]) {
            body += sizes[i];
            elems++;
            carried++;
        }
    }
    return carried;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static void test_budget_fill(void)
{
    static uint8_t meta[GOSSIP_META_MAX];
    memset(meta, 0x11, sizeof(meta));
    struct gossip_msg probe = sample(GOSSIP_PING);
    size_t probe_len, len;
    uint8_t tmp[1024];
    struct proto_err err;
    CHECK_INT(gossip_msg_encode(&probe, tmp, sizeof(tmp), &probe_len, &err), 0);

    /* priority order kept, a too-big update skipped, smaller later ones still taken */
    struct gossip_msg ups[4] = {sample(GOSSIP_SUSPECT), sample(GOSSIP_ALIVE), sample(GOSSIP_ACK),
                                sample(GOSSIP_LEAVE)};
    ups[1].u.alive.meta = (struct proto_bytes){meta, 400};
    uint8_t buf[GOSSIP_SEALED_MAX];
    uint8_t inc[64];
    int got = gossip_datagram_encode(buf, 100, &probe, ups, 4, inc, &len, &err);
    CHECK_INT(got, 3);
    CHECK(inc[0] == 1 && inc[1] == 0 && inc[2] == 1 && inc[3] == 1);
    CHECK(len <= 100);
    struct gossip_msg out[GOSSIP_DATAGRAM_MAX_MSGS];
    size_t count;
    CHECK_INT(gossip_datagram_decode(buf, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL, &err),
              0);
    CHECK_INT(count, 4);
    CHECK(gossip_msg_equal(&out[0], &probe) && gossip_msg_equal(&out[1], &ups[0]) &&
          gossip_msg_equal(&out[2], &ups[2]) && gossip_msg_equal(&out[3], &ups[3]));

    /* the probe must fit */
    CHECK_ERR(gossip_datagram_encode(buf, 10, &probe, ups, 4, inc, &len, &err), err,
              PROTO_ERR_NOSPACE,
              "datagram: the probe (ping, 16 bytes) does not fit a 10-byte budget");
    CHECK_ERR(gossip_datagram_encode(buf, 1, NULL, NULL, 0, NULL, &len, &err), err,
              PROTO_ERR_NOSPACE, "datagram: budget of 1 bytes cannot hold the header");

    /* exactly what the model says, for every budget, with random mixes crossing the
     * fixarray/array16 boundary; never a byte over, always decodable */
    for (int round = 0; round < 40; round++) {
        struct gossip_msg cand[40];
        size_t sizes[40];
        size_t n = 1 + rnd() % 40;
        for (size_t i = 0; i < n; i++) {
            enum gossip_type t = (enum gossip_type)(GOSSIP_ACK + rnd() % 6);
            cand[i] = sample(t);
            if (t == GOSSIP_ALIVE)
                cand[i].u.alive.meta = (struct proto_bytes){meta, rnd() % 513};
            if (t == GOSSIP_ACK)
                cand[i].u.ack.seq = rnd();
            CHECK_INT(gossip_msg_encode(&cand[i], tmp, sizeof(tmp), &sizes[i], &err), 0);
            CHECK_INT(gossip_msg_size(&cand[i]), sizes[i]);
        }
        bool with_probe = rnd() % 2;
        for (size_t budget = 2; budget <= GOSSIP_SEALED_MAX; budget += 1 + rnd() % 7) {
            uint8_t want[40];
            size_t model = model_fill(sizes, n, with_probe ? probe_len : 0, budget, want);
            uint8_t *b = malloc(budget); /* exact size: ASan catches a write past budget */
            got = gossip_datagram_encode(b, budget, with_probe ? &probe : NULL, cand, n, inc, &len,
                                         &err);
            if (with_probe && 1 + probe_len + 1 > budget) {
                CHECK_INT(got, PROTO_ERR_NOSPACE);
                free(b);
                continue;
            }
            CHECK_INT(got, (int)model);
            CHECK(len <= budget);
            CHECK(memcmp(inc, want, n) == 0);
            CHECK_INT(
                gossip_datagram_decode(b, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL, &err),
                0);
            CHECK_INT(count, model + with_probe);
            size_t k = with_probe;
            for (size_t i = 0; i < n && k < count; i++)
                if (inc[i])
                    CHECK(gossip_msg_equal(&out[k++], &cand[i]));
            free(b);
        }
    }

    /* a full standard datagram: probe + as many alives as fit in 1356 bytes */
    struct gossip_msg alives[10];
    for (int i = 0; i < 10; i++) {
        alives[i] = sample(GOSSIP_ALIVE);
        alives[i].u.alive.meta = (struct proto_bytes){meta, 300};
    }
    got = gossip_datagram_encode(buf, GOSSIP_PLAINTEXT_BUDGET, &probe, alives, 10, inc, &len, &err);
    CHECK_INT(got, 4);
    CHECK(len <= GOSSIP_PLAINTEXT_BUDGET && len + GOSSIP_ENVELOPE_OVERHEAD <= GOSSIP_SEALED_MAX);

    /* the message-count cap */
    static struct gossip_msg many[300];
    for (int i = 0; i < 300; i++)
        many[i] = sample(GOSSIP_ACK);
    static uint8_t big[4096];
    got = gossip_datagram_encode(big, sizeof(big), &probe, many, 300, NULL, &len, &err);
    CHECK_INT(got, GOSSIP_DATAGRAM_MAX_MSGS - 1);
    CHECK_INT(gossip_datagram_decode(big, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL, &err),
              0);
    CHECK_INT(count, GOSSIP_DATAGRAM_MAX_MSGS);
    CHECK_ERR(gossip_datagram_decode(big, len, out, 2, &count, NULL, &err), err, PROTO_ERR_RANGE,
              "datagram: more than 2 messages");

    /* an invalid update is the caller's bug: refused, naming it */
    struct gossip_msg bad[3] = {sample(GOSSIP_ACK), sample(GOSSIP_ACK), sample(GOSSIP_ALIVE)};
    bad[2].u.alive.node.name = S("");
    CHECK_ERR(gossip_datagram_encode(buf, sizeof(buf), NULL, bad, 3, inc, &len, &err), err,
              PROTO_ERR_INVALID, "updates[2]: alive.name: invalid name: empty");
}

static void test_encoder_refuses_what_decoder_refuses(void)
{
    uint8_t buf[1024];
    size_t len;
    struct proto_err err;
    struct gossip_msg m = sample(GOSSIP_PING);
    m.u.ping.target = S("has space");
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "ping.target: invalid name: byte 0x20 at 3 is not visible ASCII");
    m = sample(GOSSIP_PING);
    m.u.ping.source.addr.port = 0;
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "ping.source_addr: port 0 is not valid");
    m = sample(GOSSIP_PING_REQ);
    m.u.ping_req.target.addr.len = 5;
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "ping-req.target_addr: address is 5 bytes, expected 4 (IPv4) or 16 (IPv6)");
    m = sample(GOSSIP_ALIVE);
    static uint8_t meta[GOSSIP_META_MAX + 1];
    m.u.alive.meta = (struct proto_bytes){meta, sizeof(meta)};
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "alive.meta: bin length 513 exceeds 512");
    m = sample(GOSSIP_DEAD);
    m.u.dead.from = S("01234567890123456789012345678901234567890123456789012345678901234");
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "dead.from: invalid name: longer than 64 bytes");
    m.type = (enum gossip_type)42;
    CHECK_ERR(gossip_msg_encode(&m, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "gossip: unknown message type 42");
    m = sample(GOSSIP_ACK);
    CHECK_ERR(gossip_msg_encode(&m, buf, 2, &len, &err), err, PROTO_ERR_NOSPACE,
              "ack: needs 3 bytes, buffer holds 2");
}

/* Decodes hex; returns the code; count/unknown out. */
static int dec(const char *hex, size_t *count, size_t *unknown, struct proto_err *err)
{
    size_t len;
    uint8_t *b = unhex(hex, &len);
    struct gossip_msg out[8];
    int rc = gossip_datagram_decode(b, len, out, 8, count, unknown, err);
    free(b);
    return rc;
}

static void test_decode_errors_name_the_field(void)
{
    size_t count = 99, unknown = 99;
    struct proto_err err;
    CHECK_ERR(dec("92 02 92 03 07", &count, &unknown, &err), err, PROTO_ERR_VERSION,
              "unsupported protocol version 2 (this build speaks 1)");
    CHECK_ERR(dec("92 a1 31 92 03 07", &count, &unknown, &err), err, PROTO_ERR_TYPE,
              "datagram.version: expected uint, got str");
    CHECK_ERR(dec("81 01 01", &count, &unknown, &err), err, PROTO_ERR_TYPE,
              "datagram: expected array, got map");
    CHECK_ERR(dec("90", &count, &unknown, &err), err, PROTO_ERR_RANGE,
              "datagram: expected at least 1 elements, got 0");
    CHECK_ERR(dec("92 01 07", &count, &unknown, &err), err, PROTO_ERR_TYPE,
              "datagram[1]: expected array, got uint");
    CHECK_ERR(dec("92 01 92 a1 31 07", &count, &unknown, &err), err, PROTO_ERR_TYPE,
              "datagram[1].type: expected uint, got str");
    CHECK_ERR(dec("92 01 92 03 a1 31", &count, &unknown, &err), err, PROTO_ERR_TYPE,
              "ack.seq: expected uint, got str");
    CHECK_ERR(dec("92 01 92 03 cf 00 00 00 01 00 00 00 00", &count, &unknown, &err), err,
              PROTO_ERR_RANGE, "ack.seq: value 4294967296 exceeds 4294967295");
    CHECK_ERR(dec("92 01 93 01 07 a1 62", &count, &unknown, &err), err, PROTO_ERR_RANGE,
              "ping: message has 2 fields, needs 5");
    CHECK_ERR(dec("92 01 96 01 07 a1 62 a1 61 c4 03 0a 00 00 cd 1f 0a", &count, &unknown, &err),
              err, PROTO_ERR_RANGE,
              "ping.source_addr: address is 3 bytes, expected 4 (IPv4) or 16 (IPv6)");
    CHECK_ERR(dec("92 01 96 01 07 a1 62 a1 61 c4 04 0a 00 00 01 00", &count, &unknown, &err), err,
              PROTO_ERR_RANGE, "ping.source_port: port 0 is not valid");
    CHECK_ERR(dec("92 01 99 02 07 a1 63 c4 04 0a 00 00 02 01 a1 61 c4 04 0a 00 00 01 01 01", &count,
                  &unknown, &err),
              err, PROTO_ERR_TYPE, "ping-req.nack: expected bool, got uint");
    CHECK_ERR(dec("92 01 94 06 01 a1 6e a0", &count, &unknown, &err), err, PROTO_ERR_MALFORMED,
              "suspect.from: invalid name: empty");
    CHECK_ERR(dec("92 01 93 08 01 a2 6e 00", &count, &unknown, &err), err, PROTO_ERR_MALFORMED,
              "leave.name: invalid name: byte 0x00 at 1 is not visible ASCII");
    CHECK_ERR(dec("92 01 92 03 07 00", &count, &unknown, &err), err, PROTO_ERR_MALFORMED,
              "datagram: 1 trailing bytes after the value");

    /* the brief's example: a 300-byte name */
    char hex[2048];
    int n = snprintf(hex, sizeof(hex), "92 01 96 05 01 da 01 2c ");
    for (int i = 0; i < 300; i++)
        n += snprintf(hex + n, sizeof(hex) - (size_t)n, "61");
    snprintf(hex + n, sizeof(hex) - (size_t)n, " c4 04 0a 00 00 01 01 c4 00");
    CHECK_ERR(dec(hex, &count, &unknown, &err), err, PROTO_ERR_RANGE,
              "alive.name: string length 300 exceeds 64");
    /* a 513-byte meta */
    n = snprintf(hex, sizeof(hex), "92 01 96 05 01 a1 61 c4 04 0a 00 00 01 01 c5 02 01 ");
    for (int i = 0; i < 513; i++)
        n += snprintf(hex + n, sizeof(hex) - (size_t)n, "00");
    CHECK_ERR(dec(hex, &count, &unknown, &err), err, PROTO_ERR_RANGE,
              "alive.meta: bin length 513 exceeds 512");
}

static void test_forward_compatibility(void)
{
    size_t count = 99, unknown = 99;
    struct proto_err err;
    /* unknown type 99 with nested content, then an ack: skipped and counted */
    CHECK_INT(dec("93 01 94 63 01 92 a1 78 81 01 02 c4 01 ff 92 03 07", &count, &unknown, &err), 0);
    CHECK_INT(count, 1);
    CHECK_INT(unknown, 1);
    /* type 0 and a huge type number are unknown too */
    CHECK_INT(dec("94 01 91 00 91 cf ff ff ff ff ff ff ff ff 92 04 05", &count, &unknown, &err), 0);
    CHECK_INT(count, 1);
    CHECK_INT(unknown, 2);
    /* a known message with two extra trailing fields (a newer version's): read, extras skipped */
    size_t len;
    uint8_t *b = unhex("92 01 94 03 07 92 01 02 a3 6e 65 77", &len);
    struct gossip_msg out[2];
    CHECK_INT(gossip_datagram_decode(b, len, out, 2, &count, &unknown, &err), 0);
    CHECK_INT(count, 1);
    CHECK(out[0].type == GOSSIP_ACK && out[0].u.ack.seq == 7);
    free(b);
    /* but unknown content is still bounded: nesting past 8 in an unknown message fails */
    CHECK_ERR(dec("92 01 93 63 00 91 91 91 91 91 91 91 01", &count, &unknown, &err), err,
              PROTO_ERR_DEPTH, "datagram[1]: nesting deeper than 8");
    CHECK_INT(dec("92 01 93 63 00 91 91 91 91 91 91 01", &count, &unknown, &err), 0);
    /* non-minimal encodings from other encoders are accepted: seq as uint32 and as int64 */
    CHECK_INT(
        dec("93 01 92 03 ce 00 00 00 07 92 03 d3 00 00 00 00 00 00 00 07", &count, &unknown, &err),
        0);
    CHECK_INT(count, 2);
}

static void test_huge_counts_fail_fast(void)
{
    size_t count, unknown;
    struct proto_err err;
    CHECK_ERR(dec("dd ff ff ff ff", &count, &unknown, &err), err, PROTO_ERR_TRUNCATED,
              "datagram: truncated: array of 4294967295 elements but 0 bytes left");
    CHECK_ERR(dec("92 01 dd ff ff ff ff 03", &count, &unknown, &err), err, PROTO_ERR_TRUNCATED,
              "datagram[1]: truncated: array of 4294967295 elements but 1 bytes left");
    CHECK_ERR(dec("92 01 96 05 01 db ff ff ff ff", &count, &unknown, &err), err,
              PROTO_ERR_TRUNCATED,
              "alive.name: truncated: string length 4294967295 but 0 bytes left");
    CHECK_ERR(dec("92 01 93 63 01 df ff ff ff ff", &count, &unknown, &err), err,
              PROTO_ERR_TRUNCATED,
              "datagram[1]: truncated: map of 4294967295 pairs but 0 bytes left");
    CHECK_ERR(
        dec("92 01 96 05 01 a1 61 c4 04 0a 00 00 01 01 c6 ff ff ff ff", &count, &unknown, &err),
        err, PROTO_ERR_TRUNCATED, "alive.meta: truncated: bin length 4294967295 but 0 bytes left");
}

/* A datagram with every type, for the exhaustive sweeps. */
static size_t full_datagram(uint8_t *buf, size_t cap)
{
    struct gossip_msg probe = sample(GOSSIP_PING_REQ);
    struct gossip_msg ups[7];
    for (int t = GOSSIP_PING; t <= GOSSIP_LEAVE; t++)
        if (t != GOSSIP_PING_REQ)
            ups[t < GOSSIP_PING_REQ ? t - 1 : t - 2] = sample((enum gossip_type)t);
    size_t len;
    struct proto_err err;
    int got = gossip_datagram_encode(buf, cap, &probe, ups, 7, NULL, &len, &err);
    CHECK_INT(got, 7);
    return len;
}

static void test_truncation_every_length(void)
{
    uint8_t full[512];
    size_t len = full_datagram(full, sizeof(full));
    struct gossip_msg out[16];
    size_t count;
    struct proto_err err;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = exact_copy(full, cut);
        int rc = gossip_datagram_decode(b, cut, out, 16, &count, NULL, &err);
        CHECK(rc == PROTO_ERR_TRUNCATED);
        CHECK(err.msg[0] != '\0');
        free(b);
    }
    CHECK_INT(gossip_datagram_decode(full, len, out, 16, &count, NULL, &err), 0);
    CHECK_INT(count, 8);
}

/* Every byte replaced by a few interesting values: decode either fails with a message or
 * yields messages that re-encode and decode to the same values. Catches over-reads under
 * ASan/valgrind and encoder/decoder disagreements. */
static void test_mutations(void)
{
    uint8_t full[512];
    size_t len = full_datagram(full, sizeof(full));
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
                                   0xc4, 0xcc, 0xcf, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff};
    int ok = 0, failed = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t v = 0; v < sizeof(vals) + 1; v++) {
            uint8_t *b = exact_copy(full, len);
            b[pos] = v < sizeof(vals) ? vals[v] : (uint8_t)(full[pos] ^ 0x01);
            struct gossip_msg out[16], again[16];
            size_t count, count2;
            struct proto_err err;
            int rc = gossip_datagram_decode(b, len, out, 16, &count, NULL, &err);
            if (rc == 0) {
                uint8_t re[1024];
                size_t relen;
                ok++;
                int n =
                    gossip_datagram_encode(re, sizeof(re), NULL, out, count, NULL, &relen, &err);
                CHECK_INT(n, (int)count);
                CHECK_INT(gossip_datagram_decode(re, relen, again, 16, &count2, NULL, &err), 0);
                CHECK_INT(count2, count);
                for (size_t i = 0; i < count && i < count2; i++)
                    CHECK(gossip_msg_equal(&out[i], &again[i]));
            } else {
                failed++;
                CHECK(rc < 0 && err.code == rc && err.msg[0] != '\0');
            }
            free(b);
        }
    }
    printf("# mutations: %d decoded, %d rejected\n", ok, failed);
    CHECK(ok > 0 && failed > 0);
}

int main(void)
{
    RUN(test_known_answers);
    RUN(test_msg_size_exact);
    RUN(test_round_trip_every_type);
    RUN(test_budget_fill);
    RUN(test_encoder_refuses_what_decoder_refuses);
    RUN(test_decode_errors_name_the_field);
    RUN(test_forward_compatibility);
    RUN(test_huge_counts_fail_fast);
    RUN(test_truncation_every_length);
    RUN(test_mutations);
    return check_done();
}
