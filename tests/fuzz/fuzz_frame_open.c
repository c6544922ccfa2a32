/*
 * Fuzz target for crypto/frame: the receiving side of a relay stream. The input's first 24 bytes
 * are the peer's stream header, the rest the byte stream, opened frame after frame with a fixed
 * key (32 bytes of 0x77) until it needs more bytes or fails. Must never crash, over-read or read
 * a declared length before checking it; after any error the direction stays closed.
 */
#include "crypto/frame.h"
#include "crypto/swcrypto.h"
#include "tests/fuzz/frame_open_all.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (swcrypto_init() != 0)
        abort();
    if (size < FRAME_STREAM_HEADER_BYTES)
        return 0;
    uint8_t key[FRAME_KEY_BYTES], tx_header[FRAME_STREAM_HEADER_BYTES];
    memset(key, 0x77, sizeof(key));
    struct frame_cipher fc;
    frame_cipher_init(&fc, key, key, tx_header);
    if (frame_cipher_start_rx(&fc, data) != 0)
        abort();
    frame_open_all(&fc, data + FRAME_STREAM_HEADER_BYTES, size - FRAME_STREAM_HEADER_BYTES);
    frame_cipher_close(&fc);
    return 0;
}
