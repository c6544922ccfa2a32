/*
 * Fuzz target for crypto/seal_sync_open, the push-pull envelope: any bytes either open (only a
 * payload sealed with the ring's key can) or give an error, never a crash or an over-read.
 * The ring holds the fixed key 0x42 * 32 as id 1, which the seed corpus was sealed with.
 */
#include "crypto/seal_sync.h"
#include "crypto/swcrypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct keyring *kr;
    if (kr == NULL) {
        uint8_t key[32];
        memset(key, 0x42, sizeof(key));
        if (swcrypto_init() < 0 || (kr = keyring_new()) == NULL ||
            keyring_install(kr, 1, key, NULL, 0) != 0)
            abort();
    }
    uint8_t *out = malloc(size + 1);
    if (out == NULL)
        return 0;
    size_t olen = 12345;
    char err[160];
    int rc = seal_sync_open(kr, data, size, out, size + 1, &olen, err, sizeof(err));
    if ((rc == 0 && olen + SEAL_OVERHEAD != size) || (rc != 0 && olen != 0))
        abort();
    free(out);
    return 0;
}
