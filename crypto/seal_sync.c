/* seal_sync — the push-pull envelope; the byte layout is drawn in seal_sync.h. */
#include "crypto/seal_sync.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <string.h>

static const uint8_t magic[2] = {0x53, 0x53}; /* "SS" */

int seal_sync(const struct keyring *kr, const uint8_t *pt, size_t ptlen, uint8_t *out,
              size_t outcap, size_t *outlen)
{
    *outlen = 0;
    uint8_t id;
    const uint8_t *key;
    if (keyring_primary(kr, &id, &key) != 0)
        return SEAL_ERR_NO_PRIMARY;
    if (ptlen > SEAL_SYNC_MAX - SEAL_OVERHEAD)
        return SEAL_ERR_LONG;
    if (outcap < ptlen + SEAL_OVERHEAD)
        return SEAL_ERR_BUFFER;
    memcpy(out, magic, 2);
    out[2] = SEAL_VERSION;
    out[3] = id;
    randombytes_buf(out + 4, SEAL_NONCE_BYTES);
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_HEADER_BYTES, &clen, pt, ptlen, out,
                                               SEAL_HEADER_BYTES, NULL, out + 4, key);
    *outlen = SEAL_HEADER_BYTES + (size_t)clen;
    return SEAL_OK;
}

int seal_sync_open(const struct keyring *kr, const uint8_t *in, size_t inlen, uint8_t *out,
                   size_t outcap, size_t *outlen, char *err, size_t errlen)
{
    *outlen = 0;
    if (inlen > SEAL_SYNC_MAX) {
        swcrypto_err(err, errlen, "push-pull payload too long (%zu bytes, max %d)", inlen,
                     SEAL_SYNC_MAX);
        return SEAL_ERR_LONG;
    }
    if (inlen < SEAL_OVERHEAD) {
        swcrypto_err(err, errlen, "push-pull payload too short (%zu bytes)", inlen);
        return SEAL_ERR_SHORT;
    }
    if (memcmp(in, magic, 2) != 0) {
        swcrypto_err(err, errlen, "not a push-pull payload (magic %02x%02x)", in[0], in[1]);
        return SEAL_ERR_MAGIC;
    }
    if (in[2] != SEAL_VERSION) {
        swcrypto_err(err, errlen, "unsupported protocol version %u (this build speaks %d)", in[2],
                     SEAL_VERSION);
        return SEAL_ERR_VERSION;
    }
    if (outcap < inlen - SEAL_OVERHEAD)
        return SEAL_ERR_BUFFER;
    const uint8_t *key = keyring_lookup(kr, in[3]);
    if (key == NULL) {
        swcrypto_err(err, errlen, "push-pull payload sealed with unknown key id %u", in[3]);
        return SEAL_ERR_KEY_ID;
    }
    unsigned long long plen;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, in + SEAL_HEADER_BYTES,
                                                   inlen - SEAL_HEADER_BYTES, in, SEAL_HEADER_BYTES,
                                                   in + 4, key) != 0) {
        swcrypto_err(err, errlen, "push-pull payload failed authentication");
        return SEAL_ERR_FORGED;
    }
    *outlen = (size_t)plen;
    return SEAL_OK;
}
