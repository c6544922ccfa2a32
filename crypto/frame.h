/*
 * frame — the relay's sealed frames, after the handshake (handshake.h) has given each direction
 * its key. Two suites, chosen per connection inside the handshake:
 *
 *   FRAME_SUITE_SECRETSTREAM  crypto_secretstream_xchacha20poly1305, one stream per direction;
 *                             runs everywhere (the only suite of handshake version 1)
 *   FRAME_SUITE_AES256GCM     crypto_aead_aes256gcm with precomputed key state (beforenm), one
 *                             key and nonce counter per direction; only where libsodium has it
 *                             (x86-64 with AES-NI and PCLMUL), about 1.5-2x faster per byte
 *
 * Both put the same 21 bytes around a plaintext, so buffer sizes do not depend on the suite:
 *
 *    0            4
 *   +------------+------------------------------------------+
 *   | length (4) | sealed message (length bytes)            |
 *   +------------+------------------------------------------+
 *     big-endian   secretstream: encrypted tag byte + ciphertext + 16-byte MAC, pushed with the
 *                  4 length bytes as associated data;
 *                  AES-256-GCM: tag byte (clear) + ciphertext + 16-byte GCM tag, sealed with
 *                  the 4 length bytes and the tag byte as associated data and the nonce
 *                  00 00 00 00 || big-endian 64-bit frame counter
 *                  (17 + n bytes either way)
 *
 * A secretstream stream starts with its 24-byte header (sent inside handshake messages 3 and 4);
 * an AES-256-GCM direction has no header (its counter starts at 0 with the handshake's
 * confirmation). The plaintext is one proto relay frame (msgpack [type, stream-id, ...]), at most
 * FRAME_MAX_PLAINTEXT (1 MiB) bytes, so a length is 17 .. 1 MiB + 17 and a frame on the wire at
 * most FRAME_MAX_BYTES. A length outside that range is refused from its 4 bytes alone, before
 * anything else is read or allocated. Tags: MESSAGE for every frame, FINAL for the last frame of
 * a direction (a clean close); anything else is refused.
 *
 * Every frame depends on its place in its direction (secretstream's implicit counter; GCM's
 * nonce counter), so a tampered, truncated, dropped, duplicated, reordered or replayed frame
 * fails to open; the tag byte is authenticated, so a cut stream cannot pass for a FINAL. Any
 * failure to open closes the direction for good: every later frame_open fails with
 * FRAME_ERR_CLOSED, and the caller drops the connection. Keys are fresh per handshake, so
 * frames recorded from one connection never open in another. A GCM direction replaces its key
 * every FRAME_GCM_REKEY_FRAMES frames (k' = the first 32 bytes of GCM(k, nonce ff..ff, 32 zero
 * bytes), both sides at the same counter), so one key never seals more than 64 GiB; its counter
 * never wraps: at 2^64 - 1 the direction closes (FRAME_ERR_CLOSED) instead.
 *
 * Ownership: struct frame_cipher is caller-owned and holds secrets (the GCM key schedules too);
 * finish with frame_cipher_close(). It must sit at a 16-byte aligned address (malloc or an
 * ordinary variable gives that). Pure code, no I/O. Not thread-safe.
 */
#ifndef SWARM_CRYPTO_FRAME_H
#define SWARM_CRYPTO_FRAME_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

/* Suites, as bits of the handshake's offer (docs/PROTOCOL.md 2.4). */
#define FRAME_SUITE_SECRETSTREAM 0x01u
#define FRAME_SUITE_AES256GCM 0x02u
#define FRAME_SUITES_KNOWN (FRAME_SUITE_SECRETSTREAM | FRAME_SUITE_AES256GCM)

#define FRAME_KEY_BYTES 32
#define FRAME_STREAM_HEADER_BYTES 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define FRAME_LEN_BYTES 4
#define FRAME_ABYTES 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define FRAME_OVERHEAD (FRAME_LEN_BYTES + FRAME_ABYTES) /* 21 */
#define FRAME_MAX_PLAINTEXT (1024 * 1024)
#define FRAME_MAX_BYTES (FRAME_MAX_PLAINTEXT + FRAME_OVERHEAD)
#define FRAME_CONFIRM_MAX 17 /* the handshake's confirmation: 17 (secretstream), 16 (GCM) */
#define FRAME_GCM_NONCE_BYTES 12
#define FRAME_GCM_REKEY_FRAMES 65536u /* frames per GCM key, confirmation included */
#define FRAME_TAG_MESSAGE 0x00        /* = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE */
#define FRAME_TAG_FINAL 0x03          /* = crypto_secretstream_xchacha20poly1305_TAG_FINAL */

enum frame_status {
    FRAME_OK = 0,
    FRAME_NEED_MORE = 1,    /* open: the input does not hold a whole frame yet */
    FRAME_ERR_LENGTH = -1,  /* a declared length outside 17 .. 1 MiB + 17 */
    FRAME_ERR_AUTH = -2,    /* tampered, truncated, dropped, duplicated, reordered or replayed */
    FRAME_ERR_CLOSED = -3,  /* this direction ended: FINAL, an earlier error, a spent counter */
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

/* One AES-256-GCM direction: the expanded key and the counter of the next message. */
struct frame_gcm_dir {
    crypto_aead_aes256gcm_state st;
    uint64_t n;
};

struct frame_cipher {
    unsigned suite; /* FRAME_SUITE_* */
    crypto_secretstream_xchacha20poly1305_state tx, rx;
    struct frame_gcm_dir gtx, grx;
    uint8_t rx_key[FRAME_KEY_BYTES]; /* kept until the peer's direction starts, then wiped */
    enum frame_dir_state tx_state, rx_state;
};

/* The suites this process can run: secretstream always, AES-256-GCM when libsodium has it
 * (crypto_aead_aes256gcm_is_available; swcrypto_init first) and force is neither
 * "secretstream" nor "chacha" (force is the value of a knob such as SWARM_RELAY_CIPHER, or
 * NULL). */
unsigned frame_suites_usable(const char *force);

/* The suite's stream header (24 for secretstream, 0 for GCM) and confirmation (17, 16) sizes;
 * 0 for an unknown suite. */
size_t frame_suite_header_bytes(unsigned suite);
size_t frame_suite_confirm_bytes(unsigned suite);

/* "secretstream", "aes256gcm" or "unknown". */
const char *frame_suite_name(unsigned suite);

/* A secretstream cipher: starts our sending stream with tx_key (random header written to
 * tx_header, to be sent to the peer) and keeps rx_key for the peer's stream. */
void frame_cipher_init(struct frame_cipher *fc, const uint8_t tx_key[FRAME_KEY_BYTES],
                       const uint8_t rx_key[FRAME_KEY_BYTES],
                       uint8_t tx_header[FRAME_STREAM_HEADER_BYTES]);

/* The same for either suite; tx_header gets frame_suite_header_bytes(suite) bytes (none for
 * GCM: it may be NULL then). -1 (nothing set up) for an unknown or unavailable suite.
 * Normally called by the handshake. */
int frame_cipher_init_suite(struct frame_cipher *fc, unsigned suite,
                            const uint8_t tx_key[FRAME_KEY_BYTES],
                            const uint8_t rx_key[FRAME_KEY_BYTES], uint8_t *tx_header);

/* Starts the receiving direction from the peer's header (frame_suite_header_bytes; NULL for
 * GCM). -1 if it was already started. */
int frame_cipher_start_rx(struct frame_cipher *fc, const uint8_t *rx_header);

/* The handshake's key confirmation: an empty message with associated data ad, message 0 of the
 * direction (secretstream tag MESSAGE; GCM counter 0). seal writes
 * frame_suite_confirm_bytes(fc->suite) bytes to out; open checks them (0, or -1: the direction
 * is closed). */
void frame_confirm_seal(struct frame_cipher *fc, const uint8_t *ad, size_t adlen, uint8_t *out);
int frame_confirm_open(struct frame_cipher *fc, const uint8_t *in, const uint8_t *ad, size_t adlen);

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

/* Wipes both directions (key schedules included). */
void frame_cipher_close(struct frame_cipher *fc);

#endif
