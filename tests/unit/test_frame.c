/*
 * Unit tests for crypto/frame, run once per suite (secretstream; AES-256-GCM where this machine
 * has it): round trips up to the 1 MiB bound, byte-by-byte reassembly, and every way a stream
 * can be broken — swapped, dropped, duplicated, truncated, tampered frames, bad lengths —
 * closing the direction for good; then GCM's own rules: the rekey every FRAME_GCM_REKEY_FRAMES
 * frames, the counter that never wraps, a forged FINAL.
 */
#include "crypto/frame.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"

#include <sodium.h>

static unsigned suite = FRAME_SUITE_SECRETSTREAM; /* the suite under test */

/* a sends to b with k1, b sends to a with k2. */
static void pair(struct frame_cipher *a, struct frame_cipher *b)
{
    uint8_t k1[32], k2[32], ha[24], hb[24];
    randombytes_buf(k1, sizeof(k1));
    randombytes_buf(k2, sizeof(k2));
    if (frame_cipher_init_suite(a, suite, k1, k2, ha) != 0 ||
        frame_cipher_init_suite(b, suite, k2, k1, hb) != 0)
        abort();
    if (frame_cipher_start_rx(a, hb) != 0 || frame_cipher_start_rx(b, ha) != 0)
        abort();
    sodium_memzero(k1, sizeof(k1));
    sodium_memzero(k2, sizeof(k2));
}

struct frames {
    uint8_t buf[4][64];
    size_t len[4];
};

static void seal_four(struct frame_cipher *a, struct frames *fs)
{
    for (int i = 0; i < 4; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "frame %d", i);
        if (frame_seal(a, (const uint8_t *)msg, strlen(msg), 0, fs->buf[i], sizeof(fs->buf[i]),
                       &fs->len[i]) != FRAME_OK)
            abort();
    }
}

static int open1(struct frame_cipher *b, const uint8_t *f, size_t n)
{
    uint8_t out[64];
    size_t used, m;
    int fin;
    return frame_open(b, f, n, &used, out, sizeof(out), &m, &fin);
}

static void test_round_trip_sizes(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    size_t sizes[] = {0, 1, 1000, FRAME_MAX_PLAINTEXT};
    uint8_t *in = malloc(FRAME_MAX_PLAINTEXT + 1), *wire = malloc(FRAME_MAX_BYTES + 1),
            *out = malloc(FRAME_MAX_PLAINTEXT);
    randombytes_buf(in, FRAME_MAX_PLAINTEXT + 1);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n, used, m;
        int fin;
        CHECK_INT(frame_seal(&a, in, sizes[i], 0, wire, FRAME_MAX_BYTES, &n), FRAME_OK);
        CHECK_INT(n, sizes[i] + FRAME_OVERHEAD);
        size_t total;
        CHECK_INT(frame_peek(wire, n, &total), FRAME_OK);
        CHECK_INT(total, n);
        CHECK_INT(frame_open(&b, wire, n, &used, out, FRAME_MAX_PLAINTEXT, &m, &fin), FRAME_OK);
        CHECK(used == n && m == sizes[i] && memcmp(out, in, m) == 0 && !fin);
    }
    size_t n;
    CHECK_INT(frame_seal(&a, in, FRAME_MAX_PLAINTEXT + 1, 0, wire, FRAME_MAX_BYTES + 1, &n),
              FRAME_ERR_TOO_BIG);
    CHECK_INT(frame_seal(&a, in, 10, 0, wire, 10 + FRAME_OVERHEAD - 1, &n), FRAME_ERR_BUFFER);
    /* Neither refusal consumed a counter: the stream goes on. */
    CHECK_INT(frame_seal(&a, in, 10, 0, wire, FRAME_MAX_BYTES, &n), FRAME_OK);
    CHECK_INT(open1(&b, wire, n), FRAME_OK);
    free(in);
    free(wire);
    free(out);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

/* Frames arriving one byte at a time, several in one buffer. */
static void test_reassembly(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    struct frames fs;
    seal_four(&a, &fs);
    uint8_t stream[256];
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(stream + total, fs.buf[i], fs.len[i]);
        total += fs.len[i];
    }
    /* Every proper prefix of the first frame: need more, nothing consumed, stream unharmed. */
    int bad = 0;
    for (size_t len = 0; len < fs.len[0]; len++) {
        uint8_t out[64];
        size_t used = 99, m;
        int fin;
        bad += frame_open(&b, stream, len, &used, out, sizeof(out), &m, &fin) != FRAME_NEED_MORE ||
               used != 0;
    }
    CHECK_INT(bad, 0);
    /* Then the whole buffer, frame after frame. */
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t out[64];
        size_t used, m;
        int fin;
        CHECK_INT(frame_open(&b, stream + off, total - off, &used, out, sizeof(out), &m, &fin),
                  FRAME_OK);
        char want[16];
        snprintf(want, sizeof(want), "frame %d", i);
        CHECK(m == strlen(want) && memcmp(out, want, m) == 0);
        off += used;
    }
    CHECK_INT(off, total);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

static void test_swapped(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    struct frames fs;
    seal_four(&a, &fs);
    CHECK_INT(open1(&b, fs.buf[0], fs.len[0]), FRAME_OK);
    CHECK_INT(open1(&b, fs.buf[2], fs.len[2]), FRAME_ERR_AUTH);
    CHECK_INT(open1(&b, fs.buf[1], fs.len[1]), FRAME_ERR_CLOSED); /* closed for good */
    CHECK_INT(b.rx_state, FRAME_DIR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

static void test_dropped(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    struct frames fs;
    seal_four(&a, &fs);
    CHECK_INT(open1(&b, fs.buf[0], fs.len[0]), FRAME_OK);
    CHECK_INT(open1(&b, fs.buf[2], fs.len[2]), FRAME_ERR_AUTH); /* frame 1 never came */
    CHECK_INT(open1(&b, fs.buf[3], fs.len[3]), FRAME_ERR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

static void test_duplicated(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    struct frames fs;
    seal_four(&a, &fs);
    CHECK_INT(open1(&b, fs.buf[0], fs.len[0]), FRAME_OK);
    CHECK_INT(open1(&b, fs.buf[1], fs.len[1]), FRAME_OK);
    CHECK_INT(open1(&b, fs.buf[1], fs.len[1]), FRAME_ERR_AUTH);
    CHECK_INT(open1(&b, fs.buf[2], fs.len[2]), FRAME_ERR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

/* A frame cut short with its length rewritten to match: the AD and the MAC catch it. */
static void test_truncated(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    struct frames fs;
    seal_four(&a, &fs);
    uint8_t f[64];
    memcpy(f, fs.buf[0], fs.len[0]);
    f[3]--; /* one byte shorter */
    CHECK_INT(open1(&b, f, fs.len[0] - 1), FRAME_ERR_AUTH);
    frame_cipher_close(&b);

    /* The sender closes its direction with FINAL; a stream that ends without one was cut, and
     * the receiver can tell: its direction is still open. */
    pair(&a, &b);
    uint8_t out[64];
    size_t n, used, m;
    int fin;
    CHECK_INT(frame_seal(&a, (const uint8_t *)"bye", 3, 1, f, sizeof(f), &n), FRAME_OK);
    CHECK_INT(frame_seal(&a, (const uint8_t *)"more", 4, 0, f + 32, 32, &m), FRAME_ERR_CLOSED);
    CHECK_INT(frame_open(&b, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
    CHECK(fin == 1 && m == 3 && memcmp(out, "bye", 3) == 0);
    CHECK_INT(b.rx_state, FRAME_DIR_CLOSED);
    CHECK_INT(open1(&b, f, n), FRAME_ERR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

static void test_every_bit_flip(void)
{
    int survived = 0;
    uint8_t f[64] = {0}; /* a changed length may make the reader look past the frame */
    size_t n = 0;
    for (size_t bit = 0; bit < (8 + FRAME_OVERHEAD) * 8; bit++) {
        struct frame_cipher a, b;
        pair(&a, &b);
        CHECK_INT(frame_seal(&a, (const uint8_t *)"DATA1234", 8, 0, f, sizeof(f), &n), 0);
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = open1(&b, f, n);
        /* A changed length either is out of range, asks for more bytes, or fails the MAC. */
        survived += rc == FRAME_OK;
        if (rc == FRAME_NEED_MORE)
            survived += open1(&b, f, sizeof(f)) == FRAME_OK;
        frame_cipher_close(&a);
        frame_cipher_close(&b);
    }
    CHECK_INT(survived, 0);
}

static void test_bad_lengths(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    /* Lengths below the MAC size or above the bound are refused from 4 bytes alone. */
    uint8_t hdr[4] = {0, 0, 0, 16};
    size_t total;
    CHECK_INT(frame_peek(hdr, 4, &total), FRAME_ERR_LENGTH);
    CHECK_INT(frame_peek(hdr, 3, &total), FRAME_NEED_MORE);
    hdr[3] = 17;
    CHECK_INT(frame_peek(hdr, 4, &total), FRAME_OK);
    CHECK_INT(total, 21);
    uint8_t big[4] = {0x00, 0x10, 0x00, 0x12}; /* 1 MiB + 18 */
    CHECK_INT(frame_peek(big, 4, &total), FRAME_ERR_LENGTH);
    big[3] = 0x11;
    CHECK_INT(frame_peek(big, 4, &total), FRAME_OK);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    CHECK_INT(open1(&b, huge, 4), FRAME_ERR_LENGTH);
    CHECK_INT(open1(&b, hdr, 4), FRAME_ERR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

static void test_state_and_buffer(void)
{
    struct frame_cipher a, b;
    uint8_t k[32] = {1}, h[24];
    CHECK_INT(frame_cipher_init_suite(&b, suite, k, k, h), 0);
    uint8_t f[64], out[64];
    CHECK_INT(open1(&b, f, 0), FRAME_ERR_STATE);
    CHECK_INT(frame_cipher_start_rx(&b, h), 0);
    CHECK_INT(frame_cipher_start_rx(&b, h), -1);
    frame_cipher_close(&b);

    pair(&a, &b);
    size_t n, used, m;
    int fin;
    CHECK_INT(frame_seal(&a, (const uint8_t *)"0123456789", 10, 0, f, sizeof(f), &n), 0);
    /* Too small a buffer is the caller's problem, not the peer's: nothing consumed, not closed. */
    CHECK_INT(frame_open(&b, f, n, &used, out, 9, &m, &fin), FRAME_ERR_BUFFER);
    CHECK_INT(used, 0);
    CHECK_INT(frame_open(&b, f, n, &used, out, 10, &m, &fin), FRAME_OK);
    CHECK_INT(m, 10);

    /* Output is never plaintext on failure. */
    CHECK_INT(frame_seal(&a, (const uint8_t *)"secret!!", 8, 0, f, sizeof(f), &n), 0);
    f[n - 1] ^= 1;
    memset(out, 0xee, sizeof(out));
    CHECK_INT(frame_open(&b, f, n, &used, out, sizeof(out), &m, &fin), FRAME_ERR_AUTH);
    CHECK(m == 0 && memcmp(out, "secret!!", 8) != 0);

    int dup = 0;
    for (int i = -7; i <= 1; i++)
        for (int j = i + 1; j <= 1; j++)
            dup += strcmp(frame_strerror(i), frame_strerror(j)) == 0;
    CHECK_INT(dup, 0);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

/* Both sides replace the key at the same counter: frames go on opening across the boundary,
 * and the key schedule really changed. */
static void test_gcm_rekey(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    crypto_aead_aes256gcm_state before = a.gtx.st;
    uint8_t f[64], out[64];
    size_t n, used, m;
    int fin, bad = 0;
    for (uint32_t i = 1; i < FRAME_GCM_REKEY_FRAMES + 10; i++) {
        bad += frame_seal(&a, (const uint8_t *)&i, sizeof(i), 0, f, sizeof(f), &n) != FRAME_OK;
        bad += frame_open(&b, f, n, &used, out, sizeof(out), &m, &fin) != FRAME_OK ||
               m != sizeof(i) || memcmp(out, &i, m) != 0;
        if (i + 1 == FRAME_GCM_REKEY_FRAMES)
            CHECK(memcmp(&a.gtx.st, &before, sizeof(before)) == 0);
    }
    CHECK_INT(bad, 0);
    CHECK(memcmp(&a.gtx.st, &before, sizeof(before)) != 0);
    CHECK(memcmp(&a.gtx.st, &b.grx.st, sizeof(before)) == 0);
    sodium_memzero(&before, sizeof(before));
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

/* The counter stops one short of 2^64 - 1 (never sealed): the direction closes instead of
 * reusing a nonce. */
static void test_gcm_counter_end(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    a.gtx.n = b.grx.n = UINT64_MAX - 2;
    uint8_t f[64], out[64];
    size_t n, used, m;
    int fin;
    CHECK_INT(frame_seal(&a, (const uint8_t *)"x", 1, 0, f, sizeof(f), &n), FRAME_OK);
    CHECK_INT(frame_open(&b, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
    CHECK_INT(frame_seal(&a, (const uint8_t *)"y", 1, 0, f, sizeof(f), &n), FRAME_OK);
    CHECK_INT(frame_open(&b, f, n, &used, out, sizeof(out), &m, &fin), FRAME_OK);
    CHECK_INT(frame_seal(&a, (const uint8_t *)"z", 1, 0, f, sizeof(f), &n), FRAME_ERR_CLOSED);
    CHECK_INT(a.tx_state, FRAME_DIR_CLOSED);
    CHECK_INT(frame_open(&b, f, sizeof(f), &used, out, sizeof(out), &m, &fin), FRAME_ERR_CLOSED);
    CHECK_INT(b.rx_state, FRAME_DIR_CLOSED);
    frame_cipher_close(&a);
    frame_cipher_close(&b);
}

/* The tag byte travels in clear but is authenticated: turning a MESSAGE into a FINAL (to make a
 * cut stream look closed) or into an unknown tag fails the GCM tag. The wire layout is as
 * drawn in frame.h. */
static void test_gcm_tag_byte(void)
{
    struct frame_cipher a, b;
    pair(&a, &b);
    uint8_t f[64];
    size_t n;
    CHECK_INT(frame_seal(&a, (const uint8_t *)"abc", 3, 0, f, sizeof(f), &n), FRAME_OK);
    CHECK(n == 24 && f[0] == 0 && f[1] == 0 && f[2] == 0 && f[3] == 20 && f[4] == 0);
    f[4] = FRAME_TAG_FINAL;
    CHECK_INT(open1(&b, f, n), FRAME_ERR_AUTH);
    frame_cipher_close(&b);
    frame_cipher_close(&a);

    pair(&a, &b);
    CHECK_INT(frame_seal(&a, (const uint8_t *)"abc", 3, 1, f, sizeof(f), &n), FRAME_OK);
    CHECK_INT(f[4], FRAME_TAG_FINAL);
    f[4] = FRAME_TAG_MESSAGE;
    CHECK_INT(open1(&b, f, n), FRAME_ERR_AUTH);
    frame_cipher_close(&b);
    frame_cipher_close(&a);
}

static void test_suites(void)
{
    CHECK_INT(frame_suite_header_bytes(FRAME_SUITE_SECRETSTREAM), 24);
    CHECK_INT(frame_suite_header_bytes(FRAME_SUITE_AES256GCM), 0);
    CHECK_INT(frame_suite_confirm_bytes(FRAME_SUITE_SECRETSTREAM), 17);
    CHECK_INT(frame_suite_confirm_bytes(FRAME_SUITE_AES256GCM), 16);
    CHECK_INT(frame_suite_confirm_bytes(4), 0);
    CHECK_STR(frame_suite_name(FRAME_SUITE_AES256GCM), "aes256gcm");
    unsigned aes = crypto_aead_aes256gcm_is_available() ? FRAME_SUITE_AES256GCM : 0;
    CHECK_INT(frame_suites_usable(NULL), FRAME_SUITE_SECRETSTREAM | aes);
    CHECK_INT(frame_suites_usable("auto"), FRAME_SUITE_SECRETSTREAM | aes);
    CHECK_INT(frame_suites_usable("secretstream"), FRAME_SUITE_SECRETSTREAM);
    CHECK_INT(frame_suites_usable("chacha"), FRAME_SUITE_SECRETSTREAM);
    struct frame_cipher fc;
    uint8_t k[32] = {0};
    CHECK_INT(frame_cipher_init_suite(&fc, 4, k, k, NULL), -1);
    CHECK_INT(
        frame_cipher_init_suite(&fc, FRAME_SUITE_SECRETSTREAM | FRAME_SUITE_AES256GCM, k, k, NULL),
        -1);
}

static void run_all(void)
{
    RUN(test_round_trip_sizes);
    RUN(test_reassembly);
    RUN(test_swapped);
    RUN(test_dropped);
    RUN(test_duplicated);
    RUN(test_truncated);
    RUN(test_every_bit_flip);
    RUN(test_bad_lengths);
    RUN(test_state_and_buffer);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    RUN(test_suites);
    suite = FRAME_SUITE_SECRETSTREAM;
    run_all();
    if (!crypto_aead_aes256gcm_is_available()) {
        printf("# AES-256-GCM is not available on this machine: its cases are skipped\n");
        return check_done();
    }
    suite = FRAME_SUITE_AES256GCM;
    run_all();
    RUN(test_gcm_rekey);
    RUN(test_gcm_counter_end);
    RUN(test_gcm_tag_byte);
    return check_done();
}
