/* mp_bench_dpdk.h - DPDK's rte_mempool as mp_bench's peer (mp_bench --dpdk). */
#ifndef MP_BENCH_DPDK_H
#define MP_BENCH_DPDK_H

#include <stddef.h>

/* Reserves hugepages, runs the primary and its secondaries, gives
 * everything back.  0: best[0] cross-process and best[1] in-process seconds
 * for n objects; -1: skipped, -2: failed (why says which and why). */
int mp_dpdk_run(const char *self, unsigned long n, int rounds, double best[2],
		char *why, size_t whylen);

/* The roles, entered from mp_bench's main with the arguments after the flag. */
int mp_dpdk_primary(const char *self, char **argv);
int mp_dpdk_secondary(const char *self, char **argv);

#endif
