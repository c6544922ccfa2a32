/*
 * noise — the one Noise pattern swarm speaks: Noise_KK_25519_ChaChaPoly_SHA256 (Noise spec rev 34,
 * noiseprotocol.org/noise.html), built from libsodium 1.0.18 primitives:
 *
 *   DH        X25519 (crypto_scalarmult; an all-zero result, i.e. a low-order peer key, fails)
 *   cipher    ChaCha20-Poly1305 IETF, nonce = 4 zero bytes || little-endian 64-bit counter
 *   hash      SHA-256; HMAC-SHA256 from crypto_auth_hmacsha256 (any key length); HKDF as the
 *             Noise spec defines it (§4.3) — libsodium 1.0.18 has no HKDF
 *
 *   KK:  -> s
 *        <- s
 *        ...
 *        -> e, es, ss
 *        <- e, ee, se
 *
 * This layer is the textbook handshake (prologue, payloads and transport CipherStates as the spec
 * has them) so it can be checked against the published cacophony vectors; the relay's own
 * message framing, versions and stream set-up live in handshake.h. Pure code, no I/O.
 *
 * Ownership: every struct here is caller-owned and holds secrets; finish with noise_kk_wipe() /
 * noise_cipher_wipe(), which zero them with sodium_memzero.
 */
#ifndef SWARM_CRYPTO_NOISE_H
#define SWARM_CRYPTO_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_PROTOCOL_NAME "Noise_KK_25519_ChaChaPoly_SHA256"
#define NOISE_DHLEN 32
#define NOISE_HASHLEN 32
#define NOISE_KEYLEN 32
#define NOISE_TAGLEN 16
#define NOISE_MAX_MESSAGE 65535 /* the spec's bound on any Noise message */

/* HMAC-SHA256 and the Noise HKDF (two or three 32-byte outputs; out3 may be NULL). */
void noise_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *data1,
                       size_t len1, const uint8_t *data2, size_t len2);
void noise_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen, uint8_t out1[32],
                uint8_t out2[32], uint8_t out3[32]);

/* A Noise CipherState: key k and 64-bit nonce counter n. */
struct noise_cipher {
    uint8_t k[NOISE_KEYLEN];
    uint64_t n;
    int has_key;
};

/*
 * EncryptWithAd: out receives ptlen + 16 bytes (ptlen bytes if the cipher has no key yet). Fails
 * (-1) only when the nonce would wrap. DecryptWithAd: out receives ctlen - 16 bytes; -1 when the
 * tag does not verify (out is then not plaintext) or ctlen < 16; the nonce advances only on
 * success, as the spec says.
 */
int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt,
                         size_t ptlen, uint8_t *out);
int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
                         size_t ctlen, uint8_t *out);
void noise_cipher_wipe(struct noise_cipher *c);

enum noise_kk_step {
    NOISE_KK_FAILED = 0, /* wiped: a message failed, or split() ran; unusable */
    NOISE_KK_MSG1,       /* message 1 (-> e, es, ss) is next */
    NOISE_KK_MSG2,       /* message 2 (<- e, ee, se) is next */
    NOISE_KK_DONE,       /* handshake complete: call noise_kk_split */
};

struct noise_kk {
    int initiator;
    enum noise_kk_step step;
    uint8_t ck[NOISE_HASHLEN];
    uint8_t h[NOISE_HASHLEN];
    struct noise_cipher cs;
    uint8_t s_sk[NOISE_DHLEN], s_pk[NOISE_DHLEN]; /* our static keypair */
    uint8_t e_sk[NOISE_DHLEN], e_pk[NOISE_DHLEN]; /* our ephemeral keypair */
    uint8_t rs[NOISE_DHLEN];                      /* the peer's static key, known in advance */
    uint8_t re[NOISE_DHLEN];                      /* the peer's ephemeral key */
    int e_fixed;                                  /* tests only: e_sk set by noise_kk_fix_e */
};

/*
 * Initialize(): protocol name, prologue, then the pre-messages (initiator's static key, then the
 * responder's). s_sk is our static secret key and s_pk its public key, or NULL to derive it; rs
 * is the peer's static public key. Returns 0, or -1 if s_sk gives a zero public key.
 */
int noise_kk_init(struct noise_kk *kk, int initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t s_sk[NOISE_DHLEN], const uint8_t *s_pk,
                  const uint8_t rs[NOISE_DHLEN]);

/*
 * TESTS ONLY: use this ephemeral secret key instead of a random one, so a run can be compared
 * with published vectors. Never call it in the daemon: a repeated ephemeral key gives up forward
 * secrecy and repeats session keys.
 */
void noise_kk_fix_e(struct noise_kk *kk, const uint8_t e_sk[NOISE_DHLEN]);

/*
 * WriteMessage / ReadMessage for the next handshake message. A message is 32 (e) + payload + 16
 * (tag) bytes. write: out must hold 48 + payload_len bytes; *outlen gets the size. read: payload
 * gets msglen - 48 bytes (capacity payload_cap). Any failure (-1) — a bad length, a low-order
 * key, a tag that does not verify, a call out of turn — wipes the state and moves it to
 * NOISE_KK_FAILED.
 */
int noise_kk_write(struct noise_kk *kk, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t outcap, size_t *outlen);
int noise_kk_read(struct noise_kk *kk, const uint8_t *msg, size_t msglen, uint8_t *payload,
                  size_t payload_cap, size_t *payload_len);

/*
 * Split(): once NOISE_KK_DONE, derives the two transport keys — c1 for initiator → responder, c2
 * for responder → initiator — and copies the handshake hash h (channel binding) if h is not NULL.
 * Wipes the handshake state either way. Returns -1 if the handshake is not complete.
 */
int noise_kk_split(struct noise_kk *kk, struct noise_cipher *c1, struct noise_cipher *c2,
                   uint8_t h[NOISE_HASHLEN]);

void noise_kk_wipe(struct noise_kk *kk);

#endif
