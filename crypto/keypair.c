/* keypair — X25519 static keypairs from libsodium. */
#include "crypto/keypair.h"

#include <sodium.h>
#include <string.h>

int keypair_from_secret(struct keypair *kp, const uint8_t sk[KEYPAIR_BYTES])
{
    memmove(kp->sk, sk, KEYPAIR_BYTES);
    if (crypto_scalarmult_base(kp->pk, kp->sk) != 0 || sodium_is_zero(kp->pk, KEYPAIR_BYTES)) {
        keypair_wipe(kp);
        return -1;
    }
    return 0;
}

int keypair_generate(struct keypair *kp)
{
    uint8_t sk[KEYPAIR_BYTES];
    randombytes_buf(sk, sizeof(sk));
    int rc = keypair_from_secret(kp, sk);
    sodium_memzero(sk, sizeof(sk));
    return rc;
}

void keypair_wipe(struct keypair *kp)
{
    sodium_memzero(kp, sizeof(*kp));
}
