/* Unit tests for proto/relay_frame: the frames of a relay connection. */
#include "proto/relay_frame.h"
#include "tests/unit/test_proto_helpers.c"

static struct frame fr(enum frame_type t, uint32_t stream)
{
    struct frame f;
    memset(&f, 0, sizeof(f));
    f.type = t;
    f.stream = stream;
    return f;
}

static void samples(struct frame *f)
{
    f[0] = fr(FRAME_OPEN, 1);
    f[0].u.open.target = S("engine");
    f[0].u.open.window = 262144;
    f[1] = fr(FRAME_DATA, 1);
    f[1].u.data.payload = (struct proto_bytes){(const uint8_t *)"GET /", 5};
    f[2] = fr(FRAME_CLOSE, 1);
    f[2].u.close.how = FRAME_CLOSE_WRITE;
    f[2].u.close.code = FRAME_CODE_OK;
    f[2].u.close.reason = S("");
    f[3] = fr(FRAME_CLOSE, 2);
    f[3].u.close.how = FRAME_CLOSE_RESET;
    f[3].u.close.code = FRAME_CODE_UNREACHABLE;
    f[3].u.close.reason = S("engine down");
    f[4] = fr(FRAME_WINDOW, 1);
    f[4].u.window.credit = 65536;
    f[5] = fr(FRAME_STATE, 0);
    f[5].u.state.kind = FRAME_STATE_SNAPSHOT;
    f[5].u.state.seq = 1;
    f[5].u.state.more = false;
    f[5].u.state.payload = (struct proto_bytes){(const uint8_t *)"{}", 2};
    f[6] = fr(FRAME_PING, 0);
    f[6].u.ping.nonce = 0xdeadbeef;
    f[6].u.ping.pong = false;
}
#define NSAMPLES 7

/* By hand, from docs/PROTOCOL.md. */
static const char *const kat[NSAMPLES] = {
    "94 01 01 a6 65 6e 67 69 6e 65 ce 00 04 00 00",
    "93 02 01 c4 05 47 45 54 20 2f",
    "95 03 01 01 00 a0",
    "95 03 02 02 02 ab 65 6e 67 69 6e 65 20 64 6f 77 6e",
    "93 04 01 ce 00 01 00 00",
    "96 05 00 00 01 c2 c4 02 7b 7d",
    "94 06 00 ce de ad be ef c2",
};

static void test_known_answers_and_round_trip(void)
{
    struct frame f[NSAMPLES], out;
    samples(f);
    for (int i = 0; i < NSAMPLES; i++) {
        uint8_t buf[128];
        size_t len;
        struct proto_err err;
        CHECK_INT(frame_encode(&f[i], buf, sizeof(buf), &len, &err), 0);
        CHECK_HEX(buf, len, kat[i]);
        uint8_t *copy = exact_copy(buf, len);
        CHECK_INT(frame_decode(copy, len, &out, &err), 0);
        CHECK(frame_equal(&f[i], &out));
        free(copy);
    }
    CHECK_STR(frame_type_name(FRAME_WINDOW), "WINDOW");
    CHECK_STR(frame_type_name(99), "unknown");
}

static void test_payload_bounds(void)
{
    size_t big = FRAME_MAX_SIZE + 1;
    uint8_t *payload = malloc(big);
    memset(payload, 'j', big);
    uint8_t *buf = malloc(FRAME_MAX_SIZE + 16);
    size_t len, hlen;
    struct proto_err err;
    struct frame f = fr(FRAME_DATA, 7), out;

    f.u.data.payload = (struct proto_bytes){payload, FRAME_DATA_MAX};
    CHECK_INT(frame_encode(&f, buf, FRAME_MAX_SIZE, &len, &err), 0);
    CHECK_INT(len, 3 + 5 + FRAME_DATA_MAX);
    CHECK_INT(frame_decode(buf, len, &out, &err), 0);
    CHECK(frame_equal(&f, &out) && out.u.data.payload.ptr == buf + 8);
    /* the header alone, for a gather write, is the same bytes */
    uint8_t hdr[FRAME_HEADER_MAX];
    struct frame h = f;
    h.u.data.payload.ptr = NULL;
    CHECK_INT(frame_encode_header(&h, hdr, sizeof(hdr), &hlen, &err), 0);
    CHECK(hlen == 8 && memcmp(hdr, buf, hlen) == 0);

    f.u.data.payload.len = FRAME_DATA_MAX + 1;
    CHECK_ERR(frame_encode(&f, buf, FRAME_MAX_SIZE, &len, &err), err, PROTO_ERR_INVALID,
              "data.payload: bin length 65537 exceeds 65536");
    CHECK_INT(frame_encode_header(&f, hdr, sizeof(hdr), &hlen, &err), PROTO_ERR_INVALID);
    /* a peer's oversized DATA: hand-made header */
    memcpy(buf, "\x93\x02\x07\xc6\x00\x01\x00\x01", 8);
    memcpy(buf + 8, payload, FRAME_DATA_MAX + 1);
    CHECK_ERR(frame_decode(buf, 8 + FRAME_DATA_MAX + 1, &out, &err), err, PROTO_ERR_RANGE,
              "data.payload: bin length 65537 exceeds 65536");

    /* STATE chunks up to 64 KiB; a longer state message is several chunks, more = true */
    f = fr(FRAME_STATE, 0);
    f.u.state.kind = FRAME_STATE_DELTA;
    f.u.state.seq = UINT64_MAX;
    f.u.state.more = true;
    f.u.state.payload = (struct proto_bytes){payload, FRAME_STATE_CHUNK_MAX};
    CHECK_INT(frame_encode(&f, buf, FRAME_MAX_SIZE, &len, &err), 0);
    CHECK(len <= FRAME_MAX_SIZE);
    CHECK_INT(frame_decode(buf, len, &out, &err), 0);
    CHECK(frame_equal(&f, &out) && out.u.state.more);
    CHECK_INT(frame_encode_header(&f, hdr, sizeof(hdr), &hlen, &err), 0);
    CHECK(hlen + FRAME_STATE_CHUNK_MAX == len && memcmp(hdr, buf, hlen) == 0);
    CHECK_INT(hlen, 19); /* the largest header */
    CHECK(hlen <= FRAME_HEADER_MAX);
    f.u.state.payload.len = FRAME_STATE_CHUNK_MAX + 1;
    CHECK_ERR(frame_encode(&f, buf, FRAME_MAX_SIZE + 16, &len, &err), err, PROTO_ERR_INVALID,
              "state.payload: bin length 65537 exceeds 65536");
    CHECK_ERR(frame_decode(buf, FRAME_MAX_SIZE + 1, &out, &err), err, PROTO_ERR_RANGE,
              "frame: 66561 bytes exceed 66560");

    f = fr(FRAME_PING, 0);
    CHECK_ERR(frame_encode_header(&f, hdr, sizeof(hdr), &hlen, &err), err, PROTO_ERR_INVALID,
              "ping: only DATA and STATE have a payload");
    CHECK_ERR(frame_encode(&f, hdr, 3, &hlen, &err), err, PROTO_ERR_NOSPACE,
              "ping: needs 5 bytes, buffer holds 3");
    free(buf);
    free(payload);
}

static void test_invalid_frames_refused(void)
{
    uint8_t buf[64];
    size_t len;
    struct proto_err err;
    struct frame f = fr(FRAME_DATA, 0);
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "data.stream: 0 is the connection");
    f = fr(FRAME_PING, 5);
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "ping.stream: must be 0, is 5");
    f = fr(FRAME_CLOSE, 1);
    f.u.close.how = (enum frame_close_how)3;
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "close.how: unknown value 3");
    f = fr(FRAME_WINDOW, 1);
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "window.credit: must be at least 1");
    f = fr(FRAME_OPEN, 1);
    f.u.open.target = S("012345678901234567890123456789012");
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "open.target: string length 33 exceeds 32");
    f = fr(FRAME_STATE, 0);
    f.u.state.kind = (enum frame_state_kind)2;
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "state.kind: unknown value 2");
    f = fr((enum frame_type)0, 1);
    CHECK_ERR(frame_encode(&f, buf, sizeof(buf), &len, &err), err, PROTO_ERR_INVALID,
              "frame: unknown type 0");
}

static int dec(const char *hex, struct frame *f, struct proto_err *err)
{
    size_t len;
    uint8_t *b = unhex(hex, &len);
    int rc = frame_decode(b, len, f, err);
    free(b);
    return rc;
}

static void test_decode_errors(void)
{
    struct frame f;
    struct proto_err err;
    CHECK_ERR(dec("93 09 03 a1 78", &f, &err), err, PROTO_ERR_UNKNOWN_TYPE,
              "frame: unknown type 9 on stream 3");
    CHECK(f.type == (enum frame_type)9 && f.stream == 3);
    CHECK_ERR(dec("92 cd 01 00 01", &f, &err), err, PROTO_ERR_RANGE,
              "frame.type: value 256 exceeds 255");
    CHECK_ERR(dec("91 01", &f, &err), err, PROTO_ERR_RANGE,
              "frame: expected at least 2 elements, got 1");
    CHECK_ERR(dec("93 01 01 a6 65 6e 67 69 6e 65", &f, &err), err, PROTO_ERR_RANGE,
              "open: frame has 1 fields, needs 2");
    CHECK_ERR(dec("93 02 00 c4 00", &f, &err), err, PROTO_ERR_RANGE,
              "data.stream: 0 is the connection");
    CHECK_ERR(dec("94 06 01 00 c2", &f, &err), err, PROTO_ERR_RANGE,
              "ping.stream: must be 0, is 1");
    CHECK_ERR(dec("93 02 01 a1 78", &f, &err), err, PROTO_ERR_TYPE,
              "data.payload: expected bin, got str");
    CHECK_ERR(dec("95 03 01 00 00 a0", &f, &err), err, PROTO_ERR_RANGE,
              "close.how: unknown value 0");
    CHECK_ERR(dec("95 03 01 01 00 a1 07", &f, &err), err, PROTO_ERR_MALFORMED,
              "close.reason: invalid text: control byte 0x07 at 0");
    CHECK_ERR(dec("93 04 01 00", &f, &err), err, PROTO_ERR_RANGE,
              "window.credit: must be at least 1");
    CHECK_ERR(dec("96 05 00 02 01 c2 c4 00", &f, &err), err, PROTO_ERR_RANGE,
              "state.kind: unknown value 2");
    CHECK_ERR(dec("95 05 00 00 01 c4 00", &f, &err), err, PROTO_ERR_RANGE,
              "state: frame has 3 fields, needs 4");
    CHECK_ERR(dec("96 05 00 00 01 00 c4 00", &f, &err), err, PROTO_ERR_TYPE,
              "state.more: expected bool, got uint");
    CHECK_ERR(dec("94 06 00 01 01", &f, &err), err, PROTO_ERR_TYPE,
              "ping.pong: expected bool, got uint");
    CHECK_ERR(dec("94 01 01 a7 65 6e 67 20 69 6e 65 01", &f, &err), err, PROTO_ERR_MALFORMED,
              "open.target: invalid name: byte 0x20 at 3 is not visible ASCII");
    CHECK_ERR(dec("93 04 01 01 00", &f, &err), err, PROTO_ERR_MALFORMED,
              "window: 1 trailing bytes after the value");
    CHECK_ERR(dec("dd ff ff ff ff", &f, &err), err, PROTO_ERR_TRUNCATED,
              "frame: truncated: array of 4294967295 elements but 0 bytes left");
    CHECK_ERR(dec("93 02 01 c6 ff ff ff ff", &f, &err), err, PROTO_ERR_TRUNCATED,
              "data.payload: truncated: bin length 4294967295 but 0 bytes left");
    /* a newer version's extra fields are skipped */
    CHECK_INT(dec("95 04 01 05 92 01 02 a1 78", &f, &err), 0);
    CHECK(f.type == FRAME_WINDOW && f.u.window.credit == 5);
}

static void test_truncation_and_mutations(void)
{
    struct frame f[NSAMPLES], out, again;
    samples(f);
    int ok = 0;
    for (int i = 0; i < NSAMPLES; i++) {
        uint8_t full[128];
        size_t len;
        struct proto_err err;
        CHECK_INT(frame_encode(&f[i], full, sizeof(full), &len, &err), 0);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *b = exact_copy(full, cut);
            CHECK_INT(frame_decode(b, cut, &out, &err), PROTO_ERR_TRUNCATED);
            free(b);
        }
        for (size_t pos = 0; pos < len; pos++) {
            for (int v = 0; v < 256; v += 3) {
                uint8_t *b = exact_copy(full, len);
                b[pos] = (uint8_t)v;
                if (frame_decode(b, len, &out, &err) == 0) {
                    uint8_t re[128];
                    size_t relen;
                    ok++;
                    CHECK_INT(frame_encode(&out, re, sizeof(re), &relen, &err), 0);
                    CHECK_INT(frame_decode(re, relen, &again, &err), 0);
                    CHECK(frame_equal(&out, &again));
                }
                free(b);
            }
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    RUN(test_known_answers_and_round_trip);
    RUN(test_payload_bounds);
    RUN(test_invalid_frames_refused);
    RUN(test_decode_errors);
    RUN(test_truncation_and_mutations);
    return check_done();
}
