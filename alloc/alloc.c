/* alloc.c - the allocation entry points: xmem_alloc, xmem_zalloc,
 * xmem_alloc_bulk.
 *
 * Small blocks (up to XMEM_MAX_CLASS_SIZE) go through this lcore's cache
 * for the heap (cache.h), at most XM_BURST_MAX at a time: no lock, no
 * atomic read-modify-write per object.  When the cache cannot be used (no
 * lcore id, checked mode, a drainer holds it for a moment) they take the
 * cacheless path: magazines from the depot, then objects claimed straight
 * from spans, both lock-free.  Large blocks take the heap's large_lock,
 * which no small path touches.  When memory runs out, the call reclaims
 * once (drain.c) and retries once. */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "isa.h"
#include "pagemap.h"
#include "shared.h"
#include "vg.h"

/* ---- small blocks -------------------------------------------------------- */

/* Fast path: 1 done, 0 out of memory, -1 not taken (no cache, stopped). */
static inline int xm_cache_alloc(struct xmem_heap *h, int cls, void **objs, unsigned n)
{
	struct xm_lcache *lc = xm_lcache_get(h);
	if (unlikely(!lc) || unlikely(!xm_lc_enter(lc)))
		return -1;
	struct xm_cache *k = &lc->cls[cls];
	if (unlikely(k->n < n))
		return xm_alloc_refill_take(lc, cls, objs, n);
	xm_alloc_take(k, objs, n);
	xm_lc_exit(lc);
	return 1;
}

/* Give objs[0..n) of class cls back without a cache: to spans in checked
 * mode (where the free bit is what tells live from free), else to the
 * depot a magazine at a time. */
static void xm_nocache_give(struct xmem_heap *h, int cls, void *const *objs,
			    unsigned n)
{
	if (atomic_load_explicit(&xm_st.checked_on, memory_order_relaxed)) {
		xm_span_put(objs, n, "xmem_alloc_bulk");
		return;
	}
	for (unsigned mag = xm_class_mag[cls]; n;) {
		unsigned k = n < mag ? n : mag;
		xm_depot_push(h, cls, objs, k);
		objs += k;
		n -= k;
	}
}

/* Cacheless: n objects of class cls from the depot, then from spans.
 * All or nothing. */
static bool xm_nocache_take(struct xmem_heap *h, int cls, void **objs,
			    unsigned n)
{
	unsigned got = 0;
	struct xm_mag *m;
	while (got < n && (m = xm_stack_pop(&h->depot[cls]))) {
		unsigned t = n - got < m->n ? n - got : m->n;
		m->n -= t;
		memcpy(&objs[got], &m->objs[m->n], t * sizeof(void *));
		got += t;
		if (m->n)
			xm_stack_push(&h->depot[cls], m);
		else
			xm_mag_put(m);
	}
	if (got < n)
		got += xm_span_take(h, cls, &objs[got], n - got);
	if (got < n) {
		xm_nocache_give(h, cls, objs, got);
		return false;
	}
	xm_count(&h->cls[cls].allocs, n);
	if (unlikely(xm_dom))
		xm_member_count(n, 0);
	return true;
}

/* n blocks of class cls, through the cache in bursts of at most
 * XM_BURST_MAX, all or nothing.  0, or -1 (out of memory). */
static int xm_small_alloc(struct xmem_heap *h, int cls, void **objs, unsigned n)
{
	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < XM_BURST_MAX ? n - done : XM_BURST_MAX;
		int r = xm_cache_alloc(h, cls, &objs[done], k);
		if (r < 0)
			r = xm_nocache_take(h, cls, &objs[done], k);
		if (unlikely(r == 0)) {
			xm_free_many(objs, done, "xmem_alloc_bulk");
			return -1;
		}
		done += k;
	}
	return 0;
}

/* ---- large blocks -------------------------------------------------------- */

static void *xm_alloc_large(struct xmem_heap *h, size_t size, size_t align)
{
	if (size > ((size_t)1 << XMEM_VA_BITS)) {
		errno = ENOMEM;
		return NULL;
	}
	xm_mutex_lock(&h->large_lock);
	struct xm_span *s = xm_large_new(h, xm_div_ceil(size, XM_UNIT), align);
	if (s) {
		xm_count(&h->large_count, 1);
		atomic_fetch_add_explicit(&h->large_bytes, s->obj_size,
					  memory_order_relaxed);
		if (unlikely(xm_dom))
			xm_member_count(1, 0);
	}
	pthread_mutex_unlock(&h->large_lock);
	return s ? (void *)s->base : NULL;
}

void xm_free_large(struct xm_span *s, uintptr_t p, const char *fn)
{
	struct xmem_heap *h = s->heap;
	xm_mutex_lock(&h->large_lock);
	/* Under the lock the entry and the descriptor are stable: a second
	 * free of the block finds the region there, not s. */
	bool ok = xm_pm_entry(p) == (uintptr_t)s && s->cls == XM_CLS_LARGE &&
		  s->base == p && !atomic_load(&s->dead);
	if (ok) {
		xm_count(&h->large_count, -1);
		atomic_fetch_sub_explicit(&h->large_bytes, s->obj_size,
					  memory_order_relaxed);
		if (unlikely(xm_dom))
			xm_member_count(0, 1);
		xm_large_release(h, s);
	}
	pthread_mutex_unlock(&h->large_lock);
	if (!ok)
		xm_report_invalid(fn, (void *)p, "not the start of a live block");
}

/* ---- entry points ---------------------------------------------------- */

static int xm_alloc_check(struct xmem_heap *h, size_t size, size_t align)
{
	if (unlikely(!xm_heap_live(h) || size == 0 ||
		     (align && !xm_is_pow2(align)))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int xm_alloc_once(struct xmem_heap *h, size_t size, size_t align,
			 void **objs, unsigned n)
{
	int cls = likely(align == 0 && size <= XMEM_MAX_CLASS_SIZE) ?
		  xm_class_of(size) : xm_class_for(size, align);
	if (likely(cls >= 0))
		return xm_small_alloc(h, cls, objs, n);
	for (unsigned i = 0; i < n; i++) {
		objs[i] = xm_alloc_large(h, size, align);
		if (unlikely(!objs[i])) {
			xm_free_many(objs, i, "xmem_alloc_bulk");
			return -1;
		}
	}
	return 0;
}

/* Out of memory: reclaim once, retry once. */
static int xm_alloc_n(struct xmem_heap *h, size_t size, size_t align,
		      void **objs, unsigned n)
{
	if (xm_alloc_once(h, size, align, objs, n) == 0)
		return 0;
	if (xm_heap_reclaim(h) && xm_alloc_once(h, size, align, objs, n) == 0)
		return 0;
	errno = ENOMEM;
	return -1;
}

XM_ENTRY_ALIGN void *xmem_alloc(struct xmem_heap *h, size_t size, size_t align)
{
	void *p;
	if (!(likely(align == 0) && xm_alloc_bulk_fast(h, size, &p, 1)) &&
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

/* Everything but the common case of xmem_alloc_bulk below. */
static __attribute__((noinline)) int xm_alloc_bulk_slow(struct xmem_heap *h,
							size_t size, void **objs,
							unsigned n)
{
	if (unlikely(!objs || n == 0) || xm_alloc_check(h, size, 0)) {
		errno = EINVAL;
		return -1;
	}
	return xm_alloc_n(h, size, 0, objs, n);
}

/* xmem_alloc_bulk once per instruction set (isa.h): the common case inline
 * (xm_alloc_enter, xm_alloc_take), with nothing to save across a call, and
 * everything else a tail call.  An empty array (every fourth burst of 32 on
 * an lcore that only allocates, such as RX) is refilled by the set's own
 * tail, still inside the section, so that its copy into objs is as wide as
 * the fast path's (isa.h); what the refill cannot serve goes the whole
 * way.  The AVX2 instance, whose copy into objs moves 32 bytes at a time,
 * serves AVX-512 CPUs too. */
#define XM_ALLOC_INSTANCE(sfx, target)                                         \
	target static __attribute__((noinline)) int                            \
	xm_alloc_refill_##sfx(struct xm_lcache *lc, struct xmem_heap *h,       \
			      size_t size, void **objs, unsigned n)            \
	{                                                                       \
		if (likely(xm_alloc_refill_take(lc, xm_class_of(size), objs, n))) \
			return 0;                                               \
		return xm_alloc_bulk_slow(h, size, objs, n);                    \
	}                                                                       \
	target static int xm_alloc_bulk_##sfx(struct xmem_heap *h, size_t size, \
					      void **objs, unsigned n)          \
	{                                                                       \
		struct xm_lcache *lc = xm_alloc_enter(h, size, objs, n);        \
		if (unlikely(!lc))                                              \
			return xm_alloc_bulk_slow(h, size, objs, n);            \
		struct xm_cache *k = &lc->cls[xm_class_of(size)];               \
		if (unlikely(k->n < n))                                         \
			return xm_alloc_refill_##sfx(lc, h, size, objs, n);     \
		xm_alloc_take(k, objs, n);                                      \
		xm_lc_exit(lc);                                                 \
		return 0;                                                       \
	}
XM_ALLOC_INSTANCE(sse2, )
XM_ALLOC_INSTANCE(avx2, __attribute__((target("avx2"))))

typedef int xm_alloc_bulk_fn(struct xmem_heap *h, size_t size, void **objs,
			     unsigned n);

/* The instance for this CPU.  Written once by the constructor, before main
 * and before any other thread exists, and never again; a constructor of
 * the program that runs earlier gets the SSE2 instance, which is correct
 * everywhere. */
static xm_alloc_bulk_fn *xm_alloc_bulk_pick = xm_alloc_bulk_sse2;

__attribute__((constructor)) static void xm_alloc_pick(void)
{
	if (xm_isa_pick() != XM_SSE2)
		xm_alloc_bulk_pick = xm_alloc_bulk_avx2;
}

/* A burst of one inline here (one pointer moved: no vector code, so no
 * instance to pick), laid out straight from the entry, where a burst of
 * one is mostly fixed cost; anything else a tail jump through the pointer
 * (a taken branch more, shared by the burst's objects).  The valgrind hook
 * (memcheck builds only, where this frame then stays on the stack that
 * memcheck records for the blocks) is empty otherwise. */
XM_ENTRY_ALIGN int xmem_alloc_bulk(struct xmem_heap *h, size_t size, void **objs, unsigned n)
{
	int rc = 0;
	if (!(likely(n == 1) && likely(xm_alloc_bulk_fast(h, size, objs, 1))))
		rc = xm_alloc_bulk_pick(h, size, objs, n);
	if (rc == 0)
		xm_vg_on_alloc(objs, n, size);
	return rc;
}
