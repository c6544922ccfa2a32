/*
 * noise — Noise_KK_25519_ChaChaPoly_SHA256 from libsodium primitives. The functions follow the
 * spec's objects one to one (CipherState, SymmetricState, HandshakeState) so a reader can hold
 * this file next to noiseprotocol.org/noise.html §5 and check it line by line; the cacophony
 * vectors in tests/unit/test_noise.c check it byte by byte.
 */
#include "crypto/noise.h"

#include <sodium.h>
#include <string.h>

void noise_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *data1,
                       size_t len1, const uint8_t *data2, size_t len2)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    if (len1 > 0)
        crypto_auth_hmacsha256_update(&st, data1, len1);
    if (len2 > 0)
        crypto_auth_hmacsha256_update(&st, data2, len2);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

/* Noise §4.3: temp_key = HMAC(ck, ikm); out1 = HMAC(temp_key, 0x01);
 * out2 = HMAC(temp_key, out1 || 0x02); out3 = HMAC(temp_key, out2 || 0x03). */
void noise_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen, uint8_t out1[32],
                uint8_t out2[32], uint8_t out3[32])
{
    uint8_t temp_key[32], o1[32], o2[32];
    const uint8_t one = 1, two = 2, three = 3;
    noise_hmac_sha256(temp_key, ck, 32, ikm, ikmlen, NULL, 0);
    noise_hmac_sha256(o1, temp_key, 32, &one, 1, NULL, 0);
    noise_hmac_sha256(o2, temp_key, 32, o1, 32, &two, 1);
    if (out3 != NULL)
        noise_hmac_sha256(out3, temp_key, 32, o2, 32, &three, 1);
    memcpy(out1, o1, 32);
    memcpy(out2, o2, 32);
    sodium_memzero(temp_key, sizeof(temp_key));
    sodium_memzero(o1, sizeof(o1));
    sodium_memzero(o2, sizeof(o2));
}

/* ---- CipherState ---------------------------------------------------------------------------- */

static void cipher_nonce(uint8_t nonce[12], uint64_t n)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt,
                         size_t ptlen, uint8_t *out)
{
    if (!c->has_key) {
        memmove(out, pt, ptlen);
        return 0;
    }
    if (c->n == UINT64_MAX) /* the spec reserves 2^64-1 */
        return -1;
    uint8_t nonce[12];
    cipher_nonce(nonce, c->n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, ptlen, ad, adlen, NULL, nonce, c->k);
    c->n++;
    return 0;
}

int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
                         size_t ctlen, uint8_t *out)
{
    if (!c->has_key) {
        memmove(out, ct, ctlen);
        return 0;
    }
    if (ctlen < NOISE_TAGLEN || c->n == UINT64_MAX)
        return -1;
    uint8_t nonce[12];
    cipher_nonce(nonce, c->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ctlen, ad, adlen, nonce,
                                                  c->k) != 0)
        return -1;
    c->n++;
    return 0;
}

void noise_cipher_wipe(struct noise_cipher *c)
{
    sodium_memzero(c, sizeof(*c));
}

/* ---- SymmetricState ------------------------------------------------------------------------- */

static void mix_hash(struct noise_kk *kk, const uint8_t *data, size_t len)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, kk->h, sizeof(kk->h));
    crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, kk->h);
}

static void mix_key(struct noise_kk *kk, const uint8_t ikm[32])
{
    uint8_t ck[32], k[32];
    noise_hkdf(kk->ck, ikm, 32, ck, k, NULL);
    memcpy(kk->ck, ck, 32);
    memcpy(kk->cs.k, k, 32); /* HASHLEN == 32: no truncation needed */
    kk->cs.n = 0;
    kk->cs.has_key = 1;
    sodium_memzero(ck, sizeof(ck));
    sodium_memzero(k, sizeof(k));
}

/* MixKey(DH(sk, pk)); -1 when the peer key is low order (all-zero shared secret). */
static int mix_dh(struct noise_kk *kk, const uint8_t sk[32], const uint8_t pk[32])
{
    uint8_t shared[32];
    if (crypto_scalarmult(shared, sk, pk) != 0) {
        sodium_memzero(shared, sizeof(shared));
        return -1;
    }
    mix_key(kk, shared);
    sodium_memzero(shared, sizeof(shared));
    return 0;
}

static int encrypt_and_hash(struct noise_kk *kk, const uint8_t *pt, size_t len, uint8_t *out)
{
    if (noise_cipher_encrypt(&kk->cs, kk->h, sizeof(kk->h), pt, len, out) != 0)
        return -1;
    mix_hash(kk, out, len + (kk->cs.has_key ? NOISE_TAGLEN : 0));
    return 0;
}

static int decrypt_and_hash(struct noise_kk *kk, const uint8_t *ct, size_t len, uint8_t *out)
{
    /* The AD is h before the ciphertext is mixed in, as on the writing side. */
    if (noise_cipher_decrypt(&kk->cs, kk->h, sizeof(kk->h), ct, len, out) != 0)
        return -1;
    mix_hash(kk, ct, len);
    return 0;
}

/* ---- HandshakeState (KK) -------------------------------------------------------------------- */

static int fail(struct noise_kk *kk)
{
    noise_kk_wipe(kk); /* step becomes NOISE_KK_FAILED */
    return -1;
}

int noise_kk_init(struct noise_kk *kk, int initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t s_sk[NOISE_DHLEN], const uint8_t *s_pk,
                  const uint8_t rs[NOISE_DHLEN])
{
    memset(kk, 0, sizeof(*kk));
    kk->initiator = initiator != 0;
    memcpy(kk->s_sk, s_sk, NOISE_DHLEN);
    memcpy(kk->rs, rs, NOISE_DHLEN);
    if (s_pk != NULL)
        memcpy(kk->s_pk, s_pk, NOISE_DHLEN);
    else if (crypto_scalarmult_base(kk->s_pk, kk->s_sk) != 0)
        return fail(kk);

    /* InitializeSymmetric: the name is exactly HASHLEN bytes, so h = name, no hashing. */
    _Static_assert(sizeof(NOISE_PROTOCOL_NAME) - 1 == NOISE_HASHLEN, "name length");
    memcpy(kk->h, NOISE_PROTOCOL_NAME, NOISE_HASHLEN);
    memcpy(kk->ck, kk->h, NOISE_HASHLEN);
    mix_hash(kk, prologue, prologue_len);
    /* Pre-messages: "-> s" then "<- s". */
    mix_hash(kk, initiator ? kk->s_pk : kk->rs, NOISE_DHLEN);
    mix_hash(kk, initiator ? kk->rs : kk->s_pk, NOISE_DHLEN);
    kk->step = NOISE_KK_MSG1;
    return 0;
}

void noise_kk_fix_e(struct noise_kk *kk, const uint8_t e_sk[NOISE_DHLEN])
{
    memcpy(kk->e_sk, e_sk, NOISE_DHLEN);
    kk->e_fixed = 1;
}

static int make_ephemeral(struct noise_kk *kk)
{
    if (!kk->e_fixed)
        randombytes_buf(kk->e_sk, NOISE_DHLEN);
    return crypto_scalarmult_base(kk->e_pk, kk->e_sk);
}

int noise_kk_write(struct noise_kk *kk, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t outcap, size_t *outlen)
{
    int msg1 = kk->step == NOISE_KK_MSG1;
    /* The initiator writes message 1, the responder message 2. */
    if (!(msg1 ? kk->initiator : (kk->step == NOISE_KK_MSG2 && !kk->initiator)))
        return fail(kk);
    size_t need = NOISE_DHLEN + payload_len + NOISE_TAGLEN;
    if (need > NOISE_MAX_MESSAGE || need > outcap)
        return fail(kk);

    /* e */
    if (make_ephemeral(kk) != 0)
        return fail(kk);
    memcpy(out, kk->e_pk, NOISE_DHLEN);
    mix_hash(kk, kk->e_pk, NOISE_DHLEN);
    if (msg1) {
        /* es, ss — as initiator: DH(e, rs), DH(s, rs) */
        if (mix_dh(kk, kk->e_sk, kk->rs) != 0 || mix_dh(kk, kk->s_sk, kk->rs) != 0)
            return fail(kk);
    } else {
        /* ee, se — as responder: DH(e, re), DH(e, rs) */
        if (mix_dh(kk, kk->e_sk, kk->re) != 0 || mix_dh(kk, kk->e_sk, kk->rs) != 0)
            return fail(kk);
    }
    if (encrypt_and_hash(kk, payload, payload_len, out + NOISE_DHLEN) != 0)
        return fail(kk);
    *outlen = need;
    kk->step = msg1 ? NOISE_KK_MSG2 : NOISE_KK_DONE;
    return 0;
}

int noise_kk_read(struct noise_kk *kk, const uint8_t *msg, size_t msglen, uint8_t *payload,
                  size_t payload_cap, size_t *payload_len)
{
    int msg1 = kk->step == NOISE_KK_MSG1;
    /* The responder reads message 1, the initiator message 2. */
    if (!(msg1 ? !kk->initiator : (kk->step == NOISE_KK_MSG2 && kk->initiator)))
        return fail(kk);
    if (msglen < NOISE_DHLEN + NOISE_TAGLEN || msglen > NOISE_MAX_MESSAGE)
        return fail(kk);
    size_t plen = msglen - NOISE_DHLEN - NOISE_TAGLEN;
    if (plen > payload_cap)
        return fail(kk);

    /* e */
    memcpy(kk->re, msg, NOISE_DHLEN);
    mix_hash(kk, kk->re, NOISE_DHLEN);
    if (msg1) {
        /* es, ss — as responder: DH(s, re), DH(s, rs) */
        if (mix_dh(kk, kk->s_sk, kk->re) != 0 || mix_dh(kk, kk->s_sk, kk->rs) != 0)
            return fail(kk);
    } else {
        /* ee, se — as initiator: DH(e, re), DH(s, re) */
        if (mix_dh(kk, kk->e_sk, kk->re) != 0 || mix_dh(kk, kk->s_sk, kk->re) != 0)
            return fail(kk);
    }
    if (decrypt_and_hash(kk, msg + NOISE_DHLEN, msglen - NOISE_DHLEN, payload) != 0)
        return fail(kk);
    *payload_len = plen;
    kk->step = msg1 ? NOISE_KK_MSG2 : NOISE_KK_DONE;
    return 0;
}

int noise_kk_split(struct noise_kk *kk, struct noise_cipher *c1, struct noise_cipher *c2,
                   uint8_t h[NOISE_HASHLEN])
{
    if (kk->step != NOISE_KK_DONE)
        return fail(kk);
    memset(c1, 0, sizeof(*c1));
    memset(c2, 0, sizeof(*c2));
    noise_hkdf(kk->ck, NULL, 0, c1->k, c2->k, NULL);
    c1->has_key = c2->has_key = 1;
    if (h != NULL)
        memcpy(h, kk->h, NOISE_HASHLEN);
    noise_kk_wipe(kk);
    return 0;
}

void noise_kk_wipe(struct noise_kk *kk)
{
    sodium_memzero(kk, sizeof(*kk));
}
