/* free.c - the free entry points (xmem_free, xmem_free_bulk) and
 * xmem_usable_size.
 *
 * Every pointer is validated in every mode before it goes anywhere: the
 * page map names its span, and it must be the start of an object slot
 * there -- below the span's used length (so slack past the last object is
 * rejected) and a multiple of the object size (the slot test of heap.h, a
 * multiply and a mask).  Anything else is reported (xm_report_invalid) and
 * dropped.  Pointers of the span of the previous pointer (the common case
 * in a burst) go straight into the span's cache array, eight at a time when
 * eight in a row pass the range and slot tests together (SSE2, x86-64's
 * baseline).  A double free of a real slot is caught in checked mode here,
 * and in every mode when the object reaches its span again (span.c). */
#include <emmintrin.h>
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "pagemap.h"
#include "vg.h"

/* True when each of the eight pointers at src is an object slot of the
 * span [lo, lo + len) with slot constant c; then they are stored at dst.
 * Range: the OR of the offsets is below len only if every offset is (a
 * sufficient test).  Slot: (off * c) mod 2^33 - c is negative, bit 63 set,
 * exactly for slot starts; AND over the lanes keeps bit 63 only if all
 * have it.  _mm_mul_epu32 multiplies the low 32 bits of each 64-bit lane,
 * which holds the whole offset once the range test passed (< 2^18). */
static inline bool xm_store8_if_slots(void **dst, void *const *src,
				      uintptr_t lo, uintptr_t len, uint64_t c)
{
	__m128i base = _mm_set1_epi64x((long long)lo);
	__m128i v0 = _mm_loadu_si128((const __m128i *)src);
	__m128i v1 = _mm_loadu_si128((const __m128i *)src + 1);
	__m128i v2 = _mm_loadu_si128((const __m128i *)src + 2);
	__m128i v3 = _mm_loadu_si128((const __m128i *)src + 3);
	__m128i o0 = _mm_sub_epi64(v0, base), o1 = _mm_sub_epi64(v1, base);
	__m128i o2 = _mm_sub_epi64(v2, base), o3 = _mm_sub_epi64(v3, base);
	__m128i any = _mm_or_si128(_mm_or_si128(o0, o1), _mm_or_si128(o2, o3));
	uint64_t lanes[2];
	_mm_storeu_si128((__m128i *)lanes, any);
	if ((lanes[0] | lanes[1]) >= len)
		return false;
	__m128i cv = _mm_set1_epi64x((long long)c);
	__m128i mask = _mm_set1_epi64x((long long)XM_SLOT_MASK);
#define XM_SLOT(o) _mm_sub_epi64(_mm_and_si128(_mm_mul_epu32(o, cv), mask), cv)
	__m128i all = _mm_and_si128(_mm_and_si128(XM_SLOT(o0), XM_SLOT(o1)),
				    _mm_and_si128(XM_SLOT(o2), XM_SLOT(o3)));
#undef XM_SLOT
	if (_mm_movemask_pd(_mm_castsi128_pd(all)) != 3)
		return false;
	_mm_storeu_si128((__m128i *)dst, v0);
	_mm_storeu_si128((__m128i *)dst + 1, v1);
	_mm_storeu_si128((__m128i *)dst + 2, v2);
	_mm_storeu_si128((__m128i *)dst + 3, v3);
	return true;
}

/* A pointer whose page-map entry is e that no class span takes: a large
 * block start, or something to report. */
static void xm_free_other(uintptr_t e, uintptr_t p, const char *fn)
{
	struct xm_span *s = (struct xm_span *)e;
	if (!e)
		xm_report_invalid(fn, (void *)p, "not memory of any heap");
	else if (e & XM_PM_REGION)
		xm_report_invalid(fn, (void *)p,
				  ((struct xm_region *)(e & ~XM_PM_REGION))->heap ?
				  "not the start of a block" :
				  "memory registered for translation only");
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
			 s->heap_serial))
		return lc;
	if (lc)
		xm_lc_exit(lc);
	lc = xm_lcache_of(s->heap, s->heap_id, s->heap_serial);
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
	if (atomic_load_explicit(&xm_checked_on, memory_order_relaxed)) {
		unsigned put = xm_span_put(b->objs, b->n, fn);
		xm_count(&b->h->cls[b->cls].frees, put);
	} else {
		xm_depot_push(b->h, b->cls, b->objs, b->n);
		xm_count(&b->h->cls[b->cls].frees, b->n);
	}
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

void xm_free_many(void *const *objs, unsigned n, const char *fn)
{
	struct xm_lcache *lc = NULL;    /* entered */
	struct xm_cache *c = NULL;      /* lc's array for the last span's class */
	struct xm_nocache *nc = NULL;   /* on the stack once needed */
	struct xm_nocache nc_store;
	int cls = 0;
	uint32_t cn = 0, cap = 0;       /* c->n and c->cap while c is in use */
	uint32_t counted = 0;           /* cn when frees were last counted */
	uintptr_t lo = 0, used = 0;     /* the last span; used 0: none */
	uint64_t slot_c = 0;
	const struct xm_span *last = NULL;
	unsigned k = 0;

	while (k < n) {
		while (k + 8 <= n && cn + 8 <= cap) {
			if (!xm_store8_if_slots(&c->objs[cn], &objs[k], lo, used,
						slot_c))
				break;
			cn += 8;
			k += 8;
		}
		if (k == n)
			break;
		uintptr_t p = (uintptr_t)objs[k];
		uintptr_t off = p - lo;
		if (likely(off < used)) {
			if (unlikely(!xm_span_slot_ok(last, off))) {
				xm_report_invalid(fn, (void *)p,
						  "not the start of a block");
			} else if (unlikely(!c)) {
				xm_nocache_add(nc, last, (void *)p, fn);
			} else {
				if (unlikely(cn == cap)) {
					c->n = cn;
					xm_cache_flush(lc, cls);
					xm_lc_count(&lc->frees[cls], cn - counted);
					cn = counted = c->n;
				}
				c->objs[cn++] = (void *)p;
			}
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
		used = 0;
		k++;
		if (unlikely(!p))
			continue;
		uintptr_t e = xm_pm_entry(p);
		struct xm_span *s = (struct xm_span *)e;
		if (unlikely((e & XM_PM_REGION) || !e || s->cls == XM_CLS_LARGE)) {
			xm_free_other(e, p, fn);
			continue;
		}
		if (unlikely(p - s->base >= s->used_len)) {
			/* Slack past the last object of its span. */
			xm_report_invalid(fn, (void *)p, "not the start of a block");
			continue;
		}
		last = s;
		lo = s->base;
		used = s->used_len;
		slot_c = s->slot_c;
		k--;   /* objs[k] is checked and stored by the next round */
		lc = xm_lc_switch(lc, s);
		if (unlikely(!lc)) {
			if (!nc) {
				nc = &nc_store;
				nc->n = 0;
			}
			continue;
		}
		cls = s->cls;
		c = &lc->cls[cls];
		cn = counted = c->n;
		cap = c->cap;
	}
	if (c) {
		c->n = cn;
		xm_lc_count(&lc->frees[cls], cn - counted);
	}
	if (lc)
		xm_lc_exit(lc);
	if (nc)
		xm_nocache_flush(nc, fn);
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
				if (atomic_load_explicit(&xm_checked_on,
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
