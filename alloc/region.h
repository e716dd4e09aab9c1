/* region.h - a region is one registered range of memory: what
 * xmem_register or xmem_heap_add_memory was given.  It owns the copy of the
 * per-page IOVA table, the map of IOVA-contiguous runs, and, for heap
 * chunks, the free-unit bitmap (unit -> span is in the page map).
 *
 * Lifetime: created and destroyed under the control mutex.  Published to
 * lock-free readers through the page map; retired only after the page map no
 * longer points at it and an RCU grace period has passed. */
#ifndef XM_REGION_H
#define XM_REGION_H

#include "numa.h"
#include "xm_common.h"

struct xm_span;

struct xm_region {
	uintptr_t va;
	size_t    len;
	unsigned  page_shift;
	size_t    n_pages;
	uint64_t *iova;          /* n_pages entries, or NULL: all XMEM_BAD_IOVA */
	uint64_t *run_start;     /* bit p: page p starts an IOVA-contiguous run;
				    NULL when the region is one run */
	size_t    n_runs;
	struct xm_numa_counts numa; /* bytes per node, every page (numa.h) */
	struct xmem_heap *heap;  /* NULL for translation-only registrations */

	/* Heap chunks only. */
	size_t    n_units;
	/* Bit u: unit u is free.  Claimed and given back with CAS and
	 * fetch_or, never under a lock (carve.c). */
	_Atomic uint64_t *free_units;
	/* Word of free_units to start the next search at.  Relaxed: a hint. */
	_Atomic size_t hint;
	/* 1 while xmem_heap_remove_memory takes r away: nothing more is carved
	 * from r nor taken from its spans.  seq_cst against the carvers'
	 * claims (carve.c, span.c). */
	_Atomic uint32_t retiring;
	/* The heap's chunk list, RCU: written under the control mutex with
	 * release, read with acquire (xm_for_each_region). */
	struct xm_region *_Atomic next;
	size_t    meta_bytes;
};

/* Validate (va, len, iova, n_pages, page_size) as xmem_register documents,
 * then build a region: IOVA copy, run map, bytes per node and, when for_heap, the
 * unit maps (all free).  Does not publish it.  NULL with errno on failure. */
struct xm_region *xm_region_new(void *va, size_t len, const uint64_t *iova,
				size_t n_pages, size_t page_size,
				bool for_heap);
void xm_region_free(struct xm_region *r);   /* keeps errno */

/* Replace r's IOVA table with a copy of iova (n_pages entries) and rebuild
 * the run map.  Only before r is published.  -1 with ENOMEM, r unchanged. */
int  xm_region_set_iova(struct xm_region *r, const uint64_t *iova);

/* How many regions are published (control mutex held, or a quiet
 * process). */
size_t xm_region_count(void);

/* A published region that [va, va + len) overlaps, or NULL.  Control
 * mutex held. */
struct xm_region *xm_region_overlaps(uintptr_t va, size_t len);

/* Publish r: check overlap (EEXIST), tell the region listeners
 * (region_events.h: the IOMMU layer maps it), enter it in the page map and
 * the IOVA search table.  On failure nothing is published or mapped.
 * Control mutex held. */
int  xm_region_publish(struct xm_region *r);
/* Undo xm_region_publish: the listeners take r's device mappings down
 * first, then r leaves the page map and the IOVA table, an RCU grace period
 * passes (no reader still sees r), and the listeners forget r.  Fails before
 * unpublishing anything, leaving r published, translatable and mapped:
 * ENOMEM (no memory for the smaller IOVA table) or the errno of a
 * listener's failed removing (EIO: a device unmap failed or came back
 * short).  Control mutex held. */
int  xm_region_unpublish(struct xm_region *r);

/* The published region that is exactly (va, len), or NULL.  Control mutex
 * held. */
struct xm_region *xm_region_find_exact(uintptr_t va, size_t len);

/* Visit every published region in address order.  Control mutex held. */
void xm_region_foreach(void (*fn)(struct xm_region *r, void *arg), void *arg);

/* End (exclusive, in units from the region start) of the IOVA-contiguous
 * run holding unit u. */
size_t xm_region_run_end(const struct xm_region *r, size_t u);

static inline uint64_t xm_region_iova(const struct xm_region *r, uintptr_t va)
{
	if (!r->iova)
		return XMEM_BAD_IOVA;
	size_t off = va - r->va;
	uint64_t base = r->iova[off >> r->page_shift];
	if (base == XMEM_BAD_IOVA)
		return XMEM_BAD_IOVA;
	return base + (off & (((size_t)1 << r->page_shift) - 1));
}

#endif
