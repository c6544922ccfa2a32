/*
 * Unit tests for crypto/token: a known-answer token (cross-checked with Python's base64 and
 * hashlib.blake2b), round trips, whitespace, and every kind of typo — every single changed
 * character, every truncation — reported as "invalid token", never accepted.
 */
#include "crypto/swcrypto.h"
#include "crypto/token.h"
#include "tests/unit/check.h"

#include <sodium.h>

static char err[256];

/* key id 1, cluster key 00..1f, manager key 20..3f */
static const char kat[] = "SWARM1-AQEAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKy"
                          "wtLi8wMTIzNDU2Nzg5Ojs8PT4_mclbBg";

static void kat_token(struct join_token *t)
{
    t->key_id = 1;
    for (int i = 0; i < 32; i++) {
        t->cluster_key[i] = (uint8_t)i;
        t->manager_pk[i] = (uint8_t)(0x20 + i);
    }
}

static int parse(const char *s, struct join_token *t)
{
    err[0] = '\0';
    return token_parse(s, strlen(s), t, err, sizeof(err));
}

static int is_zero(const struct join_token *t)
{
    return sodium_is_zero((const unsigned char *)t, sizeof(*t));
}

static void test_known_answer(void)
{
    struct join_token t, u;
    kat_token(&t);
    char buf[TOKEN_BUF_BYTES];
    token_format(&t, buf);
    CHECK_STR(buf, kat);
    CHECK_INT(strlen(buf), TOKEN_CHARS);
    CHECK_INT(TOKEN_CHARS, 101);
    CHECK_INT(parse(kat, &u), TOKEN_OK);
    CHECK(memcmp(&t, &u, sizeof(t)) == 0);
    token_wipe(&u);
    CHECK(is_zero(&u));
}

static void test_round_trip_random(void)
{
    for (int i = 0; i < 50; i++) {
        struct join_token t, u;
        randombytes_buf(&t, sizeof(t));
        char buf[TOKEN_BUF_BYTES];
        token_format(&t, buf);
        CHECK(strncmp(buf, TOKEN_PREFIX, 7) == 0);
        /* Printable and shell-safe: base64url only. */
        CHECK(strspn(buf + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              TOKEN_B64_CHARS);
        CHECK_INT(parse(buf, &u), TOKEN_OK);
        CHECK(memcmp(&t, &u, sizeof(t)) == 0);
    }
}

static void test_whitespace(void)
{
    struct join_token t;
    char buf[256];
    snprintf(buf, sizeof(buf), "  \t\n%s\r\n \n", kat);
    CHECK_INT(parse(buf, &t), TOKEN_OK);
    CHECK_INT(t.key_id, 1);
    /* Whitespace inside is a typo. */
    snprintf(buf, sizeof(buf), "%.40s %s", kat, kat + 41);
    CHECK_INT(parse(buf, &t), TOKEN_ERR_BASE64);
    CHECK(is_zero(&t));
    CHECK_INT(parse("", &t), TOKEN_ERR_PREFIX);
    CHECK_INT(parse(" \n ", &t), TOKEN_ERR_PREFIX);
    /* A length is given: bytes after it are not read, and a NUL inside is just a bad byte. */
    CHECK_INT(token_parse(kat, 50, &t, err, sizeof(err)), TOKEN_ERR_LENGTH);
    memcpy(buf, kat, sizeof(kat));
    buf[60] = '\0';
    CHECK_INT(token_parse(buf, TOKEN_CHARS, &t, err, sizeof(err)), TOKEN_ERR_BASE64);
}

static void test_messages(void)
{
    struct join_token t;
    CHECK_INT(parse("swarm1-abc", &t), TOKEN_ERR_PREFIX);
    CHECK_STR(err, "invalid token: bad prefix (a token starts with SWARM1-)");
    CHECK_INT(parse("SWARM2-AAAA", &t), TOKEN_ERR_VERSION);
    CHECK_STR(err, "invalid token: unsupported token version 2 (this swarm reads SWARM1-)");
    CHECK_INT(parse("SWARM1-AAAA", &t), TOKEN_ERR_LENGTH);
    CHECK_STR(err, "invalid token: bad length (4 characters after SWARM1-, want 94)");

    char buf[256];
    snprintf(buf, sizeof(buf), "%s=", kat); /* padding is not part of the format */
    CHECK_INT(parse(buf, &t), TOKEN_ERR_LENGTH);
    memcpy(buf, kat, sizeof(kat));
    buf[20] = '+'; /* standard base64, not base64url */
    CHECK_INT(parse(buf, &t), TOKEN_ERR_BASE64);
    CHECK_STR(err, "invalid token: bad base64 (a character is not A-Z a-z 0-9 - _)");

    /* Checksum bytes changed, encoding valid: checksum mismatch. */
    uint8_t bin[TOKEN_BIN_BYTES];
    size_t binlen;
    CHECK_INT(sodium_base642bin(bin, sizeof(bin), kat + 7, TOKEN_B64_CHARS, NULL, &binlen, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING),
              0);
    bin[69] ^= 0x10;
    memcpy(buf, "SWARM1-", 7);
    sodium_bin2base64(buf + 7, sizeof(buf) - 7, bin, sizeof(bin),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    CHECK_INT(parse(buf, &t), TOKEN_ERR_CHECKSUM);
    CHECK_STR(err, "invalid token: checksum mismatch (mistyped or truncated? copy the whole last "
                   "line that `swarm init` printed)");
    CHECK(is_zero(&t));

    /* A valid checksum over an unknown version byte. */
    bin[69] ^= 0x10;
    bin[0] = 9;
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), bin, 66, NULL, 0);
    memcpy(bin + 66, h, 4);
    sodium_bin2base64(buf + 7, sizeof(buf) - 7, bin, sizeof(bin),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    CHECK_INT(parse(buf, &t), TOKEN_ERR_VERSION);
    CHECK_STR(err, "invalid token: unsupported token format version 9");
}

/* Every single character of the token replaced by every other printable character: never
 * accepted, always an "invalid token" message. This includes the 3 non-canonical spellings of
 * the last character that libsodium's decoder alone would accept. */
static void test_every_typo(void)
{
    char buf[TOKEN_BUF_BYTES];
    struct join_token t;
    int accepted = 0, unlabelled = 0, tried = 0, by_code[6] = {0};
    for (size_t pos = 0; pos < TOKEN_CHARS; pos++) {
        for (int c = 0x21; c < 0x7f; c++) {
            if (c == kat[pos])
                continue;
            memcpy(buf, kat, sizeof(kat));
            buf[pos] = (char)c;
            int rc = parse(buf, &t);
            tried++;
            if (rc == TOKEN_OK) {
                accepted++;
                printf("# accepted typo at %zu: %c\n", pos, c);
                continue;
            }
            by_code[-rc]++;
            unlabelled += strncmp(err, "invalid token: ", 15) != 0 || !is_zero(&t);
        }
    }
    CHECK_INT(accepted, 0);
    CHECK_INT(unlabelled, 0);
    CHECK_INT(tried, TOKEN_CHARS * 93);
    CHECK(by_code[-TOKEN_ERR_CHECKSUM] > 0);
    CHECK(by_code[-TOKEN_ERR_BASE64] > 0);
    CHECK(by_code[-TOKEN_ERR_PREFIX] > 0);
    CHECK(by_code[-TOKEN_ERR_VERSION] > 0); /* SWARM1 -> SWARMn */
}

static void test_every_truncation(void)
{
    struct join_token t;
    int accepted = 0;
    for (size_t len = 0; len < TOKEN_CHARS; len++)
        accepted += token_parse(kat, len, &t, err, sizeof(err)) == TOKEN_OK;
    CHECK_INT(accepted, 0);
    /* Dropping one character anywhere (a common copy slip). */
    char buf[TOKEN_BUF_BYTES];
    for (size_t pos = 0; pos < TOKEN_CHARS; pos++) {
        memcpy(buf, kat, pos);
        memcpy(buf + pos, kat + pos + 1, TOKEN_CHARS - pos);
        accepted += parse(buf, &t) == TOKEN_OK;
    }
    CHECK_INT(accepted, 0);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    RUN(test_known_answer);
    RUN(test_round_trip_random);
    RUN(test_whitespace);
    RUN(test_messages);
    RUN(test_every_typo);
    RUN(test_every_truncation);
    return check_done();
}
