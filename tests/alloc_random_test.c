/* alloc_random_test.c - the allocator under a random workload, checked
 * against a shadow interval set:
 *   - tens of thousands of random alloc/free operations over two heaps with
 *     several regions each (4 KiB and 2 MiB pages, with and without IOVA
 *     tables), sizes from 1 byte to 300 KiB, random power-of-two alignments;
 *     every block is aligned, has usable_size >= size, lies inside memory of
 *     its own heap, is IOVA-contiguous and never overlaps a live block;
 *   - the per-heap stats match the model (live count and usable bytes);
 *     freeing everything brings them back to the starting values, and the
 *     regions can then be removed;
 *   - the largest contiguous free run: on an empty heap of N bytes, N bytes
 *     succeed and N + 4096 fail with ENOMEM; stats.largest_free is N and
 *     agrees with what can be allocated; after a workload has been freed, the
 *     whole chunk can again be allocated in one block.
 */
#include "xt_util.h"

static void case_random_two_heaps(void)
{
	struct xmem_heap *h[2] = {xmem_heap_create(xt_name("rnd0")),
				  xmem_heap_create(xt_name("rnd1"))};
	if (!CHECK(h[0] && h[1]))
		return;
	struct xt_region reg[4] = {
		{.len = 48 * MiB, .page_size = PAGE4K, .heap = 0},
		{.len = 16 * MiB, .page_size = PAGE4K, .heap = 0},
		{.len = 32 * MiB, .page_size = PAGE2M, .heap = 1},
		{.len = 32 * MiB, .page_size = PAGE4K, .heap = 1},
	};
	uint64_t iova_base[4] = {0x100000000ULL, 0, 0x200000000ULL, 0x300000000ULL};
	struct xmem_heap_stats s0[2], s1;
	for (int i = 0; i < 4; i++) {
		reg[i].va = xt_map(reg[i].len, reg[i].page_size, PROT_READ | PROT_WRITE);
		size_t n = reg[i].len / reg[i].page_size;
		reg[i].iova = iova_base[i] ? xt_linear_table(iova_base[i], n, reg[i].page_size)
					   : NULL;
		CHECK_OK(xmem_heap_add_memory(h[reg[i].heap], reg[i].va, reg[i].len,
					      reg[i].iova, reg[i].iova ? n : 0,
					      reg[i].page_size));
	}
	xt_stats(h[0], &s0[0]);
	xt_stats(h[1], &s0[1]);
	CHECK_EQ(s0[0].total_bytes, 64 * MiB);
	CHECK_EQ(s0[1].total_bytes, 64 * MiB);
	CHECK_EQ(s0[0].n_regions, 2);

	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = h, .n_heaps = 2, .regs = reg, .n_regs = 4,
		.ops = 30000, .max_live = 1500, .max_size = 300 * KiB,
		.max_align = PAGE4K, .keep = true,
	};
	xt_run_workload(&w, &sh);
	printf("  %u allocs, %u ENOMEM, %u frees, %zu live\n", w.allocs,
	       w.enomem, w.frees, sh.n);
	CHECK_GT(w.allocs, w.ops / 3);
	CHECK_LT(w.enomem, w.ops / 20);

	/* stats agree with the model */
	for (int k = 0; k < 2; k++) {
		uint64_t cnt = 0, large = 0;
		size_t bytes = 0;
		for (size_t i = 0; i < sh.n; i++)
			if (sh.v[i].heap == k) {
				cnt++;
				bytes += sh.v[i].e - sh.v[i].s;
				large += sh.v[i].size > XMEM_MAX_CLASS_SIZE;
			}
		if (!xt_stats(h[k], &s1))
			continue;
		CHECK_EQ(s1.alloc_count, cnt);
		CHECK_EQ(s1.alloc_bytes, bytes);
		CHECK_GE(s1.large_count, large);
		CHECK_EQ(s1.free_bytes, s1.total_bytes - s1.alloc_bytes);
		CHECK_LE(s1.largest_free, s1.free_bytes);
		/* a live block keeps its region */
		if (cnt)
			for (int i = 0; i < 4; i++)
				if (reg[i].heap == k)
					for (size_t j = 0; j < sh.n; j++)
						if (xt_in_region(&reg[i], sh.v[j].s)) {
							CHECK_FAILS_INT(xmem_heap_remove_memory(h[k], reg[i].va, reg[i].len), EBUSY);
							break;
						}
	}
	/* free everything (in random order) */
	while (sh.n) {
		struct xt_iv iv = xt_shadow_remove_at(&sh, xt_range(0, sh.n - 1));
		xmem_free((void *)iv.s);
	}
	for (int k = 0; k < 2; k++) {
		if (xt_stats(h[k], &s1))
			XT_CHECK_STATS_SAME(&s0[k], &s1);
	}
	for (int i = 0; i < 4; i++) {
		CHECK_OK(xmem_heap_remove_memory(h[reg[i].heap], reg[i].va, reg[i].len));
		CHECK_EQ(xmem_virt2iova(reg[i].va), XMEM_BAD_IOVA);
		xt_unmap(reg[i].va, reg[i].len);
		free(reg[i].iova);
	}
	CHECK_OK(xmem_heap_destroy(h[0]));
	CHECK_OK(xmem_heap_destroy(h[1]));
	xt_shadow_free(&sh);
}

/* 2 MiB pages only, larger alignments (up to 64 KiB) */
static void case_random_2m_aligned(int with_table)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("rnd2m"));
	if (!CHECK(h))
		return;
	struct xt_region reg = {.len = 64 * MiB, .page_size = PAGE2M, .heap = 0};
	reg.va = xt_map(reg.len, PAGE2M, PROT_READ | PROT_WRITE);
	reg.iova = with_table ? xt_linear_table(0x100000000ULL, 32, PAGE2M) : NULL;
	CHECK_OK(xmem_heap_add_memory(h, reg.va, reg.len, reg.iova,
				      with_table ? 32 : 0, PAGE2M));
	struct xmem_heap_stats s0, s1;
	xt_stats(h, &s0);
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = &reg, .n_regs = 1,
		.ops = 10000, .max_live = 600, .max_size = 200 * KiB,
		.max_align = 65536,
	};
	xt_run_workload(&w, &sh);
	CHECK_GT(w.allocs, w.ops / 3);
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	CHECK_OK(xmem_heap_remove_memory(h, reg.va, reg.len));
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(reg.va, reg.len);
	free(reg.iova);
	xt_shadow_free(&sh);
}

static void largest_run(int with_table, size_t ps)
{
	size_t N = 16 * MiB;
	struct xmem_heap *h = xmem_heap_create(xt_name("run"));
	if (!CHECK(h))
		return;
	char *va = xt_map(N, ps, PROT_READ | PROT_WRITE);
	uint64_t *t = with_table ? xt_linear_table(0x100000000ULL, N / ps, ps) : NULL;
	if (!CHECK_OK(xmem_heap_add_memory(h, va, N, t, t ? N / ps : 0, ps)))
		return;
	struct xmem_heap_stats s0, s1;
	xt_stats(h, &s0);
	CHECK_EQ(s0.largest_free, N);
	CHECK_EQ(s0.free_bytes, N);
	CHECK_EQ(s0.alloc_bytes, 0);

	CHECK_ALLOC_FAILS(h, N + PAGE4K, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, N + 1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, (size_t)-1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, (size_t)-1 - PAGE4K + 2, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, (size_t)1 << 62, 0, ENOMEM);
	void *p = xmem_alloc(h, N, 0);
	if (CHECK_EQ(p, (void *)va)) {
		CHECK_EQ(xmem_usable_size(p), N);
		xt_stats(h, &s1);
		CHECK_EQ(s1.alloc_bytes, N);
		CHECK_EQ(s1.free_bytes, 0);
		CHECK_EQ(s1.largest_free, 0);
		CHECK_EQ(s1.large_count, 1);
		CHECK_ALLOC_FAILS(h, 1, 0, ENOMEM);
		CHECK_ALLOC_FAILS(h, PAGE4K, 0, ENOMEM);
		xmem_free(p);
	}
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	CHECK_EQ(s1.largest_free, N);

	/* N - 10 pages, then exactly the 10 pages left, then nothing */
	void *a = xmem_alloc(h, N - 10 * PAGE4K, 0);
	if (CHECK(a)) {
		void *b = xmem_alloc(h, 10 * PAGE4K, 0);
		CHECK(b);
		CHECK_ALLOC_FAILS(h, XMEM_MAX_CLASS_SIZE + 1, 0, ENOMEM);
		CHECK_ALLOC_FAILS(h, 1, 0, ENOMEM);
		xmem_free(b);
		xmem_free(a);
	}

	/* a random workload, everything freed, then the whole chunk again */
	struct xt_region reg = {.va = va, .len = N, .page_size = ps, .iova = t, .heap = 0};
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = &reg, .n_regs = 1,
		.ops = 5000, .max_live = 300, .max_size = 100 * KiB,
		.max_align = 0,
	};
	xt_run_workload(&w, &sh);
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	/* what stats call the largest free run can be allocated in one go
	 * (more may succeed too: freed spans may be reclaimed on demand) */
	if (CHECK_GT(s1.largest_free, 0)) {
		void *q = xmem_alloc(h, s1.largest_free, 0);
		if (CHECK(q != NULL))
			xmem_free(q);
	}
	xt_shadow_free(&sh);
	CHECK_OK(xmem_heap_remove_memory(h, va, N));
	CHECK_OK(xmem_heap_destroy(h));
	free(t);
	xt_unmap(va, N);
}

static void case_largest_run_4k(int tb) { largest_run(tb, PAGE4K); }
static void case_largest_run_2m(int tb) { largest_run(tb, PAGE2M); }

/* Everything freed means the heap is empty again: its whole chunk can be
 * allocated in one block (freed small objects must not pin pages). */
static void case_whole_chunk_after_free(int with_table)
{
	size_t N = 8 * MiB;
	struct xmem_heap *h = xmem_heap_create(xt_name("whole"));
	if (!CHECK(h))
		return;
	char *va = xt_map(N, PAGE4K, PROT_READ | PROT_WRITE);
	uint64_t *t = with_table ? xt_linear_table(0x100000000ULL, N / PAGE4K, PAGE4K) : NULL;
	if (!CHECK_OK(xmem_heap_add_memory(h, va, N, t, t ? N / PAGE4K : 0, PAGE4K)))
		return;
	struct xt_region reg = {.va = va, .len = N, .page_size = PAGE4K, .iova = t, .heap = 0};
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = &reg, .n_regs = 1,
		.ops = 4000, .max_live = 200, .max_size = 64 * KiB,
		.max_align = 0,
	};
	xt_run_workload(&w, &sh);
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_EQ(s.alloc_count, 0);
	CHECK_EQ(s.free_bytes, N);
	CHECK_EQ(s.largest_free, N);
	void *p = xmem_alloc(h, N, 0);
	if (!CHECK_EQ(p, (void *)va))
		fprintf(stderr, "  alloc(whole chunk) after free-all: %s\n", strerror(errno));
	xmem_free(p);
	xt_shadow_free(&sh);
	CHECK_OK(xmem_heap_remove_memory(h, va, N));
	CHECK_OK(xmem_heap_destroy(h));
	free(t);
	xt_unmap(va, N);
}

int main(void)
{
	static const struct xt_tb_case cases[] = {
		XT_TB_CASE(case_random_2m_aligned), XT_TB_CASE(case_largest_run_4k),
		XT_TB_CASE(case_largest_run_2m),    XT_TB_CASE(case_whole_chunk_after_free),
	};
	xt_seed();
	xt_run("random_two_heaps", case_random_two_heaps);
	xt_run_tables(cases, sizeof cases / sizeof cases[0]);
	return xt_done();
}
