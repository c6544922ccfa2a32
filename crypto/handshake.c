/*
 * handshake — the relay handshake state machine (diagram in handshake.h): Noise KK for the keys,
 * then one confirmation message per direction that starts that direction's secretstream.
 */
#include "crypto/handshake.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAGIC0 0x53 /* 'S' */
#define MAGIC1 0x52 /* 'R' */

_Static_assert(HS_MSG1_BYTES == 52 && HS_MSG3_BYTES == 45, "message sizes");

static int hs_fail(struct hs *hs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int hs_fail(struct hs *hs, const char *fmt, ...)
{
    char reason[sizeof(hs->reason)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    hs_close(hs); /* state becomes HS_FAILED */
    memcpy(hs->reason, reason, sizeof(reason));
    return HS_ERROR;
}

static void prologue(uint8_t *out, size_t *len)
{
    int n = snprintf((char *)out, 32, "swarm-relay/%d", HS_VERSION);
    *len = (size_t)n;
}

static void put_header(uint8_t *out, int type)
{
    out[0] = MAGIC0;
    out[1] = MAGIC1;
    out[2] = HS_VERSION;
    out[3] = (uint8_t)type;
}

/* Checks length, magic, version and type of handshake message `type`. */
static int check_header(struct hs *hs, const uint8_t *in, size_t inlen, int type, size_t want)
{
    if (inlen != want)
        return hs_fail(hs, "message %d: wrong length %zu (want %zu)", type, inlen, want);
    if (in[0] != MAGIC0 || in[1] != MAGIC1)
        return hs_fail(hs, "message %d: not a swarm relay handshake (magic %02x%02x)", type, in[0],
                       in[1]);
    if (in[2] != HS_VERSION)
        return hs_fail(hs, "message %d: unsupported protocol version %u (this swarm speaks %d)",
                       type, (unsigned)in[2], HS_VERSION);
    if (in[3] != type)
        return hs_fail(hs, "message %d: unexpected message type %u", type, (unsigned)in[3]);
    return 0;
}

static void init_common(struct hs *hs, const struct keypair *self)
{
    memset(hs, 0, sizeof(*hs));
    hs->self = *self;
}

void hs_initiator_init(struct hs *hs, const struct keypair *self,
                       const uint8_t agent_pk[NOISE_DHLEN])
{
    init_common(hs, self);
    hs->initiator = 1;
    memcpy(hs->peer_pk, agent_pk, NOISE_DHLEN);
    hs->state = HS_I_START;
}

int hs_responder_init(struct hs *hs, const struct keypair *self,
                      const uint8_t (*managers)[NOISE_DHLEN], size_t nmanagers)
{
    init_common(hs, self);
    if (nmanagers == 0 || nmanagers > HS_MAX_MANAGERS) {
        hs_fail(hs, "between 1 and %d manager keys are needed, not %zu", HS_MAX_MANAGERS,
                nmanagers);
        return -1;
    }
    memcpy(hs->managers, managers, nmanagers * NOISE_DHLEN);
    hs->nmanagers = nmanagers;
    hs->state = HS_R_WAIT1;
    return 0;
}

void hs_test_fix_ephemeral(struct hs *hs, const uint8_t e_sk[NOISE_DHLEN])
{
    memcpy(hs->e_sk, e_sk, NOISE_DHLEN);
    hs->e_fixed = 1;
}

size_t hs_expect(const struct hs *hs)
{
    switch (hs->state) {
    case HS_I_WAIT2:
        return HS_MSG2_BYTES;
    case HS_I_WAIT4:
        return HS_MSG4_BYTES;
    case HS_R_WAIT1:
        return HS_MSG1_BYTES;
    case HS_R_WAIT3:
        return HS_MSG3_BYTES;
    default:
        return 0;
    }
}

/* Starts our stream: Split() gives (k_IR, k_RI); ours is the one we send with. */
static void start_streams(struct hs *hs, const struct noise_cipher *c1,
                          const struct noise_cipher *c2)
{
    const uint8_t *tx = hs->initiator ? c1->k : c2->k;
    const uint8_t *rx = hs->initiator ? c2->k : c1->k;
    frame_cipher_init(&hs->fc, tx, rx, hs->tx_header);
}

static int split(struct hs *hs)
{
    struct noise_cipher c1, c2;
    if (noise_kk_split(&hs->kk, &c1, &c2, hs->h) != 0)
        return -1;
    start_streams(hs, &c1, &c2);
    noise_cipher_wipe(&c1);
    noise_cipher_wipe(&c2);
    return 0;
}

/* msg3 / msg4: header | our stream header | empty confirmation pushed with AD = header || h. */
static void write_confirm(struct hs *hs, int type, uint8_t *out)
{
    uint8_t ad[HS_HEADER_BYTES + NOISE_HASHLEN];
    put_header(out, type);
    memcpy(ad, out, HS_HEADER_BYTES);
    memcpy(ad + HS_HEADER_BYTES, hs->h, NOISE_HASHLEN);
    memcpy(out + HS_HEADER_BYTES, hs->tx_header, FRAME_STREAM_HEADER_BYTES);
    crypto_secretstream_xchacha20poly1305_push(
        &hs->fc.tx, out + HS_HEADER_BYTES + FRAME_STREAM_HEADER_BYTES, NULL, NULL, 0, ad,
        sizeof(ad), crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

static int read_confirm(struct hs *hs, const uint8_t *in)
{
    uint8_t ad[HS_HEADER_BYTES + NOISE_HASHLEN];
    memcpy(ad, in, HS_HEADER_BYTES);
    memcpy(ad + HS_HEADER_BYTES, hs->h, NOISE_HASHLEN);
    if (frame_cipher_start_rx(&hs->fc, in + HS_HEADER_BYTES) != 0)
        return -1;
    uint8_t empty[1];
    unsigned long long mlen;
    unsigned char tag;
    if (crypto_secretstream_xchacha20poly1305_pull(&hs->fc.rx, empty, &mlen, &tag,
                                                   in + HS_HEADER_BYTES + FRAME_STREAM_HEADER_BYTES,
                                                   FRAME_ABYTES, ad, sizeof(ad)) != 0)
        return -1;
    return mlen == 0 && tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ? 0 : -1;
}

static int noise_start(struct hs *hs, int initiator, const uint8_t rs[NOISE_DHLEN])
{
    uint8_t pro[32];
    size_t prolen;
    prologue(pro, &prolen);
    if (noise_kk_init(&hs->kk, initiator, pro, prolen, hs->self.sk, hs->self.pk, rs) != 0)
        return -1;
    if (hs->e_fixed)
        noise_kk_fix_e(&hs->kk, hs->e_sk);
    return 0;
}

static int initiator_start(struct hs *hs, size_t inlen, uint8_t *out, size_t *outlen)
{
    if (inlen != 0)
        return hs_fail(hs, "the initiator starts with no input");
    size_t n;
    put_header(out, 1);
    if (noise_start(hs, 1, hs->peer_pk) != 0 ||
        noise_kk_write(&hs->kk, NULL, 0, out + HS_HEADER_BYTES, HS_MSG1_BYTES - HS_HEADER_BYTES,
                       &n) != 0)
        return hs_fail(hs, "message 1: unusable keys (our key or the agent's key is invalid)");
    *outlen = HS_MSG1_BYTES;
    hs->state = HS_I_WAIT2;
    return HS_CONTINUE;
}

static int responder_read1(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    if (check_header(hs, in, inlen, 1, HS_MSG1_BYTES) != 0)
        return HS_ERROR;
    /* KK needs the initiator's static key before message 1: try each allowed manager key. Only
     * the right one makes ss — hence the tag — come out right. */
    size_t i;
    for (i = 0; i < hs->nmanagers; i++) {
        uint8_t none[1];
        size_t plen;
        if (noise_start(hs, 0, hs->managers[i]) == 0 &&
            noise_kk_read(&hs->kk, in + HS_HEADER_BYTES, inlen - HS_HEADER_BYTES, none, 0, &plen) ==
                0)
            break;
        noise_kk_wipe(&hs->kk);
    }
    if (i == hs->nmanagers)
        return hs_fail(hs, "message 1 does not authenticate: the initiator is not an allowed "
                           "manager, or it expects another key for this agent");
    memcpy(hs->peer_pk, hs->managers[i], NOISE_DHLEN);

    size_t n;
    put_header(out, 2);
    if (noise_kk_write(&hs->kk, NULL, 0, out + HS_HEADER_BYTES, HS_MSG2_BYTES - HS_HEADER_BYTES,
                       &n) != 0 ||
        split(hs) != 0)
        return hs_fail(hs, "message 2: cannot write it (bad ephemeral key)");
    *outlen = HS_MSG2_BYTES;
    hs->state = HS_R_WAIT3;
    return HS_CONTINUE;
}

static int initiator_read2(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    if (check_header(hs, in, inlen, 2, HS_MSG2_BYTES) != 0)
        return HS_ERROR;
    uint8_t none[1];
    size_t plen;
    if (noise_kk_read(&hs->kk, in + HS_HEADER_BYTES, inlen - HS_HEADER_BYTES, none, 0, &plen) !=
            0 ||
        split(hs) != 0)
        return hs_fail(hs, "message 2 does not authenticate: the agent does not hold the key "
                           "the manager expects, or the message was tampered with");
    write_confirm(hs, 3, out);
    *outlen = HS_MSG3_BYTES;
    hs->state = HS_I_WAIT4;
    return HS_CONTINUE;
}

static int responder_read3(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    if (check_header(hs, in, inlen, 3, HS_MSG3_BYTES) != 0)
        return HS_ERROR;
    if (read_confirm(hs, in) != 0)
        return hs_fail(hs, "message 3 (key confirmation) failed: tampered with, or message 1 "
                           "was replayed by someone without the manager's keys");
    write_confirm(hs, 4, out);
    *outlen = HS_MSG4_BYTES;
    hs->state = HS_COMPLETE;
    return HS_DONE;
}

static int initiator_read4(struct hs *hs, const uint8_t *in, size_t inlen)
{
    if (check_header(hs, in, inlen, 4, HS_MSG4_BYTES) != 0)
        return HS_ERROR;
    if (read_confirm(hs, in) != 0)
        return hs_fail(hs, "message 4 (key confirmation) failed: tampered with");
    hs->state = HS_COMPLETE;
    return HS_DONE;
}

int hs_step(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
            size_t *outlen)
{
    *outlen = 0;
    if (hs->state == HS_FAILED) {
        if (hs->reason[0] == '\0')
            snprintf(hs->reason, sizeof(hs->reason), "handshake not started or already wiped");
        return HS_ERROR;
    }
    if (hs->state == HS_COMPLETE)
        return hs_fail(hs, "handshake already complete; call hs_finish");
    if (outcap < HS_MAX_MESSAGE)
        return hs_fail(hs, "output buffer too small (%zu bytes, need %d)", outcap, HS_MAX_MESSAGE);
    switch (hs->state) {
    case HS_I_START:
        return initiator_start(hs, inlen, out, outlen);
    case HS_I_WAIT2:
        return initiator_read2(hs, in, inlen, out, outlen);
    case HS_I_WAIT4:
        return initiator_read4(hs, in, inlen);
    case HS_R_WAIT1:
        return responder_read1(hs, in, inlen, out, outlen);
    case HS_R_WAIT3:
        return responder_read3(hs, in, inlen, out, outlen);
    default:
        return hs_fail(hs, "bad handshake state");
    }
}

const char *hs_error(const struct hs *hs)
{
    return hs->reason;
}

int hs_finish(struct hs *hs, struct frame_cipher *fc, uint8_t peer_pk[NOISE_DHLEN],
              uint8_t h[NOISE_HASHLEN])
{
    if (hs->state != HS_COMPLETE)
        return -1;
    *fc = hs->fc;
    memcpy(peer_pk, hs->peer_pk, NOISE_DHLEN);
    if (h != NULL)
        memcpy(h, hs->h, NOISE_HASHLEN);
    hs_close(hs);
    return 0;
}

void hs_close(struct hs *hs)
{
    sodium_memzero(hs, sizeof(*hs));
}
