/*
 * token — the join token: one printable line an operator copies from `swarm init` to
 * `swarm join --token` on every Docker host.
 *
 *   SWARM1-<94 characters of unpadded base64url (RFC 4648 §5)>      101 characters in all
 *
 * The base64url decodes to 70 bytes:
 *
 *    0         1        2                 34                   66           70
 *   +---------+--------+-----------------+--------------------+------------+
 *   | version | key id | cluster key (32)| manager X25519 pk  | checksum 4 |
 *   +---------+--------+-----------------+--------------------+------------+
 *
 *   version   TOKEN_VERSION (1)
 *   checksum  the first 4 bytes of BLAKE2b-256 (crypto_generichash, no key) over bytes 0..66
 *
 * The checksum catches typos, so a mistyped token is "invalid token: checksum mismatch" at once
 * and never a decryption failure later; it is not a MAC (anyone can recompute it) and needs not
 * be one: the token is a secret handed over out of band. The parser is total, allocates
 * nothing, ignores whitespace around the token, and accepts only the canonical encoding
 * (libsodium 1.0.18 alone would accept 4 spellings of the last character).
 */
#ifndef SWARM_CRYPTO_TOKEN_H
#define SWARM_CRYPTO_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX "SWARM1-"
#define TOKEN_VERSION 1
#define TOKEN_BIN_BYTES 70
#define TOKEN_B64_CHARS 94
#define TOKEN_CHARS (sizeof(TOKEN_PREFIX) - 1 + TOKEN_B64_CHARS) /* 101 */
#define TOKEN_BUF_BYTES (TOKEN_CHARS + 1)                        /* with the NUL */

/* What a token carries. Holds a secret: finish with token_wipe(). */
struct join_token {
    uint8_t key_id;
    uint8_t cluster_key[32];
    uint8_t manager_pk[32];
};

enum token_error {
    TOKEN_OK = 0,
    TOKEN_ERR_PREFIX = -1,   /* does not start with SWARM1- */
    TOKEN_ERR_VERSION = -2,  /* SWARMn- with another n, or an unknown version byte */
    TOKEN_ERR_LENGTH = -3,   /* not 94 characters after the prefix */
    TOKEN_ERR_BASE64 = -4,   /* a character outside base64url, or a non-canonical last one */
    TOKEN_ERR_CHECKSUM = -5, /* mistyped */
};

/* Writes the token and a NUL into out (TOKEN_BUF_BYTES). */
void token_format(const struct join_token *t, char out[TOKEN_BUF_BYTES]);

/* Parses text[0..len). Returns 0, or a negative token_error with a message in err starting
 * "invalid token: ". On failure *t is zeroed. */
int token_parse(const char *text, size_t len, struct join_token *t, char *err, size_t errlen);

void token_wipe(struct join_token *t);

#endif
