/* region.c - building and retiring region descriptors: argument checks of
 * the register/add contract, the IOVA table copy, the run map that keeps
 * allocations IOVA-contiguous (invariant 2), and the per-node byte counts
 * (numa.c reads them). */
#include <errno.h>
#include <string.h>

#include "bitmap.h"
#include "meta.h"
#include "numa.h"
#include "pagemap.h"
#include "region.h"
#include "runs.h"

/* The contract of xmem_register / xmem_heap_add_memory; a violation is
 * recorded as the call's cause (xm_cause), naming the argument. */
static int xm_region_check(void *va, size_t len, const uint64_t *iova,
			   size_t n_pages, size_t page_size)
{
	uintptr_t a = (uintptr_t)va;
	if (!va) {
		xm_cause("va is NULL");
		return -1;
	}
	if (len == 0) {
		xm_cause("len is 0");
		return -1;
	}
	if (!xm_is_pow2(page_size)) {
		xm_cause("page_size %#zx is not a power of two", page_size);
		return -1;
	}
	if (page_size < XMEM_PAGE_SIZE_MIN || page_size > XMEM_PAGE_SIZE_MAX) {
		xm_cause("page_size %#zx is outside [%#zx, %#zx]", page_size,
			 XMEM_PAGE_SIZE_MIN, XMEM_PAGE_SIZE_MAX);
		return -1;
	}
	if (a & (page_size - 1)) {
		xm_cause("va %p is not a multiple of page_size %#zx", va, page_size);
		return -1;
	}
	if (len & (page_size - 1)) {
		xm_cause("len %#zx is not a multiple of page_size %#zx", len,
			 page_size);
		return -1;
	}
	if (len > ((uintptr_t)1 << XMEM_VA_BITS) ||
	    a > ((uintptr_t)1 << XMEM_VA_BITS) - len) {
		xm_cause("[%p, +%#zx) leaves the %d-bit address space", va, len,
			 XMEM_VA_BITS);
		return -1;
	}
	size_t pages = len / page_size;
	if (iova ? n_pages != pages : (n_pages != 0 && n_pages != pages)) {
		xm_cause("n_pages %zu is not len / page_size = %zu%s", n_pages,
			 pages, iova ? "" : " (nor 0, without a table)");
		return -1;
	}
	/* The IOMMU layer's rule too (runs.h): each entry XMEM_BAD_IOVA, or
	 * page-aligned with a page end that does not wrap. */
	if (iova && !xm_iova_table_ok(iova, pages, page_size)) {
		size_t i = 0;
		while (xm_iova_entry_ok(iova[i], page_size))
			i++;
		xm_cause("iova[%zu] = %#llx %s", i, (unsigned long long)iova[i],
			 iova[i] & (page_size - 1) ?
			 "is not a multiple of page_size (nor XMEM_BAD_IOVA)" :
			 "has a page that ends past 2^64");
		return -1;
	}
	return 0;
}

/* Copy iova (valid per runs.h) into r and derive the run-start map from
 * xm_iova_run_end, replacing what r had.  Nothing changes on failure
 * (ENOMEM). */
int xm_region_set_iova(struct xm_region *r, const uint64_t *iova)
{
	size_t ps = (size_t)1 << r->page_shift;
	size_t tab = r->n_pages * sizeof(uint64_t);
	size_t bm = XM_BM_WORDS(r->n_pages) * sizeof(uint64_t);
	size_t runs = 0;
	for (size_t p = 0; p < r->n_pages; runs++)
		p = xm_iova_run_end(iova, r->n_pages, ps, p);

	uint64_t *copy = xm_meta_zalloc(tab);
	uint64_t *starts = runs > 1 ? xm_meta_zalloc(bm) : NULL;
	if (!copy || (runs > 1 && !starts)) {
		xm_meta_free(copy, tab);
		xm_meta_free(starts, bm);
		errno = ENOMEM;
		return -1;
	}
	memcpy(copy, iova, tab);
	if (starts)
		for (size_t p = 0; p < r->n_pages;
		     p = xm_iova_run_end(iova, r->n_pages, ps, p))
			xm_bm_set(starts, p);
	if (r->iova)
		r->meta_bytes -= tab;
	if (r->run_start)
		r->meta_bytes -= bm;
	xm_meta_free(r->iova, tab);
	xm_meta_free(r->run_start, bm);
	r->iova = copy;
	r->run_start = starts;
	r->n_runs = runs;
	r->meta_bytes += tab + (starts ? bm : 0);
	return 0;
}

struct xm_region *xm_region_new(void *va, size_t len, const uint64_t *iova,
				size_t n_pages, size_t page_size, bool for_heap)
{
	if (xm_region_check(va, len, iova, n_pages, page_size)) {
		errno = EINVAL;
		return NULL;
	}
	struct xm_region *r = xm_meta_zalloc(sizeof(*r));
	if (!r)
		return NULL;
	r->va = (uintptr_t)va;
	r->len = len;
	r->page_shift = (unsigned)__builtin_ctzll(page_size);
	r->n_pages = len / page_size;
	r->n_runs = 1;
	/* Its share of the page map is metadata too, though the map owns it. */
	r->meta_bytes = sizeof(*r) + xm_pagemap_bytes(len, for_heap);

	if (iova && xm_region_set_iova(r, iova))
		goto fail;
	if (for_heap) {
		r->n_units = len >> XM_UNIT_SHIFT;
		size_t bm = XM_BM_WORDS(r->n_units) * sizeof(uint64_t);
		r->free_units = xm_meta_zalloc(bm);
		if (!r->free_units)
			goto fail;
		r->meta_bytes += bm;
		/* Not published yet: plain stores through the bitmap helper
		 * are fine, the publishing release orders them. */
		xm_bm_fill((uint64_t *)r->free_units, 0, r->n_units, 1);
	}
	struct xm_numa_bytes nb;
	xm_numa_scan(r->va, len, page_size, &nb);
	xm_numa_counts_set(&r->numa, &nb);
	return r;
fail:
	xm_region_free(r);
	errno = ENOMEM;
	return NULL;
}

void xm_region_free(struct xm_region *r)
{
	if (!r)
		return;
	int e = errno;   /* callers free on error paths: keep their errno */
	xm_meta_free(r->iova, r->n_pages * sizeof(uint64_t));
	xm_meta_free(r->run_start, XM_BM_WORDS(r->n_pages) * sizeof(uint64_t));
	xm_meta_free((void *)r->free_units, XM_BM_WORDS(r->n_units) * sizeof(uint64_t));
	xm_meta_free(r, sizeof(*r));
	errno = e;
}

size_t xm_region_run_end(const struct xm_region *r, size_t u)
{
	if (!r->run_start)
		return r->n_units;
	unsigned ups = r->page_shift - XM_UNIT_SHIFT; /* units per page, log2 */
	size_t next = xm_bm_next(r->run_start, (u >> ups) + 1, r->n_pages, 1);
	return next << ups;
}
