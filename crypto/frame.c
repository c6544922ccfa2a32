/* frame — length-prefixed secretstream frames; the format is drawn in frame.h. */
#include "crypto/frame.h"

#include <string.h>

#define SS_TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define SS_TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

_Static_assert(FRAME_STREAM_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "header size");
_Static_assert(FRAME_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "abytes");
_Static_assert(FRAME_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key size");

void frame_cipher_init(struct frame_cipher *fc, const uint8_t tx_key[FRAME_KEY_BYTES],
                       const uint8_t rx_key[FRAME_KEY_BYTES],
                       uint8_t tx_header[FRAME_STREAM_HEADER_BYTES])
{
    memset(fc, 0, sizeof(*fc));
    crypto_secretstream_xchacha20poly1305_init_push(&fc->tx, tx_header, tx_key);
    memcpy(fc->rx_key, rx_key, FRAME_KEY_BYTES);
    fc->tx_state = FRAME_DIR_OPEN;
    fc->rx_state = FRAME_DIR_NEW;
}

int frame_cipher_start_rx(struct frame_cipher *fc,
                          const uint8_t rx_header[FRAME_STREAM_HEADER_BYTES])
{
    if (fc->rx_state != FRAME_DIR_NEW)
        return -1;
    crypto_secretstream_xchacha20poly1305_init_pull(&fc->rx, rx_header, fc->rx_key);
    sodium_memzero(fc->rx_key, sizeof(fc->rx_key));
    fc->rx_state = FRAME_DIR_OPEN;
    return 0;
}

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
    crypto_secretstream_xchacha20poly1305_push(&fc->tx, out + FRAME_LEN_BYTES, NULL, pt, len, out,
                                               FRAME_LEN_BYTES,
                                               final ? SS_TAG_FINAL : SS_TAG_MESSAGE);
    if (final) {
        sodium_memzero(&fc->tx, sizeof(fc->tx));
        fc->tx_state = FRAME_DIR_CLOSED;
    }
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

static int close_rx(struct frame_cipher *fc, int code)
{
    sodium_memzero(&fc->rx, sizeof(fc->rx));
    sodium_memzero(fc->rx_key, sizeof(fc->rx_key));
    fc->rx_state = FRAME_DIR_CLOSED;
    return code;
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

    unsigned long long mlen;
    unsigned char tag;
    /* secretstream checks the MAC before it writes anything to out. */
    if (crypto_secretstream_xchacha20poly1305_pull(&fc->rx, out, &mlen, &tag, in + FRAME_LEN_BYTES,
                                                   clen, in, FRAME_LEN_BYTES) != 0)
        return close_rx(fc, FRAME_ERR_AUTH);
    if (tag != SS_TAG_MESSAGE && tag != SS_TAG_FINAL) {
        sodium_memzero(out, (size_t)mlen);
        return close_rx(fc, FRAME_ERR_TAG);
    }
    *consumed = total;
    *outlen = (size_t)mlen;
    if (tag == SS_TAG_FINAL) {
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
