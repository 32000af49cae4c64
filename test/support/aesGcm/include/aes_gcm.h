/* Test stand-in for libsrtp's internal crypto/include/aes_gcm.h: only what
 * scripts/worker/aes_gcm_fast.c uses. The public types come from Debian's
 * libsrtp2-dev (<srtp2/cipher.h>), the same layout the worker links. */
#ifndef CHORUS_TEST_AES_GCM_H
#define CHORUS_TEST_AES_GCM_H
#include <stddef.h>
#include <stdint.h>
#include "cipher.h"
void octet_string_set_to_zero(void *s, size_t len);
#endif
