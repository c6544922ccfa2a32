/*
 * swcrypto — set-up of the crypto module (libsodium 1.0.18) and its map. Pure code but for the
 * key files; names avoid libsodium's crypto_ prefix. docs/PROTOCOL.md (section 2) gives every
 * format.
 *
 *   crypto/keyring.h    cluster keys: up to 8, one primary; install / use / remove
 *   crypto/seal.h       the sealed datagram envelope (gossip datagrams, beacons)
 *   crypto/seal_sync.h  the same envelope for push-pull payloads over TCP (magic "SS")
 *   crypto/keypair.h    X25519 static keypairs (manager, agent)
 *   crypto/keyfile.h    key files in the state dir: text formats, atomic write, checked read
 *   crypto/token.h      the join token (SWARM1-...)
 *   crypto/noise.h      Noise_KK_25519_ChaChaPoly_SHA256, HMAC/HKDF-SHA256
 *   crypto/handshake.h  the relay handshake state machine (manager <-> agent)
 *   crypto/frame.h      relay frames over crypto_secretstream_xchacha20poly1305
 */
#ifndef SWARM_CRYPTO_SWCRYPTO_H
#define SWARM_CRYPTO_SWCRYPTO_H

#include <stddef.h>

/* Initialises libsodium; call once before any other crypto function. Returns 0 or -1. Safe to
 * call more than once. */
int swcrypto_init(void);

/* Version of the libsodium library linked at run time, e.g. "1.0.18". */
const char *swcrypto_sodium_version(void);

/* For the crypto module's own use: formats an error message into a caller's buffer (err may be
 * NULL or errlen 0: then nothing is written). Never pass secrets. */
void swcrypto_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
