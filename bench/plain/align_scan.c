/* align_scan.c - how xmem's burst (32 x 2 KiB allocated, then freed) costs
 * depending on where the caller's pointer array lies: the array is moved
 * through every 16-byte offset of a page (and past its end), and each
 * offset is timed on its own.  Prints the median ns/object per offset
 * modulo 64, and the offsets more than 12 % slower than the median (an
 * array that straddles a page, or that aliases a hot line of the lcore
 * cache modulo 4 KiB).  A plain program against the installed library, as
 * bench/plain/plain_burst.c (docs/benchmarks.md, "The plain loop from one
 * process to the next"):
 *
 *   ./scripts/bench.sh            # installs the library, builds this too
 *   taskset -c 0 bench-results/plain/align_scan */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xmem/xmem.h>

#include "plain.h"

#define BURST    32
#define OBJ_SIZE 2048
#define OFFSETS  (4096 / 16 + BURST / 2)   /* every 16 bytes, past the page end */

/* ns per object of `iters` bursts through the array at o; -1 on failure. */
static double round_ns(struct xmem_heap *h, void **o, long iters)
{
	return xmem_burst_ns(h, OBJ_SIZE, o, BURST, iters);
}

/* The best of three rounds after a warm-up. */
static double best_ns(struct xmem_heap *h, void **o)
{
	double best = 1e9;
	if (round_ns(h, o, 2000) < 0)
		return -1;
	for (int r = 0; r < 3; r++) {
		double v = round_ns(h, o, 8000);
		if (v < 0)
			return -1;
		best = v < best ? v : best;
	}
	return best;
}

int main(void)
{
	static void *page[2 * 4096 / sizeof(void *)] __attribute__((aligned(4096)));
	static double v[OFFSETS], by_mod[4][OFFSETS];
	size_t len = (size_t)64 << 20;
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct xmem_heap *h = xmem_heap_create("align_scan");
	if (va == MAP_FAILED || h == NULL || xmem_heap_add_memory(h, va, len, NULL, 0, 4096) != 0) {
		fprintf(stderr, "align_scan: heap: %s\n", strerror(errno));
		return 1;
	}
	int n_mod[4] = {0};
	for (int i = 0; i < OFFSETS; i++) {
		v[i] = best_ns(h, (void **)((char *)page + i * 16));
		if (v[i] < 0) {
			fprintf(stderr, "align_scan: allocation failed\n");
			return 1;
		}
		by_mod[i % 4][n_mod[i % 4]++] = v[i];
	}
	for (int m = 0; m < 4; m++)
		printf("array at 64n + %2d: median %.3f ns/object over %d offsets\n", m * 16,
		       median(by_mod[m], n_mod[m]), n_mod[m]);
	double all[OFFSETS];
	memcpy(all, v, sizeof all);
	double med = median(all, OFFSETS);
	printf("median %.3f ns/object; offsets (bytes into the page) above 1.12x the median:", med);
	int slow = 0;
	for (int i = 0; i < OFFSETS; i++)
		if (v[i] > 1.12 * med) {
			printf(" %d (%.3f)", i * 16, v[i]);
			slow++;
		}
	printf("%s\n", slow ? "" : " none");
	return 0;
}
