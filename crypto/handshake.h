/*
 * handshake — the relay handshake between the manager (initiator) and an agent (responder), as
 * a pure state machine: bytes in, bytes out, no sockets, no clock.
 *
 * Pattern: Noise_KK_25519_ChaChaPoly_SHA256 (noise.h): both sides know the other's static key
 * before they start — the agent from the join token (the manager key), the manager from the
 * agent's gossip metadata (the agent key). Then each direction gets a secretstream (frame.h),
 * started and confirmed inside the handshake:
 *
 *   manager (initiator)                            agent (responder)
 *   msg1  53 52 01 01 | e_I (32) | tag (16)     ->                                       52 B
 *   msg2                                        <-  53 52 01 02 | e_R (32) | tag (16)    52 B
 *   msg3  53 52 01 03 | hdr_IR (24) | conf (17) ->                                       45 B
 *   msg4                                        <-  53 52 01 04 | hdr_RI (24) | conf (17) 45 B
 *   (each message starts with magic "SR", the version 01 and its type 1..4)
 *
 *   msg1/msg2 are Noise KK's two messages with empty payloads (prologue "swarm-relay/1");
 *   Split() gives k_IR and k_RI, the secretstream keys. hdr_* is each stream's header, and
 *   conf an empty secretstream message (tag MESSAGE) with associated data = the message's
 *   4 header bytes || the Noise handshake hash h. The agent answers msg3 only once it verified
 *   it, so it sends nothing keyed to a session until the manager proved it holds the keys.
 *
 * docs/PROTOCOL.md (section 2.4) gives every hash/DH/HKDF step and why this is sound.
 *
 * Use: init, then loop { read exactly hs_expect() bytes (0 to start the initiator); hs_step();
 * send *outlen bytes of out if any } until HS_DONE or HS_ERROR, then hs_finish() to take the
 * frame cipher. Every message has a fixed size, so no length prefix is needed. On HS_ERROR,
 * hs_error() says why in one line (no secrets), the state is wiped, and the caller closes the
 * connection. Ownership: struct hs is caller-owned and holds secrets; hs_close() wipes it
 * (hs_finish does too).
 */
#ifndef SWARM_CRYPTO_HANDSHAKE_H
#define SWARM_CRYPTO_HANDSHAKE_H

#include "crypto/frame.h"
#include "crypto/keypair.h"
#include "crypto/noise.h"

#include <stddef.h>
#include <stdint.h>

#define HS_VERSION 1 /* == proto/proto.h PROTO_WIRE_VERSION; test_handshake checks */
#define HS_HEADER_BYTES 4
#define HS_MSG1_BYTES (HS_HEADER_BYTES + NOISE_DHLEN + NOISE_TAGLEN)               /* 52 */
#define HS_MSG2_BYTES (HS_HEADER_BYTES + NOISE_DHLEN + NOISE_TAGLEN)               /* 52 */
#define HS_MSG3_BYTES (HS_HEADER_BYTES + FRAME_STREAM_HEADER_BYTES + FRAME_ABYTES) /* 45 */
#define HS_MSG4_BYTES HS_MSG3_BYTES                                                /* 45 */
#define HS_MAX_MESSAGE HS_MSG1_BYTES
#define HS_MAX_MANAGERS 4 /* manager keys an agent accepts (a token names one; rotation two) */

enum hs_status {
    HS_ERROR = -1,   /* failed: see hs_error(); close the connection */
    HS_CONTINUE = 0, /* send out (if any), then read hs_expect() bytes */
    HS_DONE = 1,     /* send out (if any); then hs_finish() */
};

enum hs_state {
    HS_FAILED = 0, /* wiped */
    HS_I_START,    /* initiator: write msg1 */
    HS_I_WAIT2,    /* initiator: read msg2, write msg3 */
    HS_I_WAIT4,    /* initiator: read msg4 */
    HS_R_WAIT1,    /* responder: read msg1, write msg2 */
    HS_R_WAIT3,    /* responder: read msg3, write msg4 */
    HS_COMPLETE,   /* both directions confirmed */
};

struct hs {
    enum hs_state state;
    int initiator;
    struct noise_kk kk;
    struct keypair self;
    uint8_t managers[HS_MAX_MANAGERS][NOISE_DHLEN]; /* responder: the allowed initiator keys */
    size_t nmanagers;
    uint8_t peer_pk[NOISE_DHLEN]; /* the peer's static key, authenticated once HS_COMPLETE */
    uint8_t h[NOISE_HASHLEN];     /* Noise handshake hash, after msg2 */
    uint8_t tx_header[FRAME_STREAM_HEADER_BYTES];
    struct frame_cipher fc;
    int e_fixed; /* tests only */
    uint8_t e_sk[NOISE_DHLEN];
    char reason[192];
};

/* The manager's side: self is its static keypair (copied), agent_pk the agent's static key from
 * gossip. */
void hs_initiator_init(struct hs *hs, const struct keypair *self,
                       const uint8_t agent_pk[NOISE_DHLEN]);

/* The agent's side: self is its static keypair (copied), managers the nmanagers (1 ..
 * HS_MAX_MANAGERS) manager keys it accepts. Returns 0, or -1 for a bad count. */
int hs_responder_init(struct hs *hs, const struct keypair *self,
                      const uint8_t (*managers)[NOISE_DHLEN], size_t nmanagers);

/* TESTS ONLY: a fixed ephemeral secret key instead of a random one (see noise_kk_fix_e). */
void hs_test_fix_ephemeral(struct hs *hs, const uint8_t e_sk[NOISE_DHLEN]);

/* Bytes the next hs_step wants: exactly this many (0 to start the initiator, or when finished). */
size_t hs_expect(const struct hs *hs);

/* One step: consumes in[0..inlen) (which must be hs_expect() bytes) and writes the reply, if
 * any, into out (outcap >= HS_MAX_MESSAGE) with its size in *outlen. */
int hs_step(struct hs *hs, const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
            size_t *outlen);

/* Why the handshake failed (or "" if it did not). Points into hs. */
const char *hs_error(const struct hs *hs);

/* After HS_DONE: moves the frame cipher into *fc, copies the peer's authenticated static key
 * (and the handshake hash, if h is not NULL), and wipes hs. -1 if the handshake is not done. */
int hs_finish(struct hs *hs, struct frame_cipher *fc, uint8_t peer_pk[NOISE_DHLEN],
              uint8_t h[NOISE_HASHLEN]);

/* Wipes everything; safe at any point. */
void hs_close(struct hs *hs);

#endif
