/* alloc.c - the allocation entry points.
 *
 * Fast path: blocks up to XMEM_MAX_CLASS_SIZE, in calls of up to
 * XM_BURST_MAX blocks, go through this lcore's cache for the heap (cache.h):
 * no lock, no atomic read-modify-write per object.  Free finds the span of
 * each pointer through the page map, remembering the last span because the
 * pointers of a burst usually share one; eight pointers of that span cost
 * one range test and one 64-byte copy.
 *
 * Locked path (heap lock): large blocks, threads without an lcore id,
 * checked mode, and the spans themselves.  The span layer keeps free objects
 * in bitmaps in the span descriptors, never in managed memory. */
#include <errno.h>
#include <string.h>

#include "bitmap.h"
#include "cache.h"
#include "pagemap.h"
#include "vg.h"

/* ---- span layer (heap lock held) -------------------------------------- */

static void xm_partial_push(struct xm_class *c, struct xm_span *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
}

static void xm_partial_unlink(struct xm_class *c, struct xm_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* Give back the empty spans of region r (every span of r must be empty),
 * or with r NULL the empty spans each class keeps.  Returns how many. */
static unsigned xm_release_empty(struct xmem_heap *h, struct xm_region *r)
{
	unsigned n = 0;
	for (int k = 0; k < XMEM_NUM_CLASSES; k++) {
		struct xm_class *c = &h->cls[k];
		for (struct xm_span *s = c->partial, *next; s && (r || c->n_empty); s = next) {
			next = s->next;
			if (r ? s->region != r : s->n_free != s->n_objs)
				continue;
			xm_partial_unlink(c, s);
			c->n_empty--;
			xm_span_release(h, s);
			n++;
		}
	}
	return n;
}

void xm_heap_release_region_spans(struct xmem_heap *h, struct xm_region *r)
{
	xm_release_empty(h, r);
}

void xm_heap_release_empty(struct xmem_heap *h)
{
	xm_release_empty(h, NULL);
}

/* Carve, and when nothing fits, retry once after giving back the empty spans
 * the classes keep: they are free memory too. */
static struct xm_span *xm_carve(struct xmem_heap *h, int cls, size_t units,
				size_t align)
{
	struct xm_span *s = xm_span_carve(h, cls, units, align);
	if (unlikely(!s) && errno == ENOMEM && xm_release_empty(h, NULL))
		s = xm_span_carve(h, cls, units, align);
	return s;
}

/* One object of class cls out of its spans. */
static void *xm_take_obj(struct xmem_heap *h, int cls)
{
	struct xm_class *c = &h->cls[cls];
	struct xm_span *s = c->partial;
	if (unlikely(!s)) {
		s = xm_carve(h, cls, 0, XM_UNIT);
		if (!s)
			return NULL;
		xm_partial_push(c, s);
		c->n_empty++;
	}
	if (s->n_free == s->n_objs)
		c->n_empty--;
	size_t i = xm_bm_next(s->free_bits, (size_t)s->hint * 64, s->n_objs, 1);
	xm_bm_clear(s->free_bits, i);
	s->hint = (uint32_t)(i / 64);
	if (--s->n_free == 0)
		xm_partial_unlink(c, s);
	s->region->live++;
	c->out++;
	return (void *)(s->base + i * s->obj_size);
}

/* Object i of class span s back into it. */
static void xm_put_obj(struct xmem_heap *h, struct xm_span *s, size_t i)
{
	struct xm_class *c = &h->cls[s->cls];
	s->region->live--;
	c->out--;
	xm_bm_set(s->free_bits, i);
	if (i / 64 < s->hint)
		s->hint = (uint32_t)(i / 64);
	if (++s->n_free == 1)
		xm_partial_push(c, s);
	if (s->n_free == s->n_objs) {
		/* Keep one empty span per class to absorb churn; give the
		 * rest back to the region. */
		if (c->n_empty >= 1) {
			xm_partial_unlink(c, s);
			xm_span_release(h, s);
		} else {
			c->n_empty++;
		}
	}
}

unsigned xm_span_fill(struct xmem_heap *h, int cls, void **out, unsigned want)
{
	unsigned n = 0;
	while (n < want && (out[n] = xm_take_obj(h, cls)))
		n++;
	return n;
}

void xm_span_put(struct xmem_heap *h, void *const *objs, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uintptr_t p = (uintptr_t)objs[k];
		struct xm_span *s = xm_pagemap_span(p);
		xm_put_obj(h, s, (p - s->base) / s->obj_size);
	}
}

/* ---- locked path ------------------------------------------------------ */

static void *xm_alloc_large(struct xmem_heap *h, size_t size, size_t align)
{
	if (size > ((size_t)1 << XMEM_VA_BITS)) {
		errno = ENOMEM;
		return NULL;
	}
	struct xm_span *s = xm_carve(h, XM_CLS_LARGE, xm_div_ceil(size, XM_UNIT),
				     align);
	if (!s)
		return NULL;
	s->n_free = 0;
	s->region->live++;
	h->large_count++;
	h->large_bytes += s->obj_size;
	return (void *)s->base;
}

/* Heap lock held. */
static void *xm_alloc_locked(struct xmem_heap *h, size_t size, size_t align)
{
	int cls = xm_class_for(size, align);
	if (cls < 0)
		return xm_alloc_large(h, size, align);
	void *p = xm_take_obj(h, cls);
	if (p)
		h->cls[cls].allocs++;
	return p;
}

/* The span of p if p is the start of a live block, else NULL and *why says
 * what is wrong.  Heap lock held.  Without checked mode a class object
 * sitting in a cache looks live here. */
static struct xm_span *xm_block_of(uintptr_t p, size_t *idx, const char **why)
{
	struct xm_span *s = xm_pagemap_span(p);
	*why = "not the start of a live block";
	if (!s)
		return NULL;
	if (s->cls == XM_CLS_LARGE) {
		if (p != s->base)
			return NULL;
		*idx = 0;
		return s;
	}
	size_t off = p - s->base;
	if (off % s->obj_size || off / s->obj_size >= s->n_objs)
		return NULL;
	*idx = off / s->obj_size;
	if (xm_bm_test(s->free_bits, *idx)) {
		*why = "block is already free (double free)";
		return NULL;
	}
	return s;
}

/* Heap lock held; s from xm_block_of. */
static void xm_free_locked(struct xmem_heap *h, struct xm_span *s, size_t idx)
{
	if (s->cls == XM_CLS_LARGE) {
		s->region->live--;
		h->large_count--;
		h->large_bytes -= s->obj_size;
		xm_span_release(h, s);
		return;
	}
	h->cls[s->cls].frees++;
	xm_put_obj(h, s, idx);
}

/* ---- entry points ----------------------------------------------------- */

static int xm_alloc_check(struct xmem_heap *h, size_t size, size_t align)
{
	if (unlikely(!xm_heap_live(h) || size == 0 ||
		     (align && !xm_is_pow2(align)))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Fast path: 1 done, 0 out of memory, -1 not taken (no cache, stopped). */
static inline int xm_cache_alloc(struct xmem_heap *h, int cls, void **objs, unsigned n)
{
	struct xm_lcache *lc = xm_lcache_get(h);
	if (unlikely(!lc) || unlikely(!xm_lc_enter(lc)))
		return -1;
	struct xm_cache *k = &lc->cls[cls];
	if (unlikely(k->n < n) && !xm_cache_refill(lc, cls, n)) {
		xm_lc_exit(lc);
		return 0;
	}
	k->n -= n;
	xm_ptr_copy(objs, &k->objs[k->n], n);
	xm_lc_count(&lc->allocs[cls], n);
	xm_lc_exit(lc);
	return 1;
}

/* Locked path for n blocks, all or nothing. */
static int xm_bulk_locked(struct xmem_heap *h, size_t size, size_t align,
			  void **objs, unsigned n)
{
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < n; i++) {
		objs[i] = xm_alloc_locked(h, size, align);
		if (unlikely(!objs[i])) {
			while (i--) {
				size_t idx = 0;
				const char *why;
				/* Own statement: idx is set by xm_block_of. */
				struct xm_span *s = xm_block_of((uintptr_t)objs[i],
								&idx, &why);
				xm_free_locked(h, s, idx);
			}
			pthread_mutex_unlock(&h->lock);
			errno = ENOMEM;
			return -1;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int xm_alloc_n(struct xmem_heap *h, size_t size, size_t align,
		      void **objs, unsigned n)
{
	int cls = likely(align == 0 && size <= XMEM_MAX_CLASS_SIZE) ?
		  xm_class_of(size) : xm_class_for(size, align);
	if (likely(cls >= 0 && n <= XM_BURST_MAX)) {
		int r = xm_cache_alloc(h, cls, objs, n);
		if (likely(r == 1))
			return 0;
		if (r == 0) {
			/* Other lcores may hold the memory: reclaim, retry. */
			xm_heap_drain(h);
			if (xm_cache_alloc(h, cls, objs, n) == 1)
				return 0;
		}
	}
	if (xm_bulk_locked(h, size, align, objs, n) == 0)
		return 0;
	if (xm_heap_drain(h) == 0)
		return -1;
	return xm_bulk_locked(h, size, align, objs, n);
}

/* The common case in a few loads: a class size, no alignment, a burst the
 * cache takes, a heap with a cache on this lcore.  The cache proves the heap
 * live (a destroyed heap's caches are gone: its serial matches none), so
 * only the magic is checked before h->id is trusted.  Anything else, or an
 * empty cache, goes the checked way. */
static inline bool xm_alloc_fast(struct xmem_heap *h, size_t size,
				 void **objs, unsigned n)
{
	return likely(size - 1 < XMEM_MAX_CLASS_SIZE && n <= XM_BURST_MAX &&
		      h && xm_heap_magic(h) == XM_HEAP_MAGIC) &&
	       likely(xm_cache_alloc(h, xm_class_of(size), objs, n) == 1);
}

void *xmem_alloc(struct xmem_heap *h, size_t size, size_t align)
{
	void *p;
	if (!(likely(align == 0) && xm_alloc_fast(h, size, &p, 1)) &&
	    (xm_alloc_check(h, size, align) || xm_alloc_n(h, size, align, &p, 1)))
		return NULL;
	xm_vg_on_alloc(&p, 1, size);
	return p;
}

void *xmem_zalloc(struct xmem_heap *h, size_t size, size_t align)
{
	void *p = xmem_alloc(h, size, align);
	if (p)
		memset(p, 0, size);
	return p;
}

int xmem_alloc_bulk(struct xmem_heap *h, size_t size, void **objs, unsigned n)
{
	if (!(likely(objs && n) && xm_alloc_fast(h, size, objs, n))) {
		if (unlikely(!objs || n == 0) || xm_alloc_check(h, size, 0)) {
			errno = EINVAL;
			return -1;
		}
		if (xm_alloc_n(h, size, 0, objs, n))
			return -1;
	}
	xm_vg_on_alloc(objs, n, size);
	return 0;
}

/* Locked free of one pointer, validated; reports what is wrong. */
static void xm_free_slow(struct xm_region *r, uintptr_t p, const char *fn)
{
	struct xmem_heap *h = r->heap;
	size_t idx;
	const char *why;
	pthread_mutex_lock(&h->lock);
	struct xm_span *s = xm_block_of(p, &idx, &why);
	if (s)
		xm_free_locked(h, s, idx);
	pthread_mutex_unlock(&h->lock);
	if (!s)
		xm_report_invalid(fn, (void *)p, why);
}

/* Two pointers in one SSE2 register (x86-64's baseline): psubq and por. */
typedef uintptr_t xm_v2p __attribute__((vector_size(16)));

/* Copy the eight pointers at src to dst if each lies in [lo, lo + len):
 * the OR of their offsets from lo is below len only if every offset is.  A
 * sufficient test, exact when len is a power of two (the usual span). */
static inline bool xm_store8_if_in(void **dst, void *const *src,
				   uintptr_t lo, uintptr_t len)
{
	xm_v2p v[4], base = {lo, lo};
	memcpy(v, src, sizeof(v));
	xm_v2p off = (v[0] - base) | (v[1] - base) | (v[2] - base) | (v[3] - base);
	if ((off[0] | off[1]) >= len)
		return false;
	memcpy(dst, v, sizeof(v));
	return true;
}

/* A free that the cache cannot take: a large block, a pointer outside any
 * class span, or no cache.  Locked and validated. */
static void xm_free_unmapped(uintptr_t p, const char *fn)
{
	struct xm_region *r = xm_pagemap_get(p);
	if (unlikely(!r || !r->heap)) {
		xm_report_invalid(fn, (void *)p, r ?
				  "memory registered for translation only" :
				  "not memory of any heap");
		return;
	}
	xm_free_slow(r, p, fn);
}

/* The entered cache for span s's heap, leaving lc (entered or NULL) if it
 * is another heap's; NULL when this thread has no usable cache there. */
static inline struct xm_lcache *xm_lc_switch(struct xm_lcache *lc,
					     const struct xm_span *s)
{
	if (likely(lc && lc->serial == s->heap_serial))
		return lc;
	if (lc)
		xm_lc_exit(lc);
	lc = xm_lcache_of(s->heap, s->heap_id, s->heap_serial);
	if (likely(lc) && likely(xm_lc_enter(lc)))
		return lc;
	return NULL;
}

/* Free objs[0..n) from fn.  Pointers in the span of the previous pointer
 * (the common case in a burst) go straight into the span's cache array,
 * eight at a time when eight in a row are in the span: the OR of their
 * offsets from the span base is below the span length only if each offset
 * is (a sufficient test, exact for power-of-two spans), so one compare
 * checks eight pointers and one 64-byte copy stores them. */
static void xm_free_many(void *const *objs, unsigned n, const char *fn)
{
	struct xm_lcache *lc = NULL;    /* entered */
	struct xm_cache *c = NULL;      /* lc's array for the last span's class */
	int cls = 0;
	uint32_t cn = 0, cap = 0;       /* c->n and c->cap while c is in use */
	uint32_t counted = 0;           /* cn when frees were last counted */
	uintptr_t lo = 0, span_len = 0; /* the last span; span_len 0: none */
	unsigned k = 0;

	while (k < n) {
		while (k + 8 <= n && cn + 8 <= cap) {
			if (!xm_store8_if_in(&c->objs[cn], &objs[k], lo, span_len))
				break;
			cn += 8;
			k += 8;
		}
		if (k == n)
			break;
		uintptr_t p = (uintptr_t)objs[k];
		if (likely(p - lo < span_len)) {
			if (unlikely(cn == cap)) {
				c->n = cn;
				xm_cache_flush(lc, cls);
				xm_lc_count(&lc->frees[cls], cn - counted);
				cn = counted = c->n;
			}
			c->objs[cn++] = (void *)p;
			k++;
			continue;
		}
		/* Another span: settle the last run first. */
		if (c) {
			c->n = cn;
			xm_lc_count(&lc->frees[cls], cn - counted);
			c = NULL;
			cn = cap = 0;
		}
		span_len = 0;
		if (unlikely(!p)) {
			k++;
			continue;
		}
		uintptr_t e = xm_pm_entry(p);
		struct xm_span *s = (struct xm_span *)e;
		if (unlikely((e & XM_PM_REGION) || !e || s->cls == XM_CLS_LARGE)) {
			xm_free_unmapped(p, fn);
			k++;
			continue;
		}
		lc = xm_lc_switch(lc, s);
		if (unlikely(!lc)) {
			/* Locked path, pointer by pointer: it may release the
			 * span, so do not remember it. */
			xm_free_unmapped(p, fn);
			k++;
			continue;
		}
		cls = s->cls;
		c = &lc->cls[cls];
		cn = counted = c->n;
		cap = c->cap;
		lo = s->base;
		span_len = (uintptr_t)s->n_units << XM_UNIT_SHIFT;
		/* objs[k] is stored by the next round. */
	}
	if (c) {
		c->n = cn;
		xm_lc_count(&lc->frees[cls], cn - counted);
	}
	if (lc)
		xm_lc_exit(lc);
}

void xmem_free(void *ptr)
{
	if (ptr) {
		xm_vg_on_free(&ptr, 1, "xmem_free");
		xm_free_many(&ptr, 1, "xmem_free");
	}
}

void xmem_free_bulk(void *const *objs, unsigned n)
{
	if (unlikely(!objs)) {
		if (n)
			errno = EINVAL;
		return;
	}
	xm_vg_on_free(objs, n, "xmem_free_bulk");
	xm_free_many(objs, n, "xmem_free_bulk");
}

size_t xmem_usable_size(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct xm_region *r = p ? xm_pagemap_get(p) : NULL;
	size_t size = 0;
	if (r && r->heap) {
		size_t idx;
		const char *why;
		pthread_mutex_lock(&r->heap->lock);
		struct xm_span *s = xm_block_of(p, &idx, &why);
		if (s)
			size = s->obj_size;
		pthread_mutex_unlock(&r->heap->lock);
	}
	if (!size)
		errno = EINVAL;
	return xm_vg_on_usable(ptr, size);
}
