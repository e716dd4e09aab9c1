/* pagemap.c - the page map's reservation and its writers (see pagemap.h for
 * the layout and the no-free invariant that keeps its readers lock-free). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "heap.h"
#include "meta.h"
#include "pagemap.h"
#include "region.h"

/* Page-aligned and a whole number of pages (2 MiB), so that a domain
 * member can map the domain's copy over it (shared.c). */
struct xm_pm_leaf *_Atomic xm_pm_root[1u << XM_PM_ROOT_BITS]
	__attribute__((aligned(4096)));
/* Set once, by the constructor below, before any code that could read it
 * runs (a program's own constructors run after priority 101, in a static
 * link too); never changed after, so readers load it plainly. */
uint64_t *xmem_iova_map;

/* Reserve the map.  Without it no lookup could be made safe, so a failure
 * stops the program here, with the reason, rather than at its first
 * xmem_virt2iova. */
__attribute__((constructor(101))) static void xm_pagemap_reserve(void)
{
	void *p = mmap(NULL, XM_PM_MAP_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		xm_log("xmem: cannot reserve %zu MiB of address space for the "
		       "translation map (RLIMIT_AS?)", XM_PM_MAP_BYTES >> 20);
		abort();
	}
	xmem_iova_map = p;
}

int xm_pagemap_map_shared(int fd, off_t off)
{
	return mmap(xmem_iova_map, XM_PM_MAP_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, fd, off) == MAP_FAILED ? -1 : 0;
}

/* The slot of block va's kept fine table (in the words after the block
 * words). */
static struct xm_pm_fine **xm_pm_fine_of(uintptr_t va)
{
	return (struct xm_pm_fine **)&xmem_iova_map[XM_PM_MAP_WORDS +
						    (va >> XM_PM_BLK_SHIFT)];
}

/* Block va's word, for the writers. */
static _Atomic uint64_t *xm_pm_word_of(uintptr_t va)
{
	return (_Atomic uint64_t *)&xmem_iova_map[va >> XM_PM_BLK_SHIFT];
}

#define XM_PM_BLK   ((uintptr_t)1 << XM_PM_BLK_SHIFT)

bool xm_pagemap_registered(uintptr_t va)
{
	uint64_t w = xm_pm_block(va);
	if (w <= XM_PM_NOIOVA_BLK || (w & XM_PM_LINEAR))
		return w != 0;
	const struct xm_pm_fine *f = (const struct xm_pm_fine *)(uintptr_t)w;
	return atomic_load_explicit(&f->iova[(va >> XM_UNIT_SHIFT) &
					     (XM_PM_BLK_UNITS - 1)],
				    memory_order_relaxed) != XMEM_BAD_IOVA;
}

static struct xm_pm_leaf *xm_pm_leaf_at(uintptr_t va)
{
	return atomic_load_explicit(&xm_pm_root[va >> (XM_UNIT_SHIFT + XM_PM_LEAF_BITS)],
				    memory_order_relaxed);
}

/* What unit a of r translates to in a fine table. */
static uint64_t xm_pm_fine_word(const struct xm_region *r, uintptr_t a)
{
	if (!r->iova)
		return XM_PM_NOIOVA;
	uint64_t io = xm_region_iova(r, a);
	return io == XMEM_BAD_IOVA ? XM_PM_NOIOVA : io;
}

/* The block word for block b (start va) when r covers all of it and no
 * fine table is needed, else 0. */
static uint64_t xm_pm_whole_word(const struct xm_region *r, uintptr_t b)
{
	if (!r->iova)
		return XM_PM_NOIOVA_BLK;
	uint64_t first = xm_region_iova(r, b);
	if (first == XMEM_BAD_IOVA)
		goto not_linear;
	/* Linear when every page of the block continues the first: with
	 * pages of 2 MiB or more, one page is the whole block. */
	size_t step = (size_t)1 << r->page_shift;
	for (uintptr_t a = b + step; a < b + XM_PM_BLK; a += step)
		if (xm_region_iova(r, a) != first + (a - b))
			goto not_linear;
	return (first - b) | XM_PM_LINEAR;
not_linear:
	/* 4 KiB pages in any order: the region's own table has one IOVA per
	 * unit already (XMEM_BAD_IOVA for none), so the block word points
	 * into it and no fine table is needed.  That table is metadata, never
	 * unmapped, and not replaced once r is published (listeners set it
	 * before). */
	if (r->page_shift == XM_UNIT_SHIFT)
		return (uint64_t)(uintptr_t)&r->iova[(b - r->va) >> XM_UNIT_SHIFT];
	return 0;
}

/* Does r's part of block b need a fine table? */
static bool xm_pm_needs_fine(const struct xm_region *r, uintptr_t b)
{
	bool whole = b >= r->va && b + XM_PM_BLK <= r->va + r->len;
	return !whole || xm_pm_whole_word(r, b) == 0;
}

/* Pass 1 of a set: every leaf (heap memory) and fine table r needs
 * exists.  The fine tables r uses count in its metadata. */
static int xm_pm_prepare(struct xm_region *r)
{
	size_t fine = 0;
	uintptr_t end = r->va + r->len;
	for (uintptr_t b = r->va & ~(XM_PM_BLK - 1); b < end; b += XM_PM_BLK) {
		uintptr_t i = b >> 30;
		if (r->heap && !xm_pm_leaf_at(b)) {
			struct xm_pm_leaf *leaf = xm_meta_pages(sizeof(*leaf));
			if (!leaf)
				return -1;
			atomic_store_explicit(&xm_pm_root[i], leaf,
					      memory_order_release);
		}
		if (!xm_pm_needs_fine(r, b))
			continue;
		fine++;
		struct xm_pm_fine **kept = xm_pm_fine_of(b);
		if (*kept)
			continue;
		struct xm_pm_fine *f = xm_meta_pages(sizeof(*f));
		if (!f)
			return -1;
		for (unsigned u = 0; u < XM_PM_BLK_UNITS; u++)
			atomic_store_explicit(&f->iova[u], XMEM_BAD_IOVA,
					      memory_order_relaxed);
		*kept = f;
	}
	r->meta_bytes += fine * sizeof(struct xm_pm_fine);
	return 0;
}

/* The translation of r's part of block b, set (on) or cleared. */
static void xm_pm_set_block(const struct xm_region *r, uintptr_t b, bool on)
{
	uintptr_t lo = b > r->va ? b : r->va;
	uintptr_t hi = b + XM_PM_BLK < r->va + r->len ? b + XM_PM_BLK : r->va + r->len;
	uint64_t whole = lo == b && hi == b + XM_PM_BLK ? xm_pm_whole_word(r, b) : 0;
	struct xm_pm_fine *f = *xm_pm_fine_of(b);
	/* r's units in the block's fine table: its IOVAs when r is set and
	 * shares the block or is not linear there, else XMEM_BAD_IOVA, so a
	 * table kept for the block's next registration holds nothing of r.
	 * Other regions' units are left as they are. */
	if (f && (on ? !whole : true))
		for (uintptr_t a = lo; a < hi; a += XM_UNIT)
			atomic_store_explicit(&f->iova[(a - b) >> XM_UNIT_SHIFT],
					      on ? xm_pm_fine_word(r, a) : XMEM_BAD_IOVA,
					      memory_order_relaxed);
	if (whole || (!on && lo == b && hi == b + XM_PM_BLK)) {
		/* Release: nothing to order but the word itself. */
		atomic_store_explicit(xm_pm_word_of(b), on ? whole : 0,
				      memory_order_release);
		return;
	}
	/* Release: a reader that loads the pointer sees the entries. */
	atomic_store_explicit(xm_pm_word_of(b), (uint64_t)(uintptr_t)f,
			      memory_order_release);
}

/* Entry e for every unit of [va, end), with release (the callers say what
 * it publishes); the leaves exist. */
static void xm_pm_set_units(uintptr_t va, uintptr_t end, uintptr_t e)
{
	for (uintptr_t a = va; a < end; a += XM_UNIT)
		atomic_store_explicit(xm_pm_ent_slot(xm_pm_leaf_at(a), a), e,
				      memory_order_release);
}

int xm_pagemap_set(struct xm_region *r, bool on)
{
	if (on && xm_pm_prepare(r))
		return -1;
	uintptr_t end = r->va + r->len;
	for (uintptr_t b = r->va & ~(XM_PM_BLK - 1); b < end; b += XM_PM_BLK)
		xm_pm_set_block(r, b, on);
	if (!r->heap)
		return 0;   /* translation only: no unit entries */
	/* Heap memory: the units, after the translation, with release, so a
	 * reader that finds the region also finds its IOVA and its fields. */
	xm_pm_set_units(r->va, end, on ? (uintptr_t)r | XM_PM_REGION : 0);
	return 0;
}

void xm_pagemap_set_span(uintptr_t va, size_t n, struct xm_span *s,
			 struct xm_region *r)
{
	/* Release: a free that finds s sees its fields.  The object handed out
	 * of s reaches that free through the user's own synchronisation, which
	 * orders this store before it anyway. */
	xm_pm_set_units(va, va + (n << XM_UNIT_SHIFT),
			s ? (uintptr_t)s : (uintptr_t)r | XM_PM_REGION);
}
