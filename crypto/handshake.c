/*
 * handshake — the relay handshake state machine (diagram in handshake.h): Noise KK for the keys
 * (and, in version 2, the frame suite), then one confirmation message per direction that starts
 * that direction's frame cipher.
 */
#include "crypto/handshake.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAGIC0 0x53 /* 'S' */
#define MAGIC1 0x52 /* 'R' */

_Static_assert(HS_MSG1_BYTES == 52 && HS_MSG3_BYTES == 45 && HS_MSG1_V2_BYTES == 53 &&
                   HS_MSG3_GCM_BYTES == 20,
               "message sizes");

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

static void prologue(int version, uint8_t *out, size_t *len)
{
    int n = snprintf((char *)out, 32, "swarm-relay/%d", version);
    *len = (size_t)n;
}

static void put_header(const struct hs *hs, uint8_t *out, int type)
{
    out[0] = MAGIC0;
    out[1] = MAGIC1;
    out[2] = (uint8_t)hs->version;
    out[3] = (uint8_t)type;
}

/* Checks length, magic, version and type of handshake message `type`. Message 1 may be of
 * either version (it sets hs->version); later ones must be of the version message 1 had. */
static int check_header(struct hs *hs, const uint8_t *in, size_t inlen, int type, size_t want)
{
    if (inlen != want)
        return hs_fail(hs, "message %d: wrong length %zu (want %zu)", type, inlen, want);
    if (in[0] != MAGIC0 || in[1] != MAGIC1)
        return hs_fail(hs, "message %d: not a swarm relay handshake (magic %02x%02x)", type, in[0],
                       in[1]);
    if (type == 1 && !hs->initiator && (in[2] == HS_VERSION || in[2] == HS_VERSION_SUITES))
        hs->version = in[2];
    else if (type == 1 && !hs->initiator)
        return hs_fail(hs,
                       "message 1: unsupported protocol version %u (this swarm speaks %d and %d)",
                       (unsigned)in[2], HS_VERSION, HS_VERSION_SUITES);
    else if (in[2] != hs->version)
        return hs_fail(hs,
                       "message %d: unsupported protocol version %u (this handshake is version %d)",
                       type, (unsigned)in[2], hs->version);
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
    hs->version = HS_VERSION;
    hs->suites = FRAME_SUITE_SECRETSTREAM;
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
    hs->version = HS_VERSION;
    hs->suites = frame_suites_usable(NULL);
    hs->state = HS_R_WAIT1;
    return 0;
}

int hs_use_suites(struct hs *hs, unsigned suites)
{
    suites &= FRAME_SUITES_KNOWN;
    if (suites == 0 || (hs->state != HS_I_START && hs->state != HS_R_WAIT1))
        return -1;
    hs->suites = suites;
    if (hs->initiator)
        hs->version = HS_VERSION_SUITES;
    return 0;
}

unsigned hs_suite(const struct hs *hs)
{
    return hs->suite;
}

/* Message 3 or 4 for the chosen suite: header, the stream header if the suite has one, and the
 * confirmation. */
static size_t confirm_bytes(const struct hs *hs)
{
    return HS_HEADER_BYTES + frame_suite_header_bytes(hs->suite) +
           frame_suite_confirm_bytes(hs->suite);
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
        return hs->version == HS_VERSION_SUITES ? HS_MSG2_V2_BYTES : HS_MSG2_BYTES;
    case HS_I_WAIT4:
    case HS_R_WAIT3:
        return confirm_bytes(hs);
    case HS_R_WAIT1:
        return HS_MSG1_BYTES;
    case HS_R_WAIT1_V2:
        return HS_MSG1_V2_BYTES - HS_MSG1_BYTES;
    default:
        return 0;
    }
}

/* Starts our direction and keeps the peer's key: Split() gives (k_IR, k_RI); ours is the one we
 * send with. */
static int split(struct hs *hs)
{
    struct noise_cipher c1, c2;
    if (noise_kk_split(&hs->kk, &c1, &c2, hs->h) != 0)
        return -1;
    const uint8_t *tx = hs->initiator ? c1.k : c2.k;
    const uint8_t *rx = hs->initiator ? c2.k : c1.k;
    int rc = frame_cipher_init_suite(&hs->fc, hs->suite, tx, rx, hs->tx_header);
    noise_cipher_wipe(&c1);
    noise_cipher_wipe(&c2);
    return rc;
}

/* msg3 / msg4: header | our stream header (if any) | empty confirmation with AD = header || h. */
static void write_confirm(struct hs *hs, int type, uint8_t *out)
{
    uint8_t ad[HS_HEADER_BYTES + NOISE_HASHLEN];
    size_t hdr = frame_suite_header_bytes(hs->suite);
    put_header(hs, out, type);
    memcpy(ad, out, HS_HEADER_BYTES);
    memcpy(ad + HS_HEADER_BYTES, hs->h, NOISE_HASHLEN);
    memcpy(out + HS_HEADER_BYTES, hs->tx_header, hdr);
    frame_confirm_seal(&hs->fc, ad, sizeof(ad), out + HS_HEADER_BYTES + hdr);
}

static int read_confirm(struct hs *hs, const uint8_t *in)
{
    uint8_t ad[HS_HEADER_BYTES + NOISE_HASHLEN];
    size_t hdr = frame_suite_header_bytes(hs->suite);
    memcpy(ad, in, HS_HEADER_BYTES);
    memcpy(ad + HS_HEADER_BYTES, hs->h, NOISE_HASHLEN);
    if (frame_cipher_start_rx(&hs->fc, hdr ? in + HS_HEADER_BYTES : NULL) != 0)
        return -1;
    return frame_confirm_open(&hs->fc, in + HS_HEADER_BYTES + hdr, ad, sizeof(ad));
}

static int noise_start(struct hs *hs, int initiator, const uint8_t rs[NOISE_DHLEN])
{
    uint8_t pro[32];
    size_t prolen;
    prologue(hs->version, pro, &prolen);
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
    size_t n, len = hs->version == HS_VERSION_SUITES ? HS_MSG1_V2_BYTES : HS_MSG1_BYTES;
    uint8_t offer = (uint8_t)hs->suites;
    put_header(hs, out, 1);
    if (noise_start(hs, 1, hs->peer_pk) != 0 ||
        noise_kk_write(&hs->kk, &offer, len - HS_MSG1_BYTES, out + HS_HEADER_BYTES,
                       len - HS_HEADER_BYTES, &n) != 0)
        return hs_fail(hs, "message 1: unusable keys (our key or the agent's key is invalid)");
    *outlen = len;
    hs->state = HS_I_WAIT2;
    return HS_CONTINUE;
}

/* Version 2: the agent's pick from the offer, AES-256-GCM first. 0 if nothing is in common. */
static unsigned choose_suite(unsigned offer, unsigned accepted)
{
    unsigned both = offer & accepted;
    if ((both & FRAME_SUITE_AES256GCM) && frame_suites_usable(NULL) & FRAME_SUITE_AES256GCM)
        return FRAME_SUITE_AES256GCM;
    if (both & FRAME_SUITE_SECRETSTREAM)
        return FRAME_SUITE_SECRETSTREAM;
    return 0;
}

/* A whole message 1 (52 bytes, or 53 in version 2) whose header was checked. */
static int responder_msg1(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                          size_t *outlen)
{
    /* KK needs the initiator's static key before message 1: try each allowed manager key. Only
     * the right one makes ss — hence the tag — come out right. */
    uint8_t offer[1] = {0};
    size_t plen = 0, i;
    for (i = 0; i < hs->nmanagers; i++) {
        if (noise_start(hs, 0, hs->managers[i]) == 0 &&
            noise_kk_read(&hs->kk, in + HS_HEADER_BYTES, inlen - HS_HEADER_BYTES, offer,
                          sizeof(offer), &plen) == 0)
            break;
        noise_kk_wipe(&hs->kk);
    }
    if (i == hs->nmanagers)
        return hs_fail(hs, "message 1 does not authenticate: the initiator is not an allowed "
                           "manager, or it expects another key for this agent");
    memcpy(hs->peer_pk, hs->managers[i], NOISE_DHLEN);
    hs->suite = FRAME_SUITE_SECRETSTREAM;
    if (hs->version == HS_VERSION_SUITES) {
        hs->suite = choose_suite(offer[0], hs->suites);
        if (hs->suite == 0)
            return hs_fail(hs,
                           "message 1: no frame cipher in common (the manager offers 0x%02x, "
                           "this agent accepts 0x%02x)",
                           (unsigned)offer[0], hs->suites);
    }

    size_t n, len = hs->version == HS_VERSION_SUITES ? HS_MSG2_V2_BYTES : HS_MSG2_BYTES;
    uint8_t choice = (uint8_t)hs->suite;
    put_header(hs, out, 2);
    if (noise_kk_write(&hs->kk, &choice, len - HS_MSG2_BYTES, out + HS_HEADER_BYTES,
                       len - HS_HEADER_BYTES, &n) != 0 ||
        split(hs) != 0)
        return hs_fail(hs, "message 2: cannot write it (bad ephemeral key)");
    *outlen = len;
    hs->state = HS_R_WAIT3;
    return HS_CONTINUE;
}

static int responder_read1(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    if (check_header(hs, in, inlen, 1, HS_MSG1_BYTES) != 0)
        return HS_ERROR;
    if (hs->version == HS_VERSION)
        return responder_msg1(hs, in, inlen, out, outlen);
    /* Version 2: one more byte to come. */
    memcpy(hs->m1, in, HS_MSG1_BYTES);
    hs->state = HS_R_WAIT1_V2;
    return HS_CONTINUE;
}

static int responder_read1_v2(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                              size_t *outlen)
{
    if (inlen != HS_MSG1_V2_BYTES - HS_MSG1_BYTES)
        return hs_fail(hs, "message 1: wrong length %zu (want %d)", HS_MSG1_BYTES + inlen,
                       HS_MSG1_V2_BYTES);
    memcpy(hs->m1 + HS_MSG1_BYTES, in, inlen);
    return responder_msg1(hs, hs->m1, HS_MSG1_V2_BYTES, out, outlen);
}

static int initiator_read2(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    int v2 = hs->version == HS_VERSION_SUITES;
    if (check_header(hs, in, inlen, 2, v2 ? HS_MSG2_V2_BYTES : HS_MSG2_BYTES) != 0)
        return HS_ERROR;
    uint8_t choice[1] = {0};
    size_t plen;
    if (noise_kk_read(&hs->kk, in + HS_HEADER_BYTES, inlen - HS_HEADER_BYTES, choice,
                      sizeof(choice), &plen) != 0)
        return hs_fail(hs, "message 2 does not authenticate: the agent does not hold the key "
                           "the manager expects, or the message was tampered with");
    hs->suite = v2 ? choice[0] : FRAME_SUITE_SECRETSTREAM;
    if (v2 && ((hs->suite & (hs->suite - 1)) != 0 || (hs->suite & hs->suites) == 0))
        return hs_fail(hs,
                       "message 2: the agent chose frame cipher 0x%02x, not one of the "
                       "offered 0x%02x",
                       (unsigned)choice[0], hs->suites);
    if (split(hs) != 0)
        return hs_fail(hs, "message 2: cannot start frame cipher %s", frame_suite_name(hs->suite));
    write_confirm(hs, 3, out);
    *outlen = confirm_bytes(hs);
    hs->state = HS_I_WAIT4;
    return HS_CONTINUE;
}

static int responder_read3(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t *outlen)
{
    if (check_header(hs, in, inlen, 3, confirm_bytes(hs)) != 0)
        return HS_ERROR;
    if (read_confirm(hs, in) != 0)
        return hs_fail(hs, "message 3 (key confirmation) failed: tampered with, or message 1 "
                           "was replayed by someone without the manager's keys");
    write_confirm(hs, 4, out);
    *outlen = confirm_bytes(hs);
    hs->state = HS_COMPLETE;
    return HS_DONE;
}

static int initiator_read4(struct hs *hs, const uint8_t *in, size_t inlen)
{
    if (check_header(hs, in, inlen, 4, confirm_bytes(hs)) != 0)
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
    case HS_R_WAIT1_V2:
        return responder_read1_v2(hs, in, inlen, out, outlen);
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
