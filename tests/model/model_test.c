/* model_test.c - proves the reference model (model.h) can fail: each case
 * feeds it one fabricated violation (an overlapping allocation, one outside
 * the heap's memory, one in removed memory, a wrong IOVA table, a claimed
 * alignment or size the block does not have, stats that disagree, a removal
 * with live blocks, an unreported invalid free, a bad heap record) and
 * checks that exactly that kind is reported, and that an honest random
 * workload through the model reports nothing. */
#include "tests/model/model.h"

#include "tests/xt_util.h"

#define CHUNK (4 * MiB)

static char err[XMODEL_ERR_MAX];

/* v must be the verdict `want`; prints the model's line either way. */
#define EXPECT_VERDICT(call, want)                                           \
	({                                                                   \
		err[0] = 0;                                                  \
		int v_ = (call);                                             \
		if (v_ != (want))                                            \
			xt_fail_at(__FILE__, __LINE__,                       \
				   "%s gave %s, expected %s (%s)", #call,    \
				   xmodel_verdict_name(v_),                  \
				   xmodel_verdict_name(want), err);          \
		else if (v_)                                                 \
			printf("  reported as expected: %s\n", err);         \
		v_ == (want);                                                \
	})
#define EXPECT_OK(call) EXPECT_VERDICT(call, XMODEL_OK)

/* One heap with one chunk, in both the library and the model. */
struct fix {
	struct xmodel *m;
	struct xmem_heap *h;
	char name[XMEM_HEAP_NAME_MAX];
	char *va;
	size_t len;
	uint64_t *tab;       /* given to the library */
	uint64_t seed;
};

static void fix_up(struct fix *f, const uint64_t *model_tab)
{
	memset(f, 0, sizeof(*f));
	f->seed = 12345;
	f->m = xmodel_new();
	if (!f->m)
		XT_FATAL("xmodel_new");
	snprintf(f->name, sizeof(f->name), "%s", xt_name("model"));
	f->h = xmem_heap_create(f->name);
	if (!f->h)
		XT_FATAL("heap_create: %s", strerror(errno));
	EXPECT_OK(xmodel_heap_created(f->m, f->h, f->name, err));
	f->len = CHUNK;
	f->va = xt_map(f->len, PAGE4K, PROT_NONE);
	f->tab = xt_linear_table(0x7000000000ULL, f->len / PAGE4K, PAGE4K);
	EXPECT_OK(xmodel_add_begin(f->m, f->h, f->va, f->len,
				   model_tab ? model_tab : f->tab, PAGE4K, err));
	int rc = xmem_heap_add_memory(f->h, f->va, f->len, f->tab,
				      f->len / PAGE4K, PAGE4K);
	EXPECT_OK(xmodel_add_end(f->m, f->va, rc, errno, err));
	CHECK_EQ(rc, 0);
}

/* Tear down through the library alone: the model may be inconsistent on
 * purpose.  Live blocks are the caller's to free first. */
static void fix_down(struct fix *f)
{
	CHECK_OK(xmem_heap_remove_memory(f->h, f->va, f->len));
	CHECK_OK(xmem_heap_destroy(f->h));
	xt_unmap(f->va, f->len);
	free(f->tab);
	xmodel_free_model(f->m);
}

static void *alloc_rec(struct fix *f, size_t size, size_t align)
{
	void *p = xmem_alloc(f->h, size, align);
	if (!CHECK(p != NULL))
		return NULL;
	EXPECT_OK(xmodel_alloc(f->m, f->h, p, size, align, err));
	return p;
}

static void free_rec(struct fix *f, void *p)
{
	EXPECT_OK(xmodel_free(f->m, p, NULL, NULL, err));
	xmem_free(p);
}

static void test_overlap(void)
{
	struct fix f;
	fix_up(&f, NULL);
	void *p = alloc_rec(&f, 256, 0);
	/* The same block handed out twice, and a block inside it. */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, p, 256, 0, err), XMODEL_OVERLAP);
	void *q = xmem_alloc(f.h, 100000, 0);   /* a large block: usable 100 KiB */
	CHECK(q != NULL);
	EXPECT_OK(xmodel_alloc(f.m, f.h, q, 100000, 0, err));
	/* A fabricated block that starts before q and runs into it. */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, (char *)q - 4096, 8192, 4096, err),
		       XMODEL_OVERLAP);
	CHECK_EQ(xmodel_live_count(f.m), 2);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 16, err));
	free_rec(&f, p);
	free_rec(&f, q);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 16, err));
	fix_down(&f);
}

static void test_outside(void)
{
	struct fix f;
	fix_up(&f, NULL);
	/* Not heap memory at all. */
	char *mal = malloc(256);
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, mal, 256, 0, err), XMODEL_OUTSIDE);
	free(mal);
	/* A real block of another heap, claimed for this one. */
	struct xmem_heap *h2 = xmem_heap_create(xt_name("model-other"));
	CHECK(h2 != NULL);
	char *va2 = xt_map(MiB, PAGE4K, PROT_NONE);
	CHECK_OK(xmem_heap_add_memory(h2, va2, MiB, NULL, 0, PAGE4K));
	void *p2 = xmem_alloc(h2, 64, 0);
	CHECK(p2 != NULL);
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, p2, 64, 0, err), XMODEL_OUTSIDE);
	EXPECT_OK(xmodel_heap_created(f.m, h2, xmem_heap_name(h2), err));
	EXPECT_OK(xmodel_add_begin(f.m, h2, va2, MiB, NULL, PAGE4K, err));
	EXPECT_OK(xmodel_add_end(f.m, va2, 0, 0, err));
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, p2, 64, 0, err), XMODEL_OUTSIDE);
	/* Translation-only memory. */
	char *reg = xt_map(MiB, PAGE4K, PROT_NONE);
	EXPECT_OK(xmodel_add_begin(f.m, NULL, reg, MiB, NULL, PAGE4K, err));
	EXPECT_OK(xmodel_add_end(f.m, reg, xmem_register(reg, MiB, NULL, 0, PAGE4K),
				 errno, err));
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, reg + 4096, 64, 0, err),
		       XMODEL_OUTSIDE);
	/* A block that runs past the end of its chunk. */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, f.va + f.len - 4096, 8192, 4096, err),
		       XMODEL_OUTSIDE);
	xmem_free(p2);
	size_t live = 99;
	EXPECT_OK(xmodel_remove_begin(f.m, NULL, reg, MiB, &live, err));
	CHECK_EQ(live, 0);
	EXPECT_OK(xmodel_remove_end(f.m, reg, xmem_unregister(reg, MiB), errno, err));
	EXPECT_OK(xmodel_remove_begin(f.m, h2, va2, MiB, NULL, err));
	EXPECT_OK(xmodel_remove_end(f.m, va2,
				    xmem_heap_remove_memory(h2, va2, MiB), errno, err));
	int rc = xmem_heap_destroy(h2);
	EXPECT_OK(xmodel_heap_destroyed(f.m, h2, rc, errno, err));
	xt_unmap(reg, MiB);
	xt_unmap(va2, MiB);
	fix_down(&f);
}

static void test_removed(void)
{
	struct fix f;
	fix_up(&f, NULL);
	char *va2 = xt_map(MiB, PAGE4K, PROT_NONE);
	EXPECT_OK(xmodel_add_begin(f.m, f.h, va2, MiB, NULL, PAGE4K, err));
	EXPECT_OK(xmodel_add_end(f.m, va2,
				 xmem_heap_add_memory(f.h, va2, MiB, NULL, 0, PAGE4K),
				 errno, err));
	EXPECT_OK(xmodel_remove_begin(f.m, f.h, va2, MiB, NULL, err));
	EXPECT_OK(xmodel_remove_end(f.m, va2,
				    xmem_heap_remove_memory(f.h, va2, MiB), errno, err));
	/* As if the library handed out an address of the removed chunk. */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, va2 + 128, 64, 0, err),
		       XMODEL_REMOVED);
	/* Translation of removed memory is probed by the full check. */
	EXPECT_OK(xmodel_check(f.m, &f.seed, 8, err));
	xt_unmap(va2, MiB);
	fix_down(&f);
}

static void test_iova(void)
{
	/* The model believes a table shifted by one page from the library's. */
	uint64_t *shifted = xt_linear_table(0x7000000000ULL + PAGE4K,
					    CHUNK / PAGE4K, PAGE4K);
	struct fix f;
	fix_up(&f, shifted);
	void *p = xmem_alloc(f.h, 512, 0);
	CHECK(p != NULL);
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, p, 512, 0, err), XMODEL_IOVA);
	EXPECT_VERDICT(xmodel_probe(f.m, p, err), XMODEL_TRANSLATE);
	xmem_free(p);   /* (the model refused it) */
	EXPECT_VERDICT(xmodel_check(f.m, &f.seed, 4, err), XMODEL_TRANSLATE);
	free(shifted);
	fix_down(&f);

	/* The model believes every page is its own IOVA run: a block of two
	 * pages straddles a discontinuity. */
	uint64_t *scattered = malloc(CHUNK / PAGE4K * sizeof(uint64_t));
	for (size_t i = 0; i < CHUNK / PAGE4K; i++)
		scattered[i] = 0x9000000000ULL + (CHUNK / PAGE4K - i) * 2 * PAGE4K;
	fix_up(&f, scattered);
	void *q = xmem_alloc(f.h, 8192, 0);
	CHECK(q != NULL);
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, q, 8192, 0, err), XMODEL_IOVA);
	CHECK(strstr(err, "straddles") != NULL);
	xmem_free(q);
	free(scattered);
	fix_down(&f);

	/* No table in the library, one in the model. */
	struct fix g;
	memset(&g, 0, sizeof(g));
	g.m = xmodel_new();
	g.h = xmem_heap_create(xt_name("model-notab"));
	CHECK(g.h != NULL);
	EXPECT_OK(xmodel_heap_created(g.m, g.h, xmem_heap_name(g.h), err));
	g.len = MiB;
	g.va = xt_map(g.len, PAGE4K, PROT_NONE);
	g.tab = xt_linear_table(0x1000000, g.len / PAGE4K, PAGE4K);
	EXPECT_OK(xmodel_add_begin(g.m, g.h, g.va, g.len, g.tab, PAGE4K, err));
	EXPECT_OK(xmodel_add_end(g.m, g.va,
				 xmem_heap_add_memory(g.h, g.va, g.len, NULL, 0, PAGE4K),
				 errno, err));
	void *r = xmem_alloc(g.h, 64, 0);
	EXPECT_VERDICT(xmodel_alloc(g.m, g.h, r, 64, 0, err), XMODEL_IOVA);
	xmem_free(r);
	fix_down(&g);
}

static void test_align_usable(void)
{
	struct fix f;
	fix_up(&f, NULL);
	/* Find a 256-byte block that is not 4 KiB aligned. */
	void *blocks[32];
	CHECK_OK(xmem_alloc_bulk(f.h, 256, blocks, 32));
	void *odd = NULL;
	for (int i = 0; i < 32 && !odd; i++)
		if ((uintptr_t)blocks[i] % 4096)
			odd = blocks[i];
	CHECK(odd != NULL);
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, odd, 256, 4096, err), XMODEL_ALIGN);
	/* Claimed size larger than the block's usable size. */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, odd, 300, 0, err), XMODEL_USABLE);
	/* A pointer that is not a block at all (usable size 0). */
	EXPECT_VERDICT(xmodel_alloc(f.m, f.h, (char *)odd + 16, 16, 0, err),
		       XMODEL_USABLE);
	CHECK_EQ(xmodel_live_count(f.m), 0);
	xmem_free_bulk(blocks, 32);
	fix_down(&f);
}

static void test_stats(void)
{
	struct fix f;
	fix_up(&f, NULL);
	void *p = alloc_rec(&f, 1000, 0);
	void *q = alloc_rec(&f, 50000, 0);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 32, err));
	struct xmem_heap_stats st;
	CHECK_OK(xmem_heap_stats(f.h, &st));
	EXPECT_OK(xmodel_compare_stats(f.m, f.h, &st, err));
	/* Fabricated figures, one field at a time. */
	struct xmem_heap_stats bad = st;
	bad.alloc_bytes += 64;
	EXPECT_VERDICT(xmodel_compare_stats(f.m, f.h, &bad, err), XMODEL_STATS);
	bad = st;
	bad.large_count = 0;
	EXPECT_VERDICT(xmodel_compare_stats(f.m, f.h, &bad, err), XMODEL_STATS);
	bad = st;
	bad.classes[xmem_size_class(1000)].live = 0;
	EXPECT_VERDICT(xmodel_compare_stats(f.m, f.h, &bad, err), XMODEL_STATS);
	bad = st;
	bad.n_regions = 2;
	EXPECT_VERDICT(xmodel_compare_stats(f.m, f.h, &bad, err), XMODEL_STATS);
	bad = st;
	bad.largest_free = bad.free_bytes + 4096;
	EXPECT_VERDICT(xmodel_compare_stats(f.m, f.h, &bad, err), XMODEL_STATS);
	/* The model forgets a block the library still has. */
	EXPECT_OK(xmodel_free(f.m, p, NULL, NULL, err));
	EXPECT_VERDICT(xmodel_check(f.m, &f.seed, 0, err), XMODEL_STATS);
	xmem_free(p);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 0, err));
	/* The model frees a pointer it does not hold. */
	EXPECT_VERDICT(xmodel_free(f.m, p, NULL, NULL, err), XMODEL_STATE);
	EXPECT_VERDICT(xmodel_free(f.m, (char *)q + 64, NULL, NULL, err),
		       XMODEL_STATE);
	free_rec(&f, q);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 32, err));
	fix_down(&f);
}

static void test_remove_busy(void)
{
	struct fix f;
	fix_up(&f, NULL);
	void *p = alloc_rec(&f, 64, 0);
	size_t live = 0;
	EXPECT_OK(xmodel_remove_begin(f.m, f.h, f.va, f.len, &live, err));
	CHECK_EQ(live, 1);
	errno = 0;
	int rc = xmem_heap_remove_memory(f.h, f.va, f.len);
	CHECK_EQ(rc, -1);
	CHECK_EQ(errno, EBUSY);
	EXPECT_OK(xmodel_remove_end(f.m, f.va, rc, errno, err));
	/* As if the library had let the removal through. */
	EXPECT_OK(xmodel_remove_begin(f.m, f.h, f.va, f.len, NULL, err));
	EXPECT_VERDICT(xmodel_remove_end(f.m, f.va, 0, 0, err), XMODEL_BUSY);
	/* ... or failed it with an undocumented errno. */
	EXPECT_OK(xmodel_remove_begin(f.m, f.h, f.va, f.len, NULL, err));
	EXPECT_VERDICT(xmodel_remove_end(f.m, f.va, -1, ENOENT, err), XMODEL_ERRNO);
	/* Destroying a heap with memory must fail with EBUSY. */
	EXPECT_VERDICT(xmodel_heap_destroyed(f.m, f.h, 0, 0, err), XMODEL_BUSY);
	rc = xmem_heap_destroy(f.h);
	EXPECT_OK(xmodel_heap_destroyed(f.m, f.h, rc, errno, err));
	free_rec(&f, p);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 8, err));
	fix_down(&f);
}

static unsigned long log_lines;
static void quiet_log(const char *line)
{
	(void)line;
	__atomic_add_fetch(&log_lines, 1, __ATOMIC_RELAXED);
}

static void test_invalid_free(void)
{
	struct fix f;
	fix_up(&f, NULL);
	xmem_set_log(quiet_log);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 0, err));
	/* Noted but never reported by the library. */
	xmodel_note_invalid_free(f.m, 1);
	EXPECT_VERDICT(xmodel_check(f.m, &f.seed, 0, err), XMODEL_INVALID_FREE);
	/* Now reported: the counts agree. */
	int on_stack;
	xmem_free(&on_stack);
	EXPECT_OK(xmodel_check(f.m, &f.seed, 0, err));
	/* Reported but not noted. */
	xmem_free(f.va + 16);
	EXPECT_VERDICT(xmodel_check(f.m, &f.seed, 0, err), XMODEL_INVALID_FREE);
	xmem_set_log(NULL);
	fix_down(&f);
}

static void test_heaps(void)
{
	struct fix f;
	fix_up(&f, NULL);
	/* A second record of a live handle, and a name that is live. */
	EXPECT_VERDICT(xmodel_heap_created(f.m, f.h, "another-name", err),
		       XMODEL_HEAP);
	struct xmem_heap *h2 = xmem_heap_create(xt_name("model-h2"));
	CHECK(h2 != NULL);
	EXPECT_VERDICT(xmodel_heap_created(f.m, h2, f.name, err), XMODEL_HEAP);
	EXPECT_OK(xmodel_heap_created(f.m, h2, xmem_heap_name(h2), err));
	/* Destroy of an empty heap that "failed with EBUSY". */
	EXPECT_VERDICT(xmodel_heap_destroyed(f.m, h2, -1, EBUSY, err), XMODEL_BUSY);
	int rc = xmem_heap_destroy(h2);
	EXPECT_OK(xmodel_heap_destroyed(f.m, h2, rc, errno, err));
	EXPECT_VERDICT(xmodel_heap_destroyed(f.m, h2, 0, 0, err), XMODEL_STATE);
	fix_down(&f);
}

/* Positive control: an honest random workload over scattered IOVAs, two
 * heaps, bulk calls, removals: the model must report nothing. */
static void test_clean_workload(void)
{
	struct xmodel *m = xmodel_new();
	uint64_t rng = 99;
	struct xmem_heap *h[2];
	char *va[4];
	size_t len = 2 * MiB;
	for (int i = 0; i < 2; i++) {
		h[i] = xmem_heap_create(xt_name("model-clean"));
		CHECK(h[i] != NULL);
		EXPECT_OK(xmodel_heap_created(m, h[i], xmem_heap_name(h[i]), err));
	}
	uint64_t tab[2 * MiB / PAGE4K];
	for (int c = 0; c < 4; c++) {
		va[c] = xt_map(len, PAGE4K, PROT_NONE);
		/* runs of 1..8 pages at scattered IOVAs */
		for (size_t i = 0; i < len / PAGE4K;) {
			size_t run = xt_range_r(&rng, 1, 8);
			uint64_t base = 0x100000000ULL * (c + 1) +
					xt_range_r(&rng, 0, 1 << 20) * PAGE4K * 16;
			for (size_t k = 0; k < run && i < len / PAGE4K; k++, i++)
				tab[i] = base + k * PAGE4K;
		}
		const uint64_t *t = c == 3 ? NULL : tab;
		EXPECT_OK(xmodel_add_begin(m, h[c % 2], va[c], len, t, PAGE4K, err));
		int rc = xmem_heap_add_memory(h[c % 2], va[c], len, t,
					      t ? len / PAGE4K : 0, PAGE4K);
		EXPECT_OK(xmodel_add_end(m, va[c], rc, errno, err));
	}
	void *live[512];
	int n = 0;
	for (int op = 0; op < 20000; op++) {
		int r = xt_range_r(&rng, 0, 99);
		if (r < 50 && n < 480) {
			int hi = xt_range_r(&rng, 0, 1);
			size_t size = xt_range_r(&rng, 0, 3) ? xt_range_r(&rng, 1, 2048)
							     : xt_range_r(&rng, 1, 40000);
			size_t align = xt_range_r(&rng, 0, 3) ? 0
				: (size_t)1 << xt_range_r(&rng, 0, 12);
			void *p = xmem_alloc(h[hi], size, align);
			if (!p) {
				CHECK_EQ(errno, ENOMEM);
				continue;
			}
			if (!EXPECT_OK(xmodel_alloc(m, h[hi], p, size, align, err)))
				break;
			live[n++] = p;
		} else if (r < 60 && n < 480 - 32) {
			unsigned k = xt_range_r(&rng, 1, 32);
			size_t size = xt_range_r(&rng, 1, 3000);
			if (xmem_alloc_bulk(h[0], size, &live[n], k)) {
				CHECK_EQ(errno, ENOMEM);
				continue;
			}
			for (unsigned j = 0; j < k; j++)
				EXPECT_OK(xmodel_alloc(m, h[0], live[n + j], size, 0, err));
			n += k;
		} else if (n) {
			int i = xt_range_r(&rng, 0, n - 1);
			EXPECT_OK(xmodel_free(m, live[i], NULL, NULL, err));
			xmem_free(live[i]);
			live[i] = live[--n];
		}
		if (op % 2000 == 0)
			EXPECT_OK(xmodel_check(m, &rng, 64, err));
	}
	EXPECT_OK(xmodel_check(m, &rng, 256, err));
	while (n) {
		EXPECT_OK(xmodel_free(m, live[n - 1], NULL, NULL, err));
		xmem_free(live[--n]);
	}
	EXPECT_OK(xmodel_check(m, &rng, 256, err));
	for (int c = 0; c < 4; c++) {
		EXPECT_OK(xmodel_remove_begin(m, h[c % 2], va[c], len, NULL, err));
		int rc = xmem_heap_remove_memory(h[c % 2], va[c], len);
		EXPECT_OK(xmodel_remove_end(m, va[c], rc, errno, err));
		CHECK_EQ(rc, 0);
		xt_unmap(va[c], len);
	}
	EXPECT_OK(xmodel_check(m, &rng, 64, err));
	for (int i = 0; i < 2; i++) {
		int rc = xmem_heap_destroy(h[i]);
		EXPECT_OK(xmodel_heap_destroyed(m, h[i], rc, errno, err));
		CHECK_EQ(rc, 0);
	}
	xmodel_free_model(m);
}

int main(void)
{
	xt_run("model reports overlap", test_overlap);
	xt_run("model reports blocks outside heap memory", test_outside);
	xt_run("model reports blocks in removed memory", test_removed);
	xt_run("model reports wrong IOVAs", test_iova);
	xt_run("model reports alignment and usable size", test_align_usable);
	xt_run("model reports wrong stats", test_stats);
	xt_run("model reports removal/destroy with live memory", test_remove_busy);
	xt_run("model reports invalid-free count", test_invalid_free);
	xt_run("model reports bad heap records", test_heaps);
	xt_run("model quiet on an honest workload", test_clean_workload);
	return xt_done();
}
