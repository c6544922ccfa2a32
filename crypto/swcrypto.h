/*
 * swcrypto — set-up of the crypto module (libsodium). The keyring, datagram sealing, the join
 * token and the relay handshake build on it. Names avoid libsodium's crypto_ prefix.
 */
#ifndef SWARM_CRYPTO_SWCRYPTO_H
#define SWARM_CRYPTO_SWCRYPTO_H

/* Initialises libsodium; call once before any other crypto function. Returns 0 or -1. Safe to
 * call more than once. */
int swcrypto_init(void);

/* Version of the libsodium library linked at run time, e.g. "1.0.18". */
const char *swcrypto_sodium_version(void);

#endif
