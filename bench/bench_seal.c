/*
 * bench_seal — one core: sealed datagrams (seal_datagram + seal_open on a full 1,400-byte
 * datagram) beside libsodium's raw XChaCha20-Poly1305-IETF encrypt/decrypt on the same sizes,
 * relay frames of each suite (secretstream; AES-256-GCM where libsodium has it), and relay
 * handshakes of both versions. Prints one line per measurement; no assertions.
 *
 * Usage: bench_seal [SECONDS_PER_MEASUREMENT]   (default 2)
 * Build: add_executable(bench_seal bench_seal.c), linked with swarm_crypto.
 */
#include "crypto/frame.h"
#include "crypto/handshake.h"
#include "crypto/seal.h"
#include "crypto/swcrypto.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double budget = 2.0;
static volatile unsigned sink;

/* Runs fn in batches until the time budget is spent; returns operations per second. */
static double rate(void (*fn)(void *), void *arg, unsigned batch)
{
    for (unsigned i = 0; i < batch; i++) /* warm up */
        fn(arg);
    unsigned long long ops = 0;
    double start = now(), t;
    do {
        for (unsigned i = 0; i < batch; i++)
            fn(arg);
        ops += batch;
        t = now() - start;
    } while (t < budget);
    return (double)ops / t;
}

static void report(const char *what, double ops, size_t bytes_per_op)
{
    printf("%-48s %12.0f ops/s %10.1f MB/s %9.2f us/op\n", what, ops,
           ops * (double)bytes_per_op / 1e6, 1e6 / ops);
}

/* ---- datagrams ------------------------------------------------------------------------------ */

struct dgram {
    struct keyring *kr;
    uint8_t key[32], nonce[24], hdr[28];
    uint8_t pt[SEAL_MAX_PLAINTEXT], wire[SEAL_MAX_DATAGRAM], back[SEAL_MAX_DATAGRAM];
};

static void seal_open_once(void *arg)
{
    struct dgram *d = arg;
    size_t n, m;
    if (seal_datagram(d->kr, SEAL_GOSSIP, d->pt, sizeof(d->pt), d->wire, sizeof(d->wire), &n) !=
            0 ||
        seal_open(d->kr, SEAL_GOSSIP, d->wire, n, d->back, sizeof(d->back), &m, NULL, NULL, 0) != 0)
        abort();
    sink += d->back[0];
}

static void seal_once(void *arg)
{
    struct dgram *d = arg;
    size_t n;
    seal_datagram(d->kr, SEAL_GOSSIP, d->pt, sizeof(d->pt), d->wire, sizeof(d->wire), &n);
    sink += d->wire[100];
}

static void open_once(void *arg)
{
    struct dgram *d = arg;
    size_t m;
    if (seal_open(d->kr, SEAL_GOSSIP, d->wire, SEAL_MAX_DATAGRAM, d->back, sizeof(d->back), &m,
                  NULL, NULL, 0) != 0)
        abort();
    sink += d->back[0];
}

/* The same work with no envelope code: a random nonce, encrypt with the 28-byte header as AD,
 * decrypt. */
static void raw_once(void *arg)
{
    struct dgram *d = arg;
    unsigned long long n, m;
    randombytes_buf(d->nonce, sizeof(d->nonce));
    crypto_aead_xchacha20poly1305_ietf_encrypt(d->wire + 28, &n, d->pt, sizeof(d->pt), d->hdr,
                                               sizeof(d->hdr), NULL, d->nonce, d->key);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(d->back, &m, NULL, d->wire + 28, n, d->hdr,
                                                   sizeof(d->hdr), d->nonce, d->key) != 0)
        abort();
    sink += d->back[0];
}

static void raw_encrypt_once(void *arg)
{
    struct dgram *d = arg;
    unsigned long long n;
    crypto_aead_xchacha20poly1305_ietf_encrypt(d->wire + 28, &n, d->pt, sizeof(d->pt), d->hdr,
                                               sizeof(d->hdr), NULL, d->nonce, d->key);
    sink += d->wire[100];
}

/* ---- frames and handshakes ------------------------------------------------------------------ */

struct frames {
    struct frame_cipher a, b;
    size_t len;
    uint8_t *pt, *wire, *back;
};

static void frame_once(void *arg)
{
    struct frames *f = arg;
    size_t n, used, m;
    int fin;
    if (frame_seal(&f->a, f->pt, f->len, 0, f->wire, f->len + FRAME_OVERHEAD, &n) != 0 ||
        frame_open(&f->b, f->wire, n, &used, f->back, f->len, &m, &fin) != 0)
        abort();
    sink += f->back[0];
}

static struct keypair manager, agent;

/* arg non-NULL: version 2 (the manager offers every suite; message 1 read in two steps). */
static void handshake_once(void *arg)
{
    struct hs ini, resp;
    uint8_t a[HS_MAX_MESSAGE], b[HS_MAX_MESSAGE];
    size_t na, nb, first = 0;
    hs_initiator_init(&ini, &manager, agent.pk);
    hs_responder_init(&resp, &agent, (const uint8_t(*)[32])manager.pk, 1);
    if (arg != NULL) {
        hs_use_suites(&ini, FRAME_SUITES_KNOWN);
        first = HS_MSG1_BYTES;
    }
    if (hs_step(&ini, NULL, 0, a, sizeof(a), &na) != HS_CONTINUE ||
        (first && hs_step(&resp, a, first, b, sizeof(b), &nb) != HS_CONTINUE) ||
        hs_step(&resp, a + first, na - first, b, sizeof(b), &nb) != HS_CONTINUE ||
        hs_step(&ini, b, nb, a, sizeof(a), &na) != HS_CONTINUE ||
        hs_step(&resp, a, na, b, sizeof(b), &nb) != HS_DONE ||
        hs_step(&ini, b, nb, a, sizeof(a), &na) != HS_DONE)
        abort();
    hs_close(&ini);
    hs_close(&resp);
}

static void scalarmult_once(void *arg)
{
    uint8_t *q = arg;
    if (crypto_scalarmult(q, agent.sk, manager.pk) != 0)
        abort();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        budget = atof(argv[1]);
    if (budget <= 0 || swcrypto_init() != 0)
        return 2;
    printf("bench_seal: libsodium %s, %.1f s per measurement, one core\n",
           swcrypto_sodium_version(), budget);

    struct dgram *d = calloc(1, sizeof(*d));
    d->kr = keyring_new();
    uint8_t id;
    keyring_generate(d->kr, &id, NULL, 0);
    memcpy(d->key, keyring_lookup(d->kr, id), 32);
    randombytes_buf(d->pt, sizeof(d->pt));
    memcpy(d->hdr, "SG\x01\x01", 4);
    size_t n;
    seal_datagram(d->kr, SEAL_GOSSIP, d->pt, sizeof(d->pt), d->wire, sizeof(d->wire), &n);

    printf("datagram: %d bytes sealed (%d plaintext + %d overhead)\n", SEAL_MAX_DATAGRAM,
           SEAL_MAX_PLAINTEXT, SEAL_OVERHEAD);
    report("seal_open(seal_datagram(1356 B))", rate(seal_open_once, d, 256), SEAL_MAX_DATAGRAM);
    report("raw xchacha20poly1305 encrypt+decrypt", rate(raw_once, d, 256), SEAL_MAX_DATAGRAM);
    report("seal_datagram only", rate(seal_once, d, 256), SEAL_MAX_DATAGRAM);
    report("raw encrypt only (no randombytes)", rate(raw_encrypt_once, d, 256), SEAL_MAX_DATAGRAM);
    seal_datagram(d->kr, SEAL_GOSSIP, d->pt, sizeof(d->pt), d->wire, sizeof(d->wire), &n);
    report("seal_open only", rate(open_once, d, 256), SEAL_MAX_DATAGRAM);
    keyring_free(d->kr);
    free(d);

    /* Each frame suite at a packet's size, 16 KiB, the relay's DATA frame (64 KiB) and the
     * 1 MiB bound; AES-256-GCM only where libsodium has it. */
    size_t sizes[] = {1400, 16384, 65536, FRAME_MAX_PLAINTEXT};
    const unsigned suites[] = {FRAME_SUITE_SECRETSTREAM, FRAME_SUITE_AES256GCM};
    for (size_t i = 0; i < 2 * sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned suite = suites[i / (sizeof(sizes) / sizeof(sizes[0]))];
        if (!(frame_suites_usable(NULL) & suite))
            continue;
        struct frames f;
        uint8_t k1[32], k2[32], h1[24], h2[24];
        randombytes_buf(k1, 32);
        randombytes_buf(k2, 32);
        if (frame_cipher_init_suite(&f.a, suite, k1, k2, h1) != 0 ||
            frame_cipher_init_suite(&f.b, suite, k2, k1, h2) != 0)
            abort();
        frame_cipher_start_rx(&f.a, h2);
        frame_cipher_start_rx(&f.b, h1);
        f.len = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
        f.pt = malloc(f.len);
        f.wire = malloc(f.len + FRAME_OVERHEAD);
        f.back = malloc(f.len);
        randombytes_buf(f.pt, f.len);
        char what[64];
        snprintf(what, sizeof(what), "frame_seal+frame_open %s (%zu B)", frame_suite_name(suite),
                 f.len);
        report(what, rate(frame_once, &f, f.len > 100000 ? 4 : 64), f.len);
        free(f.pt);
        free(f.wire);
        free(f.back);
        frame_cipher_close(&f.a);
        frame_cipher_close(&f.b);
    }

    keypair_generate(&manager);
    keypair_generate(&agent);
    report("handshake, both sides (4 messages)", rate(handshake_once, NULL, 16), 0);
    report("handshake version 2, both sides", rate(handshake_once, &agent, 16), 0);
    uint8_t q[32];
    report("crypto_scalarmult (one X25519)", rate(scalarmult_once, q, 64), 0);
    keypair_wipe(&manager);
    keypair_wipe(&agent);
    return sink == 0xdeadbeef; /* keep the work observable */
}
