/* errors_test.c - drives every row of docs/errors.md, the bad-input table.
 *
 * The document is the source of truth: each case performs the bad call(s)
 * of its row and the harness compares the result with the row's "returns"
 * and "errno" cells, so a case never restates an errno.  Before anything
 * runs, the test checks that doc, headers and cases agree (errors_table.h):
 * every row has a case, every case a row, every function declared in
 * the public headers (xmem.h, xmem_pool.h, xmem_dma.h, xmem_vfio.h,
 * xmem_numa.h, xmem_devmem.h, xmem_shared.h) a row, and every errno a row
 * names is in its function's header comment.
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
 * (XMEM_ERRORS_MD and XMEM_INCLUDE_DIR, the repository's include/, work as
 * well as the flags.)
 * --part=vfio runs the rows that need a VFIO container (/dev/vfio/vfio) and
 * prints SKIPPED without one.
 *
 * This file is the driver: reading the table and the headers
 * (errors_table.h), the cross-checks, the env, snapshots and EXPECT checks
 * around every call, the case table and main.  The cases are in
 * errors_cases_heap.c, errors_cases_alloc.c, errors_cases_dma.c and
 * errors_cases_vfio.c; errors_test.h is what they share. */
#include "errors_test.h"

/* xt.h's counters, for every file of the test (errors_test.h). */
XT_STATE_DEFINITIONS;

/* ------------------------------------------------------------ log hook */

_Atomic unsigned log_lines;
_Atomic unsigned fail_lines;
static char last_fail[512];

/* The one line of a failed control-plane call, "xmem: <call>: <cause>
 * (<ERRNO>)", as against a bad-pointer report "xmem: <call>(<ptr>): ...". */
static bool fail_line(const char *line)
{
	if (strncmp(line, "xmem: xmem_", 11) != 0)
		return false;
	const char *p = line + 11;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (*p != ':')
		return false;
	snprintf(last_fail, sizeof last_fail, "%s", line);
	atomic_fetch_add(&fail_lines, 1);
	return true;
}

void capture(const char *line)
{
	if (!fail_line(line))
		atomic_fetch_add(&log_lines, 1);
}

/* The log lines of a failing unmap, counted apart: a failed unmap is
 * logged by design, which is not a bad-pointer report. */
unsigned unmap_log_lines;
void capture_unmap(const char *line)
{
	if (!fail_line(line))
		unmap_log_lines++;
}

/* Functions whose every failure logs exactly one line naming the function
 * and the errno, and those that never log a failure (the data path). */
static const char *const control_fns[] = {
	"xmem_heap_create", "xmem_heap_destroy", "xmem_heap_add_memory",
	"xmem_heap_remove_memory", "xmem_register", "xmem_unregister",
	"xmem_dma_set_iova_mode", "xmem_dma_set_iova_ranges", "xmem_dma_subscribe",
	"xmem_mem_event_register", "xmem_dma_unsubscribe", "xmem_vfio_attach",
	"xmem_vfio_detach", "xmem_vfio_container_open", "xmem_vfio_group_add",
	"xmem_vfio_group_remove", "xmem_vfio_container_open_backend", "xmem_heap_add_bar",
	"xmem_heap_remove_bar", "xmem_heap_add_dmabuf", "xmem_heap_remove_dmabuf",
	"xmem_shared_create", "xmem_shared_attach", "xmem_shared_detach",
	"xmem_shared_reap", "xmem_shared_unlink", "xmem_shared_sync",
	"xmem_heap_add_file",
};
static const char *const data_fns[] = {
	"xmem_alloc", "xmem_zalloc", "xmem_alloc_bulk", "xmem_free",
	"xmem_free_bulk", "xmem_usable_size",
};

static bool listed(const char *fn, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fn, v[i]) == 0)
			return true;
	return false;
}

/* The failure lines the call logged since sn against the row's function. */
static void fail_lines_check(struct env *e, const struct snap *sn, const char *file,
			     int line, const char *what)
{
	unsigned n = atomic_load(&fail_lines) - sn->fails;
	const char *fn = e->row->fn;
	if (listed(fn, control_fns, sizeof control_fns / sizeof *control_fns)) {
		char head[96], tail[32];
		snprintf(head, sizeof head, "xmem: %s: ", fn);
		snprintf(tail, sizeof tail, "(%s)", e->row->err_name);
		if (n != 1)
			xt_fail_at(file, line, "%s: %u failure log lines, expected 1", what, n);
		else if (strncmp(last_fail, head, strlen(head)) != 0 ||
			 (e->row->err && !strstr(last_fail, tail)))
			xt_fail_at(file, line, "%s: the log line \"%s\" does not name %s and %s",
				   what, last_fail, fn, e->row->err_name);
	} else if (listed(fn, data_fns, sizeof data_fns / sizeof *data_fns) && n != 0) {
		xt_fail_at(file, line, "%s: the data path logged \"%s\"", what, last_fail);
	}
}

/* ------------------------------------------------------------- the env */

struct witness W;

void stats_of(struct xmem_heap *h, struct xmem_heap_stats *s)
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

void snap_take(struct env *e, struct snap *sn)
{
	stats_of(e->h, &sn->s);
	stats_of(W.h, &sn->w);
	sn->has_x = e->x != NULL;
	if (sn->has_x)
		stats_of(e->x, &sn->x);
	sn->inv = xmem_invalid_free_count();
	sn->logs = atomic_load(&log_lines);
	sn->fails = atomic_load(&fail_lines);
}

/* The accounting of a heap must be identical. */
bool stats_same(const char *file, int line, const char *what,
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
void expect_value(struct env *e, const struct snap *sn, const char *file, int line,
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
	fail_lines_check(e, sn, file, line, what);
	snap_check(e, sn, file, line, what, 0, true);
}

/* A void call (free, free_bulk) against its row: n bad pointers. */
void expect_void(struct env *e, const struct snap *sn, const char *file, int line,
			const char *what, unsigned n, int err, bool heaps_same)
{
	e->checks++;
	if (!row_is(e, file, line, what, true))
		return;
	unsigned reports = e->row->ret == ET_REPORT ? n : 0;
	if (e->row->err && err != e->row->err)
		xt_fail_at(file, line, "%s: errno %d (%s), row %s says %s", what, err,
			   strerror(err), e->row->id, e->row->err_name);
	fail_lines_check(e, sn, file, line, what);
	snap_check(e, sn, file, line, what, reports, heaps_same);
	e->reports += reports;
	e->logged += reports;
}

/* The row cannot be checked on this machine (said, not hidden). */
void not_here(struct env *e, const char *why)
{
	printf("  note: %s not checked here: %s\n", e->row->id, why);
	e->checks++;
}

/* ------------------------------------------------- fault injection loop */

/* Make the 1st, 2nd, ... metadata allocation of the call fail, until the
 * call succeeds: every failure must be the row's errno and change nothing. */
void fault_loop(struct env *e, const char *what, attempt_fn attempt)
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

int walk_count(const char *s, const struct xmem_dma_mapping *m, void *arg)
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
uint64_t junk[1024];

struct xmem_heap *dead_heap(void)
{
	struct xmem_heap *h = xmem_heap_create("err-dead");
	if (!h || xmem_heap_destroy(h))
		XT_FATAL("dead heap: %s", strerror(errno));
	return h;
}

struct xmem_heap *foreign_heap(void)
{
	return (struct xmem_heap *)junk;
}

const char *long_name(size_t n)
{
	static char buf[128];
	memset(buf, 'n', n);
	buf[n] = '\0';
	return buf;
}

/* A memory-event subscriber that accepts every event. */
int ev_ok(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)ctx, (void)ev, (void)r;
	return 0;
}

/* The assigner's default IOVA range, to put back. */
const struct xmem_iova_range default_range = {XMEM_DMA_DEFAULT_IOVA_START,
					      XMEM_DMA_DEFAULT_IOVA_END};

/* ------------------------------------------------------------ the cases */

/* The tables of errors_cases_*.c as one, in the order of errors_test.h. */
static struct xcase *cases;
static size_t n_cases;

static void cases_collect(void)
{
	const struct {
		const struct xcase *c;
		size_t n;
	} parts[] = {
		{cases_heap, n_cases_heap},
		{cases_alloc, n_cases_alloc},
		{cases_dma, n_cases_dma},
		{cases_vfio, n_cases_vfio},
		{cases_numa, n_cases_numa},
		{cases_shared, n_cases_shared},
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		n_cases += parts[i].n;
	cases = malloc(n_cases * sizeof *cases);
	if (!cases)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		memcpy(cases + k, parts[i].c, parts[i].n * sizeof *cases);
		k += parts[i].n;
	}
}

/* --------------------------------------------------------------- driver */

static struct et_table table;
static const char *part = "host";
static const char *only;
static struct xmem_vfio_container *vfio_c;

static const struct xcase *case_of(const char *id)
{
	for (size_t i = 0; i < n_cases; i++)
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
	for (size_t i = 0; i < n_cases; i++) {
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
	       table.n_rows, by_run[0], by_run[1], by_run[2], table.n_funcs, n_cases);
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

/* The seven public headers and the test library's testing/xmem_testdev.h
 * (the test backend has rows too). */
#define N_HEADERS 8

static void usage_paths(int argc, char **argv, const char **doc,
			const char *hdrs[N_HEADERS], int *nh)
{
	*doc = getenv("XMEM_ERRORS_MD");
	*nh = 0;
	const char *inc = getenv("XMEM_INCLUDE_DIR");
	static char buf[N_HEADERS][512];
	static const char *names[N_HEADERS] = {"xmem/xmem.h", "xmem/xmem_pool.h",
					       "xmem/xmem_dma.h", "xmem/xmem_vfio.h",
					       "xmem/xmem_numa.h", "xmem/xmem_devmem.h",
					       "xmem/xmem_shared.h",
					       "../testing/xmem_testdev.h"};
	if (inc)
		for (int i = 0; i < N_HEADERS; i++) {
			snprintf(buf[i], sizeof buf[i], "%s/%s", inc, names[i]);
			hdrs[(*nh)++] = buf[i];
		}
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--doc=", 6) == 0)
			*doc = argv[i] + 6;
		else if (strncmp(argv[i], "--header=", 9) == 0 && *nh < N_HEADERS)
			hdrs[(*nh)++] = argv[i] + 9;
		else if (strncmp(argv[i], "--part=", 7) == 0)
			part = argv[i] + 7;
		else if (strncmp(argv[i], "--only=", 7) == 0)
			only = argv[i] + 7;
		else
			XT_FATAL("unknown argument %s", argv[i]);
	}
	if (!*doc || *nh != N_HEADERS)
		XT_FATAL("usage: errors_test --doc=docs/errors.md --header=include/xmem/xmem.h "
			 "--header=.../xmem_pool.h --header=.../xmem_dma.h "
			 "--header=.../xmem_vfio.h --header=.../xmem_numa.h "
			 "--header=.../xmem_devmem.h --header=.../xmem_shared.h "
			 "--header=testing/xmem_testdev.h [--part=host|vfio] "
			 "[--only=<id prefix>]");
}

int main(int argc, char **argv)
{
	const char *doc, *hdrs[N_HEADERS];
	int nh;
	usage_paths(argc, argv, &doc, hdrs, &nh);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cases_collect();

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
	free(cases);
	return xt_done();
}
