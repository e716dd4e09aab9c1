/* common.c - shared plumbing of the benchmark: the peer list, the memory
 * every DMA-heap peer gets (anonymous mmap, 4 KiB pages, IOVA table), the
 * clock, CPU pinning and a small PRNG. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

struct xb_peer *xb_peers[XB_N_PEERS] = {
	[XB_XMEM] = &xb_peer_xmem,
	[XB_RTE_MALLOC] = &xb_peer_rte_malloc,
	[XB_RTE_MEMPOOL] = &xb_peer_rte_mempool,
	[XB_RTE_MEMPOOL_STACK] = &xb_peer_rte_mempool_stack,
	[XB_GLIBC] = &xb_peer_glibc,
	[XB_JEMALLOC] = &xb_peer_jemalloc,
	[XB_MIMALLOC] = &xb_peer_mimalloc,
	[XB_XMEM_CHECKED] = &xb_peer_xmem_checked,
};

int xb_peer_in(const struct xb_peer *p, int pipeline)
{
	return p->ready && (pipeline || !p->pipeline_only);
}

void xb_peer_enter(const struct xb_peer *p)
{
	if (p->thread_enter != NULL)
		p->thread_enter();
}

void xb_peer_leave(const struct xb_peer *p)
{
	if (p->thread_leave != NULL)
		p->thread_leave();
}

/* prot_none: reserve only (MAP_NORESERVE, PROT_NONE), for translation and
 * metadata measurements where nothing touches the memory.  Otherwise the
 * memory is read-write and populated up front, so no peer pays page faults
 * inside a timed loop.  IOVAs: iova_base + 4 KiB * page, except that pages
 * inside each 2 MiB block are numbered backwards, so the table is not one
 * contiguous run (translation must really use it).  For iova_base 0 the
 * table is contiguous from 1 << 32. */
int xb_mem_map(struct xb_mem *m, size_t len, int prot_none, uint64_t iova_base)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	int prot = PROT_READ | PROT_WRITE;

	memset(m, 0, sizeof *m);
	if (prot_none) {
		prot = PROT_NONE;
		flags |= MAP_NORESERVE;
	} else {
		flags |= MAP_POPULATE;
	}
	/* Align to 2 MiB so runs of pages line up the same for every peer. */
	size_t slack = (size_t)2 << 20;
	void *raw = mmap(NULL, len + slack, prot, flags, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	uintptr_t a = ((uintptr_t)raw + slack - 1) & ~(uintptr_t)(slack - 1);
	if (a > (uintptr_t)raw)
		munmap(raw, a - (uintptr_t)raw);
	if ((uintptr_t)raw + len + slack > a + len)
		munmap((void *)(a + len), (uintptr_t)raw + len + slack - (a + len));
	m->va = (void *)a;
	m->len = len;
	m->n_pages = len / XB_PAGE;
	m->iova = malloc(m->n_pages * sizeof m->iova[0]);
	if (m->iova == NULL) {
		munmap(m->va, len);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < m->n_pages; i++) {
		if (iova_base == 0) {
			m->iova[i] = ((uint64_t)1 << 32) + i * XB_PAGE;
		} else {
			size_t blk = i / 512, in = i % 512;
			m->iova[i] = iova_base + (blk * 512 + (511 - in)) * XB_PAGE;
		}
	}
	return 0;
}

void xb_mem_unmap(struct xb_mem *m)
{
	if (m->va != NULL)
		munmap(m->va, m->len);
	free(m->iova);
	memset(m, 0, sizeof *m);
}

double xb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void xb_pin_self(int cpu, void *saved)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (saved != NULL)
		pthread_getaffinity_np(pthread_self(), sizeof(cpu_set_t), saved);
	if (n < 1)
		n = 1;
	CPU_ZERO(&set);
	CPU_SET(cpu % n, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

void xb_unpin_self(const void *saved)
{
	if (saved != NULL)
		pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), saved);
}

/* splitmix64 */
uint64_t xb_rand64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int xb_thread_list(int max, int even_only, int *out, int cap)
{
	int n = 0;
	if (max < 1)
		max = 1;
	if (even_only && max > 1 && (max & 1))
		max--;
	for (int t = 1; t < max && n < cap; t *= 2)
		out[n++] = t;
	if (n < cap)
		out[n++] = max;
	return n;
}

double xb_loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}
