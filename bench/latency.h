/* latency.h - per-burst latency of xmem's fast path, with and without a
 * control plane working on the same heap.  Shared by the benchmark's
 * latency workload (bench/w_latency.c) and tests/latency_test.c, which only
 * checks that the measurement works (never timings).
 *
 * One burst is xmem_alloc_bulk(heap, 2 KiB, objs, 32) + xmem_free_bulk(objs,
 * 32) on the calling thread, timed with rdtscp (clock_gettime elsewhere).
 * Times go into the histogram of bench/hist.h.
 *
 * Busy: a control thread, started by xmem_lat_run, calls xmem_heap_stats on
 * the heap at stats_hz, and every 1 / (2 * addrm_hz) s alternately adds and
 * removes a chunk of the same heap (so each of add and remove runs at
 * addrm_hz; a remove that finds a live block, EBUSY, is counted and retried
 * at the next turn).  It counts only what it did while bursts were timed. */
#ifndef XB_LATENCY_H
#define XB_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include "bench/hist.h"
#include "xmem/xmem.h"

#define XMEM_LAT_BURST    32
#define XMEM_LAT_OBJ_SIZE 2048

/* The percentiles are those of bench/hist.h, under this file's names. */
#define XMEM_LAT_P50      XB_P50
#define XMEM_LAT_P99      XB_P99
#define XMEM_LAT_P999     XB_P999
#define XMEM_LAT_P9999    XB_P9999
#define XMEM_LAT_MAX      XB_PMAX
#define XMEM_LAT_NPCT     XB_NPCT
#define xmem_lat_pct_name xb_pct_name
#define xmem_lat_pct_q    xb_pct_q

struct xmem_lat_opts {
	struct xmem_heap *heap;    /* the bursts' heap, memory already added */
	int       busy;            /* run the control thread */
	void     *chunk;           /* busy: the chunk it adds and removes (not added yet) */
	size_t    chunk_len;
	const uint64_t *chunk_iova;    /* chunk_len / 4 KiB entries, or NULL */
	unsigned  stats_hz;        /* 0: 1000 */
	unsigned  addrm_hz;        /* 0: 100 */
	uint64_t  min_bursts;      /* time at least this many bursts ... */
	double    min_seconds;     /* ... for at least this long ... */
	uint64_t  min_ctl_ops;     /* ... and (busy) until the control thread did
	                              at least this many stats, adds and removes */
	double    max_seconds;     /* stop anyway after this long (0: 60) */
	int       pin;             /* pin the caller to CPU 0, the control thread
	                              to CPU 1 (when there are two) */
};

struct xmem_lat_result {
	uint64_t bursts;           /* timed */
	uint64_t failed;           /* bursts whose allocation failed (not timed) */
	uint64_t samples;          /* values in the histogram (== bursts) */
	double   seconds;          /* wall time of the timed loop */
	double   ticks_per_ns;     /* the clock's rate, measured over the loop */
	const char *clock;         /* "rdtscp" or "clock_gettime" */
	uint64_t ticks[XMEM_LAT_NPCT];
	double   ns[XMEM_LAT_NPCT];
	/* The control thread, while bursts were timed. */
	uint64_t stats_ops, adds, removes;    /* calls that succeeded */
	uint64_t removes_busy;                /* removes refused with EBUSY */
	uint64_t ctl_errors;                  /* any other failure */
	int      chunk_left_added;            /* the chunk was still added at the end */
};

/* Run the measurement.  Returns 0, or -1 with errno (EINVAL: bad options;
 * ENOMEM; or a thread could not start). */
int xmem_lat_run(const struct xmem_lat_opts *o, struct xmem_lat_result *r);

#endif /* XB_LATENCY_H */
