/* alloc_classes_test.c - the allocator at every size class and alignment:
 *   - xmem_size_class / xmem_class_size: XMEM_NUM_CLASSES strictly growing
 *     classes, the last one XMEM_MAX_CLASS_SIZE, every size 1..32768 maps to
 *     the smallest class that holds it; out-of-range arguments: EINVAL;
 *   - for every class: objects of exactly the class size and of one byte
 *     more than the previous class are served, counted in that class's
 *     stats, have usable_size >= size, the default alignment, lie inside the
 *     heap's memory and do not overlap;
 *   - every power-of-two alignment from 1 to the page size, for small,
 *     class-sized and large blocks, on 4 KiB-page regions and on a 2 MiB-page
 *     region (anonymous memory aligned to 2 MiB, alignments up to 2 MiB);
 *   - invalid alignments: EINVAL.
 * Regions are added with an IOVA table and without.
 */
#include "xt_util.h"

static void case_class_table(void)
{
	size_t prev = 0;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		size_t cs = xmem_class_size(c);
		if (!CHECK_GT(cs, prev))
			fprintf(stderr, "  class %d size %zu prev %zu\n", c, cs, prev);
		CHECK_EQ(xmem_size_class(cs), c);
		prev = cs;
	}
	CHECK_EQ(xmem_class_size(XMEM_NUM_CLASSES - 1), XMEM_MAX_CLASS_SIZE);
	CHECK_GE(xmem_class_size(0), (size_t)1);
	/* every size maps to the smallest class that holds it */
	int bad = 0;
	for (size_t s = 1; s <= XMEM_MAX_CLASS_SIZE && bad < 5; s++) {
		int c = xmem_size_class(s);
		if (c < 0 || c >= XMEM_NUM_CLASSES || xmem_class_size(c) < s ||
		    (c > 0 && xmem_class_size(c - 1) >= s)) {
			xt_fail_at(__FILE__, __LINE__,
				   "size %zu -> class %d (size %zu)", s, c,
				   c >= 0 ? xmem_class_size(c) : 0);
			bad++;
		}
	}
	CHECK_ERRNO(xmem_size_class(0) == -1, EINVAL);
	CHECK_ERRNO(xmem_size_class(XMEM_MAX_CLASS_SIZE + 1) == -1, EINVAL);
	CHECK_ERRNO(xmem_size_class((size_t)-1) == -1, EINVAL);
	CHECK_ERRNO(xmem_class_size(-1) == 0, EINVAL);
	CHECK_ERRNO(xmem_class_size(XMEM_NUM_CLASSES) == 0, EINVAL);
	CHECK_ERRNO(xmem_class_size(1 << 20) == 0, EINVAL);
}

struct env {
	struct xmem_heap *h;
	struct xt_region reg[2];
	int nreg;
	struct xt_shadow sh;
};

static void env_init(struct env *e, int with_table, size_t ps, size_t len)
{
	memset(e, 0, sizeof *e);
	e->h = xmem_heap_create(xt_name("cls"));
	if (!e->h)
		XT_FATAL("heap_create: %s", strerror(errno));
	/* two chunks: a table-less heap and a heap with a table differ only
	 * in translation, so add one of each kind when with_table */
	for (int i = 0; i < 2; i++) {
		struct xt_region *r = &e->reg[i];
		r->len = len;
		r->page_size = ps;
		r->va = xt_map(len, ps, PROT_READ | PROT_WRITE);
		r->iova = (with_table && i == 0)
				  ? xt_linear_table(0x100000000ULL + i * 0x100000000ULL,
						    len / ps, ps)
				  : NULL;
		r->heap = 0;
		if (!CHECK_OK(xmem_heap_add_memory(e->h, r->va, len, r->iova,
						   r->iova ? len / ps : 0, ps)))
			XT_FATAL("cannot add memory");
	}
	e->nreg = 2;
}

static void env_fini(struct env *e)
{
	while (e->sh.n) {
		struct xt_iv iv = xt_shadow_remove_at(&e->sh, e->sh.n - 1);
		xmem_free((void *)iv.s);
	}
	struct xmem_heap_stats st;
	if (xt_stats(e->h, &st)) {
		CHECK_EQ(st.alloc_count, 0);
		CHECK_EQ(st.alloc_bytes, 0);
		CHECK_EQ(st.free_bytes, st.total_bytes);
	}
	for (int i = 0; i < e->nreg; i++) {
		CHECK_OK(xmem_heap_remove_memory(e->h, e->reg[i].va, e->reg[i].len));
		xt_unmap(e->reg[i].va, e->reg[i].len);
		free(e->reg[i].iova);
	}
	CHECK_OK(xmem_heap_destroy(e->h));
	xt_shadow_free(&e->sh);
}

/* allocate, check and record one block; returns it (NULL on failure) */
static void *take(struct env *e, size_t size, size_t align)
{
	errno = 0;
	void *p = xmem_alloc(e->h, size, align);
	if (!p) {
		xt_fail_at(__FILE__, __LINE__, "alloc(%zu, %zu) failed: %s",
			   size, align, strerror(errno));
		return NULL;
	}
	size_t us = xt_check_block(e->reg, e->nreg, 0, p, size, align);
	struct xt_iv iv = {(uintptr_t)p, (uintptr_t)p + (us ? us : size), size, 0};
	if (!xt_shadow_insert(&e->sh, iv))
		fprintf(stderr, "  alloc(%zu, %zu)\n", size, align);
	return p;
}

static void case_every_class(int with_table)
{
	struct env e;
	env_init(&e, with_table, PAGE4K, 32 * MiB);
	struct xmem_heap_stats s0, s1;
	xt_stats(e.h, &s0);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		CHECK_EQ(s0.classes[c].size, xmem_class_size(c));
		CHECK_EQ(s0.classes[c].live, 0);
	}
	uint64_t want_live[XMEM_NUM_CLASSES] = {0};
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		size_t cs = xmem_class_size(c);
		size_t lo = c ? xmem_class_size(c - 1) + 1 : 1;
		/* a few objects of each: the class size, its smallest size,
		 * and one in the middle; enough to need more than one object
		 * per span for small classes */
		size_t sz[3] = {cs, lo, lo + (cs - lo) / 2};
		for (int k = 0; k < 3; k++) {
			for (int j = 0; j < 5; j++) {
				void *p = take(&e, sz[k], 0);
				if (p) {
					CHECK_EQ(xmem_usable_size(p), cs);
					want_live[c]++;
				}
			}
		}
	}
	xt_stats(e.h, &s1);
	uint64_t total = 0;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		if (!CHECK_EQ(s1.classes[c].live, want_live[c]))
			fprintf(stderr, "  class %d\n", c);
		total += want_live[c];
		if (want_live[c])
			CHECK_GE(s1.classes[c].spans, 1);
	}
	CHECK_EQ(s1.alloc_count, total);
	CHECK_EQ(s1.large_count, 0);
	CHECK_EQ(s1.alloc_bytes, e.sh.bytes);
	CHECK_EQ(s1.free_bytes, s1.total_bytes - s1.alloc_bytes);
	/* one byte above the largest class is a large block */
	void *big = take(&e, XMEM_MAX_CLASS_SIZE + 1, 0);
	if (big) {
		xt_stats(e.h, &s1);
		CHECK_EQ(s1.large_count, 1);
		CHECK_EQ(s1.alloc_count, total + 1);
		/* page-granular */
		CHECK_EQ(xmem_usable_size(big) % PAGE4K, 0);
	}
	env_fini(&e);
}

static const size_t align_sizes[] = {1, 15, 16, 17, 64, 100, 1000, 4096,
				     4097, 20000, 32768, 40000, 300000};
#define N_ALIGN_SIZES (sizeof align_sizes / sizeof align_sizes[0])

static void alignments_on(int with_table, size_t ps, size_t len)
{
	struct env e;
	env_init(&e, with_table, ps, len);
	for (size_t al = 1; al <= ps; al *= 2) {
		for (size_t i = 0; i < N_ALIGN_SIZES; i++) {
			for (int rep = 0; rep < 2; rep++) {
				void *p = take(&e, align_sizes[i], al);
				if (!p)
					fprintf(stderr, "  size %zu align %zu\n",
						align_sizes[i], al);
			}
		}
		/* free about half, so later alignments reuse holes */
		for (size_t i = 0; i < e.sh.n; i++)
			if (xt_range(0, 1)) {
				struct xt_iv iv = xt_shadow_remove_at(&e.sh, i);
				xmem_free((void *)iv.s);
			}
	}
	/* default alignment */
	for (size_t i = 0; i < N_ALIGN_SIZES; i++)
		take(&e, align_sizes[i], 0);
	/* invalid alignments */
	static const size_t bad[] = {3, 5, 6, 12, 24, 48, 100, 4095, 4097, 12288,
				     (size_t)-1};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!CHECK_ALLOC_FAILS(e.h, 64, bad[i], EINVAL))
			fprintf(stderr, "  align %zu\n", bad[i]);
		CHECK_ALLOC_FAILS(e.h, 100000, bad[i], EINVAL);
	}
	env_fini(&e);
}

static void case_align_4k(int with_table) { alignments_on(with_table, PAGE4K, 32 * MiB); }
static void case_align_2m(int with_table) { alignments_on(with_table, PAGE2M, 128 * MiB); }
static void case_align_64k(int with_table) { alignments_on(with_table, 65536, 32 * MiB); }

int main(void)
{
	static const struct xt_tb_case cases[] = {
		XT_TB_CASE(case_every_class), XT_TB_CASE(case_align_4k),
		XT_TB_CASE(case_align_64k),   XT_TB_CASE(case_align_2m),
	};
	xt_seed();
	xt_run("class_table", case_class_table);
	xt_run_tables(cases, sizeof cases / sizeof cases[0]);
	return xt_done();
}
