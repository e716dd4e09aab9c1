/* region_args_test.c - DPDK external-memory argument checks, re-expressed
 * (rte_malloc_heap_memory_add / rte_extmem_register / _unregister), each run
 * with an IOVA table (0x100000000 + i * page) and with NULL:
 *   - va NULL and len 0: EINVAL for add, remove, register, unregister;
 *     a NULL heap: EINVAL for add and remove;
 *   - n_pages 0, n-1, n+1 with a table: EINVAL; n-1, n+1 without: EINVAL;
 *     0 and n without a table: accepted;
 *   - page_size 0, not a power of two, below 4096, above XMEM_PAGE_SIZE_MAX;
 *     va or len not a multiple of page_size; ranges leaving the 48-bit
 *     address space: EINVAL;
 *   - overlap with an existing add or register (exact, partial front/back,
 *     contained, containing, other page size), across two heaps: EEXIST;
 *     adjacent ranges are accepted;
 *   - a failed call registers nothing (the same range can be added next).
 */
#include "xt_util.h"

#define NPG 64 /* pages in the test mapping */

static char *mem;      /* NPG * 4 KiB, plus 2 MiB-aligned */
static char *mem2m;    /* 8 * 2 MiB, 2 MiB aligned */

static uint64_t *tab_for(int with_table, size_t n, size_t ps)
{
	return with_table ? xt_linear_table(0x100000000ULL, n, ps) : NULL;
}

/* The range must be completely unregistered: adding it to a fresh heap
 * works, and removing it again works. */
static void check_range_free(char *va, size_t len, size_t ps)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("probe"));
	if (!CHECK(h))
		return;
	CHECK_EQ(xmem_virt2iova(va), XMEM_BAD_IOVA);
	if (CHECK_OK(xmem_heap_add_memory(h, va, len, NULL, 0, ps)))
		CHECK_OK(xmem_heap_remove_memory(h, va, len));
	CHECK_OK(xmem_heap_destroy(h));
}

static void case_null_len0(int with_table)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("args"));
	if (!CHECK(h))
		return;
	size_t len = 16 * PAGE4K;
	uint64_t *t = tab_for(with_table, 16, PAGE4K);
	size_t n = with_table ? 16 : 0;

	CHECK_FAILS_INT(xmem_heap_add_memory(h, NULL, len, t, n, PAGE4K), EINVAL);
	CHECK_FAILS_INT(xmem_heap_add_memory(h, mem, 0, t, with_table ? 0 : 0, PAGE4K), EINVAL);
	CHECK_FAILS_INT(xmem_heap_add_memory(NULL, mem, len, t, n, PAGE4K), EINVAL);
	CHECK_FAILS_INT(xmem_register(NULL, len, t, n, PAGE4K), EINVAL);
	CHECK_FAILS_INT(xmem_register(mem, 0, t, 0, PAGE4K), EINVAL);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, NULL, len), EINVAL);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, mem, 0), EINVAL);
	CHECK_FAILS_INT(xmem_heap_remove_memory(NULL, mem, len), EINVAL);
	CHECK_FAILS_INT(xmem_unregister(NULL, len), EINVAL);
	CHECK_FAILS_INT(xmem_unregister(mem, 0), EINVAL);

	/* the same with the range actually added / registered */
	if (CHECK_OK(xmem_heap_add_memory(h, mem, len, t, n, PAGE4K))) {
		CHECK_FAILS_INT(xmem_heap_remove_memory(h, NULL, len), EINVAL);
		CHECK_FAILS_INT(xmem_heap_remove_memory(h, mem, 0), EINVAL);
		CHECK_FAILS_INT(xmem_heap_remove_memory(NULL, mem, len), EINVAL);
		CHECK_OK(xmem_heap_remove_memory(h, mem, len));
	}
	if (CHECK_OK(xmem_register(mem, len, t, n, PAGE4K))) {
		CHECK_FAILS_INT(xmem_unregister(NULL, len), EINVAL);
		CHECK_FAILS_INT(xmem_unregister(mem, 0), EINVAL);
		CHECK_OK(xmem_unregister(mem, len));
	}
	check_range_free(mem, len, PAGE4K);
	CHECK_OK(xmem_heap_destroy(h));
	free(t);
}

/* add(h) or register(NULL heap means register) */
static int add_or_reg(struct xmem_heap *h, void *va, size_t len,
		      const uint64_t *t, size_t n, size_t ps)
{
	return h ? xmem_heap_add_memory(h, va, len, t, n, ps)
		 : xmem_register(va, len, t, n, ps);
}
static int undo(struct xmem_heap *h, void *va, size_t len)
{
	return h ? xmem_heap_remove_memory(h, va, len) : xmem_unregister(va, len);
}

static void n_pages_for(struct xmem_heap *h, int with_table)
{
	size_t n = 16, len = n * PAGE4K;
	/* table one entry longer, so n + 1 never reads past it */
	uint64_t *t = xt_linear_table(0x100000000ULL, n + 1, PAGE4K);
	if (with_table) {
		CHECK_FAILS_INT(add_or_reg(h, mem, len, t, 0, PAGE4K), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem, len, t, n - 1, PAGE4K), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem, len, t, n + 1, PAGE4K), EINVAL);
		check_range_free(mem, len, PAGE4K);
		if (CHECK_OK(add_or_reg(h, mem, len, t, n, PAGE4K)))
			CHECK_OK(undo(h, mem, len));
		/* 2 MiB pages: n = 4 */
		uint64_t *t2 = xt_linear_table(0x100000000ULL, 5, PAGE2M);
		CHECK_FAILS_INT(add_or_reg(h, mem2m, 4 * PAGE2M, t2, 0, PAGE2M), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem2m, 4 * PAGE2M, t2, 3, PAGE2M), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem2m, 4 * PAGE2M, t2, 5, PAGE2M), EINVAL);
		/* n_pages counted in 4 KiB pages is wrong for 2 MiB pages */
		CHECK_FAILS_INT(add_or_reg(h, mem2m, 4 * PAGE2M, t2, 4 * 512, PAGE2M), EINVAL);
		free(t2);
	} else {
		CHECK_FAILS_INT(add_or_reg(h, mem, len, NULL, n - 1, PAGE4K), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem, len, NULL, n + 1, PAGE4K), EINVAL);
		CHECK_FAILS_INT(add_or_reg(h, mem, len, NULL, 1, PAGE4K), EINVAL);
		check_range_free(mem, len, PAGE4K);
		/* without a table, 0 and len / page_size are both accepted */
		if (CHECK_OK(add_or_reg(h, mem, len, NULL, 0, PAGE4K))) {
			CHECK_EQ(xmem_virt2iova(mem), XMEM_BAD_IOVA);
			CHECK_OK(undo(h, mem, len));
		}
		if (CHECK_OK(add_or_reg(h, mem, len, NULL, n, PAGE4K))) {
			CHECK_EQ(xmem_virt2iova(mem + PAGE4K), XMEM_BAD_IOVA);
			CHECK_OK(undo(h, mem, len));
		}
	}
	check_range_free(mem, len, PAGE4K);
	free(t);
}

static void case_n_pages(int with_table)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("npages"));
	if (!CHECK(h))
		return;
	n_pages_for(h, with_table);
	n_pages_for(NULL, with_table);
	CHECK_OK(xmem_heap_destroy(h));
}

static void page_size_for(struct xmem_heap *h, int with_table)
{
	size_t len = 16 * PAGE4K;
	/* big enough for n = len / 1 */
	uint64_t *t = xt_linear_table(0x100000000ULL, len, PAGE4K);
#define NP(ps) (with_table ? len / (ps) : 0)
#define TB (with_table ? t : NULL)
	/* not a power of two, too small, zero, too big */
	static const size_t bad_ps[] = {0, 1, 512, 1024, 2048, 3000, 4095,
					4097, 6144, 12288, 65535, 3 * PAGE2M};
	for (size_t i = 0; i < sizeof bad_ps / sizeof bad_ps[0]; i++) {
		size_t ps = bad_ps[i];
		size_t n = (ps && len % ps == 0 && with_table) ? len / ps : 0;
		if (!CHECK_FAILS_INT(add_or_reg(h, mem, len, TB, n, ps), EINVAL))
			fprintf(stderr, "  page_size %zu\n", ps);
	}
	/* a power of two above the maximum */
	size_t big = XMEM_PAGE_SIZE_MAX * 2;
	CHECK_FAILS_INT(add_or_reg(h, mem2m, big, TB, with_table ? 1 : 0, big), EINVAL);
	/* va not a multiple of page_size */
	CHECK_FAILS_INT(add_or_reg(h, mem + 2048, len, TB, NP(PAGE4K), PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem + 1, len, TB, NP(PAGE4K), PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem2m + PAGE4K, 2 * PAGE2M, TB, with_table ? 2 : 0, PAGE2M), EINVAL);
	/* len not a multiple of page_size */
	CHECK_FAILS_INT(add_or_reg(h, mem, len + 100, TB, NP(PAGE4K), PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem, len - 1, TB, NP(PAGE4K), PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem, 100, TB, with_table ? 1 : 0, PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem2m, PAGE2M + PAGE4K, TB, with_table ? 1 : 0, PAGE2M), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, mem2m, 64 * PAGE4K, TB, with_table ? 1 : 0, PAGE2M), EINVAL);
	/* ranges leaving the 48-bit address space (never mapped, never
	 * touched: the checks must come before anything else) */
	char *top = (char *)((uintptr_t)1 << XMEM_VA_BITS);
	CHECK_FAILS_INT(add_or_reg(h, top - PAGE4K, 2 * PAGE4K, TB, with_table ? 2 : 0, PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, top, PAGE4K, TB, with_table ? 1 : 0, PAGE4K), EINVAL);
	CHECK_FAILS_INT(add_or_reg(h, (void *)(uintptr_t)(0 - 2 * PAGE4K), PAGE4K, TB, with_table ? 1 : 0, PAGE4K), EINVAL);
	/* va + len wraps around */
	CHECK_FAILS_INT(add_or_reg(h, mem, (size_t)0 - PAGE4K, NULL, 0, PAGE4K), EINVAL);
	check_range_free(mem, len, PAGE4K);
	check_range_free(mem2m, 4 * PAGE2M, PAGE2M);
	/* the good ones: 4 KiB, 8 KiB, 64 KiB, 2 MiB pages */
	static const size_t good_ps[] = {PAGE4K, 8192, 65536};
	for (size_t i = 0; i < 3; i++) {
		size_t ps = good_ps[i];
		uint64_t *tp = xt_linear_table(0x100000000ULL, len / ps, ps);
		if (CHECK_OK(add_or_reg(h, mem, len, with_table ? tp : NULL, NP(ps), ps)))
			CHECK_OK(undo(h, mem, len));
		free(tp);
	}
	uint64_t *tp = xt_linear_table(0x100000000ULL, 4, PAGE2M);
	if (CHECK_OK(add_or_reg(h, mem2m, 4 * PAGE2M, with_table ? tp : NULL, with_table ? 4 : 0, PAGE2M)))
		CHECK_OK(undo(h, mem2m, 4 * PAGE2M));
	free(tp);
#undef NP
#undef TB
	free(t);
}

static void case_page_size(int with_table)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("pgsz"));
	if (!CHECK(h))
		return;
	page_size_for(h, with_table);
	page_size_for(NULL, with_table);
	CHECK_OK(xmem_heap_destroy(h));
}

/* Region A = pages [16, 32) of mem, added to heap 1 or registered.  Every
 * overlapping range is refused with EEXIST, by add (to heap 1 and heap 2)
 * and by register. */
static void overlap_with(int a_is_registered, int with_table)
{
	struct xmem_heap *h1 = xmem_heap_create(xt_name("ov1"));
	struct xmem_heap *h2 = xmem_heap_create(xt_name("ov2"));
	if (!CHECK(h1 && h2))
		return;
	uint64_t *t = xt_linear_table(0x100000000ULL, NPG, PAGE4K);
	uint64_t *t2 = xt_linear_table(0x200000000ULL, NPG, PAGE4K);
	char *a = mem + 16 * PAGE4K;
	size_t alen = 16 * PAGE4K;
	int rc = a_is_registered
			 ? xmem_register(a, alen, with_table ? t : NULL, with_table ? 16 : 0, PAGE4K)
			 : xmem_heap_add_memory(h1, a, alen, with_table ? t : NULL, with_table ? 16 : 0, PAGE4K);
	if (!CHECK_EQ(rc, 0))
		goto out;
	struct { int first, n; const char *what; } ov[] = {
		{16, 16, "exact"},      {12, 8, "partial front"},
		{28, 8, "partial back"}, {20, 4, "contained"},
		{8, 40, "containing"},  {31, 1, "last page"},
		{16, 1, "first page"},  {0, 64, "everything"},
	};
	struct xmem_heap *hs[3] = {h1, h2, NULL};
	for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
		char *va = mem + ov[i].first * PAGE4K;
		size_t len = ov[i].n * PAGE4K;
		for (int k = 0; k < 3; k++) {
			for (int tb = 0; tb < 2; tb++) {
				if (!CHECK_FAILS_INT(add_or_reg(hs[k], va, len,
								 tb ? t2 : NULL,
								 tb ? ov[i].n : 0, PAGE4K),
						     EEXIST))
					fprintf(stderr, "  %s via %s, table %d\n", ov[i].what,
						k < 2 ? "add" : "register", tb);
			}
		}
	}
	/* adjacent ranges do not overlap */
	char *before = mem + 8 * PAGE4K, *after = mem + 32 * PAGE4K;
	if (CHECK_OK(xmem_heap_add_memory(h2, before, 8 * PAGE4K, NULL, 0, PAGE4K)))
		CHECK_OK(xmem_heap_remove_memory(h2, before, 8 * PAGE4K));
	if (CHECK_OK(xmem_register(after, 8 * PAGE4K, with_table ? t2 : NULL,
				   with_table ? 8 : 0, PAGE4K)))
		CHECK_OK(xmem_unregister(after, 8 * PAGE4K));
	if (CHECK_OK(xmem_heap_add_memory(h1, after, 8 * PAGE4K, NULL, 0, PAGE4K)))
		CHECK_OK(xmem_heap_remove_memory(h1, after, 8 * PAGE4K));
	/* A's translation is untouched by all of that */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(xmem_virt2iova(a + i * PAGE4K + 7),
			 with_table ? t[i] + 7 : XMEM_BAD_IOVA);
	if (a_is_registered)
		CHECK_OK(xmem_unregister(a, alen));
	else
		CHECK_OK(xmem_heap_remove_memory(h1, a, alen));
	check_range_free(mem, NPG * PAGE4K, PAGE4K);
out:
	CHECK_OK(xmem_heap_destroy(h1));
	CHECK_OK(xmem_heap_destroy(h2));
	free(t);
	free(t2);
}

static void case_overlap(int with_table)
{
	overlap_with(0, with_table);
	overlap_with(1, with_table);
}

/* A 2 MiB-page region and 4 KiB-page ranges inside it overlap. */
static void case_overlap_page_sizes(int with_table)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("ovps"));
	if (!CHECK(h))
		return;
	uint64_t *t = xt_linear_table(0x100000000ULL, 4, PAGE2M);
	if (CHECK_OK(xmem_heap_add_memory(h, mem2m, 4 * PAGE2M, with_table ? t : NULL,
					  with_table ? 4 : 0, PAGE2M))) {
		CHECK_FAILS_INT(xmem_register(mem2m + PAGE2M + 5 * PAGE4K, PAGE4K, NULL, 0, PAGE4K), EEXIST);
		CHECK_FAILS_INT(xmem_register(mem2m + 4 * PAGE2M - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K), EEXIST);
		CHECK_FAILS_INT(xmem_register(mem2m + 3 * PAGE2M, 2 * PAGE2M, NULL, 0, PAGE2M), EEXIST);
		/* adjacent 4 KiB page right after it is fine */
		if (CHECK_OK(xmem_register(mem2m + 4 * PAGE2M, PAGE4K, NULL, 0, PAGE4K)))
			CHECK_OK(xmem_unregister(mem2m + 4 * PAGE2M, PAGE4K));
		CHECK_OK(xmem_heap_remove_memory(h, mem2m, 4 * PAGE2M));
	}
	check_range_free(mem2m, 8 * PAGE2M, PAGE2M);
	CHECK_OK(xmem_heap_destroy(h));
	free(t);
}

int main(void)
{
	xt_seed();
	mem = xt_map(NPG * PAGE4K, 65536, PROT_READ | PROT_WRITE);
	mem2m = xt_map(8 * PAGE2M, PAGE2M, PROT_READ | PROT_WRITE);
	static const struct xt_tb_case cases[] = {
		XT_TB_CASE(case_null_len0), XT_TB_CASE(case_n_pages),
		XT_TB_CASE(case_page_size), XT_TB_CASE(case_overlap),
		XT_TB_CASE(case_overlap_page_sizes),
	};
	xt_run_tables(cases, sizeof cases / sizeof cases[0]);
	return xt_done();
}
