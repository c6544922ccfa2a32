/*
 * Unit tests for crypto/seal_sync, the push-pull envelope: round trips at several sizes, that it
 * is told apart from datagrams and beacons both ways, every single-bit flip and every truncation
 * of a sealed payload, unknown key ids, rotation, and the size bounds.
 */
#include "crypto/seal_sync.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"

#include <sodium.h>
#include <stdlib.h>

static char err[256];

static struct keyring *ring(uint8_t id, uint8_t fill)
{
    struct keyring *kr = keyring_new();
    uint8_t key[32];
    memset(key, fill, sizeof(key));
    if (kr == NULL || keyring_install(kr, id, key, NULL, 0) != 0)
        abort();
    return kr;
}

static void test_roundtrip(void)
{
    struct keyring *kr = ring(1, 0xaa);
    static const size_t sizes[] = {0, 1, 1356, 1357, 100000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        uint8_t *pt = malloc(n + 1), *ct = malloc(n + SEAL_OVERHEAD), *back = malloc(n + 1);
        randombytes_buf(pt, n);
        size_t clen, blen;
        CHECK_INT(seal_sync(kr, pt, n, ct, n + SEAL_OVERHEAD, &clen), 0);
        CHECK_INT(clen, n + SEAL_OVERHEAD);
        CHECK(ct[0] == 'S' && ct[1] == 'S' && ct[2] == SEAL_VERSION && ct[3] == 1);
        CHECK_INT(seal_sync_open(kr, ct, clen, back, n + 1, &blen, err, sizeof(err)), 0);
        CHECK_INT(blen, n);
        CHECK(n == 0 || memcmp(pt, back, n) == 0);
        free(pt);
        free(ct);
        free(back);
    }
    keyring_free(kr);
}

static void test_kinds_apart(void)
{
    struct keyring *kr = ring(1, 0xaa);
    uint8_t pt[32] = {1, 2, 3}, ct[32 + SEAL_OVERHEAD], out[64];
    size_t clen, olen;
    CHECK_INT(seal_sync(kr, pt, sizeof(pt), ct, sizeof(ct), &clen), 0);
    /* A push-pull payload is not a datagram... */
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, ct, clen, out, sizeof(out), &olen, NULL, err, sizeof(err)),
              SEAL_ERR_MAGIC);
    /* ...and a datagram is not a push-pull payload, even with its magic rewritten. */
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, pt, sizeof(pt), ct, sizeof(ct), &clen), 0);
    CHECK_INT(seal_sync_open(kr, ct, clen, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_MAGIC);
    ct[1] = 'S';
    CHECK_INT(seal_sync_open(kr, ct, clen, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_FORGED);
    CHECK_INT(olen, 0);
    keyring_free(kr);
}

static void test_flips_and_truncation(void)
{
    struct keyring *kr = ring(3, 0x55);
    uint8_t pt[200], ct[200 + SEAL_OVERHEAD], out[256];
    randombytes_buf(pt, sizeof(pt));
    size_t clen, olen;
    CHECK_INT(seal_sync(kr, pt, sizeof(pt), ct, sizeof(ct), &clen), 0);
    int accepted = 0;
    for (size_t bit = 0; bit < clen * 8; bit++) {
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        accepted += seal_sync_open(kr, ct, clen, out, sizeof(out), &olen, NULL, 0) == 0;
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK_INT(accepted, 0);
    for (size_t len = 0; len < clen; len++)
        accepted += seal_sync_open(kr, ct, len, out, sizeof(out), &olen, NULL, 0) == 0;
    CHECK_INT(accepted, 0);
    CHECK_INT(seal_sync_open(kr, ct, 10, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_SHORT);
    CHECK(strstr(err, "too short") != NULL);
    ct[2] = 9;
    CHECK_INT(seal_sync_open(kr, ct, clen, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_VERSION);
    CHECK(strstr(err, "unsupported protocol version 9") != NULL);
    ct[2] = SEAL_VERSION;
    CHECK_INT(seal_sync_open(kr, ct, clen, out, 10, &olen, err, sizeof(err)), SEAL_ERR_BUFFER);
    CHECK_INT(seal_sync_open(kr, ct, SEAL_SYNC_MAX + 1, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_LONG);
    keyring_free(kr);
}

static void test_keys(void)
{
    struct keyring *a = ring(1, 0x11), *b = ring(2, 0x22), *c = ring(1, 0x33);
    uint8_t pt[16] = {0}, ct[16 + SEAL_OVERHEAD], out[16];
    size_t clen, olen;
    CHECK_INT(seal_sync(a, pt, sizeof(pt), ct, sizeof(ct), &clen), 0);
    CHECK_INT(seal_sync_open(b, ct, clen, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_KEY_ID);
    CHECK(strstr(err, "unknown key id 1") != NULL);
    /* Same id, another cluster's key: forged. */
    CHECK_INT(seal_sync_open(c, ct, clen, out, sizeof(out), &olen, err, sizeof(err)),
              SEAL_ERR_FORGED);
    /* Rotation: b learns a's key and can open, while still sealing with its own primary. */
    uint8_t key[32];
    memset(key, 0x11, sizeof(key));
    CHECK_INT(keyring_install(b, 1, key, NULL, 0), 0);
    CHECK_INT(seal_sync_open(b, ct, clen, out, sizeof(out), &olen, err, sizeof(err)), 0);
    struct keyring *empty = keyring_new();
    CHECK_INT(seal_sync(empty, pt, sizeof(pt), ct, sizeof(ct), &clen), SEAL_ERR_NO_PRIMARY);
    keyring_free(a);
    keyring_free(b);
    keyring_free(c);
    keyring_free(empty);
}

int main(void)
{
    if (swcrypto_init() < 0)
        return 1;
    RUN(test_roundtrip);
    RUN(test_kinds_apart);
    RUN(test_flips_and_truncation);
    RUN(test_keys);
    return check_done();
}
