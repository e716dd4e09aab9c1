/* pagemap.h - the global page map: virtual address -> region, per 4 KiB
 * unit, in two dependent loads.
 *
 * A 48-bit address splits into an 18-bit root index (1 GiB of address space
 * per leaf) and an 18-bit leaf index.  The root is a zero-filled static array
 * and leaves come from xm_meta_pages: both are committed by the kernel only
 * where touched, so the map costs 2 MiB per GiB actually registered.
 *
 * Invariant: leaves are never freed, so readers need no RCU section; a
 * reader that races a writer sees either the old or the new region pointer.
 * Writers hold the control mutex. */
#ifndef XM_PAGEMAP_H
#define XM_PAGEMAP_H

#include "xm_common.h"

#define XM_PM_LEAF_BITS 18
#define XM_PM_ROOT_BITS (XMEM_VA_BITS - XM_UNIT_SHIFT - XM_PM_LEAF_BITS)

struct xm_region;
typedef struct xm_region *_Atomic xm_pm_leaf_t;

extern xm_pm_leaf_t *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS];

/* The region holding va, or NULL.  Acquire pairs with the release stores of
 * xm_pagemap_set so that the region descriptor is seen fully initialised
 * (plain loads on x86-64). */
static inline struct xm_region *xm_pagemap_get(uintptr_t va)
{
	if (unlikely(va >> XMEM_VA_BITS))
		return NULL;
	xm_pm_leaf_t *leaf = atomic_load_explicit(
		&xm_pm_root[va >> (XM_UNIT_SHIFT + XM_PM_LEAF_BITS)],
		memory_order_acquire);
	if (unlikely(!leaf))
		return NULL;
	return atomic_load_explicit(
		&leaf[(va >> XM_UNIT_SHIFT) & ((1u << XM_PM_LEAF_BITS) - 1)],
		memory_order_acquire);
}

/* Point every unit of [va, va + len) at r (NULL to clear).  Allocates the
 * missing leaves first, so it either fails with ENOMEM having changed
 * nothing, or succeeds.  Control mutex held. */
int xm_pagemap_set(uintptr_t va, size_t len, struct xm_region *r);

#endif
