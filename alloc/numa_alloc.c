/* numa_alloc.c - node-aware allocation: which heap serves a node (the
 * node's default, else the oldest heap all of whose resident memory is on
 * it), the per-thread cache of that choice, and xmem_alloc_node /
 * xmem_alloc_bulk_node on top of xmem_alloc / xmem_alloc_bulk. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "cache.h"
#include "heap.h"
#include "numa.h"
#include "vg.h"

/* Per-node defaults: the heap and its serial (a destroyed heap's
 * descriptor may come back as another heap).  Written under the control
 * mutex, read by the choosers: relaxed, a chooser re-checks the heap
 * (xm_heap_live, serial) and the generation orders it after the write. */
static struct xmem_heap *_Atomic xm_node_default[XMEM_NUMA_MAX_NODES];
static _Atomic uint64_t xm_node_default_serial[XMEM_NUMA_MAX_NODES];

/* The calling thread's choices, valid while gen == xm_numa_gen: per node,
 * the chosen heap's id + 1 (0: not chosen yet).  A thread is an lcore
 * here: the cache is per thread, like the lcore caches.  72 bytes of
 * initial-exec TLS (no __tls_get_addr call, even in libxmem.so). */
_Static_assert(XMEM_MAX_HEAPS < 256, "heap id + 1 must fit a byte");
struct xm_numa_tls {
	uint64_t gen;
	uint8_t heap[XMEM_NUMA_MAX_NODES];
};
static __thread struct xm_numa_tls xm_nt __attribute__((tls_model("initial-exec")));

/* The heap the rule of xmem_alloc_node picks for node, or NULL.  RCU read
 * section held. */
static struct xmem_heap *xm_numa_choose(int node)
{
	struct xm_numa_bytes b;
	struct xmem_heap *d = atomic_load_explicit(&xm_node_default[node],
						   memory_order_relaxed);
	if (d && xm_heap_live(d) &&
	    xm_heap_serial(d) == atomic_load_explicit(&xm_node_default_serial[node],
						      memory_order_relaxed)) {
		xm_numa_heap_bytes(d, &b);
		if (xm_numa_node_of(&b) == node)
			return d;
	}
	struct xmem_heap *best = NULL;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xmem_heap *h = xm_rcu_deref(xm_st.heaps[i]);
		if (!h || (best && xm_heap_serial(h) > xm_heap_serial(best)))
			continue;
		xm_numa_heap_bytes(h, &b);
		if (xm_numa_node_of(&b) == node)
			best = h;
	}
	return best;
}

static struct xmem_heap *xm_numa_pick_slow(int node, uint64_t gen)
{
	if (xm_nt.gen != gen) {
		memset(xm_nt.heap, 0, sizeof(xm_nt.heap));
		xm_nt.gen = gen;
	}
	xm_rcu_read_lock();
	struct xmem_heap *h = xm_numa_choose(node);
	xm_rcu_read_unlock();
	xm_nt.heap[node] = h ? (uint8_t)(xm_heap_idx(h) + 1) : 0;
	if (!h)
		errno = ENOENT;
	return h;
}

/* The heap for node (XMEM_NUMA_LOCAL resolved here), NULL with errno.
 * The fast path: the CPU from the rseq area and its node from the table
 * (XMEM_NUMA_LOCAL only), one acquire load of the generation, two TLS
 * loads, the heap table's slot. */
static inline struct xmem_heap *xm_numa_pick(int node)
{
	if (node == XMEM_NUMA_LOCAL) {
		node = xm_numa_cpu_node(xm_numa_cur_cpu());
		if (unlikely(node < 0)) {
			errno = ENOENT;
			return NULL;
		}
	}
	if (unlikely((unsigned)node >= XMEM_NUMA_MAX_NODES)) {
		errno = EINVAL;
		return NULL;
	}
	/* Acquire: pairs with xm_numa_changed, so a choice made after this
	 * load sees every change the generation counts. */
	uint64_t g = atomic_load_explicit(&xm_numa_gen, memory_order_acquire);
	unsigned id = xm_nt.heap[node];
	if (likely(xm_nt.gen == g && id)) {
		/* The slot still holds the chosen heap: replacing it bumps the
		 * generation (destroy, create), which g would show. */
		struct xmem_heap *h = xm_rcu_deref(xm_st.heaps[id - 1]);
		if (likely(h))
			return h;
	}
	return xm_numa_pick_slow(node, g);
}

/* Bad arguments are EINVAL whether or not a heap lives on the node. */
void *xmem_alloc_node(int node, size_t size, size_t align)
{
	if (unlikely(size == 0 || (align && !xm_is_pow2(align)))) {
		errno = EINVAL;
		return NULL;
	}
	struct xmem_heap *h = xm_numa_pick(node);
	return h ? xmem_alloc(h, size, align) : NULL;
}

int xmem_alloc_bulk_node(int node, size_t size, void **objs, unsigned n)
{
	if (unlikely(!objs || n == 0 || size == 0)) {
		errno = EINVAL;
		return -1;
	}
	struct xmem_heap *h = xm_numa_pick(node);
	if (unlikely(!h))
		return -1;
	/* Once the heap is chosen, xmem_alloc_bulk's own fast path, inline. */
	if (likely(xm_alloc_bulk_fast(h, size, objs, n))) {
		xm_vg_on_alloc(objs, n, size);
		return 0;
	}
	return xmem_alloc_bulk(h, size, objs, n);
}

int xmem_heap_set_node_default(int node, struct xmem_heap *heap)
{
	if ((unsigned)node >= XMEM_NUMA_MAX_NODES) {
		errno = EINVAL;
		return -1;
	}
	xm_ctl_lock();
	int rc = 0;
	if (heap && xmem_heap_numa_node(heap) != node) {   /* dead: -1 too */
		errno = EINVAL;
		rc = -1;
	} else {
		atomic_store_explicit(&xm_node_default_serial[node],
				      heap ? xm_heap_serial(heap) : 0,
				      memory_order_relaxed);
		atomic_store_explicit(&xm_node_default[node], heap,
				      memory_order_relaxed);
		xm_numa_changed();
	}
	xm_ctl_unlock();
	return rc;
}
