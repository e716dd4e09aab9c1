/* tests/iommu/fault_test.c - fault injection with the test backend: after
 * every injected failure (DMA_AVAIL too small, ENOSPC / EEXIST / EFAULT in
 * the middle of a region, a failure on the second subscriber, a memory-event
 * veto, a short unmap during rollback) the add fails with that errno, and
 * the heap (xmem_heap_stats), the mapping registry and the devices' mapped
 * extents equal their state before the call.  Also: EEXIST on an identical
 * mapping is success (and is not unmapped on removal), on a conflicting one
 * an error; a short unmap on removal is detected and counted. */
#include "it.h"

#define PG ((size_t)4096)

static struct it_snap before, after;
static struct xmem_dma_testdev *t1, *t2;
static struct xmem_heap *h;
static char *va;
static size_t len = 64 * 4096, n = 64;
static uint64_t table[64];

/* A caller's table with 8 runs of 8 pages each. */
static void make_table(uint64_t base)
{
	for (size_t i = 0; i < n; i++)
		table[i] = base + (i / 8) * (1 << 20) + (i % 8) * PG;
}

static uint64_t ents(void) { return it_entries(t1) + it_entries(t2); }

/* Add must fail with e and change nothing. */
static void expect_rollback(const char *what, int e)
{
	uint64_t d0 = ents();
	it_snap(h, &before);
	errno = 0;
	int rc = xmem_heap_add_memory(h, va, len, table, n, PG);
	int got = errno;
	it_snap(h, &after);
	int ok = rc == -1 && got == e && it_snap_equal(&before, &after) && ents() == d0 &&
		 xmem_virt2iova(va) == XMEM_BAD_IOVA;
	printf("%-44s rc %d errno %-6s heap+registry equal %s, device entries %llu -> %llu: %s\n",
	       what, rc, got == e ? "ok" : strerror(got),
	       it_snap_equal(&before, &after) ? "yes" : "NO", (unsigned long long)d0,
	       (unsigned long long)ents(), ok ? "PASS" : "FAIL");
	CHECK(ok);
}

static int veto_next;
static int n_add, n_remove;
static int on_event(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)ctx;
	if (ev == XMEM_MEM_EVENT_ADD) {
		n_add++;
		if (veto_next) {
			veto_next = 0;
			errno = EPERM;
			return -1;
		}
		CHECK(r->va && r->len && r->page_size == PG && r->n_pages == r->len / PG);
	} else {
		n_remove++;
	}
	return 0;
}

int main(void)
{
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	h = xmem_heap_create("faults");
	va = it_reserve(len, PG);
	/* A region that stays, so the registry is not empty. */
	char *keep = it_reserve(16 * PG, PG);
	t1 = xmem_dma_testdev_create("t1", 0);
	t2 = xmem_dma_testdev_create("t2", 0);
	struct xmem_dma_subscriber *ev = xmem_mem_event_register("events", on_event, NULL);
	CHECK(t1 && t2 && ev && h && va && keep);
	uint64_t kt[16];
	for (int i = 0; i < 16; i++)
		kt[i] = (1ULL << 40) + (uint64_t)(i ^ 1) * PG; /* 16 runs */
	CHECK(xmem_heap_add_memory(h, keep, 16 * PG, kt, 16, PG) == 0);
	CHECK(it_entries(t1) == 16 && it_entries(t2) == 16 && n_add == 1);
	make_table(1ULL << 36);

	/* DMA_AVAIL: fail early, no map call at all. */
	struct xmem_dma_testdev *lim = xmem_dma_testdev_create("limited", 16 + 7);
	CHECK(lim != NULL);
	uint64_t c0 = it_map_calls(lim);
	expect_rollback("DMA_AVAIL 7 < 8 runs (checked first)", ENOSPC);
	CHECK(it_map_calls(lim) == c0);
	CHECK(xmem_dma_testdev_destroy(lim) == 0);

	/* Faults in the middle of the region, on the first subscriber. */
	xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_MAP_ENOSPC, 3);
	expect_rollback("ENOSPC at run 4 of 8 on subscriber 1", ENOSPC);
	xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_MAP_EFAULT, 5);
	expect_rollback("EFAULT at run 6 of 8 on subscriber 1", EFAULT);
	xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_MAP_EEXIST, 0);
	expect_rollback("EEXIST (injected) at run 1 on subscriber 1", EEXIST);
	/* On the second subscriber: the first is rolled back too. */
	xmem_dma_testdev_inject(t2, XMEM_TESTDEV_FAULT_MAP_ENOSPC, 7);
	expect_rollback("ENOSPC at run 8 of 8 on subscriber 2", ENOSPC);
	/* A short unmap while rolling back: still nothing left in the registry;
	 * the device keeps the stale page, and it is counted. */
	{
		struct xmem_dma_stats s0, s1;
		xmem_dma_get_stats(xmem_dma_testdev_subscriber(t1), &s0);
		xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_SHORT_UNMAP, 0);
		xmem_dma_testdev_inject(t2, XMEM_TESTDEV_FAULT_MAP_EFAULT, 2);
		it_snap(h, &before);
		errno = 0;
		int rc = xmem_heap_add_memory(h, va, len, table, n, PG);
		int e = errno;
		it_snap(h, &after);
		xmem_dma_get_stats(xmem_dma_testdev_subscriber(t1), &s1);
		int ok = rc == -1 && e == EFAULT && it_snap_equal(&before, &after) &&
			 s1.unmap_errors == s0.unmap_errors + 1;
		printf("%-44s rc %d errno %-6s heap+registry equal %s, unmap errors %llu -> %llu: %s\n",
		       "short unmap during rollback", rc, e == EFAULT ? "ok" : strerror(e),
		       it_snap_equal(&before, &after) ? "yes" : "NO",
		       (unsigned long long)s0.unmap_errors, (unsigned long long)s1.unmap_errors,
		       ok ? "PASS" : "FAIL");
		CHECK(ok);
		/* Clean the stale page the "device" kept: the last page of the last run
		 * (rollback unmaps last first). */
		CHECK(xmem_dma_testdev_unmap_direct(t1, table[63], PG) == 0);
	}
	/* A memory-event subscriber vetoes. */
	veto_next = 1;
	expect_rollback("mem_event veto (EPERM)", EPERM);

	/* Conflicting EEXIST: something else maps an overlapping extent. */
	CHECK(xmem_dma_testdev_map_direct(t2, keep, table[16] + PG, 2 * PG) == 0);
	expect_rollback("EEXIST conflicting overlap on subscriber 2", EEXIST);
	CHECK(xmem_dma_testdev_unmap_direct(t2, table[16] + PG, 2 * PG) == 0);

	/* Identical EEXIST: the same mapping exists: success, recorded as not
	 * owned, and not unmapped on removal. */
	CHECK(xmem_dma_testdev_map_direct(t2, va + 16 * PG, table[16], 8 * PG) == 0);
	uint64_t e2 = it_entries(t2);
	CHECK(xmem_heap_add_memory(h, va, len, table, n, PG) == 0);
	CHECK(it_entries(t2) == e2 + 7 && it_entries(t1) == 16 + 8);
	struct xmem_dma_stats ds;
	CHECK(xmem_dma_get_stats(xmem_dma_testdev_subscriber(t2), &ds) == 0);
	CHECK(ds.entries == 16 + 8 && ds.owned == 16 + 7);
	CHECK(xmem_virt2iova(va + 16 * PG + 5) == table[16] + 5);
	CHECK(xmem_heap_remove_memory(h, va, len) == 0);
	CHECK(it_entries(t2) == 16 + 1); /* the direct one is still there */
	CHECK(xmem_dma_testdev_unmap_direct(t2, table[16], 8 * PG) == 0);
	printf("%-44s add ok, 7 owned + 1 identical; removal left the identical one: %s\n",
	       "EEXIST identical mapping", it_entries(t2) == 16 ? "PASS" : "FAIL");

	/* A short unmap on removal: EIO, and nothing changes: the region stays
	 * (heap, registry, device entries as before: the short entry is put
	 * back), the unmap error is counted; the retry then succeeds. */
	CHECK(xmem_heap_add_memory(h, va, len, table, n, PG) == 0);
	struct xmem_dma_stats s0, s1;
	xmem_dma_get_stats(xmem_dma_testdev_subscriber(t1), &s0);
	uint64_t dev0 = it_entries(t1);
	xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_SHORT_UNMAP, 2);
	it_snap(h, &before);
	CHECK_ERR(xmem_heap_remove_memory(h, va, len), EIO);
	it_snap(h, &after);
	xmem_dma_get_stats(xmem_dma_testdev_subscriber(t1), &s1);
	int same = it_snap_equal(&before, &after) && it_entries(t1) == dev0 &&
		   s1.entries == s0.entries && s1.owned == s0.owned;
	CHECK(same && s1.unmap_errors == s0.unmap_errors + 1);
	CHECK(xmem_virt2iova(va + 5) == table[0] + 5);
	CHECK(xmem_heap_remove_memory(h, va, len) == 0);
	printf("%-44s EIO, state equal %s, unmap errors %llu -> %llu, retry ok: %s\n",
	       "short unmap on removal", same ? "yes" : "NO",
	       (unsigned long long)s0.unmap_errors, (unsigned long long)s1.unmap_errors,
	       same && s1.unmap_errors == s0.unmap_errors + 1 ? "PASS" : "FAIL");

	/* With the faults gone, the same add works. */
	xmem_dma_testdev_inject(t1, XMEM_TESTDEV_FAULT_NONE, 0);
	CHECK(xmem_heap_add_memory(h, va, len, table, n, PG) == 0);
	CHECK(it_entries(t1) == 16 + 8 && it_entries(t2) == 16 + 8);
	CHECK(xmem_heap_remove_memory(h, va, len) == 0);
	CHECK(xmem_heap_remove_memory(h, keep, 16 * PG) == 0);
	CHECK(ents() == 0);
	CHECK(n_add == n_remove + 1); /* the vetoed ADD has no REMOVE */
	CHECK(xmem_dma_unsubscribe(ev) == 0);
	CHECK(xmem_dma_testdev_destroy(t1) == 0 && xmem_dma_testdev_destroy(t2) == 0);
	CHECK(xmem_heap_destroy(h) == 0);
	return it_done("fault_test");
}
