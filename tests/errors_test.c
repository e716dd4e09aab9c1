/* errors_test.c - drives every row of docs/errors.md, the bad-input table.
 *
 * The document is the source of truth: each case performs the bad call(s)
 * of its row and the harness compares the result with the row's "returns"
 * and "errno" cells, so a case never restates an errno.  Before anything
 * runs, the test checks that doc, headers and cases agree (errors_table.h):
 * every row has a case, every case a row, every function declared in
 * xmem.h / xmem_dma.h / xmem_vfio.h a row, and every errno a row names is
 * in its function's header comment.
 *
 * Around every call the harness checks that nothing changed: the stats of
 * the case's scratch heap, of a witness heap and of any extra heap the case
 * names are identical, and the invalid-free counter and the log hook moved
 * only for rows that report.  After every row: the scratch heap's live
 * blocks are still live and free exactly once, a normal alloc/free works on
 * both heaps, the scratch memory can be removed, no heap, subscriber or
 * mapping was left behind, and checked mode and the IOVA mode are back to
 * their defaults.
 *
 *   errors_test --doc=docs/errors.md --header=include/xmem/xmem.h ...
 *               [--part=vfio] [--only=<id prefix>]
 * (XMEM_ERRORS_MD and XMEM_INCLUDE_DIR work as well as the flags.)
 * --part=vfio runs the rows that need a VFIO container (/dev/vfio/vfio) and
 * prints SKIPPED without one. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include <xmem/xmem_dma.h>
#include <xmem/xmem_vfio.h>

#include "errors_table.h"
#include "xt_util.h"

/* alloc/meta.h: the n-th following metadata allocation fails (ENOMEM). */
void xm_meta_fail_nth(long n);

/* IOVA bases, outside the assigner's default ranges [2^32, 2^39). */
#define WITNESS_IOVA ((uint64_t)1 << 45)
#define SCRATCH_IOVA ((uint64_t)1 << 44)
#define SPARE_IOVA   (((uint64_t)1 << 44) + ((uint64_t)1 << 36))

#define CHUNK_LEN (8 * MiB)
#define SPARE_LEN (8 * MiB)

/* ------------------------------------------------------------ log hook */

static _Atomic unsigned log_lines;

static void capture(const char *line)
{
	(void)line;
	atomic_fetch_add(&log_lines, 1);
}

/* ------------------------------------------------------------- the env */

struct witness {
	struct xmem_heap *h;
	char *va;
	uint64_t *tab;
	void *blocks[3];
	struct xmem_heap_stats base;
};

struct env {
	const struct et_row *row;
	struct xmem_heap *h;          /* scratch heap, with one chunk */
	char *map;                    /* guard | chunk | guard | spare | guard */
	size_t map_len;
	char *va;                     /* the chunk */
	size_t len;
	char *spare;                  /* memory no one registered */
	uint64_t *tab;                /* the chunk's IOVA table */
	uint64_t *spare_tab;          /* a table for the spare */
	void *small, *mid, *large;    /* live blocks of the scratch heap */
	struct xmem_heap *x;          /* extra heap to watch (set by a case) */
	struct xmem_heap_stats setup; /* scratch stats after setup */
	unsigned checks;              /* expectations checked */
	unsigned reports;             /* invalid frees expected */
	unsigned logged;              /* log lines expected */
	struct xmem_vfio_container *vc; /* --part=vfio */
};

static struct witness W;

struct snap {
	struct xmem_heap_stats s, w, x;
	bool has_x;
	uint64_t inv;
	unsigned logs;
};

static void stats_of(struct xmem_heap *h, struct xmem_heap_stats *s)
{
	memset(s, 0, sizeof *s);
	int e = errno;
	/* Stats do not drain: trim first, so cached objects and the spans
	 * they keep carved do not show as changes. */
	if (xmem_heap_trim(h) != 0 || xmem_heap_stats(h, s) != 0)
		xt_fail_at(__FILE__, __LINE__, "stats of heap %p failed: %s", (void *)h,
			   strerror(errno));
	errno = e;
}

static void snap_take(struct env *e, struct snap *sn)
{
	stats_of(e->h, &sn->s);
	stats_of(W.h, &sn->w);
	sn->has_x = e->x != NULL;
	if (sn->has_x)
		stats_of(e->x, &sn->x);
	sn->inv = xmem_invalid_free_count();
	sn->logs = atomic_load(&log_lines);
}

/* The accounting of a heap must be identical. */
static bool stats_same(const char *file, int line, const char *what,
		       const struct xmem_heap_stats *a, const struct xmem_heap_stats *b)
{
	bool ok = true;
#define SAME(f)                                                                    \
	if (a->f != b->f) {                                                        \
		xt_fail_at(file, line, "%s: stats." #f " changed: %llu -> %llu", what, \
			   (unsigned long long)a->f, (unsigned long long)b->f);    \
		ok = false;                                                        \
	}
	SAME(id);
	SAME(n_regions);
	SAME(total_bytes);
	SAME(alloc_bytes);
	SAME(free_bytes);
	SAME(largest_free);
	SAME(alloc_count);
	SAME(large_count);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		SAME(classes[c].live);
		SAME(classes[c].spans);
		SAME(classes[c].span_bytes);
	}
#undef SAME
	if (strcmp(a->name, b->name) != 0) {
		xt_fail_at(file, line, "%s: name changed", what);
		ok = false;
	}
	return ok;
}

/* After a call: heaps unchanged, reports as expected. */
static void snap_check(struct env *e, const struct snap *sn, const char *file, int line,
		       const char *what, unsigned reports, bool heaps_same)
{
	struct snap now;
	snap_take(e, &now);
	char buf[160];
	if (heaps_same) {
		snprintf(buf, sizeof buf, "scratch heap after %.100s", what);
		stats_same(file, line, buf, &sn->s, &now.s);
	}
	snprintf(buf, sizeof buf, "witness heap after %.100s", what);
	stats_same(file, line, buf, &sn->w, &now.w);
	if (sn->has_x && now.has_x && heaps_same) {
		snprintf(buf, sizeof buf, "extra heap after %.100s", what);
		stats_same(file, line, buf, &sn->x, &now.x);
	}
	if (now.inv - sn->inv != reports)
		xt_fail_at(file, line, "%s: invalid-free count moved by %llu, expected %u", what,
			   (unsigned long long)(now.inv - sn->inv), reports);
	if (now.logs - sn->logs != reports)
		xt_fail_at(file, line, "%s: %u log lines, expected %u", what,
			   now.logs - sn->logs, reports);
}

static bool row_is(struct env *e, const char *file, int line, const char *what,
		   bool want_void)
{
	enum et_ret r = e->row->ret;
	bool is_void = r == ET_REPORT || r == ET_NOTHING;
	if (r == ET_OK || r == ET_UNDETECTED || is_void != want_void) {
		xt_fail_at(file, line, "%s: this check does not fit row %s, which returns %s",
			   what, e->row->id, et_ret_names[r]);
		return false;
	}
	return true;
}

/* A value-returning call against its row. */
static void expect_value(struct env *e, const struct snap *sn, const char *file, int line,
			 const char *what, uint64_t v, int err)
{
	e->checks++;
	if (!row_is(e, file, line, what, false))
		return;
	bool ok;
	switch (e->row->ret) {
	case ET_MINUS1:
		ok = (int64_t)v == -1;
		break;
	case ET_BAD_IOVA:
		ok = v == XMEM_BAD_IOVA;
		break;
	default: /* NULL, 0 */
		ok = v == 0;
		break;
	}
	if (!ok)
		xt_fail_at(file, line, "%s returned %#llx, row %s says %s", what,
			   (unsigned long long)v, e->row->id, et_ret_names[e->row->ret]);
	if (e->row->err && err != e->row->err)
		xt_fail_at(file, line, "%s: errno %d (%s), row %s says %s", what, err,
			   strerror(err), e->row->id, e->row->err_name);
	snap_check(e, sn, file, line, what, 0, true);
}

/* A void call (free, free_bulk) against its row: n bad pointers. */
static void expect_void(struct env *e, const struct snap *sn, const char *file, int line,
			const char *what, unsigned n, int err, bool heaps_same)
{
	e->checks++;
	if (!row_is(e, file, line, what, true))
		return;
	unsigned reports = e->row->ret == ET_REPORT ? n : 0;
	if (e->row->err && err != e->row->err)
		xt_fail_at(file, line, "%s: errno %d (%s), row %s says %s", what, err,
			   strerror(err), e->row->id, e->row->err_name);
	snap_check(e, sn, file, line, what, reports, heaps_same);
	e->reports += reports;
	e->logged += reports;
}

/* The value is converted through uintptr_t: ints (-1 stays all ones),
 * pointers and uint64_t alike. */
#define EXPECT(e, expr)                                                          \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		uint64_t v_ = (uint64_t)(uintptr_t)(expr);                       \
		int er_ = errno;                                                 \
		expect_value((e), &sn_, __FILE__, __LINE__, #expr, v_, er_);     \
	} while (0)

/* EXPECT for xmem_alloc / xmem_zalloc: a block returned anyway is freed
 * again, so that one failure does not cascade into the next rows. */
#define EXPECT_ALLOC(e, expr)                                                    \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		void *p_ = (expr);                                               \
		int er_ = errno;                                                 \
		expect_value((e), &sn_, __FILE__, __LINE__, #expr, (uintptr_t)p_, er_); \
		if (p_)                                                          \
			xmem_free(p_);                                           \
	} while (0)

#define EXPECT_VOID_N(e, n, same, stmt)                                          \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		stmt;                                                            \
		int er_ = errno;                                                 \
		expect_void((e), &sn_, __FILE__, __LINE__, #stmt, (n), er_, (same)); \
	} while (0)
#define EXPECT_VOID(e, stmt) EXPECT_VOID_N(e, 1, true, stmt)

/* A row that is not an error: the case checks what the call does. */
#define EXPECT_OK(e, cond)                                                       \
	do {                                                                     \
		(e)->checks++;                                                   \
		if ((e)->row->ret != ET_OK)                                      \
			xt_fail_at(__FILE__, __LINE__, "EXPECT_OK on row %s, which returns %s", \
				   (e)->row->id, et_ret_names[(e)->row->ret]);   \
		CHECK(cond);                                                     \
	} while (0)

/* The row cannot be checked on this machine (said, not hidden). */
static void not_here(struct env *e, const char *why)
{
	printf("  note: %s not checked here: %s\n", e->row->id, why);
	e->checks++;
}

/* ------------------------------------------------- fault injection loop */

/* One attempt at the call: true when it succeeded; on failure *v and *err
 * hold the result.  The attempt disarms the fault right after the call (an
 * armed fault the call did not reach would hit the undo), then undoes a
 * success. */
typedef bool (*attempt_fn)(struct env *e, uint64_t *v, int *err);

/* Make the 1st, 2nd, ... metadata allocation of the call fail, until the
 * call succeeds: every failure must be the row's errno and change nothing. */
static void fault_loop(struct env *e, const char *what, attempt_fn attempt)
{
	unsigned fails = 0;
	bool ok = false;
	for (long k = 1; k <= 500 && !ok; k++) {
		struct snap sn;
		snap_take(e, &sn);
		uint64_t v = 0;
		int err = 0;
		xm_meta_fail_nth(k);
		ok = attempt(e, &v, &err);
		xm_meta_fail_nth(0);
		if (!ok) {
			fails++;
			char buf[128];
			snprintf(buf, sizeof buf, "%s (metadata allocation %ld fails)", what, k);
			expect_value(e, &sn, __FILE__, __LINE__, buf, v, err);
		}
	}
	if (!CHECK(ok))
		fprintf(stderr, "  %s never succeeded\n", what);
	if (!CHECK(fails > 0))
		fprintf(stderr, "  %s never failed\n", what);
	printf("  %s: failed cleanly at %u metadata allocations\n", what, fails);
}

/* ----------------------------------------------------------- witness */

static void witness_init(void)
{
	size_t len = 4 * MiB;
	W.va = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	W.tab = xt_linear_table(WITNESS_IOVA, len / PAGE4K, PAGE4K);
	W.h = xmem_heap_create("err-witness");
	if (!W.h || xmem_heap_add_memory(W.h, W.va, len, W.tab, len / PAGE4K, PAGE4K))
		XT_FATAL("witness: %s", strerror(errno));
	static const size_t sizes[3] = {64, 3000, 200000};
	for (int i = 0; i < 3; i++)
		if (!(W.blocks[i] = xmem_alloc(W.h, sizes[i], 0)))
			XT_FATAL("witness alloc: %s", strerror(errno));
	stats_of(W.h, &W.base);
}

static void witness_fini(void)
{
	for (int i = 0; i < 3; i++)
		xmem_free(W.blocks[i]);
	CHECK_OK(xmem_heap_remove_memory(W.h, W.va, 4 * MiB));
	CHECK_OK(xmem_heap_destroy(W.h));
	xt_unmap(W.va, 4 * MiB);
	free(W.tab);
}

/* ---------------------------------------------------------- env setup */

static void env_init(struct env *e, const struct et_row *row)
{
	memset(e, 0, sizeof *e);
	e->row = row;
	e->len = CHUNK_LEN;
	e->map_len = PAGE4K + CHUNK_LEN + PAGE4K + SPARE_LEN + PAGE4K;
	e->map = xt_map(e->map_len, 2 * MiB, PROT_READ | PROT_WRITE);
	e->va = e->map + PAGE4K;
	e->spare = e->va + CHUNK_LEN + PAGE4K;
	e->tab = xt_linear_table(SCRATCH_IOVA, CHUNK_LEN / PAGE4K, PAGE4K);
	e->spare_tab = xt_linear_table(SPARE_IOVA, SPARE_LEN / PAGE4K, PAGE4K);
	e->h = xmem_heap_create("err-scratch");
	if (!e->h || xmem_heap_add_memory(e->h, e->va, e->len, e->tab, e->len / PAGE4K, PAGE4K))
		XT_FATAL("scratch heap: %s", strerror(errno));
	e->small = xmem_alloc(e->h, 64, 0);
	e->mid = xmem_alloc(e->h, 3000, 0);
	e->large = xmem_alloc(e->h, 200000, 0);
	if (!e->small || !e->mid || !e->large)
		XT_FATAL("scratch blocks: %s", strerror(errno));
	stats_of(e->h, &e->setup);
}

static void heap_ids(bool live[XMEM_MAX_HEAPS])
{
	int err = errno;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		live[i] = xmem_heap_from_id(i) != NULL;
	errno = err;
}

static int walk_count(const char *s, const struct xmem_dma_mapping *m, void *arg)
{
	(void)s, (void)m;
	(*(long *)arg)++;
	return 0;
}

/* A normal allocation and free on h still work, and report nothing. */
static void alloc_works(struct xmem_heap *h, const char *which)
{
	static const size_t sizes[] = {16, 64, 2048, 5000, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *p = xmem_alloc(h, sizes[i], 0);
		if (!CHECK(p != NULL)) {
			fprintf(stderr, "  alloc(%zu) on the %s heap failed: %s\n", sizes[i],
				which, strerror(errno));
			continue;
		}
		CHECK_GE(xmem_usable_size(p), sizes[i]);
		xmem_free(p);
	}
	void *objs[32];
	if (CHECK_OK(xmem_alloc_bulk(h, 256, objs, 32)))
		xmem_free_bulk(objs, 32);
}

static void env_fini(struct env *e, const bool live_before[XMEM_MAX_HEAPS], uint64_t inv0,
		     unsigned logs0)
{
	CHECK(xmem_checked() == 0);
	CHECK(xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_TABLE);
	xmem_set_checked(0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	xm_meta_fail_nth(0);
	if (!CHECK(e->checks > 0))
		fprintf(stderr, "  the case of %s checked nothing\n", e->row->id);

	struct xmem_heap_stats s, w;
	stats_of(e->h, &s);
	stats_same(__FILE__, __LINE__, "scratch heap after the case", &e->setup, &s);
	stats_of(W.h, &w);
	stats_same(__FILE__, __LINE__, "witness heap after the case", &W.base, &w);
	CHECK_EQ(xmem_invalid_free_count() - inv0, e->reports);
	CHECK_EQ(atomic_load(&log_lines) - logs0, e->logged);

	/* Nothing left behind: subscribers with mappings, registrations. */
	long maps = 0;
	CHECK_EQ(xmem_dma_mapping_walk(NULL, walk_count, &maps), 0);
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);

	/* The heaps work, the live blocks are live and free exactly once. */
	uint64_t inv = xmem_invalid_free_count();
	alloc_works(e->h, "scratch");
	alloc_works(W.h, "witness");
	CHECK_GE(xmem_usable_size(e->small), 64);
	CHECK_GE(xmem_usable_size(e->mid), 3000);
	CHECK_GE(xmem_usable_size(e->large), 200000);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(xmem_virt2iova(W.blocks[i]),
			 WITNESS_IOVA + (uint64_t)((char *)W.blocks[i] - W.va));
	xmem_free(e->small);
	xmem_free(e->mid);
	xmem_free(e->large);
	CHECK_EQ(xmem_invalid_free_count(), inv);
	stats_of(e->h, &s);
	CHECK_EQ(s.alloc_count, 0);
	CHECK_OK(xmem_heap_remove_memory(e->h, e->va, e->len));
	CHECK_OK(xmem_heap_destroy(e->h));
	xt_unmap(e->map, e->map_len);
	free(e->tab);
	free(e->spare_tab);

	/* No heap was left behind (or lost). */
	bool live[XMEM_MAX_HEAPS];
	heap_ids(live);
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		if (!CHECK_EQ(live[i], live_before[i]))
			fprintf(stderr, "  heap id %d: live %d before, %d after\n", i,
				live_before[i], live[i]);
}

/* ------------------------------------------------------------- helpers */

/* Readable memory that is not a heap, a subscriber or a test device. */
static uint64_t junk[1024];

static struct xmem_heap *dead_heap(void)
{
	struct xmem_heap *h = xmem_heap_create("err-dead");
	if (!h || xmem_heap_destroy(h))
		XT_FATAL("dead heap: %s", strerror(errno));
	return h;
}

static struct xmem_heap *foreign_heap(void)
{
	return (struct xmem_heap *)junk;
}

static const char *long_name(size_t n)
{
	static char buf[128];
	memset(buf, 'n', n);
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------ xmem.h: heaps */

static void c_heap_create_null(struct env *e) { EXPECT(e, xmem_heap_create(NULL)); }
static void c_heap_create_empty(struct env *e) { EXPECT(e, xmem_heap_create("")); }

static void c_heap_create_too_long(struct env *e)
{
	EXPECT(e, xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX)));
	EXPECT(e, xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX + 40)));
	/* the longest valid name is fine */
	struct xmem_heap *h = xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX - 1));
	if (CHECK(h))
		CHECK_OK(xmem_heap_destroy(h));
}

static void c_heap_create_duplicate(struct env *e)
{
	EXPECT(e, xmem_heap_create("err-scratch"));
	EXPECT(e, xmem_heap_create("err-witness"));
}

static void c_heap_create_full(struct env *e)
{
	struct xmem_heap *hs[XMEM_MAX_HEAPS];
	int n = 0;
	char name[XMEM_HEAP_NAME_MAX];
	for (; n < XMEM_MAX_HEAPS; n++) {
		snprintf(name, sizeof name, "err-full-%d", n);
		if (!(hs[n] = xmem_heap_create(name)))
			break;
	}
	CHECK_EQ(n, XMEM_MAX_HEAPS - 2);        /* scratch and witness exist */
	EXPECT(e, xmem_heap_create("err-one-more"));
	for (int i = 0; i < n; i++)
		CHECK_OK(xmem_heap_destroy(hs[i]));
}

static bool try_heap_create(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	struct xmem_heap *h = xmem_heap_create("err-nomem");
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)h;
	if (h) {
		CHECK_OK(xmem_heap_destroy(h));
		return true;
	}
	CHECK_EQ(xmem_heap_lookup("err-nomem"), NULL);
	return false;
}

/* Test-only hook (alloc/heap.c): dead heap descriptors are reused by the
 * next create without a metadata allocation; give them back first. */
void xm_heap_descs_release(void);

static void c_heap_create_no_metadata(struct env *e)
{
	xm_heap_descs_release();
	fault_loop(e, "xmem_heap_create", try_heap_create);
}

static void c_heap_destroy_null(struct env *e) { EXPECT(e, xmem_heap_destroy(NULL)); }

static void c_heap_destroy_dead(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-twice");
	if (!CHECK(h))
		return;
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_destroy(h));
}

static void c_heap_destroy_foreign(struct env *e) { EXPECT(e, xmem_heap_destroy(foreign_heap())); }

static void c_heap_destroy_has_memory(struct env *e)
{
	EXPECT(e, xmem_heap_destroy(e->h));
	EXPECT(e, xmem_heap_destroy(W.h));
	CHECK(xmem_heap_lookup("err-scratch") == e->h);
}

static void c_heap_lookup_null(struct env *e) { EXPECT(e, xmem_heap_lookup(NULL)); }
static void c_heap_lookup_empty(struct env *e) { EXPECT(e, xmem_heap_lookup("")); }
static void c_heap_lookup_too_long(struct env *e)
{
	EXPECT(e, xmem_heap_lookup(long_name(XMEM_HEAP_NAME_MAX)));
}
static void c_heap_lookup_unknown(struct env *e) { EXPECT(e, xmem_heap_lookup("err-nobody")); }

static void c_heap_lookup_destroyed(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-gone");
	if (!CHECK(h))
		return;
	CHECK(xmem_heap_lookup("err-gone") == h);
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_lookup("err-gone"));
}

static void c_heap_id_null(struct env *e) { EXPECT(e, xmem_heap_id(NULL)); }
static void c_heap_id_dead(struct env *e) { EXPECT(e, xmem_heap_id(dead_heap())); }
static void c_heap_id_foreign(struct env *e) { EXPECT(e, xmem_heap_id(foreign_heap())); }

static void c_heap_from_id_negative(struct env *e)
{
	EXPECT(e, xmem_heap_from_id(-1));
	EXPECT(e, xmem_heap_from_id(INT_MIN));
}

static void c_heap_from_id_too_big(struct env *e)
{
	EXPECT(e, xmem_heap_from_id(XMEM_MAX_HEAPS));
	EXPECT(e, xmem_heap_from_id(INT_MAX));
}

static void c_heap_from_id_unused(struct env *e)
{
	int id = -1;
	int err = errno;
	for (int i = XMEM_MAX_HEAPS - 1; i >= 0 && id < 0; i--)
		if (!xmem_heap_from_id(i))
			id = i;
	errno = err;
	if (CHECK(id >= 0))
		EXPECT(e, xmem_heap_from_id(id));
}

static void c_heap_from_id_destroyed(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-gone");
	if (!CHECK(h))
		return;
	int id = xmem_heap_id(h);
	CHECK(xmem_heap_from_id(id) == h);
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_from_id(id));
}

static void c_heap_name_null(struct env *e) { EXPECT(e, xmem_heap_name(NULL)); }
static void c_heap_name_dead(struct env *e) { EXPECT(e, xmem_heap_name(dead_heap())); }
static void c_heap_name_foreign(struct env *e) { EXPECT(e, xmem_heap_name(foreign_heap())); }

/* ------------------------------------------ xmem.h: add and remove memory */

#define SPARE_PAGES (SPARE_LEN / PAGE4K)

static void c_add_null_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(NULL, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_dead_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(dead_heap(), e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_foreign_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(foreign_heap(), e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_null_va(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, NULL, SPARE_LEN, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, NULL, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
}
static void c_add_zero_len(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, 0, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, 0, e->spare_tab, 0, PAGE4K));
}
static void c_add_page_size_not_pow2(struct env *e)
{
	static const size_t ps[] = {12288, 5000, SIZE_MAX, 3 * PAGE2M};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_add_page_size_small(struct env *e)
{
	static const size_t ps[] = {0, 1, 2048};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_add_page_size_big(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0,
				       XMEM_PAGE_SIZE_MAX * 2));
}
static void c_add_va_misaligned(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + 1, SPARE_LEN - PAGE4K, NULL, 0, PAGE4K));
	/* the spare is 2 MiB aligned: spare + 4 KiB is not, for 2 MiB pages */
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE2M));
}
static void c_add_len_misaligned(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN - 1, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, PAGE2M + PAGE4K, NULL, 0, PAGE2M));
}
static void c_add_n_pages_table(struct env *e)
{
	static const size_t n[] = {0, SPARE_PAGES - 1, SPARE_PAGES + 1};
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, n[i], PAGE4K));
}
static void c_add_n_pages_no_table(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 1, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, SPARE_PAGES + 1, PAGE4K));
}
static void c_add_beyond_va_bits(struct env *e)
{
	uintptr_t top = (uintptr_t)1 << XMEM_VA_BITS;
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)(top - PAGE4K), 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)top, PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)PAGE4K, top + PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)(uintptr_t)-PAGE4K, PAGE4K, NULL, 0, PAGE4K));
}
static void c_add_same_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va, e->len, e->tab, e->len / PAGE4K, PAGE4K));
}
static void c_add_overlap_partial(struct env *e)
{
	/* starts inside, ends inside, contains */
	EXPECT(e, xmem_heap_add_memory(e->h, e->va + e->len - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->map, e->len + 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va + PAGE4K, PAGE4K, NULL, 0, PAGE4K));
}
static void c_add_overlap_other_heap(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-other");
	if (!CHECK(o))
		return;
	e->x = o;
	EXPECT(e, xmem_heap_add_memory(o, e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(o, e->va + PAGE2M, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(o, W.va, PAGE4K, NULL, 0, PAGE4K));
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}
static void c_add_overlap_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + PAGE4K, SPARE_LEN - PAGE4K, NULL, 0, PAGE4K));
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}

static bool try_add(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
		CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_FAILS_PTR(xmem_iova2virt(SPARE_IOVA), ENOENT);
	return false;
}
/* Removal rebuilds the IOVA search table: ENOMEM before anything changed. */
static bool try_remove(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_heap_remove_memory(e->x, e->spare, SPARE_LEN);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
	CHECK(xmem_iova2virt(SPARE_IOVA) == e->spare);
	void *p = xmem_alloc(e->x, 100000, 0);   /* the chunk still serves */
	CHECK(p != NULL);
	xmem_free(p);
	return false;
}
static void c_remove_no_metadata(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-nomem");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		fault_loop(e, "xmem_heap_remove_memory", try_remove);
		e->x = NULL;
	}
	CHECK_OK(xmem_heap_destroy(o));
}

static void c_add_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_heap_add_memory", try_add);
}

/* A memory-event subscriber that vetoes the ADD of the region at ctx with
 * veto_errno (0: a veto without a reason) and accepts every other one. */
static int veto_errno;
static int ev_veto(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	if (ev != XMEM_MEM_EVENT_ADD || r->va != ctx)
		return 0;
	errno = veto_errno;
	return -1;
}
static int ev_ok(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)ctx, (void)ev, (void)r;
	return 0;
}

static void c_add_subscriber_veto(struct env *e)
{
	veto_errno = EPERM;
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-veto", ev_veto, e->spare);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	CHECK_OK(xmem_dma_unsubscribe(s));
}

/* A test device with room for the entries of the regions that exist (one
 * run each) and no more. */
static void c_add_subscriber_no_entries(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 2);
	if (!CHECK(t))
		return;
	struct xmem_dma_testdev_stats st0, st1;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st0));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st1));
	CHECK_EQ(st1.entries, st0.entries);
	CHECK_EQ(st1.map_calls, st0.map_calls);   /* failed before any map */
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

static void c_add_map_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	/* Scattered IOVAs: several runs; the second map call fails, the first
	 * must be unmapped again. */
	for (size_t i = 0; i < SPARE_PAGES; i++)
		e->spare_tab[i] = SPARE_IOVA + (i / 512) * 4 * PAGE2M + (i % 512) * PAGE4K;
	struct xmem_dma_testdev_stats st0, st1;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st0));
	CHECK_OK(xmem_dma_testdev_inject(t, XMEM_TESTDEV_FAULT_MAP_EFAULT, 1));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st1));
	CHECK_EQ(st1.entries, st0.entries);
	CHECK_EQ(st1.mapped_bytes, st0.mapped_bytes);
	CHECK_EQ(st1.faults_fired, st0.faults_fired + 1);
	CHECK_OK(xmem_dma_testdev_destroy(t));
	free(e->spare_tab);
	e->spare_tab = xt_linear_table(SPARE_IOVA, SPARE_PAGES, PAGE4K);
}

static const struct xmem_iova_range default_range = {XMEM_DMA_DEFAULT_IOVA_START,
						     XMEM_DMA_DEFAULT_IOVA_END};

static void c_add_assign_full(struct env *e)
{
	struct xmem_iova_range small = {(uint64_t)1 << 40, ((uint64_t)1 << 40) + 16 * PAGE4K - 1};
	CHECK_OK(xmem_dma_set_iova_ranges(&small, 1));
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	/* what fits still works */
	if (CHECK_OK(xmem_register(e->spare, 16 * PAGE4K, NULL, 0, PAGE4K))) {
		CHECK_EQ(xmem_virt2iova(e->spare), (uint64_t)1 << 40);
		CHECK_OK(xmem_unregister(e->spare, 16 * PAGE4K));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
	CHECK_OK(xmem_dma_set_iova_ranges(&default_range, 1));
}

static void c_add_assign_table_conflict(struct env *e)
{
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	size_t half = SPARE_LEN / 2;
	if (CHECK_OK(xmem_register(e->spare, half, NULL, 0, PAGE4K))) {
		uint64_t base = xmem_virt2iova(e->spare);
		CHECK_NE(base, XMEM_BAD_IOVA);
		uint64_t *t = xt_linear_table(base + PAGE4K, half / PAGE4K, PAGE4K);
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare + half, half, t, half / PAGE4K, PAGE4K));
		free(t);
		CHECK_OK(xmem_unregister(e->spare, half));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}

static void c_add_pa_not_resident(struct env *e)
{
	/* The spare was never touched: no page is present. */
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_PA));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}

static void c_remove_null_heap(struct env *e) { EXPECT(e, xmem_heap_remove_memory(NULL, e->va, e->len)); }
static void c_remove_dead_heap(struct env *e) { EXPECT(e, xmem_heap_remove_memory(dead_heap(), e->va, e->len)); }
static void c_remove_null_va(struct env *e) { EXPECT(e, xmem_heap_remove_memory(e->h, NULL, e->len)); }
static void c_remove_zero_len(struct env *e) { EXPECT(e, xmem_heap_remove_memory(e->h, e->va, 0)); }
static void c_remove_not_a_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	int x;
	EXPECT(e, xmem_heap_remove_memory(e->h, &x, sizeof x));
}
static void c_remove_part_of_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len - PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va + PAGE4K, e->len - PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len + PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va - PAGE4K, e->len + PAGE4K));
}
static void c_remove_two_chunks(struct env *e)
{
	/* The spare's first half and second half as two chunks. */
	size_t half = SPARE_LEN / 2;
	if (!CHECK_OK(xmem_heap_add_memory(e->h, e->spare, half, NULL, 0, PAGE4K)))
		return;
	if (CHECK_OK(xmem_heap_add_memory(e->h, e->spare + half, half, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
		CHECK_OK(xmem_heap_remove_memory(e->h, e->spare + half, half));
	}
	CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, half));
}
static void c_remove_other_heap(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, W.va, 4 * MiB));
	EXPECT(e, xmem_heap_remove_memory(W.h, e->va, e->len));
}
static void c_remove_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void c_remove_removed(struct env *e)
{
	if (!CHECK_OK(xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
}
static void c_remove_in_use(struct env *e)
{
	/* The scratch chunk holds a small, a class and a large block. */
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len));
	/* Each kind alone, in a chunk of its own. */
	struct xmem_heap *o = xmem_heap_create("err-busy");
	if (!CHECK(o))
		return;
	e->x = o;
	static const size_t sizes[] = {16, 64, 3000, XMEM_MAX_CLASS_SIZE, 200000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		if (!CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
			break;
		void *p = xmem_alloc(o, sizes[i], 0);
		CHECK(p != NULL);
		EXPECT(e, xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
		xmem_free(p);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}

/* ------------------------------------------ xmem.h: register, unregister */

static void c_register_null_va(struct env *e) { EXPECT(e, xmem_register(NULL, SPARE_LEN, NULL, 0, PAGE4K)); }
static void c_register_zero_len(struct env *e) { EXPECT(e, xmem_register(e->spare, 0, NULL, 0, PAGE4K)); }
static void c_register_page_size(struct env *e)
{
	static const size_t ps[] = {0, 2048, 12288, XMEM_PAGE_SIZE_MAX * 2};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_register(e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_register_misaligned(struct env *e)
{
	EXPECT(e, xmem_register(e->spare + 8, PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, PAGE4K + 8, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE2M));
}
static void c_register_n_pages(struct env *e)
{
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES - 1, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, NULL, 7, PAGE4K));
}
static void c_register_beyond_va_bits(struct env *e)
{
	uintptr_t top = (uintptr_t)1 << XMEM_VA_BITS;
	EXPECT(e, xmem_register((void *)(top - PAGE4K), 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register((void *)(uintptr_t)-PAGE2M, PAGE2M, NULL, 0, PAGE2M));
}
static void c_register_overlap_heap(struct env *e)
{
	EXPECT(e, xmem_register(e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->va + e->len - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(W.va, PAGE4K, NULL, 0, PAGE4K));
}
static void c_register_overlap_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}

static bool try_register(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare + 5), SPARE_IOVA + 5);
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_FAILS_PTR(xmem_iova2virt(SPARE_IOVA), ENOENT);
	return false;
}
static void c_register_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_register", try_register);
}
static bool try_unregister(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_unregister(e->spare, SPARE_LEN);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
	return false;
}

static void c_register_subscriber_veto(struct env *e)
{
	veto_errno = 0;
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-veto", ev_veto, e->spare);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_OK(xmem_dma_unsubscribe(s));
}

static void c_unregister_null_va(struct env *e) { EXPECT(e, xmem_unregister(NULL, SPARE_LEN)); }
static void c_unregister_zero_len(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_unregister(e->spare, 0));
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void c_unregister_unknown(struct env *e)
{
	EXPECT(e, xmem_unregister(e->spare, SPARE_LEN));
	int x;
	EXPECT(e, xmem_unregister(&x, sizeof x));
}
static void c_unregister_part(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_unregister(e->spare, PAGE4K));
	EXPECT(e, xmem_unregister(e->spare + PAGE4K, PAGE2M - PAGE4K));
	EXPECT(e, xmem_unregister(e->spare, 2 * PAGE2M));
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA); /* still registered, no table */
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}
static void c_unregister_heap_chunk(struct env *e)
{
	EXPECT(e, xmem_unregister(e->va, e->len));
	EXPECT(e, xmem_unregister(W.va, 4 * MiB));
	CHECK_EQ(xmem_virt2iova(e->va), SCRATCH_IOVA);
}
static void c_unregister_no_metadata(struct env *e)
{
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K)))
		fault_loop(e, "xmem_unregister", try_unregister);
}
static void c_unregister_twice(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	EXPECT(e, xmem_unregister(e->spare, SPARE_LEN));
}

/* ------------------------------------------------- xmem.h: allocation */

static void c_alloc_null_heap(struct env *e) { EXPECT_ALLOC(e, xmem_alloc(NULL, 64, 0)); }
static void c_alloc_dead_heap(struct env *e)
{
	struct xmem_heap *d = dead_heap();
	EXPECT_ALLOC(e, xmem_alloc(d, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc(d, 100000, 0));
}
static void c_alloc_foreign_heap(struct env *e) { EXPECT_ALLOC(e, xmem_alloc(foreign_heap(), 64, 0)); }
static void c_alloc_zero_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, 0, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 0, 64));
}

static const size_t bad_aligns[] = {3, 7, 24, 96, 1000, 4095, SIZE_MAX, ((size_t)1 << 63) + 1};

static void c_alloc_align_not_pow2(struct env *e)
{
	for (size_t i = 0; i < sizeof bad_aligns / sizeof bad_aligns[0]; i++) {
		EXPECT_ALLOC(e, xmem_alloc(e->h, 64, bad_aligns[i]));
		EXPECT_ALLOC(e, xmem_alloc(e->h, 100000, bad_aligns[i]));
	}
}
static void c_alloc_huge_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX, 64));
	EXPECT_ALLOC(e, xmem_alloc(e->h, (size_t)1 << 63, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, ((size_t)1 << 48) + 1, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX - PAGE4K + 2, 0));
}
static void c_alloc_larger_than_heap(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, e->len, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, e->len + 1, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64 * MiB, 4096));
}
static void c_alloc_empty_heap(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-empty");
	if (!CHECK(o))
		return;
	e->x = o;
	EXPECT_ALLOC(e, xmem_alloc(o, 16, 0));
	EXPECT_ALLOC(e, xmem_alloc(o, 3000, 0));
	EXPECT_ALLOC(e, xmem_alloc(o, 100000, 0));
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}
static void c_alloc_huge_align(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64, (size_t)1 << 40));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 100000, (size_t)1 << 40));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64, (size_t)1 << 63));
}
static void c_alloc_iova_scattered(struct env *e)
{
	/* Every page of the spare jumps in IOVA. */
	for (size_t i = 0; i < SPARE_PAGES; i++)
		e->spare_tab[i] = SPARE_IOVA + 2 * i * PAGE4K;
	struct xmem_heap *o = xmem_heap_create("err-scattered");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		EXPECT_ALLOC(e, xmem_alloc(o, 5000, 0));
		EXPECT_ALLOC(e, xmem_alloc(o, 8192, 0));
		EXPECT_ALLOC(e, xmem_alloc(o, 100000, 0));
		e->x = NULL;
		void *p = xmem_alloc(o, 4096, 0);   /* one page still works */
		CHECK(p != NULL);
		xmem_free(p);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
	free(e->spare_tab);
	e->spare_tab = xt_linear_table(SPARE_IOVA, SPARE_PAGES, PAGE4K);
}

static size_t nomem_size;
static bool try_alloc(struct env *e, uint64_t *v, int *err)
{
	void *p = xmem_alloc(e->x, nomem_size, 0);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)p;
	if (p) {
		xmem_free(p);
		return true;
	}
	return false;
}
static void c_alloc_no_metadata(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-nomem");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		e->x = o;
		nomem_size = 100000;
		fault_loop(e, "xmem_alloc(100000)", try_alloc);
		/* A class span whose descriptor cannot be allocated is retried
		 * after a drain: one failing metadata allocation is absorbed.
		 * Whatever happens, a failure must be ENOMEM and change nothing. */
		static const size_t sizes[] = {20000, 64};
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			for (long k = 1; k <= 8; k++) {
				struct snap sn;
				snap_take(e, &sn);
				xm_meta_fail_nth(k);
				errno = 0;
				void *p = xmem_alloc(o, sizes[i], 0);
				int err = errno;
				xm_meta_fail_nth(0);
				if (p) {
					xmem_free(p);
				} else {
					char buf[80];
					snprintf(buf, sizeof buf, "xmem_alloc(%zu), allocation %ld fails",
						 sizes[i], k);
					expect_value(e, &sn, __FILE__, __LINE__, buf, 0, err);
				}
			}
		}
		e->x = NULL;
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
}

static void c_zalloc_null_heap(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(NULL, 64, 0)); }
static void c_zalloc_dead_heap(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(dead_heap(), 64, 0)); }
static void c_zalloc_zero_size(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(e->h, 0, 0)); }
static void c_zalloc_align_not_pow2(struct env *e)
{
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, 3));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, 1000));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, SIZE_MAX));
}
static void c_zalloc_huge_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_zalloc(e->h, SIZE_MAX, 0));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, e->len + 1, 0));
}

static void c_alloc_bulk_null_heap(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(NULL, 64, objs, 4));
}
static void c_alloc_bulk_dead_heap(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(dead_heap(), 64, objs, 4));
}
static void c_alloc_bulk_null_objs(struct env *e)
{
	EXPECT(e, xmem_alloc_bulk(e->h, 64, NULL, 4));
	EXPECT(e, xmem_alloc_bulk(e->h, 100000, NULL, 1));
}
static void c_alloc_bulk_zero_size(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, 0, objs, 4));
}
static void c_alloc_bulk_zero_n(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, 64, objs, 0));
}
static void c_alloc_bulk_too_many(struct env *e)
{
	/* 8 MiB chunk: 1000 x 1 MiB, 100 x 100000, 20000 x 2048 never fit. */
	static void *objs[20000];
	EXPECT(e, xmem_alloc_bulk(e->h, MiB, objs, 1000));
	EXPECT(e, xmem_alloc_bulk(e->h, 100000, objs, 100));
	EXPECT(e, xmem_alloc_bulk(e->h, 2048, objs, 20000));
}
static void c_alloc_bulk_huge_size(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, SIZE_MAX, objs, 4));
	EXPECT(e, xmem_alloc_bulk(e->h, SIZE_MAX / 2, objs, 4));
}

static void c_set_checked_any_value(struct env *e)
{
	EXPECT_OK(e, xmem_set_checked(42) == 0);
	EXPECT_OK(e, xmem_checked() == 1);
	EXPECT_OK(e, xmem_set_checked(-1) == 1);
	EXPECT_OK(e, xmem_checked() == 1);
	EXPECT_OK(e, xmem_set_checked(0) == 1);
	EXPECT_OK(e, xmem_checked() == 0);
}
static void c_checked_no_input(struct env *e)
{
	EXPECT_OK(e, xmem_checked() == 0);
}
static void c_invalid_free_count_no_input(struct env *e)
{
	uint64_t a = xmem_invalid_free_count();
	EXPECT_OK(e, xmem_invalid_free_count() == a);
}

/* ----------------------- xmem.h: free, free_bulk, usable_size of bad pointers */

/* A generator produces bad pointers of one kind and hands each to use(),
 * which makes the call of the row's function (free, free_bulk with the
 * pointer between two NULLs, or usable_size). */
typedef void (*use_fn)(struct env *e, void *p);
typedef void (*gen_fn)(struct env *e, use_fn use);

static void use_free(struct env *e, void *p)
{
	EXPECT_VOID(e, xmem_free(p));
}
static void use_free_bulk(struct env *e, void *p)
{
	void *objs[3] = {NULL, p, NULL};
	EXPECT_VOID(e, xmem_free_bulk(objs, 3));
}
static void use_usable(struct env *e, void *p)
{
	EXPECT(e, xmem_usable_size(p));
}

static void gen_null(struct env *e, use_fn use) { use(e, NULL); }
static void gen_stack(struct env *e, use_fn use)
{
	volatile int on_stack = 1;
	use(e, (void *)&on_stack);
}
static void gen_malloc(struct env *e, use_fn use)
{
	void *p = malloc(64);
	use(e, p);
	free(p);
}
static void gen_static(struct env *e, use_fn use)
{
	static int in_data;
	use(e, &in_data);
	use(e, (void *)&junk[7]);
}
static void gen_past_end(struct env *e, use_fn use) { use(e, e->va + e->len); }
static void gen_before_start(struct env *e, use_fn use) { use(e, e->va - 1); }

/* A block of a chunk that was removed: allocated, freed, chunk removed. */
static void *removed_block(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-removed");
	if (!CHECK(o))
		return NULL;
	void *q = NULL;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		q = xmem_alloc(o, 64, 0);
		CHECK(q && (char *)q >= e->spare && (char *)q < e->spare + SPARE_LEN);
		xmem_free(q);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
	return q;
}
static void gen_removed(struct env *e, use_fn use)
{
	void *q = removed_block(e);
	if (q)
		use(e, q);
}
static void gen_removed_start(struct env *e, use_fn use)
{
	if (removed_block(e))
		use(e, e->spare);
}
static void gen_registered(struct env *e, use_fn use)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K)))
		return;
	use(e, e->spare);
	use(e, e->spare + PAGE4K + 64);
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void gen_large_interior(struct env *e, use_fn use)
{
	char *l = e->large;
	size_t us = xmem_usable_size(l);
	use(e, l + 1);
	use(e, l + 64);
	use(e, l + PAGE4K);
	use(e, l + us - 1);
}
static void gen_no_block(struct env *e, use_fn use)
{
	/* The chunk is 8 MiB and holds three small spans and blocks at its
	 * start: its last pages were never carved. */
	use(e, e->va + e->len - 8);
	use(e, e->va + e->len - PAGE4K);
	use(e, e->va + e->len / 2);
}
static void gen_wild(struct env *e, use_fn use)
{
	static const uintptr_t a[] = {1, 4095, (uintptr_t)1 << 47, (uintptr_t)1 << 48,
				      (uintptr_t)1 << 63, UINTPTR_MAX - 63};
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		use(e, (void *)a[i]);
}
/* A large block that was freed (double free; usable size of a freed one). */
static void gen_freed_large(struct env *e, use_fn use)
{
	void *l = xmem_alloc(e->h, 100000, 0);
	if (!CHECK(l))
		return;
	xmem_free(l);
	use(e, l);
	void *l2 = xmem_alloc(e->h, 5 * MiB, 0);  /* may reuse l's space: freed too */
	if (CHECK(l2)) {
		xmem_free(l2);
		use(e, l2);
	}
}
/* Checked mode: small and class blocks freed, once through free_bulk. */
static void gen_freed_class_checked(struct env *e, use_fn use)
{
	CHECK_EQ(xmem_set_checked(1), 0);
	void *a = xmem_alloc(e->h, 64, 0), *b = xmem_alloc(e->h, 3000, 0);
	void *c = xmem_alloc(e->h, 16, 0);
	if (CHECK(a && b && c)) {
		xmem_free(a);
		xmem_free(b);
		xmem_free(c);
		use(e, a);
		use(e, b);
		use(e, c);
	}
	void *objs[40];
	if (CHECK_OK(xmem_alloc_bulk(e->h, 128, objs, 40))) {
		xmem_free_bulk(objs, 40);
		use(e, objs[7]);
		use(e, objs[39]);
	}
	CHECK_EQ(xmem_set_checked(0), 1);
}
/* Interior pointers of the live small and class blocks. */
static void interior_class(struct env *e, use_fn use)
{
	use(e, (char *)e->small + 1);
	use(e, (char *)e->small + 16);
	use(e, (char *)e->mid + 1);
	use(e, (char *)e->mid + 64);
}
static void gen_interior_class_checked(struct env *e, use_fn use)
{
	CHECK_EQ(xmem_set_checked(1), 0);
	interior_class(e, use);
	CHECK_EQ(xmem_set_checked(0), 1);
}
static void gen_interior_class_both(struct env *e, use_fn use)
{
	interior_class(e, use);
	gen_interior_class_checked(e, use);
}

static void c_free_bulk_null_array(struct env *e)
{
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, 3));
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, UINT_MAX));
}
static void c_free_bulk_null_array_zero(struct env *e)
{
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, 0));
	void *one[1] = {e->small};
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(one, 0));   /* n 0: nothing freed */
}
static void c_free_bulk_null(struct env *e)
{
	void *objs[5] = {NULL, NULL, NULL, NULL, NULL};
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(objs, 5));
}
static void c_free_bulk_mixed(struct env *e)
{
	volatile int on_stack;
	char *m = malloc(64);
	void *v[3] = {xmem_alloc(e->h, 10, 0), xmem_alloc(e->h, 5000, 0), xmem_alloc(e->h, 50000, 0)};
	if (CHECK(v[0] && v[1] && v[2])) {
		void *mix[7] = {v[0], (void *)&on_stack, NULL, v[1], (char *)v[2] + 8, v[2], m};
		/* three bad pointers; the three valid blocks are freed */
		EXPECT_VOID_N(e, 3, false, xmem_free_bulk(mix, 7));
		struct xmem_heap_stats s;
		stats_of(e->h, &s);
		stats_same(__FILE__, __LINE__, "scratch heap after the mixed free_bulk", &e->setup, &s);
	}
	free(m);
}

/* -------------------------------- xmem.h: threads, trim, translation, ... */

/* Threads that hold an lcore id until released. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static bool hold_release;

struct holder {
	pthread_t t;
	int rc, err;
	bool done;       /* registered (or failed) */
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	errno = 0;
	int rc = xmem_thread_register();
	int err = errno;
	pthread_mutex_lock(&hold_mu);
	h->rc = rc;
	h->err = err;
	h->done = true;
	pthread_cond_broadcast(&hold_cv);
	while (!hold_release && rc >= 0)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
	return NULL;
}

/* What a thread without an id sees. */
struct probe {
	struct env *e;
	int which;            /* 0 register, 1 unregister, 2 lcore_id */
	uint64_t v;
	int err;
	bool alloc_ok;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	errno = 0;
	if (p->which == 0)
		p->v = (uint64_t)(int64_t)xmem_thread_register();
	else if (p->which == 1)
		p->v = (uint64_t)(int64_t)xmem_thread_unregister();
	else
		p->v = (uint64_t)(int64_t)xmem_lcore_id();
	p->err = errno;
	/* The thread keeps working: through the locked path without an id. */
	void *q = xmem_alloc(p->e->h, 64, 0);
	p->alloc_ok = q != NULL;
	xmem_free(q);
	return NULL;
}

static void probe(struct env *e, int which, const char *what)
{
	struct probe p = {.e = e, .which = which};
	struct snap sn;
	snap_take(e, &sn);
	pthread_t t;
	if (!CHECK_EQ(pthread_create(&t, NULL, probe_main, &p), 0))
		return;
	pthread_join(t, NULL);
	expect_value(e, &sn, __FILE__, __LINE__, what, p.v, p.err);
	CHECK(p.alloc_ok);
}

static void c_thread_register_full(struct env *e)
{
	CHECK_GE(xmem_thread_register(), 0);    /* this thread holds one */
	enum { MAXT = XMEM_MAX_LCORES + 8 };
	static struct holder hs[MAXT];
	memset(hs, 0, sizeof hs);
	hold_release = false;
	int n = 0, full = 0;
	for (; n < MAXT && !full; n++) {
		if (!CHECK_EQ(pthread_create(&hs[n].t, NULL, holder_main, &hs[n]), 0))
			break;
		pthread_mutex_lock(&hold_mu);
		while (!hs[n].done)
			pthread_cond_wait(&hold_cv, &hold_mu);
		full = hs[n].rc < 0;
		pthread_mutex_unlock(&hold_mu);
	}
	CHECK(full);
	if (full) {
		CHECK_EQ(hs[n - 1].err, ENOSPC);
		probe(e, 0, "xmem_thread_register() with every id taken");
	}
	pthread_mutex_lock(&hold_mu);
	hold_release = true;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_mu);
	for (int i = 0; i < n; i++)
		pthread_join(hs[i].t, NULL);
	/* the ids came back */
	struct holder one = {0};
	hold_release = true;
	pthread_t t;
	if (CHECK_EQ(pthread_create(&t, NULL, holder_main, &one), 0)) {
		pthread_join(t, NULL);
		CHECK_GE(one.rc, 0);
	}
}
static void c_thread_unregister_no_id(struct env *e)
{
	probe(e, 1, "xmem_thread_unregister() in a thread without an id");
	CHECK_GE(xmem_thread_register(), 0);
	CHECK_OK(xmem_thread_unregister());
	EXPECT(e, xmem_thread_unregister());
	CHECK_GE(xmem_thread_register(), 0);
}
static void c_lcore_id_no_id(struct env *e)
{
	probe(e, 2, "xmem_lcore_id() in a thread without an id");
	CHECK_OK(xmem_thread_unregister());
	EXPECT(e, xmem_lcore_id());
	CHECK_GE(xmem_thread_register(), 0);
}

static void c_heap_trim_null(struct env *e) { EXPECT(e, xmem_heap_trim(NULL)); }
static void c_heap_trim_dead(struct env *e) { EXPECT(e, xmem_heap_trim(dead_heap())); }

static void c_virt2iova_null(struct env *e) { EXPECT(e, xmem_virt2iova(NULL)); }
static void c_virt2iova_unknown(struct env *e)
{
	int x;
	char *m = malloc(64);
	EXPECT(e, xmem_virt2iova(&x));
	EXPECT(e, xmem_virt2iova(m));
	EXPECT(e, xmem_virt2iova(e->spare));
	EXPECT(e, xmem_virt2iova(e->va + e->len));
	EXPECT(e, xmem_virt2iova(e->va - 1));
	free(m);
	void *q = removed_block(e);
	if (q)
		EXPECT(e, xmem_virt2iova(q));
}
static void c_virt2iova_wild(struct env *e)
{
	EXPECT(e, xmem_virt2iova((void *)((uintptr_t)1 << 48)));
	EXPECT(e, xmem_virt2iova((void *)((uintptr_t)1 << 50)));
	EXPECT(e, xmem_virt2iova((void *)UINTPTR_MAX));
}
static void c_virt2iova_no_iova_page(struct env *e)
{
	e->spare_tab[1] = XMEM_BAD_IOVA;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
		EXPECT(e, xmem_virt2iova(e->spare + PAGE4K));
		EXPECT(e, xmem_virt2iova(e->spare + 2 * PAGE4K - 1));
		CHECK_EQ(xmem_virt2iova(e->spare + 2 * PAGE4K), SPARE_IOVA + 2 * PAGE4K);
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
	e->spare_tab[1] = SPARE_IOVA + PAGE4K;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_virt2iova(e->spare));
		EXPECT(e, xmem_virt2iova(e->spare + SPARE_LEN - 1));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
}
static void c_iova2virt_unknown(struct env *e)
{
	EXPECT(e, xmem_iova2virt(0));
	EXPECT(e, xmem_iova2virt(SCRATCH_IOVA - 1));
	EXPECT(e, xmem_iova2virt(SCRATCH_IOVA + e->len));
	EXPECT(e, xmem_iova2virt(XMEM_BAD_IOVA));
	CHECK(xmem_iova2virt(SCRATCH_IOVA + 5) == e->va + 5);
}
static void c_iova2virt_removed(struct env *e)
{
	if (removed_block(e))
		EXPECT(e, xmem_iova2virt(SPARE_IOVA));
}

static void c_heap_stats_null_heap(struct env *e)
{
	struct xmem_heap_stats s;
	EXPECT(e, xmem_heap_stats(NULL, &s));
}
static void c_heap_stats_null_out(struct env *e)
{
	EXPECT(e, xmem_heap_stats(e->h, NULL));
}
static void c_heap_stats_dead(struct env *e)
{
	struct xmem_heap_stats s;
	EXPECT(e, xmem_heap_stats(dead_heap(), &s));
}
static void c_heap_dump_write_fails(struct env *e)
{
	FILE *f = fopen("/dev/null", "r");
	if (!CHECK(f))
		return;
	EXPECT(e, xmem_heap_dump(f));
	fclose(f);
}
static void c_heap_dump_null(struct env *e)
{
	fflush(stdout);
	EXPECT(e, xmem_heap_dump(NULL));
}
static void c_size_class_zero(struct env *e) { EXPECT(e, xmem_size_class(0)); }
static void c_size_class_too_big(struct env *e)
{
	EXPECT(e, xmem_size_class(XMEM_MAX_CLASS_SIZE + 1));
	EXPECT(e, xmem_size_class(SIZE_MAX));
	CHECK_EQ(xmem_size_class(XMEM_MAX_CLASS_SIZE), XMEM_NUM_CLASSES - 1);
}
static void c_class_size_out_of_range(struct env *e)
{
	EXPECT(e, xmem_class_size(-1));
	EXPECT(e, xmem_class_size(XMEM_NUM_CLASSES));
	EXPECT(e, xmem_class_size(INT_MAX));
	EXPECT(e, xmem_class_size(INT_MIN));
}
static void c_set_log_null(struct env *e)
{
	xmem_set_log(NULL);
	fflush(stderr);
	int saved = dup(2);
	FILE *tf = tmpfile();
	if (!CHECK(saved >= 0 && tf)) {
		xmem_set_log(capture);
		return;
	}
	dup2(fileno(tf), 2);
	int x;
	unsigned l0 = atomic_load(&log_lines);
	xmem_free(&x);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	xmem_set_log(capture);
	e->reports++;                 /* counted, but not through the hook */
	EXPECT_OK(e, atomic_load(&log_lines) == l0);
	EXPECT_OK(e, ftell(tf) > 0);   /* the line went to stderr */
	fclose(tf);
}

/* ------------------------------------------------------------ xmem_dma.h */

static void c_dma_set_iova_mode_unknown(struct env *e)
{
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)-1));
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)4));
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)100));
	CHECK_EQ(xmem_dma_get_iova_mode(), XMEM_IOVA_MODE_TABLE);
}
static void c_dma_get_iova_mode_no_input(struct env *e)
{
	EXPECT_OK(e, xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_TABLE);
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA));
	EXPECT_OK(e, xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_VA);
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}
static void c_dma_set_iova_ranges_null(struct env *e) { EXPECT(e, xmem_dma_set_iova_ranges(NULL, 1)); }
static void c_dma_set_iova_ranges_zero_n(struct env *e) { EXPECT(e, xmem_dma_set_iova_ranges(&default_range, 0)); }
static void c_dma_set_iova_ranges_too_many(struct env *e)
{
	static struct xmem_iova_range r[65];
	for (int i = 0; i < 65; i++)
		r[i] = (struct xmem_iova_range){((uint64_t)i + 1) << 32, (((uint64_t)i + 1) << 32) + 0xfffff};
	EXPECT(e, xmem_dma_set_iova_ranges(r, 65));
	EXPECT(e, xmem_dma_set_iova_ranges(r, SIZE_MAX));
}
static void c_dma_set_iova_ranges_reversed(struct env *e)
{
	struct xmem_iova_range r = {0x20000000, 0x1fffffff};
	EXPECT(e, xmem_dma_set_iova_ranges(&r, 1));
}
static void c_dma_set_iova_ranges_overlap(struct env *e)
{
	struct xmem_iova_range r[2] = {{0x100000000, 0x1ffffffff}, {0x180000000, 0x2ffffffff}};
	EXPECT(e, xmem_dma_set_iova_ranges(r, 2));
	r[1] = r[0];
	EXPECT(e, xmem_dma_set_iova_ranges(r, 2));
}
static void c_dma_set_iova_ranges_in_use(struct env *e)
{
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_dma_set_iova_ranges(&default_range, 1));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
	CHECK_OK(xmem_dma_set_iova_ranges(&default_range, 1));
}

/* A device-level subscriber that counts what it has mapped; map call
 * number fail_at (1-based; 0 never) fails with fail_errno. */
struct fake_dev {
	long mapped, calls, fail_at;
	int fail_errno;
	uint64_t avail;      /* reported by dma_avail */
};
static int fd_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	(void)va, (void)iova, (void)len;
	struct fake_dev *d = ctx;
	if (++d->calls == d->fail_at) {
		errno = d->fail_errno;
		return -1;
	}
	d->mapped++;
	return 0;
}
static int fd_unmap(void *ctx, void *va, uint64_t iova, uint64_t len, uint64_t *done)
{
	(void)va, (void)iova;
	struct fake_dev *d = ctx;
	d->mapped--;
	*done = len;
	return 0;
}
static int fd_avail(void *ctx, uint64_t *avail)
{
	*avail = ((struct fake_dev *)ctx)->avail;
	return 0;
}

static const struct xmem_dma_ops ops_dev = {.dma_map = fd_map, .dma_unmap = fd_unmap};
static const struct xmem_dma_ops ops_ev = {.mem_event = ev_ok};

static void gone(const char *name)
{
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup(name), ENOENT);
}

static void c_dma_subscribe_null_name(struct env *e) { EXPECT(e, xmem_dma_subscribe(NULL, &ops_ev, NULL)); }
static void c_dma_subscribe_empty_name(struct env *e) { EXPECT(e, xmem_dma_subscribe("", &ops_ev, NULL)); }
static void c_dma_subscribe_long_name(struct env *e)
{
	EXPECT(e, xmem_dma_subscribe(long_name(XMEM_DMA_NAME_MAX), &ops_ev, NULL));
	EXPECT(e, xmem_dma_subscribe(long_name(100), &ops_ev, NULL));
}
static void c_dma_subscribe_null_ops(struct env *e) { EXPECT(e, xmem_dma_subscribe("err-s", NULL, NULL)); }
static void c_dma_subscribe_no_callback(struct env *e)
{
	struct xmem_dma_ops none = {0}, avail_only = {.dma_avail = fd_avail};
	EXPECT(e, xmem_dma_subscribe("err-s", &none, NULL));
	EXPECT(e, xmem_dma_subscribe("err-s", &avail_only, NULL));
	gone("err-s");
}
static void c_dma_subscribe_map_without_unmap(struct env *e)
{
	struct xmem_dma_ops map_only = {.mem_event = ev_ok, .dma_map = fd_map};
	struct xmem_dma_ops unmap_only = {.mem_event = ev_ok, .dma_unmap = fd_unmap};
	EXPECT(e, xmem_dma_subscribe("err-s", &map_only, NULL));
	EXPECT(e, xmem_dma_subscribe("err-s", &unmap_only, NULL));
	gone("err-s");
}
static void c_dma_subscribe_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_dma_subscribe("err-s", &ops_ev, NULL);
	if (!CHECK(s))
		return;
	struct fake_dev d = {0};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops_dev, &d));
	CHECK_EQ(d.calls, 0);
	CHECK(xmem_dma_subscriber_lookup("err-s") == s);
	CHECK_OK(xmem_dma_unsubscribe(s));
}
static void c_dma_subscribe_no_entries(struct env *e)
{
	struct fake_dev d = {.avail = 0};
	struct xmem_dma_ops ops = {.dma_map = fd_map, .dma_unmap = fd_unmap, .dma_avail = fd_avail};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops, &d));
	CHECK_EQ(d.calls, 0);
	gone("err-s");
}
static int ev_fail_efault(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)r;
	(*(int *)ctx)++;
	if (ev == XMEM_MEM_EVENT_ADD && *(int *)ctx == 2) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}
static void c_dma_subscribe_replay_veto(struct env *e)
{
	int calls = 0;    /* the second region's ADD fails */
	struct xmem_dma_ops ops = {.mem_event = ev_fail_efault};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops, &calls));
	CHECK_GE(calls, 2);
	gone("err-s");
}
static void c_dma_subscribe_replay_map_fails(struct env *e)
{
	struct fake_dev d = {.fail_at = 2, .fail_errno = EIO};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops_dev, &d));
	CHECK_EQ(d.calls, 2);
	CHECK_EQ(d.mapped, 0);     /* the first region was unmapped again */
	gone("err-s");
}
static bool try_subscribe(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	static struct fake_dev d;
	memset(&d, 0, sizeof d);
	struct xmem_dma_subscriber *s = xmem_dma_subscribe("err-s", &ops_dev, &d);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)s;
	if (s) {
		CHECK_GE(d.mapped, 2);
		CHECK_OK(xmem_dma_unsubscribe(s));
		CHECK_EQ(d.mapped, 0);
		return true;
	}
	CHECK_EQ(d.mapped, 0);
	gone("err-s");
	return false;
}
static void c_dma_subscribe_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_dma_subscribe", try_subscribe);
}

static void c_mem_event_register_null_fn(struct env *e) { EXPECT(e, xmem_mem_event_register("err-s", NULL, NULL)); }
static void c_mem_event_register_bad_name(struct env *e)
{
	EXPECT(e, xmem_mem_event_register(NULL, ev_ok, NULL));
	EXPECT(e, xmem_mem_event_register("", ev_ok, NULL));
	EXPECT(e, xmem_mem_event_register(long_name(XMEM_DMA_NAME_MAX), ev_ok, NULL));
}
static void c_mem_event_register_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_mem_event_register("err-s", ev_ok, NULL));
	CHECK_OK(xmem_dma_unsubscribe(s));
}

static struct xmem_dma_subscriber *dead_sub(void)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-dead", ev_ok, NULL);
	if (!s || xmem_dma_unsubscribe(s))
		XT_FATAL("dead subscriber: %s", strerror(errno));
	return s;
}

static void c_dma_unsubscribe_null(struct env *e) { EXPECT(e, xmem_dma_unsubscribe(NULL)); }
static void c_dma_unsubscribe_dead(struct env *e) { EXPECT(e, xmem_dma_unsubscribe(dead_sub())); }
static void c_dma_unsubscribe_foreign(struct env *e)
{
	EXPECT(e, xmem_dma_unsubscribe((struct xmem_dma_subscriber *)junk));
	EXPECT(e, xmem_dma_unsubscribe((struct xmem_dma_subscriber *)(uintptr_t)8));
}
static void c_dma_subscriber_lookup_null(struct env *e) { EXPECT(e, xmem_dma_subscriber_lookup(NULL)); }
static void c_dma_subscriber_lookup_empty(struct env *e) { EXPECT(e, xmem_dma_subscriber_lookup("")); }
static void c_dma_subscriber_lookup_unknown(struct env *e)
{
	EXPECT(e, xmem_dma_subscriber_lookup("err-nobody"));
	EXPECT(e, xmem_dma_subscriber_lookup(long_name(XMEM_DMA_NAME_MAX)));
	EXPECT(e, xmem_dma_subscriber_lookup(long_name(100)));
}
static void c_dma_subscriber_lookup_unsubscribed(struct env *e)
{
	dead_sub();
	EXPECT(e, xmem_dma_subscriber_lookup("err-dead"));
}
static void c_dma_mapping_walk_null_fn(struct env *e)
{
	EXPECT(e, xmem_dma_mapping_walk(NULL, NULL, NULL));
}
static void c_dma_mapping_walk_dead(struct env *e)
{
	long n = 0;
	EXPECT(e, xmem_dma_mapping_walk(dead_sub(), walk_count, &n));
	EXPECT(e, xmem_dma_mapping_walk((struct xmem_dma_subscriber *)junk, walk_count, &n));
	CHECK_EQ(n, 0);
}
static void c_dma_get_stats_null(struct env *e)
{
	struct xmem_dma_stats st;
	EXPECT(e, xmem_dma_get_stats(NULL, &st));
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (CHECK(s)) {
		EXPECT(e, xmem_dma_get_stats(s, NULL));
		CHECK_OK(xmem_dma_unsubscribe(s));
	}
}
static void c_dma_get_stats_dead(struct env *e)
{
	struct xmem_dma_stats st;
	EXPECT(e, xmem_dma_get_stats(dead_sub(), &st));
	EXPECT(e, xmem_dma_get_stats((struct xmem_dma_subscriber *)junk, &st));
}

/* test devices */

static struct xmem_dma_testdev *dead_td(void)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-dead-td", 0);
	if (!t || xmem_dma_testdev_destroy(t))
		XT_FATAL("dead test device: %s", strerror(errno));
	return t;
}

static void c_td_create_bad_name(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_create(NULL, 0));
	EXPECT(e, xmem_dma_testdev_create("", 0));
	EXPECT(e, xmem_dma_testdev_create(long_name(XMEM_DMA_NAME_MAX), 0));
}
static void c_td_create_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_dma_testdev_create("err-s", 0));
	CHECK_OK(xmem_dma_unsubscribe(s));
}
static void c_td_create_no_entries(struct env *e)
{
	/* scratch and witness need one entry each */
	EXPECT(e, xmem_dma_testdev_create("err-td", 1));
	gone("err-td");
}
static bool try_td_create(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)t;
	if (t) {
		CHECK_OK(xmem_dma_testdev_destroy(t));
		return true;
	}
	gone("err-td");
	return false;
}
static void c_td_create_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_dma_testdev_create", try_td_create);
}
static void c_td_destroy_null(struct env *e) { EXPECT(e, xmem_dma_testdev_destroy(NULL)); }
static void c_td_destroy_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_destroy(dead_td()));
	EXPECT(e, xmem_dma_testdev_destroy((struct xmem_dma_testdev *)junk));
}
static void c_td_subscriber_null(struct env *e) { EXPECT(e, xmem_dma_testdev_subscriber(NULL)); }
static void c_td_subscriber_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_subscriber(dead_td()));
	EXPECT(e, xmem_dma_testdev_subscriber((struct xmem_dma_testdev *)junk));
}
static void c_td_inject_null(struct env *e) { EXPECT(e, xmem_dma_testdev_inject(NULL, XMEM_TESTDEV_FAULT_NONE, 0)); }
static void c_td_inject_unknown_fault(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)5, 0));
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)-1, 0));
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)1000, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_inject_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_inject(dead_td(), XMEM_TESTDEV_FAULT_MAP_ENOSPC, 0));
}

#define TD_VA ((void *)(uintptr_t)0x10000000)
#define TD_IOVA ((uint64_t)1 << 41)

static void c_td_map_direct_null(struct env *e) { EXPECT(e, xmem_dma_testdev_map_direct(NULL, TD_VA, TD_IOVA, PAGE4K)); }

static struct xmem_dma_testdev *live_td(void)
{
	return xmem_dma_testdev_create("err-td", 0);
}

static void c_td_map_direct_zero_len(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_map_direct_misaligned(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_map_direct(t, (char *)TD_VA + 1, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA + 512, PAGE4K));
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, PAGE4K + 1));
	struct xmem_dma_testdev_stats st;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, 2);       /* scratch and witness only */
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_map_direct_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_map_direct(dead_td(), TD_VA, TD_IOVA, PAGE4K));
}
static void c_td_map_direct_overlap(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	/* xmem's own mapping of the scratch chunk */
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, SCRATCH_IOVA + PAGE4K, PAGE4K));
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA - PAGE4K, 2 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA + 3 * PAGE4K, 2 * PAGE4K));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, 4 * PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_null(struct env *e) { EXPECT(e, xmem_dma_testdev_unmap_direct(NULL, TD_IOVA, PAGE4K)); }
static void c_td_unmap_direct_zero_len(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_misaligned(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA + 1, PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K - 1));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_unmap_direct(dead_td(), TD_IOVA, PAGE4K));
}
static void c_td_unmap_direct_not_exact(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA + PAGE4K, 3 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, 8 * PAGE4K));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, 4 * PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_get_stats_null(struct env *e)
{
	struct xmem_dma_testdev_stats st;
	EXPECT(e, xmem_dma_testdev_get_stats(NULL, &st));
	struct xmem_dma_testdev *t = live_td();
	if (CHECK(t)) {
		EXPECT(e, xmem_dma_testdev_get_stats(t, NULL));
		CHECK_OK(xmem_dma_testdev_destroy(t));
	}
}
static void c_td_get_stats_dead(struct env *e)
{
	struct xmem_dma_testdev_stats st;
	EXPECT(e, xmem_dma_testdev_get_stats(dead_td(), &st));
}
static void c_td_call_null(struct env *e)
{
	struct xmem_dma_testdev_call c;
	EXPECT(e, xmem_dma_testdev_call(NULL, 0, &c));
	struct xmem_dma_testdev *t = live_td();
	if (CHECK(t)) {
		EXPECT(e, xmem_dma_testdev_call(t, 0, NULL));
		CHECK_OK(xmem_dma_testdev_destroy(t));
	}
}
static void c_td_call_dead(struct env *e)
{
	struct xmem_dma_testdev_call c;
	EXPECT(e, xmem_dma_testdev_call(dead_td(), 0, &c));
}
static void c_td_call_out_of_range(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	struct xmem_dma_testdev_stats st;
	struct xmem_dma_testdev_call c;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.map_calls, 2);              /* the replay mapped two regions */
	CHECK_OK(xmem_dma_testdev_call(t, 1, &c));
	EXPECT(e, xmem_dma_testdev_call(t, 2, &c));
	EXPECT(e, xmem_dma_testdev_call(t, UINT64_MAX, &c));
	CHECK_OK(xmem_dma_testdev_clear_log(t));
	EXPECT(e, xmem_dma_testdev_call(t, 0, &c));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_clear_log_null(struct env *e) { EXPECT(e, xmem_dma_testdev_clear_log(NULL)); }
static void c_td_clear_log_dead(struct env *e) { EXPECT(e, xmem_dma_testdev_clear_log(dead_td())); }

/* ----------------------------------------------------------- xmem_vfio.h */

static bool have_vfio(void)
{
	return access("/dev/vfio/vfio", F_OK) == 0;
}

static void c_vfio_container_open_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_container_open());
}
static void c_vfio_container_close_null(struct env *e) { EXPECT(e, xmem_vfio_container_close(NULL)); }
static void c_vfio_container_fd_null(struct env *e) { EXPECT(e, xmem_vfio_container_fd(NULL)); }
static void c_vfio_group_of_bad_bdf(struct env *e)
{
	EXPECT(e, xmem_vfio_group_of(NULL));
	EXPECT(e, xmem_vfio_group_of(""));
	EXPECT(e, xmem_vfio_group_of(long_name(32)));
	EXPECT(e, xmem_vfio_group_of("../../../../etc"));
	EXPECT(e, xmem_vfio_group_of("0000:00:01.0/x"));
}
static void c_vfio_group_of_no_device(struct env *e)
{
	EXPECT(e, xmem_vfio_group_of("ffff:ff:1f.7"));
	EXPECT(e, xmem_vfio_group_of("not-a-device"));
}
static void c_vfio_group_add_null(struct env *e) { EXPECT(e, xmem_vfio_group_add(NULL, 0)); }
static void c_vfio_group_remove_null(struct env *e) { EXPECT(e, xmem_vfio_group_remove(NULL, 0)); }
static void c_vfio_get_info_null(struct env *e)
{
	struct xmem_vfio_info in;
	EXPECT(e, xmem_vfio_get_info(NULL, &in));
	EXPECT(e, xmem_vfio_get_info(NULL, NULL));
}
static void c_vfio_dma_map_null(struct env *e) { EXPECT(e, xmem_vfio_dma_map(NULL, e->spare, TD_IOVA, PAGE4K)); }
static void c_vfio_dma_unmap_null(struct env *e)
{
	uint64_t done = 12345;
	EXPECT(e, xmem_vfio_dma_unmap(NULL, TD_IOVA, PAGE4K, &done));
	CHECK_EQ(done, 0);
	EXPECT(e, xmem_vfio_dma_unmap(NULL, TD_IOVA, PAGE4K, NULL));
}
static void c_vfio_map_table_null(struct env *e)
{
	size_t calls = 12345;
	EXPECT(e, xmem_vfio_map_table(NULL, e->spare, e->spare_tab, SPARE_PAGES, PAGE4K, &calls));
	CHECK_EQ(calls, 0);
}
static void c_vfio_unmap_table_null(struct env *e)
{
	size_t calls = 12345;
	EXPECT(e, xmem_vfio_unmap_table(NULL, e->spare, e->spare_tab, SPARE_PAGES, PAGE4K, &calls));
	CHECK_EQ(calls, 0);
}
static void c_vfio_get_stats_null(struct env *e)
{
	struct xmem_vfio_stats st;
	EXPECT(e, xmem_vfio_get_stats(NULL, &st));
}
static void c_vfio_device_open_null(struct env *e) { EXPECT(e, xmem_vfio_device_open(NULL, 0, "0000:00:03.0")); }
static void c_vfio_device_close_null(struct env *e) { EXPECT(e, xmem_vfio_device_close(NULL, 3)); }
static void c_vfio_region_info_bad_args(struct env *e)
{
	struct xmem_vfio_region r;
	EXPECT(e, xmem_vfio_region_info(-1, 0, &r));
	EXPECT(e, xmem_vfio_region_info(INT_MIN, 0, &r));
	int fd = open("/dev/null", O_RDONLY);
	if (CHECK(fd >= 0)) {
		EXPECT(e, xmem_vfio_region_info(fd, 0, NULL));
		close(fd);
	}
}
static void c_vfio_region_info_not_a_device(struct env *e)
{
	struct xmem_vfio_region r;
	int fd = open("/dev/null", O_RDONLY);
	if (!CHECK(fd >= 0))
		return;
	EXPECT(e, xmem_vfio_region_info(fd, 0, &r));
	close(fd);
}
static void c_vfio_region_info_closed_fd(struct env *e)
{
	struct xmem_vfio_region r;
	int fd = open("/dev/null", O_RDONLY);
	if (!CHECK(fd >= 0))
		return;
	close(fd);
	EXPECT(e, xmem_vfio_region_info(fd, 0, &r));
}
static void c_vfio_default_container_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_default_container());
}
static void c_vfio_attach_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_attach(NULL));
}
static void c_vfio_detach_no_default(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists (the default container may be open)");
		return;
	}
	EXPECT(e, xmem_vfio_detach(NULL));
}

/* --part=vfio: an open container without groups (e->vc). */

static void c_vfio_group_add_negative(struct env *e)
{
	EXPECT(e, xmem_vfio_group_add(e->vc, -1));
	EXPECT(e, xmem_vfio_group_add(e->vc, INT_MIN));
}
static void c_vfio_group_add_no_group(struct env *e) { EXPECT(e, xmem_vfio_group_add(e->vc, 999999)); }
static void c_vfio_group_remove_not_in_container(struct env *e)
{
	EXPECT(e, xmem_vfio_group_remove(e->vc, 0));
	EXPECT(e, xmem_vfio_group_remove(e->vc, 999999));
}
static void c_vfio_get_info_null_out(struct env *e) { EXPECT(e, xmem_vfio_get_info(e->vc, NULL)); }
static void c_vfio_get_info_no_group(struct env *e)
{
	struct xmem_vfio_info in;
	EXPECT(e, xmem_vfio_get_info(e->vc, &in));
}
static void c_vfio_dma_map_bad_args(struct env *e)
{
	EXPECT(e, xmem_vfio_dma_map(e->vc, NULL, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, 0));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare + 1, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA + 1, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, PAGE4K + 1));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, UINT64_MAX - PAGE4K + 1, 2 * PAGE4K));
}
static void c_vfio_dma_map_no_group(struct env *e) { EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, PAGE4K)); }
static void c_vfio_dma_unmap_bad_args(struct env *e)
{
	uint64_t done;
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, 0, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA + 1, PAGE4K, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, PAGE4K + 1, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, UINT64_MAX - PAGE4K + 1, 2 * PAGE4K, &done));
}
static void c_vfio_dma_unmap_no_group(struct env *e)
{
	uint64_t done;
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, PAGE4K, &done));
}
static void table_bad_args(struct env *e,
			   int (*fn)(struct xmem_vfio_container *, void *, const uint64_t *,
				     size_t, size_t, size_t *))
{
	size_t calls;
	uint64_t *t = e->spare_tab;
	EXPECT(e, fn(e->vc, NULL, t, 4, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, NULL, 4, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 0, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 0, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 2048, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 12288, &calls));
	EXPECT(e, fn(e->vc, e->spare + 8, t, 4, PAGE4K, &calls));
	t[2] += 8;
	EXPECT(e, fn(e->vc, e->spare, t, 4, PAGE4K, &calls));
	t[2] -= 8;
}
static void c_vfio_map_table_bad_args(struct env *e) { table_bad_args(e, xmem_vfio_map_table); }
static void c_vfio_map_table_no_group(struct env *e)
{
	EXPECT(e, xmem_vfio_map_table(e->vc, e->spare, e->spare_tab, 4, PAGE4K, NULL));
}
static void c_vfio_unmap_table_bad_args(struct env *e) { table_bad_args(e, xmem_vfio_unmap_table); }
static void c_vfio_unmap_table_no_group(struct env *e)
{
	EXPECT(e, xmem_vfio_unmap_table(e->vc, e->spare, e->spare_tab, 4, PAGE4K, NULL));
}
static void c_vfio_get_stats_null_out(struct env *e) { EXPECT(e, xmem_vfio_get_stats(e->vc, NULL)); }
static void c_vfio_device_open_bad_name(struct env *e)
{
	EXPECT(e, xmem_vfio_device_open(e->vc, 0, NULL));
	EXPECT(e, xmem_vfio_device_open(e->vc, 0, ""));
}
static void c_vfio_device_open_no_group(struct env *e) { EXPECT(e, xmem_vfio_device_open(e->vc, 12345, "0000:00:03.0")); }
static void c_vfio_device_close_unknown_fd(struct env *e)
{
	EXPECT(e, xmem_vfio_device_close(e->vc, -1));
	EXPECT(e, xmem_vfio_device_close(e->vc, 0));
	EXPECT(e, xmem_vfio_device_close(e->vc, 12345));
}
static void c_vfio_attach_no_group(struct env *e) { EXPECT(e, xmem_vfio_attach(e->vc)); }
static void c_vfio_detach_not_attached(struct env *e) { EXPECT(e, xmem_vfio_detach(e->vc)); }

/* ------------------------------------------------------------ the cases */

struct xcase {
	const char *id;
	const char *fn;            /* the row's function, cross-checked */
	void (*run)(struct env *e);
	gen_fn gen;                /* or: a generator of bad pointers ... */
	use_fn use;                /* ... and the call to make with each */
};

/* ------------------------------------- unmap failures, the IOVA rule */

/* The log lines of a failing unmap, counted apart: a failed unmap is
 * logged by design, which is not a bad-pointer report. */
static unsigned unmap_log_lines;
static void capture_unmap(const char *line)
{
	(void)line;
	unmap_log_lines++;
}

/* One call with a short unmap armed on t: the row's result, nothing
 * changed (the harness compares the heaps; here the device), one line
 * logged, and the region still translated. */
#define EXPECT_UNMAP_FAILS(e, t, expr)                                           \
	do {                                                                     \
		struct xmem_dma_testdev_stats a_, b_;                            \
		CHECK_OK(xmem_dma_testdev_get_stats((t), &a_));                  \
		CHECK_OK(xmem_dma_testdev_inject((t), XMEM_TESTDEV_FAULT_SHORT_UNMAP, 0)); \
		unmap_log_lines = 0;                                             \
		xmem_set_log(capture_unmap);                                     \
		EXPECT(e, expr);                                                 \
		xmem_set_log(capture);                                           \
		CHECK_OK(xmem_dma_testdev_get_stats((t), &b_));                  \
		CHECK_EQ(b_.entries, a_.entries);                                \
		CHECK_EQ(b_.mapped_bytes, a_.mapped_bytes);                      \
		CHECK_GE(unmap_log_lines, 1);                                    \
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);                  \
	} while (0)

static void c_remove_unmap_fails(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-eio");
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (CHECK(o) && CHECK(t) &&
	    CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		EXPECT_UNMAP_FAILS(e, t, xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
		void *p = xmem_alloc(o, 100000, 0);   /* the chunk still serves */
		CHECK(p != NULL);
		xmem_free(p);
		e->x = NULL;
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));   /* the retry */
	}
	if (t)
		CHECK_OK(xmem_dma_testdev_destroy(t));
	if (o)
		CHECK_OK(xmem_heap_destroy(o));
}

static void c_unregister_unmap_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		EXPECT_UNMAP_FAILS(e, t, xmem_unregister(e->spare, SPARE_LEN));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));   /* the retry */
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

static long count_of_sub;
static int count_sub_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	(void)sub, (void)m, (void)arg;
	count_of_sub++;
	return 0;
}

static void c_dma_unsubscribe_unmap_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	struct xmem_dma_subscriber *s = xmem_dma_testdev_subscriber(t);
	struct xmem_dma_testdev_stats st;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	uint64_t before = st.entries;
	CHECK_OK(xmem_dma_testdev_inject(t, XMEM_TESTDEV_FAULT_SHORT_UNMAP, 0));
	unmap_log_lines = 0;
	xmem_set_log(capture_unmap);
	EXPECT(e, xmem_dma_unsubscribe(s));
	xmem_set_log(capture);
	CHECK_GE(unmap_log_lines, 1);
	/* Still subscribed, nothing changed: the device maps what it mapped
	 * before, and the registry says so. */
	CHECK(xmem_dma_subscriber_lookup("err-td") == s);
	count_of_sub = 0;
	xmem_dma_mapping_walk(s, count_sub_fn, NULL);
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, before);
	CHECK_EQ((uint64_t)count_of_sub, st.entries);
	CHECK_OK(xmem_dma_unsubscribe(s));   /* the retry */
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, 0);
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

/* Table entries the IOMMU layer could not map: EINVAL in the core. */
static void bad_iova_tables(struct env *e, bool heap)
{
	/* Off by 8 bytes; aligned but its page ends at 2^64; neither. */
	static const uint64_t bad[] = {SPARE_IOVA + 8, UINT64_MAX - PAGE4K + 1,
				       UINT64_MAX - 7};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		uint64_t keep = e->spare_tab[3];
		e->spare_tab[3] = bad[k];
		if (heap)
			EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab,
						       SPARE_PAGES, PAGE4K));
		else
			EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES,
						PAGE4K));
		e->spare_tab[3] = keep;
	}
	/* 4 KiB-aligned but not 2 MiB-aligned, with 2 MiB pages. */
	uint64_t t2[SPARE_LEN / PAGE2M];
	for (size_t i = 0; i < SPARE_LEN / PAGE2M; i++)
		t2[i] = SPARE_IOVA + i * PAGE2M + PAGE4K;
	if (heap)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, t2, SPARE_LEN / PAGE2M, PAGE2M));
	else
		EXPECT(e, xmem_register(e->spare, SPARE_LEN, t2, SPARE_LEN / PAGE2M, PAGE2M));
}
static void c_add_bad_iova(struct env *e) { bad_iova_tables(e, true); }
static void c_register_bad_iova(struct env *e) { bad_iova_tables(e, false); }

#define C(id, fn, f) {id, #fn, f, NULL, NULL}
#define P(id, fn, g, u) {id, #fn, NULL, g, u}
#define PTR_ROWS(api, fn, use)                                                   \
	P(api ".stack", fn, gen_stack, use),                                     \
	P(api ".malloc", fn, gen_malloc, use),                                   \
	P(api ".static", fn, gen_static, use),                                   \
	P(api ".past_end", fn, gen_past_end, use),                               \
	P(api ".before_start", fn, gen_before_start, use),                       \
	P(api ".removed", fn, gen_removed, use),                                 \
	P(api ".removed_start", fn, gen_removed_start, use),                     \
	P(api ".registered", fn, gen_registered, use),                           \
	P(api ".large_interior", fn, gen_large_interior, use),                   \
	P(api ".no_block", fn, gen_no_block, use),                               \
	P(api ".wild", fn, gen_wild, use)

static const struct xcase cases[] = {
	C("heap_create.null", xmem_heap_create, c_heap_create_null),
	C("heap_create.empty", xmem_heap_create, c_heap_create_empty),
	C("heap_create.too_long", xmem_heap_create, c_heap_create_too_long),
	C("heap_create.duplicate", xmem_heap_create, c_heap_create_duplicate),
	C("heap_create.full", xmem_heap_create, c_heap_create_full),
	C("heap_create.no_metadata", xmem_heap_create, c_heap_create_no_metadata),
	C("heap_destroy.null", xmem_heap_destroy, c_heap_destroy_null),
	C("heap_destroy.dead", xmem_heap_destroy, c_heap_destroy_dead),
	C("heap_destroy.foreign", xmem_heap_destroy, c_heap_destroy_foreign),
	C("heap_destroy.has_memory", xmem_heap_destroy, c_heap_destroy_has_memory),
	C("heap_lookup.null", xmem_heap_lookup, c_heap_lookup_null),
	C("heap_lookup.empty", xmem_heap_lookup, c_heap_lookup_empty),
	C("heap_lookup.too_long", xmem_heap_lookup, c_heap_lookup_too_long),
	C("heap_lookup.unknown", xmem_heap_lookup, c_heap_lookup_unknown),
	C("heap_lookup.destroyed", xmem_heap_lookup, c_heap_lookup_destroyed),
	C("heap_id.null", xmem_heap_id, c_heap_id_null),
	C("heap_id.dead", xmem_heap_id, c_heap_id_dead),
	C("heap_id.foreign", xmem_heap_id, c_heap_id_foreign),
	C("heap_from_id.negative", xmem_heap_from_id, c_heap_from_id_negative),
	C("heap_from_id.too_big", xmem_heap_from_id, c_heap_from_id_too_big),
	C("heap_from_id.unused", xmem_heap_from_id, c_heap_from_id_unused),
	C("heap_from_id.destroyed", xmem_heap_from_id, c_heap_from_id_destroyed),
	C("heap_name.null", xmem_heap_name, c_heap_name_null),
	C("heap_name.dead", xmem_heap_name, c_heap_name_dead),
	C("heap_name.foreign", xmem_heap_name, c_heap_name_foreign),

	C("heap_add_memory.null_heap", xmem_heap_add_memory, c_add_null_heap),
	C("heap_add_memory.dead_heap", xmem_heap_add_memory, c_add_dead_heap),
	C("heap_add_memory.foreign_heap", xmem_heap_add_memory, c_add_foreign_heap),
	C("heap_add_memory.null_va", xmem_heap_add_memory, c_add_null_va),
	C("heap_add_memory.zero_len", xmem_heap_add_memory, c_add_zero_len),
	C("heap_add_memory.page_size_not_pow2", xmem_heap_add_memory, c_add_page_size_not_pow2),
	C("heap_add_memory.page_size_small", xmem_heap_add_memory, c_add_page_size_small),
	C("heap_add_memory.page_size_big", xmem_heap_add_memory, c_add_page_size_big),
	C("heap_add_memory.va_misaligned", xmem_heap_add_memory, c_add_va_misaligned),
	C("heap_add_memory.len_misaligned", xmem_heap_add_memory, c_add_len_misaligned),
	C("heap_add_memory.n_pages_table", xmem_heap_add_memory, c_add_n_pages_table),
	C("heap_add_memory.n_pages_no_table", xmem_heap_add_memory, c_add_n_pages_no_table),
	C("heap_add_memory.beyond_va_bits", xmem_heap_add_memory, c_add_beyond_va_bits),
	C("heap_add_memory.same_chunk", xmem_heap_add_memory, c_add_same_chunk),
	C("heap_add_memory.overlap_partial", xmem_heap_add_memory, c_add_overlap_partial),
	C("heap_add_memory.overlap_other_heap", xmem_heap_add_memory, c_add_overlap_other_heap),
	C("heap_add_memory.overlap_registered", xmem_heap_add_memory, c_add_overlap_registered),
	C("heap_add_memory.no_metadata", xmem_heap_add_memory, c_add_no_metadata),
	C("heap_add_memory.subscriber_veto", xmem_heap_add_memory, c_add_subscriber_veto),
	C("heap_add_memory.subscriber_no_entries", xmem_heap_add_memory, c_add_subscriber_no_entries),
	C("heap_add_memory.map_fails", xmem_heap_add_memory, c_add_map_fails),
	C("heap_add_memory.assign_full", xmem_heap_add_memory, c_add_assign_full),
	C("heap_add_memory.assign_table_conflict", xmem_heap_add_memory, c_add_assign_table_conflict),
	C("heap_add_memory.pa_not_resident", xmem_heap_add_memory, c_add_pa_not_resident),
	C("heap_add_memory.bad_iova", xmem_heap_add_memory, c_add_bad_iova),
	C("heap_remove_memory.null_heap", xmem_heap_remove_memory, c_remove_null_heap),
	C("heap_remove_memory.dead_heap", xmem_heap_remove_memory, c_remove_dead_heap),
	C("heap_remove_memory.null_va", xmem_heap_remove_memory, c_remove_null_va),
	C("heap_remove_memory.zero_len", xmem_heap_remove_memory, c_remove_zero_len),
	C("heap_remove_memory.not_a_chunk", xmem_heap_remove_memory, c_remove_not_a_chunk),
	C("heap_remove_memory.part_of_chunk", xmem_heap_remove_memory, c_remove_part_of_chunk),
	C("heap_remove_memory.two_chunks", xmem_heap_remove_memory, c_remove_two_chunks),
	C("heap_remove_memory.other_heap", xmem_heap_remove_memory, c_remove_other_heap),
	C("heap_remove_memory.registered", xmem_heap_remove_memory, c_remove_registered),
	C("heap_remove_memory.removed", xmem_heap_remove_memory, c_remove_removed),
	C("heap_remove_memory.in_use", xmem_heap_remove_memory, c_remove_in_use),
	C("heap_remove_memory.no_metadata", xmem_heap_remove_memory, c_remove_no_metadata),
	C("heap_remove_memory.unmap_fails", xmem_heap_remove_memory, c_remove_unmap_fails),
	C("register.null_va", xmem_register, c_register_null_va),
	C("register.zero_len", xmem_register, c_register_zero_len),
	C("register.page_size", xmem_register, c_register_page_size),
	C("register.misaligned", xmem_register, c_register_misaligned),
	C("register.n_pages", xmem_register, c_register_n_pages),
	C("register.beyond_va_bits", xmem_register, c_register_beyond_va_bits),
	C("register.overlap_heap", xmem_register, c_register_overlap_heap),
	C("register.overlap_registered", xmem_register, c_register_overlap_registered),
	C("register.no_metadata", xmem_register, c_register_no_metadata),
	C("register.subscriber_veto", xmem_register, c_register_subscriber_veto),
	C("register.bad_iova", xmem_register, c_register_bad_iova),
	C("unregister.null_va", xmem_unregister, c_unregister_null_va),
	C("unregister.zero_len", xmem_unregister, c_unregister_zero_len),
	C("unregister.unknown", xmem_unregister, c_unregister_unknown),
	C("unregister.part", xmem_unregister, c_unregister_part),
	C("unregister.heap_chunk", xmem_unregister, c_unregister_heap_chunk),
	C("unregister.twice", xmem_unregister, c_unregister_twice),
	C("unregister.no_metadata", xmem_unregister, c_unregister_no_metadata),
	C("unregister.unmap_fails", xmem_unregister, c_unregister_unmap_fails),

	C("alloc.null_heap", xmem_alloc, c_alloc_null_heap),
	C("alloc.dead_heap", xmem_alloc, c_alloc_dead_heap),
	C("alloc.foreign_heap", xmem_alloc, c_alloc_foreign_heap),
	C("alloc.zero_size", xmem_alloc, c_alloc_zero_size),
	C("alloc.align_not_pow2", xmem_alloc, c_alloc_align_not_pow2),
	C("alloc.huge_size", xmem_alloc, c_alloc_huge_size),
	C("alloc.larger_than_heap", xmem_alloc, c_alloc_larger_than_heap),
	C("alloc.empty_heap", xmem_alloc, c_alloc_empty_heap),
	C("alloc.huge_align", xmem_alloc, c_alloc_huge_align),
	C("alloc.iova_scattered", xmem_alloc, c_alloc_iova_scattered),
	C("alloc.no_metadata", xmem_alloc, c_alloc_no_metadata),
	C("zalloc.null_heap", xmem_zalloc, c_zalloc_null_heap),
	C("zalloc.dead_heap", xmem_zalloc, c_zalloc_dead_heap),
	C("zalloc.zero_size", xmem_zalloc, c_zalloc_zero_size),
	C("zalloc.align_not_pow2", xmem_zalloc, c_zalloc_align_not_pow2),
	C("zalloc.huge_size", xmem_zalloc, c_zalloc_huge_size),
	C("alloc_bulk.null_heap", xmem_alloc_bulk, c_alloc_bulk_null_heap),
	C("alloc_bulk.dead_heap", xmem_alloc_bulk, c_alloc_bulk_dead_heap),
	C("alloc_bulk.null_objs", xmem_alloc_bulk, c_alloc_bulk_null_objs),
	C("alloc_bulk.zero_size", xmem_alloc_bulk, c_alloc_bulk_zero_size),
	C("alloc_bulk.zero_n", xmem_alloc_bulk, c_alloc_bulk_zero_n),
	C("alloc_bulk.too_many", xmem_alloc_bulk, c_alloc_bulk_too_many),
	C("alloc_bulk.huge_size", xmem_alloc_bulk, c_alloc_bulk_huge_size),
	C("set_checked.any_value", xmem_set_checked, c_set_checked_any_value),
	C("checked.no_input", xmem_checked, c_checked_no_input),
	C("invalid_free_count.no_input", xmem_invalid_free_count, c_invalid_free_count_no_input),

	P("free.null", xmem_free, gen_null, use_free),
	PTR_ROWS("free", xmem_free, use_free),
	P("free.double_large", xmem_free, gen_freed_large, use_free),
	P("free.double_class_checked", xmem_free, gen_freed_class_checked, use_free),
	P("free.interior_class_checked", xmem_free, gen_interior_class_checked, use_free),
	P("free.interior_class_unchecked", xmem_free, interior_class, use_free),
	C("free_bulk.null_array", xmem_free_bulk, c_free_bulk_null_array),
	C("free_bulk.null_array_zero", xmem_free_bulk, c_free_bulk_null_array_zero),
	C("free_bulk.null", xmem_free_bulk, c_free_bulk_null),
	PTR_ROWS("free_bulk", xmem_free_bulk, use_free_bulk),
	P("free_bulk.double_large", xmem_free_bulk, gen_freed_large, use_free_bulk),
	P("free_bulk.double_class_checked", xmem_free_bulk, gen_freed_class_checked, use_free_bulk),
	P("free_bulk.interior_class_checked", xmem_free_bulk, gen_interior_class_checked, use_free_bulk),
	P("free_bulk.interior_class_unchecked", xmem_free_bulk, interior_class, use_free_bulk),
	C("free_bulk.mixed", xmem_free_bulk, c_free_bulk_mixed),
	P("usable_size.null", xmem_usable_size, gen_null, use_usable),
	PTR_ROWS("usable_size", xmem_usable_size, use_usable),
	P("usable_size.freed_large", xmem_usable_size, gen_freed_large, use_usable),
	P("usable_size.interior_class", xmem_usable_size, gen_interior_class_both, use_usable),
	P("usable_size.freed_class_checked", xmem_usable_size, gen_freed_class_checked, use_usable),

	C("thread_register.full", xmem_thread_register, c_thread_register_full),
	C("thread_unregister.no_id", xmem_thread_unregister, c_thread_unregister_no_id),
	C("lcore_id.no_id", xmem_lcore_id, c_lcore_id_no_id),
	C("heap_trim.null", xmem_heap_trim, c_heap_trim_null),
	C("heap_trim.dead", xmem_heap_trim, c_heap_trim_dead),
	C("virt2iova.null", xmem_virt2iova, c_virt2iova_null),
	C("virt2iova.unknown", xmem_virt2iova, c_virt2iova_unknown),
	C("virt2iova.wild", xmem_virt2iova, c_virt2iova_wild),
	C("virt2iova.no_iova_page", xmem_virt2iova, c_virt2iova_no_iova_page),
	C("iova2virt.unknown", xmem_iova2virt, c_iova2virt_unknown),
	C("iova2virt.removed", xmem_iova2virt, c_iova2virt_removed),
	C("heap_stats.null_heap", xmem_heap_stats, c_heap_stats_null_heap),
	C("heap_stats.null_out", xmem_heap_stats, c_heap_stats_null_out),
	C("heap_stats.dead", xmem_heap_stats, c_heap_stats_dead),
	C("heap_dump.write_fails", xmem_heap_dump, c_heap_dump_write_fails),
	C("heap_dump.null", xmem_heap_dump, c_heap_dump_null),
	C("size_class.zero", xmem_size_class, c_size_class_zero),
	C("size_class.too_big", xmem_size_class, c_size_class_too_big),
	C("class_size.out_of_range", xmem_class_size, c_class_size_out_of_range),
	C("set_log.null", xmem_set_log, c_set_log_null),

	C("dma_set_iova_mode.unknown", xmem_dma_set_iova_mode, c_dma_set_iova_mode_unknown),
	C("dma_get_iova_mode.no_input", xmem_dma_get_iova_mode, c_dma_get_iova_mode_no_input),
	C("dma_set_iova_ranges.null", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_null),
	C("dma_set_iova_ranges.zero_n", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_zero_n),
	C("dma_set_iova_ranges.too_many", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_too_many),
	C("dma_set_iova_ranges.reversed", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_reversed),
	C("dma_set_iova_ranges.overlap", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_overlap),
	C("dma_set_iova_ranges.in_use", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_in_use),
	C("dma_subscribe.null_name", xmem_dma_subscribe, c_dma_subscribe_null_name),
	C("dma_subscribe.empty_name", xmem_dma_subscribe, c_dma_subscribe_empty_name),
	C("dma_subscribe.long_name", xmem_dma_subscribe, c_dma_subscribe_long_name),
	C("dma_subscribe.null_ops", xmem_dma_subscribe, c_dma_subscribe_null_ops),
	C("dma_subscribe.no_callback", xmem_dma_subscribe, c_dma_subscribe_no_callback),
	C("dma_subscribe.map_without_unmap", xmem_dma_subscribe, c_dma_subscribe_map_without_unmap),
	C("dma_subscribe.duplicate", xmem_dma_subscribe, c_dma_subscribe_duplicate),
	C("dma_subscribe.no_entries", xmem_dma_subscribe, c_dma_subscribe_no_entries),
	C("dma_subscribe.replay_veto", xmem_dma_subscribe, c_dma_subscribe_replay_veto),
	C("dma_subscribe.replay_map_fails", xmem_dma_subscribe, c_dma_subscribe_replay_map_fails),
	C("dma_subscribe.no_metadata", xmem_dma_subscribe, c_dma_subscribe_no_metadata),
	C("mem_event_register.null_fn", xmem_mem_event_register, c_mem_event_register_null_fn),
	C("mem_event_register.bad_name", xmem_mem_event_register, c_mem_event_register_bad_name),
	C("mem_event_register.duplicate", xmem_mem_event_register, c_mem_event_register_duplicate),
	C("dma_unsubscribe.null", xmem_dma_unsubscribe, c_dma_unsubscribe_null),
	C("dma_unsubscribe.dead", xmem_dma_unsubscribe, c_dma_unsubscribe_dead),
	C("dma_unsubscribe.foreign", xmem_dma_unsubscribe, c_dma_unsubscribe_foreign),
	C("dma_unsubscribe.unmap_fails", xmem_dma_unsubscribe, c_dma_unsubscribe_unmap_fails),
	C("dma_subscriber_lookup.null", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_null),
	C("dma_subscriber_lookup.empty", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_empty),
	C("dma_subscriber_lookup.unknown", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_unknown),
	C("dma_subscriber_lookup.unsubscribed", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_unsubscribed),
	C("dma_mapping_walk.null_fn", xmem_dma_mapping_walk, c_dma_mapping_walk_null_fn),
	C("dma_mapping_walk.dead", xmem_dma_mapping_walk, c_dma_mapping_walk_dead),
	C("dma_get_stats.null", xmem_dma_get_stats, c_dma_get_stats_null),
	C("dma_get_stats.dead", xmem_dma_get_stats, c_dma_get_stats_dead),
	C("dma_testdev_create.bad_name", xmem_dma_testdev_create, c_td_create_bad_name),
	C("dma_testdev_create.duplicate", xmem_dma_testdev_create, c_td_create_duplicate),
	C("dma_testdev_create.no_entries", xmem_dma_testdev_create, c_td_create_no_entries),
	C("dma_testdev_create.no_metadata", xmem_dma_testdev_create, c_td_create_no_metadata),
	C("dma_testdev_destroy.null", xmem_dma_testdev_destroy, c_td_destroy_null),
	C("dma_testdev_destroy.dead", xmem_dma_testdev_destroy, c_td_destroy_dead),
	C("dma_testdev_subscriber.null", xmem_dma_testdev_subscriber, c_td_subscriber_null),
	C("dma_testdev_subscriber.dead", xmem_dma_testdev_subscriber, c_td_subscriber_dead),
	C("dma_testdev_inject.null", xmem_dma_testdev_inject, c_td_inject_null),
	C("dma_testdev_inject.unknown_fault", xmem_dma_testdev_inject, c_td_inject_unknown_fault),
	C("dma_testdev_inject.dead", xmem_dma_testdev_inject, c_td_inject_dead),
	C("dma_testdev_map_direct.null", xmem_dma_testdev_map_direct, c_td_map_direct_null),
	C("dma_testdev_map_direct.zero_len", xmem_dma_testdev_map_direct, c_td_map_direct_zero_len),
	C("dma_testdev_map_direct.misaligned", xmem_dma_testdev_map_direct, c_td_map_direct_misaligned),
	C("dma_testdev_map_direct.dead", xmem_dma_testdev_map_direct, c_td_map_direct_dead),
	C("dma_testdev_map_direct.overlap", xmem_dma_testdev_map_direct, c_td_map_direct_overlap),
	C("dma_testdev_unmap_direct.null", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_null),
	C("dma_testdev_unmap_direct.zero_len", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_zero_len),
	C("dma_testdev_unmap_direct.misaligned", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_misaligned),
	C("dma_testdev_unmap_direct.dead", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_dead),
	C("dma_testdev_unmap_direct.not_exact", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_not_exact),
	C("dma_testdev_get_stats.null", xmem_dma_testdev_get_stats, c_td_get_stats_null),
	C("dma_testdev_get_stats.dead", xmem_dma_testdev_get_stats, c_td_get_stats_dead),
	C("dma_testdev_call.null", xmem_dma_testdev_call, c_td_call_null),
	C("dma_testdev_call.dead", xmem_dma_testdev_call, c_td_call_dead),
	C("dma_testdev_call.out_of_range", xmem_dma_testdev_call, c_td_call_out_of_range),
	C("dma_testdev_clear_log.null", xmem_dma_testdev_clear_log, c_td_clear_log_null),
	C("dma_testdev_clear_log.dead", xmem_dma_testdev_clear_log, c_td_clear_log_dead),

	C("vfio_container_open.no_vfio", xmem_vfio_container_open, c_vfio_container_open_no_vfio),
	C("vfio_container_close.null", xmem_vfio_container_close, c_vfio_container_close_null),
	C("vfio_container_fd.null", xmem_vfio_container_fd, c_vfio_container_fd_null),
	C("vfio_group_of.bad_bdf", xmem_vfio_group_of, c_vfio_group_of_bad_bdf),
	C("vfio_group_of.no_device", xmem_vfio_group_of, c_vfio_group_of_no_device),
	C("vfio_group_add.null", xmem_vfio_group_add, c_vfio_group_add_null),
	C("vfio_group_add.negative", xmem_vfio_group_add, c_vfio_group_add_negative),
	C("vfio_group_add.no_group", xmem_vfio_group_add, c_vfio_group_add_no_group),
	C("vfio_group_remove.null", xmem_vfio_group_remove, c_vfio_group_remove_null),
	C("vfio_group_remove.not_in_container", xmem_vfio_group_remove, c_vfio_group_remove_not_in_container),
	C("vfio_get_info.null", xmem_vfio_get_info, c_vfio_get_info_null),
	C("vfio_get_info.null_out", xmem_vfio_get_info, c_vfio_get_info_null_out),
	C("vfio_get_info.no_group", xmem_vfio_get_info, c_vfio_get_info_no_group),
	C("vfio_dma_map.null", xmem_vfio_dma_map, c_vfio_dma_map_null),
	C("vfio_dma_map.bad_args", xmem_vfio_dma_map, c_vfio_dma_map_bad_args),
	C("vfio_dma_map.no_group", xmem_vfio_dma_map, c_vfio_dma_map_no_group),
	C("vfio_dma_unmap.null", xmem_vfio_dma_unmap, c_vfio_dma_unmap_null),
	C("vfio_dma_unmap.bad_args", xmem_vfio_dma_unmap, c_vfio_dma_unmap_bad_args),
	C("vfio_dma_unmap.no_group", xmem_vfio_dma_unmap, c_vfio_dma_unmap_no_group),
	C("vfio_map_table.null", xmem_vfio_map_table, c_vfio_map_table_null),
	C("vfio_map_table.bad_args", xmem_vfio_map_table, c_vfio_map_table_bad_args),
	C("vfio_map_table.no_group", xmem_vfio_map_table, c_vfio_map_table_no_group),
	C("vfio_unmap_table.null", xmem_vfio_unmap_table, c_vfio_unmap_table_null),
	C("vfio_unmap_table.bad_args", xmem_vfio_unmap_table, c_vfio_unmap_table_bad_args),
	C("vfio_unmap_table.no_group", xmem_vfio_unmap_table, c_vfio_unmap_table_no_group),
	C("vfio_get_stats.null", xmem_vfio_get_stats, c_vfio_get_stats_null),
	C("vfio_get_stats.null_out", xmem_vfio_get_stats, c_vfio_get_stats_null_out),
	C("vfio_device_open.null", xmem_vfio_device_open, c_vfio_device_open_null),
	C("vfio_device_open.bad_name", xmem_vfio_device_open, c_vfio_device_open_bad_name),
	C("vfio_device_open.no_group", xmem_vfio_device_open, c_vfio_device_open_no_group),
	C("vfio_device_close.null", xmem_vfio_device_close, c_vfio_device_close_null),
	C("vfio_device_close.unknown_fd", xmem_vfio_device_close, c_vfio_device_close_unknown_fd),
	C("vfio_region_info.bad_args", xmem_vfio_region_info, c_vfio_region_info_bad_args),
	C("vfio_region_info.not_a_device", xmem_vfio_region_info, c_vfio_region_info_not_a_device),
	C("vfio_region_info.closed_fd", xmem_vfio_region_info, c_vfio_region_info_closed_fd),
	C("vfio_default_container.no_vfio", xmem_vfio_default_container, c_vfio_default_container_no_vfio),
	C("vfio_attach.no_vfio", xmem_vfio_attach, c_vfio_attach_no_vfio),
	C("vfio_attach.no_group", xmem_vfio_attach, c_vfio_attach_no_group),
	C("vfio_detach.no_default", xmem_vfio_detach, c_vfio_detach_no_default),
	C("vfio_detach.not_attached", xmem_vfio_detach, c_vfio_detach_not_attached),
};

#define N_CASES (sizeof cases / sizeof cases[0])

/* --------------------------------------------------------------- driver */

static struct et_table table;
static const char *part = "host";
static const char *only;
static struct xmem_vfio_container *vfio_c;

static const struct xcase *case_of(const char *id)
{
	for (size_t i = 0; i < N_CASES; i++)
		if (strcmp(cases[i].id, id) == 0)
			return &cases[i];
	return NULL;
}

/* Doc, headers and cases agree (see the top of this file). */
static void doc_consistency(void)
{
	if (table.errors)
		xt_fail_at(__FILE__, __LINE__, "%u problems reading the table", table.errors);
	for (size_t i = 0; i < table.n_rows; i++) {
		struct et_row *r = &table.rows[i];
		struct et_func *fn = et_func_find(&table, r->fn);
		if (!fn)
			xt_fail_at(__FILE__, __LINE__, "row %s (line %d): %s is not declared in the headers",
				   r->id, r->line, r->fn);
		else
			fn->has_row = true;
		const struct xcase *c = case_of(r->id);
		bool driven = strcmp(r->run, "none") != 0;
		if (driven && !c)
			xt_fail_at(__FILE__, __LINE__, "row %s (line %d) has no test case", r->id, r->line);
		if (!driven && c)
			xt_fail_at(__FILE__, __LINE__, "row %s (line %d) says run none but has a case",
				   r->id, r->line);
		if (c && strcmp(c->fn, r->fn) != 0)
			xt_fail_at(__FILE__, __LINE__, "row %s is about %s, its case about %s", r->id,
				   r->fn, c->fn);
		if (driven && !et_errno_documented(&table, r))
			xt_fail_at(__FILE__, __LINE__,
				   "row %s (line %d): %s is not in the header comment of %s", r->id,
				   r->line, r->err_name, r->fn);
		r->has_case = c != NULL;
	}
	for (size_t i = 0; i < N_CASES; i++) {
		bool found = false;
		for (size_t k = 0; k < table.n_rows && !found; k++)
			found = strcmp(table.rows[k].id, cases[i].id) == 0;
		if (!found)
			xt_fail_at(__FILE__, __LINE__, "case %s has no row in the table", cases[i].id);
	}
	for (size_t i = 0; i < table.n_funcs; i++)
		if (!table.funcs[i].has_row)
			xt_fail_at(__FILE__, __LINE__, "%s (%s) has no row in the table",
				   table.funcs[i].name, table.funcs[i].header);
	size_t by_run[3] = {0};
	for (size_t i = 0; i < table.n_rows; i++)
		by_run[strcmp(table.rows[i].run, "host") == 0 ? 0
		       : strcmp(table.rows[i].run, "vfio") == 0 ? 1 : 2]++;
	printf("table: %zu rows (%zu host, %zu vfio, %zu not driven), %zu functions, %zu cases\n",
	       table.n_rows, by_run[0], by_run[1], by_run[2], table.n_funcs, N_CASES);
}

static const struct et_row *cur_row;

static void run_row(void)
{
	const struct xcase *c = case_of(cur_row->id);
	bool live[XMEM_MAX_HEAPS];
	heap_ids(live);
	uint64_t inv0 = xmem_invalid_free_count();
	unsigned logs0 = atomic_load(&log_lines);
	struct env e;
	env_init(&e, cur_row);
	e.vc = vfio_c;
	if (c->run)
		c->run(&e);
	else
		c->gen(&e, c->use);
	env_fini(&e, live, inv0, logs0);
}

static void usage_paths(int argc, char **argv, const char **doc, const char *hdrs[3], int *nh)
{
	*doc = getenv("XMEM_ERRORS_MD");
	*nh = 0;
	const char *inc = getenv("XMEM_INCLUDE_DIR");
	static char buf[3][512];
	static const char *names[3] = {"xmem.h", "xmem_dma.h", "xmem_vfio.h"};
	if (inc)
		for (int i = 0; i < 3; i++) {
			snprintf(buf[i], sizeof buf[i], "%s/xmem/%s", inc, names[i]);
			hdrs[(*nh)++] = buf[i];
		}
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--doc=", 6) == 0)
			*doc = argv[i] + 6;
		else if (strncmp(argv[i], "--header=", 9) == 0 && *nh < 3)
			hdrs[(*nh)++] = argv[i] + 9;
		else if (strncmp(argv[i], "--part=", 7) == 0)
			part = argv[i] + 7;
		else if (strncmp(argv[i], "--only=", 7) == 0)
			only = argv[i] + 7;
		else
			XT_FATAL("unknown argument %s", argv[i]);
	}
	if (!*doc || *nh != 3)
		XT_FATAL("usage: errors_test --doc=docs/errors.md --header=include/xmem/xmem.h "
			 "--header=.../xmem_dma.h --header=.../xmem_vfio.h [--part=host|vfio] "
			 "[--only=<id prefix>]");
}

int main(int argc, char **argv)
{
	const char *doc, *hdrs[3];
	int nh;
	usage_paths(argc, argv, &doc, hdrs, &nh);
	setvbuf(stdout, NULL, _IOLBF, 0);

	et_load_doc(&table, doc);
	for (int i = 0; i < nh; i++)
		et_load_header(&table, hdrs[i]);
	xt_run("doc_consistency", doc_consistency);

	if (strcmp(part, "vfio") == 0) {
		errno = 0;
		vfio_c = xmem_vfio_container_open();
		if (!vfio_c)
			xt_skip("no VFIO container (%s): the vfio rows of docs/errors.md need "
				"/dev/vfio/vfio with vfio_iommu_type1",
				strerror(errno));
	} else if (strcmp(part, "host") != 0) {
		XT_FATAL("--part must be host or vfio");
	}

	xmem_set_log(capture);
	CHECK_GE(xmem_thread_register(), 0);
	witness_init();
	unsigned ran = 0;
	for (size_t i = 0; i < table.n_rows; i++) {
		const struct et_row *r = &table.rows[i];
		if (strcmp(r->run, part) != 0 || !r->has_case)
			continue;
		if (only && strncmp(r->id, only, strlen(only)) != 0)
			continue;
		cur_row = r;
		xt_run(r->id, run_row);
		ran++;
	}
	printf("%u rows run (part %s)\n", ran, part);
	witness_fini();
	xmem_set_log(NULL);
	if (vfio_c)
		xmem_vfio_container_close(vfio_c);
	free(table.rows);
	free(table.funcs);
	return xt_done();
}
