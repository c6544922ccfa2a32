/*
 * keyring — the cluster keys that seal gossip datagrams and beacons.
 *
 * Up to KEYRING_MAX_KEYS keys of 32 bytes, each named by a 1-byte id (any value 0..255). One key
 * is the primary: datagrams are sealed with it and opened with whichever key their id names.
 * Rotation is install (every member learns the new key), use (make it primary), remove (drop the
 * old one); at no step can two members fail to talk. Rules: the first key installed into an
 * empty ring becomes primary; the primary cannot be removed; ids are unique.
 *
 * Memory: the ring lives in one sodium_malloc() block — guard pages on both sides, a canary,
 * mlock() (best effort: RLIMIT_MEMLOCK may refuse, and that is not an error) and MADV_DONTDUMP,
 * so keys stay out of swap and core dumps. It costs a few pages, which is fine for the one ring a
 * process holds. Removed keys and the whole ring on free are wiped (sodium_memzero, and
 * sodium_free wipes again). Not thread-safe: one owner, or the caller locks.
 *
 * File format and loading: keyfile.h. Pure code otherwise: no I/O.
 */
#ifndef SWARM_CRYPTO_KEYRING_H
#define SWARM_CRYPTO_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define KEYRING_MAX_KEYS 8
#define KEYRING_KEY_BYTES 32

struct keyring; /* opaque; keyring_new / keyring_free */

/* An empty ring, or NULL if memory is short (or swcrypto_init was not called). */
struct keyring *keyring_new(void);

/* Wipes and frees the ring; NULL is fine. Pointers from keyring_lookup die with it. */
void keyring_free(struct keyring *kr);

/* Removes and wipes every key: the ring is empty again. */
void keyring_clear(struct keyring *kr);

/* Adds a key (copied). The first key of an empty ring becomes primary. Returns 0, or -1 with a
 * message in err: the id is taken, or the ring is full. */
int keyring_install(struct keyring *kr, uint8_t id, const uint8_t key[KEYRING_KEY_BYTES], char *err,
                    size_t errlen);

/* Installs a fresh random key under the lowest id (from 1) not in use and returns the id in
 * *id_out. -1 with a message if the ring is full. */
int keyring_generate(struct keyring *kr, uint8_t *id_out, char *err, size_t errlen);

/* Makes key id the primary. -1 with a message if the ring has no such key. */
int keyring_use(struct keyring *kr, uint8_t id, char *err, size_t errlen);

/* Removes and wipes key id. -1 with a message if there is no such key or it is the primary. */
int keyring_remove(struct keyring *kr, uint8_t id, char *err, size_t errlen);

/* The key named id, or NULL. The pointer stays valid until that key is removed or the ring is
 * freed; the caller must not keep a copy of the bytes. */
const uint8_t *keyring_lookup(const struct keyring *kr, uint8_t id);

/* The primary's id (and key, if key_out is not NULL). -1 if the ring is empty. */
int keyring_primary(const struct keyring *kr, uint8_t *id_out, const uint8_t **key_out);

/* Number of keys, and their ids in install order (ids must hold KEYRING_MAX_KEYS). */
size_t keyring_count(const struct keyring *kr);
size_t keyring_ids(const struct keyring *kr, uint8_t ids[KEYRING_MAX_KEYS]);

#endif
