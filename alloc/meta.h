/* meta.h - the one internal allocator for library metadata (invariant 7). */
#ifndef XM_META_H
#define XM_META_H

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

/* Fault injection for tests: the n-th following xm_meta_zalloc call (1 =
 * the next one) fails with ENOMEM; 0 disables. */
void xm_meta_fail_nth(long n);

#endif
