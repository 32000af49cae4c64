/*
 * AES-GCM for libsrtp 2.5 (replaces crypto/cipher/aes_gcm_ossl.c in Chorus's
 * offline mediasoup-worker build; see docs/mediasoup-worker.md).
 *
 * Why: with OpenSSL 3, libsrtp's EVP-based GCM spends most of each packet in
 * the provider layer (EVP_CIPHER_CTX_ctrl, EVP_CipherInit_ex and
 * EVP_CIPHER_CTX_get_iv_length build and search OSSL_PARAM lists by string
 * compare); callgrind put that at ~40% of the worker's instructions while
 * forwarding audio, against ~10% for the cipher itself. This file keeps
 * OpenSSL's own GCM (CRYPTO_gcm128_*, public in <openssl/modes.h>, GHASH with
 * PCLMULQDQ where the CPU has it) and feeds it an AES block function directly:
 * AES-NI when the CPU has it, else OpenSSL's AES_encrypt. No per-packet
 * allocation, parameter lists or string compares.
 *
 * Correctness: libsrtp runs each cipher type's self-test (the GCM test vectors
 * in cipher_test_cases.c) when the worker calls srtp_init(), and refuses to
 * load a cipher that fails it; context_init also checks the AES-NI key schedule
 * against AES_encrypt and falls back to it on any mismatch.
 */

#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/* AES_set_encrypt_key / AES_encrypt are deprecated in OpenSSL 3 but exported. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>
#include <openssl/aes.h>
#include <openssl/crypto.h>
#include <openssl/modes.h>
#include <immintrin.h>

#include "aes_gcm.h"
#include "alloc.h"
#include "err.h" /* for srtp_debug */
#include "crypto_types.h"
#include "cipher_types.h"
#include "cipher_test_cases.h"

srtp_debug_module_t srtp_mod_aes_gcm = {
    0,        /* debugging is off by default */
    "aes gcm" /* printable module name       */
};

#define GCM_AUTH_TAG_LEN 16
#define GCM_AUTH_TAG_LEN_8 8
#define GCM_IV_LEN 12

typedef struct {
    __m128i rk[15]; /* AES-NI round keys (first: 16-byte alignment) */
    AES_KEY aes;    /* OpenSSL's key schedule, for AES_encrypt */
    int rounds;
    int use_aesni;
    int key_size;
    int tag_len;
    srtp_cipher_direction_t dir;
    GCM128_CONTEXT *gcm;
} chorus_gcm_ctx_t;

/* --- AES block functions (block128_f) ------------------------------------ */

static void block_openssl(const unsigned char in[16],
                          unsigned char out[16],
                          const void *key)
{
    AES_encrypt(in, out, &((const chorus_gcm_ctx_t *)key)->aes);
}

__attribute__((target("aes,sse2"))) static void block_aesni(
    const unsigned char in[16],
    unsigned char out[16],
    const void *key)
{
    const chorus_gcm_ctx_t *c = (const chorus_gcm_ctx_t *)key;
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), c->rk[0]);
    int r;
    for (r = 1; r < c->rounds; r++) {
        x = _mm_aesenc_si128(x, c->rk[r]);
    }
    x = _mm_aesenclast_si128(x, c->rk[c->rounds]);
    _mm_storeu_si128((__m128i *)out, x);
}

/* --- AES-NI key expansion (Intel's AES-NI white paper) -------------------- */

__attribute__((target("aes,sse2"))) static __m128i expand128(__m128i key,
                                                              __m128i assist)
{
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

__attribute__((target("aes,sse2"))) static void schedule128(
    chorus_gcm_ctx_t *c,
    const uint8_t *key)
{
    __m128i *rk = c->rk;
    rk[0] = _mm_loadu_si128((const __m128i *)key);
#define STEP(i, rcon)                                                          \
    rk[i] = expand128(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rcon))
    STEP(1, 0x01);
    STEP(2, 0x02);
    STEP(3, 0x04);
    STEP(4, 0x08);
    STEP(5, 0x10);
    STEP(6, 0x20);
    STEP(7, 0x40);
    STEP(8, 0x80);
    STEP(9, 0x1b);
    STEP(10, 0x36);
#undef STEP
    c->rounds = 10;
}

__attribute__((target("aes,sse2"))) static __m128i expand256_odd(__m128i t1,
                                                                  __m128i t3)
{
    __m128i t2 = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(t1, 0x00), 0xaa);
    t3 = _mm_xor_si128(t3, _mm_slli_si128(t3, 4));
    t3 = _mm_xor_si128(t3, _mm_slli_si128(t3, 4));
    t3 = _mm_xor_si128(t3, _mm_slli_si128(t3, 4));
    return _mm_xor_si128(t3, t2);
}

__attribute__((target("aes,sse2"))) static void schedule256(
    chorus_gcm_ctx_t *c,
    const uint8_t *key)
{
    __m128i *rk = c->rk;
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
#define STEP(i, rcon)                                                          \
    do {                                                                       \
        rk[i] = expand128(rk[i - 2], _mm_aeskeygenassist_si128(rk[i - 1], rcon)); \
        if (i + 1 < 15)                                                        \
            rk[i + 1] = expand256_odd(rk[i], rk[i - 1]);                       \
    } while (0)
    STEP(2, 0x01);
    STEP(4, 0x02);
    STEP(6, 0x04);
    STEP(8, 0x08);
    STEP(10, 0x10);
    STEP(12, 0x20);
    STEP(14, 0x40);
#undef STEP
    c->rounds = 14;
}

/* Uses AES-NI when the CPU has it and its schedule agrees with OpenSSL's. */
static void choose_block(chorus_gcm_ctx_t *c, const uint8_t *key)
{
    static const unsigned char probe[16] = { 0x00, 0x11, 0x22, 0x33,
                                             0x44, 0x55, 0x66, 0x77,
                                             0x88, 0x99, 0xaa, 0xbb,
                                             0xcc, 0xdd, 0xee, 0xff };
    unsigned char a[16], b[16];

    c->use_aesni = 0;
    if (!__builtin_cpu_supports("aes")) {
        return;
    }
    if (c->key_size == SRTP_AES_128_KEY_LEN) {
        schedule128(c, key);
    } else {
        schedule256(c, key);
    }
    block_aesni(probe, a, c);
    AES_encrypt(probe, b, &c->aes);
    c->use_aesni = CRYPTO_memcmp(a, b, 16) == 0;
}

/* --- libsrtp cipher type -------------------------------------------------- */

static srtp_err_status_t chorus_gcm_alloc(srtp_cipher_t **c,
                                          int key_len,
                                          int tlen)
{
    chorus_gcm_ctx_t *gcm;

    if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT &&
        key_len != SRTP_AES_GCM_256_KEY_LEN_WSALT) {
        return (srtp_err_status_bad_param);
    }
    if (tlen != GCM_AUTH_TAG_LEN && tlen != GCM_AUTH_TAG_LEN_8) {
        return (srtp_err_status_bad_param);
    }

    *c = (srtp_cipher_t *)srtp_crypto_alloc(sizeof(srtp_cipher_t));
    if (*c == NULL) {
        return (srtp_err_status_alloc_fail);
    }
    /* srtp_crypto_alloc is calloc: 16-byte aligned on x86-64, as rk needs. */
    gcm = (chorus_gcm_ctx_t *)srtp_crypto_alloc(sizeof(chorus_gcm_ctx_t));
    if (gcm == NULL) {
        srtp_crypto_free(*c);
        *c = NULL;
        return (srtp_err_status_alloc_fail);
    }

    (*c)->state = gcm;
    switch (key_len) {
    case SRTP_AES_GCM_128_KEY_LEN_WSALT:
        (*c)->type = &srtp_aes_gcm_128;
        (*c)->algorithm = SRTP_AES_GCM_128;
        gcm->key_size = SRTP_AES_128_KEY_LEN;
        break;
    case SRTP_AES_GCM_256_KEY_LEN_WSALT:
        (*c)->type = &srtp_aes_gcm_256;
        (*c)->algorithm = SRTP_AES_GCM_256;
        gcm->key_size = SRTP_AES_256_KEY_LEN;
        break;
    }
    gcm->tag_len = tlen;
    (*c)->key_len = key_len;
    return (srtp_err_status_ok);
}

static srtp_err_status_t chorus_gcm_dealloc(srtp_cipher_t *c)
{
    chorus_gcm_ctx_t *ctx = (chorus_gcm_ctx_t *)c->state;

    if (ctx) {
        if (ctx->gcm) {
            CRYPTO_gcm128_release(ctx->gcm);
        }
        octet_string_set_to_zero(ctx, sizeof(chorus_gcm_ctx_t));
        srtp_crypto_free(ctx);
    }
    srtp_crypto_free(c);
    return (srtp_err_status_ok);
}

static srtp_err_status_t chorus_gcm_context_init(void *cv, const uint8_t *key)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;

    c->dir = srtp_direction_any;
    if (c->key_size != SRTP_AES_128_KEY_LEN &&
        c->key_size != SRTP_AES_256_KEY_LEN) {
        return (srtp_err_status_bad_param);
    }
    if (AES_set_encrypt_key(key, c->key_size * 8, &c->aes) != 0) {
        return (srtp_err_status_init_fail);
    }
    choose_block(c, key);
    if (c->gcm) {
        CRYPTO_gcm128_release(c->gcm);
    }
    /* Computes the hash key H = E(K, 0^128) with the chosen block function. */
    c->gcm = CRYPTO_gcm128_new(c, c->use_aesni ? block_aesni : block_openssl);
    if (c->gcm == NULL) {
        return (srtp_err_status_init_fail);
    }
    return (srtp_err_status_ok);
}

static srtp_err_status_t chorus_gcm_set_iv(void *cv,
                                           uint8_t *iv,
                                           srtp_cipher_direction_t direction)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;

    if (direction != srtp_direction_encrypt &&
        direction != srtp_direction_decrypt) {
        return (srtp_err_status_bad_param);
    }
    if (c->gcm == NULL) {
        return (srtp_err_status_init_fail);
    }
    c->dir = direction;
    CRYPTO_gcm128_setiv(c->gcm, iv, GCM_IV_LEN);
    return (srtp_err_status_ok);
}

static srtp_err_status_t chorus_gcm_set_aad(void *cv,
                                            const uint8_t *aad,
                                            uint32_t aad_len)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;

    if (c->gcm == NULL || CRYPTO_gcm128_aad(c->gcm, aad, aad_len) != 0) {
        return (srtp_err_status_algo_fail);
    }
    return (srtp_err_status_ok);
}

/* Like EVP in the replaced code, "encrypt" runs in the direction set_iv set. */
static srtp_err_status_t chorus_gcm_encrypt(void *cv,
                                            unsigned char *buf,
                                            unsigned int *enc_len)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;
    int rv;

    if (c->dir == srtp_direction_encrypt) {
        rv = CRYPTO_gcm128_encrypt(c->gcm, buf, buf, *enc_len);
    } else if (c->dir == srtp_direction_decrypt) {
        rv = CRYPTO_gcm128_decrypt(c->gcm, buf, buf, *enc_len);
    } else {
        return (srtp_err_status_bad_param);
    }
    return rv == 0 ? srtp_err_status_ok : srtp_err_status_algo_fail;
}

static srtp_err_status_t chorus_gcm_get_tag(void *cv,
                                            uint8_t *buf,
                                            uint32_t *len)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;

    if (c->dir != srtp_direction_encrypt) {
        return (srtp_err_status_algo_fail);
    }
    CRYPTO_gcm128_tag(c->gcm, buf, c->tag_len);
    *len = c->tag_len;
    return (srtp_err_status_ok);
}

static srtp_err_status_t chorus_gcm_decrypt(void *cv,
                                            unsigned char *buf,
                                            unsigned int *enc_len)
{
    chorus_gcm_ctx_t *c = (chorus_gcm_ctx_t *)cv;
    unsigned int data_len;

    if (c->dir != srtp_direction_decrypt) {
        return (srtp_err_status_bad_param);
    }
    if (*enc_len < (unsigned int)c->tag_len) {
        return (srtp_err_status_auth_fail);
    }
    data_len = *enc_len - c->tag_len;
    if (CRYPTO_gcm128_decrypt(c->gcm, buf, buf, data_len) != 0) {
        return (srtp_err_status_algo_fail);
    }
    /* Constant-time compare of the computed tag with the received one. */
    if (CRYPTO_gcm128_finish(c->gcm, buf + data_len, c->tag_len) != 0) {
        return (srtp_err_status_auth_fail);
    }
    *enc_len = data_len;
    return (srtp_err_status_ok);
}

static const char chorus_gcm_128_description[] =
    "AES-128 GCM (OpenSSL gcm128, AES-NI block)";
static const char chorus_gcm_256_description[] =
    "AES-256 GCM (OpenSSL gcm128, AES-NI block)";

const srtp_cipher_type_t srtp_aes_gcm_128 = {
    chorus_gcm_alloc,       chorus_gcm_dealloc,
    chorus_gcm_context_init, chorus_gcm_set_aad,
    chorus_gcm_encrypt,     chorus_gcm_decrypt,
    chorus_gcm_set_iv,      chorus_gcm_get_tag,
    chorus_gcm_128_description, &srtp_aes_gcm_128_test_case_0,
    SRTP_AES_GCM_128
};

const srtp_cipher_type_t srtp_aes_gcm_256 = {
    chorus_gcm_alloc,       chorus_gcm_dealloc,
    chorus_gcm_context_init, chorus_gcm_set_aad,
    chorus_gcm_encrypt,     chorus_gcm_decrypt,
    chorus_gcm_set_iv,      chorus_gcm_get_tag,
    chorus_gcm_256_description, &srtp_aes_gcm_256_test_case_0,
    SRTP_AES_GCM_256
};
