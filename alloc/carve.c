/* carve.c - units and span descriptors: carving class spans and large
 * blocks out of a heap's regions, retiring them, and the type-stable pool
 * of span descriptors.
 *
 * Class spans are a power of two of units, at most 64, aligned to their
 * size inside the region: a span's units are bits of one word of the
 * region's free-unit bitmap, claimed with one CAS.  That CAS is the whole
 * synchronisation of carving: no lock, and a thread stalled anywhere in
 * here holds nothing another carver needs (it may have claimed units that
 * are then missing until it resumes, which is the same as having allocated
 * them).  Large blocks claim several words under the heap's large_lock; a
 * word that a small carver changed meanwhile makes the large claim roll
 * back and search again, so small carvers never wait for it.
 *
 * Descriptors a reader may still hold are never reused as anything but span
 * descriptors: they go to a pool per descriptor size.  A retired class span
 * first waits in the limbo until a grace period has passed (xm_limbo_flush,
 * control plane), because put-back paths (span.c) write its bitmap inside
 * RCU read sections. */
#include <errno.h>

#include "bitmap.h"
#include "heap.h"
#include "meta.h"
#include "pagemap.h"



/* ---- descriptors --------------------------------------------------- */

static unsigned xm_desc_pool_of(size_t bytes)
{
	unsigned c = 0;
	while (((size_t)64 << c) < bytes)
		c++;
	return c;
}

static struct xm_span *xm_desc_get(size_t words)
{
	size_t bytes = sizeof(struct xm_span) + words * sizeof(uint64_t);
	unsigned pool = xm_desc_pool_of(bytes);
	/* A pooled descriptor is a metadata allocation too, for the fault
	 * injection of tests (meta.h). */
	if (pool >= XM_DESC_POOLS || unlikely(xm_meta_fault())) {
		errno = ENOMEM;
		return NULL;
	}
	struct xm_span *s = xm_stack_pop(&xm_st.desc_pool[pool]);
	if (!s) {
		s = xm_meta_zalloc((size_t)64 << pool);
		if (!s)
			return NULL;
	}
	s->desc_bytes = (uint32_t)(64u << pool);
	return s;
}

void xm_span_free_desc(struct xm_span *s)
{
	xm_stack_push(&xm_st.desc_pool[xm_desc_pool_of(s->desc_bytes)], s);
}

/* ---- unit claims ----------------------------------------------------- */

/* Units [u, u + n) lie inside one IOVA run of r. */
static bool xm_units_one_run(const struct xm_region *r, size_t u, size_t n)
{
	return xm_region_run_end(r, u) >= u + n;
}

/* Positions (bit i set) where n set bits of w start, n a power of two,
 * aligned to n. */
static uint64_t xm_groups(uint64_t w, unsigned n)
{
	for (unsigned s = 1; s < n; s <<= 1)
		w &= w >> s;   /* zeros shift in: no group wraps the word */
	uint64_t aligned = 0;
	for (unsigned i = 0; i < 64; i += n)
		aligned |= (uint64_t)1 << i;
	return w & aligned;
}

/* Give units [u, u + n) back to r.  Release: whoever claims them next sees
 * every write made while they were held (the page-map entries). */
static void xm_units_give(struct xm_region *r, size_t u, size_t n)
{
	while (n) {
		size_t w = u / 64;
		unsigned lo = u % 64;
		unsigned hi = lo + n > 64 ? 64 : (unsigned)(lo + n);
		atomic_fetch_or_explicit(&r->free_units[w], xm_bm_mask(lo, hi),
					 memory_order_release);
		n -= hi - lo;
		u += hi - lo;
	}
}

/* Claim n units (a power of two, at most 64) of r, aligned to n, in one
 * IOVA run, with one CAS.  Returns the first unit or SIZE_MAX. */
static size_t xm_units_claim_small(struct xm_region *r, unsigned n)
{
	size_t words = XM_BM_WORDS(r->n_units);
	size_t w = atomic_load_explicit(&r->hint, memory_order_relaxed);
	for (size_t k = 0; k < words; k++, w++) {
		if (w >= words)
			w = 0;
		/* Relaxed: the CAS below decides; acquire there pairs with
		 * xm_units_give. */
		uint64_t bits = atomic_load_explicit(&r->free_units[w],
						     memory_order_relaxed);
		for (;;) {
			uint64_t g = xm_groups(bits, n);
			uint64_t pick = 0;
			while (g) {
				unsigned i = (unsigned)__builtin_ctzll(g);
				if (xm_units_one_run(r, w * 64 + i, n)) {
					pick = (n == 64 ? ~(uint64_t)0 :
						(((uint64_t)1 << n) - 1)) << i;
					break;
				}
				g &= g - 1;
			}
			if (!pick)
				break;
			if (atomic_compare_exchange_weak_explicit(
				    &r->free_units[w], &bits, bits & ~pick,
				    memory_order_acquire, memory_order_relaxed)) {
				atomic_store_explicit(&r->hint, w,
						      memory_order_relaxed);
				return w * 64 + (size_t)__builtin_ctzll(pick);
			}
		}
	}
	return SIZE_MAX;
}

/* Claim exactly [u, u + n), word by word; on a word that is no longer all
 * free there, give back what was claimed.  True when all of it is ours. */
static bool xm_units_claim_range(struct xm_region *r, size_t u, size_t n)
{
	size_t at = u, left = n;
	while (left) {
		size_t w = at / 64;
		unsigned lo = at % 64;
		unsigned hi = lo + left > 64 ? 64 : (unsigned)(lo + left);
		uint64_t mask = xm_bm_mask(lo, hi);
		uint64_t bits = atomic_load_explicit(&r->free_units[w],
						     memory_order_relaxed);
		bool ok = false;
		while ((bits & mask) == mask) {
			if (atomic_compare_exchange_weak_explicit(
				    &r->free_units[w], &bits, bits & ~mask,
				    memory_order_acquire, memory_order_relaxed)) {
				ok = true;
				break;
			}
		}
		if (!ok) {
			xm_units_give(r, u, at - u);
			return false;
		}
		left -= hi - lo;
		at += hi - lo;
	}
	return true;
}

bool xm_region_claim_all(struct xm_region *r)
{
	return xm_units_claim_range(r, 0, r->n_units);
}

void xm_region_unclaim_all(struct xm_region *r)
{
	xm_units_give(r, 0, r->n_units);
}

/* Bit u of the free-unit map, with a relaxed load (a snapshot). */
static bool xm_unit_free(const struct xm_region *r, size_t u)
{
	return (atomic_load_explicit(&r->free_units[u / 64],
				     memory_order_relaxed) >> (u % 64)) & 1;
}

/* Claim n units of r whose address is aligned to align, inside one IOVA
 * run, first fit.  Large path (large_lock held): the search reads a
 * snapshot, the claim re-checks every word. */
static size_t xm_units_claim_large(struct xm_region *r, size_t n, size_t align)
{
	size_t u = 0;
	while (u + n <= r->n_units) {
		if (!xm_unit_free(r, u)) {
			u++;
			continue;
		}
		uintptr_t at = xm_align_up(r->va + (u << XM_UNIT_SHIFT), align);
		size_t start = (at - r->va) >> XM_UNIT_SHIFT;
		if (start + n > r->n_units)
			break;
		size_t end = xm_region_run_end(r, start), e = start;
		while (e < start + n && e < end && xm_unit_free(r, e))
			e++;
		if (e == start + n) {
			if (xm_units_claim_range(r, start, n))
				return start;
			continue;   /* a small carver came first: look again */
		}
		u = e > u ? e : u + 1;
	}
	return SIZE_MAX;
}

/* ---- spans ------------------------------------------------------------ */

static void xm_span_account(struct xmem_heap *h, const struct xm_span *s,
			    int dir)
{
	atomic_fetch_add_explicit(&h->span_meta_bytes,
				  (size_t)((int64_t)dir * s->desc_bytes),
				  memory_order_relaxed);
	if (s->cls != XM_CLS_LARGE) {
		xm_count(&h->cls[s->cls].spans, dir);
		xm_count(&h->cls[s->cls].span_bytes,
			 dir * ((int64_t)s->n_units << XM_UNIT_SHIFT));
	}
}

static struct xm_span *xm_span_init(struct xmem_heap *h, struct xm_region *r,
				    size_t u, size_t units, int cls, size_t obj)
{
	size_t n_objs = cls == XM_CLS_LARGE ? 1 : (units << XM_UNIT_SHIFT) / obj;
	size_t words = cls == XM_CLS_LARGE ? 0 : XM_BM_WORDS(n_objs);
	struct xm_span *s = xm_desc_get(words);
	if (!s)
		return NULL;
	s->base = r->va + (u << XM_UNIT_SHIFT);
	s->used_len = cls == XM_CLS_LARGE ? 0 : (uint32_t)(n_objs * obj);
	s->cls = cls;
	s->slot_c = cls == XM_CLS_LARGE ? 0 :
		    (((uint64_t)1 << XM_SLOT_SHIFT) + obj - 1) / obj;
	s->cache_key = xm_span_key(h->serial, cls);
	s->heap_id = h->id;
	s->n_objs = (uint32_t)n_objs;
	s->heap = h;
	s->region = r;
	s->obj_size = obj;
	s->n_units = (uint32_t)units;
	s->words = (uint32_t)words;
	/* Not yet reachable: relaxed stores, published by the page map's
	 * release stores below. */
	atomic_store_explicit(&s->listed, 1, memory_order_relaxed);
	atomic_store_explicit(&s->dead, 0, memory_order_relaxed);
	for (size_t w = 0; w < words; w++) {
		size_t lo = w * 64, hi = n_objs - lo > 64 ? 64 : n_objs - lo;
		atomic_store_explicit(&s->free_bits[w],
				      xm_bm_mask(0, (unsigned)hi),
				      memory_order_relaxed);
	}
	/* A large block maps only its first unit: a pointer into the middle
	 * of it then misses, which is how interior frees are caught. */
	xm_pagemap_set_span(s->base, cls == XM_CLS_LARGE ? 1 : units, s, r);
	xm_span_account(h, s, 1);
	return s;
}

struct xm_span *xm_span_new(struct xmem_heap *h, int cls)
{
	size_t obj = xm_class_bytes[cls];
	unsigned min = xm_class_min_units[cls];
	struct xm_span *s = NULL;
	xm_rcu_read_lock();
	/* The preferred size first in every region, then smaller ones: a
	 * region whose IOVA runs are short still serves the class. */
	for (unsigned n = xm_class_units[cls]; !s && n >= min; n /= 2) {
		xm_for_each_region(r, h) {
			/* Acquire: a remover set it, then waited a grace
			 * period; this section started after that. */
			if (atomic_load_explicit(&r->retiring, memory_order_acquire))
				continue;
			size_t u = xm_units_claim_small(r, n);
			if (u == SIZE_MAX)
				continue;
			s = xm_span_init(h, r, u, n, cls, obj);
			if (!s)
				xm_units_give(r, u, n);
			break;
		}
	}
	xm_rcu_read_unlock();
	if (!s)
		errno = ENOMEM;
	return s;
}

struct xm_span *xm_large_new(struct xmem_heap *h, size_t units, size_t align)
{
	if (align < XM_UNIT)
		align = XM_UNIT;
	struct xm_span *s = NULL;
	xm_rcu_read_lock();
	xm_for_each_region(r, h) {
		if (atomic_load_explicit(&r->retiring, memory_order_acquire) ||
		    units > r->n_units)
			continue;
		size_t u = xm_units_claim_large(r, units, align);
		if (u == SIZE_MAX)
			continue;
		s = xm_span_init(h, r, u, units, XM_CLS_LARGE,
				 units << XM_UNIT_SHIFT);
		if (!s)
			xm_units_give(r, u, units);
		break;
	}
	xm_rcu_read_unlock();
	if (!s)
		errno = ENOMEM;
	return s;
}

void xm_large_release(struct xmem_heap *h, struct xm_span *s)
{
	struct xm_region *r = s->region;
	atomic_store_explicit(&s->dead, 1, memory_order_release);
	xm_pagemap_set_span(s->base, 1, NULL, r);
	xm_span_account(h, s, -1);
	xm_units_give(r, (s->base - r->va) >> XM_UNIT_SHIFT, s->n_units);
	/* Every reader of a large descriptor re-checks it under large_lock
	 * (free.c) or only reads it: straight back to the pool. */
	xm_span_free_desc(s);
}

void xm_span_retire(struct xmem_heap *h, struct xm_span *s)
{
	struct xm_region *r = s->region;
	/* Release: a put-back that sees dead also sees the bits owned. */
	atomic_store_explicit(&s->dead, 1, memory_order_release);
	xm_pagemap_set_span(s->base, s->n_units, NULL, r);
	xm_span_account(h, s, -1);
	xm_units_give(r, (s->base - r->va) >> XM_UNIT_SHIFT, s->n_units);
	xm_stack_push(&xm_st.limbo, s);
}

void xm_limbo_flush(void)
{
	struct xm_span *list = NULL, *s;
	while ((s = xm_stack_pop(&xm_st.limbo))) {
		s->link.next = (ck_stack_entry_t *)list;
		list = s;
	}
	if (!list)
		return;
	/* Put-backs that found these spans (span.c, in read sections) are
	 * done after this. */
	xm_rcu_synchronize();
	while ((s = list)) {
		list = (struct xm_span *)s->link.next;
		xm_span_free_desc(s);
	}
}

size_t xm_region_largest_free(const struct xm_region *r)
{
	unsigned ups = r->page_shift - XM_UNIT_SHIFT; /* units per page, log2 */
	size_t best = 0, run = 0;
	for (size_t u = 0; u < r->n_units; u++) {
		if (!xm_unit_free(r, u)) {
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
