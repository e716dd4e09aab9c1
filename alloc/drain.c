/* drain.c - taking free objects out of other lcores' caches and the depot
 * and back into spans, one cache at a time (cache.h has the handshake), and
 * the control-plane calls built on it: xmem_heap_trim, xmem_set_checked,
 * and the reclaim an allocation tries once when memory runs out.
 *
 * Nothing here sends an allocating thread to a lock or makes it wait: while
 * its cache is held (microseconds), the owner takes the cacheless path.
 * The drainer waits for an owner that is inside its cache at most wait_ns
 * and then leaves that cache alone (a stalled owner keeps its objects). */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "pagemap.h"
#include "shared.h"

/* The drainer's half of the asymmetric fence.  Without membarrier the
 * owners use seq_cst operations, which pair with the drainer's seq_cst
 * fetch_or of stop and seq_cst loads of busy: nothing more is needed. */
static void xm_fence_all_threads(void)
{
	/* In a domain, owners in other members too: every member registered
	 * for the global command (shared.c). */
	if (xm_membarrier_ok)
		syscall(__NR_membarrier, xm_dom ? MEMBARRIER_CMD_GLOBAL_EXPEDITED :
			MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

static uint64_t xm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Take cache lc of the heap with this serial away from its owner: true
 * when the caller now holds it (release with xm_lc_release).  False when
 * another drainer holds it, it serves another heap, or its owner stayed
 * inside longer than wait_ns. */
static bool xm_lc_seize(struct xm_lcache *lc, uint64_t serial, uint64_t wait_ns)
{
	if (atomic_fetch_or(&lc->stop, XM_STOP_DRAIN) & XM_STOP_DRAIN)
		return false;
	xm_fence_all_threads();
	uint64_t deadline = 0;
	while (atomic_load(&lc->busy)) {   /* seq_cst, see above */
		uint64_t now = xm_now_ns();
		if (!deadline)
			deadline = now + wait_ns;
		if (now >= deadline) {
			atomic_fetch_and(&lc->stop, ~XM_STOP_DRAIN);
			return false;
		}
		sched_yield();
	}
	/* Acquire (the busy load above is seq_cst): every write of the
	 * owner's last section is visible.  The serial is checked once the
	 * cache is ours: the owner re-initialises only inside a section. */
	if (atomic_load_explicit(&lc->serial, memory_order_acquire) != serial) {
		atomic_fetch_and(&lc->stop, ~XM_STOP_DRAIN);
		return false;
	}
	return true;
}

/* Release: the owner's next section sees what the drainer did. */
static void xm_lc_release(struct xm_lcache *lc)
{
	atomic_fetch_and_explicit(&lc->stop, ~XM_STOP_DRAIN,
				  memory_order_release);
}

/* True when object p belongs to region r (NULL: any region). */
static bool xm_obj_in(const void *p, const struct xm_region *r)
{
	return !r || ((uintptr_t)p - r->va < r->len);
}

/* Move the objects of `only` (all with NULL) out of objs[0..*n) into
 * spans, keeping the others in order.  Returns how many moved. */
static size_t xm_sift_to_spans(void **objs, uint32_t *n,
			       const struct xm_region *only)
{
	uint32_t keep = 0, k = *n;
	void *batch[64];
	unsigned nb = 0;
	size_t moved = 0;
	for (uint32_t i = 0; i < k; i++) {
		if (!xm_obj_in(objs[i], only)) {
			objs[keep++] = objs[i];
			continue;
		}
		batch[nb++] = objs[i];
		if (nb == 64) {
			moved += xm_span_put(batch, nb, "xmem_free");
			nb = 0;
		}
	}
	moved += xm_span_put(batch, nb, "xmem_free");
	*n = keep;
	return moved;
}

/* The depot of class c: magazines popped, sifted, the rest pushed back. */
static size_t xm_drain_depot(struct xmem_heap *h, int c,
			     const struct xm_region *only)
{
	struct xm_mag *keep = NULL, *m;
	size_t moved = 0;
	while ((m = xm_stack_pop(&h->depot[c]))) {
		moved += xm_sift_to_spans(m->objs, &m->n, only);
		if (m->n == 0) {
			xm_mag_put(m);
			continue;
		}
		m->link.next = (ck_stack_entry_t *)keep;
		keep = m;
	}
	while ((m = keep)) {
		keep = (struct xm_mag *)m->link.next;
		xm_stack_push(&h->depot[c], m);
	}
	return moved;
}

size_t xm_heap_drain(struct xmem_heap *h, const struct xm_region *only,
		     uint64_t wait_ns)
{
	int id = xm_heap_idx(h);
	uint64_t serial = xm_heap_serial(h);
	size_t moved = 0;
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		struct xm_lcache *lc = atomic_load_explicit(&xm_st.lcores[i].lc[id],
							    memory_order_acquire);
		if (!lc || atomic_load_explicit(&lc->serial,
						memory_order_relaxed) != serial)
			continue;
		if (!xm_lc_seize(lc, serial, wait_ns))
			continue;
		for (int c = 0; c < XMEM_NUM_CLASSES; c++)
			moved += xm_sift_to_spans(lc->cls[c].objs, &lc->cls[c].n,
						  only);
		xm_lc_release(lc);
	}
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		moved += xm_drain_depot(h, c, only);
	return moved;
}

int xmem_heap_trim(struct xmem_heap *h)
{
	if (!xm_heap_live(h)) {
		errno = EINVAL;
		return -1;
	}
	xm_mutex_lock(&h->ctl_lock);
	xm_heap_drain(h, NULL, XM_STALL_WAIT_NS);
	xm_span_reclaim(h);
	pthread_mutex_unlock(&h->ctl_lock);
	xm_limbo_flush();
	return 0;
}

bool xm_heap_reclaim(struct xmem_heap *h)
{
	/* No waiting on the allocation path: a cache whose owner is inside
	 * right now is skipped. */
	size_t moved = xm_heap_drain(h, NULL, 0);
	return xm_span_reclaim(h) > 0 || moved > 0;
}

int xmem_set_checked(int on)
{
	int old = atomic_exchange(&xm_st.checked_on, on ? 1 : 0);
	xm_ctl_lock();
	for (int id = 0; id < XMEM_MAX_HEAPS; id++) {
		struct xmem_heap *h = xm_st.heaps[id];
		if (!h)
			continue;
		for (int i = 0; i < XMEM_MAX_LCORES; i++) {
			struct xm_lcache *lc = atomic_load(&xm_st.lcores[i].lc[id]);
			if (!lc || atomic_load(&lc->serial) != h->serial)
				continue;
			if (on)
				atomic_fetch_or(&lc->stop, XM_STOP_CHECKED);
			else
				atomic_fetch_and(&lc->stop, ~XM_STOP_CHECKED);
		}
		/* Objects cached before the switch go back to spans, where
		 * the checked paths can tell free from live. */
		if (on) {
			xm_mutex_lock(&h->ctl_lock);
			xm_heap_drain(h, NULL, XM_STALL_WAIT_NS);
			pthread_mutex_unlock(&h->ctl_lock);
		}
	}
	xm_ctl_unlock();
	return old;
}

int xmem_checked(void)
{
	return atomic_load_explicit(&xm_st.checked_on, memory_order_relaxed);
}
