/* region_heap_test.c - DPDK external-memory behaviour checks, re-expressed
 * (heap_memory_add / extmem_register / heap_memory_remove / heap_destroy),
 * each run with an IOVA table (0x100000000 + i * page) and with NULL:
 *   - per-page translation: every page's VA (start, middle, last byte) gives
 *     the table's IOVA (or XMEM_BAD_IOVA), and xmem_iova2virt inverts it;
 *     addresses just outside the chunk are not translated;
 *   - a 64-byte allocation from an empty heap: NULL / ENOMEM;
 *   - allocations land inside the chunk;
 *   - remove and destroy give EBUSY while an allocation is live, the heap
 *     still works afterwards; removal and destruction succeed after freeing;
 *   - after removal nothing is allocated from the heap and the removed range
 *     is not translated (virt2iova BAD, iova2virt NULL/ENOENT);
 *   - remove of anything but exactly one chunk of this heap: ENOENT;
 *   - register / unregister with translation checked in between and after;
 *     unregister of a heap chunk or not exactly a registration: ENOENT;
 *   - the same with 2 MiB page_size over ordinary (not huge) memory.
 */
#include "xt_util.h"

#define IOVA_BASE 0x100000000ULL

/* Check translation of [va, va + len) page by page. */
static bool neighbours_registered; /* skip the "just outside" checks */

static void check_translation(char *va, size_t len, size_t ps,
			      const uint64_t *t, bool registered)
{
	size_t n = len / ps;
	for (size_t i = 0; i < n; i++) {
		char *pg = va + i * ps;
		size_t offs[3] = {0, ps / 2 + 3, ps - 1};
		for (int k = 0; k < 3; k++) {
			uint64_t want = (registered && t) ? t[i] + offs[k]
							  : XMEM_BAD_IOVA;
			if (!CHECK_EQ(xmem_virt2iova(pg + offs[k]), want)) {
				fprintf(stderr, "  page %zu off %zu\n", i, offs[k]);
				return;
			}
			if (t) {
				errno = 0;
				void *back = xmem_iova2virt(t[i] + offs[k]);
				if (registered) {
					if (!CHECK_EQ(back, (void *)(pg + offs[k])))
						return;
				} else {
					CHECK_EQ(back, NULL);
					CHECK_EQ(errno, ENOENT);
				}
			}
		}
	}
	if (neighbours_registered)
		return;
	/* just outside */
	CHECK_EQ(xmem_virt2iova(va - 1), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova(va + len), XMEM_BAD_IOVA);
	if (t) {
		errno = 0;
		CHECK_EQ(xmem_iova2virt(t[n - 1] + ps), NULL);
		CHECK_EQ(errno, ENOENT);
		CHECK_EQ(xmem_iova2virt(t[0] - 1), NULL);
	}
}

static void heap_lifecycle(int with_table, size_t ps, size_t n)
{
	size_t len = n * ps;
	/* guard of one page on each side, never registered */
	char *base = xt_map(len + 2 * ps, ps, PROT_READ | PROT_WRITE);
	char *va = base + ps;
	uint64_t *t = with_table ? xt_linear_table(IOVA_BASE, n, ps) : NULL;
	struct xmem_heap *h = xmem_heap_create(xt_name("life"));
	struct xmem_heap *other = xmem_heap_create(xt_name("other"));
	if (!CHECK(h && other))
		return;

	/* empty heap */
	CHECK_ALLOC_FAILS(h, 64, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, 1, 0, ENOMEM);
	check_translation(va, len, ps, t, false);

	if (!CHECK_OK(xmem_heap_add_memory(h, va, len, t, with_table ? n : 0, ps)))
		goto out;
	check_translation(va, len, ps, t, true);
	/* the table was copied */
	if (t) {
		uint64_t t0 = t[0];
		t[0] = 0xdead000;
		CHECK_EQ(xmem_virt2iova(va), t0);
		t[0] = t0;
	}

	/* allocations land inside the chunk */
	void *blk[64];
	size_t sizes[8] = {1, 64, 100, 4096, 5000, 40000, 100000, 3 * PAGE4K};
	int nb = 0;
	for (int i = 0; i < 64; i++) {
		size_t sz = sizes[i % 8];
		blk[nb] = xmem_alloc(h, sz, 0);
		if (!CHECK(blk[nb] != NULL)) {
			fprintf(stderr, "  alloc %zu: %s\n", sz, strerror(errno));
			continue;
		}
		char *p = blk[nb];
		CHECK(p >= va && p + sz <= va + len);
		CHECK_GE(xmem_usable_size(p), sz);
		CHECK_EQ(xmem_virt2iova(p), t ? t[(p - va) / ps] + (p - va) % ps
					       : XMEM_BAD_IOVA);
		nb++;
	}
	/* remove and destroy refuse while anything is live, change nothing */
	struct xmem_heap_stats s0, s1;
	xt_stats(h, &s0);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len), EBUSY);
	CHECK_FAILS_INT(xmem_heap_destroy(h), EBUSY);
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	CHECK_EQ(s1.n_regions, 1);
	CHECK_EQ(s1.total_bytes, len);
	CHECK_EQ(xmem_heap_lookup(xmem_heap_name(h)), h);
	check_translation(va, len, ps, t, true);

	/* remove of anything but exactly one chunk of this heap: ENOENT */
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len - ps), ENOENT);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va + ps, len - ps), ENOENT);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va - ps, len + ps), ENOENT);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len + ps), ENOENT);
	CHECK_FAILS_INT(xmem_heap_remove_memory(other, va, len), ENOENT);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, base, ps), ENOENT);
	CHECK_FAILS_INT(xmem_unregister(va, len), ENOENT); /* a chunk, not a registration */

	/* the heap still works */
	void *x = xmem_alloc(h, 200, 0);
	CHECK(x && (char *)x >= va && (char *)x + 200 <= va + len);
	xmem_free(x);

	/* free all but one: still EBUSY */
	for (int i = 1; i < nb; i++)
		xmem_free(blk[i]);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len), EBUSY);
	CHECK_FAILS_INT(xmem_heap_destroy(h), EBUSY);
	if (nb)
		xmem_free(blk[0]);
	/* memory still added: destroy still EBUSY */
	CHECK_FAILS_INT(xmem_heap_destroy(h), EBUSY);
	CHECK_OK(xmem_heap_remove_memory(h, va, len));
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len), ENOENT);

	/* removed: not translated, never handed out */
	check_translation(va, len, ps, t, false);
	CHECK_ALLOC_FAILS(h, 64, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, 1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(h, 40000, 0, ENOMEM);
	void *objs[4];
	CHECK_FAILS_INT(xmem_alloc_bulk(h, 64, objs, 4), ENOMEM);
	xt_stats(h, &s1);
	CHECK_EQ(s1.n_regions, 0);
	CHECK_EQ(s1.total_bytes, 0);
	CHECK_EQ(s1.alloc_count, 0);
	CHECK_EQ(s1.alloc_bytes, 0);

	/* the same range can go to another heap, allocations come from it */
	if (CHECK_OK(xmem_heap_add_memory(other, va, len, t, with_table ? n : 0, ps))) {
		CHECK_ALLOC_FAILS(h, 64, 0, ENOMEM);
		void *y = xmem_alloc(other, 64, 0);
		CHECK(y && (char *)y >= va && (char *)y < va + len);
		xmem_free(y);
		CHECK_OK(xmem_heap_remove_memory(other, va, len));
	}
	CHECK_OK(xmem_heap_destroy(h));
	CHECK_FAILS_PTR(xmem_heap_lookup(s0.name), ENOENT);
out:
	CHECK_OK(xmem_heap_destroy(other));
	free(t);
	xt_unmap(base, len + 2 * ps);
}

static void case_heap_4k(int with_table) { heap_lifecycle(with_table, PAGE4K, 4096); }
static void case_heap_2m(int with_table) { heap_lifecycle(with_table, PAGE2M, 8); }

static void register_cycle(int with_table, size_t ps, size_t n)
{
	size_t len = n * ps;
	char *base = xt_map(len + 2 * ps, ps, PROT_READ | PROT_WRITE);
	char *va = base + ps;
	uint64_t *t = with_table ? xt_linear_table(IOVA_BASE, n, ps) : NULL;
	struct xmem_heap *h = xmem_heap_create(xt_name("reg"));
	if (!CHECK(h))
		return;

	check_translation(va, len, ps, t, false);
	if (!CHECK_OK(xmem_register(va, len, t, with_table ? n : 0, ps)))
		goto out;
	check_translation(va, len, ps, t, true);
	/* registered memory belongs to no heap: nothing is allocated from it,
	 * it cannot be added or removed as a heap chunk */
	CHECK_ALLOC_FAILS(h, 64, 0, ENOMEM);
	CHECK_FAILS_INT(xmem_heap_add_memory(h, va, len, NULL, 0, ps), EEXIST);
	CHECK_FAILS_INT(xmem_heap_remove_memory(h, va, len), ENOENT);
	CHECK_FAILS_INT(xmem_register(va, len, t, with_table ? n : 0, ps), EEXIST);
	/* not exactly the registration */
	CHECK_FAILS_INT(xmem_unregister(va, len - ps), ENOENT);
	CHECK_FAILS_INT(xmem_unregister(va + ps, len - ps), ENOENT);
	CHECK_FAILS_INT(xmem_unregister(va - ps, len + 2 * ps), ENOENT);
	CHECK_FAILS_INT(xmem_unregister(base, ps), ENOENT);
	CHECK_FAILS_INT(xmem_unregister(va, len + ps), ENOENT);
	check_translation(va, len, ps, t, true);

	CHECK_OK(xmem_unregister(va, len));
	check_translation(va, len, ps, t, false);
	CHECK_FAILS_INT(xmem_unregister(va, len), ENOENT);

	/* a heap chunk is not a registration */
	if (CHECK_OK(xmem_heap_add_memory(h, va, len, t, with_table ? n : 0, ps))) {
		CHECK_FAILS_INT(xmem_unregister(va, len), ENOENT);
		check_translation(va, len, ps, t, true);
		CHECK_OK(xmem_heap_remove_memory(h, va, len));
	}
	/* register again after all that */
	if (CHECK_OK(xmem_register(va, len, t, with_table ? n : 0, ps))) {
		check_translation(va, len, ps, t, true);
		CHECK_OK(xmem_unregister(va, len));
	}
	check_translation(va, len, ps, t, false);
out:
	CHECK_OK(xmem_heap_destroy(h));
	free(t);
	xt_unmap(base, len + 2 * ps);
}

static void case_register_4k(int with_table) { register_cycle(with_table, PAGE4K, 512); }
static void case_register_2m(int with_table) { register_cycle(with_table, PAGE2M, 4); }

/* Two registrations and one heap chunk side by side, each translated by its
 * own table. */
static void case_several_regions(int with_table)
{
	size_t n = 32, len = n * PAGE4K;
	char *base = xt_map(3 * len, PAGE4K, PROT_READ | PROT_WRITE);
	uint64_t *t[3];
	for (int i = 0; i < 3; i++)
		t[i] = with_table ? xt_linear_table(IOVA_BASE + (uint64_t)(2 - i) * 0x10000000ULL,
						    n, PAGE4K)
				  : NULL;
	struct xmem_heap *h = xmem_heap_create(xt_name("sev"));
	if (!CHECK(h))
		return;
	neighbours_registered = true;
	CHECK_OK(xmem_register(base, len, t[0], with_table ? n : 0, PAGE4K));
	CHECK_OK(xmem_heap_add_memory(h, base + len, len, t[1], with_table ? n : 0, PAGE4K));
	CHECK_OK(xmem_register(base + 2 * len, len, t[2], with_table ? n : 0, PAGE4K));
	for (int i = 0; i < 3; i++)
		check_translation(base + i * len, len, PAGE4K, t[i], true);
	void *p = xmem_alloc(h, 3000, 0);
	CHECK(p && (char *)p >= base + len && (char *)p + 3000 <= base + 2 * len);
	xmem_free(p);
	CHECK_OK(xmem_unregister(base, len));
	check_translation(base, len, PAGE4K, t[0], false);
	check_translation(base + len, len, PAGE4K, t[1], true);
	check_translation(base + 2 * len, len, PAGE4K, t[2], true);
	CHECK_OK(xmem_heap_remove_memory(h, base + len, len));
	CHECK_OK(xmem_unregister(base + 2 * len, len));
	neighbours_registered = false;
	for (int i = 0; i < 3; i++) {
		check_translation(base + i * len, len, PAGE4K, t[i], false);
		free(t[i]);
	}
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(base, 3 * len);
}

int main(void)
{
	static const struct xt_tb_case cases[] = {
		XT_TB_CASE(case_heap_4k),     XT_TB_CASE(case_heap_2m),
		XT_TB_CASE(case_register_4k), XT_TB_CASE(case_register_2m),
		XT_TB_CASE(case_several_regions),
	};
	xt_seed();
	xt_run_tables(cases, sizeof cases / sizeof cases[0]);
	return xt_done();
}
