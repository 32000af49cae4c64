/* Test stand-in for libsrtp's crypto/include/cipher_types.h. */
#ifndef CHORUS_TEST_CIPHER_TYPES_H
#define CHORUS_TEST_CIPHER_TYPES_H
#include "cipher.h"
extern const srtp_cipher_type_t srtp_aes_gcm_128;
extern const srtp_cipher_type_t srtp_aes_gcm_256;
#endif
