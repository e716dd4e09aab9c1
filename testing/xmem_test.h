/* xmem_test.h - metadata fault injection, for tests only (library
 * //testing:xmem_test, never installed, not in libxmem.so).  Link the
 * library statically (//:xmem): the core's hook is internal.
 *
 * A "counted allocation" is every metadata allocation of the library and
 * every check the IOMMU layer and the span and magazine pools make before
 * an allocation of their own (alloc/meta.h).
 *  xm_meta_fail_nth(n)    the n-th following counted allocation (1 = the
 *                         next one) fails with ENOMEM, once; 0 disarms.
 *  xm_meta_fail_from(n)   the n-th and every later one fail, until disarmed
 *                         (xm_meta_fail_nth(0)).
 *  xm_meta_fail_fired()   allocations failed since the fault was armed.
 *  xm_meta_fail_pending() armed and nothing has failed yet: the operation
 *                         under test never reached the fault. */
#ifndef XMEM_TEST_H
#define XMEM_TEST_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

void xm_meta_fail_nth(long n);
void xm_meta_fail_from(long n);
long xm_meta_fail_fired(void);
bool xm_meta_fail_pending(void);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_TEST_H */
