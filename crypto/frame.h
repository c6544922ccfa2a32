/*
 * frame — the relay's sealed frames, after the handshake (handshake.h) has given each direction
 * its key: crypto_secretstream_xchacha20poly1305, one stream per direction.
 *
 * A stream starts with its 24-byte secretstream header (sent inside handshake messages 3 and 4),
 * then carries frames:
 *
 *    0            4
 *   +------------+------------------------------------------+
 *   | length (4) | secretstream message (length bytes)      |
 *   +------------+------------------------------------------+
 *     big-endian   = encrypted tag byte + plaintext + 16-byte MAC (17 + n bytes),
 *                    pushed with the 4 length bytes as associated data
 *
 * The plaintext is one proto relay frame (msgpack [type, stream-id, ...]), at most
 * FRAME_MAX_PLAINTEXT (1 MiB) bytes, so a length is 17 .. 1 MiB + 17 and a frame on the wire at
 * most FRAME_MAX_BYTES. A length outside that range is refused from its 4 bytes alone, before
 * anything else is read or allocated. Tags: MESSAGE for every frame, FINAL for the last frame of
 * a direction (a clean close); anything else is refused.
 *
 * secretstream's implicit counter makes every frame depend on all the frames before it, so a
 * tampered, truncated, dropped, duplicated, reordered or replayed frame fails to open. Any
 * failure to open closes the direction for good: every later frame_open fails with
 * FRAME_ERR_CLOSED, and the caller drops the connection. Keys are fresh per handshake, so
 * frames recorded from one connection never open in another.
 *
 * Ownership: struct frame_cipher is caller-owned and holds secrets; finish with
 * frame_cipher_close(). Pure code, no I/O. Not thread-safe.
 */
#ifndef SWARM_CRYPTO_FRAME_H
#define SWARM_CRYPTO_FRAME_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_KEY_BYTES 32
#define FRAME_STREAM_HEADER_BYTES 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define FRAME_LEN_BYTES 4
#define FRAME_ABYTES 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define FRAME_OVERHEAD (FRAME_LEN_BYTES + FRAME_ABYTES) /* 21 */
#define FRAME_MAX_PLAINTEXT (1024 * 1024)
#define FRAME_MAX_BYTES (FRAME_MAX_PLAINTEXT + FRAME_OVERHEAD)

enum frame_status {
    FRAME_OK = 0,
    FRAME_NEED_MORE = 1,    /* open: the input does not hold a whole frame yet */
    FRAME_ERR_LENGTH = -1,  /* a declared length outside 17 .. 1 MiB + 17 */
    FRAME_ERR_AUTH = -2,    /* tampered, truncated, dropped, duplicated, reordered or replayed */
    FRAME_ERR_CLOSED = -3,  /* this direction already ended: FINAL, or an earlier error */
    FRAME_ERR_TOO_BIG = -4, /* seal: plaintext over FRAME_MAX_PLAINTEXT */
    FRAME_ERR_BUFFER = -5,  /* the caller's output buffer is too small (nothing consumed) */
    FRAME_ERR_STATE = -6,   /* open before the peer's stream header arrived */
    FRAME_ERR_TAG = -7,     /* an authentic frame with a tag swarm never sends */
};

enum frame_dir_state {
    FRAME_DIR_NEW = 0, /* no header yet (rx) */
    FRAME_DIR_OPEN,
    FRAME_DIR_CLOSED, /* FINAL sent/seen, or failed */
};

struct frame_cipher {
    crypto_secretstream_xchacha20poly1305_state tx, rx;
    uint8_t rx_key[FRAME_KEY_BYTES]; /* kept until the peer's header arrives, then wiped */
    enum frame_dir_state tx_state, rx_state;
};

/* Starts our sending stream with tx_key (random header written to tx_header, to be sent to the
 * peer) and keeps rx_key for the peer's stream. Normally called by the handshake. */
void frame_cipher_init(struct frame_cipher *fc, const uint8_t tx_key[FRAME_KEY_BYTES],
                       const uint8_t rx_key[FRAME_KEY_BYTES],
                       uint8_t tx_header[FRAME_STREAM_HEADER_BYTES]);

/* Starts the receiving stream from the peer's header. -1 if it was already started. */
int frame_cipher_start_rx(struct frame_cipher *fc,
                          const uint8_t rx_header[FRAME_STREAM_HEADER_BYTES]);

/* Seals one frame: out gets len + FRAME_OVERHEAD bytes. final = 1 ends our direction (no frame
 * can follow). Returns FRAME_OK, FRAME_ERR_TOO_BIG, FRAME_ERR_BUFFER or FRAME_ERR_CLOSED. */
int frame_seal(struct frame_cipher *fc, const uint8_t *pt, size_t len, int final, uint8_t *out,
               size_t outcap, size_t *outlen);

/* Looks at the start of a byte stream: FRAME_NEED_MORE (fewer than 4 bytes), FRAME_ERR_LENGTH,
 * or FRAME_OK with *frame_bytes = the whole frame's size on the wire. */
int frame_peek(const uint8_t *in, size_t inlen, size_t *frame_bytes);

/*
 * Opens the frame at the start of in[0..inlen). FRAME_OK: *consumed bytes used, *outlen bytes of
 * plaintext in out, *final = 1 if the peer closed its direction with it. FRAME_NEED_MORE: read
 * more and call again (*consumed = 0). Negative: see enum frame_status; the direction is closed
 * for every error but FRAME_ERR_BUFFER. out is never plaintext on failure.
 */
int frame_open(struct frame_cipher *fc, const uint8_t *in, size_t inlen, size_t *consumed,
               uint8_t *out, size_t outcap, size_t *outlen, int *final);

/* A short constant name for a frame_status, e.g. "auth-failed". */
const char *frame_strerror(int code);

/* Wipes both directions. */
void frame_cipher_close(struct frame_cipher *fc);

#endif
