/* pagemap.h - the global page map: for every registered address, its IOVA
 * per 2 MiB block, and for heap memory the owner of every 4 KiB unit.
 *
 * A 48-bit address splits into an 18-bit root index (1 GiB of address space
 * per entry), a 9-bit block index (2 MiB) and a 9-bit unit index (4 KiB).
 *   xmem_iova_map (public, xmem.h: xmem_virt2iova reads it inline) is one
 *   flat array of block words indexed by va >> 21, reserved once at load
 *   (2^27 words, MAP_NORESERVE: only the pages holding words of registered
 *   blocks take memory, 4 KiB per GiB registered).  Word b is the
 *   translation of block b:
 *              0                 nothing registered
 *              XM_PM_NOIOVA_BLK  registered, no IOVA anywhere in the block
 *              (iova - va) | 1   IOVA-linear: the whole block is registered
 *                                and unit u's IOVA is iova + u * 4 KiB
 *                                (every block of a region of 2 MiB or 1 GiB
 *                                pages; 4 KiB pages whose IOVAs follow each
 *                                other; IOVA = VA), stored as the distance
 *                                from the block's address so that a lookup
 *                                is one load and one add
 *              unit table        otherwise: a pointer to 512 IOVAs, one per
 *                                unit: into the region's own IOVA table when
 *                                one region of 4 KiB pages covers the
 *                                block, else a fine table of the map's own
 *                                (XMEM_BAD_IOVA: unregistered,
 *                                XM_PM_NOIOVA: registered without IOVA)
 *            So memory of 2 MiB or 1 GiB pages costs one word per 2 MiB, as
 *            SPDK's map does, and a lookup needs no directory level.  The
 *            2^27 words after the block words (same reservation, not ABI)
 *            hold each block's kept fine table (xm_pm_fine_of).
 *   xm_pm_root points at a leaf of unit entries per GiB, for heap memory
 *   only; ent[u] is the unit's owner, tagged in bit 0:
 *              0                 not heap memory (unregistered, or
 *                                registered for translation only)
 *              region | 1        a heap unit outside any class span: free
 *                                heap memory, the interior of a large block
 *              span              a unit of a class span, or the first unit
 *                                of a large block (span->cls tells which);
 *                                a pointer into the middle of a large block
 *                                thus misses, which is how interior frees
 *                                are caught
 *            xmem_free reads it: spans are as small as one unit, so this
 *            level stays 4 KiB-granular (8 bytes per 4 KiB of heap memory,
 *            committed by the kernel only where written).
 * xmem_free goes unit -> span and xmem_virt2iova block -> IOVA (-> fine
 * table), neither touching the region.  The root is a zero-filled static
 * array; leaves and fine tables come from xm_meta_pages.
 *
 * Invariant: leaves and fine tables are never freed (a block's fine table
 * is kept for the block's next registration), so readers need no RCU
 * section; a reader that races a writer sees either the old or the new
 * word.  Translations and region entries are written under the control
 * mutex, span entries under the heap's lock or claim of the units. */
#ifndef XM_PAGEMAP_H
#define XM_PAGEMAP_H

#include "xm_common.h"

#define XM_PM_LEAF_BITS 18                   /* units per leaf (1 GiB) */
#define XM_PM_BLK_SHIFT 21                   /* 2 MiB blocks */
#define XM_PM_BLK_UNITS (1u << (XM_PM_BLK_SHIFT - XM_UNIT_SHIFT))
#define XM_PM_ROOT_BITS (XMEM_VA_BITS - XM_UNIT_SHIFT - XM_PM_LEAF_BITS)
#define XM_PM_LEAF_MASK ((1u << XM_PM_LEAF_BITS) - 1)
#define XM_PM_REGION    ((uintptr_t)1)
#define XM_PM_LINEAR    ((uint64_t)1)
#define XM_PM_NOIOVA_BLK ((uint64_t)2)
#define XM_PM_NOIOVA    (XMEM_BAD_IOVA - 1)   /* in a fine table */

struct xm_region;
struct xm_span;

struct xm_pm_fine {
	_Atomic uint64_t iova[XM_PM_BLK_UNITS];
};

#define XM_PM_MAP_WORDS ((size_t)1 << (XMEM_VA_BITS - XM_PM_BLK_SHIFT))
/* The reservation behind xmem_iova_map: the block words, then the fine
 * table pointers. */
#define XM_PM_MAP_BYTES (2 * XM_PM_MAP_WORDS * sizeof(uint64_t))

/* The unit entries of one GiB of heap memory. */
struct xm_pm_leaf {
	_Atomic uintptr_t ent[1u << XM_PM_LEAF_BITS];
};

extern struct xm_pm_leaf *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS];

/* The leaf covering va's bits below XMEM_VA_BITS (those above are
 * ignored), or NULL.  Acquire pairs with the release store that published
 * the zero-filled leaf. */
static inline struct xm_pm_leaf *xm_pm_leaf_of_low(uintptr_t va)
{
	return atomic_load_explicit(
		&xm_pm_root[(va >> (XM_UNIT_SHIFT + XM_PM_LEAF_BITS)) &
			    ((1u << XM_PM_ROOT_BITS) - 1)],
		memory_order_acquire);
}

/* The leaf covering va, or NULL. */
static inline struct xm_pm_leaf *xm_pm_leaf_of(uintptr_t va)
{
	if (unlikely(va >> XMEM_VA_BITS))
		return NULL;
	return xm_pm_leaf_of_low(va);
}

/* The tagged entry of va's unit in leaf, the leaf covering va.  Acquire
 * pairs with the release stores of the writers, so the region or span
 * descriptor it points at is seen initialised (a plain load on x86-64). */
static inline _Atomic uintptr_t *xm_pm_ent_slot(struct xm_pm_leaf *leaf, uintptr_t va)
{
	return &leaf->ent[(va >> XM_UNIT_SHIFT) & XM_PM_LEAF_MASK];
}

static inline uintptr_t xm_pm_leaf_entry(struct xm_pm_leaf *leaf, uintptr_t va)
{
	return atomic_load_explicit(xm_pm_ent_slot(leaf, va), memory_order_acquire);
}

/* The tagged entry of va's unit (0 when not heap memory). */
static inline uintptr_t xm_pm_entry(uintptr_t va)
{
	struct xm_pm_leaf *leaf = xm_pm_leaf_of(va);
	if (unlikely(!leaf))
		return 0;
	return xm_pm_leaf_entry(leaf, va);
}

/* xm_pm_entry without the test of va's bits above XMEM_VA_BITS, for the
 * free paths' first try: such an address reads the entry of its low bits
 * instead, and lies outside whatever span that finds (spans lie below
 * 2^XMEM_VA_BITS), so the caller's range test against the span, which it
 * makes anyway, turns it away. */
static inline uintptr_t xm_pm_entry_unchecked(uintptr_t va)
{
	struct xm_pm_leaf *leaf = xm_pm_leaf_of_low(va);
	if (unlikely(!leaf))
		return 0;
	return xm_pm_leaf_entry(leaf, va);
}

/* The span of va's unit, or NULL (not in a class span or large block
 * start). */
static inline struct xm_span *xm_pagemap_span(uintptr_t va)
{
	uintptr_t e = xm_pm_entry(va);
	return (e & XM_PM_REGION) ? NULL : (struct xm_span *)e;
}

/* The block word of va (0 when nothing is registered there).  Acquire:
 * see xmem_virt2iova. */
static inline uint64_t xm_pm_block(uintptr_t va)
{
	if (unlikely(va >> XMEM_VA_BITS))
		return 0;
	return __atomic_load_n(&xmem_iova_map[va >> XM_PM_BLK_SHIFT],
			       __ATOMIC_ACQUIRE);
}

/* True when va is registered (translation only or heap memory).  For the
 * reports of invalid frees only: a page registered without an IOVA whose
 * block points into its region's own table reads as not registered. */
bool xm_pagemap_registered(uintptr_t va);

/* on: point [r->va, r->va + r->len) at r (its translation, and its units
 * when r is heap memory); allocates the missing leaves and fine tables
 * first, so it either fails with ENOMEM having changed nothing, or
 * succeeds.  !on: clear r's range, which never fails.  Regions never
 * overlap (the registry refuses it).  Control mutex held. */
int xm_pagemap_set(struct xm_region *r, bool on);

/* Point n units from va at span s, or with s NULL back at region r.  Every
 * leaf exists (the region is published).  Heap lock held. */
void xm_pagemap_set_span(uintptr_t va, size_t n, struct xm_span *s,
			 struct xm_region *r);

/* Page-map bytes a region of len bytes takes: the unit entries of heap
 * memory, one block word and one fine-table pointer per 2 MiB (the fine
 * tables it uses are added to its meta_bytes when it is set). */
static inline size_t xm_pagemap_bytes(size_t len, bool heap)
{
	return (heap ? (len >> XM_UNIT_SHIFT) * sizeof(uintptr_t) : 0) +
	       ((len >> XM_PM_BLK_SHIFT) + 1) * 2 * sizeof(uint64_t);
}

/* Map the domain's copy of the translation map (fd at off, XM_PM_MAP_BYTES)
 * over this process's: shared.c, when joining.  -1 with errno. */
int xm_pagemap_map_shared(int fd, off_t off);

#endif
