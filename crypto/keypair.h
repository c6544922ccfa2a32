/*
 * keypair — an X25519 static keypair: the manager's (made by `swarm init`) or an agent's (made at
 * its first start). The public key goes into the join token (manager) or the gossip metadata
 * (agent); the secret key never leaves the state dir. Stored by keyfile.h.
 *
 * Ownership: caller-owned plain struct holding a secret; finish with keypair_wipe().
 */
#ifndef SWARM_CRYPTO_KEYPAIR_H
#define SWARM_CRYPTO_KEYPAIR_H

#include <stdint.h>

#define KEYPAIR_BYTES 32

struct keypair {
    uint8_t pk[KEYPAIR_BYTES]; /* X25519 public key = scalarmult_base(sk) */
    uint8_t sk[KEYPAIR_BYTES]; /* X25519 secret scalar (clamped by X25519 itself) */
};

/* A fresh random keypair. Returns 0, or -1 in the (never seen) case of a zero public key. */
int keypair_generate(struct keypair *kp);

/* Sets kp from a secret key, deriving the public key. -1 if the secret gives a zero public key. */
int keypair_from_secret(struct keypair *kp, const uint8_t sk[KEYPAIR_BYTES]);

void keypair_wipe(struct keypair *kp);

#endif
