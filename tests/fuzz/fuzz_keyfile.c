/*
 * Fuzz target for crypto/keyfile: the keyring and keypair file parsers, both on every input.
 * Must never crash, over-read or leak; a failed keyring parse leaves the ring empty; whatever
 * parses formats again and parses back to the same keys.
 */
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_keyring(struct keyring *kr, struct keyring *back, const uint8_t *data,
                          size_t size)
{
    char err[256];
    if (keyring_parse(kr, (const char *)data, size, err, sizeof(err)) != 0) {
        if (keyring_count(kr) != 0 || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return;
    }
    size_t n = keyring_count(kr);
    if (n < 1 || n > KEYRING_MAX_KEYS)
        abort();
    static char buf[KEYFILE_MAX_BYTES];
    size_t len;
    if (keyring_format(kr, buf, sizeof(buf), &len) != 0 ||
        keyring_parse(back, buf, len, err, sizeof(err)) != 0 || keyring_count(back) != n)
        abort();
    uint8_t ids[KEYRING_MAX_KEYS], p1, p2;
    keyring_ids(kr, ids);
    keyring_primary(kr, &p1, NULL);
    keyring_primary(back, &p2, NULL);
    if (p1 != p2)
        abort();
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = keyring_lookup(kr, ids[i]), *b = keyring_lookup(back, ids[i]);
        if (a == NULL || b == NULL || memcmp(a, b, KEYRING_KEY_BYTES) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct keyring *kr, *back;
    if (kr == NULL) {
        if (swcrypto_init() != 0 || (kr = keyring_new()) == NULL || (back = keyring_new()) == NULL)
            abort();
    }
    check_keyring(kr, back, data, size);
    keyring_clear(kr);
    keyring_clear(back);

    struct keypair kp, again;
    char err[256], buf[256];
    size_t len;
    if (keypair_parse(&kp, (const char *)data, size, err, sizeof(err)) == 0) {
        if (keypair_format(&kp, buf, sizeof(buf), &len) != 0 ||
            keypair_parse(&again, buf, len, err, sizeof(err)) != 0 ||
            memcmp(&kp, &again, sizeof(kp)) != 0)
            abort();
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    keypair_wipe(&kp);
    keypair_wipe(&again);
    return 0;
}
