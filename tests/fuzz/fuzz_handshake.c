/*
 * Fuzz target for crypto/handshake: the first byte picks which reader gets the rest of the input
 * (bits 0-1) and the handshake version (bit 2 set: the manager offers every suite, version 2).
 *   0  the agent (responder) reads it as message 1 (in two steps, 52 bytes and the rest, when it
 *      is longer than 52 bytes and its first 52 are accepted as the start of a version 2 one)
 *   1  the agent reads a valid message 1, answers, then reads the input as message 3
 *   2  the manager (initiator) sends message 1, then reads the input as message 2
 *   3  a valid exchange up to message 3, then the manager reads the input as message 4
 * Keys and ephemerals are fixed (the known-answer set of test_handshake), so a seed holding the
 * real message 2 reaches the manager's message 3. Must never crash, over-read or leak; a failure
 * must give a reason and no output; no forged message 1 or 2 may pass (see feed).
 */
#include "crypto/handshake.h"
#include "crypto/swcrypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keypair manager, agent;
static uint8_t e_i[32], e_r[32];
static uint8_t real1[2][HS_MAX_MESSAGE], real2[2][HS_MAX_MESSAGE];
static size_t real1_len[2], real2_len[2];

static void new_pair(struct hs *ini, struct hs *resp, int v2);

static void setup(void)
{
    static int done;
    if (done)
        return;
    uint8_t sk[32];
    if (swcrypto_init() != 0)
        abort();
    memset(sk, 0x11, sizeof(sk));
    keypair_from_secret(&manager, sk);
    memset(sk, 0x22, sizeof(sk));
    keypair_from_secret(&agent, sk);
    memset(e_i, 0x33, sizeof(e_i));
    memset(e_r, 0x44, sizeof(e_r));
    /* The genuine messages 1 and 2 of each version under these fixed keys. */
    for (int v2 = 0; v2 < 2; v2++) {
        struct hs ini, resp;
        uint8_t none[HS_MAX_MESSAGE];
        size_t n0;
        new_pair(&ini, &resp, v2);
        if (hs_step(&ini, NULL, 0, real1[v2], sizeof(real1[v2]), &real1_len[v2]) != HS_CONTINUE)
            abort();
        if (v2 &&
            (hs_step(&resp, real1[v2], HS_MSG1_BYTES, none, sizeof(none), &n0) != HS_CONTINUE ||
             n0 != 0))
            abort();
        size_t skip = v2 ? HS_MSG1_BYTES : 0;
        if (hs_step(&resp, real1[v2] + skip, real1_len[v2] - skip, real2[v2], sizeof(real2[v2]),
                    &real2_len[v2]) != HS_CONTINUE)
            abort();
        hs_close(&ini);
        hs_close(&resp);
    }
    done = 1;
}

static void new_pair(struct hs *ini, struct hs *resp, int v2)
{
    hs_initiator_init(ini, &manager, agent.pk);
    if (v2 && hs_use_suites(ini, FRAME_SUITES_KNOWN) != 0)
        abort();
    hs_test_fix_ephemeral(ini, e_i);
    if (hs_responder_init(resp, &agent, (const uint8_t(*)[32])manager.pk, 1) != 0)
        abort();
    hs_test_fix_ephemeral(resp, e_r);
}

/*
 * Feeds the fuzz input to hs. A failure must leave no output and a reason. Messages 1 and 2 are
 * deterministic under the fixed keys, so only the genuine one (real) may pass. Messages 3 and 4
 * may pass too: with both ephemerals fixed every run has the same session keys, so a message 3
 * or 4 recorded from another run (the seeds) replays — which is why ephemerals are random
 * outside tests (test_handshake checks that case). A completed handshake must finish cleanly.
 */
static int is_real(const uint8_t *in, size_t len, const uint8_t (*real)[HS_MAX_MESSAGE],
                   const size_t *real_len, int nreal)
{
    for (int i = 0; i < nreal; i++)
        if (len == real_len[i] && memcmp(in, real[i], len) == 0)
            return 1;
    return 0;
}

static void feed(struct hs *hs, const uint8_t *in, size_t len,
                 const uint8_t (*real)[HS_MAX_MESSAGE], const size_t *real_len, int nreal)
{
    uint8_t out[HS_MAX_MESSAGE];
    size_t n = 99, want = hs_expect(hs), used = 0;
    int rc;
    if (!hs->initiator && want == HS_MSG1_BYTES && len > want) {
        /* The responder's first read: 52 bytes, and one more if they start a version 2 one. */
        rc = hs_step(hs, in, want, out, sizeof(out), &n);
        if (rc == HS_CONTINUE && n == 0 && hs_expect(hs) > 0) {
            used = want;
            want = hs_expect(hs);
            rc = hs_step(hs, in + used, len - used, out, sizeof(out), &n);
        } else if (rc != HS_ERROR) {
            /* A whole version 1 message 1 in the first 52 bytes: it must be the genuine one. */
            if (real != NULL && !is_real(in, want, real, real_len, nreal))
                abort();
            return;
        }
    } else {
        rc = hs_step(hs, in, len, out, sizeof(out), &n);
    }
    if (rc == HS_ERROR) {
        if (n != 0 || hs_error(hs)[0] == '\0' || hs_expect(hs) != 0)
            abort();
        return;
    }
    if (!hs->initiator && rc == HS_CONTINUE && n == 0)
        return; /* the first 52 bytes of a version 2 message 1, nothing accepted yet */
    if (len - used != want)
        abort();
    if (real != NULL && !is_real(in, len, real, real_len, nreal))
        abort(); /* a forged message 1 or 2 was accepted */
    if (rc == HS_DONE) {
        struct frame_cipher fc;
        uint8_t pk[32];
        if (hs_finish(hs, &fc, pk, NULL) != 0)
            abort();
        frame_cipher_close(&fc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    int mode = data[0] & 3, v2 = (data[0] & 4) != 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    struct hs ini, resp;
    uint8_t m[HS_MAX_MESSAGE];
    size_t n;
    new_pair(&ini, &resp, v2);
    switch (mode) {
    case 0:
        feed(&resp, in, len, real1, real1_len, 2); /* the agent accepts either version */
        break;
    case 1:
        feed(&resp, real1[v2], real1_len[v2], NULL, NULL, 0);
        feed(&resp, in, len, NULL, NULL, 0);
        break;
    case 2:
        if (hs_step(&ini, NULL, 0, m, sizeof(m), &n) != HS_CONTINUE)
            abort();
        feed(&ini, in, len, &real2[v2], &real2_len[v2], 1);
        break;
    default:
        if (hs_step(&ini, NULL, 0, m, sizeof(m), &n) != HS_CONTINUE ||
            hs_step(&ini, real2[v2], real2_len[v2], m, sizeof(m), &n) != HS_CONTINUE)
            abort();
        feed(&ini, in, len, NULL, NULL, 0);
        break;
    }
    /* Whatever happened, closing wipes everything and leaves nothing allocated. */
    hs_close(&ini);
    hs_close(&resp);
    return 0;
}
