/* Unit tests for proto/beacon: the LAN discovery announcement. */
#include "proto/beacon.h"
#include "proto/gossip.h"
#include "tests/unit/test_proto_helpers.c"

static void test_known_answer_and_round_trip(void)
{
    struct beacon b = {S("pi1"), addr4(192, 168, 1, 20, 7946), 5}, out;
    uint8_t buf[BEACON_MAX_SIZE];
    size_t len;
    struct proto_err err;
    CHECK_INT(beacon_encode(&b, buf, sizeof(buf), &len, &err), 0);
    CHECK_HEX(buf, len, "95 01 a3 70 69 31 c4 04 c0 a8 01 14 cd 1f 0a 05");
    uint8_t *copy = exact_copy(buf, len);
    CHECK_INT(beacon_decode(copy, len, &out, &err), 0);
    CHECK(proto_str_eq(out.name, "pi1") && proto_addr_eq(&out.addr, &b.addr) &&
          out.incarnation == 5);
    CHECK((const uint8_t *)out.name.ptr == copy + 3);
    free(copy);

    /* the largest beacon is exactly BEACON_MAX_SIZE */
    b.name = S("0123456789012345678901234567890123456789012345678901234567890123");
    b.addr = addr6_loopback(65535);
    b.incarnation = UINT64_MAX;
    CHECK_INT(beacon_encode(&b, buf, sizeof(buf), &len, &err), 0);
    CHECK_INT(len, BEACON_MAX_SIZE);
    CHECK_INT(beacon_decode(buf, len, &out, &err), 0);
    CHECK(proto_addr_eq(&out.addr, &b.addr) && out.incarnation == UINT64_MAX);
    CHECK_ERR(beacon_encode(&b, buf, 20, &len, &err), err, PROTO_ERR_NOSPACE,
              "beacon: needs 98 bytes, buffer holds 20");
    b.addr.port = 0;
    CHECK_ERR(beacon_encode(&b, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "beacon.addr: port 0 is not valid");
    b.name = S("");
    CHECK_ERR(beacon_encode(&b, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "beacon.name: invalid name: empty");
}

static int dec(const char *hex, struct beacon *b, struct proto_err *err)
{
    size_t len;
    uint8_t *buf = unhex(hex, &len);
    int rc = beacon_decode(buf, len, b, err);
    free(buf);
    return rc;
}

static void test_bad_input(void)
{
    struct beacon b;
    struct proto_err err;
    CHECK_ERR(dec("95 07 a3 70 69 31 c4 04 c0 a8 01 14 cd 1f 0a 05", &b, &err), err,
              PROTO_ERR_VERSION, "unsupported protocol version 7 (this build speaks 1)");
    CHECK_ERR(dec("94 01 a3 70 69 31 c4 04 c0 a8 01 14 cd 1f 0a", &b, &err), err, PROTO_ERR_RANGE,
              "beacon: has 4 fields, needs 5");
    CHECK_ERR(dec("95 01 a3 70 69 31 c4 04 c0 a8 01 14 cd 1f 0a a1 35", &b, &err), err,
              PROTO_ERR_TYPE, "beacon.incarnation: expected uint, got str");
    CHECK_ERR(dec("95 01 a3 70 69 31 c4 05 c0 a8 01 14 00 cd 1f 0a 05", &b, &err), err,
              PROTO_ERR_RANGE, "beacon.addr: address is 5 bytes, expected 4 (IPv4) or 16 (IPv6)");
    CHECK_ERR(dec("dd ff ff ff ff", &b, &err), err, PROTO_ERR_TRUNCATED,
              "beacon: truncated: array of 4294967295 elements but 0 bytes left");
    /* extra fields skipped */
    CHECK_INT(dec("96 01 a3 70 69 31 c4 04 c0 a8 01 14 cd 1f 0a 05 92 01 02", &b, &err), 0);

    /* a gossip datagram is not a beacon, and a beacon is not a gossip datagram */
    uint8_t buf[64];
    size_t len;
    struct gossip_msg ack = {.type = GOSSIP_ACK, .u.ack.seq = 1}, out[4];
    CHECK_INT(gossip_datagram_encode(buf, sizeof(buf), &ack, NULL, 0, NULL, &len, &err), 0);
    CHECK_ERR(beacon_decode(buf, len, &b, &err), err, PROTO_ERR_RANGE,
              "beacon: has 2 fields, needs 5");
    struct beacon good = {S("pi1"), addr4(192, 168, 1, 20, 7946), 5};
    CHECK_INT(beacon_encode(&good, buf, sizeof(buf), &len, &err), 0);
    size_t count;
    CHECK_ERR(gossip_datagram_decode(buf, len, out, 4, &count, NULL, &err), err, PROTO_ERR_TYPE,
              "datagram[1]: expected array, got str");
}

static void test_truncation_and_mutations(void)
{
    struct beacon b = {S("node-7"), addr6_loopback(7946), 77}, out;
    uint8_t full[BEACON_MAX_SIZE];
    size_t len;
    struct proto_err err;
    CHECK_INT(beacon_encode(&b, full, sizeof(full), &len, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *buf = exact_copy(full, cut);
        CHECK_INT(beacon_decode(buf, cut, &out, &err), PROTO_ERR_TRUNCATED);
        free(buf);
    }
    int ok = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (int v = 0; v < 256; v++) {
            uint8_t *buf = exact_copy(full, len);
            buf[pos] = (uint8_t)v;
            if (beacon_decode(buf, len, &out, &err) == 0) {
                uint8_t re[BEACON_MAX_SIZE];
                size_t relen;
                ok++;
                CHECK_INT(beacon_encode(&out, re, sizeof(re), &relen, &err), 0);
            }
            free(buf);
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    RUN(test_known_answer_and_round_trip);
    RUN(test_bad_input);
    RUN(test_truncation_and_mutations);
    return check_done();
}
