/* Unit tests for crypto/keyring: install / use / remove rules, lookup, generate, clear. */
#include "crypto/keyring.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"

static char err[256];

static void key_of(uint8_t key[KEYRING_KEY_BYTES], uint8_t fill)
{
    memset(key, fill, KEYRING_KEY_BYTES);
}

static void test_empty(void)
{
    struct keyring *kr = keyring_new();
    CHECK(kr != NULL);
    uint8_t id = 99;
    CHECK_INT(keyring_count(kr), 0);
    CHECK_INT(keyring_primary(kr, &id, NULL), -1);
    CHECK_INT(id, 99); /* untouched */
    CHECK(keyring_lookup(kr, 0) == NULL);
    CHECK(keyring_lookup(kr, 1) == NULL);
    keyring_free(kr);
    keyring_free(NULL); /* allowed */
}

static void test_install_first_is_primary(void)
{
    struct keyring *kr = keyring_new();
    uint8_t k[KEYRING_KEY_BYTES], id;
    const uint8_t *pk;
    key_of(k, 0xa1);
    CHECK_INT(keyring_install(kr, 5, k, err, sizeof(err)), 0);
    key_of(k, 0xa2);
    CHECK_INT(keyring_install(kr, 6, k, err, sizeof(err)), 0);
    CHECK_INT(keyring_primary(kr, &id, &pk), 0);
    CHECK_INT(id, 5);
    CHECK_INT(pk[0], 0xa1);
    CHECK_INT(keyring_lookup(kr, 6)[31], 0xa2);
    /* The ring copies the key: changing the caller's buffer changes nothing. */
    key_of(k, 0);
    CHECK_INT(keyring_lookup(kr, 6)[0], 0xa2);
    /* Ids 0 and 255 are ordinary ids. */
    CHECK_INT(keyring_install(kr, 0, k, err, sizeof(err)), 0);
    CHECK_INT(keyring_install(kr, 255, k, err, sizeof(err)), 0);
    CHECK(keyring_lookup(kr, 0) != NULL);
    CHECK(keyring_lookup(kr, 255) != NULL);
    CHECK(keyring_lookup(kr, 7) == NULL);
    keyring_free(kr);
}

static void test_duplicate_and_full(void)
{
    struct keyring *kr = keyring_new();
    uint8_t k[KEYRING_KEY_BYTES];
    key_of(k, 1);
    CHECK_INT(keyring_install(kr, 1, k, err, sizeof(err)), 0);
    key_of(k, 2);
    CHECK_INT(keyring_install(kr, 1, k, err, sizeof(err)), -1);
    CHECK_STR(err, "key 1 is already in the keyring");
    CHECK_INT(keyring_lookup(kr, 1)[0], 1); /* the first key stays */
    for (uint8_t id = 2; id <= KEYRING_MAX_KEYS; id++)
        CHECK_INT(keyring_install(kr, id, k, err, sizeof(err)), 0);
    CHECK_INT(keyring_count(kr), KEYRING_MAX_KEYS);
    CHECK_INT(keyring_install(kr, 100, k, err, sizeof(err)), -1);
    CHECK_STR(err, "keyring is full (8 keys); remove an old key first");
    uint8_t id;
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), -1);
    CHECK_INT(keyring_count(kr), KEYRING_MAX_KEYS);
    /* NULL err is allowed. */
    CHECK_INT(keyring_install(kr, 100, k, NULL, 0), -1);
    keyring_free(kr);
}

static void test_use_and_remove(void)
{
    struct keyring *kr = keyring_new();
    uint8_t k[KEYRING_KEY_BYTES], id;
    for (uint8_t i = 1; i <= 3; i++) {
        key_of(k, i);
        CHECK_INT(keyring_install(kr, i, k, err, sizeof(err)), 0);
    }
    CHECK_INT(keyring_use(kr, 9, err, sizeof(err)), -1);
    CHECK_STR(err, "no key 9 in the keyring");
    CHECK_INT(keyring_use(kr, 3, err, sizeof(err)), 0);
    CHECK_INT(keyring_primary(kr, &id, NULL), 0);
    CHECK_INT(id, 3);

    CHECK_INT(keyring_remove(kr, 3, err, sizeof(err)), -1);
    CHECK_STR(err, "key 3 is the primary; make another key primary before removing it");
    CHECK_INT(keyring_remove(kr, 9, err, sizeof(err)), -1);
    CHECK_STR(err, "no key 9 in the keyring");

    /* Removing a key before the primary keeps the primary pointing at the same key. */
    CHECK_INT(keyring_remove(kr, 1, err, sizeof(err)), 0);
    CHECK(keyring_lookup(kr, 1) == NULL);
    CHECK_INT(keyring_count(kr), 2);
    const uint8_t *pk;
    CHECK_INT(keyring_primary(kr, &id, &pk), 0);
    CHECK_INT(id, 3);
    CHECK_INT(pk[0], 3);
    CHECK_INT(keyring_lookup(kr, 2)[0], 2);

    uint8_t ids[KEYRING_MAX_KEYS];
    CHECK_INT(keyring_ids(kr, ids), 2);
    CHECK_INT(ids[0], 2);
    CHECK_INT(ids[1], 3);

    /* Rotation to key 2, then the old primary goes. */
    CHECK_INT(keyring_use(kr, 2, err, sizeof(err)), 0);
    CHECK_INT(keyring_remove(kr, 3, err, sizeof(err)), 0);
    CHECK_INT(keyring_primary(kr, &id, &pk), 0);
    CHECK_INT(id, 2);
    CHECK_INT(pk[0], 2);
    /* The last key is the primary: it cannot go. */
    CHECK_INT(keyring_remove(kr, 2, err, sizeof(err)), -1);
    CHECK_INT(keyring_count(kr), 1);
    keyring_free(kr);
}

static void test_generate(void)
{
    struct keyring *kr = keyring_new();
    uint8_t id, id2;
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), 0);
    CHECK_INT(id, 1);
    CHECK_INT(keyring_generate(kr, &id2, err, sizeof(err)), 0);
    CHECK_INT(id2, 2);
    /* Random keys differ. */
    CHECK(memcmp(keyring_lookup(kr, 1), keyring_lookup(kr, 2), KEYRING_KEY_BYTES) != 0);
    CHECK_INT(keyring_use(kr, 2, err, sizeof(err)), 0);
    CHECK_INT(keyring_remove(kr, 1, err, sizeof(err)), 0);
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), 0);
    CHECK_INT(id, 1); /* the lowest free id */
    keyring_clear(kr);
    CHECK_INT(keyring_count(kr), 0);
    CHECK(keyring_lookup(kr, 2) == NULL);
    CHECK_INT(keyring_primary(kr, &id, NULL), -1);
    keyring_free(kr);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    RUN(test_empty);
    RUN(test_install_first_is_primary);
    RUN(test_duplicate_and_full);
    RUN(test_use_and_remove);
    RUN(test_generate);
    return check_done();
}
