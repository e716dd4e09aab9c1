/* iova_contig_test.c - invariant 2, IOVA-contiguous allocations:
 * a region whose per-page IOVAs are scattered (a random permutation of page
 * frames, with some contiguous runs of 2..8 pages) serves many blocks of
 * random sizes and alignments; for every block, virt2iova(start + k) ==
 * virt2iova(start) + k at every 4 KiB boundary inside it (no block crosses
 * an IOVA jump) and iova2virt maps its IOVA back.  A block as long as the
 * longest run succeeds on the empty heap; one byte (and one page) longer
 * fails with ENOMEM.  Done with 4 KiB pages and with 2 MiB pages (jumps at
 * 2 MiB granularity), and with a mixed heap (scattered + contiguous region).
 */
#include "xt_util.h"

/* Build a scattered table for n pages of size ps.  Runs of 1..8 pages (1
 * most often) are laid out in VA order; each run gets its own 8-page slot of
 * IOVA space, slots in a random order.  Returns the longest contiguous run
 * (in pages) actually present in the table. */
static size_t scattered_table(uint64_t *t, size_t n, size_t ps, uint64_t base,
			      size_t max_run)
{
	size_t nslots = n; /* at most n runs */
	uint32_t *slot = malloc(nslots * sizeof *slot);
	for (size_t i = 0; i < nslots; i++)
		slot[i] = i;
	for (size_t i = nslots - 1; i > 0; i--) {
		size_t j = xt_range(0, i);
		uint32_t x = slot[i];
		slot[i] = slot[j];
		slot[j] = x;
	}
	size_t i = 0, r = 0;
	while (i < n) {
		size_t len = (max_run < 2 || xt_range(0, 2)) ? 1 : xt_range(2, max_run);
		if (len > n - i)
			len = n - i;
		uint64_t start = base + (uint64_t)slot[r++] * 8 * ps;
		for (size_t k = 0; k < len; k++)
			t[i + k] = start + k * ps;
		i += len;
	}
	free(slot);
	size_t best = 1, cur = 1;
	for (size_t k = 1; k < n; k++) {
		cur = (t[k] == t[k - 1] + ps) ? cur + 1 : 1;
		if (cur > best)
			best = cur;
	}
	return best;
}

static void scattered(size_t ps, size_t n, size_t max_run, size_t max_size,
		      size_t max_align, unsigned ops)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("scat"));
	if (!CHECK(h))
		return;
	struct xt_region reg = {.len = n * ps, .page_size = ps, .heap = 0};
	reg.va = xt_map(reg.len, ps, PROT_READ | PROT_WRITE);
	reg.iova = malloc(n * sizeof *reg.iova);
	size_t longest = scattered_table(reg.iova, n, ps, 0x4000000000ULL, max_run);
	printf("  %zu pages of %zu KiB, longest IOVA run %zu pages\n", n, ps >> 10, longest);
	if (!CHECK_OK(xmem_heap_add_memory(h, reg.va, reg.len, reg.iova, n, ps)))
		return;

	/* every page translates, both ways */
	for (size_t i = 0; i < n; i++) {
		char *pg = reg.va + i * ps;
		if (!CHECK_EQ(xmem_virt2iova(pg + ps / 3), reg.iova[i] + ps / 3))
			break;
		if (!CHECK_EQ(xmem_iova2virt(reg.iova[i] + ps - 1), (void *)(pg + ps - 1)))
			break;
	}

	/* on the empty heap: the longest run fits exactly, no more */
	size_t L = longest * ps;
	void *p = xmem_alloc(h, L, 0);
	if (CHECK(p != NULL)) {
		xt_check_block(&reg, 1, 0, p, L, 0);
		xmem_free(p);
	}
	CHECK_ALLOC_FAILS(h, L + 1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, L + PAGE4K, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, L + ps, 0, ENOMEM);
	void *objs[2];
	CHECK_FAILS_INT(xmem_alloc_bulk(h, L + 1, objs, 1), ENOMEM);

	/* random workload; blocks up to the longest run */
	struct xmem_heap_stats s0, s1;
	xt_stats(h, &s0);
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = &reg, .n_regs = 1,
		.ops = ops, .max_live = 400, .max_size = max_size < L ? max_size : L,
		.max_align = max_align, .keep = true,
	};
	xt_run_workload(&w, &sh);
	printf("  %u allocs, %u ENOMEM, %zu live\n", w.allocs, w.enomem, sh.n);
	CHECK_GT(w.allocs, ops / 4);
	/* fill up with small and page-sized blocks: every one contiguous */
	size_t fill_sizes[] = {3000, 4096, 6000, 8192, 2048, 100};
	for (int round = 0; round < 2000; round++) {
		size_t sz = fill_sizes[round % 6];
		void *q = xmem_alloc(h, sz, 0);
		if (!q)
			continue;
		size_t us = xt_check_block(&reg, 1, 0, q, sz, 0);
		struct xt_iv iv = {(uintptr_t)q, (uintptr_t)q + (us ? us : sz), sz, 0};
		xt_shadow_insert(&sh, iv);
	}
	/* and the IOVA of each live block maps back to it */
	for (size_t i = 0; i < sh.n; i++) {
		uint64_t io = xmem_virt2iova((void *)sh.v[i].s);
		if (!CHECK_EQ(xmem_iova2virt(io), (void *)sh.v[i].s))
			break;
	}
	while (sh.n) {
		struct xt_iv iv = xt_shadow_remove_at(&sh, xt_range(0, sh.n - 1));
		xmem_free((void *)iv.s);
	}
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	xt_shadow_free(&sh);
	CHECK_OK(xmem_heap_remove_memory(h, reg.va, reg.len));
	CHECK_EQ(xmem_iova2virt(reg.iova[0]), NULL);
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(reg.va, reg.len);
	free(reg.iova);
}

static void case_scattered_4k(void)
{
	scattered(PAGE4K, 8192, 8, 64 * KiB, PAGE4K, 20000);
}

static void case_scattered_4k_singles(void)
{
	/* max run 1: every page boundary is a jump; nothing above 4 KiB */
	scattered(PAGE4K, 2048, 1, 8 * KiB, PAGE4K, 5000);
}

static void case_scattered_2m(void)
{
	scattered(PAGE2M, 64, 4, 8 * MiB, PAGE2M, 3000);
}

/* A heap with one scattered and one contiguous region: large blocks only
 * fit in the contiguous one. */
static void case_mixed_regions(void)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("mixed"));
	if (!CHECK(h))
		return;
	struct xt_region reg[2] = {
		{.len = 16 * MiB, .page_size = PAGE4K, .heap = 0},
		{.len = 16 * MiB, .page_size = PAGE4K, .heap = 0},
	};
	size_t n = 16 * MiB / PAGE4K;
	for (int i = 0; i < 2; i++) {
		reg[i].va = xt_map(reg[i].len, PAGE4K, PROT_READ | PROT_WRITE);
		reg[i].iova = malloc(n * sizeof(uint64_t));
	}
	scattered_table(reg[0].iova, n, PAGE4K, 0x4000000000ULL, 4);
	for (size_t i = 0; i < n; i++)
		reg[1].iova[i] = 0x8000000000ULL + i * PAGE4K;
	for (int i = 0; i < 2; i++)
		CHECK_OK(xmem_heap_add_memory(h, reg[i].va, reg[i].len, reg[i].iova, n, PAGE4K));
	struct xt_shadow sh = {0};
	for (int i = 0; i < 6; i++) {
		void *p = xmem_alloc(h, 1 * MiB, 0);
		if (!CHECK(p))
			break;
		CHECK(xt_in_region(&reg[1], (uintptr_t)p));
		size_t us = xt_check_block(reg, 2, 0, p, 1 * MiB, 0);
		xt_shadow_insert(&sh, (struct xt_iv){(uintptr_t)p, (uintptr_t)p + (us ? us : MiB), MiB, 0});
	}
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = reg, .n_regs = 2,
		.ops = 10000, .max_live = 500, .max_size = 256 * KiB,
		.max_align = PAGE4K,
	};
	xt_run_workload(&w, &sh);
	for (int i = 0; i < 2; i++) {
		CHECK_OK(xmem_heap_remove_memory(h, reg[i].va, reg[i].len));
		xt_unmap(reg[i].va, reg[i].len);
		free(reg[i].iova);
	}
	CHECK_OK(xmem_heap_destroy(h));
	xt_shadow_free(&sh);
}

int main(void)
{
	xt_seed();
	xt_run("scattered_4k", case_scattered_4k);
	xt_run("scattered_4k_singles", case_scattered_4k_singles);
	xt_run("scattered_2m", case_scattered_2m);
	xt_run("mixed_regions", case_mixed_regions);
	return xt_done();
}
