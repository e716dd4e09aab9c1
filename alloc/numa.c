/* numa.c - where pages are: move_pages queries over every page of a region,
 * the per-region and per-heap byte counts (xmem_heap_numa_node,
 * xmem_heap_numa_refresh), the CPU -> node table behind
 * xmem_lcore_numa_node, and the node of a PCI device from sysfs. */
#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap.h"
#include "numa.h"

_Atomic uint64_t xm_numa_gen = 1;   /* 0 is never current: see numa_alloc.c */

/* Entries per move_pages call: 16 KiB of arrays on the stack. */
#define XM_NUMA_BATCH 1024

void xm_numa_scan(uintptr_t va, size_t len, size_t page_size,
		  struct xm_numa_bytes *out)
{
	memset(out, 0, sizeof(*out));
	void *pages[XM_NUMA_BATCH];
	int status[XM_NUMA_BATCH];
	size_t n_pages = len / page_size;
	for (size_t p = 0; p < n_pages;) {
		unsigned n = n_pages - p < XM_NUMA_BATCH ? (unsigned)(n_pages - p)
							  : XM_NUMA_BATCH;
		for (unsigned i = 0; i < n; i++)
			pages[i] = (void *)(va + (p + i) * page_size);
		/* nodes == NULL: query only.  A page never touched reports
		 * -ENOENT, the shared zero page or PROT_NONE memory -EFAULT;
		 * none is faulted in. */
		if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL,
			    status, 0) != 0) {
			out->unknown += (size_t)n * page_size;
		} else {
			for (unsigned i = 0; i < n; i++)
				if (status[i] >= 0 && status[i] < XMEM_NUMA_MAX_NODES)
					out->node[status[i]] += page_size;
				else
					out->unknown += page_size;
		}
		p += n;
	}
}

void xm_numa_counts_set(struct xm_numa_counts *c, const struct xm_numa_bytes *b)
{
	for (int i = 0; i < XMEM_NUMA_MAX_NODES; i++)
		atomic_store_explicit(&c->node[i], b->node[i], memory_order_relaxed);
	atomic_store_explicit(&c->unknown, b->unknown, memory_order_relaxed);
}

void xm_numa_counts_add(const struct xm_numa_counts *c, struct xm_numa_bytes *b)
{
	for (int i = 0; i < XMEM_NUMA_MAX_NODES; i++)
		b->node[i] += atomic_load_explicit(&c->node[i], memory_order_relaxed);
	b->unknown += atomic_load_explicit(&c->unknown, memory_order_relaxed);
}

int xm_numa_node_of(const struct xm_numa_bytes *b)
{
	int node = XMEM_NUMA_NODE_UNKNOWN;
	for (int i = 0; i < XMEM_NUMA_MAX_NODES; i++) {
		if (!b->node[i])
			continue;
		if (node != XMEM_NUMA_NODE_UNKNOWN)
			return XMEM_NUMA_NODE_MIXED;
		node = i;
	}
	return node;
}

void xm_numa_heap_bytes(const struct xmem_heap *h, struct xm_numa_bytes *b)
{
	memset(b, 0, sizeof(*b));
	xm_rcu_read_lock();
	xm_for_each_region(r, h)
		xm_numa_counts_add(&r->numa, b);
	xm_rcu_read_unlock();
}

int xmem_heap_numa_node(const struct xmem_heap *heap)
{
	if (!xm_heap_live(heap)) {
		errno = EINVAL;
		return -1;
	}
	struct xm_numa_bytes b;
	xm_numa_heap_bytes(heap, &b);
	return xm_numa_node_of(&b);
}

int xmem_heap_numa_refresh(struct xmem_heap *heap)
{
	xm_ctl_lock();
	if (!xm_heap_live(heap)) {
		xm_ctl_unlock();
		errno = EINVAL;
		return -1;
	}
	/* The region list changes only under the control mutex: no RCU
	 * section needed to walk it here. */
	xm_for_each_region(r, heap) {
		struct xm_numa_bytes b;
		xm_numa_scan(r->va, r->len, (size_t)1 << r->page_shift, &b);
		xm_numa_counts_set(&r->numa, &b);
	}
	xm_numa_changed();
	xm_ctl_unlock();
	return 0;
}

/* ---- CPUs ---------------------------------------------------------------- */

/* cpu -> node, built once: the kernel does not move CPUs between nodes
 * (CPU hotplug aside, which this table does not follow). */
const int16_t *_Atomic xm_cpu_node_tab;
int xm_cpu_node_n;
static pthread_once_t xm_cpu_once = PTHREAD_ONCE_INIT;

static void xm_cpu_table(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	if (n < 1)
		n = 1;
	int16_t *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return;
	bool numa = numa_available() >= 0;
	for (long c = 0; c < n; c++) {
		int node = numa ? numa_node_of_cpu((int)c) : 0;
		t[c] = (int16_t)(node < 0 ? 0 : node);
	}
	xm_cpu_node_n = (int)n;
	atomic_store_explicit(&xm_cpu_node_tab, t, memory_order_release);
}

int xm_numa_cpu_node_slow(int cpu)
{
	pthread_once(&xm_cpu_once, xm_cpu_table);
	const int16_t *t = atomic_load_explicit(&xm_cpu_node_tab,
						memory_order_acquire);
	if (!t || cpu < 0 || cpu >= xm_cpu_node_n)
		return -1;
	return t[cpu];
}

int xmem_lcore_numa_node(void)
{
	int node = xm_numa_cpu_node(xm_numa_cur_cpu());
	if (node < 0)
		errno = ENOENT;
	return node;
}

/* ---- devices --------------------------------------------------------------- */

/* Set by tests only, before any reader runs; plain. */
static const char *xm_sysfs = "/sys";

void xm_sysfs_root_set(const char *root)
{
	xm_sysfs = root ? root : "/sys";
}

const char *xm_sysfs_root(void)
{
	return xm_sysfs;
}

int xmem_pci_numa_node(const char *bdf)
{
	if (!bdf || !bdf[0] || strnlen(bdf, 32) > 31 || strchr(bdf, '/')) {
		errno = EINVAL;
		return -1;
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node",
		 xm_sysfs_root(), bdf);
	FILE *f = fopen(path, "re");
	if (!f) {
		errno = ENOENT;
		return -1;
	}
	int node = XMEM_NUMA_NODE_UNKNOWN;
	if (fscanf(f, "%d", &node) != 1 || node < 0)
		node = XMEM_NUMA_NODE_UNKNOWN;
	fclose(f);
	return node;
}
