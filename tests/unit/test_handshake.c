/*
 * Unit tests for crypto/handshake: the relay handshake between a manager (initiator) and an
 * agent (responder) as pure message passing. Known answers for messages 1 and 2 and the split
 * keys (cross-checked with an independent Python Noise KK built on the cryptography package);
 * right keys succeed; wrong keys fail; every bit of every message is tamper-checked; a replayed
 * message 1 gives the replayer nothing; frames from one session never open in another.
 */
#include "crypto/handshake.h"
#include "crypto/swcrypto.h"
#include "proto/proto.h"
#include "tests/unit/check.h"

#include <sodium.h>

static struct keypair manager, manager2, agent, agent2;

static void fixed_keypair(struct keypair *kp, uint8_t fill)
{
    uint8_t sk[32];
    memset(sk, fill, sizeof(sk));
    if (keypair_from_secret(kp, sk) != 0)
        abort();
}

static int eq_hex(const uint8_t *got, size_t len, const char *hex)
{
    char buf[256];
    sodium_bin2hex(buf, sizeof(buf), got, len);
    return strcmp(buf, hex) == 0;
}

/* The messages of one run, kept for replay and tamper tests. */
struct transcript {
    uint8_t m[5][HS_MAX_MESSAGE]; /* m[1..4] */
    size_t len[5];
};

/*
 * Runs a whole handshake. tamper(msg_no, buf, len) may change a message in flight. Returns 1 if
 * both sides reached HS_DONE; the side that failed (if any) is reported through *fail_side
 * ('I' or 'R') and its reason copied to reason.
 */
typedef void (*tamper_fn)(int msg, uint8_t *buf, size_t len, void *arg);

/* Hands a whole message to `to` as a reader of hs_expect() bytes would: a version 2 message 1
 * goes in two steps (52 bytes, then the rest). -2 if the length is not what `to` expects. */
static int deliver(struct hs *to, const uint8_t *in, size_t len, uint8_t *out, size_t outcap,
                   size_t *outlen)
{
    size_t used = 0;
    *outlen = 0;
    if (!to->initiator && hs_expect(to) == HS_MSG1_BYTES && len > HS_MSG1_BYTES) {
        int rc = hs_step(to, in, HS_MSG1_BYTES, out, outcap, outlen);
        if (rc != HS_CONTINUE || *outlen != 0)
            return rc == HS_ERROR ? rc : -2;
        used = HS_MSG1_BYTES;
    }
    if (len - used != hs_expect(to))
        return -2;
    return hs_step(to, in + used, len - used, out, outcap, outlen);
}

static int run(struct hs *ini, struct hs *resp, struct transcript *tr, tamper_fn tamper, void *arg,
               char *fail_side, char *reason, size_t reasonlen)
{
    uint8_t buf[HS_MAX_MESSAGE];
    size_t len;
    struct hs *to = resp, *from = ini;
    *fail_side = 0;
    int rc = hs_step(ini, NULL, 0, buf, sizeof(buf), &len);
    for (int msg = 1; msg <= 4; msg++) {
        if (rc == HS_ERROR) {
            *fail_side = from == ini ? 'I' : 'R';
            snprintf(reason, reasonlen, "%s", hs_error(from));
            return 0;
        }
        if (tr) {
            memcpy(tr->m[msg], buf, len);
            tr->len[msg] = len;
        }
        if (tamper)
            tamper(msg, buf, len, arg);
        uint8_t in[HS_MAX_MESSAGE];
        size_t inlen = len;
        memcpy(in, buf, len);
        rc = deliver(to, in, inlen, buf, sizeof(buf), &len);
        if (rc == -2) {
            snprintf(reason, reasonlen, "length %zu, expected %zu", inlen, hs_expect(to));
            *fail_side = '?';
            return 0;
        }
        struct hs *t = to;
        to = from;
        from = t;
        if (msg == 4 && rc != HS_ERROR)
            return rc == HS_DONE;
    }
    *fail_side = from == ini ? 'I' : 'R';
    snprintf(reason, reasonlen, "%s", hs_error(from));
    return 0;
}

static void test_constants(void)
{
    CHECK_INT(HS_VERSION, PROTO_WIRE_VERSION);
    CHECK_INT(HS_MSG1_BYTES, 52);
    CHECK_INT(HS_MSG2_BYTES, 52);
    CHECK_INT(HS_MSG3_BYTES, 45);
    CHECK_INT(HS_MSG4_BYTES, 45);
    CHECK_INT(HS_MSG1_V2_BYTES, 53);
    CHECK_INT(HS_MSG2_V2_BYTES, 53);
    CHECK_INT(HS_MSG3_GCM_BYTES, 20);
    CHECK_INT(HS_MAX_MESSAGE, 53);
}

static void test_known_answer(void)
{
    struct keypair m, a;
    fixed_keypair(&m, 0x11);
    fixed_keypair(&a, 0x22);
    CHECK(eq_hex(m.pk, 32, "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"));
    CHECK(eq_hex(a.pk, 32, "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20"));
    struct hs ini, resp;
    hs_initiator_init(&ini, &m, a.pk);
    CHECK_INT(hs_responder_init(&resp, &a, (const uint8_t(*)[32])m.pk, 1), 0);
    uint8_t e1[32], e2[32];
    memset(e1, 0x33, 32);
    memset(e2, 0x44, 32);
    hs_test_fix_ephemeral(&ini, e1);
    hs_test_fix_ephemeral(&resp, e2);

    struct transcript tr;
    char side, reason[256];
    CHECK_INT(run(&ini, &resp, &tr, NULL, NULL, &side, reason, sizeof(reason)), 1);
    CHECK(eq_hex(tr.m[1], tr.len[1],
                 "535201017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14c804a4"
                 "11ce3191b90ffc7207944dc6c4"));
    CHECK(eq_hex(tr.m[2], tr.len[2],
                 "53520102ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b4cbf68"
                 "d6651b152d4d86e7a0f43cc4e8"));

    struct frame_cipher fi, fr;
    uint8_t pki[32], pkr[32], hi[32], hr[32];
    CHECK_INT(hs_finish(&ini, &fi, pki, hi), 0);
    CHECK_INT(hs_finish(&resp, &fr, pkr, hr), 0);
    const char *h = "39ab2e4e151b62e46ca2822ad4cb0f1983a50cc7b91debbd78daa7505f3c0790";
    CHECK(eq_hex(hi, 32, h));
    CHECK(eq_hex(hr, 32, h));
    CHECK(memcmp(pki, a.pk, 32) == 0);
    CHECK(memcmp(pkr, m.pk, 32) == 0);

    /* Message 3 opens with the independently computed k_IR: the Split() is right too. */
    uint8_t k_ir[32], ad[36];
    size_t n;
    sodium_hex2bin(k_ir, 32, "8eb71debf1365e827d0def975d75e9e74e82b770bf2836c0a2010f4f4ef656dd", 64,
                   NULL, &n, NULL);
    crypto_secretstream_xchacha20poly1305_state st;
    crypto_secretstream_xchacha20poly1305_init_pull(&st, tr.m[3] + 4, k_ir);
    memcpy(ad, tr.m[3], 4);
    memcpy(ad + 4, hi, 32);
    unsigned long long mlen;
    unsigned char tag;
    uint8_t none[1];
    CHECK_INT(crypto_secretstream_xchacha20poly1305_pull(&st, none, &mlen, &tag, tr.m[3] + 28, 17,
                                                         ad, sizeof(ad)),
              0);
    CHECK_INT(mlen, 0);
    frame_cipher_close(&fi);
    frame_cipher_close(&fr);
    keypair_wipe(&m);
    keypair_wipe(&a);
}

/* Both sides derive matching streams: frames flow both ways. */
static void test_success_and_frames(void)
{
    struct hs ini, resp;
    hs_initiator_init(&ini, &manager, agent.pk);
    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1), 0);
    CHECK_INT(hs_expect(&ini), 0);
    CHECK_INT(hs_expect(&resp), HS_MSG1_BYTES);
    char side, reason[256];
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 1);
    CHECK_INT(hs_expect(&ini), 0);
    CHECK_STR(hs_error(&ini), "");

    struct frame_cipher fi, fr;
    uint8_t pk[32], hi[32], hr[32];
    CHECK_INT(hs_finish(&ini, &fi, pk, hi), 0);
    CHECK(memcmp(pk, agent.pk, 32) == 0);
    CHECK_INT(hs_finish(&resp, &fr, pk, hr), 0);
    CHECK(memcmp(pk, manager.pk, 32) == 0);
    CHECK(memcmp(hi, hr, 32) == 0);
    /* hs_finish wiped the handshake state. */
    CHECK(sodium_is_zero((const unsigned char *)&ini, sizeof(ini)));

    uint8_t f[256], out[256];
    size_t n, used, m;
    int fin;
    for (int i = 0; i < 3; i++) {
        CHECK_INT(frame_seal(&fi, (const uint8_t *)"to agent", 8, 0, f, sizeof(f), &n), 0);
        CHECK_INT(frame_open(&fr, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
        CHECK(m == 8 && memcmp(out, "to agent", 8) == 0 && used == n && !fin);
        CHECK_INT(frame_seal(&fr, (const uint8_t *)"to manager", 10, 0, f, sizeof(f), &n), 0);
        CHECK_INT(frame_open(&fi, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
        CHECK(m == 10 && memcmp(out, "to manager", 10) == 0);
    }
    /* A frame sent in one direction does not open as if it came from the other. */
    CHECK_INT(frame_seal(&fi, (const uint8_t *)"x", 1, 0, f, sizeof(f), &n), 0);
    CHECK_INT(frame_open(&fi, f, n, &used, out, sizeof(out), &m, &fin), FRAME_ERR_AUTH);
    frame_cipher_close(&fi);
    frame_cipher_close(&fr);
}

static void test_wrong_keys(void)
{
    struct hs ini, resp;
    char side, reason[256];

    /* The agent trusts another manager key. */
    hs_initiator_init(&ini, &manager2, agent.pk);
    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1), 0);
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 0);
    CHECK_INT(side, 'R');
    CHECK_STR(reason, "message 1 does not authenticate: the initiator is not an allowed manager, "
                      "or it expects another key for this agent");
    CHECK_INT(hs_expect(&resp), 0);
    hs_close(&ini);

    /* The manager expects another agent (an impostor at the agent's address, or a stale key). */
    hs_initiator_init(&ini, &manager, agent2.pk);
    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1), 0);
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 0);
    CHECK_INT(side, 'R');
    hs_close(&ini);

    /* An impostor agent without the agent's secret cannot answer: whatever it sends as message 2
     * is refused by the manager. */
    hs_initiator_init(&ini, &manager, agent.pk);
    uint8_t m1[HS_MAX_MESSAGE], m2[HS_MSG2_BYTES], out[HS_MAX_MESSAGE];
    size_t n;
    CHECK_INT(hs_step(&ini, NULL, 0, m1, sizeof(m1), &n), HS_CONTINUE);
    randombytes_buf(m2, sizeof(m2));
    memcpy(m2, "SR\x01\x02", 4);
    CHECK_INT(hs_step(&ini, m2, sizeof(m2), out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&ini), "message 2 does not authenticate: the agent does not hold the key "
                              "the manager expects, or the message was tampered with");
    /* Once failed, it stays failed. */
    CHECK_INT(hs_step(&ini, m2, sizeof(m2), out, sizeof(out), &n), HS_ERROR);

    /* Two manager keys allowed (rotation): either may connect; the agent learns which. */
    uint8_t allowed[2][32];
    memcpy(allowed[0], manager.pk, 32);
    memcpy(allowed[1], manager2.pk, 32);
    hs_initiator_init(&ini, &manager2, agent.pk);
    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])allowed, 2), 0);
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 1);
    struct frame_cipher fc;
    uint8_t pk[32];
    CHECK_INT(hs_finish(&resp, &fc, pk, NULL), 0);
    CHECK(memcmp(pk, manager2.pk, 32) == 0);
    frame_cipher_close(&fc);
    hs_close(&ini);

    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])allowed, 0), -1);
    CHECK_INT(hs_responder_init(&resp, &agent, (const uint8_t(*)[32])allowed, HS_MAX_MANAGERS + 1),
              -1);
}

struct flip {
    int msg;
    size_t bit;
};

static void flip_bit(int msg, uint8_t *buf, size_t len, void *arg)
{
    struct flip *f = arg;
    if (msg == f->msg && f->bit / 8 < len)
        buf[f->bit / 8] ^= (uint8_t)(1u << (f->bit % 8));
}

/* Every single-bit change of every message ends the handshake, on the side that reads it. */
static void test_every_bit_of_every_message(void)
{
    static const size_t sizes[5] = {0, HS_MSG1_BYTES, HS_MSG2_BYTES, HS_MSG3_BYTES, HS_MSG4_BYTES};
    int survived = 0, wrong_side = 0, runs = 0;
    for (int msg = 1; msg <= 4; msg++) {
        for (size_t bit = 0; bit < sizes[msg] * 8; bit++) {
            struct hs ini, resp;
            hs_initiator_init(&ini, &manager, agent.pk);
            hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
            struct flip f = {msg, bit};
            char side, reason[256];
            runs++;
            if (run(&ini, &resp, NULL, flip_bit, &f, &side, reason, sizeof(reason))) {
                survived++;
                printf("# message %d bit %zu survived\n", msg, bit);
            } else if (side != (msg % 2 == 1 ? 'R' : 'I')) {
                wrong_side++;
                printf("# message %d bit %zu: failed on side %c: %s\n", msg, bit, side, reason);
            }
            hs_close(&ini);
            hs_close(&resp);
        }
    }
    CHECK_INT(survived, 0);
    CHECK_INT(wrong_side, 0);
    CHECK_INT(runs, (52 + 52 + 45 + 45) * 8);
}

static void test_header_errors(void)
{
    struct hs resp;
    uint8_t m1[HS_MSG1_BYTES], out[HS_MAX_MESSAGE];
    size_t n;
    memset(m1, 0, sizeof(m1));
    memcpy(m1, "SR\x03\x01", 4);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, sizeof(m1), out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&resp),
              "message 1: unsupported protocol version 3 (this swarm speaks 1 and 2)");
    CHECK_INT(n, 0);

    memcpy(m1, "GET ", 4);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, sizeof(m1), out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&resp), "message 1: not a swarm relay handshake (magic 4745)");

    memcpy(m1, "SR\x01\x03", 4);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, sizeof(m1), out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&resp), "message 1: unexpected message type 3");

    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, sizeof(m1) - 1, out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&resp), "message 1: wrong length 51 (want 52)");

    /* A low-order ephemeral key (all zeros) is refused. */
    memset(m1, 0, sizeof(m1));
    memcpy(m1, "SR\x01\x01", 4);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, sizeof(m1), out, sizeof(out), &n), HS_ERROR);

    /* A too-small output buffer, and steps out of turn. */
    struct hs ini;
    hs_initiator_init(&ini, &manager, agent.pk);
    CHECK_INT(hs_step(&ini, NULL, 0, out, 10, &n), HS_ERROR);
    hs_initiator_init(&ini, &manager, agent.pk);
    CHECK_INT(hs_step(&ini, m1, 5, out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&ini), "the initiator starts with no input");
    struct frame_cipher fc;
    uint8_t pk[32];
    hs_initiator_init(&ini, &manager, agent.pk);
    CHECK_INT(hs_finish(&ini, &fc, pk, NULL), -1);
    hs_close(&ini);
    CHECK_INT(hs_step(&ini, NULL, 0, out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&ini), "handshake not started or already wiped");
}

/*
 * A recorded message 1 replayed to a fresh agent: the agent answers with a fresh message 2 (it
 * cannot tell a replay from a retry: message 1 carries no clock), but the replayer has neither
 * the manager's static secret nor the ephemeral secret behind message 1, so it cannot compute
 * the session keys: neither the recorded message 3 nor anything else completes the handshake,
 * and the agent never opens a frame from it.
 */
static void test_replayed_message1(void)
{
    struct hs ini, resp;
    struct transcript tr;
    char side, reason[256];
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(run(&ini, &resp, &tr, NULL, NULL, &side, reason, sizeof(reason)), 1);
    hs_close(&ini);
    hs_close(&resp);

    /* Replay 1 and then the recorded 3. */
    uint8_t out[HS_MAX_MESSAGE];
    size_t n;
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, tr.m[1], tr.len[1], out, sizeof(out), &n), HS_CONTINUE);
    CHECK_INT(n, HS_MSG2_BYTES);
    CHECK(memcmp(out, tr.m[2], n) != 0); /* a fresh ephemeral key */
    CHECK_INT(hs_step(&resp, tr.m[3], tr.len[3], out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&resp), "message 3 (key confirmation) failed: tampered with, or message 1 "
                               "was replayed by someone without the manager's keys");
    CHECK_INT(n, 0); /* no message 4: nothing keyed to the session went out */

    /* Replay 1 and then a guess. */
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, tr.m[1], tr.len[1], out, sizeof(out), &n), HS_CONTINUE);
    uint8_t guess[HS_MSG3_BYTES];
    randombytes_buf(guess, sizeof(guess));
    memcpy(guess, "SR\x01\x03", 4);
    CHECK_INT(hs_step(&resp, guess, sizeof(guess), out, sizeof(out), &n), HS_ERROR);

    /* A recorded message 2 replayed to a manager that starts afresh fails too. */
    hs_initiator_init(&ini, &manager, agent.pk);
    CHECK_INT(hs_step(&ini, NULL, 0, out, sizeof(out), &n), HS_CONTINUE);
    CHECK_INT(hs_step(&ini, tr.m[2], tr.len[2], out, sizeof(out), &n), HS_ERROR);
}

/* Frames recorded from one connection never open in another between the same two parties. */
static void test_cross_session_replay(void)
{
    struct frame_cipher a1, b1, a2, b2;
    uint8_t pk[32];
    char side, reason[256];
    struct hs ini, resp;
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 1);
    hs_finish(&ini, &a1, pk, NULL);
    hs_finish(&resp, &b1, pk, NULL);
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(run(&ini, &resp, NULL, NULL, NULL, &side, reason, sizeof(reason)), 1);
    hs_finish(&ini, &a2, pk, NULL);
    hs_finish(&resp, &b2, pk, NULL);

    uint8_t f[64], out[64];
    size_t n, used, m;
    int fin;
    CHECK_INT(frame_seal(&a1, (const uint8_t *)"rm -rf", 6, 0, f, sizeof(f), &n), 0);
    CHECK_INT(frame_open(&b2, f, n, &used, out, sizeof(out), &m, &fin), FRAME_ERR_AUTH);
    CHECK_INT(frame_open(&b1, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
    frame_cipher_close(&a1);
    frame_cipher_close(&b1);
    frame_cipher_close(&a2);
    frame_cipher_close(&b2);
}

/* Version 2 with fixed keys and ephemerals: every message (offer: both suites; choice:
 * AES-256-GCM), the handshake hash and the first GCM frame, as an independent Python Noise KK
 * built on the cryptography package computes them (docs/PROTOCOL.md 2.4 and 2.5). */
static void test_v2_known_answer(void)
{
    if (!crypto_aead_aes256gcm_is_available()) {
        printf("# AES-256-GCM is not available on this machine: skipped\n");
        return;
    }
    struct keypair m, a;
    fixed_keypair(&m, 0x11);
    fixed_keypair(&a, 0x22);
    struct hs ini, resp;
    hs_initiator_init(&ini, &m, a.pk);
    CHECK_INT(hs_use_suites(&ini, FRAME_SUITE_SECRETSTREAM | FRAME_SUITE_AES256GCM), 0);
    CHECK_INT(hs_responder_init(&resp, &a, (const uint8_t(*)[32])m.pk, 1), 0);
    uint8_t e1[32], e2[32];
    memset(e1, 0x33, 32);
    memset(e2, 0x44, 32);
    hs_test_fix_ephemeral(&ini, e1);
    hs_test_fix_ephemeral(&resp, e2);
    struct transcript tr;
    char side, reason[256];
    CHECK_INT(run(&ini, &resp, &tr, NULL, NULL, &side, reason, sizeof(reason)), 1);
    CHECK_INT(hs_suite(&ini), FRAME_SUITE_AES256GCM);
    CHECK_INT(hs_suite(&resp), FRAME_SUITE_AES256GCM);
    CHECK_INT(tr.len[1], 53);
    CHECK_INT(tr.len[2], 53);
    CHECK_INT(tr.len[3], 20);
    CHECK_INT(tr.len[4], 20);
    CHECK(eq_hex(tr.m[1], tr.len[1],
                 "535202017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b1486264e"
                 "b927421b12d53ae90414d7e393d5"));
    CHECK(eq_hex(tr.m[2], tr.len[2],
                 "53520202ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b14bccc"
                 "323f90b136ae5b92b67e3e23f65b"));
    CHECK(eq_hex(tr.m[3], tr.len[3], "5352020362ed670b8adaae2a92bcbb3a5f0aabba"));
    CHECK(eq_hex(tr.m[4], tr.len[4], "53520204990eaa17f8724b58ef4d5bd01571f7ae"));
    struct frame_cipher fi, fr;
    uint8_t pk[32], hi[32];
    CHECK_INT(hs_finish(&ini, &fi, pk, hi), 0);
    CHECK_INT(hs_finish(&resp, &fr, pk, NULL), 0);
    CHECK(eq_hex(hi, 32, "7d8a96f5101d2dab839ca24abe4b59c4679cf422fe358f79f8554b6bcd62886d"));
    uint8_t f[64];
    size_t n;
    CHECK_INT(frame_seal(&fi, (const uint8_t *)"abc", 3, 0, f, sizeof(f), &n), FRAME_OK);
    CHECK(eq_hex(f, n, "00000014007bdd9970c615edf77653bf65c11e25a0135855"));
    CHECK_INT(fi.suite, FRAME_SUITE_AES256GCM);
    frame_cipher_close(&fi);
    frame_cipher_close(&fr);
    keypair_wipe(&m);
    keypair_wipe(&a);
}

/* Runs one handshake; the initiator offers `offer` (0: version 1), the responder accepts
 * `accept` (0: its default). Returns the suite both agreed on, 0 if it failed (reason copied). */
static unsigned negotiate(unsigned offer, unsigned accept, char *reason, size_t reasonlen)
{
    struct hs ini, resp;
    char side;
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    if (offer && hs_use_suites(&ini, offer) != 0)
        return 0;
    if (accept && hs_use_suites(&resp, accept) != 0)
        return 0;
    struct transcript tr;
    reason[0] = '\0';
    if (!run(&ini, &resp, &tr, NULL, NULL, &side, reason, reasonlen))
        return 0;
    unsigned s = hs_suite(&ini);
    if (hs_suite(&resp) != s)
        return 0;
    /* Frames flow both ways with what was agreed. */
    struct frame_cipher fi, fr;
    uint8_t pk[32], f[64], out[64];
    size_t n, used, m;
    int fin, ok = 1;
    hs_finish(&ini, &fi, pk, NULL);
    hs_finish(&resp, &fr, pk, NULL);
    ok &= fi.suite == s && fr.suite == s;
    ok &= frame_seal(&fi, (const uint8_t *)"ping", 4, 0, f, sizeof(f), &n) == FRAME_OK;
    ok &= frame_open(&fr, f, n, &used, out, sizeof(out), &m, &fin) == FRAME_OK && m == 4;
    ok &= frame_seal(&fr, (const uint8_t *)"pong", 4, 1, f, sizeof(f), &n) == FRAME_OK;
    ok &= frame_open(&fi, f, n, &used, out, sizeof(out), &m, &fin) == FRAME_OK && fin;
    frame_cipher_close(&fi);
    frame_cipher_close(&fr);
    return ok ? s : 0;
}

static void test_negotiation(void)
{
    const unsigned SS = FRAME_SUITE_SECRETSTREAM, GCM = FRAME_SUITE_AES256GCM;
    unsigned have = crypto_aead_aes256gcm_is_available() ? GCM : SS;
    char reason[256];
    /* Version 1 (an older manager, or one that does not know the agent speaks 2). */
    CHECK_INT(negotiate(0, 0, reason, sizeof(reason)), SS);
    /* Both have it. */
    CHECK_INT(negotiate(SS | GCM, 0, reason, sizeof(reason)), have);
    /* Forced off on either side. */
    CHECK_INT(negotiate(SS, 0, reason, sizeof(reason)), SS);
    CHECK_INT(negotiate(SS | GCM, SS, reason, sizeof(reason)), SS);
    /* Nothing in common. */
    CHECK_INT(negotiate(GCM, SS, reason, sizeof(reason)), 0);
    CHECK_STR(reason, "message 1: no frame cipher in common (the manager offers 0x02, this agent "
                      "accepts 0x01)");
    /* Unknown bits are dropped; nothing left is refused. */
    struct hs hs;
    hs_initiator_init(&hs, &manager, agent.pk);
    CHECK_INT(hs_use_suites(&hs, 0x80), -1);
    CHECK_INT(hs_use_suites(&hs, 0x81), 0);
    CHECK_INT(hs.suites, SS);
    hs_close(&hs);
}

/* Nobody on the path can downgrade: the offer and the choice are inside the Noise payloads and
 * the version inside the prologue, so rewriting any of them fails the handshake. */
static void test_v2_downgrade(void)
{
    struct hs ini, resp;
    uint8_t m1[HS_MAX_MESSAGE], m2[HS_MAX_MESSAGE], out[HS_MAX_MESSAGE];
    size_t n1, n2, n;
    /* A version 2 message 1 passed off as version 1 (its last byte dropped). */
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_use_suites(&ini, FRAME_SUITES_KNOWN);
    CHECK_INT(hs_step(&ini, NULL, 0, m1, sizeof(m1), &n1), HS_CONTINUE);
    CHECK_INT(n1, HS_MSG1_V2_BYTES);
    m1[2] = 1;
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(hs_step(&resp, m1, HS_MSG1_BYTES, out, sizeof(out), &n), HS_ERROR);
    CHECK_INT(n, 0);

    /* A version 2 answer to a version 1 manager, and the reverse. */
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_use_suites(&ini, FRAME_SUITES_KNOWN);
    CHECK_INT(hs_step(&ini, NULL, 0, m1, sizeof(m1), &n1), HS_CONTINUE);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(deliver(&resp, m1, n1, m2, sizeof(m2), &n2), HS_CONTINUE);
    CHECK_INT(n2, HS_MSG2_V2_BYTES);
    m2[2] = 1;
    CHECK_INT(hs_step(&ini, m2, n2, out, sizeof(out), &n), HS_ERROR);
    CHECK_STR(hs_error(&ini),
              "message 2: unsupported protocol version 1 (this handshake is version 2)");
    hs_close(&resp);
    hs_close(&ini);
}

/* Every single-bit change of every version 2 message ends the handshake, on the reading side. */
static void test_v2_every_bit(void)
{
    int survived = 0, wrong_side = 0;
    size_t bits = 0;
    struct transcript tr;
    char side, reason[256];
    struct hs ini, resp;
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_use_suites(&ini, FRAME_SUITES_KNOWN);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    CHECK_INT(run(&ini, &resp, &tr, NULL, NULL, &side, reason, sizeof(reason)), 1);
    hs_close(&ini);
    hs_close(&resp);
    for (int msg = 1; msg <= 4; msg++) {
        for (size_t bit = 0; bit < tr.len[msg] * 8; bit++) {
            hs_initiator_init(&ini, &manager, agent.pk);
            hs_use_suites(&ini, FRAME_SUITES_KNOWN);
            hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
            struct flip f = {msg, bit};
            bits++;
            if (run(&ini, &resp, NULL, flip_bit, &f, &side, reason, sizeof(reason))) {
                survived++;
                printf("# v2 message %d bit %zu survived\n", msg, bit);
            } else if (side != (msg % 2 == 1 ? 'R' : 'I')) {
                wrong_side++;
                printf("# v2 message %d bit %zu: failed on side %c: %s\n", msg, bit, side, reason);
            }
            hs_close(&ini);
            hs_close(&resp);
        }
    }
    CHECK_INT(survived, 0);
    CHECK_INT(wrong_side, 0);
    unsigned conf = crypto_aead_aes256gcm_is_available() ? 20 : 45;
    CHECK_INT(bits, (53 + 53 + conf + conf) * 8);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    if (keypair_generate(&manager) || keypair_generate(&manager2) || keypair_generate(&agent) ||
        keypair_generate(&agent2))
        return 1;
    RUN(test_constants);
    RUN(test_known_answer);
    RUN(test_success_and_frames);
    RUN(test_wrong_keys);
    RUN(test_v2_known_answer);
    RUN(test_negotiation);
    RUN(test_v2_downgrade);
    RUN(test_v2_every_bit);
    RUN(test_every_bit_of_every_message);
    RUN(test_header_errors);
    RUN(test_replayed_message1);
    RUN(test_cross_session_replay);
    return check_done();
}
