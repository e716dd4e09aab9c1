/* hist.h - the latency histogram and clock every timed-burst measurement of
 * the benchmark shares (bench/latency.c for xmem under control-plane load,
 * the per-peer loops of bench/loops.h for the tail of every peer).
 *
 * Log-linear: 64 buckets per power of two, so a percentile read from it is
 * within 1.6 % of the true sample; the maximum is kept exactly.  Values are
 * clock ticks (rdtscp on x86, else nanoseconds); xb_hist_pcts converts with
 * the rate measured over the run. */
#ifndef XB_HIST_H
#define XB_HIST_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define XB_CLOCK_NAME "rdtscp"
static inline uint64_t xb_ticks(void)
{
	unsigned aux;
	return __rdtscp(&aux);
}
#else
#define XB_CLOCK_NAME "clock_gettime"
static inline uint64_t xb_ticks(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

#define XB_HIST_SUB_BITS 6
#define XB_HIST_SUB      (1u << XB_HIST_SUB_BITS)
#define XB_HIST_BUCKETS  ((64 - XB_HIST_SUB_BITS + 1) * XB_HIST_SUB)

/* The percentiles every table reports. */
enum { XB_P50, XB_P99, XB_P999, XB_P9999, XB_PMAX, XB_NPCT };
extern const char *const xb_pct_name[XB_NPCT];   /* "p50" .. "max" */
extern const double xb_pct_q[XB_NPCT];           /* 0.5 .. 1 */

struct xb_hist {
	uint64_t n;                       /* samples */
	uint64_t max;                     /* exact */
	uint64_t sum;                     /* of every sample: the mean */
	uint64_t count[XB_HIST_BUCKETS];
};

static inline unsigned xb_hist_bucket(uint64_t v)
{
	if (v < XB_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);   /* >= SUB_BITS */
	return (e - XB_HIST_SUB_BITS + 1) * XB_HIST_SUB +
	       (unsigned)((v >> (e - XB_HIST_SUB_BITS)) & (XB_HIST_SUB - 1));
}

static inline void xb_hist_add(struct xb_hist *h, uint64_t v)
{
	h->count[xb_hist_bucket(v)]++;
	h->sum += v;
	h->max = v > h->max ? v : h->max;
	h->n++;
}

/* Nearest-rank percentiles of h in ticks (ticks[]) and ns (ns[], at
 * ticks_per_ns); all zero when h is empty. */
void xb_hist_pcts(const struct xb_hist *h, double ticks_per_ns,
		  uint64_t ticks[XB_NPCT], double ns[XB_NPCT]);

/* Ticks per ns over an interval timed with both clocks. */
double xb_ticks_per_ns(uint64_t tk0, uint64_t tk1, uint64_t ns0, uint64_t ns1);
uint64_t xb_mono_ns(void);

#endif /* XB_HIST_H */
