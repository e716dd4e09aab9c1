/* pagemap.c - writers of the page map, and the region lookup (see
 * pagemap.h for the layout and the no-free invariant that keeps its readers
 * lock-free). */
#include <errno.h>

#include "heap.h"
#include "meta.h"
#include "pagemap.h"

struct xm_pm_leaf *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS];

struct xm_region *xm_pagemap_get(uintptr_t va)
{
	uintptr_t e = xm_pm_entry(va);
	if (e & XM_PM_REGION)
		return (struct xm_region *)(e & ~XM_PM_REGION);
	/* A span of a published region: its region pointer is constant. */
	return e ? ((struct xm_span *)e)->region : NULL;
}

uint64_t xm_pagemap_iova_far(uintptr_t va)
{
	struct xm_region *r = xm_pagemap_get(va);
	return r ? xm_region_iova(r, va) : XMEM_BAD_IOVA;
}

/* The 32-bit word for a unit whose IOVA is io (XMEM_BAD_IOVA: none). */
static uint32_t xm_pm_iova_word(struct xm_pm_leaf *leaf, uint64_t io)
{
	if (io == XMEM_BAD_IOVA)
		return 0;
	if (!leaf->has_base) {
		/* Half the window below the first IOVA, half above. */
		leaf->iova_base = io > XM_PM_IOVA_SPAN / 2 ?
			(io - XM_PM_IOVA_SPAN / 2) & ~(uint64_t)(XM_UNIT - 1) : 0;
		leaf->has_base = true;
	}
	if ((io & (XM_UNIT - 1)) || io < leaf->iova_base ||
	    io - leaf->iova_base >= XM_PM_IOVA_SPAN - XM_UNIT)
		return XM_PM_FAR;
	return (uint32_t)((io - leaf->iova_base) >> XM_UNIT_SHIFT) + 1;
}

static struct xm_pm_leaf *xm_pm_leaf_at(uintptr_t u)
{
	return atomic_load_explicit(&xm_pm_root[u >> XM_PM_LEAF_BITS],
				    memory_order_relaxed);
}

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
		struct xm_pm_leaf *leaf = xm_meta_pages(sizeof(*leaf));
		if (!leaf)
			return -1;
		/* Release: readers that see the leaf see it zero-filled. */
		atomic_store_explicit(&xm_pm_root[i], leaf, memory_order_release);
	}
	/* Pass 2: the IOVA first, then the entry with release, so a reader that
	 * finds the region also finds its IOVA and its fields. */
	uintptr_t e = r ? (uintptr_t)r | XM_PM_REGION : 0;
	for (uintptr_t a = va; a < va + len; a += XM_UNIT) {
		struct xm_pm_leaf *leaf = xm_pm_leaf_at(a >> XM_UNIT_SHIFT);
		size_t i = (a >> XM_UNIT_SHIFT) & XM_PM_LEAF_MASK;
		if (r) {
			uint32_t w = xm_pm_iova_word(leaf, xm_region_iova(r, a));
			/* Release: after iova_base (xm_pagemap_iova). */
			atomic_store_explicit(&leaf->iova[i], w, memory_order_release);
			atomic_store_explicit(&leaf->ent[i], e, memory_order_release);
		} else {
			atomic_store_explicit(&leaf->ent[i], 0, memory_order_release);
			atomic_store_explicit(&leaf->iova[i], 0, memory_order_relaxed);
		}
	}
	return 0;
}

void xm_pagemap_set_span(uintptr_t va, size_t n, struct xm_span *s,
			 struct xm_region *r)
{
	/* Release: a free that finds s sees its fields.  The object handed out
	 * of s reaches that free through the user's own synchronisation, which
	 * orders this store before it anyway. */
	uintptr_t e = s ? (uintptr_t)s : (uintptr_t)r | XM_PM_REGION;
	for (uintptr_t a = va; a < va + (n << XM_UNIT_SHIFT); a += XM_UNIT) {
		struct xm_pm_leaf *leaf = xm_pm_leaf_at(a >> XM_UNIT_SHIFT);
		atomic_store_explicit(&leaf->ent[(a >> XM_UNIT_SHIFT) & XM_PM_LEAF_MASK],
				      e, memory_order_release);
	}
}
