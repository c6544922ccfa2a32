/* keyring — cluster keys in one sodium_malloc block; see keyring.h for the rules. */
#include "crypto/keyring.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <string.h>

struct keyring_slot {
    uint8_t key[KEYRING_KEY_BYTES];
    uint8_t id;
};

struct keyring {
    struct keyring_slot slots[KEYRING_MAX_KEYS]; /* slots[0..count) in install order */
    size_t count;
    size_t primary; /* index into slots; meaningful when count > 0 */
};

struct keyring *keyring_new(void)
{
    struct keyring *kr = sodium_malloc(sizeof(*kr));
    if (kr == NULL)
        return NULL;
    sodium_memzero(kr, sizeof(*kr)); /* sodium_malloc fills with 0xdb */
    return kr;
}

void keyring_free(struct keyring *kr)
{
    if (kr == NULL)
        return;
    sodium_memzero(kr, sizeof(*kr));
    sodium_free(kr);
}

void keyring_clear(struct keyring *kr)
{
    sodium_memzero(kr, sizeof(*kr));
}

static int find(const struct keyring *kr, uint8_t id)
{
    for (size_t i = 0; i < kr->count; i++) {
        if (kr->slots[i].id == id)
            return (int)i;
    }
    return -1;
}

int keyring_install(struct keyring *kr, uint8_t id, const uint8_t key[KEYRING_KEY_BYTES], char *err,
                    size_t errlen)
{
    if (find(kr, id) >= 0) {
        swcrypto_err(err, errlen, "key %u is already in the keyring", (unsigned)id);
        return -1;
    }
    if (kr->count == KEYRING_MAX_KEYS) {
        swcrypto_err(err, errlen, "keyring is full (%u keys); remove an old key first",
                     (unsigned)KEYRING_MAX_KEYS);
        return -1;
    }
    struct keyring_slot *s = &kr->slots[kr->count];
    memcpy(s->key, key, KEYRING_KEY_BYTES);
    s->id = id;
    if (kr->count == 0)
        kr->primary = 0;
    kr->count++;
    return 0;
}

int keyring_generate(struct keyring *kr, uint8_t *id_out, char *err, size_t errlen)
{
    if (kr->count == KEYRING_MAX_KEYS) {
        swcrypto_err(err, errlen, "keyring is full (%u keys); remove an old key first",
                     (unsigned)KEYRING_MAX_KEYS);
        return -1;
    }
    unsigned id = 1;
    while (find(kr, (uint8_t)id) >= 0) /* at most 8 taken: ends by id 9 */
        id++;
    uint8_t key[KEYRING_KEY_BYTES];
    randombytes_buf(key, sizeof(key));
    int rc = keyring_install(kr, (uint8_t)id, key, err, errlen);
    sodium_memzero(key, sizeof(key));
    if (rc == 0)
        *id_out = (uint8_t)id;
    return rc;
}

int keyring_use(struct keyring *kr, uint8_t id, char *err, size_t errlen)
{
    int i = find(kr, id);
    if (i < 0) {
        swcrypto_err(err, errlen, "no key %u in the keyring", (unsigned)id);
        return -1;
    }
    kr->primary = (size_t)i;
    return 0;
}

int keyring_remove(struct keyring *kr, uint8_t id, char *err, size_t errlen)
{
    int i = find(kr, id);
    if (i < 0) {
        swcrypto_err(err, errlen, "no key %u in the keyring", (unsigned)id);
        return -1;
    }
    if ((size_t)i == kr->primary) {
        swcrypto_err(err, errlen,
                     "key %u is the primary; make another key primary before removing it",
                     (unsigned)id);
        return -1;
    }
    size_t idx = (size_t)i;
    memmove(&kr->slots[idx], &kr->slots[idx + 1], (kr->count - idx - 1) * sizeof(kr->slots[0]));
    kr->count--;
    sodium_memzero(&kr->slots[kr->count], sizeof(kr->slots[0])); /* the copy left at the end */
    if (kr->primary > idx)
        kr->primary--;
    return 0;
}

const uint8_t *keyring_lookup(const struct keyring *kr, uint8_t id)
{
    int i = find(kr, id);
    return i < 0 ? NULL : kr->slots[i].key;
}

int keyring_primary(const struct keyring *kr, uint8_t *id_out, const uint8_t **key_out)
{
    if (kr->count == 0)
        return -1;
    if (id_out != NULL)
        *id_out = kr->slots[kr->primary].id;
    if (key_out != NULL)
        *key_out = kr->slots[kr->primary].key;
    return 0;
}

size_t keyring_count(const struct keyring *kr)
{
    return kr->count;
}

size_t keyring_ids(const struct keyring *kr, uint8_t ids[KEYRING_MAX_KEYS])
{
    for (size_t i = 0; i < kr->count; i++)
        ids[i] = kr->slots[i].id;
    return kr->count;
}
