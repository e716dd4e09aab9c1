/* numa.h - the node of every page (move_pages in query mode), the per-node
 * byte counts regions keep, the CPU -> node table, and the generation that
 * tells the node-aware allocator (numa_alloc.c) its cached choice is stale.
 * Public API: include/xmem/xmem_numa.h. */
#ifndef XM_NUMA_H
#define XM_NUMA_H

#include <sched.h>

#include "xm_common.h"

/* Bytes per node of a range: what one scan found.  Plain: filled by one
 * thread, then copied into a region's atomic counts. */
struct xm_numa_bytes {
	size_t node[XMEM_NUMA_MAX_NODES];
	size_t unknown;  /* not resident, or on a node >= XMEM_NUMA_MAX_NODES */
};

/* A region's counts.  Written under the control mutex (add, refresh),
 * read by anyone (stats, heap choice): relaxed atomics, each count a
 * statistic on its own; a reader racing a refresh may see a mix of the old
 * and the new scan, which the next generation check (xm_numa_gen) makes it
 * read again. */
struct xm_numa_counts {
	_Atomic size_t node[XMEM_NUMA_MAX_NODES];
	_Atomic size_t unknown;
};

/* Query the node of every page of [va, va + len), one move_pages entry per
 * page_size page, in batches; never faults a page in.  Without the system
 * call (ENOSYS, EPERM) every byte counts as unknown. */
void xm_numa_scan(uintptr_t va, size_t len, size_t page_size,
		  struct xm_numa_bytes *out);
void xm_numa_counts_set(struct xm_numa_counts *c, const struct xm_numa_bytes *b);
/* Add c's counts to b. */
void xm_numa_counts_add(const struct xm_numa_counts *c, struct xm_numa_bytes *b);
/* The node of b's resident bytes: a node, XMEM_NUMA_NODE_UNKNOWN (none) or
 * XMEM_NUMA_NODE_MIXED. */
int  xm_numa_node_of(const struct xm_numa_bytes *b);
/* The counts of every region of h added up (RCU read section inside). */
void xm_numa_heap_bytes(const struct xmem_heap *h, struct xm_numa_bytes *b);

/* Bumped (release) after every change that can change which heap serves a
 * node: heap create and destroy, memory added or removed, a default set,
 * a refresh.  Readers load it (acquire) before they look at heaps, so a
 * choice cached with generation g was made from a state no older than g. */
extern _Atomic uint64_t xm_numa_gen;
static inline void xm_numa_changed(void)
{
	atomic_fetch_add_explicit(&xm_numa_gen, 1, memory_order_release);
}

/* CPU -> node table, built once on first use (numa.c): published with
 * release after xm_cpu_node_n is written, read with acquire. */
extern const int16_t *_Atomic xm_cpu_node_tab;
extern int xm_cpu_node_n;
int xm_numa_cpu_node_slow(int cpu);

/* Node of a CPU (0 when the kernel has no NUMA, -1 for a CPU out of
 * range). */
static inline int xm_numa_cpu_node(int cpu)
{
	const int16_t *t = atomic_load_explicit(&xm_cpu_node_tab,
						memory_order_acquire);
	if (likely(t && (unsigned)cpu < (unsigned)xm_cpu_node_n))
		return t[cpu];
	return xm_numa_cpu_node_slow(cpu);
}

/* The CPU the calling thread runs on now.  With glibc's rseq area (2.35+,
 * registered by default) it is one load: the kernel rewrites cpu_id before
 * the thread returns to user space on another CPU, so a moved thread sees
 * its new CPU at once.  Otherwise sched_getcpu (the vDSO). */
static inline int xm_numa_cur_cpu(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35) && \
	(defined(__x86_64__) || defined(__aarch64__))
	extern const ptrdiff_t __rseq_offset;
	extern const unsigned int __rseq_size;
	if (likely(__rseq_size >= 8)) {
		/* struct rseq: cpu_id_start (u32), then cpu_id (s32; -1
		 * while unregistered). */
		int32_t c = *(volatile int32_t *)((char *)__builtin_thread_pointer() +
						  __rseq_offset + 4);
		if (likely(c >= 0))
			return c;
	}
#endif
	return sched_getcpu();
}

/* sysfs root for xmem_pci_numa_node and the VFIO device check ("/sys" by
 * default).  Tests point it at a fake tree; NULL restores "/sys". */
void xm_sysfs_root_set(const char *root);
const char *xm_sysfs_root(void);

#endif
