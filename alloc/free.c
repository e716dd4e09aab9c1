/* free.c - the free entry points (xmem_free, xmem_free_bulk) and
 * xmem_usable_size.
 *
 * Every pointer is validated in every mode before it goes anywhere: the
 * page map names its span, and it must be the start of an object slot
 * there -- below the span's used length (so slack past the last object is
 * rejected) and a multiple of the object size (the slot test of heap.h, a
 * multiply and a mask).  Anything else is reported (xm_report_invalid) and
 * dropped.  A burst goes into the cache array of its heap and class (the
 * array the lcore's last burst used, once the first pointer's span
 * confirms it), a whole run at a time when the run lies in one span and
 * passes the range and slot tests together: with AVX-512 or AVX2 where the
 * CPU has them, else with SSE2 (x86-64's baseline); a burst of fewer than
 * four objects, too short for those tests, one by one.  Pointers of several
 * spans (TX completions) go one at a time, each with its own page-map
 * lookup.  The loop is written once (xm_free_body) and compiled for each
 * set, and the choice is made once, at load time, with allocation's
 * (isa.h).  A double free of a real slot is caught in checked mode here,
 * and in every mode when the object reaches its span again (span.c). */
#include <immintrin.h>
#include <errno.h>

#include "cache.h"
#include "isa.h"
#include "pagemap.h"
#include "shared.h"
#include "vg.h"

/* True when each of the m (>= 4) pointers at src is an object slot of the
 * span [lo, lo + len) with slot constant c.  They are copied
 * to dst whatever the answer (dst has room for m; the caller counts them
 * only on true), so the loop has no branch: the tests of all m are
 * accumulated and read once at the end.
 * Range: the OR of the offsets is below len only if every offset is (a
 * sufficient test).  Slot: (off * c) mod 2^33 - c is negative, bit 63 set,
 * exactly for slot starts; AND over the lanes keeps bit 63 only if all
 * have it.  _mm_mul_epu32 multiplies the low 32 bits of each 64-bit lane,
 * which holds the whole offset when the range test passes (< 2^18); lanes
 * that fail it make the whole answer false anyway. */
static inline bool xm_store_if_slots(void **dst, void *const *src, unsigned m,
				     uintptr_t lo, uintptr_t len, uint64_t c)
{
	__m128i base = _mm_set1_epi64x((long long)lo);
	__m128i cv = _mm_set1_epi64x((long long)c);
	__m128i mask = _mm_set1_epi64x((long long)XM_SLOT_MASK);
	__m128i any = _mm_setzero_si128(), all = _mm_set1_epi64x(-1);
	for (unsigned i = 0; i < m; i += 2) {
		if (i > m - 2)
			i = m - 2;   /* odd m: the last pair overlaps */
		__m128i v = _mm_loadu_si128((const __m128i *)(src + i));
		__m128i o = _mm_sub_epi64(v, base);
		any = _mm_or_si128(any, o);
		all = _mm_and_si128(all, _mm_sub_epi64(
			_mm_and_si128(_mm_mul_epu32(o, cv), mask), cv));
		_mm_storeu_si128((__m128i *)(dst + i), v);
	}
	uint64_t lanes[2];
	_mm_storeu_si128((__m128i *)lanes, any);
	return (lanes[0] | lanes[1]) < len &&
	       _mm_movemask_pd(_mm_castsi128_pd(all)) == 3;
}

/* The same test with AVX2, four lanes a register.  Every offset must be
 * below 2^31 (VPTEST of their OR), which makes the signed compare against
 * len (< 2^31) exact and gives the multiply the whole offset. */
__attribute__((target("avx2"))) static inline bool
xm_store_if_slots_avx2(void **dst, void *const *src, unsigned m, uintptr_t lo,
		       uintptr_t len, uint64_t c)
{
	__m256i base = _mm256_set1_epi64x((long long)lo);
	__m256i lenv = _mm256_set1_epi64x((long long)len);
	__m256i cv = _mm256_set1_epi64x((long long)c);
	__m256i mask = _mm256_set1_epi64x((long long)XM_SLOT_MASK);
	__m256i high = _mm256_set1_epi64x((long long)~(uint64_t)INT32_MAX);
	__m256i any = _mm256_setzero_si256(), all = _mm256_set1_epi64x(-1);
	for (unsigned i = 0; i < m; i += 4) {
		if (i > m - 4)
			i = m - 4;   /* the last four overlap the previous ones */
		__m256i v = _mm256_loadu2_m128i((const __m128i *)(src + i + 2), (const __m128i *)(src + i));
		__m256i o = _mm256_sub_epi64(v, base);
		any = _mm256_or_si256(any, o);
		all = _mm256_and_si256(all, _mm256_and_si256(
			_mm256_cmpgt_epi64(lenv, o),
			_mm256_cmpgt_epi64(cv, _mm256_and_si256(
				_mm256_mul_epu32(o, cv), mask))));
		_mm256_storeu_si256((__m256i *)(dst + i), v);
	}
	return _mm256_testz_si256(any, high) &&
	       _mm256_movemask_pd(_mm256_castsi256_pd(all)) == 15;
}

/* A pointer whose page-map entry is e that no class span takes: a large
 * block start, or something to report. */
static void xm_free_other(uintptr_t e, uintptr_t p, const char *fn)
{
	struct xm_span *s = (struct xm_span *)e;
	if (!e)
		xm_report_invalid(fn, (void *)p, xm_pagemap_registered(p) ?
				  "memory registered for translation only" :
				  "not memory of any heap");
	else if (e & XM_PM_REGION)
		xm_report_invalid(fn, (void *)p, "not the start of a block");
	else if (s->cls == XM_CLS_LARGE)
		xm_free_large(s, p, fn);
	else
		xm_report_invalid(fn, (void *)p, "not the start of a block");
}

/* The entered cache for span s's heap, leaving lc (entered or NULL) if it
 * is another heap's; NULL when this thread has no usable cache there. */
static inline struct xm_lcache *xm_lc_switch(struct xm_lcache *lc,
					     const struct xm_span *s)
{
	if (likely(lc && atomic_load_explicit(&lc->serial, memory_order_relaxed) ==
			 xm_span_serial(s)))
		return lc;
	if (lc)
		xm_lc_exit(lc);
	lc = xm_lcache_of(s->heap, s->heap_id, xm_span_serial(s));
	if (likely(lc) && likely(xm_lc_enter(lc)))
		return lc;
	return NULL;
}

/* Frees without a cache, gathered per (heap, class) into one magazine's
 * worth and pushed to the depot; in checked mode straight to the spans,
 * whose free bits catch double frees. */
struct xm_nocache {
	struct xmem_heap *h;
	int cls;
	unsigned n;
	void *objs[XM_MAG_MAX];
};

static void xm_nocache_flush(struct xm_nocache *b, const char *fn)
{
	if (!b->n)
		return;
	unsigned put = b->n;
	if (atomic_load_explicit(&xm_st.checked_on, memory_order_relaxed))
		put = xm_span_put(b->objs, b->n, fn);
	else
		xm_depot_push(b->h, b->cls, b->objs, b->n);
	xm_count(&b->h->cls[b->cls].frees, put);
	if (unlikely(xm_dom))
		xm_member_count(0, put);
	b->n = 0;
}

static void xm_nocache_add(struct xm_nocache *b, const struct xm_span *s,
			   void *p, const char *fn)
{
	if (b->n && (b->h != s->heap || b->cls != s->cls ||
		     b->n == xm_class_mag[b->cls]))
		xm_nocache_flush(b, fn);
	b->h = s->heap;
	b->cls = s->cls;
	b->objs[b->n++] = p;
}

#define XM_FREE_RUN 32u

/* The same test with AVX-512, eight lanes a register and the answers in
 * mask registers; m >= 8.  The pointers are loaded as wide as
 * xmem_alloc_bulk stores them (xm_ptr_copy, isa.h): 32 bytes at a time from
 * a 32-byte aligned array, else 16 (narrow).  A load wider than the stores
 * that just wrote its bytes waits for them to reach the cache: 64-byte
 * loads made a loop that allocates and frees at once 1.5 times slower in
 * some processes, and 32-byte loads of a 16-byte aligned array 8 %.
 *
 * One chunk of eight: stored to dst, and all narrowed to the lanes that
 * pass.  Range: offset below len, unsigned (a pointer below the span fails
 * too); slot: the multiply sees the low 32 bits of the offset, the whole
 * offset in every lane that passed the range test. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) __mmask8
xm_slots8_avx512(void **dst, void *const *src, __m512i base, __m512i lenv,
		 __m512i cv, __m512i mask, __mmask8 all, bool narrow)
{
	__m256i l4, h4;
	if (narrow) {
		l4 = _mm256_loadu2_m128i((const __m128i *)(src + 2), (const __m128i *)src);
		h4 = _mm256_loadu2_m128i((const __m128i *)(src + 6), (const __m128i *)(src + 4));
	} else {
		l4 = _mm256_loadu_si256((const __m256i *)src);
		h4 = _mm256_loadu_si256((const __m256i *)(src + 4));
	}
	__m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(l4), h4, 1);
	__m512i o = _mm512_sub_epi64(v, base);
	all = _mm512_mask_cmplt_epu64_mask(all, o, lenv);
	all = _mm512_mask_cmpgt_epi64_mask(all, cv, _mm512_and_si512(
		_mm512_mul_epu32(o, cv), mask));
	_mm512_storeu_si512(dst, v);
	return all;
}

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) bool
xm_slots_avx512(void **dst, void *const *src, unsigned m, uintptr_t lo,
		uintptr_t len, uint64_t c, bool narrow)
{
	__m512i base = _mm512_set1_epi64((long long)lo);
	__m512i lenv = _mm512_set1_epi64((long long)len);
	__m512i cv = _mm512_set1_epi64((long long)c);
	__m512i mask = _mm512_set1_epi64((long long)XM_SLOT_MASK);
	__mmask8 all = 0xff;
	unsigned i = 0;
	for (; i + 8 <= m; i += 8)
		all = xm_slots8_avx512(dst + i, src + i, base, lenv, cv, mask, all,
				       narrow);
	if (i < m)   /* the last eight overlap the previous ones */
		all = xm_slots8_avx512(dst + m - 8, src + m - 8, base, lenv, cv,
				       mask, all, narrow);
	return all == 0xff;
}

__attribute__((target("avx512f"))) static inline bool
xm_store_if_slots_avx512(void **dst, void *const *src, unsigned m,
			 uintptr_t lo, uintptr_t len, uint64_t c)
{
	if (((uintptr_t)src & 31) == 0)
		return xm_slots_avx512(dst, src, m, lo, len, c, false);
	return xm_slots_avx512(dst, src, m, lo, len, c, true);
}


static inline __attribute__((always_inline)) bool
xm_store_run(enum xm_isa isa, void **dst, void *const *src, unsigned m,
	     uintptr_t lo, uintptr_t len, uint64_t c)
{
	if (isa == XM_AVX512 && m >= 8)
		return xm_store_if_slots_avx512(dst, src, m, lo, len, c);
	return isa != XM_SSE2 ? xm_store_if_slots_avx2(dst, src, m, lo, len, c) :
				xm_store_if_slots(dst, src, m, lo, len, c);
}

static unsigned xm_free_scattered_new(void *const *src, void **dst, unsigned lim,
				      uint64_t c_key);

/* n (1 .. XM_BURST_MAX) objects, the first of span s, into the array of
 * lc (entered, serving s's heap) for the class of key (s's cache key): a
 * burst of that one span tested and stored as a whole, else pointer by
 * pointer by the scattered loop (also every burst of fewer than four, the
 * run tests' narrowest width), as long as they are objects of that heap
 * and class.  Returns how many went: all, some (the first that did not and
 * those after it are left to the general loop), or none when the array
 * has no room for n. */
static inline __attribute__((always_inline)) unsigned
xm_free_run_into(struct xm_lcache *lc, const struct xm_span *s, uint64_t key,
		 void *const *objs, unsigned n, enum xm_isa isa)
{
	struct xm_cache *c = &lc->cls[key & 0xff];
	if (unlikely(c->n + n > c->cap))
		return 0;
	unsigned got = n;
	if (unlikely(n < 4) ||
	    !((uintptr_t)objs[n - 1] - s->base < s->used_len &&   /* cheap no */
	      xm_store_run(isa, &c->objs[c->n], objs, n, s->base, s->used_len,
			   s->slot_c)))
		got = xm_free_scattered_new(objs, &c->objs[c->n], n, key);
	c->n += got;
	xm_lc_count(&c->frees, got);
	return got;
}

/* The second try, for a burst of 1 to XM_BURST_MAX that xm_free_quick did
 * not take (the guess was wrong, fewer than four across spans, a full
 * array): into the lcache of its first pointer's span, found as every
 * other path finds it (heap id -> lcache).  Once it took objects, that
 * lcache and the span's key are the guess.  Returns how many went; the
 * rest go to the general loop. */
static inline __attribute__((always_inline)) unsigned
xm_free_one_span(void *const *objs, unsigned n, enum xm_isa isa)
{
	/* Maybe a stand-in lcore, which has no lcache (lcore.h). */
	struct xm_lcore *l = (struct xm_lcore *)xm_self;
	uintptr_t e = xm_pm_entry((uintptr_t)objs[0]);
	const struct xm_span *s = (const struct xm_span *)e;
	if (unlikely((e & XM_PM_REGION) || !e || s->cls == XM_CLS_LARGE))
		return 0;
	struct xm_lcache *lc = xm_lcache_peek(s->heap_id, xm_span_serial(s));
	if (unlikely(!lc) || unlikely(!xm_lc_enter(lc)))
		return 0;
	/* s is read inside the section only: once it ends, a drainer may
	 * take the objects just stored, give the span back and reuse its
	 * descriptor. */
	uint64_t key = s->cache_key;
	unsigned got = xm_free_run_into(lc, s, key, objs, n, isa);
	xm_lc_exit(lc);
	if (got) {
		l->free_lc = lc;
		l->free_cache = &lc->cls[key & 0xff];
		l->free_key = key;
	}
	return got;
}

/* The scattered tail of xm_free_quick: lc entered, its array for the
 * class of key with room for n; stores objs pointer by pointer while they
 * are objects of that heap and class, leaves lc, and hands the rest (the
 * first that did not go, and those after it) to many (the general loop of
 * the caller's instruction set). */
typedef void xm_free_fn(void *const *objs, unsigned n, const char *fn);
static __attribute__((noinline)) void
xm_free_scattered_tail(struct xm_lcache *lc, void *const *objs, unsigned n,
		       uint64_t key, const char *fn, xm_free_fn *many);

/* xm_free_quick's tail for an array without room for n (one instance per
 * instruction set, xm_free_flush_* below): whole magazines of it to the
 * depot until n fit, then the burst as xm_free_run_into stores it (tested
 * as a run when it lies in objs[0]'s span alone, else pointer by pointer).
 * A burst longer than a magazine may not fit even so (an array of fewer
 * than a magazine's objects can give none): it goes to the general loop,
 * which fills the array and flushes it when full. */
typedef void xm_flush_fn(struct xm_lcache *lc, void *const *objs, unsigned n,
			 uint64_t key, const char *fn);

/* The first steps of both first tries: the lcore (*lp: maybe a stand-in,
 * whose guess no span matches) and the span of p (the burst's first
 * pointer) from the page map, or NULL (not a span's).  The callers test p
 * against the span's range before anything else. */
static inline __attribute__((always_inline)) const struct xm_span *
xm_free_first_span(uintptr_t p, const struct xm_lcore **lp)
{
	*lp = (const struct xm_lcore *)xm_self;
	uintptr_t e = xm_pm_entry_unchecked(p);
	if (unlikely((e & XM_PM_REGION) || !e))
		return NULL;
	return (const struct xm_span *)e;
}

/* The entry's first try: 1 to XM_BURST_MAX objects of the lcore's guessed
 * heap and class, with room in the array.  All of one span (a loop that
 * frees what it just allocated) are stored here -- four or more tested as
 * a run, fewer one by one; four or more of several spans (TX completions)
 * go to the scattered tail, which takes the entered cache over (a tail
 * call).  True when it took the burst; false changes nothing, and the
 * entry hands the burst to xm_free_one_span and the general loop.  It
 * calls nothing but its tail, so the entry that inlines it keeps no
 * values across a call on these paths.
 *
 * The guess is the lcache and cache key of the lcore's last burst that
 * xm_free_one_span took, not the span's: so the array's address does not
 * depend on the page-map walk (pointer -> leaf -> span -> heap id ->
 * lcache), and a loop that allocates and frees bursts carries only the
 * array's count from one burst to the next.  The walk still runs and must
 * confirm the guess -- the span's key equal to the guessed key -- before
 * anything is stored.  That alone proves the lcache right: it served the
 * key's heap when the guess was made, and only its owner, this thread,
 * re-initialises it for another heap (cache.h), which takes a new heap
 * with that id, so the key's heap destroyed, so its memory removed first:
 * no span in the page map has that key any more.  The first guess (key 0,
 * lcache NULL) matches no span: serials start at 1.  A key equal to the
 * guess is a class span's (a large block's key ends in 0xff, no class
 * index), so the span needs no class test. */
static inline __attribute__((always_inline)) bool
xm_free_quick(void *const *objs, unsigned n, const char *fn, enum xm_isa isa,
	      xm_free_fn *many, xm_flush_fn *flush)
{
	const struct xm_lcore *l;
	const struct xm_span *s = xm_free_first_span((uintptr_t)objs[0], &l);
	if (unlikely(!s))
		return false;
	struct xm_lcache *lc = l->free_lc;
	uint64_t key = l->free_key;
	if (unlikely(s->cache_key != key))
		return false;
	uintptr_t lo = s->base, used = s->used_len;
	if (unlikely(!xm_lc_try_enter(lc)))
		return false;
	struct xm_cache *c = l->free_cache;
	if (unlikely(c->n + n > c->cap)) {
		/* Every fourth burst of 32 on an lcore that only frees (TX):
		 * flushed here, not by the general loop after two more
		 * lookups and entries. */
		flush(lc, objs, n, key, fn);
		return true;
	}
	bool ok = true;
	if (n < 4) {
		/* Each tested on its own, all in the first one's span. */
		for (unsigned i = 0; i < n; i++) {
			uintptr_t off = (uintptr_t)objs[i] - lo;
			ok = ok && likely(off < used) && likely(xm_span_slot_ok(s, off));
		}
		if (likely(ok))
			for (unsigned i = 0; i < n; i++)
				c->objs[c->n + i] = objs[i];
	} else {
		/* Not a word more into the array than the run stores: the
		 * next burst's wide loads of these slots must each find one
		 * store to forward from (xm_ptr_copy). */
		if (unlikely(!((uintptr_t)objs[n - 1] - lo < used &&   /* cheap no */
			       xm_store_run(isa, &c->objs[c->n], objs, n, lo, used,
					    s->slot_c)))) {
			xm_free_scattered_tail(lc, objs, n, key, fn, many);
			return true;
		}
	}
	if (likely(ok)) {
		c->n += n;
		xm_lc_count(&c->frees, n);
	}
	xm_lc_exit(lc);
	return ok;
}

/* The first try for a single pointer (xmem_free, bursts of one), inline
 * in those two exported functions rather than behind the instance pointer:
 * xm_free_quick's test of the guess and of the slot, in an order that
 * keeps few values live, so that they need no more registers than the
 * caller lends them (no saves, no frame; the instance entries save six):
 * a burst of one is mostly fixed cost.  False changes nothing. */
static inline __attribute__((always_inline)) bool
xm_free_one(void *const *objs, const char *fn, xm_flush_fn *flush)
{
	const struct xm_lcore *l;
	uintptr_t p = (uintptr_t)objs[0];
	const struct xm_span *s = xm_free_first_span(p, &l);
	if (unlikely(!s))
		return false;
	uint64_t key = l->free_key;
	uintptr_t off = p - s->base;
	if (unlikely(s->cache_key != key) || unlikely(off >= s->used_len) ||
	    unlikely(!xm_span_slot_ok(s, off)))
		return false;
	struct xm_lcache *lc = l->free_lc;
	if (unlikely(!xm_lc_try_enter(lc)))
		return false;
	struct xm_cache *c = l->free_cache;
	uint32_t cn = c->n;
	if (unlikely(cn + 1 > c->cap)) {
		flush(lc, objs, 1, key, fn);
		return true;
	}
	c->objs[cn] = (void *)p;
	c->n = cn + 1;
	xm_lc_count(&c->frees, 1);
	xm_lc_exit(lc);
	return true;
}

/* The scattered part of the free loop: src[0..lim) into dst while each is
 * an object slot of a span whose heap and class are c_key, each pointer
 * looked up in the page map (the leaf of the last lookup serves while the
 * pointers stay in its GiB: *leafp of GiB *gibp, updated).  Returns how
 * many went; the first that did not is left to the caller.  Compiled
 * into two functions of their own (noinline, out of the flattened loops:
 * the general loop's, and a fresh one for the other callers) so that its
 * few values stay in registers: inside the loop's frame they were
 * spilled, a third more instructions per pointer. */
static inline __attribute__((always_inline)) unsigned
xm_free_scattered_body(void *const *src, void **dst, unsigned lim, uint64_t c_key,
		       struct xm_pm_leaf **leafp, uintptr_t *gibp)
{
	struct xm_pm_leaf *leaf = *leafp;
	uintptr_t gib = *gibp;
	size_t j = 0;
	for (; j < lim; j++) {
		uintptr_t p = (uintptr_t)src[j];
		if (unlikely((p >> 30) != gib)) {
			struct xm_pm_leaf *l = xm_pm_leaf_of(p);
			if (unlikely(!l))
				break;
			leaf = l;
			gib = p >> 30;
		}
		uintptr_t e = xm_pm_leaf_entry(leaf, p);
		const struct xm_span *s = (const struct xm_span *)e;
		if (unlikely(!e || (e & XM_PM_REGION) || s->cache_key != c_key))
			break;
		uintptr_t off = p - s->base;
		if (unlikely(off >= s->used_len) || unlikely(!xm_span_slot_ok(s, off)))
			break;
		dst[j] = (void *)p;
	}
	*leafp = leaf;
	*gibp = gib;
	return (unsigned)j;
}

static __attribute__((noinline)) unsigned
xm_free_scattered(void *const *src, void **dst, unsigned lim, uint64_t c_key,
		  struct xm_pm_leaf **leafp, uintptr_t *gibp)
{
	return xm_free_scattered_body(src, dst, lim, c_key, leafp, gibp);
}

/* The same from no leaf: the entry's call, which then keeps no state of
 * the lookup in its own frame. */
static __attribute__((noinline)) unsigned
xm_free_scattered_new(void *const *src, void **dst, unsigned lim, uint64_t c_key)
{
	struct xm_pm_leaf *leaf = NULL;
	uintptr_t gib = UINTPTR_MAX;
	return xm_free_scattered_body(src, dst, lim, c_key, &leaf, &gib);
}

static __attribute__((noinline)) void
xm_free_scattered_tail(struct xm_lcache *lc, void *const *objs, unsigned n,
		       uint64_t key, const char *fn, xm_free_fn *many)
{
	struct xm_cache *c = &lc->cls[key & 0xff];
	/* A call, not the loop inlined here: beside this function's own
	 * values the loop ran short of registers (its limit on the stack). */
	unsigned got = xm_free_scattered_new(objs, &c->objs[c->n], n, key);
	c->n += got;
	xm_lc_count(&c->frees, got);
	xm_lc_exit(lc);
	if (unlikely(got < n))
		many(objs + got, n - got, fn);
}

/* The span of objs[0] is looked up again here rather than passed: kept
 * live across xm_free_quick's test for room, it cost the AVX-512 entry a
 * realigned stack frame.  It is read inside the section, like everything
 * of lc (see xm_free_one_span), and xm_free_quick found it a span of key's
 * heap and class. */
static inline __attribute__((always_inline)) void
xm_free_flush_body(struct xm_lcache *lc, void *const *objs, unsigned n,
		   uint64_t key, const char *fn, enum xm_isa isa, xm_free_fn *many)
{
	const struct xm_span *s = (const struct xm_span *)xm_pm_entry((uintptr_t)objs[0]);
	int cls = (int)(key & 0xff);
	struct xm_cache *c = &lc->cls[cls];
	while (c->n + n > c->cap && c->n >= xm_class_mag[cls])
		xm_cache_flush(lc, cls);
	unsigned got = xm_free_run_into(lc, s, key, objs, n, isa);
	xm_lc_exit(lc);
	if (unlikely(got < n))
		many(objs + got, n - got, fn);
}

/* The free loop, for every instruction set: isa is a constant in each
 * instance below, so each keeps only its own test.
 *
 * While it has a cache array c (this lcore's, for one heap and class) it
 * stores into it, first whole runs of pointers of the current span (tested
 * at once) and then one pointer at a time, where a pointer of another span
 * of the same heap and class (a scattered burst: TX completions) costs one
 * page-map lookup and changes only the span's bounds.  Everything else
 * comes to the general step below one pointer at a time: NULL, a pointer
 * to report, a full array, another heap or class, no usable cache. */
static inline __attribute__((always_inline)) void
xm_free_body(void *const *objs, unsigned n, const char *fn, enum xm_isa isa)
{
	struct xm_lcache *lc = NULL;    /* entered */
	struct xm_cache *c = NULL;      /* lc's array for the current class */
	struct xm_nocache *nc = NULL;   /* on the stack once needed */
	struct xm_nocache nc_store;
	int cls = 0;
	uint64_t c_key = 0;             /* the cache key of c's heap and class */
	struct xm_pm_leaf *leaf = NULL; /* the page-map leaf of GiB leaf_gib */
	uintptr_t leaf_gib = UINTPTR_MAX;
	uint32_t cn = 0, cap = 0;       /* c->n and c->cap while c is in use */
	uint32_t counted = 0;           /* cn when frees were last counted */
	uintptr_t lo = 0, used = 0;     /* the current span; used 0: none */
	uint64_t slot_c = 0;
	bool try_runs = true;           /* no run has failed yet */
	bool scatter = true;            /* the loop's head tries the scattered loop */
	unsigned k = 0;

	while (k < n) {
		if (c && scatter) {
			unsigned m = n - k < cap - cn ? n - k : cap - cn;
			m = m < XM_FREE_RUN ? m : XM_FREE_RUN;
			if (try_runs && m >= 4 &&
			    (uintptr_t)objs[k + m - 1] - lo < used) {
				if (xm_store_run(isa, &c->objs[cn], &objs[k], m, lo,
						 used, slot_c)) {
					cn += m;
					k += m;
					continue;
				}
				try_runs = false;   /* mixed spans: one at a time */
			}
			/* One pointer at a time, each looked up: in a
			 * scattered burst nearly every pointer is in
			 * another span than the last, so no test of the
			 * last span goes first.  At most what the array
			 * holds: a full array ends the loop, not a test. */
			unsigned lim = n - k < cap - cn ? n - k : cap - cn;
			unsigned j = xm_free_scattered(&objs[k], &c->objs[cn], lim,
						       c_key, &leaf, &leaf_gib);
			cn += j;
			k += j;
			if (k == n)
				break;
			/* Not even the first went: the classes alternate (a
			 * burst of mixed sizes), and the general step takes
			 * the pointers one by one until two in a row share
			 * one. */
			scatter = j > 0;
		}
		/* The general step, for objs[k]. */
		uintptr_t p = (uintptr_t)objs[k];
		if (unlikely(!p)) {
			k++;
			continue;
		}
		uintptr_t e = xm_pm_entry(p);
		struct xm_span *s = (struct xm_span *)e;
		if (unlikely((e & XM_PM_REGION) || !e || s->cls == XM_CLS_LARGE)) {
			xm_free_other(e, p, fn);
			k++;
			continue;
		}
		uintptr_t off = p - s->base;
		if (unlikely(off >= s->used_len || !xm_span_slot_ok(s, off))) {
			/* Slack past the last object, or inside an object. */
			xm_report_invalid(fn, (void *)p, "not the start of a block");
			k++;
			continue;
		}
		if (c && s->cache_key == c_key) {
			if (cn < cap) {
				/* The second in a row of this class: from the
				 * next on, the scattered loop takes them. */
				c->objs[cn++] = (void *)p;
				k++;
				scatter = true;
				continue;
			}
			/* The array is full: one magazine to the depot. */
			c->n = cn;
			xm_cache_flush(lc, cls);
			xm_lc_count(&c->frees, cn - counted);
			cn = counted = c->n;
			continue;
		}
		/* Another heap or class: settle the current array first. */
		if (c) {
			c->n = cn;
			xm_lc_count(&c->frees, cn - counted);
			c = NULL;
		}
		lc = xm_lc_switch(lc, s);
		if (unlikely(!lc)) {
			if (!nc) {
				nc = &nc_store;
				nc->n = 0;
			}
			xm_nocache_add(nc, s, (void *)p, fn);
			k++;
			continue;
		}
		lo = s->base;
		used = s->used_len;
		slot_c = s->slot_c;
		cls = s->cls;
		c_key = s->cache_key;
		c = &lc->cls[cls];
		cn = counted = c->n;
		cap = c->cap;
		/* p passed every test above: it goes in now, not after the
		 * loop's head has looked it up once more (in a burst of mixed
		 * classes, every pointer comes here). */
		if (likely(cn < cap)) {
			c->objs[cn++] = (void *)p;
			k++;
		}
	}
	if (c) {
		c->n = cn;
		xm_lc_count(&c->frees, cn - counted);
	}
	if (lc)
		xm_lc_exit(lc);
	if (nc)
		xm_nocache_flush(nc, fn);
}

/* One instance of the loops per instruction set: flatten compiles the
 * body and the set's test into each function, which alone is built for
 * that set.  xm_free_entry_* tries the guessed heap and class first
 * (xm_free_quick), then the lcache of the first pointer's span
 * (xm_free_one_span), and leaves what neither took to the general loop;
 * each later step is a function of its own (noinline) reached by a tail
 * call, so that the quick path keeps no values across a call. */
#define XM_FREE_INSTANCE(sfx, isa, target)                                   \
	target __attribute__((flatten, noinline)) static void                \
	xm_free_many_##sfx(void *const *objs, unsigned n, const char *fn)    \
	{                                                                     \
		xm_free_body(objs, n, fn, isa);                               \
	}                                                                     \
	target __attribute__((flatten, noinline)) static void                \
	xm_free_rest_##sfx(void *const *objs, unsigned n, const char *fn)    \
	{                                                                     \
		unsigned got = likely(n - 1 <= XM_BURST_MAX - 1) ?           \
			       xm_free_one_span(objs, n, isa) : 0;            \
		if (likely(got == n))                                         \
			return;                                               \
		xm_free_many_##sfx(objs + got, n - got, fn);                  \
	}                                                                     \
	target __attribute__((flatten, noinline)) static void                \
	xm_free_flush_##sfx(struct xm_lcache *lc, void *const *objs,         \
			    unsigned n, uint64_t key, const char *fn)         \
	{                                                                     \
		xm_free_flush_body(lc, objs, n, key, fn, isa,                 \
				   xm_free_many_##sfx);                       \
	}                                                                     \
	target __attribute__((flatten)) static void                          \
	xm_free_entry_##sfx(void *const *objs, unsigned n, const char *fn)   \
	{                                                                     \
		if (likely(n - 1 <= XM_BURST_MAX - 1) &&                     \
		    likely(xm_free_quick(objs, n, fn, isa, xm_free_many_##sfx, \
					 xm_free_flush_##sfx)))               \
			return;                                               \
		xm_free_rest_##sfx(objs, n, fn);                              \
	}
XM_FREE_INSTANCE(sse2, XM_SSE2, )
XM_FREE_INSTANCE(avx2, XM_AVX2, __attribute__((target("avx2"))))
XM_FREE_INSTANCE(avx512, XM_AVX512, __attribute__((target("avx2,avx512f"))))

/* The instances for this CPU.  Written once by the constructor, before
 * main and before any other thread exists, and never again. */
static xm_free_fn *xm_free_pick_fn = xm_free_entry_sse2;
static xm_flush_fn *xm_free_flush_pick_fn = xm_free_flush_sse2;

__attribute__((constructor)) static void xm_free_pick(void)
{
	enum xm_isa isa = xm_isa_pick();
	if (isa == XM_AVX512) {
		xm_free_pick_fn = xm_free_entry_avx512;
		xm_free_flush_pick_fn = xm_free_flush_avx512;
	} else if (isa == XM_AVX2) {
		xm_free_pick_fn = xm_free_entry_avx2;
		xm_free_flush_pick_fn = xm_free_flush_avx2;
	}
}

/* The instance's flush tail, for xm_free_one: a direct call target, so
 * that the pointer is read only when an array is full, not on every free. */
static void xm_free_flush_picked(struct xm_lcache *lc, void *const *objs, unsigned n,
				 uint64_t key, const char *fn)
{
	xm_free_flush_pick_fn(lc, objs, n, key, fn);
}

/* One pointer: xm_free_one, which has no vector code, inline in the
 * exported function (no dispatch), else the instance's entry. */
static inline __attribute__((always_inline)) void
xm_free_single(void *const *objs, const char *fn)
{
	if (likely(xm_free_one(objs, fn, xm_free_flush_picked)))
		return;
	xm_free_pick_fn(objs, 1, fn);
}

void xm_free_many(void *const *objs, unsigned n, const char *fn)
{
	xm_free_pick_fn(objs, n, fn);
}

XM_ENTRY_ALIGN void xmem_free(void *ptr)
{
	if (ptr) {
		xm_vg_on_free(&ptr, 1, "xmem_free");
		xm_free_single(&ptr, "xmem_free");
	}
}

XM_ENTRY_ALIGN void xmem_free_bulk(void *const *objs, unsigned n)
{
	if (unlikely(!objs)) {
		if (n)
			errno = EINVAL;
		return;
	}
	xm_vg_on_free(objs, n, "xmem_free_bulk");
	if (likely(n == 1))
		xm_free_single(objs, "xmem_free_bulk");
	else
		xm_free_pick_fn(objs, n, "xmem_free_bulk");
}

size_t xmem_usable_size(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	uintptr_t e = p ? xm_pm_entry(p) : 0;
	struct xm_span *s = (struct xm_span *)e;
	size_t size = 0;
	if (e && !(e & XM_PM_REGION)) {
		if (s->cls == XM_CLS_LARGE) {
			if (s->base == p)
				size = s->obj_size;
		} else {
			uintptr_t off = p - s->base;
			if (off < s->used_len && xm_span_slot_ok(s, off)) {
				size = s->obj_size;
				/* Checked mode: a free object is in its span. */
				size_t i = (size_t)((off * s->slot_c) >> XM_SLOT_SHIFT);
				if (atomic_load_explicit(&xm_st.checked_on,
							 memory_order_relaxed) &&
				    ((atomic_load_explicit(&s->free_bits[i / 64],
							   memory_order_relaxed) >>
				      (i % 64)) & 1))
					size = 0;
			}
		}
	}
	if (!size)
		errno = EINVAL;
	return xm_vg_on_usable(ptr, size);
}
