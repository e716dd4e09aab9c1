/* hist.c - percentiles of the latency histogram (hist.h). */
#include "bench/hist.h"

#include <string.h>

const char *const xb_pct_name[XB_NPCT] = {"p50", "p99", "p99.9", "p99.99", "max"};
const double xb_pct_q[XB_NPCT] = {0.5, 0.99, 0.999, 0.9999, 1.0};

/* The middle of bucket b. */
static uint64_t bucket_value(unsigned b)
{
	if (b < XB_HIST_SUB)
		return b;
	unsigned e = b / XB_HIST_SUB + XB_HIST_SUB_BITS - 1, sub = b % XB_HIST_SUB;
	uint64_t lo = (uint64_t)(XB_HIST_SUB + sub) << (e - XB_HIST_SUB_BITS);
	return lo + (((uint64_t)1 << (e - XB_HIST_SUB_BITS)) >> 1);
}

void xb_hist_pcts(const struct xb_hist *h, double ticks_per_ns,
		  uint64_t ticks[XB_NPCT], double ns[XB_NPCT])
{
	uint64_t seen = 0;
	unsigned b = 0;

	memset(ticks, 0, XB_NPCT * sizeof ticks[0]);
	memset(ns, 0, XB_NPCT * sizeof ns[0]);
	/* Nearest rank: the smallest value with at least q * n samples at or
	 * below it. */
	for (int k = 0; k < XB_NPCT && h->n; k++) {
		uint64_t rank = k == XB_PMAX ? h->n :
			(uint64_t)(xb_pct_q[k] * (double)h->n + 0.999999);
		if (rank < 1)
			rank = 1;
		while (b < XB_HIST_BUCKETS && seen + h->count[b] < rank)
			seen += h->count[b++];
		uint64_t v = k == XB_PMAX ? h->max : bucket_value(b);
		ticks[k] = v > h->max ? h->max : v;
		ns[k] = (double)ticks[k] / (ticks_per_ns > 0 ? ticks_per_ns : 1);
	}
}

uint64_t xb_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double xb_ticks_per_ns(uint64_t tk0, uint64_t tk1, uint64_t ns0, uint64_t ns1)
{
	return ns1 > ns0 ? (double)(tk1 - tk0) / (double)(ns1 - ns0) : 1;
}
