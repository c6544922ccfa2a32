/*
 * seal — the sealed datagram envelope that carries every gossip datagram and LAN beacon.
 *
 *    0       2       3        4                          28
 *   +-------+-------+--------+--------------------------+-------------------------------+
 *   | magic |version| key id |  nonce (24, random)      | ciphertext (n) | tag (16)     |
 *   +-------+-------+--------+--------------------------+-------------------------------+
 *   \________ header (28 bytes): the AEAD's associated data ______/
 *
 *   magic    "SG" (0x53 0x47) gossip datagram, "SB" (0x53 0x42) beacon
 *   version  SEAL_VERSION (1): the wire protocol version, equal to proto/proto.h's
 *            PROTO_WIRE_VERSION (tests/unit/test_seal.c checks; crypto does not link proto)
 *   key id   the keyring id of the key that sealed it (the sender's primary)
 *   AEAD     XChaCha20-Poly1305-IETF (crypto_aead_xchacha20poly1305_ietf), key = the cluster key
 *            named by key id, nonce = bytes 4..28, AD = bytes 0..28, plaintext = proto's msgpack
 *
 * The magic sits in the associated data, so a beacon can never be replayed as a gossip datagram
 * (or the reverse): changing "SB" to "SG" breaks the tag. Overhead 44 bytes; a sealed datagram
 * is at most SEAL_MAX_DATAGRAM (1,400) bytes, so a plaintext at most 1,356.
 *
 * Opening is total: any byte string either opens or yields one distinct negative code, checked
 * in this order: too long, too short for a header, not swarm's magic, the other kind's magic,
 * unsupported version, too short for a tag, output buffer too small, unknown key id, forged.
 * On failure *outlen is 0 and out holds no plaintext (it is untouched, or zeroed by libsodium
 * when the tag fails); callers must not read it.
 */
#ifndef SWARM_CRYPTO_SEAL_H
#define SWARM_CRYPTO_SEAL_H

#include "crypto/keyring.h"

#include <stddef.h>
#include <stdint.h>

#define SEAL_VERSION 1
#define SEAL_HEADER_BYTES 28
#define SEAL_NONCE_BYTES 24
#define SEAL_TAG_BYTES 16
#define SEAL_OVERHEAD (SEAL_HEADER_BYTES + SEAL_TAG_BYTES) /* 44 */
#define SEAL_MAX_DATAGRAM 1400
#define SEAL_MAX_PLAINTEXT (SEAL_MAX_DATAGRAM - SEAL_OVERHEAD) /* 1356 */

enum seal_kind {
    SEAL_GOSSIP = 0, /* magic "SG" */
    SEAL_BEACON = 1, /* magic "SB" */
};

enum seal_error {
    SEAL_OK = 0,
    SEAL_ERR_LONG = -1,       /* datagram > SEAL_MAX_DATAGRAM, or plaintext > SEAL_MAX_PLAINTEXT */
    SEAL_ERR_SHORT = -2,      /* shorter than header + tag */
    SEAL_ERR_MAGIC = -3,      /* not a swarm datagram */
    SEAL_ERR_KIND = -4,       /* a swarm datagram of the other kind (beacon vs gossip) */
    SEAL_ERR_VERSION = -5,    /* unsupported protocol version */
    SEAL_ERR_BUFFER = -6,     /* the caller's output buffer is too small */
    SEAL_ERR_KEY_ID = -7,     /* no key with that id in the keyring */
    SEAL_ERR_FORGED = -8,     /* the tag does not verify: forged, corrupted or wrong key */
    SEAL_ERR_NO_PRIMARY = -9, /* seal: the keyring is empty */
};

/* Seals pt with the keyring's primary and a random nonce into out (ptlen + 44 bytes). Returns 0
 * and sets *outlen, or SEAL_ERR_LONG / SEAL_ERR_BUFFER / SEAL_ERR_NO_PRIMARY. out must not
 * overlap pt. */
int seal_datagram(const struct keyring *kr, enum seal_kind kind, const uint8_t *pt, size_t ptlen,
                  uint8_t *out, size_t outcap, size_t *outlen);

/* As seal_datagram with a caller-chosen nonce: for known-answer tests and fuzz seeds only. A
 * nonce reused under one key loses confidentiality and authenticity. */
int seal_datagram_with_nonce(const struct keyring *kr, enum seal_kind kind, const uint8_t *pt,
                             size_t ptlen, const uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *out,
                             size_t outcap, size_t *outlen);

/*
 * Opens a datagram of the given kind into out (inlen - 44 bytes). Returns 0 and sets *outlen,
 * and *key_id (may be NULL) to the key that opened it; or a negative seal_error with a one-line
 * reason in err (may be NULL), e.g. "unsupported protocol version 2". out must not overlap in.
 */
int seal_open(const struct keyring *kr, enum seal_kind kind, const uint8_t *in, size_t inlen,
              uint8_t *out, size_t outcap, size_t *outlen, uint8_t *key_id, char *err,
              size_t errlen);

/* A short constant name for a seal_error, e.g. "forged" — for counters and log keys. */
const char *seal_strerror(int code);

#endif
