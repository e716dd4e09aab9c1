/* pagemap.c - writers of the page map (see pagemap.h for the layout and the
 * no-free invariant that keeps its readers lock-free). */
#include <errno.h>

#include "meta.h"
#include "pagemap.h"

#define XM_PM_LEAF_BYTES (sizeof(xm_pm_leaf_t) << XM_PM_LEAF_BITS)

xm_pm_leaf_t *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS];

int xm_pagemap_set(uintptr_t va, size_t len, struct xm_region *r)
{
	const unsigned shift = XM_UNIT_SHIFT + XM_PM_LEAF_BITS;
	uintptr_t first = va >> shift, last = (va + len - 1) >> shift;

	/* Pass 1: make every leaf exist, so pass 2 cannot fail half-way.  A
	 * leaf allocated here and left unused on a later failure is kept: leaves
	 * are never freed anyway. */
	for (uintptr_t i = first; i <= last; i++) {
		if (atomic_load_explicit(&xm_pm_root[i], memory_order_relaxed))
			continue;
		xm_pm_leaf_t *leaf = xm_meta_pages(XM_PM_LEAF_BYTES);
		if (!leaf)
			return -1;
		/* Release: readers that see the leaf see it zero-filled. */
		atomic_store_explicit(&xm_pm_root[i], leaf, memory_order_release);
	}
	/* Pass 2: release stores publish r's fields to xm_pagemap_get. */
	for (uintptr_t u = va >> XM_UNIT_SHIFT; u < (va + len) >> XM_UNIT_SHIFT; u++) {
		xm_pm_leaf_t *leaf = atomic_load_explicit(
			&xm_pm_root[u >> XM_PM_LEAF_BITS], memory_order_relaxed);
		atomic_store_explicit(&leaf[u & ((1u << XM_PM_LEAF_BITS) - 1)],
				      r, memory_order_release);
	}
	return 0;
}
