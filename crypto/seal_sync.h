/*
 * seal_sync — the envelope of a push-pull payload (the full membership state two members swap
 * over TCP): the datagram envelope of seal.h with magic "SS" and a larger size bound.
 *
 *    0       2       3        4                          28
 *   +-------+-------+--------+--------------------------+-------------------------------+
 *   | "SS"  |version| key id |  nonce (24, random)      | ciphertext (n) | tag (16)     |
 *   +-------+-------+--------+--------------------------+-------------------------------+
 *
 * Same AEAD, key choice and associated data as a datagram; the distinct magic means a payload
 * cannot be replayed as a datagram or beacon. On TCP each payload is preceded by its length
 * (4 bytes, big-endian), at most SEAL_SYNC_MAX bytes. Replaying a recorded payload later only
 * repeats old membership news, which incarnation numbers already make harmless.
 */
#ifndef SWARM_CRYPTO_SEAL_SYNC_H
#define SWARM_CRYPTO_SEAL_SYNC_H

#include "crypto/seal.h"

#define SEAL_SYNC_MAX (16 * 1024 * 1024) /* sealed payload bound */

/* Seals pt (at most SEAL_SYNC_MAX - 44 bytes) with the primary key into out. 0 or seal_error. */
int seal_sync(const struct keyring *kr, const uint8_t *pt, size_t ptlen, uint8_t *out,
              size_t outcap, size_t *outlen);

/* Opens a payload into out (inlen - 44 bytes). 0 or seal_error with a reason in err. */
int seal_sync_open(const struct keyring *kr, const uint8_t *in, size_t inlen, uint8_t *out,
                   size_t outcap, size_t *outlen, char *err, size_t errlen);

#endif
