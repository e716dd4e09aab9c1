/* ring.h - the single-producer single-consumer pointer ring that the pipeline
 * hands bursts through.  Every peer goes through the same ring.  Indices are
 * free-running 32-bit counters; each side caches the other side's index and
 * reloads it only when the cached value says "full" or "empty". */
#ifndef XB_RING_H
#define XB_RING_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define XB_RING_SIZE 1024 /* entries, power of two: 32 bursts in flight */

struct xb_ring {
	_Alignas(64) _Atomic uint32_t head;  /* written by the producer */
	uint32_t tail_cache;                 /* producer's view of tail */
	_Alignas(64) _Atomic uint32_t tail;  /* written by the consumer */
	uint32_t head_cache;                 /* consumer's view of head */
	_Alignas(64) _Atomic int abort;      /* either side gave up */
	void *slot[XB_RING_SIZE];
};

static inline void xb_cpu_relax(unsigned *spins)
{
	if (++*spins < 4096) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else {
		*spins = 0;
		sched_yield(); /* more threads than CPUs: let the other side run */
	}
}

/* Push n pointers, waiting for room.  Returns 0, or -1 when aborted. */
static inline int xb_ring_push(struct xb_ring *r, void *const *objs, unsigned n)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned spins = 0;

	while (h - r->tail_cache + n > XB_RING_SIZE) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_cache + n <= XB_RING_SIZE)
			break;
		if (atomic_load_explicit(&r->abort, memory_order_relaxed))
			return -1;
		xb_cpu_relax(&spins);
	}
	for (unsigned i = 0; i < n; i++)
		r->slot[(h + i) & (XB_RING_SIZE - 1)] = objs[i];
	atomic_store_explicit(&r->head, h + n, memory_order_release);
	return 0;
}

/* Pop exactly n pointers, waiting for them.  Returns 0, or -1 when aborted
 * and fewer than n are there. */
static inline int xb_ring_pop(struct xb_ring *r, void **objs, unsigned n)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned spins = 0;

	while (r->head_cache - t < n) {
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		if (r->head_cache - t >= n)
			break;
		if (atomic_load_explicit(&r->abort, memory_order_acquire))
			return -1;
		xb_cpu_relax(&spins);
	}
	for (unsigned i = 0; i < n; i++)
		objs[i] = r->slot[(t + i) & (XB_RING_SIZE - 1)];
	atomic_store_explicit(&r->tail, t + n, memory_order_release);
	return 0;
}

/* Pop whatever is there (at most max).  Returns the count. */
static inline unsigned xb_ring_drain(struct xb_ring *r, void **objs, unsigned max)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	unsigned n = h - t < max ? h - t : max;

	for (unsigned i = 0; i < n; i++)
		objs[i] = r->slot[(t + i) & (XB_RING_SIZE - 1)];
	atomic_store_explicit(&r->tail, t + n, memory_order_release);
	r->head_cache = h;
	return n;
}

#endif /* XB_RING_H */
