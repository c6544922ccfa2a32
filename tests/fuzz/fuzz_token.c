/*
 * Fuzz target for crypto/token: the join token parser. Must never crash or over-read (the input
 * is not NUL-terminated). A parsed token must be canonical: formatting it again gives the input
 * without its surrounding whitespace, byte for byte. A failure zeroes the token and says
 * "invalid token: ...".
 */
#include "crypto/swcrypto.h"
#include "crypto/token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (swcrypto_init() != 0)
        abort();
    struct join_token t;
    char err[256];
    int rc = token_parse((const char *)data, size, &t, err, sizeof(err));
    if (rc != TOKEN_OK) {
        static const struct join_token zero;
        if (rc >= 0 || memcmp(&t, &zero, sizeof(t)) != 0 || strncmp(err, "invalid token: ", 15))
            abort();
        return 0;
    }
    size_t start = 0, end = size;
    while (start < end && space(data[start]))
        start++;
    while (end > start && space(data[end - 1]))
        end--;
    char buf[TOKEN_BUF_BYTES];
    token_format(&t, buf);
    if (end - start != TOKEN_CHARS || memcmp(buf, data + start, TOKEN_CHARS) != 0)
        abort();
    token_wipe(&t);
    return 0;
}
