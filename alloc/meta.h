/* meta.h - the one internal allocator for library metadata (invariant 7). */
#ifndef XM_META_H
#define XM_META_H

#include <stdatomic.h>
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
 * magazines one before each take, so those fail the same way).  The core
 * only calls a hook: the test library (testing/meta_fault.c) installs it and
 * decides which allocation fails; the library itself never names it.
 * NULL (always, outside tests): nothing fails.  The hook is hidden in
 * libxmem.so, so only programs linking the library statically can set it.
 * Relaxed: the hook publishes no memory; a test arms it before the operation
 * under test, from the same thread or before starting the others. */
typedef bool (*xm_meta_fault_fn)(void);
extern _Atomic(xm_meta_fault_fn) xm_meta_fault_hook;

/* One counted allocation for a malloc user: true when it must fail (the
 * caller sets ENOMEM). */
static inline bool xm_meta_fault(void)
{
	xm_meta_fault_fn h = atomic_load_explicit(&xm_meta_fault_hook,
						  memory_order_relaxed);
	return __builtin_expect(h != NULL, 0) && h();
}

#endif
