/* alloc_bulk_test.c - xmem_alloc_bulk, xmem_free_bulk and xmem_zalloc:
 *   - bulk is all or nothing: asking for more blocks than fit fails with
 *     ENOMEM and leaves the stats unchanged; then exactly the number that
 *     fits succeeds (found by allocating one at a time), and 2048-byte blocks
 *     tile a power-of-two heap completely (no in-band headers);
 *   - bulk blocks are distinct, aligned, inside the heap, usable >= size,
 *     counted in stats, for small, class and large sizes;
 *   - free_bulk frees all of them (NULL entries skipped); objs NULL with
 *     n > 0 sets EINVAL; alloc_bulk argument errors give EINVAL;
 *   - xmem_zalloc returns zeroed memory (the requested size) over memory
 *     that was dirtied (including recycled blocks), for small, class and
 *     large sizes.
 * Run with an IOVA table and without.
 */
#include "xt_util.h"

struct env {
	struct xmem_heap *h;
	struct xt_region reg;
};

static void env_init(struct env *e, int with_table, size_t len)
{
	e->h = xmem_heap_create(xt_name("bulk"));
	if (!e->h)
		XT_FATAL("create: %s", strerror(errno));
	e->reg = (struct xt_region){.len = len, .page_size = PAGE4K, .heap = 0};
	e->reg.va = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	e->reg.iova = with_table ? xt_linear_table(0x100000000ULL, len / PAGE4K, PAGE4K) : NULL;
	if (!CHECK_OK(xmem_heap_add_memory(e->h, e->reg.va, len, e->reg.iova,
					   with_table ? len / PAGE4K : 0, PAGE4K)))
		XT_FATAL("add");
}

static void env_fini(struct env *e)
{
	CHECK_OK(xmem_heap_remove_memory(e->h, e->reg.va, e->reg.len));
	CHECK_OK(xmem_heap_destroy(e->h));
	xt_unmap(e->reg.va, e->reg.len);
	free(e->reg.iova);
}

/* Check n bulk blocks of size; returns false if anything is wrong. */
static bool check_bulk(struct env *e, void **objs, unsigned n, size_t size)
{
	struct xt_shadow sh = {0};
	bool ok = true;
	for (unsigned i = 0; i < n; i++) {
		size_t us = xt_check_block(&e->reg, 1, 0, objs[i], size, 0);
		ok &= us != 0;
		struct xt_iv iv = {(uintptr_t)objs[i], (uintptr_t)objs[i] + (us ? us : size), size, 0};
		ok &= xt_shadow_insert(&sh, iv);
	}
	xt_shadow_free(&sh);
	return ok;
}

static void all_or_nothing(int with_table, size_t size)
{
	size_t N = 1 * MiB;
	struct env e;
	env_init(&e, with_table, N);
	struct xmem_heap_stats s0, s1;
	xt_stats(e.h, &s0);

	/* capacity, one block at a time */
	unsigned cap_max = N / (size < 16 ? 16 : size) + 16;
	void **objs = calloc(cap_max + 1, sizeof *objs);
	unsigned k = 0;
	while (k <= cap_max && (objs[k] = xmem_alloc(e.h, size, 0)))
		k++;
	CHECK_EQ(errno, ENOMEM);
	CHECK_LE(k, cap_max);
	printf("  size %zu: %u blocks fit in %zu bytes\n", size, k, N);
	if (size == 2048)
		CHECK_EQ(k, N / 2048);
	CHECK_GT(k, 0);
	CHECK(check_bulk(&e, objs, k, size));
	xmem_free_bulk(objs, k);
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);

	/* one more than fits: nothing is allocated */
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, size, objs, k + 1), ENOMEM);
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, size, objs, k + 1000), ENOMEM);
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);

	/* exactly what fits */
	if (CHECK_OK(xmem_alloc_bulk(e.h, size, objs, k))) {
		CHECK(check_bulk(&e, objs, k, size));
		xt_stats(e.h, &s1);
		CHECK_EQ(s1.alloc_count, k);
		CHECK_GE(s1.alloc_bytes, k * size);
		/* now even one more fails, and changes nothing */
		void *one[1];
		struct xmem_heap_stats s2;
		CHECK_FAILS_INT(xmem_alloc_bulk(e.h, size, one, 1), ENOMEM);
		xt_stats(e.h, &s2);
		XT_CHECK_STATS_SAME(&s1, &s2);
		/* free them with NULLs interleaved */
		void **mixed = calloc(2 * k, sizeof *mixed);
		for (unsigned i = 0; i < k; i++)
			mixed[2 * i + 1] = objs[i];
		uint64_t inv = xmem_invalid_free_count();
		xmem_free_bulk(mixed, 2 * k);
		CHECK_EQ(xmem_invalid_free_count(), inv);
		free(mixed);
	}
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	/* and again after freeing */
	if (CHECK_OK(xmem_alloc_bulk(e.h, size, objs, k)))
		xmem_free_bulk(objs, k);
	free(objs);
	env_fini(&e);
}

static void case_bulk_64(int tb) { all_or_nothing(tb, 64); }
static void case_bulk_2048(int tb) { all_or_nothing(tb, 2048); }
static void case_bulk_3000(int tb) { all_or_nothing(tb, 3000); }
static void case_bulk_large(int tb) { all_or_nothing(tb, 100000); }

static void case_bulk_many_sizes(int with_table)
{
	struct env e;
	env_init(&e, with_table, 64 * MiB);
	struct xmem_heap_stats s0, s1;
	xt_stats(e.h, &s0);
	static const size_t sizes[] = {1, 8, 16, 17, 63, 64, 65, 100, 128, 1000,
				       2048, 4096, 8192, 20000, 32768, 32769, 65536};
	static const unsigned counts[] = {1, 2, 31, 32, 33, 64, 100, 257};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
			unsigned n = counts[j];
			if (sizes[i] * n > 8 * MiB)
				continue;
			void *objs[257];
			if (!CHECK_OK(xmem_alloc_bulk(e.h, sizes[i], objs, n)))
				continue;
			if (!check_bulk(&e, objs, n, sizes[i]))
				fprintf(stderr, "  bulk %u x %zu\n", n, sizes[i]);
			xt_stats(e.h, &s1);
			CHECK_EQ(s1.alloc_count, n);
			if (sizes[i] <= XMEM_MAX_CLASS_SIZE)
				CHECK_EQ(s1.classes[xmem_size_class(sizes[i])].live, n);
			else
				CHECK_EQ(s1.large_count, n);
			xmem_free_bulk(objs, n);
			xt_stats(e.h, &s1);
			XT_CHECK_STATS_SAME(&s0, &s1);
		}
	}
	/* Bursts of one from warm caches (a path of their own): with every
	 * class's array holding objects (no trim in between), each gets an
	 * object of its own size's class. */
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			void *objs[32];
			size_t want = sizes[i] <= XMEM_MAX_CLASS_SIZE ?
				      xmem_class_size(xmem_size_class(sizes[i])) : 0;
			if (round == 0) {
				if (CHECK_OK(xmem_alloc_bulk(e.h, sizes[i], objs, 32)))
					xmem_free_bulk(objs, 32);
				continue;
			}
			if (!CHECK_OK(xmem_alloc_bulk(e.h, sizes[i], objs, 1)))
				continue;
			if (!check_bulk(&e, objs, 1, sizes[i]) ||
			    (want && !CHECK_EQ(xmem_usable_size(objs[0]), want)))
				fprintf(stderr, "  warm burst of one x %zu\n", sizes[i]);
			xmem_free_bulk(objs, 1);
		}
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	/* argument errors */
	void *objs[4];
	CHECK_FAILS_INT(xmem_alloc_bulk(NULL, 64, objs, 4), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, 64, NULL, 4), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, 0, objs, 4), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, 64, objs, 0), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, (size_t)-1, objs, 2), ENOMEM);
	/* free_bulk: NULL objs with n > 0 */
	errno = 0;
	xmem_free_bulk(NULL, 3);
	CHECK_EQ(errno, EINVAL);
	xmem_free_bulk(NULL, 0); /* nothing to do: must not crash */
	void *nulls[3] = {NULL, NULL, NULL};
	uint64_t inv = xmem_invalid_free_count();
	xmem_free_bulk(nulls, 3);
	CHECK_EQ(xmem_invalid_free_count(), inv);
	xt_stats(e.h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	env_fini(&e);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void case_zalloc(int with_table)
{
	struct env e;
	env_init(&e, with_table, 16 * MiB);
	memset(e.reg.va, 0xA5, e.reg.len);
	static const size_t sizes[] = {1, 16, 64, 200, 4096, 5000, 32768, 32769, 200000};
	for (int round = 0; round < 3; round++) {
		void *blk[sizeof sizes / sizeof sizes[0]][4];
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			for (int j = 0; j < 4; j++) {
				size_t al = j == 3 ? 4096 : 0;
				unsigned char *p = blk[i][j] = xmem_zalloc(e.h, sizes[i], al);
				if (!CHECK(p != NULL))
					continue;
				xt_check_block(&e.reg, 1, 0, p, sizes[i], al);
				/* the requested bytes are zero */
				if (!CHECK(all_zero(p, sizes[i])))
					fprintf(stderr, "  zalloc(%zu) round %d\n", sizes[i], round);
				/* dirty it, so recycled blocks must be zeroed again */
				memset(p, 0x5A, xmem_usable_size(p));
			}
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			for (int j = 0; j < 4; j++)
				xmem_free(blk[i][j]);
	}
	CHECK_FAILS_PTR(xmem_zalloc(NULL, 64, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_zalloc(e.h, 0, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_zalloc(e.h, 64, 3), EINVAL);
	CHECK_FAILS_PTR(xmem_zalloc(e.h, 32 * MiB, 0), ENOMEM);
	struct xmem_heap_stats s;
	xt_stats(e.h, &s);
	CHECK_EQ(s.alloc_count, 0);
	CHECK_EQ(s.alloc_bytes, 0);
	env_fini(&e);
}

int main(void)
{
	static const struct xt_tb_case cases[] = {
		XT_TB_CASE(case_bulk_64),        XT_TB_CASE(case_bulk_2048),
		XT_TB_CASE(case_bulk_3000),      XT_TB_CASE(case_bulk_large),
		XT_TB_CASE(case_bulk_many_sizes), XT_TB_CASE(case_zalloc),
	};
	xt_seed();
	xt_run_tables(cases, sizeof cases / sizeof cases[0]);
	return xt_done();
}
