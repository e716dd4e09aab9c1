/* cache.h - per-lcore caches: for each (lcore, heap) pair that is used, one
 * array of object pointers per size class, created on first use.  The owner
 * thread touches its arrays with plain loads and stores; whole magazines
 * move to and from the heap's depot with one CAS each.
 *
 * Hoarding bound: a class array holds at most two magazines of the class
 * (cap below), so one (lcore, heap) pair holds at most
 * sum over classes of 2 * xm_class_mag[c] * xm_class_bytes[c] bytes of free
 * objects (docs/design.md gives the figure).  Anything more goes to the
 * heap's depot, where every lcore can take it.
 *
 * Draining (remove memory, trim, checked mode, reclaim on ENOMEM) takes
 * objects out of other lcores' caches, idle or not, one cache at a time,
 * without racing their owner.  The owner brackets each use with `busy` and
 * checks `stop`; a drainer sets `stop` on one cache, runs membarrier(2) so
 * every running thread executes a full fence, then waits (bounded) for
 * `busy` to drop.  This is Dekker's handshake with the expensive fence moved
 * entirely to the drainer's side (an asymmetric fence): the owner pays two
 * stores and a load, no fence.  An owner that finds its cache stopped does
 * not wait: it takes the cacheless path (alloc.c), which is lock-free too.
 * Without membarrier every cache carries XM_STOP_FENCE from its creation,
 * so the owner's one test of `stop` also sends it to the fenced variant
 * (xm_lc_enter_fenced): the fast path tests no mode flag of its own.
 *
 * An lcache is never freed: it belongs to its (lcore, heap id) slot and is
 * re-initialised in place, by its owner, for the next heap with that id.
 * So a call racing xmem_heap_destroy never touches metadata that became
 * something else. */
#ifndef XM_CACHE_H
#define XM_CACHE_H

#include <string.h>

#include "heap.h"
#include "lcore.h"
#include "sizeclass.h"

/* Bulk calls of up to XM_BURST_MAX objects take the fast path in every
 * class (the smallest cache holds two of the smallest magazines). */
#define XM_BURST_MAX (2 * XM_MAG_MIN)

#define XM_STOP_DRAIN   1u   /* a drainer owns the cache right now */
#define XM_STOP_CHECKED 2u   /* checked mode: use the locked path */
#define XM_STOP_FENCE   4u   /* for good: no membarrier, owners fence */

/* One class's array: cap = two magazines of the class, so that after a
 * flush or refill one burst can still go either way without touching the
 * depot.  objs points into the lcache's trailing storage.  Everything a
 * burst of one class reads or writes here shares one 32-byte half line.
 * allocs and frees are user-level counters, written only by the owner
 * (relaxed load + store, no read-modify-write) and summed by stats. */
struct xm_cache {
	uint32_t n;
	uint32_t cap;
	void **objs;
	_Atomic uint64_t allocs;
	_Atomic uint64_t frees;
};

struct xm_lcache {
	_Atomic uint32_t busy;       /* owner is inside a cache section */
	_Atomic uint32_t stop;       /* XM_STOP_*: owner must not enter */
	/* The heap it serves now: written by the owner (re-initialisation),
	 * read by drainers and stats.  Release/acquire: see xm_lcache_create. */
	_Atomic uint64_t serial;
	struct xmem_heap *heap;
	void *block;                 /* the metadata block it is coloured in */
	struct xm_cache cls[XMEM_NUM_CLASSES] __attribute__((aligned(32)));
	void *store[];               /* the arrays, sum of cls[].cap slots */
};

/* 1 when membarrier(2) private expedited is registered; else the owner side
 * uses a full fence and the drainer none (every cache is created with
 * XM_STOP_FENCE then). */
extern int xm_membarrier_ok;

/* The owner's slow path of xm_lcache_of: allocate its cache for heap h
 * (serial: the heap serial the caller expects), or re-initialise the one
 * the slot holds for an older heap.  NULL when h is not that heap any more,
 * on ENOMEM, or when a drainer holds the old cache right now. */
struct xm_lcache *xm_lcache_create(struct xmem_heap *h, struct xm_lcore *l,
				   uint64_t serial);

/* This thread's cache for heap h (whose id and serial the caller passes,
 * often from a span, so that h itself need not be read), or NULL (no lcore
 * id, or no memory). */
static inline struct xm_lcache *xm_lcache_of(struct xmem_heap *h, int id,
					     uint64_t serial)
{
	struct xm_lcore *l = xm_lcore_self();
	if (unlikely(!l))
		return NULL;
	struct xm_lcache *lc = atomic_load_explicit(&l->lc[id],
						    memory_order_acquire);
	/* Relaxed: only the owner (this thread) writes it in a live slot. */
	if (likely(lc && atomic_load_explicit(&lc->serial, memory_order_relaxed) ==
			 serial))
		return lc;
	return xm_lcache_create(h, l, serial);
}

/* This thread's cache for heap h if it has one ready, else NULL: the
 * fast paths' lookup, which never calls out (xm_self may be a stand-in
 * lcore, whose row is empty). */
static inline struct xm_lcache *xm_lcache_peek(int id, uint64_t serial)
{
	struct xm_lcache *lc = atomic_load_explicit(
		&((struct xm_lcore *)xm_self)->lc[id], memory_order_acquire);
	/* Relaxed: see xm_lcache_of. */
	if (likely(lc && atomic_load_explicit(&lc->serial, memory_order_relaxed) ==
			 serial))
		return lc;
	return NULL;
}

static inline struct xm_lcache *xm_lcache_get(struct xmem_heap *h)
{
	return xm_lcache_of(h, xm_heap_idx(h), xm_heap_serial(h));
}

/* The fast paths' entry, which never calls out: false (nothing entered)
 * when stop is not 0 -- a drainer or checked mode holds the cache, or there
 * is no membarrier (XM_STOP_FENCE), where the caller's slower way enters
 * with xm_lc_enter.  busy must be visible before stop is read: the
 * drainer's membarrier supplies the CPU fence, so here only the compiler
 * must not reorder.  Acquire: see what a finished drainer did to the
 * arrays. */
static inline bool xm_lc_try_enter(struct xm_lcache *lc)
{
	atomic_store_explicit(&lc->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&lc->stop, memory_order_acquire) == 0))
		return true;
	atomic_store_explicit(&lc->busy, 0, memory_order_release);
	return false;
}

/* Without membarrier: Dekker with a fence of the owner's own. */
bool xm_lc_enter_fenced(struct xm_lcache *lc);

/* Enter the owner's section; false when a drainer or checked mode holds
 * the cache (the caller then takes the locked path). */
static inline bool xm_lc_enter(struct xm_lcache *lc)
{
	if (likely(xm_lc_try_enter(lc)))
		return true;
	return unlikely(!xm_membarrier_ok) && xm_lc_enter_fenced(lc);
}

/* Release: a drainer that sees busy == 0 sees every write of the section. */
static inline void xm_lc_exit(struct xm_lcache *lc)
{
	atomic_store_explicit(&lc->busy, 0, memory_order_release);
}

/* Two and four object pointers as one vector: a 16-byte move, and a
 * 32-byte one where the including function is compiled for AVX2 (two
 * 16-byte ones otherwise). */
typedef long long xm_ptr2 __attribute__((vector_size(16), aligned(8), may_alias));
typedef long long xm_ptr4 __attribute__((vector_size(32), aligned(8), may_alias));

/* Copy n object pointers into dst, the caller's array: blocks of eight as
 * vector moves (no call), then the rest.  The stores are 32 bytes wide
 * where dst is 32-byte aligned (in xmem_alloc_bulk's AVX2 instance), else
 * 16: a 32-byte store at 16 mod 32 crosses a line every other time and a
 * page once per page, and a store split across pages cost a burst 1.3 to
 * 1.9 times its time (a stack array is only 16-byte aligned).  Free loads a
 * 32-byte aligned array as wide as this stored it (free.c, isa.h). */
static inline __attribute__((always_inline)) void
xm_ptr_copy(void **dst, void *const *src, unsigned n)
{
	if (n < 4) {
		while (n--)
			*dst++ = *src++;
		return;
	}
	if (((uintptr_t)dst & 31) == 0) {
		for (; n >= 8; n -= 8, dst += 8, src += 8) {
			xm_ptr4 a = *(const xm_ptr4 *)src, b = *(const xm_ptr4 *)(src + 4);
			*(xm_ptr4 *)dst = a;
			*(xm_ptr4 *)(dst + 4) = b;
		}
	} else {
		for (; n >= 8; n -= 8, dst += 8, src += 8) {
			const xm_ptr2 *s2 = (const xm_ptr2 *)src;
			xm_ptr2 a = s2[0], b = s2[1], c = s2[2], d = s2[3];
			xm_ptr2 *d2 = (xm_ptr2 *)dst;
			d2[0] = a;
			d2[1] = b;
			d2[2] = c;
			d2[3] = d;
		}
	}
	/* The rest as vectors too (four, two, then one): a load that spans
	 * two stores still in flight cannot take its bytes from them, and
	 * free loads a burst of four or more 16 or 32 bytes at a time (one
	 * of fewer than four 8 bytes at a time, as it is stored above).  A
	 * burst of four cost 1.5 times rte_mempool's with 8-byte moves here,
	 * 1.3 times with these. */
	if (n & 4) {
		if (((uintptr_t)dst & 31) == 0) {
			*(xm_ptr4 *)dst = *(const xm_ptr4 *)src;
		} else {
			const xm_ptr2 *s2 = (const xm_ptr2 *)src;
			xm_ptr2 a = s2[0], b = s2[1];
			((xm_ptr2 *)dst)[0] = a;
			((xm_ptr2 *)dst)[1] = b;
		}
		dst += 4;
		src += 4;
	}
	if (n & 2) {
		*(xm_ptr2 *)dst = *(const xm_ptr2 *)src;
		dst += 2;
		src += 2;
	}
	if (n & 1)
		*dst = *src;
}

/* A cache's counter, which only the owner writes: one add to memory, not
 * locked.  Readers load it relaxed from other threads; on x86-64 the add's
 * aligned 8-byte store is single-copy atomic, so they see the old value or
 * the new one.  As a relaxed load, add and store the counter took four
 * instructions, and bursts of one cost 0.3 ns more (docs/benchmarks.md).
 * Elsewhere, and under ThreadSanitizer (which does not see into asm),
 * C11's relaxed load and store. */
static inline void xm_lc_count(_Atomic uint64_t *c, unsigned n)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	__asm__ volatile("addq %1, %0" : "+m"(*(uint64_t *)c) : "er"((uint64_t)n));
#else
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
#endif
}

/* The common case's way in, inline for xmem_alloc_bulk and the by-node
 * calls: a class size, a burst the cache takes, a heap with a cache on this
 * lcore.  Returns that cache, entered, or NULL (nothing entered) when the
 * caller must take the rest of the way.  The cache proves the heap live (a
 * destroyed heap's caches are re-initialised before reuse: its serial
 * matches none), so only the magic is checked before h->id is trusted.
 * Always inlined: out of line (GCC's choice once three callers had it)
 * xmem_alloc_bulk saved five registers around a call. */
static inline __attribute__((always_inline)) struct xm_lcache *
xm_alloc_enter(struct xmem_heap *h, size_t size, void **objs, unsigned n)
{
	if (unlikely(!(objs && n - 1 < XM_BURST_MAX && size - 1 < XMEM_MAX_CLASS_SIZE &&
		       h && xm_heap_magic(h) == XM_HEAP_MAGIC)))
		return NULL;
	struct xm_lcache *lc = xm_lcache_peek(xm_heap_idx(h), xm_heap_serial(h));
	if (unlikely(!lc) || unlikely(!xm_lc_try_enter(lc)))
		return NULL;
	return lc;
}

/* Inside a section: n objects of k's array (it holds at least n) to objs. */
static inline __attribute__((always_inline)) void
xm_alloc_take(struct xm_cache *k, void **objs, unsigned n)
{
	k->n -= n;
	xm_ptr_copy(objs, &k->objs[k->n], n);
	xm_lc_count(&k->allocs, n);
}

/* The common case whole: true when done (objs filled); false changes
 * nothing and the caller takes the rest of the way. */
static inline __attribute__((always_inline)) bool
xm_alloc_bulk_fast(struct xmem_heap *h, size_t size, void **objs, unsigned n)
{
	struct xm_lcache *lc = xm_alloc_enter(h, size, objs, n);
	if (unlikely(!lc))
		return false;
	struct xm_cache *k = &lc->cls[xm_class_of(size)];
	bool ok = likely(k->n >= n);
	if (ok)
		xm_alloc_take(k, objs, n);
	xm_lc_exit(lc);
	return ok;
}

/* Inside a section: make cls hold at least need (<= its cap) objects,
 * from the depot first, then from spans.  False on ENOMEM (what was got
 * stays cached). */
bool xm_cache_refill(struct xm_lcache *lc, int cls, unsigned need);
/* Inside a section: move one magazine of a full cls array to the depot. */
void xm_cache_flush(struct xm_lcache *lc, int cls);

/* Inside a section, with cls's array short of n: refill it (depot, then
 * spans), take n, and leave the section.  False (nothing taken; ENOMEM)
 * when the refill fell short. */
static inline __attribute__((always_inline)) bool
xm_alloc_refill_take(struct xm_lcache *lc, int cls, void **objs, unsigned n)
{
	bool ok = xm_cache_refill(lc, cls, n);
	if (likely(ok))
		xm_alloc_take(&lc->cls[cls], objs, n);
	xm_lc_exit(lc);
	return ok;
}

/* Push objs[0..n) (at most one magazine of class cls of heap h) to h's
 * depot; without memory for a magazine, put them back into their spans. */
void xm_depot_push(struct xmem_heap *h, int cls, void *const *objs, unsigned n);

#endif
