/* token — encode and parse the join token; the format is drawn in token.h. */
#include "crypto/token.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)
#define BODY_BYTES (TOKEN_BIN_BYTES - 4) /* what the checksum covers */
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(TOKEN_BIN_BYTES == 1 + 1 + 32 + 32 + 4, "token layout");
_Static_assert(TOKEN_B64_CHARS == (TOKEN_BIN_BYTES * 4 + 2) / 3, "base64 length");

static void checksum(const uint8_t body[BODY_BYTES], uint8_t out[4])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), body, BODY_BYTES, NULL, 0);
    memcpy(out, h, 4);
}

static void pack(const struct join_token *t, uint8_t bin[TOKEN_BIN_BYTES])
{
    bin[0] = TOKEN_VERSION;
    bin[1] = t->key_id;
    memcpy(bin + 2, t->cluster_key, 32);
    memcpy(bin + 34, t->manager_pk, 32);
    checksum(bin, bin + BODY_BYTES);
}

void token_format(const struct join_token *t, char out[TOKEN_BUF_BYTES])
{
    uint8_t bin[TOKEN_BIN_BYTES];
    pack(t, bin);
    memcpy(out, TOKEN_PREFIX, PREFIX_LEN);
    sodium_bin2base64(out + PREFIX_LEN, TOKEN_B64_CHARS + 1, bin, sizeof(bin), B64_VARIANT);
    sodium_memzero(bin, sizeof(bin));
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int fail(struct join_token *t, int code, char *err, size_t errlen, const char *why)
{
    sodium_memzero(t, sizeof(*t));
    swcrypto_err(err, errlen, "invalid token: %s", why);
    return code;
}

int token_parse(const char *text, size_t len, struct join_token *t, char *err, size_t errlen)
{
    sodium_memzero(t, sizeof(*t));
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1]))
        len--;

    if (len < PREFIX_LEN || memcmp(text, TOKEN_PREFIX, PREFIX_LEN) != 0) {
        /* SWARMn- with a digit n other than 1: a token from another version of swarm. */
        if (len >= PREFIX_LEN && memcmp(text, "SWARM", 5) == 0 && text[5] >= '0' &&
            text[5] <= '9' && text[6] == '-') {
            char why[96];
            snprintf(why, sizeof(why), "unsupported token version %c (this swarm reads %s)",
                     text[5], TOKEN_PREFIX);
            return fail(t, TOKEN_ERR_VERSION, err, errlen, why);
        }
        return fail(t, TOKEN_ERR_PREFIX, err, errlen, "bad prefix (a token starts with SWARM1-)");
    }
    text += PREFIX_LEN;
    len -= PREFIX_LEN;
    if (len != TOKEN_B64_CHARS) {
        char why[96];
        snprintf(why, sizeof(why), "bad length (%zu characters after SWARM1-, want %d)", len,
                 TOKEN_B64_CHARS);
        return fail(t, TOKEN_ERR_LENGTH, err, errlen, why);
    }

    uint8_t bin[TOKEN_BIN_BYTES];
    size_t binlen = 0;
    const char *end = NULL;
    int rc = sodium_base642bin(bin, sizeof(bin), text, len, NULL, &binlen, &end, B64_VARIANT);
    if (rc != 0 || end != text + len || binlen != TOKEN_BIN_BYTES) {
        sodium_memzero(bin, sizeof(bin));
        return fail(t, TOKEN_ERR_BASE64, err, errlen,
                    "bad base64 (a character is not A-Z a-z 0-9 - _)");
    }
    /* Canonical only: the last character carries 2 data bits and 4 bits that must be zero. */
    char again[TOKEN_B64_CHARS + 1];
    sodium_bin2base64(again, sizeof(again), bin, sizeof(bin), B64_VARIANT);
    int canonical = sodium_memcmp(again, text, TOKEN_B64_CHARS) == 0;
    sodium_memzero(again, sizeof(again));
    if (!canonical) {
        sodium_memzero(bin, sizeof(bin));
        return fail(t, TOKEN_ERR_BASE64, err, errlen, "bad base64 (last character)");
    }

    uint8_t sum[4];
    checksum(bin, sum);
    if (sodium_memcmp(sum, bin + BODY_BYTES, 4) != 0) {
        sodium_memzero(bin, sizeof(bin));
        return fail(t, TOKEN_ERR_CHECKSUM, err, errlen,
                    "checksum mismatch (mistyped or truncated? copy the whole last line that "
                    "`swarm init` printed)");
    }
    if (bin[0] != TOKEN_VERSION) {
        char why[64];
        snprintf(why, sizeof(why), "unsupported token format version %u", (unsigned)bin[0]);
        sodium_memzero(bin, sizeof(bin));
        return fail(t, TOKEN_ERR_VERSION, err, errlen, why);
    }
    t->key_id = bin[1];
    memcpy(t->cluster_key, bin + 2, 32);
    memcpy(t->manager_pk, bin + 34, 32);
    sodium_memzero(bin, sizeof(bin));
    return TOKEN_OK;
}

void token_wipe(struct join_token *t)
{
    sodium_memzero(t, sizeof(*t));
}
