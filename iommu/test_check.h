/* iommu/test_check.h - the check macros of the layer's host unit tests
 * (runs_test.c, bar_test.c): count passes and failures, print each failure
 * with its line, and for CHECK_ERR the errno got and wanted.  Each test
 * prints "N passed, M failed" from n_pass and n_fail. */
#ifndef XMEM_IOMMU_TEST_CHECK_H
#define XMEM_IOMMU_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int n_pass, n_fail;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) {                                                           \
            n_pass++;                                                         \
        } else {                                                              \
            n_fail++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                     \
    } while (0)

/* rc == -1 and errno == e */
#define CHECK_ERR(call, e)                                                    \
    do {                                                                      \
        errno = 0;                                                            \
        long rc_ = (long)(call);                                              \
        int got_ = errno;                                                     \
        if (rc_ == -1 && got_ == (e)) {                                       \
            n_pass++;                                                         \
        } else {                                                              \
            n_fail++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: rc %ld errno %d (%s), want %s\n", \
                    __FILE__, __LINE__, #call, rc_, got_, strerror(got_), #e); \
        }                                                                     \
    } while (0)

#endif /* XMEM_IOMMU_TEST_CHECK_H */
