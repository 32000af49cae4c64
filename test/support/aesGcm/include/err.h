/* Test stand-in for libsrtp's crypto/include/err.h. */
#ifndef CHORUS_TEST_ERR_H
#define CHORUS_TEST_ERR_H
typedef struct {
    int on;
    const char *name;
} srtp_debug_module_t;
#endif
