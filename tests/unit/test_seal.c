/*
 * Unit tests for crypto/seal: known-answer vectors (cross-checked with an independent Python
 * implementation: cryptography's ChaCha20Poly1305 + HChaCha20), round trips, every single-bit
 * flip, every truncation, wrong key id, kind separation, rotation, output-buffer hygiene.
 */
#include "crypto/seal.h"
#include "crypto/swcrypto.h"
#include "proto/proto.h"
#include "tests/unit/check.h"

#include <sodium.h>

static char err[256];

/* key 00..1f as id 7, nonce 40..57, plaintext "swarm gossip datagram KAT" */
static const char kat_pt[] = "swarm gossip datagram KAT";
static const char kat_gossip[] =
    "53470107404142434445464748494a4b4c4d4e4f5051525354555657a74e6402bdc01e79fc87eece8ff804e6f3dd"
    "dfa57e7918db3e5ca9547905a204ab462c94f6b4870da0";
static const char kat_beacon[] =
    "53420107404142434445464748494a4b4c4d4e4f5051525354555657a74e6402bdc01e79fc87eece8ff804e6f3dd"
    "dfa57e7918db3ed164d1233e141bfb2f521f16657935c3";

static struct keyring *kat_ring(void)
{
    struct keyring *kr = keyring_new();
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    if (keyring_install(kr, 7, key, NULL, 0) != 0)
        abort();
    return kr;
}

static void kat_nonce(uint8_t nonce[SEAL_NONCE_BYTES])
{
    for (int i = 0; i < SEAL_NONCE_BYTES; i++)
        nonce[i] = (uint8_t)(0x40 + i);
}

static int eq_hex(const uint8_t *got, size_t len, const char *hex)
{
    char buf[2 * SEAL_MAX_DATAGRAM + 1];
    sodium_bin2hex(buf, sizeof(buf), got, len);
    return strcmp(buf, hex) == 0;
}

static void test_constants(void)
{
    CHECK_INT(SEAL_OVERHEAD, 44);
    CHECK_INT(SEAL_MAX_DATAGRAM, 1400);
    CHECK_INT(SEAL_MAX_PLAINTEXT, 1356);
    CHECK_INT(SEAL_VERSION, PROTO_WIRE_VERSION);
}

static void test_known_answer(void)
{
    struct keyring *kr = kat_ring();
    uint8_t nonce[SEAL_NONCE_BYTES], out[SEAL_MAX_DATAGRAM], pt[SEAL_MAX_DATAGRAM];
    size_t n, m;
    kat_nonce(nonce);
    CHECK_INT(seal_datagram_with_nonce(kr, SEAL_GOSSIP, (const uint8_t *)kat_pt, strlen(kat_pt),
                                       nonce, out, sizeof(out), &n),
              SEAL_OK);
    CHECK_INT(n, strlen(kat_pt) + SEAL_OVERHEAD);
    CHECK(eq_hex(out, n, kat_gossip));
    uint8_t id = 0;
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, out, n, pt, sizeof(pt), &m, &id, err, sizeof(err)), 0);
    CHECK(m == strlen(kat_pt) && memcmp(pt, kat_pt, m) == 0);
    CHECK_INT(id, 7);

    CHECK_INT(seal_datagram_with_nonce(kr, SEAL_BEACON, (const uint8_t *)kat_pt, strlen(kat_pt),
                                       nonce, out, sizeof(out), &n),
              SEAL_OK);
    CHECK(eq_hex(out, n, kat_beacon));
    CHECK_INT(seal_open(kr, SEAL_BEACON, out, n, pt, sizeof(pt), &m, NULL, err, sizeof(err)), 0);
    keyring_free(kr);
}

static void test_round_trip_sizes(void)
{
    struct keyring *kr = kat_ring();
    uint8_t in[SEAL_MAX_PLAINTEXT + 1], out[SEAL_MAX_DATAGRAM + 1], pt[SEAL_MAX_DATAGRAM];
    randombytes_buf(in, sizeof(in));
    size_t sizes[] = {0, 1, 100, SEAL_MAX_PLAINTEXT};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n, m;
        CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, in, sizes[i], out, sizeof(out), &n), SEAL_OK);
        CHECK_INT(n, sizes[i] + SEAL_OVERHEAD);
        CHECK_INT(seal_open(kr, SEAL_GOSSIP, out, n, pt, sizeof(pt), &m, NULL, err, sizeof(err)),
                  SEAL_OK);
        CHECK(m == sizes[i] && memcmp(pt, in, m) == 0);
    }
    /* Two seals of the same plaintext differ (random nonce). */
    uint8_t a[64], b[64];
    size_t na, nb;
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, in, 10, a, sizeof(a), &na), 0);
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, in, 10, b, sizeof(b), &nb), 0);
    CHECK(na == nb && memcmp(a, b, na) != 0);

    size_t n;
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, in, SEAL_MAX_PLAINTEXT + 1, out, sizeof(out), &n),
              SEAL_ERR_LONG);
    CHECK_INT(n, 0);
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, in, 10, out, 10 + SEAL_OVERHEAD - 1, &n),
              SEAL_ERR_BUFFER);
    struct keyring *empty = keyring_new();
    CHECK_INT(seal_datagram(empty, SEAL_GOSSIP, in, 10, out, sizeof(out), &n), SEAL_ERR_NO_PRIMARY);
    keyring_free(empty);
    keyring_free(kr);
}

/* Opens d as gossip and checks it fails, that *outlen is 0 and that out holds no plaintext. */
static int open_fails(struct keyring *kr, const uint8_t *d, size_t n, const uint8_t *plain,
                      size_t plen)
{
    uint8_t out[SEAL_MAX_DATAGRAM];
    memset(out, 0xee, sizeof(out));
    size_t m = 12345;
    int rc = seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err));
    if (rc >= 0 || m != 0)
        return 0;
    if (plen > 0 && memcmp(out, plain, plen) == 0)
        return 0;
    return rc;
}

static void test_every_bit_flip(void)
{
    struct keyring *kr = kat_ring();
    uint8_t pt[200], d[SEAL_MAX_DATAGRAM];
    randombytes_buf(pt, sizeof(pt));
    size_t n;
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, pt, sizeof(pt), d, sizeof(d), &n), 0);
    int bad = 0, counts[16] = {0};
    for (size_t bit = 0; bit < n * 8; bit++) {
        d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = open_fails(kr, d, n, pt, sizeof(pt));
        d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rc == 0) {
            bad++;
            continue;
        }
        counts[-rc]++;
        /* Which field the bit is in decides the error. */
        size_t byte = bit / 8;
        int want = byte < 2    ? 0
                   : byte == 2 ? SEAL_ERR_VERSION
                   : byte == 3 ? SEAL_ERR_KEY_ID
                               : SEAL_ERR_FORGED;
        if (byte < 2) /* "SG" -> "SB" is the other kind; anything else is not swarm */
            bad += rc != SEAL_ERR_MAGIC && rc != SEAL_ERR_KIND;
        else
            bad += rc != want;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(counts[-SEAL_ERR_KIND],
              0); /* 'G' ^ 'B' = 0x05: no single flip turns one into the other */
    CHECK_INT(counts[-SEAL_ERR_MAGIC], 16);
    CHECK_INT(counts[-SEAL_ERR_VERSION], 8);
    CHECK_INT(counts[-SEAL_ERR_KEY_ID], 8);
    CHECK_INT(counts[-SEAL_ERR_FORGED], (int)(n - 4) * 8);
    /* The untouched datagram still opens. */
    uint8_t out[SEAL_MAX_DATAGRAM];
    size_t m;
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, NULL, 0), 0);
    keyring_free(kr);
}

static void test_every_truncation(void)
{
    struct keyring *kr = kat_ring();
    uint8_t pt[100], d[SEAL_MAX_DATAGRAM + 8];
    randombytes_buf(pt, sizeof(pt));
    size_t n;
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, pt, sizeof(pt), d, sizeof(d), &n), 0);
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        int rc = open_fails(kr, d, len, pt, sizeof(pt));
        int want = len < SEAL_OVERHEAD ? SEAL_ERR_SHORT : SEAL_ERR_FORGED;
        bad += rc != want;
    }
    CHECK_INT(bad, 0);
    /* One byte more: forged; over the size bound: too long, from the length alone. */
    d[n] = 0;
    CHECK_INT(open_fails(kr, d, n + 1, pt, sizeof(pt)), SEAL_ERR_FORGED);
    uint8_t big[SEAL_MAX_DATAGRAM + 1];
    memcpy(big, d, n);
    CHECK_INT(open_fails(kr, big, sizeof(big), NULL, 0), SEAL_ERR_LONG);
    CHECK_STR(err, "datagram too long (1401 bytes, max 1400)");
    CHECK_INT(open_fails(kr, d, 3, NULL, 0), SEAL_ERR_SHORT);
    CHECK_INT(open_fails(kr, d, 43, NULL, 0), SEAL_ERR_SHORT);
    CHECK_STR(err, "datagram too short (43 bytes, min 44)");
    keyring_free(kr);
}

static void test_header_errors(void)
{
    struct keyring *kr = kat_ring();
    uint8_t d[SEAL_MAX_DATAGRAM], out[SEAL_MAX_DATAGRAM];
    size_t n, m;
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, (const uint8_t *)"x", 1, d, sizeof(d), &n), 0);

    d[2] = 2;
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_VERSION);
    CHECK_STR(err, "unsupported protocol version 2 (this swarm speaks 1)");
    d[2] = SEAL_VERSION;

    d[3] = 8;
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_KEY_ID);
    CHECK_STR(err, "unknown key id 8");
    d[3] = 7;

    d[0] = 'X';
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_MAGIC);
    CHECK_STR(err, "not a swarm datagram (magic 5847)");
    d[0] = 'S';

    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, 0, &m, NULL, err, sizeof(err)),
              SEAL_ERR_BUFFER);
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, 1, &m, NULL, err, sizeof(err)), SEAL_OK);

    /* A key with the right id but other bytes: forged, not a crash or garbage. */
    struct keyring *other = keyring_new();
    uint8_t key[32];
    memset(key, 0x55, sizeof(key));
    CHECK_INT(keyring_install(other, 7, key, NULL, 0), 0);
    CHECK_INT(seal_open(other, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_FORGED);
    CHECK_STR(err, "forged or corrupted datagram (key id 7)");
    keyring_free(other);
    keyring_free(kr);
}

/* A beacon is never a gossip datagram: opened as the other kind it is refused, and rewriting
 * its magic breaks the tag. */
static void test_kind_separation(void)
{
    struct keyring *kr = kat_ring();
    uint8_t d[SEAL_MAX_DATAGRAM], out[SEAL_MAX_DATAGRAM];
    size_t n, m;
    CHECK_INT(seal_datagram(kr, SEAL_BEACON, (const uint8_t *)"beacon", 6, d, sizeof(d), &n), 0);
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_KIND);
    CHECK_STR(err, "a beacon where a gossip datagram was expected");
    d[1] = 'G';
    CHECK_INT(seal_open(kr, SEAL_GOSSIP, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_FORGED);
    CHECK_INT(seal_datagram(kr, SEAL_GOSSIP, (const uint8_t *)"gossip", 6, d, sizeof(d), &n), 0);
    CHECK_INT(seal_open(kr, SEAL_BEACON, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_KIND);
    d[1] = 'B';
    CHECK_INT(seal_open(kr, SEAL_BEACON, d, n, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_FORGED);
    keyring_free(kr);
}

/* Install, use, remove across two members: no step where they cannot talk; afterwards the old
 * key's datagrams are refused. */
static void test_rotation(void)
{
    struct keyring *a = keyring_new(), *b = keyring_new();
    uint8_t k1[32], k2[32];
    randombytes_buf(k1, sizeof(k1));
    randombytes_buf(k2, sizeof(k2));
    CHECK_INT(keyring_install(a, 1, k1, NULL, 0), 0);
    CHECK_INT(keyring_install(b, 1, k1, NULL, 0), 0);

    uint8_t old[128], d[128], out[128];
    size_t n_old, n, m;
    uint8_t id;
    CHECK_INT(seal_datagram(a, SEAL_GOSSIP, (const uint8_t *)"old", 3, old, sizeof(old), &n_old),
              0);

    /* 1. install everywhere */
    CHECK_INT(keyring_install(a, 2, k2, NULL, 0), 0);
    CHECK_INT(keyring_install(b, 2, k2, NULL, 0), 0);
    /* 2. a uses the new key first; b still seals with the old one; both open both */
    CHECK_INT(keyring_use(a, 2, NULL, 0), 0);
    CHECK_INT(seal_datagram(a, SEAL_GOSSIP, (const uint8_t *)"new", 3, d, sizeof(d), &n), 0);
    CHECK_INT(d[3], 2);
    CHECK_INT(seal_open(b, SEAL_GOSSIP, d, n, out, sizeof(out), &m, &id, NULL, 0), 0);
    CHECK_INT(id, 2);
    CHECK_INT(seal_datagram(b, SEAL_GOSSIP, (const uint8_t *)"mid", 3, d, sizeof(d), &n), 0);
    CHECK_INT(seal_open(a, SEAL_GOSSIP, d, n, out, sizeof(out), &m, &id, NULL, 0), 0);
    CHECK_INT(id, 1);
    CHECK_INT(keyring_use(b, 2, NULL, 0), 0);
    /* 3. remove the old key: its datagrams are refused by id, before any decryption */
    CHECK_INT(keyring_remove(a, 1, NULL, 0), 0);
    CHECK_INT(seal_open(a, SEAL_GOSSIP, old, n_old, out, sizeof(out), &m, NULL, err, sizeof(err)),
              SEAL_ERR_KEY_ID);
    CHECK_INT(seal_open(b, SEAL_GOSSIP, old, n_old, out, sizeof(out), &m, NULL, NULL, 0), 0);
    CHECK_INT(keyring_remove(b, 1, NULL, 0), 0);
    CHECK_INT(seal_open(b, SEAL_GOSSIP, old, n_old, out, sizeof(out), &m, NULL, NULL, 0),
              SEAL_ERR_KEY_ID);
    keyring_free(a);
    keyring_free(b);
}

static void test_strerror(void)
{
    const char *names[11];
    for (int c = 0; c >= -10; c--)
        names[-c] = seal_strerror(c);
    int dup = 0;
    for (int i = 0; i < 11; i++)
        for (int j = i + 1; j < 11; j++)
            dup += strcmp(names[i], names[j]) == 0;
    CHECK_INT(dup, 0);
    CHECK_STR(seal_strerror(SEAL_ERR_FORGED), "forged");
    CHECK_STR(seal_strerror(-99), "unknown-error");
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    RUN(test_constants);
    RUN(test_known_answer);
    RUN(test_round_trip_sizes);
    RUN(test_every_bit_flip);
    RUN(test_every_truncation);
    RUN(test_header_errors);
    RUN(test_kind_separation);
    RUN(test_rotation);
    RUN(test_strerror);
    return check_done();
}
