/* tests/iommu/iommu_figures.c - prints the figures docs/iommu.md reports,
 * with the test backend standing in for the device:
 *  - map calls for 1 GiB of 4 KiB pages (PROT_NONE, nothing touched) with
 *    assigned IOVAs, with IOVA=VA, and with a caller's table of one run per
 *    page (DPDK's layout: 262,144) and of 1,001 runs;
 *  - device entries left after 1,000 regions added and removed in random
 *    order;
 *  - the time to add (and remove) a 1 GiB region with its mapping.
 * Run: bazel run -c opt //tests/iommu:iommu_figures */
#include "it.h"

#define GIB ((size_t)1 << 30)
#define PG  ((size_t)4096)

static struct xmem_dma_testdev *td;

static void add_remove(struct xmem_heap *h, char *va, const uint64_t *t, const char *what)
{
	size_t n = GIB / PG;
	uint64_t c0 = it_map_calls(td);
	double t0 = it_now();
	int rc = xmem_heap_add_memory(h, va, GIB, t, t ? n : 0, PG);
	double t1 = it_now();
	uint64_t calls = it_map_calls(td) - c0;
	int rc2 = xmem_heap_remove_memory(h, va, GIB);
	double t2 = it_now();
	printf("%-34s %8llu map calls   add %8.2f ms   remove %8.2f ms%s\n", what,
	       (unsigned long long)calls, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
	       rc || rc2 ? "   (FAILED)" : "");
}

int main(void)
{
	td = xmem_dma_testdev_create("figures", 0);
	struct xmem_heap *h = xmem_heap_create("figures");
	char *va = it_reserve(GIB, 2 << 20);
	if (!td || !h || !va) {
		perror("setup");
		return 1;
	}
	size_t n = GIB / PG;
	printf("1 GiB region of 4 KiB pages (%zu pages), test backend:\n", n);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	add_remove(h, va, NULL, "no IOVAs (nothing to map)");
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	add_remove(h, va, NULL, "assigned IOVAs");
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA);
	add_remove(h, va, NULL, "IOVA=VA");
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	uint64_t *t = malloc(n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = (1ULL << 36) + (uint64_t)i * PG + (i / (n / 1001 + 1)) * GIB;
	size_t runs = 1;
	for (size_t i = 1; i < n; i++)
		runs += t[i] != t[i - 1] + PG;
	char what[64];
	snprintf(what, sizeof(what), "caller's table, %zu runs", runs);
	add_remove(h, va, t, what);
	for (size_t i = 0; i < n; i++)
		t[i] = (1ULL << 36) + (uint64_t)(i ^ 1) * PG;
	add_remove(h, va, t, "caller's table, 262144 runs");
	printf("DPDK 22.11 for the same region: 262144 map calls (one per 4 KiB memseg)\n");
	free(t);

	/* 1,000 regions in random order. */
	enum { N = 1000 };
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	int order[N], live[N] = {0};
	for (int i = 0; i < N; i++)
		order[i] = i;
	srand(1);
	for (int i = N - 1; i > 0; i--) {
		int j = rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	uint64_t peak = 0;
	int fails = 0;
	for (int k = 0; k < N; k++) {
		int i = order[k];
		fails += xmem_heap_add_memory(h, va + (size_t)i * 16 * PG, (1 + i % 16) * PG, NULL,
					      0, PG) != 0;
		live[i] = 1;
		peak = it_entries(td) > peak ? it_entries(td) : peak;
	}
	for (int i = N - 1; i > 0; i--) {
		int j = rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (int k = 0; k < N; k++) {
		int i = order[k];
		fails += xmem_heap_remove_memory(h, va + (size_t)i * 16 * PG, (1 + i % 16) * PG) != 0;
	}
	printf("1000 regions added then removed in random order: peak %llu device entries, "
	       "%llu left (%d failed calls)\n",
	       (unsigned long long)peak, (unsigned long long)it_entries(td), fails);
	xmem_dma_testdev_destroy(td);
	xmem_heap_destroy(h);
	return 0;
}
