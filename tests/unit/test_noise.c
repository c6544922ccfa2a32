/*
 * Unit tests for crypto/noise: HMAC/HKDF against RFC 4231, and the whole
 * Noise_KK_25519_ChaChaPoly_SHA256 handshake plus four transport messages against the published
 * cacophony vector (rweather/noise-c tests/vector/cacophony.txt; the handshake hash is from the
 * same vector as distributed with mcginty/snow, tests/vectors/cacophony.txt).
 */
#include "crypto/noise.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"

#include <sodium.h>

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) != 0)
        abort();
    return n;
}

static int eq_hex(const uint8_t *got, size_t len, const char *want_hex)
{
    uint8_t want[256];
    size_t n = unhex(want, sizeof(want), want_hex);
    return n == len && memcmp(got, want, len) == 0;
}

/* RFC 4231 test case 2 (key "Jefe") and HMAC with a key longer than the block (test case 6). */
static void test_hmac_rfc4231(void)
{
    uint8_t out[32];
    const char *data = "what do ya want for nothing?";
    noise_hmac_sha256(out, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, 14,
                      (const uint8_t *)data + 14, strlen(data) - 14);
    CHECK(eq_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));

    uint8_t key[131];
    memset(key, 0xaa, sizeof(key));
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    noise_hmac_sha256(out, key, sizeof(key), (const uint8_t *)msg, strlen(msg), NULL, 0);
    CHECK(eq_hex(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

/* HKDF outputs are chained: out2 = HMAC(temp, out1 || 2), so out1 != out2 and out3 differs too;
 * and the 2-output form is a prefix of the 3-output form. */
static void test_hkdf_chain(void)
{
    uint8_t ck[32], a1[32], a2[32], b1[32], b2[32], b3[32];
    memset(ck, 7, sizeof(ck));
    noise_hkdf(ck, (const uint8_t *)"ikm", 3, a1, a2, NULL);
    noise_hkdf(ck, (const uint8_t *)"ikm", 3, b1, b2, b3);
    CHECK(memcmp(a1, b1, 32) == 0);
    CHECK(memcmp(a2, b2, 32) == 0);
    CHECK(memcmp(a1, a2, 32) != 0);
    CHECK(memcmp(b2, b3, 32) != 0);
}

#define PROLOGUE "4a6f686e2047616c74"
#define INIT_STATIC "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"
#define INIT_EPHEMERAL "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
#define INIT_REMOTE_STATIC "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62"
#define RESP_STATIC "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"
#define RESP_EPHEMERAL "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"
#define RESP_REMOTE_STATIC "6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a"
#define HANDSHAKE_HASH "24c6b51ecb76277140ca018b5985bc9f03de321dae2d34dcae433dafef0131d9"

static const struct {
    const char *payload, *ciphertext;
} messages[6] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79440177015efc1fe7a37c629af7120a"
     "96274e6ab7afcc9261901d0e09ae32a5bb96"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843b274d3429adc47ca093ba63ef90f"
     "8da89fda108db471dccfa4894aa7b00003"},
    {"462e20412e20486179656b", "966b05bc69ec01b8454d3160a214e6f24a3d884eb31ec2408af63f"},
    {"4361726c204d656e676572", "0ad887fba4f611bbb4afe44ba3556b8164332ca7d5934634d63d80"},
    {"4a65616e2d426170746973746520536179",
     "012b28ae646ae7830e2c5472cb023eab071c1db3d8413ec69b513b83832f974c2d"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "bb3e6a48160d9c5971d37f975727294e0d868342db31832e54d07191ab0ca3c3703b5ed3d9"},
};

static void test_cacophony_kk(void)
{
    uint8_t pro[32], is[32], ie[32], irs[32], rs_[32], re[32], rrs[32];
    size_t prolen = unhex(pro, sizeof(pro), PROLOGUE);
    unhex(is, 32, INIT_STATIC);
    unhex(ie, 32, INIT_EPHEMERAL);
    unhex(irs, 32, INIT_REMOTE_STATIC);
    unhex(rs_, 32, RESP_STATIC);
    unhex(re, 32, RESP_EPHEMERAL);
    unhex(rrs, 32, RESP_REMOTE_STATIC);

    struct noise_kk ini, resp;
    CHECK_INT(noise_kk_init(&ini, 1, pro, prolen, is, NULL, irs), 0);
    CHECK_INT(noise_kk_init(&resp, 0, pro, prolen, rs_, NULL, rrs), 0);
    /* Each side's derived public key is the one the other side was given. */
    CHECK(memcmp(ini.s_pk, rrs, 32) == 0);
    CHECK(memcmp(resp.s_pk, irs, 32) == 0);
    noise_kk_fix_e(&ini, ie);
    noise_kk_fix_e(&resp, re);

    uint8_t payload[64], msg[128], got[128];
    size_t plen, mlen, glen;

    /* Message 0: initiator -> responder, handshake. */
    plen = unhex(payload, sizeof(payload), messages[0].payload);
    CHECK_INT(noise_kk_write(&ini, payload, plen, msg, sizeof(msg), &mlen), 0);
    CHECK(eq_hex(msg, mlen, messages[0].ciphertext));
    CHECK_INT(noise_kk_read(&resp, msg, mlen, got, sizeof(got), &glen), 0);
    CHECK(glen == plen && memcmp(got, payload, plen) == 0);

    /* Message 1: responder -> initiator, handshake. */
    plen = unhex(payload, sizeof(payload), messages[1].payload);
    CHECK_INT(noise_kk_write(&resp, payload, plen, msg, sizeof(msg), &mlen), 0);
    CHECK(eq_hex(msg, mlen, messages[1].ciphertext));
    CHECK_INT(noise_kk_read(&ini, msg, mlen, got, sizeof(got), &glen), 0);
    CHECK(glen == plen && memcmp(got, payload, plen) == 0);
    CHECK_INT(ini.step, NOISE_KK_DONE);
    CHECK_INT(resp.step, NOISE_KK_DONE);

    struct noise_cipher i1, i2, r1, r2;
    uint8_t hi[32], hr[32];
    CHECK_INT(noise_kk_split(&ini, &i1, &i2, hi), 0);
    CHECK_INT(noise_kk_split(&resp, &r1, &r2, hr), 0);
    CHECK(eq_hex(hi, 32, HANDSHAKE_HASH));
    CHECK(eq_hex(hr, 32, HANDSHAKE_HASH));
    CHECK_INT(ini.step, NOISE_KK_FAILED); /* split wipes the handshake state */

    /* Messages 2..5: transport, alternating, c1 initiator -> responder, c2 back. */
    for (int m = 2; m < 6; m++) {
        struct noise_cipher *tx = m % 2 == 0 ? &i1 : &r2;
        struct noise_cipher *rx = m % 2 == 0 ? &r1 : &i2;
        plen = unhex(payload, sizeof(payload), messages[m].payload);
        CHECK_INT(noise_cipher_encrypt(tx, NULL, 0, payload, plen, msg), 0);
        CHECK(eq_hex(msg, plen + 16, messages[m].ciphertext));
        CHECK_INT(noise_cipher_decrypt(rx, NULL, 0, msg, plen + 16, got), 0);
        CHECK(memcmp(got, payload, plen) == 0);
    }
    noise_cipher_wipe(&i1);
    noise_cipher_wipe(&i2);
    noise_cipher_wipe(&r1);
    noise_cipher_wipe(&r2);
}

/* Out-of-turn calls, short messages, a flipped bit and a low-order key all fail and wipe. */
static void test_kk_failures(void)
{
    uint8_t is[32], rs_[32], ipk[32], rpk[32];
    unhex(is, 32, INIT_STATIC);
    unhex(rs_, 32, RESP_STATIC);
    unhex(rpk, 32, INIT_REMOTE_STATIC);
    unhex(ipk, 32, RESP_REMOTE_STATIC);
    struct noise_kk ini, resp;
    uint8_t msg[128], got[64];
    size_t mlen, glen;

    /* The responder cannot write first; the initiator cannot read first. */
    CHECK_INT(noise_kk_init(&resp, 0, NULL, 0, rs_, NULL, ipk), 0);
    CHECK_INT(noise_kk_write(&resp, NULL, 0, msg, sizeof(msg), &mlen), -1);
    CHECK_INT(resp.step, NOISE_KK_FAILED);
    CHECK_INT(noise_kk_init(&ini, 1, NULL, 0, is, NULL, rpk), 0);
    CHECK_INT(noise_kk_read(&ini, msg, 48, got, sizeof(got), &glen), -1);

    /* Flipped bit in the tag; message shorter than e + tag. */
    CHECK_INT(noise_kk_init(&ini, 1, NULL, 0, is, NULL, rpk), 0);
    CHECK_INT(noise_kk_write(&ini, NULL, 0, msg, sizeof(msg), &mlen), 0);
    CHECK_INT(mlen, 48);
    msg[47] ^= 1;
    CHECK_INT(noise_kk_init(&resp, 0, NULL, 0, rs_, NULL, ipk), 0);
    CHECK_INT(noise_kk_read(&resp, msg, mlen, got, sizeof(got), &glen), -1);
    CHECK_INT(noise_kk_init(&resp, 0, NULL, 0, rs_, NULL, ipk), 0);
    CHECK_INT(noise_kk_read(&resp, msg, 47, got, sizeof(got), &glen), -1);

    /* A low-order ephemeral key (the zero point) makes DH fail. */
    memset(msg, 0, 48);
    CHECK_INT(noise_kk_init(&resp, 0, NULL, 0, rs_, NULL, ipk), 0);
    CHECK_INT(noise_kk_read(&resp, msg, 48, got, sizeof(got), &glen), -1);

    /* A different prologue on one side breaks the first tag. */
    CHECK_INT(noise_kk_init(&ini, 1, (const uint8_t *)"a", 1, is, NULL, rpk), 0);
    CHECK_INT(noise_kk_write(&ini, NULL, 0, msg, sizeof(msg), &mlen), 0);
    CHECK_INT(noise_kk_init(&resp, 0, (const uint8_t *)"b", 1, rs_, NULL, ipk), 0);
    CHECK_INT(noise_kk_read(&resp, msg, mlen, got, sizeof(got), &glen), -1);
    noise_kk_wipe(&ini);

    /* Split before the end fails. */
    struct noise_cipher c1, c2;
    CHECK_INT(noise_kk_init(&ini, 1, NULL, 0, is, NULL, rpk), 0);
    CHECK_INT(noise_kk_split(&ini, &c1, &c2, NULL), -1);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    RUN(test_hmac_rfc4231);
    RUN(test_hkdf_chain);
    RUN(test_cacophony_kk);
    RUN(test_kk_failures);
    return check_done();
}
