/* plain.h - what the plain programs of bench/plain (plain_burst.c,
 * burst_sizes.c, align_scan.c) share: a clock, an escape for the compiler,
 * the median of a set of rounds, xmem's timed burst loop, and the options
 * of the timed programs.  Header-only, so that each still builds with one
 * plain cc line. */
#ifndef XB_PLAIN_H
#define XB_PLAIN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmem/xmem.h>

static inline double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The compiler must assume p's memory is read and written here. */
static inline void escape(void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}

/* v must be computed, but may stay in a register: the sum a timed loop
 * builds goes here, not to escape (with its address taken the sum lived
 * in memory, and each lookup waited for the last one's store -- about
 * 1 ns a step, more than xmem's lookup, less only when the CPU renamed the
 * stack slot: the "slow mode" of docs/benchmarks.md). */
static inline void keep(uint64_t v)
{
	__asm__ volatile("" : : "r"(v));
}

static inline int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v. */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per object of `iters` bursts of `burst` objects of `size` bytes,
 * allocated into o and freed; -1 when an allocation failed.  Always
 * inlined, so that burst and size are constants in the caller's loop. */
static inline __attribute__((always_inline)) double
xmem_burst_ns(struct xmem_heap *h, size_t size, void **o, unsigned burst, long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (xmem_alloc_bulk(h, size, o, burst) != 0)
			return -1;
		escape(o);
		xmem_free_bulk(o, burst);
	}
	return (now_ns() - t0) / (double)iters / burst;
}

/* The options of plain_burst and burst_sizes: [--quick] [--rounds=N]
 * [--out=FILE].  --quick sets *rounds to quick_rounds; rounds are kept
 * within 1 .. max_rounds.  0, or 2 after printing the usage line. */
static inline int plain_options(int argc, char **argv, int quick_rounds, int max_rounds,
				int *quick, int *rounds, const char **out)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			*quick = 1;
		else if (strncmp(argv[i], "--rounds=", 9) == 0)
			*rounds = atoi(argv[i] + 9);
		else if (strncmp(argv[i], "--out=", 6) == 0)
			*out = argv[i] + 6;
		else {
			fprintf(stderr, "usage: %s [--quick] [--rounds=N] [--out=FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (*quick)
		*rounds = quick_rounds;
	if (*rounds < 1 || *rounds > max_rounds)
		*rounds = *rounds < 1 ? 1 : max_rounds;
	return 0;
}

/* rte_mempool's side of the loop, as xmem_burst_ns; its get and put are
 * static inline in rte_mempool.h and compile into this loop.  Defined where
 * rte_mempool.h is included. */
#ifdef _RTE_MEMPOOL_H_
static inline __attribute__((always_inline)) double
mempool_burst_ns(struct rte_mempool *mp, void **o, unsigned burst, long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (rte_mempool_get_bulk(mp, o, burst) != 0)
			return -1;
		escape(o);
		rte_mempool_put_bulk(mp, o, burst);
	}
	return (now_ns() - t0) / (double)iters / burst;
}
#endif

/* DPDK's EAL as the timed programs start it: no hugepages, no PCI, no
 * shared config, one lcore.  Defined where rte_eal.h is included. */
#ifdef _RTE_EAL_H_
#include <rte_errno.h>
static inline int plain_eal_init(const char *name)
{
	char *eal[] = {(char *)name, "--no-huge", "--no-pci", "--no-shconf",
		       "--no-telemetry", "-l", "0", "-m", "256",
		       "--log-level=lib.eal:error", NULL};
	if (rte_eal_init(10, eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}
#endif

#endif
