/* plain.h - what the plain programs of bench/plain (plain_burst.c,
 * align_scan.c) share: a clock, an escape for the compiler, the median of
 * a set of rounds, and xmem's timed burst loop.  Header-only, so that each
 * still builds with one plain cc line. */
#ifndef XB_PLAIN_H
#define XB_PLAIN_H

#include <stdlib.h>
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

#endif
