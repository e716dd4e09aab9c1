/* span.c - carving spans and large blocks out of a heap's regions, and
 * giving them back.  First-fit over each region's free-unit bitmap, cut at
 * the region's IOVA run boundaries; heap lock held throughout. */
#include <errno.h>

#include "bitmap.h"
#include "heap.h"
#include "meta.h"
#include "pagemap.h"

/* First unit u of r such that [u, u + n) is free, inside one IOVA run, and
 * r->va + u * 4 KiB is aligned to align; or SIZE_MAX. */
static size_t xm_region_find(const struct xm_region *r, size_t n, size_t align)
{
	size_t u = r->first_free;
	if (r->free_count < n)
		return SIZE_MAX;
	while (u < r->n_units) {
		size_t a = xm_bm_next(r->free_units, u, r->n_units, 1);
		if (a == r->n_units)
			break;
		size_t b = xm_bm_next(r->free_units, a, r->n_units, 0);
		/* Free extent [a, b): try each IOVA run piece of it. */
		for (size_t s = a; s < b;) {
			size_t e = xm_region_run_end(r, s);
			if (e > b)
				e = b;
			uintptr_t at = xm_align_up(r->va + (s << XM_UNIT_SHIFT), align);
			size_t start = (at - r->va) >> XM_UNIT_SHIFT;
			if (start + n <= e && start >= s)
				return start;
			s = e;
		}
		u = b;
	}
	return SIZE_MAX;
}

/* A unit an allocation could get now: free, or in an empty class span
 * (those are given back when carving fails). */
static bool xm_unit_reclaimable(const struct xm_region *r, size_t u)
{
	if (xm_bm_test(r->free_units, u))
		return true;
	const struct xm_span *s = xm_pagemap_span(r->va + (u << XM_UNIT_SHIFT));
	return s && s->cls != XM_CLS_LARGE && s->n_free == s->n_objs;
}

size_t xm_region_largest_free(const struct xm_region *r)
{
	unsigned ups = r->page_shift - XM_UNIT_SHIFT; /* units per page, log2 */
	size_t best = 0, run = 0;
	for (size_t u = 0; u < r->n_units; u++) {
		if (!xm_unit_reclaimable(r, u)) {
			run = 0;
			continue;
		}
		/* An IOVA jump ends the run as a used unit does. */
		if (r->run_start && (u & (((size_t)1 << ups) - 1)) == 0 &&
		    xm_bm_test(r->run_start, u >> ups))
			run = 0;
		if (++run > best)
			best = run;
	}
	return best << XM_UNIT_SHIFT;
}

static void xm_region_take(struct xm_region *r, size_t u, size_t n)
{
	xm_bm_fill(r->free_units, u, u + n, 0);
	r->free_count -= n;
	if (u == r->first_free)
		r->first_free = xm_bm_next(r->free_units, u + n, r->n_units, 1);
}

static void xm_region_give(struct xm_region *r, size_t u, size_t n)
{
	xm_bm_fill(r->free_units, u, u + n, 1);
	r->free_count += n;
	if (u < r->first_free)
		r->first_free = u;
}

/* Carve a span of cls (or a large block of `units` units when cls is
 * XM_CLS_LARGE) aligned to align bytes.  A class span shrinks when no region
 * has a long enough IOVA-contiguous free run, down to one object. */
struct xm_span *xm_span_carve(struct xmem_heap *h, int cls, size_t units,
			      size_t align)
{
	size_t obj = cls == XM_CLS_LARGE ? units << XM_UNIT_SHIFT
					 : xm_class_bytes[cls];
	size_t min_units = cls == XM_CLS_LARGE ? units : xm_div_ceil(obj, XM_UNIT);
	if (cls != XM_CLS_LARGE)
		units = xm_class_units[cls];
	if (align < XM_UNIT)
		align = XM_UNIT;

	struct xm_region *r = NULL;
	size_t u = SIZE_MAX;
	for (size_t n = units;; n = n / 2 > min_units ? n / 2 : min_units) {
		for (r = h->regions; r; r = r->next) {
			u = xm_region_find(r, n, align);
			if (u != SIZE_MAX)
				break;
		}
		if (r) {
			units = n;
			break;
		}
		if (n == min_units) {
			errno = ENOMEM;
			return NULL;
		}
	}

	size_t n_objs = cls == XM_CLS_LARGE ? 1 : (units << XM_UNIT_SHIFT) / obj;
	size_t words = cls == XM_CLS_LARGE ? 0 : XM_BM_WORDS(n_objs);
	size_t bytes = sizeof(struct xm_span) + words * sizeof(uint64_t);
	struct xm_span *s = xm_meta_zalloc(bytes);
	if (!s)
		return NULL;
	s->region = r;
	s->heap = h;
	s->heap_serial = h->serial;
	s->heap_id = h->id;
	s->base = r->va + (u << XM_UNIT_SHIFT);
	s->obj_size = obj;
	s->n_units = (uint32_t)units;
	s->cls = cls;
	s->n_objs = (uint32_t)n_objs;
	s->n_free = (uint32_t)n_objs;
	s->desc_bytes = (uint32_t)bytes;
	if (words)
		xm_bm_fill(s->free_bits, 0, n_objs, 1);

	xm_region_take(r, u, units);
	/* A large block maps only its first unit: a pointer into the middle
	 * of it then misses, which is how interior frees are caught. */
	xm_pagemap_set_span(s->base, cls == XM_CLS_LARGE ? 1 : units, s, r);
	h->span_meta_bytes += bytes;
	if (cls != XM_CLS_LARGE) {
		h->cls[cls].spans++;
		h->cls[cls].span_bytes += units << XM_UNIT_SHIFT;
	}
	return s;
}

void xm_span_release(struct xmem_heap *h, struct xm_span *s)
{
	struct xm_region *r = s->region;
	size_t u = (s->base - r->va) >> XM_UNIT_SHIFT;
	xm_pagemap_set_span(s->base, s->cls == XM_CLS_LARGE ? 1 : s->n_units, NULL, r);
	xm_region_give(r, u, s->n_units);
	h->span_meta_bytes -= s->desc_bytes;
	if (s->cls != XM_CLS_LARGE) {
		h->cls[s->cls].spans--;
		h->cls[s->cls].span_bytes -= (size_t)s->n_units << XM_UNIT_SHIFT;
	}
	xm_meta_free(s, s->desc_bytes);
}
