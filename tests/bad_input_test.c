/* bad_input_test.c - invariant 6, bad input gets a clear error:
 *   - xmem_free / xmem_free_bulk of pointers the library does not own as a
 *     live block: a stack address, a malloc'd one, one past a region, the
 *     region's guard page, an interior pointer of a large block, a pointer
 *     inside a removed or translation-only region, a double free of a large
 *     block, and (in checked mode, xmem_set_checked) interior pointers and
 *     double frees of small blocks: errno EINVAL, xmem_invalid_free_count + 1, exactly one line
 *     through the xmem_set_log hook, heap stats unchanged, and the live block
 *     is still live (it frees exactly once afterwards);
 *   - xmem_usable_size of the same pointers and NULL: 0 with EINVAL;
 *   - xmem_free(NULL) is a silent no-op; the default log (set_log(NULL))
 *     writes to stderr;
 *   - NULL heap to alloc / zalloc / alloc_bulk / stats / id / name /
 *     destroy: EINVAL; size 0: EINVAL; align not a power of two: EINVAL;
 *     huge sizes: ENOMEM; a destroyed heap: EINVAL;
 *   - translation of unknown addresses: XMEM_BAD_IOVA; iova2virt of unknown
 *     IOVAs: NULL with ENOENT.
 * Run with an IOVA table and without.
 */
#include <fcntl.h>

#include "xt_util.h"

static unsigned log_lines;
static char last_line[512];

static void capture(const char *line)
{
	log_lines++;
	snprintf(last_line, sizeof last_line, "%s", line ? line : "(null)");
}

struct env {
	struct xmem_heap *h;
	char *base;      /* guard page + region + guard page */
	char *va;
	size_t len;
	uint64_t *t;
};

static void env_init(struct env *e, int with_table)
{
	e->len = 8 * MiB;
	e->base = xt_map(e->len + 2 * PAGE4K, PAGE4K, PROT_READ | PROT_WRITE);
	e->va = e->base + PAGE4K;
	e->t = with_table ? xt_linear_table(0x100000000ULL, e->len / PAGE4K, PAGE4K) : NULL;
	e->h = xmem_heap_create(xt_name("bad"));
	if (!e->h || xmem_heap_add_memory(e->h, e->va, e->len, e->t,
					  e->t ? e->len / PAGE4K : 0, PAGE4K))
		XT_FATAL("setup: %s", strerror(errno));
}

static void env_fini(struct env *e)
{
	CHECK_OK(xmem_heap_remove_memory(e->h, e->va, e->len));
	CHECK_OK(xmem_heap_destroy(e->h));
	xt_unmap(e->base, e->len + 2 * PAGE4K);
	free(e->t);
}

/* One invalid free of p (single or through free_bulk): EINVAL, counted,
 * logged once, stats unchanged. */
static void invalid_free(struct env *e, void *p, int bulk, const char *what)
{
	struct xmem_heap_stats s0, s1;
	xt_stats(e->h, &s0);
	uint64_t c0 = xmem_invalid_free_count();
	log_lines = 0;
	errno = 0;
	if (bulk) {
		void *objs[3] = {NULL, p, NULL};
		xmem_free_bulk(objs, 3);
	} else {
		xmem_free(p);
	}
	int err = errno;
	bool ok = CHECK_EQ(err, EINVAL);
	ok &= CHECK_EQ(xmem_invalid_free_count(), c0 + 1);
	ok &= CHECK_EQ(log_lines, 1);
	ok &= CHECK_GT(strlen(last_line), 0);
	xt_stats(e->h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	if (!ok)
		fprintf(stderr, "  invalid %s of %s (%p)\n", bulk ? "free_bulk" : "free", what, p);
	errno = 0;
	if (!CHECK_EQ(xmem_usable_size(p), 0) || !CHECK_EQ(errno, EINVAL))
		fprintf(stderr, "  usable_size of %s (%p)\n", what, p);
}

/* p is live: free it once (valid: nothing reported), then it is gone */
static void free_once(struct env *e, void *p)
{
	uint64_t c0 = xmem_invalid_free_count();
	struct xmem_heap_stats s0, s1;
	xt_stats(e->h, &s0);
	log_lines = 0;
	xmem_free(p);
	CHECK_EQ(xmem_invalid_free_count(), c0);
	CHECK_EQ(log_lines, 0);
	xt_stats(e->h, &s1);
	CHECK_EQ(s1.alloc_count + 1, s0.alloc_count);
}

/* mode bit 0: through xmem_free_bulk; bit 1: checked mode on.
 * Always reported (header): pointers outside every heap, translation-only
 * or removed memory, parts of a heap that hold no block, interiors of large
 * blocks.  Reported in checked mode only: double frees and interior
 * pointers of blocks up to XMEM_MAX_CLASS_SIZE. */
static void case_invalid_frees(int mode)
{
	int bulk = mode & 1, checked = !!(mode & 2);
	struct env e;
	env_init(&e, !bulk);
	int was = xmem_set_checked(checked);
	CHECK_EQ(xmem_checked(), checked);
	xmem_set_log(capture);
	int on_stack = 0;
	char *heap_ptr = malloc(64);
	void *small = xmem_alloc(e.h, 64, 0);
	void *mid = xmem_alloc(e.h, 3000, 0);
	void *large = xmem_alloc(e.h, 200000, 0);
	if (!CHECK(small && mid && large))
		return;
	CHECK_GT(xmem_usable_size(small), 0);

	invalid_free(&e, &on_stack, bulk, "stack");
	invalid_free(&e, heap_ptr, bulk, "malloc");
	invalid_free(&e, e.va + e.len, bulk, "one past the region");
	invalid_free(&e, e.base, bulk, "guard page before the region");
	invalid_free(&e, (char *)large + 64, bulk, "interior of large");
	invalid_free(&e, (char *)large + PAGE4K, bulk, "interior of large (page)");
	invalid_free(&e, (char *)large + 1, bulk, "interior of large (+1)");
	invalid_free(&e, (void *)(uintptr_t)1, bulk, "address 1");
	invalid_free(&e, (void *)(uintptr_t)-64, bulk, "top of address space");
	invalid_free(&e, (void *)((uintptr_t)1 << 47), bulk, "2^47");
	/* A live block's address with a bit above the page map's 48 set: the
	 * free path's first look-up reads the page map with those bits masked
	 * off, finds the block's own span, and must still turn it away.  A
	 * free of the same class first makes that span's key the free path's
	 * guess, so the first try gets as far as the range test. */
	void *same_class = xmem_alloc(e.h, 64, 0);
	if (CHECK(same_class))
		xmem_free(same_class);
	invalid_free(&e, (void *)((uintptr_t)small | (uintptr_t)1 << 48), bulk,
		     "small with bit 48 set");
	invalid_free(&e, (void *)((uintptr_t)small | (uintptr_t)1 << 63), bulk,
		     "small with bit 63 set");
	/* a never-allocated address inside the heap (the heap is nearly empty
	 * and its last page holds no block) */
	invalid_free(&e, e.va + e.len - 8, bulk, "free memory in the heap");
	if (checked) {
		invalid_free(&e, (char *)small + 1, bulk, "interior of small");
		invalid_free(&e, (char *)small + 16, bulk, "interior of small +16");
		invalid_free(&e, (char *)mid + 64, bulk, "interior of class block");
	}

	/* the live blocks are still live and free exactly once */
	CHECK_GE(xmem_usable_size(small), 64);
	CHECK_GE(xmem_usable_size(mid), 3000);
	CHECK_GE(xmem_usable_size(large), 200000);
	free_once(&e, large);
	invalid_free(&e, large, bulk, "double free (large)");
	free_once(&e, small);
	free_once(&e, mid);
	if (checked) {
		invalid_free(&e, small, bulk, "double free (small)");
		invalid_free(&e, mid, bulk, "double free (class)");
		/* double free of a block that went through free_bulk */
		void *objs[40];
		if (CHECK_OK(xmem_alloc_bulk(e.h, 128, objs, 40))) {
			xmem_free_bulk(objs, 40);
			invalid_free(&e, objs[7], bulk, "double free after bulk");
		}
	}

	/* a block inside a removed region */
	char *r2 = xt_map(4 * MiB, PAGE4K, PROT_READ | PROT_WRITE);
	struct xmem_heap *h2 = xmem_heap_create(xt_name("removed"));
	if (CHECK(h2) && CHECK_OK(xmem_heap_add_memory(h2, r2, 4 * MiB, NULL, 0, PAGE4K))) {
		void *q = xmem_alloc(h2, 64, 0);
		CHECK(q && (char *)q >= r2 && (char *)q < r2 + 4 * MiB);
		xmem_free(q);
		CHECK_OK(xmem_heap_remove_memory(h2, r2, 4 * MiB));
		invalid_free(&e, q, bulk, "block in a removed region");
		invalid_free(&e, r2, bulk, "start of a removed region");
		/* and a registered (translation-only) range */
		if (CHECK_OK(xmem_register(r2, 4 * MiB, NULL, 0, PAGE4K))) {
			invalid_free(&e, r2 + 4096, bulk, "registered range");
			CHECK_OK(xmem_unregister(r2, 4 * MiB));
		}
	}
	if (h2)
		CHECK_OK(xmem_heap_destroy(h2));
	xt_unmap(r2, 4 * MiB);

	/* free_bulk with several valid and invalid entries */
	void *v[3] = {xmem_alloc(e.h, 10, 0), xmem_alloc(e.h, 5000, 0), xmem_alloc(e.h, 50000, 0)};
	if (CHECK(v[0] && v[1] && v[2])) {
		void *mix[7] = {v[0], &on_stack, NULL, v[1], (char *)v[2] + 8, v[2], heap_ptr};
		uint64_t c0 = xmem_invalid_free_count();
		struct xmem_heap_stats s;
		log_lines = 0;
		xmem_free_bulk(mix, 7);
		CHECK_EQ(xmem_invalid_free_count(), c0 + 3);
		CHECK_EQ(log_lines, 3);
		xt_stats(e.h, &s);
		CHECK_EQ(s.alloc_count, 0);
		CHECK_EQ(s.alloc_bytes, 0);
	}

	/* NULL is a silent no-op */
	uint64_t c0 = xmem_invalid_free_count();
	log_lines = 0;
	xmem_free(NULL);
	CHECK_EQ(xmem_invalid_free_count(), c0);
	CHECK_EQ(log_lines, 0);
	errno = 0;
	CHECK_EQ(xmem_usable_size(NULL), 0);
	CHECK_EQ(errno, EINVAL);

	xmem_set_log(NULL);
	CHECK_EQ(xmem_set_checked(was), checked);
	free(heap_ptr);
	env_fini(&e);
}

/* With the default log, the report goes to stderr. */
static void case_default_log(void)
{
	xmem_set_log(capture);
	xmem_set_log(NULL);
	fflush(stderr);
	int saved = dup(2);
	FILE *tf = tmpfile();
	if (!CHECK(saved >= 0 && tf))
		return;
	dup2(fileno(tf), 2);
	int x;
	log_lines = 0;
	xmem_free(&x);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_EQ(log_lines, 0);       /* the hook was replaced */
	CHECK_GT(ftell(tf), 0);       /* something was written to stderr */
	fclose(tf);
}

static void case_bad_args(int with_table)
{
	struct env e;
	env_init(&e, with_table);
	void *objs[4];
	struct xmem_heap_stats s;
	CHECK_FAILS_PTR(xmem_alloc(NULL, 64, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_zalloc(NULL, 64, 0), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk(NULL, 64, objs, 4), EINVAL);
	CHECK_FAILS_INT(xmem_heap_stats(NULL, &s), EINVAL);
	CHECK_FAILS_INT(xmem_heap_stats(e.h, NULL), EINVAL);
	CHECK_ERRNO(xmem_heap_id(NULL) == -1, EINVAL);
	CHECK_FAILS_PTR(xmem_heap_name(NULL), EINVAL);
	CHECK_FAILS_INT(xmem_heap_destroy(NULL), EINVAL);
	CHECK_ALLOC_FAILS(e.h, 0, 0, EINVAL);
	CHECK_ALLOC_FAILS(e.h, 0, 64, EINVAL);
	CHECK_FAILS_PTR(xmem_zalloc(e.h, 0, 0), EINVAL);
	static const size_t bad_align[] = {3, 7, 24, 96, 1000, 4095, (size_t)-1, ((size_t)1 << 63) + 1};
	for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
		CHECK_ALLOC_FAILS(e.h, 64, bad_align[i], EINVAL);
		CHECK_ALLOC_FAILS(e.h, 100000, bad_align[i], EINVAL);
		CHECK_FAILS_PTR(xmem_zalloc(e.h, 64, bad_align[i]), EINVAL);
	}
	CHECK_ALLOC_FAILS(e.h, (size_t)-1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(e.h, (size_t)-1, 64, ENOMEM);
	CHECK_ALLOC_FAILS(e.h, ((size_t)-1) / 2 + 1, 0, ENOMEM);
	CHECK_ALLOC_FAILS(e.h, e.len + 1, 0, ENOMEM);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, e.len / 2 + 1, objs, 2), ENOMEM);
	CHECK_FAILS_INT(xmem_alloc_bulk(e.h, (size_t)-1 / 2, objs, 4), ENOMEM);
	/* alignment larger than any page of the heap: cannot be served */
	errno = 0;
	void *p = xmem_alloc(e.h, 64, (size_t)1 << 40);
	CHECK(p == NULL && (errno == ENOMEM || errno == EINVAL));
	if (p)
		xmem_free(p);
	xt_stats(e.h, &s);
	CHECK_EQ(s.alloc_count, 0);
	CHECK_EQ(s.alloc_bytes, 0);

	/* translation of unknown addresses / IOVAs */
	int x;
	CHECK_EQ(xmem_virt2iova(NULL), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova(&x), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova(e.base), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova(e.va + e.len), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova((void *)(uintptr_t)-1), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_virt2iova((void *)((uintptr_t)1 << 50)), XMEM_BAD_IOVA);
	CHECK_FAILS_PTR(xmem_iova2virt(0), ENOENT);
	CHECK_FAILS_PTR(xmem_iova2virt(XMEM_BAD_IOVA), ENOENT);
	CHECK_FAILS_PTR(xmem_iova2virt(0x100000000ULL - 1), ENOENT);
	CHECK_FAILS_PTR(xmem_iova2virt(0x100000000ULL + e.len), ENOENT);
	if (!with_table)
		CHECK_FAILS_PTR(xmem_iova2virt(0x100000000ULL), ENOENT);
	env_fini(&e);

	/* a destroyed heap */
	struct xmem_heap *d = xmem_heap_create(xt_name("dead"));
	if (CHECK(d)) {
		CHECK_OK(xmem_heap_destroy(d));
		CHECK_FAILS_INT(xmem_heap_destroy(d), EINVAL);
		CHECK_ERRNO(xmem_heap_id(d) == -1, EINVAL);
		CHECK_FAILS_PTR(xmem_heap_name(d), EINVAL);
		CHECK_FAILS_INT(xmem_heap_stats(d, &s), EINVAL);
		CHECK_ALLOC_FAILS(d, 64, 0, EINVAL);
		CHECK_FAILS_INT(xmem_alloc_bulk(d, 64, objs, 2), EINVAL);
		char *m = xt_map(PAGE4K * 4, PAGE4K, PROT_READ | PROT_WRITE);
		CHECK_FAILS_INT(xmem_heap_add_memory(d, m, 4 * PAGE4K, NULL, 0, PAGE4K), EINVAL);
		CHECK_FAILS_INT(xmem_heap_remove_memory(d, m, 4 * PAGE4K), EINVAL);
		xt_unmap(m, 4 * PAGE4K);
	}
}

int main(void)
{
	xt_seed();
	xt_run_arg("invalid_free[table, xmem_free]", case_invalid_frees, 0);
	xt_run_arg("invalid_free[no table, xmem_free_bulk]", case_invalid_frees, 1);
	xt_run_arg("invalid_free[table, xmem_free, checked]", case_invalid_frees, 2);
	xt_run_arg("invalid_free[no table, xmem_free_bulk, checked]", case_invalid_frees, 3);
	xt_run("default_log_to_stderr", case_default_log);
	xt_run_arg("bad_args[table]", case_bad_args, 1);
	xt_run_arg("bad_args[no table]", case_bad_args, 0);
	return xt_done();
}
