/*
 * Differential test of scripts/worker/aes_gcm_fast.c (the AES-GCM cipher type
 * Chorus puts into libsrtp in the offline worker build) against OpenSSL's EVP
 * AES-GCM. Driven by test/unit/aesGcm.test.ts.
 *
 * The file under test is compiled in here unchanged (#include below), against
 * Debian's public libsrtp2 headers for the cipher type layout and small
 * stand-ins for libsrtp's internal headers (include/). It is called the way
 * libsrtp calls it: alloc(key+salt length, tag length), init(key), then per
 * packet set_iv(direction), set_aad (once, or twice as for SRTCP), encrypt or
 * decrypt in place, get_tag; one context reused across packets and directions.
 *
 * For random keys (128/256), IVs, AAD and payload lengths, tag lengths 16 and 8:
 *   ours encrypt == EVP encrypt (ciphertext and tag, byte for byte);
 *   EVP's output decrypts with ours, ours decrypts with EVP;
 *   ours refuses a flipped tag, ciphertext or AAD bit, a changed AAD length,
 *   and input shorter than the tag.
 *
 * Usage: harness SEED CASES_PER_CONFIG. Prints "block=aesni|openssl cases=N";
 * on the first mismatch prints what differed to stderr and exits 1.
 */
/* First, so its OPENSSL_SUPPRESS_DEPRECATED comes before any OpenSSL header. */
#include "../../../scripts/worker/aes_gcm_fast.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

/* libsrtp's own helpers the cipher uses (alloc.c, datatypes.c). */
void *srtp_crypto_alloc(size_t size) { return calloc(1, size); }
void srtp_crypto_free(void *ptr) { free(ptr); }
void octet_string_set_to_zero(void *s, size_t len) { memset(s, 0, len); }
const srtp_cipher_test_case_t srtp_aes_gcm_128_test_case_0 = { 0 };
const srtp_cipher_test_case_t srtp_aes_gcm_256_test_case_0 = { 0 };

#define MAX_PAYLOAD 4200
#define MAX_AAD 300

static uint64_t rng_state;
static uint64_t rnd(void) /* xorshift64*: reproducible from the seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static void rnd_bytes(uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) p[i] = (uint8_t)(rnd() >> 56);
}

static const char *where;
static int failed(const char *what, int key_bytes, int tag_len, size_t aad_len, size_t len)
{
    fprintf(stderr, "FAIL %s: %s (key %d bits, tag %d, aad %zu, payload %zu)\n", where, what,
            key_bytes * 8, tag_len, aad_len, len);
    exit(1);
}

static const EVP_CIPHER *evp_gcm(int key_bytes)
{
    return key_bytes == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

/* EVP encrypt: out gets len ciphertext bytes, tag gets the full 16-byte tag. */
static void evp_encrypt(int key_bytes, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    int n = 0;
    if (!e || EVP_EncryptInit_ex(e, evp_gcm(key_bytes), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_EncryptInit_ex(e, NULL, NULL, key, iv) != 1 ||
        (aad_len && EVP_EncryptUpdate(e, NULL, &n, aad, (int)aad_len) != 1) ||
        EVP_EncryptUpdate(e, out, &n, in, (int)len) != 1 || EVP_EncryptFinal_ex(e, out + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
        fprintf(stderr, "EVP encrypt failed\n");
        exit(2);
    }
    EVP_CIPHER_CTX_free(e);
}

/* EVP decrypt with a tag of tag_len bytes; returns 1 when the tag verifies. */
static int evp_decrypt(int key_bytes, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t *tag, int tag_len,
                       uint8_t *out)
{
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    int n = 0, ok;
    if (!e || EVP_DecryptInit_ex(e, evp_gcm(key_bytes), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_DecryptInit_ex(e, NULL, NULL, key, iv) != 1 ||
        (aad_len && EVP_DecryptUpdate(e, NULL, &n, aad, (int)aad_len) != 1) ||
        EVP_DecryptUpdate(e, out, &n, in, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_TAG, tag_len, (void *)tag) != 1) {
        fprintf(stderr, "EVP decrypt setup failed\n");
        exit(2);
    }
    ok = EVP_DecryptFinal_ex(e, out + n, &n) == 1;
    EVP_CIPHER_CTX_free(e);
    return ok;
}

/* Our AAD goes in as one call, or as two (libsrtp's SRTCP: header, then trailer). */
static srtp_err_status_t our_aad(srtp_cipher_t *c, const uint8_t *aad, size_t aad_len, size_t split)
{
    srtp_err_status_t s;
    if (split == 0 || split >= aad_len) return c->type->set_aad(c->state, aad, (uint32_t)aad_len);
    s = c->type->set_aad(c->state, aad, (uint32_t)split);
    if (s != srtp_err_status_ok) return s;
    return c->type->set_aad(c->state, aad + split, (uint32_t)(aad_len - split));
}

/* Our decrypt of buf (ciphertext || tag), in place; returns libsrtp's status. */
static srtp_err_status_t our_decrypt(srtp_cipher_t *c, uint8_t *iv, const uint8_t *aad, size_t aad_len,
                                     size_t split, uint8_t *buf, unsigned int *len)
{
    srtp_err_status_t s = c->type->set_iv(c->state, iv, srtp_direction_decrypt);
    if (s == srtp_err_status_ok) s = our_aad(c, aad, aad_len, split);
    if (s == srtp_err_status_ok) s = c->type->decrypt(c->state, buf, len);
    return s;
}

static const size_t edge_lengths[] = { 0,   1,   2,   15,  16,  17,   31,   32,   33,   47,   48,   63,
                                       64,  65,  127, 128, 129, 255,  256,  257,  511,  1023, 1024, 1025,
                                       1200, 1500, 2047, 2048, 2049, 4095, 4096, 4097 };
static const size_t edge_aad[] = { 0, 1, 4, 12, 15, 16, 17, 20, 32, 33, 60, 64, 65, 255 };
#define N_EDGE (sizeof(edge_lengths) / sizeof(edge_lengths[0]))
#define N_EDGE_AAD (sizeof(edge_aad) / sizeof(edge_aad[0]))

int main(int argc, char **argv)
{
    static uint8_t key[32 + 12], iv[12], aad[MAX_AAD + 1], plain[MAX_PAYLOAD], ct[MAX_PAYLOAD],
        evp_tag[16], buf[MAX_PAYLOAD + 16], out[MAX_PAYLOAD], our_tag[16];
    const int key_sizes[2] = { 16, 32 }, tag_lens[2] = { 16, 8 };
    long per_config, total = 0;
    int ki, ti, block_aesni = -1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s SEED CASES_PER_CONFIG\n", argv[0]);
        return 2;
    }
    rng_state = strtoull(argv[1], NULL, 10) | 1;
    per_config = strtol(argv[2], NULL, 10);

    for (ki = 0; ki < 2; ki++) {
        for (ti = 0; ti < 2; ti++) {
            const int kb = key_sizes[ki], tl = tag_lens[ti];
            const srtp_cipher_type_t *type = kb == 16 ? &srtp_aes_gcm_128 : &srtp_aes_gcm_256;
            srtp_cipher_t *c = NULL;
            long i;

            for (i = 0; i < per_config; i++) {
                size_t len, aad_len, split;
                unsigned int n;
                uint32_t tag_n = 0;
                srtp_err_status_t s;

                /* A new key every 8 packets; the context lives on in between. */
                if (i % 8 == 0) {
                    if (c) type->dealloc(c);
                    c = NULL;
                    rnd_bytes(key, sizeof key);
                    where = "alloc/init";
                    if (type->alloc(&c, kb + 12, tl) != srtp_err_status_ok ||
                        type->init(c->state, key) != srtp_err_status_ok)
                        failed("cipher refused a valid key", kb, tl, 0, 0);
                    {
                        int a = ((chorus_gcm_ctx_t *)c->state)->use_aesni;
                        if (block_aesni == -1) block_aesni = a;
                        if (a != block_aesni) failed("block function changed between keys", kb, tl, 0, 0);
                    }
                }
                len = i < (long)N_EDGE ? edge_lengths[i] : (size_t)(rnd() % (rnd() % 2 ? 200 : MAX_PAYLOAD - 100));
                aad_len = i < (long)N_EDGE_AAD ? edge_aad[i] : (size_t)(rnd() % (rnd() % 4 ? 64 : MAX_AAD));
                split = aad_len > 1 && rnd() % 3 == 0 ? 1 + (size_t)(rnd() % (aad_len - 1)) : 0;
                rnd_bytes(iv, sizeof iv);
                rnd_bytes(aad, aad_len);
                rnd_bytes(plain, len);

                /* 1. ours encrypt == EVP encrypt. */
                where = "encrypt: ours vs EVP";
                evp_encrypt(kb, key, iv, aad, aad_len, plain, len, ct, evp_tag);
                memcpy(buf, plain, len);
                n = (unsigned int)len;
                if (type->set_iv(c->state, iv, srtp_direction_encrypt) != srtp_err_status_ok ||
                    our_aad(c, aad, aad_len, split) != srtp_err_status_ok ||
                    type->encrypt(c->state, buf, &n) != srtp_err_status_ok ||
                    type->get_tag(c->state, our_tag, &tag_n) != srtp_err_status_ok)
                    failed("our encrypt returned an error", kb, tl, aad_len, len);
                if (n != len) failed("our encrypt changed the length", kb, tl, aad_len, len);
                if (memcmp(buf, ct, len) != 0) failed("ciphertext differs", kb, tl, aad_len, len);
                if (tag_n != (uint32_t)tl) failed("tag length differs", kb, tl, aad_len, len);
                if (memcmp(our_tag, evp_tag, tl) != 0) failed("tag differs", kb, tl, aad_len, len);

                /* 2. EVP decrypts ours. */
                where = "decrypt: EVP of ours";
                if (!evp_decrypt(kb, key, iv, aad, aad_len, buf, len, our_tag, tl, out) ||
                    memcmp(out, plain, len) != 0)
                    failed("EVP refused or mis-decrypted our output", kb, tl, aad_len, len);

                /* 3. Ours decrypts EVP's (ciphertext || tag truncated to tl). */
                where = "decrypt: ours of EVP";
                memcpy(buf, ct, len);
                memcpy(buf + len, evp_tag, tl);
                n = (unsigned int)(len + tl);
                s = our_decrypt(c, iv, aad, aad_len, split, buf, &n);
                if (s != srtp_err_status_ok) failed("our decrypt refused EVP's output", kb, tl, aad_len, len);
                if (n != len || memcmp(buf, plain, len) != 0)
                    failed("our decrypt gave the wrong plaintext", kb, tl, aad_len, len);

                /* 4. Ours refuses tampering: tag, ciphertext, AAD, AAD length, short input. */
                where = "tamper: tag";
                memcpy(buf, ct, len);
                memcpy(buf + len, evp_tag, tl);
                buf[len + rnd() % tl] ^= (uint8_t)(1u << (rnd() % 8));
                n = (unsigned int)(len + tl);
                if (our_decrypt(c, iv, aad, aad_len, split, buf, &n) == srtp_err_status_ok)
                    failed("a flipped tag bit was accepted", kb, tl, aad_len, len);
                if (len > 0) {
                    where = "tamper: ciphertext";
                    memcpy(buf, ct, len);
                    memcpy(buf + len, evp_tag, tl);
                    buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
                    n = (unsigned int)(len + tl);
                    if (our_decrypt(c, iv, aad, aad_len, split, buf, &n) == srtp_err_status_ok)
                        failed("a flipped ciphertext bit was accepted", kb, tl, aad_len, len);
                }
                if (aad_len > 0) {
                    size_t at = rnd() % aad_len;
                    uint8_t bit = (uint8_t)(1u << (rnd() % 8));
                    where = "tamper: AAD";
                    memcpy(buf, ct, len);
                    memcpy(buf + len, evp_tag, tl);
                    aad[at] ^= bit;
                    n = (unsigned int)(len + tl);
                    s = our_decrypt(c, iv, aad, aad_len, split, buf, &n);
                    aad[at] ^= bit;
                    if (s == srtp_err_status_ok) failed("a flipped AAD bit was accepted", kb, tl, aad_len, len);
                }
                where = "tamper: AAD length";
                memcpy(buf, ct, len);
                memcpy(buf + len, evp_tag, tl);
                aad[aad_len] = 0;
                n = (unsigned int)(len + tl);
                if (our_decrypt(c, iv, aad, aad_len + 1, 0, buf, &n) == srtp_err_status_ok)
                    failed("an extra AAD byte was accepted", kb, tl, aad_len, len);
                where = "tamper: IV";
                memcpy(buf, ct, len);
                memcpy(buf + len, evp_tag, tl);
                iv[rnd() % 12] ^= 1;
                n = (unsigned int)(len + tl);
                if (our_decrypt(c, iv, aad, aad_len, split, buf, &n) == srtp_err_status_ok)
                    failed("a changed IV was accepted", kb, tl, aad_len, len);
                where = "tamper: shorter than the tag";
                n = (unsigned int)(tl - 1);
                if (our_decrypt(c, iv, aad, aad_len, split, buf, &n) == srtp_err_status_ok)
                    failed("input shorter than the tag was accepted", kb, tl, aad_len, len);
                total++;
            }
            if (c) type->dealloc(c);
        }
    }
    printf("block=%s cases=%ld\n", block_aesni == 1 ? "aesni" : "openssl", total);
    return 0;
}
