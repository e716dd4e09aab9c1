/* cache.c - the slow parts of the per-lcore caches: creation, refill from
 * the depot or spans, flush to the depot, thread-exit flush, and draining
 * (see cache.h for the owner/drainer handshake). */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cache.h"
#include "meta.h"

int xm_membarrier_ok;
_Atomic int xm_checked_on;

static int xm_membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

__attribute__((constructor)) static void xm_cache_init(void)
{
	/* XMEM_NO_MEMBARRIER=1 forces the fence-free fallback (for tests). */
	const char *nm = getenv("XMEM_NO_MEMBARRIER");
	xm_membarrier_ok = !(nm && nm[0] == '1') &&
		xm_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
	const char *e = getenv("XMEM_CHECKED");
	if (e && e[0] == '1')
		atomic_store(&xm_checked_on, 1);
}

/* The drainer's half of the asymmetric fence.  Without membarrier the
 * owners use seq_cst operations, which pair with the drainer's seq_cst
 * fetch_or of stop and seq_cst loads of busy: nothing more is needed. */
static void xm_fence_all_threads(void)
{
	if (xm_membarrier_ok)
		xm_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
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

static void xm_lcache_free(struct xm_lcache *lc)
{
	xm_meta_free(lc->block, xm_lcache_bytes());
}

struct xm_lcache *xm_lcache_create(struct xmem_heap *h, struct xm_lcore *l)
{
	char *block = xm_meta_zalloc(xm_lcache_bytes());
	if (!block)
		return NULL;
	struct xm_lcache *lc = (struct xm_lcache *)
		(block + (size_t)(l->id % XM_LC_COLOURS) * XM_LC_COLOUR);
	lc->block = block;
	lc->serial = h->serial;
	lc->heap = h;
	void **slot = lc->store;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		lc->cls[c].cap = 2u * xm_class_mag[c];
		lc->cls[c].objs = slot;
		slot += lc->cls[c].cap;
	}
	struct xm_lcache *old = atomic_load_explicit(&l->lc[h->id],
						     memory_order_relaxed);
	/* seq_cst store then load, against xmem_set_checked's store of the
	 * flag then scan of the slots: one of the two sees the other. */
	atomic_store(&l->lc[h->id], lc);
	if (atomic_load(&xm_checked_on))
		atomic_fetch_or(&lc->stop, XM_STOP_CHECKED);
	/* A cache left by a destroyed heap that had this id. */
	if (old)
		xm_lcache_free(old);
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
		m->n = 0;
		xm_stack_push(&h->empties, m);
	}
	if (k->n >= need)
		return true;
	/* From spans: at least a magazine's worth, to amortise the lock. */
	unsigned want = need - k->n;
	if (want < mag)
		want = mag;
	if (want > k->cap - k->n)
		want = k->cap - k->n;
	pthread_mutex_lock(&h->lock);
	k->n += xm_span_fill(h, cls, &k->objs[k->n], want);
	pthread_mutex_unlock(&h->lock);
	return k->n >= need;
}

static void xm_cache_flush_n(struct xm_lcache *lc, int cls, unsigned n)
{
	struct xmem_heap *h = lc->heap;
	struct xm_cache *k = &lc->cls[cls];
	struct xm_mag *m = xm_mag_get(&h->empties);
	k->n -= n;
	if (likely(m)) {
		memcpy(m->objs, &k->objs[k->n], n * sizeof(void *));
		m->n = n;
		xm_stack_push(&h->depot[cls], m);
	} else {
		/* No memory for a magazine: straight back to the spans. */
		pthread_mutex_lock(&h->lock);
		xm_span_put(h, &k->objs[k->n], n);
		pthread_mutex_unlock(&h->lock);
	}
}

void xm_cache_flush(struct xm_lcache *lc, int cls)
{
	xm_cache_flush_n(lc, cls, xm_class_mag[cls]);
}

void xm_cache_flush_lcore(struct xm_lcore *l)
{
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&l->lc[i],
							    memory_order_acquire);
		struct xmem_heap *h = lc ? lc->heap : NULL;
		if (!lc || !xm_heap_live(h) || h->serial != lc->serial)
			continue;
		if (!xm_lc_enter(lc))
			continue;   /* a drainer is taking them anyway */
		for (int c = 0; c < XMEM_NUM_CLASSES; c++)
			while (lc->cls[c].n) {
				unsigned n = lc->cls[c].n, mag = xm_class_mag[c];
				xm_cache_flush_n(lc, c, n < mag ? n : mag);
			}
		xm_lc_exit(lc);
	}
}

static uint64_t xm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How long a drainer waits for an owner that is inside its cache.  An owner
 * is there for one burst (tens of ns); one that stays longer is stalled
 * (descheduled, stopped in a debugger, frozen by a signal) and its cache is
 * skipped rather than waited for, so no drainer depends on it. */
#define XM_DRAIN_WAIT_NS 2000000u

size_t xm_heap_drain(struct xmem_heap *h)
{
	struct xm_lcache *lcs[XMEM_MAX_LCORES];
	unsigned n = 0;
	size_t moved = 0;

	pthread_mutex_lock(&h->drain_lock);
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		struct xm_lcache *lc = atomic_load(&xm_lcores[i].lc[h->id]);
		if (lc && lc->serial == h->serial) {
			atomic_fetch_or(&lc->stop, XM_STOP_DRAIN);
			lcs[n++] = lc;
		}
	}
	xm_fence_all_threads();
	uint64_t deadline = xm_now_ns() + XM_DRAIN_WAIT_NS;
	for (unsigned i = 0; i < n; i++) {
		while (atomic_load(&lcs[i]->busy)) {   /* seq_cst, see above */
			if (xm_now_ns() > deadline) {
				/* Stalled owner: leave its cache alone. */
				atomic_fetch_and(&lcs[i]->stop, ~XM_STOP_DRAIN);
				lcs[i--] = lcs[--n];
				break;
			}
			sched_yield();
		}
	}

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < n; i++)
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			struct xm_cache *k = &lcs[i]->cls[c];
			xm_span_put(h, k->objs, k->n);
			moved += k->n;
			k->n = 0;
		}
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		struct xm_mag *m;
		while ((m = xm_stack_pop(&h->depot[c]))) {
			xm_span_put(h, m->objs, m->n);
			moved += m->n;
			m->n = 0;
			xm_stack_push(&h->empties, m);
		}
	}
	pthread_mutex_unlock(&h->lock);

	/* Release: the owner's next section sees the emptied arrays. */
	for (unsigned i = 0; i < n; i++)
		atomic_fetch_and_explicit(&lcs[i]->stop, ~XM_STOP_DRAIN,
					  memory_order_release);
	pthread_mutex_unlock(&h->drain_lock);
	return moved;
}

void xm_heap_free_caches(struct xmem_heap *h)
{
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		struct xm_lcache *lc = atomic_load(&xm_lcores[i].lc[h->id]);
		if (lc && lc->serial == h->serial) {
			atomic_store(&xm_lcores[i].lc[h->id], NULL);
			xm_lcache_free(lc);
		}
	}
	struct xm_mag *m;
	while ((m = xm_stack_pop(&h->empties)))
		xm_meta_free(m, sizeof(*m));
}

uint64_t xm_cache_live(const struct xmem_heap *h, int cls)
{
	uint64_t a = 0, f = 0;
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&xm_lcores[i].lc[h->id],
							    memory_order_acquire);
		if (lc && lc->serial == h->serial) {
			a += atomic_load_explicit(&lc->allocs[cls], memory_order_relaxed);
			f += atomic_load_explicit(&lc->frees[cls], memory_order_relaxed);
		}
	}
	return a - f;   /* wraps when read mid-handoff; the caller clamps */
}

void xm_heap_trim_lock(struct xmem_heap *h)
{
	xm_heap_drain(h);
	pthread_mutex_lock(&h->lock);
	xm_heap_release_empty(h);
}

int xmem_heap_trim(struct xmem_heap *h)
{
	if (!xm_heap_live(h)) {
		errno = EINVAL;
		return -1;
	}
	xm_heap_trim_lock(h);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int xmem_set_checked(int on)
{
	int old = atomic_exchange(&xm_checked_on, on ? 1 : 0);
	xm_ctl_lock();
	for (int id = 0; id < XMEM_MAX_HEAPS; id++) {
		struct xmem_heap *h = xm_heaps[id];
		if (!h)
			continue;
		for (int i = 0; i < XMEM_MAX_LCORES; i++) {
			struct xm_lcache *lc = atomic_load(&xm_lcores[i].lc[id]);
			if (!lc || lc->serial != h->serial)
				continue;
			if (on)
				atomic_fetch_or(&lc->stop, XM_STOP_CHECKED);
			else
				atomic_fetch_and(&lc->stop, ~XM_STOP_CHECKED);
		}
		/* Objects cached before the switch go back to spans, where the
		 * locked path can tell free from live. */
		if (on)
			xm_heap_drain(h);
	}
	xm_ctl_unlock();
	return old;
}

int xmem_checked(void)
{
	return atomic_load_explicit(&xm_checked_on, memory_order_relaxed);
}
