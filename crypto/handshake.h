/*
 * handshake — the relay handshake between the manager (initiator) and an agent (responder), as
 * a pure state machine: bytes in, bytes out, no sockets, no clock.
 *
 * Pattern: Noise_KK_25519_ChaChaPoly_SHA256 (noise.h): both sides know the other's static key
 * before they start — the agent from the join token (the manager key), the manager from the
 * agent's gossip metadata (the agent key). Then each direction gets a frame cipher (frame.h),
 * started and confirmed inside the handshake. Version 1 (what every swarm speaks) always uses
 * secretstream:
 *
 *   manager (initiator)                            agent (responder)
 *   msg1  53 52 01 01 | e_I (32) | tag (16)     ->                                       52 B
 *   msg2                                        <-  53 52 01 02 | e_R (32) | tag (16)    52 B
 *   msg3  53 52 01 03 | hdr_IR (24) | conf (17) ->                                       45 B
 *   msg4                                        <-  53 52 01 04 | hdr_RI (24) | conf (17) 45 B
 *   (each message starts with magic "SR", the version and its type 1..4)
 *
 *   msg1/msg2 are Noise KK's two messages with empty payloads (prologue "swarm-relay/1");
 *   Split() gives k_IR and k_RI, the frame keys. hdr_* is each stream's header, and conf an
 *   empty message of that direction (message 0) with associated data = the message's 4 header
 *   bytes || the Noise handshake hash h. The agent answers msg3 only once it verified it, so it
 *   sends nothing keyed to a session until the manager proved it holds the keys.
 *
 * Version 2 negotiates the frame suite, inside the Noise payloads (encrypted, and bound into h,
 * so nobody can change the offer or the choice without failing the handshake):
 *
 *   msg1  53 52 02 01 | e_I (32) | Enc(offer: 1 byte of FRAME_SUITE_* bits) (17)   53 B
 *   msg2  53 52 02 02 | e_R (32) | Enc(choice: 1 byte, one bit of the offer) (17)   53 B
 *   msg3  53 52 02 03 | [hdr_IR (24)] | conf (17, or 16 for AES-256-GCM)        45 or 20 B
 *   msg4  53 52 02 04 | [hdr_RI (24)] | conf                                    45 or 20 B
 *
 *   prologue "swarm-relay/2"; the agent picks AES-256-GCM when both offer and accept it, else
 *   secretstream. The manager speaks version 2 only to agents that say they accept it (gossip
 *   metadata); an agent accepts both, reading 52 bytes and, if their version byte says 2, one more.
 *
 * docs/PROTOCOL.md (section 2.4) gives every hash/DH/HKDF step and why this is sound.
 *
 * Use: init, then loop { read exactly hs_expect() bytes (0 to start the initiator); hs_step();
 * send *outlen bytes of out if any } until HS_DONE or HS_ERROR, then hs_finish() to take the
 * frame cipher. Every message's size is fixed by what came before it (the version, the chosen
 * suite), so no length prefix is needed; a step may consume bytes and send nothing. On HS_ERROR,
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

#define HS_VERSION 1        /* == proto/proto.h PROTO_WIRE_VERSION; test_handshake checks */
#define HS_VERSION_SUITES 2 /* the handshake that negotiates the frame suite */
#define HS_HEADER_BYTES 4
#define HS_MSG1_BYTES (HS_HEADER_BYTES + NOISE_DHLEN + NOISE_TAGLEN)               /* 52 */
#define HS_MSG2_BYTES (HS_HEADER_BYTES + NOISE_DHLEN + NOISE_TAGLEN)               /* 52 */
#define HS_MSG3_BYTES (HS_HEADER_BYTES + FRAME_STREAM_HEADER_BYTES + FRAME_ABYTES) /* 45 */
#define HS_MSG4_BYTES HS_MSG3_BYTES                                                /* 45 */
#define HS_MSG1_V2_BYTES (HS_MSG1_BYTES + 1)                                       /* 53 */
#define HS_MSG2_V2_BYTES (HS_MSG2_BYTES + 1)                                       /* 53 */
#define HS_MSG3_GCM_BYTES (HS_HEADER_BYTES + 16)                                   /* 20 */
#define HS_MAX_MESSAGE HS_MSG1_V2_BYTES
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
    HS_R_WAIT1,    /* responder: read msg1 (its first 52 bytes), write msg2 */
    HS_R_WAIT1_V2, /* responder: read the last byte of a version 2 msg1, write msg2 */
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
    int version;                  /* HS_VERSION or HS_VERSION_SUITES */
    unsigned suites; /* initiator: the offer (version 2); responder: the suites it accepts */
    unsigned suite;  /* the chosen suite, after msg2 */
    uint8_t m1[HS_MSG1_V2_BYTES]; /* responder: a version 2 msg1 while it arrives */
    uint8_t tx_header[FRAME_STREAM_HEADER_BYTES];
    struct frame_cipher fc;
    int e_fixed; /* tests only */
    uint8_t e_sk[NOISE_DHLEN];
    char reason[192];
};

/* The manager's side: self is its static keypair (copied), agent_pk the agent's static key from
 * gossip. Speaks version 1 (secretstream) unless hs_use_suites() follows. */
void hs_initiator_init(struct hs *hs, const struct keypair *self,
                       const uint8_t agent_pk[NOISE_DHLEN]);

/* The agent's side: self is its static keypair (copied), managers the nmanagers (1 ..
 * HS_MAX_MANAGERS) manager keys it accepts. Accepts version 1 and 2; in version 2 it picks from
 * the suites frame_suites_usable(NULL) gives unless hs_use_suites() narrows them. Returns 0, or
 * -1 for a bad count. */
int hs_responder_init(struct hs *hs, const struct keypair *self,
                      const uint8_t (*managers)[NOISE_DHLEN], size_t nmanagers);

/* Right after init. Initiator: speak version 2 and offer these FRAME_SUITE_* bits. Responder:
 * choose only among these. Unknown bits are dropped; -1 (nothing changed) if none is left. */
int hs_use_suites(struct hs *hs, unsigned suites);

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

/* The suite the handshake chose (FRAME_SUITE_*), once message 2 went through; 0 before. */
unsigned hs_suite(const struct hs *hs);

/* After HS_DONE: moves the frame cipher into *fc, copies the peer's authenticated static key
 * (and the handshake hash, if h is not NULL), and wipes hs. -1 if the handshake is not done. */
int hs_finish(struct hs *hs, struct frame_cipher *fc, uint8_t peer_pk[NOISE_DHLEN],
              uint8_t h[NOISE_HASHLEN]);

/* Wipes everything; safe at any point. */
void hs_close(struct hs *hs);

#endif
