/* meta.h - the one internal allocator for library metadata (invariant 7). */
#ifndef XM_META_H
#define XM_META_H

#include <stdbool.h>
#include <stddef.h>

/* Zeroed metadata block of at least size bytes, or NULL (errno ENOMEM).
 * Memory is type-stable: it is never returned to the system while the
 * process runs, so a racing reader of a freed descriptor reads stale data
 * but never faults. */
void *xm_meta_zalloc(size_t size);
void  xm_meta_free(void *p, size_t size);

/* Zero-filled, lazily committed pages that are never freed (page-map
 * leaves).  size is rounded up to the system page size. */
void *xm_meta_pages(size_t size);

/* Bytes of metadata handed out and not freed, all users together. */
size_t xm_meta_in_use(void);

/* Fault injection for tests.  A "counted allocation" is every
 * xm_meta_zalloc call and every xm_meta_fault() check (the IOMMU layer makes
 * one before each malloc of its own, and the pools of span descriptors and
 * magazines one before each take, so those fail the same way).
 *  xm_meta_fail_nth(n)   the n-th following counted allocation (1 = the next
 *                        one) fails with ENOMEM, once; 0 disarms.
 *  xm_meta_fail_from(n)  the n-th and every later one fail, until disarmed
 *                        (xm_meta_fail_nth(0)).
 *  xm_meta_fail_fired()  allocations failed since the fault was armed.
 *  xm_meta_fail_pending() armed and nothing has failed yet: the operation
 *                        under test never reached the fault.
 *  xm_meta_fault()       one counted allocation for a malloc user: true
 *                        when it must fail (the caller sets ENOMEM). */
void xm_meta_fail_nth(long n);
void xm_meta_fail_from(long n);
long xm_meta_fail_fired(void);
bool xm_meta_fail_pending(void);
bool xm_meta_fault(void);

#endif
