/* pagemap.h - the global page map: for every 4 KiB unit of a registered
 * address, what it belongs to and its IOVA, each in two dependent loads.
 *
 * A 48-bit address splits into an 18-bit root index (1 GiB of address space
 * per leaf) and an 18-bit leaf index.  A leaf holds two arrays:
 *   ent[u]   the unit's owner, tagged in bit 0:
 *              0                 not registered
 *              region | 1        a registered unit outside any class span:
 *                                free heap memory, the interior of a large
 *                                block, translation-only memory
 *              span              a unit of a class span, or the first unit
 *                                of a large block (span->cls tells which);
 *                                a pointer into the middle of a large block
 *                                thus misses, which is how interior frees
 *                                are caught
 *   iova[u]  the unit's IOVA in 4 KiB frames above the leaf's iova_base,
 *            plus 1, in 32 bits: 0 means "none" (so a zero-filled leaf is
 *            right), XM_PM_FAR "not representable, ask the region" (an IOVA
 *            16 TiB or more away from the base, or not 4 KiB aligned).
 *            32-bit words keep the array of a fully registered leaf at
 *            1 MiB, which stays in a core's L2 under random lookups.
 *   iova_base  chosen when the leaf gets its first IOVA, 8 TiB below it, so
 *            IOVAs of one registration (and IOVA = VA) fit on either side.
 * xmem_free goes unit -> span and xmem_virt2iova unit -> IOVA, both without
 * touching the region.  The root is a zero-filled static array and leaves
 * come from xm_meta_pages: committed by the kernel only where touched, 12 B
 * per 4 KiB unit actually registered (0.3 %).
 *
 * Invariant: leaves are never freed, so readers need no RCU section; a
 * reader that races a writer sees either the old or the new word.  Region
 * entries and IOVAs are written under the control mutex, span entries under
 * the heap lock of the span's heap. */
#ifndef XM_PAGEMAP_H
#define XM_PAGEMAP_H

#include "xm_common.h"

#define XM_PM_LEAF_BITS 18
#define XM_PM_ROOT_BITS (XMEM_VA_BITS - XM_UNIT_SHIFT - XM_PM_LEAF_BITS)
#define XM_PM_LEAF_MASK ((1u << XM_PM_LEAF_BITS) - 1)
#define XM_PM_REGION    ((uintptr_t)1)
#define XM_PM_FAR       UINT32_MAX
#define XM_PM_IOVA_SPAN ((uint64_t)XM_PM_FAR << XM_UNIT_SHIFT)  /* 16 TiB */

struct xm_region;
struct xm_span;

struct xm_pm_leaf {
	_Atomic uintptr_t ent[1u << XM_PM_LEAF_BITS];
	_Atomic uint32_t  iova[1u << XM_PM_LEAF_BITS];
	uint64_t iova_base;   /* written before any iova word, see set */
	bool     has_base;
};

extern struct xm_pm_leaf *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS];

/* The leaf covering va, or NULL.  Acquire pairs with the release store that
 * published the zero-filled leaf. */
static inline struct xm_pm_leaf *xm_pm_leaf_of(uintptr_t va)
{
	if (unlikely(va >> XMEM_VA_BITS))
		return NULL;
	return atomic_load_explicit(&xm_pm_root[va >> (XM_UNIT_SHIFT + XM_PM_LEAF_BITS)],
				    memory_order_acquire);
}

/* The tagged entry of va's unit (0 when unregistered).  Acquire pairs with
 * the release stores of the writers, so the region or span descriptor it
 * points at is seen initialised (a plain load on x86-64). */
static inline uintptr_t xm_pm_entry(uintptr_t va)
{
	struct xm_pm_leaf *leaf = xm_pm_leaf_of(va);
	if (unlikely(!leaf))
		return 0;
	return atomic_load_explicit(&leaf->ent[(va >> XM_UNIT_SHIFT) & XM_PM_LEAF_MASK],
				    memory_order_acquire);
}

/* The span of va's unit, or NULL (not in a class span or large block
 * start). */
static inline struct xm_span *xm_pagemap_span(uintptr_t va)
{
	uintptr_t e = xm_pm_entry(va);
	return (e & XM_PM_REGION) ? NULL : (struct xm_span *)e;
}

/* The region holding va, or NULL. */
struct xm_region *xm_pagemap_get(uintptr_t va);

/* IOVA of a unit whose word is XM_PM_FAR. */
uint64_t xm_pagemap_iova_far(uintptr_t va);

/* IOVA of va, or XMEM_BAD_IOVA.  Acquire pairs with the release store of
 * the word, which follows the store of iova_base (a plain load on x86-64). */
static inline uint64_t xm_pagemap_iova(uintptr_t va)
{
	struct xm_pm_leaf *leaf = xm_pm_leaf_of(va);
	if (unlikely(!leaf))
		return XMEM_BAD_IOVA;
	uint32_t e = atomic_load_explicit(
		&leaf->iova[(va >> XM_UNIT_SHIFT) & XM_PM_LEAF_MASK],
		memory_order_acquire);
	if (unlikely(e - 1 >= XM_PM_FAR - 1))
		return e == 0 ? XMEM_BAD_IOVA : xm_pagemap_iova_far(va);
	return leaf->iova_base + ((uint64_t)(e - 1) << XM_UNIT_SHIFT) +
	       (va & (XM_UNIT - 1));
}

/* Point every unit of r at r, with its IOVA (r published), or with r NULL
 * clear [va, va + len).  Allocates the missing leaves first, so it either
 * fails with ENOMEM having changed nothing, or succeeds.  Control mutex
 * held. */
int xm_pagemap_set(uintptr_t va, size_t len, struct xm_region *r);

/* Point n units from va at span s, or with s NULL back at region r.  Every
 * leaf exists (the region is published).  Heap lock held. */
void xm_pagemap_set_span(uintptr_t va, size_t n, struct xm_span *s,
			 struct xm_region *r);

/* Page-map bytes a region of len bytes takes (both arrays). */
static inline size_t xm_pagemap_bytes(size_t len)
{
	return (len >> XM_UNIT_SHIFT) * (sizeof(uintptr_t) + sizeof(uint32_t));
}

#endif
