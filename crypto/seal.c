/* seal — the datagram envelope; the byte layout is drawn in seal.h. */
#include "crypto/seal.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <string.h>

#define MAGIC0 0x53       /* 'S' */
#define MAGIC_GOSSIP 0x47 /* 'G' */
#define MAGIC_BEACON 0x42 /* 'B' */

_Static_assert(SEAL_HEADER_BYTES == 4 + SEAL_NONCE_BYTES, "header layout");
_Static_assert(SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(KEYRING_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

static uint8_t kind_magic(enum seal_kind kind)
{
    return kind == SEAL_BEACON ? MAGIC_BEACON : MAGIC_GOSSIP;
}

static const char *kind_name(enum seal_kind kind)
{
    return kind == SEAL_BEACON ? "beacon" : "gossip datagram";
}

int seal_datagram_with_nonce(const struct keyring *kr, enum seal_kind kind, const uint8_t *pt,
                             size_t ptlen, const uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *out,
                             size_t outcap, size_t *outlen)
{
    *outlen = 0;
    uint8_t id;
    const uint8_t *key;
    if (keyring_primary(kr, &id, &key) != 0)
        return SEAL_ERR_NO_PRIMARY;
    if (ptlen > SEAL_MAX_PLAINTEXT)
        return SEAL_ERR_LONG;
    if (outcap < ptlen + SEAL_OVERHEAD)
        return SEAL_ERR_BUFFER;

    out[0] = MAGIC0;
    out[1] = kind_magic(kind);
    out[2] = SEAL_VERSION;
    out[3] = id;
    memcpy(out + 4, nonce, SEAL_NONCE_BYTES);
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_HEADER_BYTES, &clen, pt, ptlen, out,
                                               SEAL_HEADER_BYTES, NULL, out + 4, key);
    *outlen = SEAL_HEADER_BYTES + (size_t)clen;
    return SEAL_OK;
}

int seal_datagram(const struct keyring *kr, enum seal_kind kind, const uint8_t *pt, size_t ptlen,
                  uint8_t *out, size_t outcap, size_t *outlen)
{
    uint8_t nonce[SEAL_NONCE_BYTES];
    randombytes_buf(nonce, sizeof(nonce));
    return seal_datagram_with_nonce(kr, kind, pt, ptlen, nonce, out, outcap, outlen);
}

int seal_open(const struct keyring *kr, enum seal_kind kind, const uint8_t *in, size_t inlen,
              uint8_t *out, size_t outcap, size_t *outlen, uint8_t *key_id, char *err,
              size_t errlen)
{
    *outlen = 0;
    if (inlen > SEAL_MAX_DATAGRAM) {
        swcrypto_err(err, errlen, "datagram too long (%zu bytes, max %d)", inlen,
                     SEAL_MAX_DATAGRAM);
        return SEAL_ERR_LONG;
    }
    if (inlen < 4) {
        swcrypto_err(err, errlen, "datagram too short (%zu bytes)", inlen);
        return SEAL_ERR_SHORT;
    }
    if (in[0] != MAGIC0 || (in[1] != MAGIC_GOSSIP && in[1] != MAGIC_BEACON)) {
        swcrypto_err(err, errlen, "not a swarm datagram (magic %02x%02x)", in[0], in[1]);
        return SEAL_ERR_MAGIC;
    }
    if (in[1] != kind_magic(kind)) {
        swcrypto_err(err, errlen, "a %s where a %s was expected",
                     kind_name(kind == SEAL_BEACON ? SEAL_GOSSIP : SEAL_BEACON), kind_name(kind));
        return SEAL_ERR_KIND;
    }
    if (in[2] != SEAL_VERSION) {
        swcrypto_err(err, errlen, "unsupported protocol version %u (this swarm speaks %d)",
                     (unsigned)in[2], SEAL_VERSION);
        return SEAL_ERR_VERSION;
    }
    if (inlen < SEAL_OVERHEAD) {
        swcrypto_err(err, errlen, "datagram too short (%zu bytes, min %d)", inlen, SEAL_OVERHEAD);
        return SEAL_ERR_SHORT;
    }
    size_t ptlen = inlen - SEAL_OVERHEAD;
    if (outcap < ptlen) {
        swcrypto_err(err, errlen, "output buffer too small (%zu bytes for %zu)", outcap, ptlen);
        return SEAL_ERR_BUFFER;
    }
    const uint8_t *key = keyring_lookup(kr, in[3]);
    if (key == NULL) {
        swcrypto_err(err, errlen, "unknown key id %u", (unsigned)in[3]);
        return SEAL_ERR_KEY_ID;
    }
    unsigned long long mlen;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, in + SEAL_HEADER_BYTES,
                                                   inlen - SEAL_HEADER_BYTES, in, SEAL_HEADER_BYTES,
                                                   in + 4, key) != 0) {
        swcrypto_err(err, errlen, "forged or corrupted datagram (key id %u)", (unsigned)in[3]);
        return SEAL_ERR_FORGED;
    }
    *outlen = (size_t)mlen;
    if (key_id != NULL)
        *key_id = in[3];
    return SEAL_OK;
}

const char *seal_strerror(int code)
{
    switch (code) {
    case SEAL_OK:
        return "ok";
    case SEAL_ERR_LONG:
        return "too-long";
    case SEAL_ERR_SHORT:
        return "too-short";
    case SEAL_ERR_MAGIC:
        return "bad-magic";
    case SEAL_ERR_KIND:
        return "wrong-kind";
    case SEAL_ERR_VERSION:
        return "bad-version";
    case SEAL_ERR_BUFFER:
        return "buffer-too-small";
    case SEAL_ERR_KEY_ID:
        return "unknown-key-id";
    case SEAL_ERR_FORGED:
        return "forged";
    case SEAL_ERR_NO_PRIMARY:
        return "no-primary-key";
    default:
        return "unknown-error";
    }
}
