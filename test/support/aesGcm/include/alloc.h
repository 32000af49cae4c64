/* Test stand-in for libsrtp's crypto/include/alloc.h. */
#ifndef CHORUS_TEST_ALLOC_H
#define CHORUS_TEST_ALLOC_H
#include <stddef.h>
void *srtp_crypto_alloc(size_t size);
void srtp_crypto_free(void *ptr);
#endif
