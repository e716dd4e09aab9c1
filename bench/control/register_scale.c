/* register_scale.c - what one registration costs once many are there:
 * registers N regions of 2 MiB one after another (address space reserved
 * with MAP_NORESERVE and never touched), each with an IOVA table, prints the
 * time per xmem_register for each quarter of them, then the time per
 * xmem_unregister of all.  The table is one 2 MiB page (one IOVA run per
 * region) or 512 pages of 4 KiB in a shuffled IOVA order (512 runs), the two
 * ends of what the IOVA search table holds per region (docs/design.md,
 * "The registry and RCU").
 *
 *   register_scale [N] [2m|4k]      N regions (default 1000), page size
 *                                   (default 4k) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xmem/xmem.h>

#define REGION ((size_t)2 << 20)

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	const char *kind = argc > 2 ? argv[2] : "4k";
	size_t page = !strcmp(kind, "2m") ? REGION : !strcmp(kind, "4k") ? 4096 : 0;
	if (n < 4 || n > 100000 || page == 0) {
		fprintf(stderr, "usage: register_scale [N: 4 .. 100000] [2m|4k]\n");
		return 2;
	}
	size_t pages = REGION / page;
	char *raw = mmap(NULL, (size_t)n * REGION + REGION, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t *iova = malloc(pages * sizeof(*iova));
	if (raw == MAP_FAILED || iova == NULL) {
		fprintf(stderr, "register_scale: %s\n", strerror(errno));
		return 1;
	}
	char *va = (char *)(((uintptr_t)raw + REGION - 1) & ~(uintptr_t)(REGION - 1));
	printf("%ld regions of 2 MiB, %s pages (%zu IOVA runs each)\n", n, kind, pages);
	double t0 = now_us(), tq = t0;
	for (long i = 0; i < n; i++) {
		/* Page p of region i gets frame (p * 7) mod pages of the
		 * region's own 2 MiB of IOVA space: no two pages follow each
		 * other, so every page is a run of its own. */
		for (size_t p = 0; p < pages; p++)
			iova[p] = ((uint64_t)1 << 40) + ((uint64_t)i * pages + (p * 7) % pages) * page;
		if (xmem_register(va + (size_t)i * REGION, REGION, iova, pages, page) != 0) {
			fprintf(stderr, "xmem_register #%ld: %s\n", i, strerror(errno));
			return 1;
		}
		if ((i + 1) % (n / 4) == 0) {
			double t = now_us();
			printf("  regions %6ld: %9.1f us per xmem_register over the last %ld\n",
			       i + 1, (t - tq) / (double)(n / 4), n / 4);
			fflush(stdout);
			tq = t;
		}
	}
	double t1 = now_us();
	for (long i = 0; i < n; i++)
		if (xmem_unregister(va + (size_t)i * REGION, REGION) != 0) {
			fprintf(stderr, "xmem_unregister #%ld: %s\n", i, strerror(errno));
			return 1;
		}
	printf("  unregister all: %.1f us per xmem_unregister (register all: %.2f s)\n",
	       (now_us() - t1) / (double)n, (t1 - t0) / 1e6);
	return 0;
}
