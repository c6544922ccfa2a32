/*
 * Fuzz target for crypto/frame's AES-256-GCM suite: the receiving side of a relay direction.
 * The whole input is the byte stream (a GCM direction has no header), opened frame after frame
 * with a fixed key (32 bytes of 0x77) and the counter from 0, until it needs more bytes or
 * fails. Must never crash, over-read or read a declared length before checking it; after any
 * error the direction stays closed. Does nothing where libsodium has no AES-256-GCM.
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
    if (!crypto_aead_aes256gcm_is_available())
        return 0;
    uint8_t key[FRAME_KEY_BYTES];
    memset(key, 0x77, sizeof(key));
    static struct frame_cipher fc; /* 16-byte aligned, as the GCM state needs */
    if (frame_cipher_init_suite(&fc, FRAME_SUITE_AES256GCM, key, key, NULL) != 0 ||
        frame_cipher_start_rx(&fc, NULL) != 0)
        abort();
    frame_open_all(&fc, data, size);
    frame_cipher_close(&fc);
    return 0;
}
