/* cache.c - the slow parts of the per-lcore caches: creation and
 * re-initialisation, refill from the depot or spans, flush to the depot,
 * and the thread-exit flush (cache.h has the owner/drainer handshake;
 * drain.c the drainers). */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cache.h"
#include "meta.h"

int xm_membarrier_ok;

__attribute__((constructor)) static void xm_cache_init(void)
{
	/* XMEM_NO_MEMBARRIER=1 forces the fence-free fallback (for tests). */
	const char *nm = getenv("XMEM_NO_MEMBARRIER");
	xm_membarrier_ok = !(nm && nm[0] == '1') &&
		syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
			0, 0) == 0;
	const char *e = getenv("XMEM_CHECKED");
	if (e && e[0] == '1')
		atomic_store(&xm_st.checked_on, 1);
}

bool xm_lc_enter_fenced(struct xm_lcache *lc)
{
	/* Plain C11 Dekker, seq_cst on both sides (the drainer's fetch_or of
	 * stop, then its load of busy). */
	atomic_exchange(&lc->busy, 1);
	if (atomic_load(&lc->stop) == XM_STOP_FENCE)
		return true;
	atomic_store_explicit(&lc->busy, 0, memory_order_release);
	return false;
}

/* Cache colouring: lcaches are power-of-two metadata blocks, so without an
 * offset the hot lines of every lcore's cache (the handshake words, the
 * array heads of a class) would sit at the same addresses modulo 64 KiB and
 * compete for the same L1 sets on hyperthread siblings.  Each lcore's cache
 * starts XM_LC_COLOUR * (id % XM_LC_COLOURS) bytes into its block. */
#define XM_LC_COLOURS 8
#define XM_LC_COLOUR  (13 * 64)

/* Bytes of an lcache block: the header, two magazines' worth of slots per
 * class and the colour slack (about 56 KiB, a 64 KiB metadata block). */
static size_t xm_lcache_bytes(void)
{
	size_t slots = 0;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		slots += 2u * xm_class_mag[c];
	return sizeof(struct xm_lcache) + slots * sizeof(void *) +
	       (XM_LC_COLOURS - 1) * XM_LC_COLOUR;
}

/* Empty arrays and zero counters, then the serial with release: stats and
 * drainers that read the new serial (acquire) see the reset counters. */
static void xm_lcache_init(struct xm_lcache *lc, struct xmem_heap *h,
			   uint64_t serial)
{
	lc->heap = h;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		lc->cls[c].n = 0;
		atomic_store_explicit(&lc->cls[c].allocs, 0, memory_order_relaxed);
		atomic_store_explicit(&lc->cls[c].frees, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&lc->serial, serial, memory_order_release);
}

struct xm_lcache *xm_lcache_create(struct xmem_heap *h, struct xm_lcore *l,
				   uint64_t serial)
{
	int id = xm_heap_idx(h);
	if (!xm_heap_live(h) || xm_heap_serial(h) != serial) {
		errno = EINVAL;
		return NULL;
	}
	struct xm_lcache *lc = atomic_load_explicit(&l->lc[id],
						    memory_order_acquire);
	if (lc) {
		/* The cache of an older heap with this id (empty: that heap
		 * had no memory left when it was destroyed).  Only its owner,
		 * this thread, re-initialises it, inside a section so that no
		 * drainer holds it meanwhile.  A checked-mode mark left from
		 * the old heap goes first (set again below if checked mode is
		 * on), or the section could never be entered. */
		atomic_fetch_and(&lc->stop, ~XM_STOP_CHECKED);
		if (!xm_lc_enter(lc))
			return NULL;
		uint64_t a = 0, f = 0;
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			a += atomic_load_explicit(&lc->cls[c].allocs, memory_order_relaxed);
			f += atomic_load_explicit(&lc->cls[c].frees, memory_order_relaxed);
		}
		/* Relaxed: totals, read by member stats. */
		atomic_fetch_add_explicit(&l->gone_allocs, a, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->gone_frees, f, memory_order_relaxed);
		xm_lcache_init(lc, h, serial);
		xm_lc_exit(lc);
	} else {
		char *block = xm_meta_zalloc(xm_lcache_bytes());
		if (!block)
			return NULL;
		lc = (struct xm_lcache *)
			(block + (size_t)(l->id % XM_LC_COLOURS) * XM_LC_COLOUR);
		lc->block = block;
		/* Before lc is published (the seq_cst store below). */
		if (!xm_membarrier_ok)
			atomic_store_explicit(&lc->stop, XM_STOP_FENCE,
					      memory_order_relaxed);
		void **slot = lc->store;
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			lc->cls[c].cap = 2u * xm_class_mag[c];
			lc->cls[c].objs = slot;
			slot += lc->cls[c].cap;
		}
		xm_lcache_init(lc, h, serial);
		/* seq_cst store then load, against xmem_set_checked's store
		 * of the flag then scan of the slots: one of the two sees the
		 * other. */
		atomic_store(&l->lc[id], lc);
	}
	if (atomic_load(&xm_st.checked_on))
		atomic_fetch_or(&lc->stop, XM_STOP_CHECKED);
	else
		atomic_fetch_and(&lc->stop, ~XM_STOP_CHECKED);
	return lc;
}

bool xm_cache_refill(struct xm_lcache *lc, int cls, unsigned need)
{
	struct xmem_heap *h = lc->heap;
	struct xm_cache *k = &lc->cls[cls];
	unsigned mag = xm_class_mag[cls];
	while (k->n < need && k->n + mag <= k->cap) {
		struct xm_mag *m = xm_stack_pop(&h->depot[cls]);
		if (!m)
			break;
		memcpy(&k->objs[k->n], m->objs, m->n * sizeof(void *));
		k->n += m->n;
		xm_mag_put(m);
	}
	if (k->n >= need)
		return true;
	/* From spans: at least a magazine's worth, to amortise the claim. */
	unsigned want = need - k->n;
	if (want < mag)
		want = mag;
	if (want > k->cap - k->n)
		want = k->cap - k->n;
	k->n += xm_span_take(h, cls, &k->objs[k->n], want);
	return k->n >= need;
}

void xm_depot_push(struct xmem_heap *h, int cls, void *const *objs, unsigned n)
{
	if (!n)
		return;
	struct xm_mag *m = xm_mag_get();
	if (likely(m)) {
		memcpy(m->objs, objs, n * sizeof(void *));
		m->n = n;
		xm_stack_push(&h->depot[cls], m);
	} else {
		/* No memory for a magazine: straight back to the spans. */
		xm_span_put(objs, n, "xmem_free");
	}
}

void xm_cache_flush(struct xm_lcache *lc, int cls)
{
	struct xm_cache *k = &lc->cls[cls];
	unsigned n = xm_class_mag[cls];
	k->n -= n;
	xm_depot_push(lc->heap, cls, &k->objs[k->n], n);
}

/* lc's heap when lc serves a live heap, else NULL. */
static struct xmem_heap *xm_lcache_heap(struct xm_lcache *lc)
{
	struct xmem_heap *h = lc ? lc->heap : NULL;
	if (!lc || !xm_heap_live(h) ||
	    xm_heap_serial(h) != atomic_load(&lc->serial))
		return NULL;
	return h;
}

/* Every object of lc (held by the caller) to h's depot. */
static void xm_lcache_empty(struct xm_lcache *lc, struct xmem_heap *h)
{
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		while (lc->cls[c].n) {
			struct xm_cache *k = &lc->cls[c];
			unsigned n = k->n < xm_class_mag[c] ? k->n :
				     xm_class_mag[c];
			k->n -= n;
			xm_depot_push(h, c, &k->objs[k->n], n);
		}
}

void xm_cache_flush_lcore(struct xm_lcore *l)
{
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&l->lc[i],
							    memory_order_acquire);
		struct xmem_heap *h = xm_lcache_heap(lc);
		if (!h || !xm_lc_enter(lc))
			continue;   /* a drainer is taking them anyway */
		xm_lcache_empty(lc, h);
		xm_lc_exit(lc);
	}
}

/* An owner of another process (gone, or stopped by detach's contract):
 * its sections cannot be waited for with the owner's own handshake.  The
 * drainer bit is taken as a drainer takes it (waiting out another drainer,
 * which lets go within its bounded wait); busy is waited for up to wait_ns
 * and then taken as dead: an owner killed inside a section left the burst
 * it was moving half done, which is lost (never handed out twice: the
 * array's count is only changed after the objects are copied out, and
 * before they are copied in). */
uint64_t xm_cache_take_lcore(struct xm_lcore *l, uint64_t wait_ns)
{
	uint64_t busy = 0;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&l->lc[i],
							    memory_order_acquire);
		if (!lc)
			continue;
		/* A live drainer lets go within its bounded wait; one that
		 * stays longer died draining (its process is gone too, or it
		 * would not be stuck): the cache is taken from it. */
		for (int t = 0; t < 2000 && (atomic_fetch_or(&lc->stop, XM_STOP_DRAIN) &
					     XM_STOP_DRAIN); t++)
			usleep(10);
		for (uint64_t t = 0; atomic_load(&lc->busy) && t < wait_ns;
		     t += 100000)
			usleep(100);
		if (atomic_load(&lc->busy)) {
			busy++;
			atomic_store(&lc->busy, 0);
		}
		struct xmem_heap *h = xm_lcache_heap(lc);
		if (h)
			xm_lcache_empty(lc, h);
		atomic_fetch_and(&lc->stop, ~XM_STOP_DRAIN);
	}
	return busy;
}

uint64_t xm_cache_live(const struct xmem_heap *h, int cls)
{
	uint64_t a = 0, f = 0;
	int id = xm_heap_idx(h);
	uint64_t serial = xm_heap_serial(h);
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&xm_st.lcores[i].lc[id],
							    memory_order_acquire);
		/* Acquire: counters reset before this serial was set. */
		if (lc && atomic_load_explicit(&lc->serial,
					       memory_order_acquire) == serial) {
			a += atomic_load_explicit(&lc->cls[cls].allocs, memory_order_relaxed);
			f += atomic_load_explicit(&lc->cls[cls].frees, memory_order_relaxed);
		}
	}
	return a - f;   /* wraps when read mid-handoff; the caller clamps */
}

void xm_lcore_totals(struct xm_lcore *l, uint64_t *allocs, uint64_t *frees)
{
	uint64_t a = atomic_load_explicit(&l->gone_allocs, memory_order_relaxed);
	uint64_t f = atomic_load_explicit(&l->gone_frees, memory_order_relaxed);
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&l->lc[i],
							    memory_order_acquire);
		for (int c = 0; lc && c < XMEM_NUM_CLASSES; c++) {
			a += atomic_load_explicit(&lc->cls[c].allocs, memory_order_relaxed);
			f += atomic_load_explicit(&lc->cls[c].frees, memory_order_relaxed);
		}
	}
	*allocs = a;
	*frees = f;
}
