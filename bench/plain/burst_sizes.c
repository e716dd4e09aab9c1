/* burst_sizes.c - xmem against rte_mempool in the plain loop of
 * plain_burst.c (allocate a burst of 2 KiB objects, free it), for bursts of
 * 1, 4, 8, 16, 32 and 64: how the ratio moves with the burst size.  Built
 * the same way, `cc -O2 $(pkg-config --cflags --libs xmem libdpdk)` against
 * xmem as scripts/install.sh installs it; scripts/bench.sh builds and runs
 * it and hands its figures to the benchmark's table.
 *
 * Each size is a constant in a loop of its own, as a program that allocates
 * bursts of that size is written: the two peers' loops below are always
 * inlined into one function per size.  The sizes run in interleaved rounds,
 * rte_mempool and xmem in turn (which goes first alternates), and each
 * round frees ITEMS objects whatever the size.  A program of its own, so
 * that its code does not move plain_burst.c's loops (their placement moves
 * rte_mempool's figure by several per cent, docs/benchmarks.md).
 *
 *   burst_sizes [--quick] [--rounds=N] [--out=FILE]
 * FILE gets "size_<n>_mempool_median", "size_<n>_xmem_median" and
 * "size_<n>_ratio" lines (ns/object; xmem / rte_mempool). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <xmem/xmem.h>

#include "plain.h"

#define OBJ_SIZE   2048
#define MAX_ROUNDS 51
#define MAX_BURST  64

static const unsigned sizes[] = {1, 4, 8, 16, 32, 64};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* One function per size and peer (xmem: 1, rte_mempool: 0), so that each
 * loop is compiled with its burst size as a constant. */
#define SIZE_FN(B)                                                              \
	static __attribute__((noinline)) double round_##B(int xm, struct rte_mempool *mp, \
							  struct xmem_heap *h, long objs) \
	{                                                                       \
		void *o[B];                                                     \
		long iters = objs / (B);                                        \
		return xm ? xmem_burst_ns(h, OBJ_SIZE, o, B, iters) :           \
			    mempool_burst_ns(mp, o, B, iters);                   \
	}
SIZE_FN(1)
SIZE_FN(4)
SIZE_FN(8)
SIZE_FN(16)
SIZE_FN(32)
SIZE_FN(64)

typedef double round_fn(int xm, struct rte_mempool *mp, struct xmem_heap *h, long objs);
static round_fn *const rounds_of[N_SIZES] = {round_1, round_4, round_8, round_16,
					     round_32, round_64};

int main(int argc, char **argv)
{
	int quick = 0, rounds = 11;
	const char *out = NULL;
	if (plain_options(argc, argv, 3, MAX_ROUNDS, &quick, &rounds, &out) != 0)
		return 2;
	long objs = quick ? 320000 : 3200000;   /* freed per round and peer */
	if (plain_eal_init("burst_sizes") != 0)
		return 1;
	struct rte_mempool *mp = rte_mempool_create("sizes", 16383, OBJ_SIZE, 256, 0, NULL,
						    NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	size_t len = (size_t)64 << 20;
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct xmem_heap *h = xmem_heap_create("sizes");
	if (mp == NULL || va == MAP_FAILED || h == NULL ||
	    xmem_heap_add_memory(h, va, len, NULL, 0, 4096) != 0) {
		fprintf(stderr, "setup: %s\n", mp == NULL ? rte_strerror(rte_errno) :
			strerror(errno));
		return 1;
	}
	static double mp_ns[N_SIZES][MAX_ROUNDS], xm_ns[N_SIZES][MAX_ROUNDS];
	for (size_t s = 0; s < N_SIZES; s++)   /* warm both */
		if (rounds_of[s](0, mp, h, objs / 4) < 0 || rounds_of[s](1, mp, h, objs / 4) < 0) {
			fprintf(stderr, "warm-up allocation failed (burst of %u)\n", sizes[s]);
			return 1;
		}
	for (int r = 0; r < rounds; r++)
		for (size_t s = 0; s < N_SIZES; s++) {
			int first = (int)((r + s) % 2);   /* who goes first alternates */
			double a = rounds_of[s](first, mp, h, objs);
			double b = rounds_of[s](!first, mp, h, objs);
			if (a < 0 || b < 0) {
				fprintf(stderr, "allocation failed (burst of %u)\n", sizes[s]);
				return 1;
			}
			xm_ns[s][r] = first ? a : b;
			mp_ns[s][r] = first ? b : a;
		}
	printf("plain loop by burst size (cc -O2, public header, libxmem.so; %d interleaved "
	       "rounds of %ld objects of 2 KiB per size and peer):\n", rounds, objs);
	printf("  %6s  %22s  %15s  %20s\n", "burst", "rte_mempool ns/object", "xmem ns/object",
	       "xmem / rte_mempool");
	FILE *o = NULL;
	if (out != NULL && (o = fopen(out, "w")) == NULL) {
		fprintf(stderr, "%s: %s\n", out, strerror(errno));
		return 1;
	}
	for (size_t s = 0; s < N_SIZES; s++) {
		double m = median(mp_ns[s], rounds), x = median(xm_ns[s], rounds);
		printf("  %6u  %22.3f  %15.3f  %19.2fx\n", sizes[s], m, x, x / m);
		if (o != NULL)
			fprintf(o, "size_%u_mempool_median %.4f\nsize_%u_xmem_median %.4f\n"
				"size_%u_ratio %.4f\n", sizes[s], m, sizes[s], x, sizes[s], x / m);
	}
	if (o != NULL)
		fclose(o);
	return 0;
}
