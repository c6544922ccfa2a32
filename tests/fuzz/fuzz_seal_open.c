/*
 * Fuzz target for crypto/seal: the datagram open path. The input is a datagram, opened as gossip
 * and as a beacon against a keyring holding the known-answer key (id 7, bytes 00..1f) and one
 * more. Must never crash or over-read; a failure must leave *outlen 0 and a terminated message;
 * a success must give exactly len - 44 bytes, and re-sealing them must open again.
 */
#include "crypto/seal.h"
#include "crypto/swcrypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyring *ring(void)
{
    static struct keyring *kr;
    if (kr == NULL) {
        if (swcrypto_init() != 0 || (kr = keyring_new()) == NULL)
            abort();
        uint8_t key[32];
        for (int i = 0; i < 32; i++)
            key[i] = (uint8_t)i;
        keyring_install(kr, 7, key, NULL, 0);
        memset(key, 0x5a, sizeof(key));
        keyring_install(kr, 200, key, NULL, 0);
    }
    return kr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct keyring *kr = ring();
    static uint8_t out[SEAL_MAX_DATAGRAM], again[SEAL_MAX_DATAGRAM], back[SEAL_MAX_DATAGRAM];
    for (int k = 0; k < 2; k++) {
        enum seal_kind kind = k ? SEAL_BEACON : SEAL_GOSSIP;
        char err[128];
        size_t n = 99;
        uint8_t id = 0;
        err[0] = '\0';
        int rc = seal_open(kr, kind, data, size, out, sizeof(out), &n, &id, err, sizeof(err));
        if (rc != SEAL_OK) {
            if (rc >= 0 || n != 0 || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
                abort();
            continue;
        }
        if (size < SEAL_OVERHEAD || n != size - SEAL_OVERHEAD || id != data[3])
            abort();
        /* Round trip: what opened seals and opens again to the same bytes. */
        size_t m, b;
        if (seal_datagram(kr, kind, out, n, again, sizeof(again), &m) != SEAL_OK ||
            seal_open(kr, kind, again, m, back, sizeof(back), &b, NULL, NULL, 0) != SEAL_OK ||
            b != n || memcmp(back, out, n) != 0)
            abort();
    }
    return 0;
}
