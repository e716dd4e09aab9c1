/* span.c - the span object layer: objects out of spans (claim), back into
 * spans (put, validated), and the whole-span moves of the control plane
 * (reclaim fully free spans, take a region's spans away).  Lock-free.
 *
 * Each class of a heap keeps a lock-free stack of spans that (probably)
 * have free objects.  A span's token (xm_span.listed) says who decides
 * where it goes: it is on the stack, or a thread popped or carved it.  The
 * free bits are claimed a word at a time with one exchange and given back
 * with fetch_or; so claiming never waits for anyone, and a thread that
 * stalls holding a token only hides that span's remaining objects.
 *
 * Every path here runs inside an RCU read section: spans of a region being
 * removed, and spans in the limbo, are recycled only after a grace period,
 * so whatever a section found stays a span of its heap until it ends. */
#include "bitmap.h"
#include "heap.h"
#include "pagemap.h"

/* All object bits of word w of s. */
static uint64_t xm_span_full(const struct xm_span *s, uint32_t w)
{
	size_t lo = (size_t)w * 64, left = s->n_objs - lo;
	return xm_bm_mask(0, left > 64 ? 64 : (unsigned)left);
}

static bool xm_span_has_free(struct xm_span *s)
{
	for (uint32_t w = 0; w < s->words; w++)
		if (atomic_load_explicit(&s->free_bits[w], memory_order_seq_cst))
			return true;
	return false;
}

/* Let go of s's token: back on the stack if it has free objects, else
 * drop the token.  A put-back that sets a bit right after our look tries
 * the token itself: seq_cst on both sides (its fetch_or then CAS, our
 * store then loads), so one of the two sees the other and s is never left
 * unlisted with free objects. */
static void xm_span_settle(struct xmem_heap *h, struct xm_span *s)
{
	if (!xm_span_has_free(s)) {
		atomic_store_explicit(&s->listed, 0, memory_order_seq_cst);
		if (!xm_span_has_free(s))
			return;
		uint32_t zero = 0;
		if (!atomic_compare_exchange_strong(&s->listed, &zero, 1))
			return;
	}
	xm_stack_push(&h->cls[s->cls].partial, s);
}

/* Claim up to want objects of s into out. */
static unsigned xm_span_claim(struct xm_span *s, void **out, unsigned want)
{
	unsigned got = 0;
	for (uint32_t w = 0; w < s->words && got < want; w++) {
		if (!atomic_load_explicit(&s->free_bits[w], memory_order_relaxed))
			continue;
		/* Acquire: pairs with the release of the put-back that freed
		 * these objects (the user's writes are behind it anyway). */
		uint64_t bits = atomic_exchange_explicit(&s->free_bits[w], 0,
							 memory_order_acquire);
		while (bits && got < want) {
			unsigned i = (unsigned)__builtin_ctzll(bits);
			out[got++] = (void *)(s->base +
					      ((size_t)w * 64 + i) * s->obj_size);
			bits &= bits - 1;
		}
		if (bits)
			atomic_fetch_or_explicit(&s->free_bits[w], bits,
						 memory_order_release);
	}
	return got;
}

unsigned xm_span_take(struct xmem_heap *h, int cls, void **out, unsigned want)
{
	unsigned n = 0;
	xm_rcu_read_lock();
	while (n < want) {
		struct xm_span *s = xm_stack_pop(&h->cls[cls].partial);
		if (s && atomic_load_explicit(&s->region->retiring,
					      memory_order_acquire)) {
			/* Its region is going: drop the token, leave it. */
			atomic_store_explicit(&s->listed, 0, memory_order_seq_cst);
			continue;
		}
		if (!s && !(s = xm_span_new(h, cls)))
			break;
		n += xm_span_claim(s, out + n, want - n);
		xm_span_settle(h, s);
	}
	xm_rcu_read_unlock();
	xm_count(&h->cls[cls].out, n);
	return n;
}

/* Validate p as an object slot of a live class span: its span, or NULL and
 * *why. */
static struct xm_span *xm_slot_of(uintptr_t p, size_t *idx, const char **why)
{
	uintptr_t e = xm_pm_entry(p);
	struct xm_span *s = (struct xm_span *)e;
	*why = "not memory of any heap";
	if (!e)
		return NULL;
	*why = "not the start of a block";
	if ((e & XM_PM_REGION) || s->cls == XM_CLS_LARGE ||
	    atomic_load_explicit(&s->dead, memory_order_acquire))
		return NULL;
	uintptr_t off = p - s->base;
	if (off >= s->used_len || !xm_span_slot_ok(s, off))
		return NULL;
	*idx = (size_t)((off * s->slot_c) >> XM_SLOT_SHIFT);
	return s;
}

/* The end of a run of put-backs into s: account and list it. */
static void xm_span_put_done(struct xm_span *s, unsigned k)
{
	if (!s || !k)
		return;
	xm_count(&s->heap->cls[s->cls].out, -(int64_t)k);
	/* A span of a region being removed stays off the stacks: the remover
	 * takes its spans off them once, after a grace period that this read
	 * section (which saw retiring) ends before; a failed removal relists
	 * it. */
	if (atomic_load_explicit(&s->region->retiring, memory_order_acquire))
		return;
	uint32_t zero = 0;
	if (atomic_load_explicit(&s->listed, memory_order_seq_cst) == 0 &&
	    atomic_compare_exchange_strong(&s->listed, &zero, 1))
		xm_stack_push(&s->heap->cls[s->cls].partial, s);
}

unsigned xm_span_put(void *const *objs, unsigned n, const char *fn)
{
	struct xm_span *last = NULL;
	unsigned run = 0, put = 0;
	xm_rcu_read_lock();
	for (unsigned k = 0; k < n; k++) {
		uintptr_t p = (uintptr_t)objs[k];
		size_t idx;
		const char *why;
		struct xm_span *s = xm_slot_of(p, &idx, &why);
		if (s != last) {
			xm_span_put_done(last, run);
			last = s;
			run = 0;
		}
		if (!s) {
			xm_report_invalid(fn, (void *)p, why);
			continue;
		}
		uint64_t bit = (uint64_t)1 << (idx % 64);
		/* seq_cst: against xm_span_settle (see there).  Release for
		 * the claimer's acquire. */
		uint64_t old = atomic_fetch_or(&s->free_bits[idx / 64], bit);
		/* No second look at dead after the fetch_or: a span whose last
		 * object this put-back returns may be retired right after it
		 * (xm_span_reclaim), which is no error.  A duplicate that races
		 * the retirement of its (then fully free) span sets a bit of a
		 * descriptor in the limbo, which is re-initialised before reuse:
		 * harmless, and the one duplicate that goes unreported. */
		if (old & bit) {
			xm_report_invalid(fn, (void *)p,
					  "block is already free (double free)");
		} else {
			run++;
			put++;
		}
	}
	xm_span_put_done(last, run);
	xm_rcu_read_unlock();
	return put;
}

/* Own every object bit of s (whose token the caller holds) if all are
 * free: one CAS per word, undone if a word is not full.  True when the
 * span is now the caller's alone. */
static bool xm_span_own_all(struct xm_span *s)
{
	for (uint32_t w = 0; w < s->words; w++) {
		uint64_t full = xm_span_full(s, w);
		uint64_t cur = full;
		if (!atomic_compare_exchange_strong(&s->free_bits[w], &cur, 0)) {
			while (w--)
				atomic_fetch_or(&s->free_bits[w], xm_span_full(s, w));
			return false;
		}
	}
	return true;
}

/* Pop every span of class c's stack; those keep() selects are given to
 * take(), the others go back. */
static void xm_span_sift(struct xmem_heap *h, int c,
			 bool (*take)(struct xmem_heap *h, struct xm_span *s,
				      void *arg), void *arg)
{
	struct xm_span *keep = NULL, *s;
	while ((s = xm_stack_pop(&h->cls[c].partial))) {
		if (take(h, s, arg))
			continue;
		s->link.next = (ck_stack_entry_t *)keep;
		keep = s;
	}
	while ((s = keep)) {
		keep = (struct xm_span *)s->link.next;
		xm_stack_push(&h->cls[c].partial, s);
	}
}

static bool xm_take_free(struct xmem_heap *h, struct xm_span *s, void *arg)
{
	/* A region being removed owns its spans' fate: the remover collects
	 * and recycles them itself (a retired one would be recycled twice).
	 * Its retiring flag is seen here: the remover set it and waited a
	 * grace period, and this runs in a read section.  Drop the token as a
	 * claimer does. */
	if (atomic_load_explicit(&s->region->retiring, memory_order_acquire)) {
		atomic_store_explicit(&s->listed, 0, memory_order_seq_cst);
		return true;
	}
	if (!xm_span_own_all(s))
		return false;
	xm_span_retire(h, s);
	++*(unsigned *)arg;
	return true;
}

unsigned xm_span_reclaim(struct xmem_heap *h)
{
	unsigned n = 0;
	xm_rcu_read_lock();
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		xm_span_sift(h, c, xm_take_free, &n);
	xm_rcu_read_unlock();
	return n;
}

struct xm_unstack {
	const struct xm_region *r;
	struct xm_span *list;
};

static bool xm_take_region(struct xmem_heap *h, struct xm_span *s, void *arg)
{
	(void)h;
	struct xm_unstack *u = arg;
	if (s->region != u->r)
		return false;
	s->link.next = (ck_stack_entry_t *)u->list;
	u->list = s;
	return true;
}

struct xm_span *xm_span_unstack(struct xmem_heap *h, const struct xm_region *r)
{
	struct xm_unstack u = {r, NULL};
	xm_rcu_read_lock();
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		xm_span_sift(h, c, xm_take_region, &u);
	xm_rcu_read_unlock();
	return u.list;
}

void xm_span_restack(struct xm_span *list)
{
	struct xm_span *s;
	while ((s = list)) {
		list = (struct xm_span *)s->link.next;
		xm_stack_push(&s->heap->cls[s->cls].partial, s);
	}
}

/* Walk the spans of r in address order: fn gets each class span.  With
 * strict, a large block or a claimed unit outside any span makes the walk
 * stop with false; without, they are stepped over.  The caller keeps the
 * descriptors it meets stable: it is inside an RCU read section (retired
 * class spans wait in the limbo) and holds large_lock, so no large
 * block of r can be freed meanwhile. */
static bool xm_region_spans(const struct xm_region *r, bool strict,
			    bool (*fn)(struct xm_span *s, void *arg), void *arg)
{
	for (size_t u = 0; u < r->n_units;) {
		if ((atomic_load_explicit(&r->free_units[u / 64],
					  memory_order_seq_cst) >> (u % 64)) & 1) {
			u++;
			continue;
		}
		struct xm_span *s = xm_pagemap_span(r->va + (u << XM_UNIT_SHIFT));
		bool cls_span = s && s->region == r && s->cls != XM_CLS_LARGE &&
				!atomic_load_explicit(&s->dead, memory_order_acquire);
		if (!cls_span) {
			if (strict)
				return false;
			u += s && s->region == r && s->cls == XM_CLS_LARGE ?
			     s->n_units : 1;
			continue;
		}
		if (fn && !fn(s, arg))
			return false;
		u = ((s->base - r->va) >> XM_UNIT_SHIFT) + s->n_units;
	}
	return true;
}

static bool xm_span_all_free(struct xm_span *s, void *arg)
{
	(void)arg;
	for (uint32_t w = 0; w < s->words; w++)
		if (atomic_load_explicit(&s->free_bits[w], memory_order_seq_cst) !=
		    xm_span_full(s, w))
			return false;
	return true;
}

/* The walks below hold large_lock: a large block of r freed meanwhile
 * would send its descriptor back to the pool, to be re-initialised under
 * the walk (see xm_region_spans). */
bool xm_region_idle(const struct xm_region *r)
{
	xm_mutex_lock(&r->heap->large_lock);
	xm_rcu_read_lock();
	bool idle = xm_region_spans(r, true, xm_span_all_free, NULL);
	xm_rcu_read_unlock();
	pthread_mutex_unlock(&r->heap->large_lock);
	return idle;
}

static bool xm_span_relist(struct xm_span *s, void *arg)
{
	(void)arg;
	uint32_t zero = 0;
	if (xm_span_has_free(s) &&
	    atomic_compare_exchange_strong(&s->listed, &zero, 1))
		xm_stack_push(&s->heap->cls[s->cls].partial, s);
	return true;
}

void xm_region_relist(struct xm_region *r)
{
	xm_mutex_lock(&r->heap->large_lock);
	xm_rcu_read_lock();
	xm_region_spans(r, false, xm_span_relist, NULL);
	xm_rcu_read_unlock();
	pthread_mutex_unlock(&r->heap->large_lock);
}

struct xm_span_list {
	struct xm_span **v;
	size_t n, cap;
};

static bool xm_span_collect(struct xm_span *s, void *arg)
{
	struct xm_span_list *l = arg;
	if (l->n < l->cap)
		l->v[l->n] = s;
	l->n++;
	return true;
}

size_t xm_region_collect(const struct xm_region *r, struct xm_span **v,
			 size_t cap)
{
	struct xm_span_list l = {v, 0, cap};
	xm_mutex_lock(&r->heap->large_lock);
	xm_rcu_read_lock();
	xm_region_spans(r, true, xm_span_collect, &l);
	xm_rcu_read_unlock();
	pthread_mutex_unlock(&r->heap->large_lock);
	return l.n;
}
