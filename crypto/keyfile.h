/*
 * keyfile — key material in the state dir: the keyring and the static keypairs.
 *
 *   DIR/keyring       the cluster keys                    (swarm init, swarm keys; agents too)
 *   DIR/manager.key   the manager's X25519 keypair        (swarm init)
 *   DIR/agent.key     an agent's own X25519 keypair       (the agent, at first start)
 *
 * Each is a small text file, mode 0600, at most KEYFILE_MAX_BYTES, with lines ending in "\n"
 * (the last newline may be missing), single spaces between fields, hex in lower or upper case:
 *
 *   keyring:                              keypair:
 *     swarm-keyring 1                       swarm-keypair 1
 *     key ID HEX64 primary                  public HEX64
 *     key ID HEX64                          secret HEX64
 *
 * "1" is the format version. ID is decimal 0..255 without leading zeros; 1 to 8 keys, unique ids,
 * exactly one marked primary. A keypair's public key must be the one its secret key gives. No
 * comments, blank lines or other fields: a file that is not exactly this is refused with the
 * line and the reason.
 *
 * Writing is atomic: a temp file ".NAME.tmp-XXXXXX" in the same dir (mode 0600 from creation),
 * write, fsync, rename over NAME, fsync the dir; any failure removes the temp file. Reading
 * refuses anything but a regular file, a file owned by another user, a file group or others can
 * read, write or execute (with the chmod to run), and a file over the size bound. Buffers that held
 * secrets are wiped.
 *
 * Errors: every function returns 0 or -1 with a one-line message in err, naming the file.
 */
#ifndef SWARM_CRYPTO_KEYFILE_H
#define SWARM_CRYPTO_KEYFILE_H

#include "crypto/keypair.h"
#include "crypto/keyring.h"

#include <stddef.h>

#define KEYFILE_MAX_BYTES 4096
#define KEYFILE_KEYRING "keyring"
#define KEYFILE_MANAGER "manager.key"
#define KEYFILE_AGENT "agent.key"

/* Pure formats (no I/O); the parsers are total and fuzzed. keyring_parse needs an empty ring and
 * leaves it empty (wiped) on failure. Messages name the line: "line 3: duplicate key id 2". */
int keyring_format(const struct keyring *kr, char *buf, size_t cap, size_t *len);
int keyring_parse(struct keyring *kr, const char *text, size_t len, char *err, size_t errlen);
int keypair_format(const struct keypair *kp, char *buf, size_t cap, size_t *len);
int keypair_parse(struct keypair *kp, const char *text, size_t len, char *err, size_t errlen);

/* Atomically replaces DIR/NAME with data[0..len), mode 0600. The dir must exist. */
int keyfile_write(const char *dir, const char *name, const void *data, size_t len, char *err,
                  size_t errlen);

/* Reads DIR/NAME into buf (cap bytes, at most KEYFILE_MAX_BYTES are ever read) after the type,
 * mode and size checks. what names the file in messages ("keyring file"). */
int keyfile_read(const char *dir, const char *name, const char *what, char *buf, size_t cap,
                 size_t *len, char *err, size_t errlen);

/* DIR/keyring. keyring_load needs an empty ring. */
int keyring_save(const struct keyring *kr, const char *dir, char *err, size_t errlen);
int keyring_load(struct keyring *kr, const char *dir, char *err, size_t errlen);

/* DIR/NAME holding a keypair (KEYFILE_MANAGER or KEYFILE_AGENT). */
int keypair_save(const struct keypair *kp, const char *dir, const char *name, char *err,
                 size_t errlen);
int keypair_load(struct keypair *kp, const char *dir, const char *name, char *err, size_t errlen);

#endif
