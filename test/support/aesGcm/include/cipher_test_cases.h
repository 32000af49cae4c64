/* Test stand-in for libsrtp's crypto/include/cipher_test_cases.h. */
#ifndef CHORUS_TEST_CIPHER_TEST_CASES_H
#define CHORUS_TEST_CIPHER_TEST_CASES_H
#include "cipher.h"
extern const srtp_cipher_test_case_t srtp_aes_gcm_128_test_case_0;
extern const srtp_cipher_test_case_t srtp_aes_gcm_256_test_case_0;
#endif
