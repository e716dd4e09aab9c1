/* tests/iommu/batching_test.c - map calls per region with the test backend:
 * 1 GiB of 4 KiB pages (PROT_NONE, nothing touched) takes 1 map call with
 * assigned IOVAs and with IOVA=VA, and exactly one per run with a caller's
 * table; runs are never merged across regions; removal unmaps exactly the
 * entries the region created; assigned IOVAs are what xmem_virt2iova returns
 * and make large allocations DMA-contiguous on scattered 4 KiB pages. */
#include "it.h"

#define GIB ((size_t)1 << 30)
#define PG  ((size_t)4096)

static struct xmem_dma_testdev *td;
static struct xmem_dma_subscriber *sub;

static uint64_t calls(void) { return it_map_calls(td); }

static void one_gib(void)
{
	struct xmem_heap *h = xmem_heap_create("gib");
	char *va = it_reserve(GIB, 2 << 20);
	CHECK(h && va);
	size_t n = GIB / PG;

	/* Assigned IOVAs: one contiguous extent, one call. */
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	uint64_t c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, GIB, NULL, 0, PG) == 0);
	CHECK(calls() - c0 == 1);
	CHECK(it_entries(td) == 1);
	uint64_t i0 = xmem_virt2iova(va);
	CHECK(i0 != XMEM_BAD_IOVA && i0 >= XMEM_DMA_DEFAULT_IOVA_START);
	CHECK(xmem_virt2iova(va + GIB - 1) == i0 + GIB - 1);
	CHECK(xmem_iova2virt(i0 + 12345) == va + 12345);
	struct xmem_dma_testdev_call cl;
	CHECK(xmem_dma_testdev_call(td, c0, &cl) == 0 && cl.op == 'M' &&
	      cl.va == va && cl.iova == i0 && cl.len == GIB);
	/* Any size is one DMA segment. */
	char *big = xmem_alloc(h, 64 << 20, 0);
	CHECK(big && xmem_virt2iova(big + (64 << 20) - 1) == xmem_virt2iova(big) + (64 << 20) - 1);
	xmem_free(big);
	CHECK(xmem_heap_remove_memory(h, va, GIB) == 0);
	CHECK(it_entries(td) == 0);

	/* IOVA = VA: one call. */
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA);
	c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, GIB, NULL, 0, PG) == 0);
	CHECK(calls() - c0 == 1);
	CHECK(xmem_virt2iova(va + 777) == (uint64_t)(uintptr_t)va + 777);
	CHECK(xmem_heap_remove_memory(h, va, GIB) == 0);
	CHECK(it_entries(td) == 0);

	/* A caller's table: exactly one call per run.  Pairs swapped: every
	 * page is a run (262,144: what DPDK issues for any layout). */
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	uint64_t *t = malloc(n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = ((uint64_t)1 << 36) + (uint64_t)(i ^ 1) * PG;
	c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, GIB, t, n, PG) == 0);
	CHECK(calls() - c0 == n);
	CHECK(it_entries(td) == n);
	struct xmem_dma_stats ds;
	CHECK(xmem_dma_get_stats(sub, &ds) == 0 && ds.entries == n && ds.owned == n);
	CHECK(xmem_heap_remove_memory(h, va, GIB) == 0);
	CHECK(it_entries(td) == 0);

	/* 1,000 breaks at random pages: 1,001 runs (fewer if two coincide). */
	char *brk = calloc(n, 1);
	srand(7);
	for (int k = 0; k < 1000; k++)
		brk[1 + (size_t)rand() % (n - 1)] = 1;
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		off += brk[i] ? 1ULL << 30 : 0; /* a jump at i */
		t[i] = ((uint64_t)1 << 36) + (uint64_t)i * PG + off;
	}
	free(brk);
	size_t runs = 1;
	for (size_t i = 1; i < n; i++)
		runs += t[i] != t[i - 1] + PG;
	c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, GIB, t, n, PG) == 0);
	CHECK(calls() - c0 == runs);
	printf("caller's table with %zu runs: %llu map calls\n", runs,
	       (unsigned long long)(calls() - c0));
	uint64_t u0;
	{
		struct xmem_dma_testdev_stats st;
		xmem_dma_testdev_get_stats(td, &st);
		u0 = st.unmap_calls;
	}
	CHECK(xmem_heap_remove_memory(h, va, GIB) == 0);
	{
		struct xmem_dma_testdev_stats st;
		xmem_dma_testdev_get_stats(td, &st);
		CHECK(st.unmap_calls - u0 == runs && st.unmap_short == 0);
	}
	CHECK(it_entries(td) == 0);
	free(t);
	CHECK(xmem_heap_destroy(h) == 0);
	munmap(va, GIB);
}

/* Two regions contiguous in both VA and IOVA: two entries, never one. */
static void no_merge(void)
{
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA);
	char *va = it_reserve(4 << 20, 2 << 20);
	uint64_t c0 = calls();
	CHECK(xmem_register(va, 2 << 20, NULL, 0, PG) == 0);
	CHECK(xmem_register(va + (2 << 20), 2 << 20, NULL, 0, PG) == 0);
	CHECK(calls() - c0 == 2 && it_entries(td) == 2);
	CHECK(xmem_unregister(va, 2 << 20) == 0);
	CHECK(it_entries(td) == 1);
	CHECK(xmem_unregister(va + (2 << 20), 2 << 20) == 0);
	CHECK(it_entries(td) == 0);
	munmap(va, 4 << 20);
}

/* Scattered 4 KiB pages: with a caller's scattered table an 8 KiB block
 * cannot be one DMA segment (ENOMEM); with assigned IOVAs 1 MiB is. */
static void scattered(void)
{
	struct xmem_heap *h = xmem_heap_create("scat");
	size_t len = 4 << 20, n = len / PG;
	char *va = it_reserve(len, PG);
	uint64_t *t = malloc(n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = ((uint64_t)1 << 37) + (uint64_t)((i * 7919) % n) * PG * 2;
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	uint64_t c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, len, t, n, PG) == 0);
	CHECK(calls() - c0 == n);
	errno = 0;
	CHECK(xmem_alloc(h, 8192, 0) == NULL && errno == ENOMEM);
	CHECK(xmem_heap_remove_memory(h, va, len) == 0);

	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	c0 = calls();
	CHECK(xmem_heap_add_memory(h, va, len, NULL, 0, PG) == 0);
	CHECK(calls() - c0 == 1);
	char *b = xmem_alloc(h, 1 << 20, 0);
	CHECK(b && xmem_virt2iova(b + (1 << 20) - 1) - xmem_virt2iova(b) == (1 << 20) - 1);
	xmem_free(b);
	CHECK(xmem_heap_remove_memory(h, va, len) == 0);
	CHECK(xmem_heap_destroy(h) == 0);
	free(t);
	munmap(va, len);
	CHECK(it_entries(td) == 0);
}

/* Hugepage-sized pages, assigned: extents aligned to the page size. */
static void big_pages(void)
{
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	size_t ps = 2 << 20;
	char *va = it_reserve(8 * ps, ps);
	char *va2 = it_reserve(PG, PG);
	CHECK(xmem_register(va2, PG, NULL, 0, PG) == 0); /* knocks alignment off */
	CHECK(xmem_register(va, 8 * ps, NULL, 0, ps) == 0);
	uint64_t i = xmem_virt2iova(va);
	CHECK(i != XMEM_BAD_IOVA && (i & (ps - 1)) == 0);
	CHECK(xmem_unregister(va, 8 * ps) == 0 && xmem_unregister(va2, PG) == 0);
	munmap(va, 8 * ps);
	munmap(va2, PG);
}

int main(void)
{
	td = xmem_dma_testdev_create("test0", 0);
	sub = xmem_dma_testdev_subscriber(td);
	CHECK(td && sub);
	one_gib();
	no_merge();
	scattered();
	big_pages();
	CHECK(xmem_dma_testdev_destroy(td) == 0);
	return it_done("batching_test");
}
