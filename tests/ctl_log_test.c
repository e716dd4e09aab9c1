/* ctl_log_test.c - errors a user can act on: every failed control-plane call
 * logs exactly one line through the xmem_set_log hook, "xmem: <call>:
 * <cause> (<ERRNO>)", naming the argument and why (NULL, empty or too long
 * names, a misaligned address or length, a page size that is not a power of
 * two or out of range, n_pages against len, a bad IOVA table entry), and for
 * EEXIST the heap or registration the range overlaps.  One case per
 * function and cause class; the errno is the one docs/errors.md lists.
 * Successful calls and the data path (alloc, free) log nothing.
 * (//tests:errors_test also checks, for every row of docs/errors.md, that a
 * failed control-plane call logs one line naming the function and errno.) */
#include <string.h>

#include <xmem/xmem_dma.h>

#include "testing/xmem_test.h"
#include "xt_util.h"

static unsigned n_lines;
static char lines[4][512];

static void capture(const char *line)
{
	snprintf(lines[n_lines % 4], sizeof lines[0], "%s", line);
	n_lines++;
}

/* The call failed with err and logged exactly one line holding every
 * needle (NULL-terminated). */
static void expect_line(const char *file, int line, const char *what, bool failed,
			int err, int got, unsigned n0, const char *const *needles)
{
	if (!failed) {
		xt_fail_at(file, line, "%s succeeded", what);
		return;
	}
	if (got != err)
		xt_fail_at(file, line, "%s: errno %s, expected %s", what, strerror(got),
			   strerror(err));
	if (n_lines - n0 != 1) {
		xt_fail_at(file, line, "%s: %u log lines, expected 1", what, n_lines - n0);
		return;
	}
	const char *l = lines[n0 % 4];
	for (const char *const *n = needles; *n; n++)
		if (!strstr(l, *n))
			xt_fail_at(file, line, "%s: the line \"%s\" lacks \"%s\"", what, l, *n);
	printf("  %s\n    -> %s\n", what, l);
}

#define EXPECT_LOG(failed_expr, err, ...)                                          \
	do {                                                                       \
		unsigned n0_ = n_lines;                                            \
		errno = 0;                                                         \
		bool f_ = (failed_expr);                                           \
		int e_ = errno;                                                    \
		static const char *const nd_[] = {__VA_ARGS__, NULL};              \
		expect_line(__FILE__, __LINE__, #failed_expr, f_, err, e_, n0_, nd_); \
	} while (0)

#define EXPECT_QUIET(expr)                                                         \
	do {                                                                       \
		unsigned n0_ = n_lines;                                            \
		(void)(expr);                                                      \
		if (n_lines != n0_)                                                \
			xt_fail_at(__FILE__, __LINE__, "%s logged \"%s\"", #expr,   \
				   lines[n0_ % 4]);                                \
	} while (0)

#define LEN (4 * PAGE4K)

static char *va;
static uint64_t *tab;

static void heaps(void)
{
	char longname[XMEM_HEAP_NAME_MAX + 1];
	memset(longname, 'n', XMEM_HEAP_NAME_MAX);
	longname[XMEM_HEAP_NAME_MAX] = '\0';
	struct xmem_heap *h;
	EXPECT_QUIET(h = xmem_heap_create("ctl-a"));
	CHECK(h != NULL);

	EXPECT_LOG(!xmem_heap_create(NULL), EINVAL, "xmem: xmem_heap_create: ", "name is NULL",
		   "(EINVAL)");
	EXPECT_LOG(!xmem_heap_create(""), EINVAL, "xmem_heap_create: ", "name is empty");
	EXPECT_LOG(!xmem_heap_create(longname), EINVAL, "xmem_heap_create: ",
		   "name has 32 characters or more");
	EXPECT_LOG(!xmem_heap_create("ctl-a"), EEXIST, "xmem_heap_create: ",
		   "a heap named \"ctl-a\" exists", "(EEXIST)");
	xm_meta_fail_nth(1);
	EXPECT_LOG(!xmem_heap_create("ctl-nomem"), ENOMEM, "xmem_heap_create: ", "(ENOMEM)");
	xm_meta_fail_nth(0);

	EXPECT_LOG(xmem_heap_destroy(NULL) != 0, EINVAL, "xmem: xmem_heap_destroy: ",
		   "heap is NULL");
	EXPECT_QUIET(CHECK_OK(xmem_heap_add_memory(h, va, LEN, tab, LEN / PAGE4K, PAGE4K)));
	EXPECT_LOG(xmem_heap_destroy(h) != 0, EBUSY, "xmem_heap_destroy: ",
		   "heap \"ctl-a\" still has 1 chunks added", "(EBUSY)");

	/* Removal. */
	EXPECT_LOG(xmem_heap_remove_memory(h, NULL, LEN) != 0, EINVAL,
		   "xmem: xmem_heap_remove_memory: ", "va is NULL");
	EXPECT_LOG(xmem_heap_remove_memory(h, va, 0) != 0, EINVAL, "xmem_heap_remove_memory: ",
		   "len is 0");
	EXPECT_LOG(xmem_heap_remove_memory(h, va, PAGE4K) != 0, ENOENT,
		   "xmem_heap_remove_memory: ", "is not exactly a chunk of heap \"ctl-a\"",
		   "(ENOENT)");
	void *p;
	EXPECT_QUIET(p = xmem_alloc(h, 64, 0));
	CHECK(p != NULL);
	EXPECT_LOG(xmem_heap_remove_memory(h, va, LEN) != 0, EBUSY, "xmem_heap_remove_memory: ",
		   "an allocation in", "of heap \"ctl-a\" is live", "(EBUSY)");
	EXPECT_QUIET(xmem_free(p));
	EXPECT_QUIET(CHECK_OK(xmem_heap_remove_memory(h, va, LEN)));
	EXPECT_QUIET(CHECK_OK(xmem_heap_destroy(h)));
	EXPECT_LOG(xmem_heap_destroy(h) != 0, EINVAL, "xmem_heap_destroy: ",
		   "is not a live heap");
}

/* Arguments of xmem_heap_add_memory and xmem_register, one cause each. */
static void add_args(void)
{
	struct xmem_heap *h = xmem_heap_create("ctl-b");
	CHECK(h != NULL);
	size_t n = LEN / PAGE4K;
	EXPECT_LOG(xmem_heap_add_memory(NULL, va, LEN, tab, n, PAGE4K) != 0, EINVAL,
		   "xmem: xmem_heap_add_memory: ", "heap is NULL", "(EINVAL)");
	EXPECT_LOG(xmem_heap_add_memory(h, NULL, LEN, NULL, 0, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "va is NULL");
	EXPECT_LOG(xmem_heap_add_memory(h, va, 0, NULL, 0, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "len is 0");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, NULL, 0, 3000) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "page_size 0xbb8 is not a power of two");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, NULL, 0, 2048) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "page_size 0x800 is outside");
	EXPECT_LOG(xmem_heap_add_memory(h, va + 512, LEN, NULL, 0, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "is not a multiple of page_size 0x1000", "va 0x");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN - 512, NULL, 0, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "len 0x3e00 is not a multiple of page_size 0x1000");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, tab, n - 1, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "n_pages 3 is not len / page_size = 4");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, NULL, 2, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "n_pages 2 is not len / page_size = 4",
		   "nor 0, without a table");
	uint64_t bad[4] = {tab[0], tab[1] + 8, tab[2], tab[3]};
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, bad, n, PAGE4K) != 0, EINVAL,
		   "xmem_heap_add_memory: ", "iova[1] = ", "is not a multiple of page_size");
	EXPECT_LOG(xmem_register((void *)(((uintptr_t)1 << 48) - PAGE4K), 2 * PAGE4K, NULL, 0,
				 PAGE4K) != 0,
		   EINVAL, "xmem: xmem_register: ", "leaves the 48-bit address space");
	EXPECT_QUIET(CHECK_OK(xmem_heap_destroy(h)));
}

/* EEXIST names what the range overlaps: a heap's chunk, or a registration. */
static void overlaps(void)
{
	struct xmem_heap *a = xmem_heap_create("ctl-owner");
	struct xmem_heap *b = xmem_heap_create("ctl-other");
	CHECK(a && b);
	size_t n = LEN / PAGE4K;
	CHECK_OK(xmem_heap_add_memory(a, va, 2 * PAGE4K, tab, 2, PAGE4K));
	char want[128];
	snprintf(want, sizeof want, "overlaps chunk [%p, %p) of heap \"ctl-owner\"",
		 (void *)va, (void *)(va + 2 * PAGE4K));
	unsigned n0 = n_lines;
	CHECK(xmem_heap_add_memory(b, va, LEN, tab, n, PAGE4K) != 0 && errno == EEXIST);
	CHECK(n_lines - n0 == 1 && strstr(lines[n0 % 4], want) &&
	      strstr(lines[n0 % 4], "xmem: xmem_heap_add_memory: ") &&
	      strstr(lines[n0 % 4], "(EEXIST)"));
	printf("  overlap with a heap\n    -> %s\n", lines[n0 % 4]);
	EXPECT_LOG(xmem_register(va + PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K) != 0, EEXIST,
		   "xmem: xmem_register: ", "of heap \"ctl-owner\"", "(EEXIST)");
	EXPECT_LOG(xmem_unregister(va, 2 * PAGE4K) != 0, ENOENT, "xmem: xmem_unregister: ",
		   "was added to heap \"ctl-owner\"", "xmem_heap_remove_memory", "(ENOENT)");
	CHECK_OK(xmem_heap_remove_memory(a, va, 2 * PAGE4K));

	EXPECT_QUIET(CHECK_OK(xmem_register(va, 2 * PAGE4K, NULL, 0, PAGE4K)));
	EXPECT_LOG(xmem_heap_add_memory(b, va + PAGE4K, PAGE4K, NULL, 0, PAGE4K) != 0, EEXIST,
		   "xmem_heap_add_memory: ", "overlaps the registration [", "(xmem_register)");
	EXPECT_LOG(xmem_unregister(va, PAGE4K) != 0, ENOENT, "xmem_unregister: ",
		   "is not exactly one registration");
	EXPECT_LOG(xmem_unregister(NULL, PAGE4K) != 0, EINVAL, "xmem_unregister: ",
		   "va is NULL");
	EXPECT_QUIET(CHECK_OK(xmem_unregister(va, 2 * PAGE4K)));
	CHECK_OK(xmem_heap_destroy(a));
	CHECK_OK(xmem_heap_destroy(b));
}

static int veto(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)ctx;
	(void)r;
	if (ev == XMEM_MEM_EVENT_ADD) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

static int fake_map(void *ctx, void *v, uint64_t iova, uint64_t len)
{
	(void)ctx, (void)v, (void)iova, (void)len;
	return 0;
}

static void dma(void)
{
	struct xmem_dma_ops map_only = {.dma_map = fake_map};
	struct xmem_dma_ops none = {0};
	EXPECT_LOG(!xmem_dma_subscribe(NULL, &none, NULL), EINVAL,
		   "xmem: xmem_dma_subscribe: ", "name is NULL");
	EXPECT_LOG(!xmem_dma_subscribe("ctl-s", NULL, NULL), EINVAL, "xmem_dma_subscribe: ",
		   "ops is NULL");
	EXPECT_LOG(!xmem_dma_subscribe("ctl-s", &none, NULL), EINVAL, "xmem_dma_subscribe: ",
		   "ops has neither mem_event nor dma_map");
	EXPECT_LOG(!xmem_dma_subscribe("ctl-s", &map_only, NULL), EINVAL,
		   "xmem_dma_subscribe: ", "ops has dma_map without dma_unmap");
	EXPECT_LOG(!xmem_mem_event_register("ctl-s", NULL, NULL), EINVAL,
		   "xmem: xmem_mem_event_register: ", "fn is NULL");

	struct xmem_dma_subscriber *s;
	EXPECT_QUIET(s = xmem_mem_event_register("ctl-v", veto, NULL));
	CHECK(s != NULL);
	/* Nested: the one line is under the name of the call made. */
	EXPECT_LOG(!xmem_mem_event_register("ctl-v", veto, NULL), EEXIST,
		   "xmem: xmem_mem_event_register: ", "a subscriber named \"ctl-v\" exists",
		   "(EEXIST)");
	struct xmem_heap *h = xmem_heap_create("ctl-c");
	EXPECT_LOG(xmem_heap_add_memory(h, va, LEN, tab, LEN / PAGE4K, PAGE4K) != 0, EACCES,
		   "xmem: xmem_heap_add_memory: ", "subscriber \"ctl-v\" vetoed the region",
		   "(EACCES)");
	EXPECT_QUIET(CHECK_OK(xmem_dma_unsubscribe(s)));
	EXPECT_LOG(xmem_dma_unsubscribe(s) != 0, EINVAL, "xmem: xmem_dma_unsubscribe: ",
		   "is not a live subscriber");
	EXPECT_LOG(xmem_dma_unsubscribe(NULL) != 0, EINVAL, "xmem_dma_unsubscribe: ",
		   "s is NULL");
	CHECK_OK(xmem_heap_destroy(h));

	EXPECT_LOG(xmem_dma_set_iova_mode((enum xmem_iova_mode)7) != 0, EINVAL,
		   "xmem: xmem_dma_set_iova_mode: ", "mode 7 is not");
	EXPECT_LOG(xmem_dma_set_iova_ranges(NULL, 1) != 0, EINVAL,
		   "xmem: xmem_dma_set_iova_ranges: ", "ranges is NULL");
	struct xmem_iova_range rev = {.start = 1 << 20, .end = 1 << 12};
	EXPECT_LOG(xmem_dma_set_iova_ranges(&rev, 1) != 0, EINVAL,
		   "xmem_dma_set_iova_ranges: ", "start > end");
}

/* The data path and successful calls log nothing; nor do lookups. */
static void quiet(void)
{
	struct xmem_heap *h = xmem_heap_create("ctl-d");
	CHECK_OK(xmem_heap_add_memory(h, va, LEN, tab, LEN / PAGE4K, PAGE4K));
	void *objs[8];
	EXPECT_QUIET(CHECK(xmem_alloc(NULL, 64, 0) == NULL));
	EXPECT_QUIET(CHECK(xmem_alloc(h, 0, 0) == NULL));
	EXPECT_QUIET(CHECK(xmem_alloc(h, 64, 3) == NULL));
	EXPECT_QUIET(CHECK(xmem_alloc(h, 2 * LEN, 0) == NULL));   /* ENOMEM */
	EXPECT_QUIET(CHECK(xmem_alloc_bulk(h, 64, objs, 0) != 0));
	EXPECT_QUIET(CHECK_OK(xmem_alloc_bulk(h, 64, objs, 8)));
	EXPECT_QUIET(xmem_free_bulk(objs, 8));
	EXPECT_QUIET(CHECK(xmem_heap_lookup("ctl-none") == NULL));
	EXPECT_QUIET(CHECK_OK(xmem_heap_remove_memory(h, va, LEN)));
	EXPECT_QUIET(CHECK_OK(xmem_heap_destroy(h)));
}

int main(void)
{
	va = xt_map(LEN, PAGE4K, PROT_READ | PROT_WRITE);
	tab = xt_linear_table((uint64_t)1 << 40, LEN / PAGE4K, PAGE4K);
	xmem_set_log(capture);
	xt_run("heaps", heaps);
	xt_run("add_args", add_args);
	xt_run("overlaps", overlaps);
	xt_run("dma", dma);
	xt_run("quiet", quiet);
	xmem_set_log(NULL);
	xt_unmap(va, LEN);
	free(tab);
	return xt_done();
}
