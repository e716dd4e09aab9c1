/* numa_cost.c - the figures of docs/numa.md: what reading every page's
 * node costs (xmem_heap_numa_refresh over 1 GiB of 4 KiB pages, touched
 * and untouched, and over 2 MiB hugepages when some are free), and what
 * allocating by node costs (xmem_alloc_bulk_node(XMEM_NUMA_LOCAL) against
 * xmem_alloc_bulk on one heap, alternated, best of 15).
 *
 *   bazel run //bench/numa:numa_cost [-- HUGEPAGES]   (2 MiB pages to use) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xmem/xmem.h>

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void refresh_cost(const char *what, size_t len, size_t ps, int touch)
{
	int fl = MAP_PRIVATE | MAP_ANONYMOUS | (ps > 4096 ? MAP_HUGETLB : 0);
	char *va = mmap(NULL, len, PROT_READ | PROT_WRITE, fl, -1, 0);
	if (va == MAP_FAILED) {
		printf("%-14s: mmap failed, not measured\n", what);
		return;
	}
	if (touch)
		memset(va, 1, len);
	struct xmem_heap *h = xmem_heap_create(what);
	double t = now_us();
	if (!h || xmem_heap_add_memory(h, va, len, NULL, 0, ps)) {
		printf("%-14s: add failed\n", what);
		munmap(va, len);
		return;
	}
	double add = now_us() - t, best = 1e300;
	for (int i = 0; i < 5; i++) {
		t = now_us();
		xmem_heap_numa_refresh(h);
		t = now_us() - t;
		best = t < best ? t : best;
	}
	printf("%-14s %6zu MiB: add %.0f us, refresh %.0f us = %.0f us per GiB (%.1f ns per page)\n",
	       what, len >> 20, add, best, best / ((double)len / (1 << 30)),
	       best * 1e3 / (double)(len / ps));
	xmem_heap_remove_memory(h, va, len);
	xmem_heap_destroy(h);
	munmap(va, len);
}

static void alloc_cost(void)
{
	size_t len = 64u << 20;
	int node = xmem_lcore_numa_node();
	void *va = xmem_numa_map(len, 4096, node < 0 ? 0 : node);
	struct xmem_heap *h = xmem_heap_create("numa_cost");
	if (!va || !h || xmem_heap_add_memory(h, va, len, NULL, 0, 4096)) {
		printf("alloc: no heap on the local node\n");
		return;
	}
	xmem_heap_set_node_default(node, h);
	void *o[32];
	double best[3] = {1e300, 1e300, 1e300};
	const int n = 200000;
	for (int rep = 0; rep < 15; rep++) {
		double t = now_us();
		for (int i = 0; i < n; i++) {
			xmem_alloc_bulk(h, 2048, o, 32);
			__asm__ volatile("" : : "g"(o) : "memory");
			xmem_free_bulk(o, 32);
		}
		t = (now_us() - t) * 1e3 / n / 32;
		best[0] = t < best[0] ? t : best[0];
		t = now_us();
		for (int i = 0; i < n; i++) {
			xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, 2048, o, 32);
			__asm__ volatile("" : : "g"(o) : "memory");
			xmem_free_bulk(o, 32);
		}
		t = (now_us() - t) * 1e3 / n / 32;
		best[1] = t < best[1] ? t : best[1];
		long s = 0;
		t = now_us();
		for (int i = 0; i < n * 10; i++)
			s += xmem_lcore_numa_node();
		__asm__ volatile("" : : "g"(s));
		t = (now_us() - t) * 1e3 / n / 10;
		best[2] = t < best[2] ? t : best[2];
	}
	printf("alloc: xmem_alloc_bulk %.3f ns/object, xmem_alloc_bulk_node(XMEM_NUMA_LOCAL) %.3f "
	       "ns/object: ratio %.3fx (%+.2f ns per burst of 32); xmem_lcore_numa_node %.2f ns\n",
	       best[0], best[1], best[1] / best[0], (best[1] - best[0]) * 32, best[2]);
	xmem_heap_set_node_default(node, NULL);
	xmem_heap_remove_memory(h, va, len);
	xmem_heap_destroy(h);
	xmem_numa_unmap(va, len);
}

int main(int argc, char **argv)
{
	size_t hp = argc > 1 ? (size_t)atol(argv[1]) : 0;
	xmem_thread_register();
	if (!getenv("XMEM_NUMA_COST_ALLOC_ONLY")) {
		refresh_cost("4K touched", (size_t)1 << 30, 4096, 1);
		refresh_cost("4K untouched", (size_t)1 << 30, 4096, 0);
		if (hp)
			refresh_cost("2M touched", hp << 21, (size_t)2 << 20, 1);
	}
	alloc_cost();
	return 0;
}
