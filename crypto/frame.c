/* frame — length-prefixed sealed frames, secretstream or AES-256-GCM; the format is drawn in
 * frame.h. */
#include "crypto/frame.h"

#include <string.h>

#define SS_TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define SS_TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define GCM_ABYTES crypto_aead_aes256gcm_ABYTES
#define GCM_AD_BYTES (FRAME_LEN_BYTES + 1) /* the length and the tag byte */

_Static_assert(FRAME_STREAM_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "header size");
_Static_assert(FRAME_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "abytes");
_Static_assert(FRAME_ABYTES == 1 + GCM_ABYTES, "both suites add 17 bytes");
_Static_assert(FRAME_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key size");
_Static_assert(FRAME_KEY_BYTES == crypto_aead_aes256gcm_KEYBYTES, "GCM key size");
_Static_assert(FRAME_GCM_NONCE_BYTES == crypto_aead_aes256gcm_NPUBBYTES, "GCM nonce size");
_Static_assert(FRAME_TAG_MESSAGE == SS_TAG_MESSAGE && FRAME_TAG_FINAL == SS_TAG_FINAL, "tags");

unsigned frame_suites_usable(const char *force)
{
    unsigned s = FRAME_SUITE_SECRETSTREAM;
    int forced_off =
        force != NULL && (strcmp(force, "secretstream") == 0 || strcmp(force, "chacha") == 0);
    if (!forced_off && crypto_aead_aes256gcm_is_available())
        s |= FRAME_SUITE_AES256GCM;
    return s;
}

size_t frame_suite_header_bytes(unsigned suite)
{
    return suite == FRAME_SUITE_SECRETSTREAM ? FRAME_STREAM_HEADER_BYTES : 0;
}

size_t frame_suite_confirm_bytes(unsigned suite)
{
    switch (suite) {
    case FRAME_SUITE_SECRETSTREAM:
        return FRAME_ABYTES;
    case FRAME_SUITE_AES256GCM:
        return GCM_ABYTES;
    default:
        return 0;
    }
}

const char *frame_suite_name(unsigned suite)
{
    switch (suite) {
    case FRAME_SUITE_SECRETSTREAM:
        return "secretstream";
    case FRAME_SUITE_AES256GCM:
        return "aes256gcm";
    default:
        return "unknown";
    }
}

/* ---- AES-256-GCM directions ------------------------------------------------------------------ */

static void gcm_nonce(uint8_t nonce[FRAME_GCM_NONCE_BYTES], uint64_t n)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (56 - 8 * i));
}

/* Counter values 0 .. 2^64 - 2 are used; 2^64 - 1 is never sealed, so no nonce repeats. */
#define GCM_LAST_N (UINT64_MAX - 1)

/* k' = the first 32 bytes of GCM(k, nonce ff..ff, 32 zero bytes): a nonce no frame uses. */
static void gcm_rekey(struct frame_gcm_dir *d)
{
    uint8_t zero[FRAME_KEY_BYTES] = {0}, ct[FRAME_KEY_BYTES + GCM_ABYTES], nonce[12];
    memset(nonce, 0xff, sizeof(nonce));
    crypto_aead_aes256gcm_encrypt_afternm(ct, NULL, zero, sizeof(zero), NULL, 0, NULL, nonce,
                                          &d->st);
    crypto_aead_aes256gcm_beforenm(&d->st, ct);
    sodium_memzero(ct, sizeof(ct));
}

/* Moves a direction past the message it just sealed or opened. */
static void gcm_advance(struct frame_gcm_dir *d)
{
    d->n++;
    if (d->n % FRAME_GCM_REKEY_FRAMES == 0)
        gcm_rekey(d);
}

/* ---- set-up ---------------------------------------------------------------------------------- */

int frame_cipher_init_suite(struct frame_cipher *fc, unsigned suite,
                            const uint8_t tx_key[FRAME_KEY_BYTES],
                            const uint8_t rx_key[FRAME_KEY_BYTES], uint8_t *tx_header)
{
    if (suite == FRAME_SUITE_AES256GCM && !crypto_aead_aes256gcm_is_available())
        return -1;
    if (suite != FRAME_SUITE_SECRETSTREAM && suite != FRAME_SUITE_AES256GCM)
        return -1;
    sodium_memzero(fc, sizeof(*fc));
    fc->suite = suite;
    if (suite == FRAME_SUITE_SECRETSTREAM)
        crypto_secretstream_xchacha20poly1305_init_push(&fc->tx, tx_header, tx_key);
    else
        crypto_aead_aes256gcm_beforenm(&fc->gtx.st, tx_key);
    memcpy(fc->rx_key, rx_key, FRAME_KEY_BYTES);
    fc->tx_state = FRAME_DIR_OPEN;
    fc->rx_state = FRAME_DIR_NEW;
    return 0;
}

void frame_cipher_init(struct frame_cipher *fc, const uint8_t tx_key[FRAME_KEY_BYTES],
                       const uint8_t rx_key[FRAME_KEY_BYTES],
                       uint8_t tx_header[FRAME_STREAM_HEADER_BYTES])
{
    frame_cipher_init_suite(fc, FRAME_SUITE_SECRETSTREAM, tx_key, rx_key, tx_header);
}

int frame_cipher_start_rx(struct frame_cipher *fc, const uint8_t *rx_header)
{
    if (fc->rx_state != FRAME_DIR_NEW)
        return -1;
    if (fc->suite == FRAME_SUITE_AES256GCM)
        crypto_aead_aes256gcm_beforenm(&fc->grx.st, fc->rx_key);
    else
        crypto_secretstream_xchacha20poly1305_init_pull(&fc->rx, rx_header, fc->rx_key);
    sodium_memzero(fc->rx_key, sizeof(fc->rx_key));
    fc->rx_state = FRAME_DIR_OPEN;
    return 0;
}

static void close_tx(struct frame_cipher *fc)
{
    sodium_memzero(&fc->tx, sizeof(fc->tx));
    sodium_memzero(&fc->gtx, sizeof(fc->gtx));
    fc->tx_state = FRAME_DIR_CLOSED;
}

static int close_rx(struct frame_cipher *fc, int code)
{
    sodium_memzero(&fc->rx, sizeof(fc->rx));
    sodium_memzero(&fc->grx, sizeof(fc->grx));
    sodium_memzero(fc->rx_key, sizeof(fc->rx_key));
    fc->rx_state = FRAME_DIR_CLOSED;
    return code;
}

void frame_confirm_seal(struct frame_cipher *fc, const uint8_t *ad, size_t adlen, uint8_t *out)
{
    if (fc->suite == FRAME_SUITE_AES256GCM) {
        uint8_t nonce[FRAME_GCM_NONCE_BYTES], none[1] = {0};
        gcm_nonce(nonce, fc->gtx.n);
        crypto_aead_aes256gcm_encrypt_detached_afternm(none, out, NULL, none, 0, ad, adlen, NULL,
                                                       nonce, &fc->gtx.st);
        gcm_advance(&fc->gtx);
        return;
    }
    crypto_secretstream_xchacha20poly1305_push(&fc->tx, out, NULL, NULL, 0, ad, adlen,
                                               SS_TAG_MESSAGE);
}

int frame_confirm_open(struct frame_cipher *fc, const uint8_t *in, const uint8_t *ad, size_t adlen)
{
    if (fc->rx_state != FRAME_DIR_OPEN)
        return -1;
    if (fc->suite == FRAME_SUITE_AES256GCM) {
        uint8_t nonce[FRAME_GCM_NONCE_BYTES], none[1] = {0};
        gcm_nonce(nonce, fc->grx.n);
        if (crypto_aead_aes256gcm_decrypt_detached_afternm(none, NULL, none, 0, in, ad, adlen,
                                                           nonce, &fc->grx.st) != 0)
            return close_rx(fc, -1);
        gcm_advance(&fc->grx);
        return 0;
    }
    uint8_t empty[1];
    unsigned long long mlen;
    unsigned char tag;
    if (crypto_secretstream_xchacha20poly1305_pull(&fc->rx, empty, &mlen, &tag, in, FRAME_ABYTES,
                                                   ad, adlen) != 0 ||
        mlen != 0 || tag != SS_TAG_MESSAGE)
        return close_rx(fc, -1);
    return 0;
}

/* ---- frames ---------------------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int frame_seal(struct frame_cipher *fc, const uint8_t *pt, size_t len, int final, uint8_t *out,
               size_t outcap, size_t *outlen)
{
    *outlen = 0;
    if (fc->tx_state != FRAME_DIR_OPEN)
        return FRAME_ERR_CLOSED;
    if (len > FRAME_MAX_PLAINTEXT)
        return FRAME_ERR_TOO_BIG;
    if (outcap < len + FRAME_OVERHEAD)
        return FRAME_ERR_BUFFER;
    put_be32(out, (uint32_t)(len + FRAME_ABYTES));
    if (fc->suite == FRAME_SUITE_AES256GCM) {
        if (fc->gtx.n > GCM_LAST_N) {
            close_tx(fc);
            return FRAME_ERR_CLOSED;
        }
        uint8_t nonce[FRAME_GCM_NONCE_BYTES];
        gcm_nonce(nonce, fc->gtx.n);
        out[FRAME_LEN_BYTES] = final ? FRAME_TAG_FINAL : FRAME_TAG_MESSAGE;
        crypto_aead_aes256gcm_encrypt_detached_afternm(out + GCM_AD_BYTES, out + GCM_AD_BYTES + len,
                                                       NULL, pt, len, out, GCM_AD_BYTES, NULL,
                                                       nonce, &fc->gtx.st);
        gcm_advance(&fc->gtx);
    } else {
        crypto_secretstream_xchacha20poly1305_push(&fc->tx, out + FRAME_LEN_BYTES, NULL, pt, len,
                                                   out, FRAME_LEN_BYTES,
                                                   final ? SS_TAG_FINAL : SS_TAG_MESSAGE);
    }
    if (final)
        close_tx(fc);
    *outlen = len + FRAME_OVERHEAD;
    return FRAME_OK;
}

int frame_peek(const uint8_t *in, size_t inlen, size_t *frame_bytes)
{
    if (inlen < FRAME_LEN_BYTES)
        return FRAME_NEED_MORE;
    uint32_t clen = get_be32(in);
    if (clen < FRAME_ABYTES || clen > FRAME_MAX_PLAINTEXT + FRAME_ABYTES)
        return FRAME_ERR_LENGTH;
    *frame_bytes = FRAME_LEN_BYTES + (size_t)clen;
    return FRAME_OK;
}

/* GCM: the tag byte is checked after the GCM tag, so a forged tag byte is an auth failure. */
static int gcm_open(struct frame_cipher *fc, const uint8_t *in, size_t clen, uint8_t *out,
                    size_t *mlen, unsigned char *tag)
{
    if (fc->grx.n > GCM_LAST_N)
        return FRAME_ERR_CLOSED;
    size_t n = clen - FRAME_ABYTES;
    uint8_t nonce[FRAME_GCM_NONCE_BYTES];
    gcm_nonce(nonce, fc->grx.n);
    if (crypto_aead_aes256gcm_decrypt_detached_afternm(out, NULL, in + GCM_AD_BYTES, n,
                                                       in + GCM_AD_BYTES + n, in, GCM_AD_BYTES,
                                                       nonce, &fc->grx.st) != 0) {
        sodium_memzero(out, n); /* whatever the library left there is not plaintext */
        return FRAME_ERR_AUTH;
    }
    gcm_advance(&fc->grx);
    *mlen = n;
    *tag = in[FRAME_LEN_BYTES];
    return FRAME_OK;
}

int frame_open(struct frame_cipher *fc, const uint8_t *in, size_t inlen, size_t *consumed,
               uint8_t *out, size_t outcap, size_t *outlen, int *final)
{
    *consumed = 0;
    *outlen = 0;
    *final = 0;
    if (fc->rx_state == FRAME_DIR_NEW)
        return FRAME_ERR_STATE;
    if (fc->rx_state != FRAME_DIR_OPEN)
        return FRAME_ERR_CLOSED;
    size_t total;
    int rc = frame_peek(in, inlen, &total);
    if (rc == FRAME_ERR_LENGTH)
        return close_rx(fc, rc);
    if (rc == FRAME_NEED_MORE || inlen < total)
        return FRAME_NEED_MORE;
    size_t clen = total - FRAME_LEN_BYTES;
    if (outcap < clen - FRAME_ABYTES)
        return FRAME_ERR_BUFFER;

    size_t mlen;
    unsigned char tag;
    if (fc->suite == FRAME_SUITE_AES256GCM) {
        rc = gcm_open(fc, in, clen, out, &mlen, &tag);
        if (rc != FRAME_OK)
            return close_rx(fc, rc);
    } else {
        unsigned long long m;
        /* secretstream checks the MAC before it writes anything to out. */
        if (crypto_secretstream_xchacha20poly1305_pull(&fc->rx, out, &m, &tag, in + FRAME_LEN_BYTES,
                                                       clen, in, FRAME_LEN_BYTES) != 0)
            return close_rx(fc, FRAME_ERR_AUTH);
        mlen = (size_t)m;
    }
    if (tag != FRAME_TAG_MESSAGE && tag != FRAME_TAG_FINAL) {
        sodium_memzero(out, mlen);
        return close_rx(fc, FRAME_ERR_TAG);
    }
    *consumed = total;
    *outlen = mlen;
    if (tag == FRAME_TAG_FINAL) {
        *final = 1;
        close_rx(fc, FRAME_OK);
    }
    return FRAME_OK;
}

const char *frame_strerror(int code)
{
    switch (code) {
    case FRAME_OK:
        return "ok";
    case FRAME_NEED_MORE:
        return "need-more";
    case FRAME_ERR_LENGTH:
        return "bad-length";
    case FRAME_ERR_AUTH:
        return "auth-failed";
    case FRAME_ERR_CLOSED:
        return "stream-closed";
    case FRAME_ERR_TOO_BIG:
        return "too-big";
    case FRAME_ERR_BUFFER:
        return "buffer-too-small";
    case FRAME_ERR_STATE:
        return "not-started";
    case FRAME_ERR_TAG:
        return "bad-tag";
    default:
        return "unknown-error";
    }
}

void frame_cipher_close(struct frame_cipher *fc)
{
    sodium_memzero(fc, sizeof(*fc));
}
