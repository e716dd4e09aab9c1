/* bad_free_test.c - frees of pointers that are not the start of an object,
 * and double frees, in the default (unchecked) mode and in checked mode.
 *
 * The contract (invariant 6 of the design brief): in EVERY mode, a pointer
 * that is not the start of an object slot of its span is rejected: the free
 * sets errno EINVAL, adds exactly 1 to xmem_invalid_free_count() and logs
 * one line through the xmem_set_log hook, and the heap is left intact.
 *
 *   bad_frees/<class>/<mode>   for every size class: a heap filled with the
 *       class until ENOMEM; then, through xmem_free, interior pointers of
 *       live objects (offset 1, 16, the middle, the last byte), span slack
 *       past the last object of a span (its first byte, which is one past the
 *       end of that object and not another object's start, a middle byte
 *       and the last byte), the end of the chunk; and one xmem_free_bulk
 *       burst of 12 live objects with 4 interior pointers mixed in (so the
 *       8-pointers-at-a-time path of a burst sees them), and two bursts of
 *       32 neighbours with one interior pointer in their midst (the path
 *       that tests a whole one-span burst at once).  Each must be
 *       rejected as above.  Afterwards: the burst's 12 objects are freed and
 *       the rest too, with no report; xmem_heap_trim and xmem_heap_stats
 *       work (nothing live); the heap yields exactly as many objects as
 *       before, none overlapping another and all inside the chunk; the chunk
 *       can be removed and the heap destroyed.
 *   burst_lanes/<mode>   2 KiB objects: for every burst length 4..64, every
 *       position in the burst and every alignment of the array (8, 16, 24 and
 *       32 bytes into a 64-byte aligned buffer), one xmem_free_bulk of
 *       freshly allocated neighbours with one bad pointer at that position:
 *       an interior pointer, or a slot-aligned address below the chunk
 *       (which only the range test rejects).  The bad one alone is rejected (counted and logged
 *       once) and the others are freed: the heap then yields every object
 *       again.  This reaches every lane of the vector loops, their
 *       overlapping last chunk, and both widths of the AVX-512 loads.
 *   burst_lanes_scattered/<mode>   the same with bursts whose even and odd
 *       lanes come from objects allocated 128 apart (another 256 KiB span
 *       for 2 KiB objects): the pointer-by-pointer path, which stores the
 *       pointers before the bad one into the cache and must leave the bad
 *       one and those after it to the general loop, each freed once.
 *   large_block_middle/<mode>   the same for the middle, the last byte and
 *       one past the end of large blocks (40 KiB, 256 KiB, 1 MiB).
 *   double_free/then_<op>/<mode>   4 objects of every class allocated and
 *       freed, then freed again: one by xmem_free, the others in one
 *       xmem_free_bulk burst that names one of them twice (4 duplicates per
 *       class).  Nothing is allocated in between, and then one of trim,
 *       stats, remove_memory or set_checked(1) runs.  No crash; never more
 *       reports than duplicates; after trim, remove_memory or set_checked(1)
 *       (each gives cached objects back to their spans) every duplicate is
 *       reported exactly once (checked mode: at the free itself), and after
 *       stats too once a trim follows it.  Then the heap is checked as
 *       above.
 *
 * Each case runs in a child process (xt_run_isolated): a case that crashes
 * the library fails alone and the others still run. */
#include <stdatomic.h>

#include "xt_util.h"

#define CHUNK_CLASS ((size_t)2 << 20)  /* per-class heap */
#define CHUNK_MIXED ((size_t)8 << 20)  /* large-block and double-free heaps */

static atomic_uint g_log_lines;
static char g_last_line[256];

static void capture(const char *line)
{
	atomic_fetch_add(&g_log_lines, 1);
	snprintf(g_last_line, sizeof g_last_line, "%s", line ? line : "(null)");
}

static unsigned log_lines(void)
{
	return atomic_load(&g_log_lines);
}

/* ------------------------------------------------------------ the heap */

struct env {
	struct xmem_heap *h;
	char *va;
	size_t len;
	uint64_t *t;
};

static void env_add(struct env *e)
{
	if (xmem_heap_add_memory(e->h, e->va, e->len, e->t, e->len / PAGE4K, PAGE4K))
		XT_FATAL("add_memory: %s", strerror(errno));
}

static void env_init(struct env *e, size_t len, int checked)
{
	e->len = len;
	e->va = xt_map(len, PAGE2M, PROT_READ | PROT_WRITE);
	e->t = xt_linear_table(0x200000000ULL, len / PAGE4K, PAGE4K);
	e->h = xmem_heap_create(xt_name("badfree"));
	if (!e->h)
		XT_FATAL("heap_create: %s", strerror(errno));
	env_add(e);
	xmem_set_log(capture);
	xmem_set_checked(checked);
	CHECK_EQ(xmem_checked(), checked);
}

/* Nothing live; the chunk comes back and the heap goes. */
static void env_fini(struct env *e)
{
	struct xmem_heap_stats st;
	CHECK_OK(xmem_heap_trim(e->h));
	if (xt_stats(e->h, &st))
		CHECK_EQ(st.alloc_count, 0);
	CHECK_OK(xmem_heap_remove_memory(e->h, e->va, e->len));
	CHECK_OK(xmem_heap_destroy(e->h));
	xmem_set_checked(0);
	xmem_set_log(NULL);
	xt_unmap(e->va, e->len);
	free(e->t);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Allocate blocks of `size` until ENOMEM; returns how many, in *out
 * (malloc'd, sorted by address).  Every block must lie in the chunk and
 * none may overlap the next: usable sizes are used. */
static size_t fill(struct env *e, size_t size, void ***out)
{
	size_t cap = e->len / (size < 16 ? 16 : size) + 16, n = 0;
	void **v = malloc(cap * sizeof *v);
	if (!v)
		XT_FATAL("malloc");
	for (;;) {
		errno = 0;
		void *p = xmem_alloc(e->h, size, 0);
		if (!p) {
			CHECK_EQ(errno, ENOMEM);
			break;
		}
		if (n == cap) {
			/* More blocks than the chunk can hold: handed out twice. */
			xt_fail_at(__FILE__, __LINE__, "more than %zu blocks of %zu B in %zu B",
				   cap, size, e->len);
			xmem_free(p);
			break;
		}
		v[n++] = p;
	}
	qsort(v, n, sizeof *v, cmp_ptr);
	for (size_t i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)v[i];
		size_t us = xmem_usable_size(v[i]);
		if (!CHECK_GE(us, size) ||
		    !CHECK(p >= (uintptr_t)e->va && p + size <= (uintptr_t)e->va + e->len) ||
		    (i + 1 < n && !CHECK_LE(p + us, (uintptr_t)v[i + 1]))) {
			fprintf(stderr, "  block %zu of %zu: %p usable %zu (chunk %p + %zu)\n",
				i, n, v[i], us, (void *)e->va, e->len);
			break;
		}
	}
	*out = v;
	return n;
}

static void free_all(void **v, size_t n)
{
	uint64_t c0 = xmem_invalid_free_count();
	unsigned l0 = log_lines();
	for (size_t i = 0; i < n; i += 32)
		xmem_free_bulk(v + i, (unsigned)(n - i < 32 ? n - i : 32));
	CHECK_EQ(xmem_invalid_free_count(), c0);
	CHECK_EQ(log_lines(), l0);
}

/* After the bad frees and the good ones: nothing live, trim works, and the
 * heap yields exactly n0 blocks of `size` again, none overlapping. */
static void check_heap_whole(struct env *e, size_t size, size_t n0)
{
	struct xmem_heap_stats st;
	CHECK_OK(xmem_heap_trim(e->h));
	if (xt_stats(e->h, &st)) {
		CHECK_EQ(st.alloc_count, 0);
		CHECK_EQ(st.alloc_bytes, 0);
		for (int c = 0; c < XMEM_NUM_CLASSES; c++)
			CHECK_EQ(st.classes[c].live, 0);
	}
	void **v;
	size_t n = fill(e, size, &v);
	if (!CHECK_EQ(n, n0))
		fprintf(stderr, "  the heap yields %zu blocks of %zu B, %zu before\n", n, size, n0);
	free_all(v, n);
	free(v);
}

/* ------------------------------------------------------ one bad pointer */

static unsigned g_rejected;

/* p must be rejected: errno EINVAL, counted once, logged once. */
static void expect_rejected(void *p, const char *what)
{
	uint64_t c0 = xmem_invalid_free_count();
	unsigned l0 = log_lines();
	errno = 0;
	xmem_free(p);
	int err = errno;
	bool ok = CHECK_EQ(err, EINVAL);
	ok &= CHECK_EQ(xmem_invalid_free_count(), c0 + 1);
	ok &= CHECK_EQ(log_lines(), l0 + 1);
	if (!ok)
		fprintf(stderr, "  xmem_free(%p): %s was accepted or misreported\n", p, what);
	g_rejected++;
}

/* env_init, then how many blocks of `size` the empty heap yields (all
 * allocated once and freed again): what check_heap_whole expects back. */
static size_t env_init_counted(struct env *e, size_t len, int checked, size_t size)
{
	env_init(e, len, checked);
	void **v;
	size_t n0 = fill(e, size, &v);
	free_all(v, n0);
	free(v);
	return n0;
}

/* ------------------------------------------------ one bad lane a burst */

/* Objects 128 apart: for 2 KiB objects, another span. */
#define SCATTER_GAP 128

/* arg: checked | scattered << 1 */
static void case_burst_lanes(int arg)
{
	const size_t size = 2048;
	int checked = arg & 1, scattered = arg >> 1;
	struct env e;
	size_t n0 = env_init_counted(&e, CHUNK_CLASS, checked, size);
	void *buf[72] __attribute__((aligned(64)));
	void *pool[SCATTER_GAP + 32];
	unsigned bursts = 0, missed = 0;
	for (unsigned m = 1; m <= 64; m++)
		for (unsigned lane = 0; lane < m; lane++)
			for (unsigned a = 1; a <= 4; a++) {
				void **run = buf + a;   /* 8, 16, 24, 32 bytes in */
				if (!scattered) {
					if (xmem_alloc_bulk(e.h, size, run, m) != 0) {
						CHECK_EQ(errno, 0);
						goto out;
					}
				} else {
					/* Even lanes from the first objects of the
					 * pool, odd ones from SCATTER_GAP on; the
					 * rest of the pool is freed right away. */
					unsigned np = SCATTER_GAP + m / 2;
					if (xmem_alloc_bulk(e.h, size, pool, np) != 0) {
						CHECK_EQ(errno, 0);
						goto out;
					}
					for (unsigned i = 0; i < m; i++)
						run[i] = pool[i % 2 ? SCATTER_GAP + i / 2 : i / 2];
					for (unsigned i = (m + 1) / 2; i < SCATTER_GAP; i++)
						xmem_free(pool[i]);
				}
				void *keep = run[lane];
				/* Interior, or a slot-aligned address below the
				 * chunk: the slot test passes for it (2 KiB
				 * divides the distance to any span's base), only
				 * the range test rejects it. */
				run[lane] = (lane + a) % 2 ? (char *)keep + 64 :
					    e.va - size * (1 + lane % 3);
				uint64_t c0 = xmem_invalid_free_count();
				unsigned l0 = log_lines();
				errno = 0;
				xmem_free_bulk(run, m);
				bool ok = CHECK_EQ(errno, EINVAL);
				ok &= CHECK_EQ(xmem_invalid_free_count(), c0 + 1);
				ok &= CHECK_EQ(log_lines(), l0 + 1);
				if (!ok && missed++ < 4)
					fprintf(stderr, "  burst of %u at %zu B into the buffer: "
						"bad pointer %p at %u accepted or misreported\n",
						m, (size_t)a * 8, run[lane], lane);
				xmem_free(keep);
				bursts++;
			}
out:
	printf("  %u bursts, each with one bad pointer\n", bursts);
	/* Every good pointer went in once: giving the caches back to the
	 * spans finds no object twice (a duplicate is reported there). */
	uint64_t c0 = xmem_invalid_free_count();
	CHECK_OK(xmem_heap_trim(e.h));
	CHECK_EQ(xmem_invalid_free_count(), c0);
	check_heap_whole(&e, size, n0);
	env_fini(&e);
}

/* ---------------------------------------------------- every size class */

static void interior_of(void *obj, size_t size, const char *what)
{
	size_t offs[] = {1, 16, (size / 2) & ~(size_t)15, size / 2, size - 1};
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= offs[j] == offs[i];
		if (offs[i] && offs[i] < size && !dup)
			expect_rejected((char *)obj + offs[i], what);
	}
}

static bool is_start(void **v, size_t n, uintptr_t a)
{
	void *key = (void *)a;
	return bsearch(&key, v, n, sizeof *v, cmp_ptr) != NULL;
}

/* arg: class | checked << 8 */
static void case_class(int arg)
{
	int cls = arg & 0xff, checked = arg >> 8;
	size_t size = xmem_class_size(cls);
	struct env e;
	env_init(&e, CHUNK_CLASS, checked);
	void **v;
	size_t n0 = fill(&e, size, &v);
	if (!CHECK_GE(n0, 24))
		return;
	CHECK_EQ(xmem_usable_size(v[0]), size);
	g_rejected = 0;

	/* Interior pointers of live objects: first, middle, last. */
	interior_of(v[0], size, "an interior pointer");
	interior_of(v[n0 / 2], size, "an interior pointer");
	interior_of(v[n0 - 1], size, "an interior pointer");

	/* Slack: the bytes after an object that no object starts at, up to
	 * the next object (the end of its span) or the end of the chunk. */
	unsigned gaps = 0;
	for (size_t i = 0; i < n0 && gaps < 3; i++) {
		uintptr_t end = (uintptr_t)v[i] + size;
		uintptr_t next = i + 1 < n0 ? (uintptr_t)v[i + 1] : (uintptr_t)e.va + e.len;
		if (end >= next || is_start(v, n0, end))
			continue;
		gaps++;
		expect_rejected((void *)end, "one past the last object of a span (slack)");
		if (next - end > 1)
			expect_rejected((void *)(next - 1), "the last byte of span slack");
		uintptr_t mid = (end + (next - end) / 2) & ~(uintptr_t)15;
		if (mid > end && mid < next - 1)
			expect_rejected((void *)mid, "the middle of span slack");
	}
	printf("  class %d (%zu B): %zu objects, %u slack gaps probed\n", cls, size, n0, gaps);
	expect_rejected(e.va + e.len, "the end of the chunk");

	/* Bursts of 32 neighbours (one span where the class has that many in
	 * a span: the path that tests a whole burst at once) with one
	 * interior pointer in their midst, at a lane that varies by class and
	 * at the last one.  The interior pointer's object stays live; the 31
	 * others are freed and dropped from v. */
	for (int w = 0; w < 2 && n0 >= 200; w++) {
		size_t at = n0 / 2 + (size_t)w * 40;
		unsigned lane = w ? 31 : (unsigned)(cls * 7) % 32;
		void *run[32];
		for (unsigned i = 0; i < 32; i++)
			run[i] = v[at + i];
		run[lane] = (char *)v[at + lane] + (size > 16 ? size / 2 : 8);
		uint64_t c0 = xmem_invalid_free_count();
		unsigned l0 = log_lines();
		errno = 0;
		xmem_free_bulk(run, 32);
		bool ok = CHECK_EQ(errno, EINVAL);
		ok &= CHECK_EQ(xmem_invalid_free_count(), c0 + 1);
		ok &= CHECK_EQ(log_lines(), l0 + 1);
		if (!ok)
			fprintf(stderr, "  a 32-burst with an interior pointer at %u was accepted\n",
				lane);
		g_rejected++;
		for (unsigned i = 0; i < 32; i++)
			if (i != lane)
				v[at + i] = NULL;   /* freed; free_all skips NULL */
	}

	/* A burst: 12 live objects and 4 interior pointers of other live ones,
	 * at positions 3, 7, 8 and 13. */
	void *burst[16];
	size_t k = n0 / 4, bad = 0, good = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 3 || i == 7 || i == 8 || i == 13)
			burst[i] = (char *)v[n0 - 1 - bad++] + (i == 8 ? size / 2 : 1 + (size > 16) * 15);
		else
			burst[i] = v[k + good++];
	}
	uint64_t c0 = xmem_invalid_free_count();
	unsigned l0 = log_lines();
	errno = 0;
	xmem_free_bulk(burst, 16);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(xmem_invalid_free_count(), c0 + 4);
	CHECK_EQ(log_lines(), l0 + 4);
	g_rejected += 4;

	/* The rest goes back with no report: every object once. */
	memmove(&v[k], &v[k + 12], (n0 - k - 12) * sizeof *v);
	free_all(v, n0 - 12);
	free(v);
	check_heap_whole(&e, size, n0);
	env_fini(&e);
}

/* ---------------------------------------------------------- large blocks */

static void case_large(int checked)
{
	struct env e;
	env_init(&e, CHUNK_MIXED, checked);
	const size_t big = 256 * KiB;
	void **v;
	size_t n0 = fill(&e, big, &v);
	free_all(v, n0);
	free(v);
	CHECK_OK(xmem_heap_trim(e.h));
	if (!CHECK_GT(n0, 4))
		return;

	size_t sizes[3] = {40 * KiB, big, MiB};
	void *b[3];
	for (int i = 0; i < 3; i++)
		if (!CHECK(b[i] = xmem_alloc(e.h, sizes[i], 0)))
			return;
	for (int i = 0; i < 3; i++) {
		size_t us = xmem_usable_size(b[i]);
		char *p = b[i];
		CHECK_GE(us, sizes[i]);
		expect_rejected(p + 1, "one byte into a large block");
		expect_rejected(p + 16, "16 bytes into a large block");
		expect_rejected(p + 4096, "a page into a large block");
		expect_rejected(p + us / 2, "the middle of a large block");
		expect_rejected(p + us - 1, "the last byte of a large block");
		bool other = false;
		for (int j = 0; j < 3; j++)
			other |= (char *)b[j] == p + us;
		if (!other && p + us < e.va + e.len)
			expect_rejected(p + us, "one past the end of a large block");
	}
	free_all(b, 3);
	check_heap_whole(&e, big, n0);
	env_fini(&e);
}

/* ------------------------------------------------------------ double frees */

enum { AFTER_TRIM, AFTER_STATS, AFTER_REMOVE, AFTER_CHECKED, N_AFTER };
static const char *const after_name[N_AFTER] = {"trim", "stats", "remove_memory",
						"set_checked"};

/* arg: what runs after the double frees | checked << 8 */
static void case_double_free(int arg)
{
	int after = arg & 0xff, checked = arg >> 8;
	const size_t probe = 2 * KiB;
	struct env e;
	size_t n0 = env_init_counted(&e, CHUNK_MIXED, checked, probe);
	CHECK_OK(xmem_heap_trim(e.h));

	void *obj[XMEM_NUM_CLASSES][4];
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		if (!CHECK_OK(xmem_alloc_bulk(e.h, xmem_class_size(c), obj[c], 4)))
			return;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		free_all(obj[c], 4);

	/* Nothing allocated since: the duplicates. */
	uint64_t c0 = xmem_invalid_free_count();
	unsigned l0 = log_lines(), dups = 0;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		void *again[3] = {obj[c][1], obj[c][2], obj[c][1]};
		xmem_free(obj[c][0]);
		xmem_free_bulk(again, 3);
		dups += 4;
	}
	if (checked) {
		/* Checked mode reports each one at the free itself. */
		CHECK_EQ(xmem_invalid_free_count(), c0 + dups);
		CHECK_EQ(log_lines(), l0 + dups);
	}
	struct xmem_heap_stats st;
	switch (after) {
	case AFTER_TRIM:
		CHECK_OK(xmem_heap_trim(e.h));
		break;
	case AFTER_STATS:
		/* alloc_count is checked after the trim below: a stats call
		 * that does not drain may still count the duplicates. */
		xt_stats(e.h, &st);
		break;
	case AFTER_REMOVE:
		CHECK_OK(xmem_heap_remove_memory(e.h, e.va, e.len));
		env_add(&e);
		break;
	case AFTER_CHECKED:
		CHECK_EQ(xmem_set_checked(1), checked);
		CHECK_EQ(xmem_set_checked(checked), 1);
		break;
	}
	/* Never more reports than duplicates.  Trim, remove and set_checked(1)
	 * give every cached object back to its span, so by now each duplicate
	 * reached one and was reported once; stats may or may not drain, so
	 * for it the count is exact after the trim that follows. */
	CHECK_LE(xmem_invalid_free_count(), c0 + dups);
	if (after != AFTER_STATS &&
	    (!CHECK_EQ(xmem_invalid_free_count(), c0 + dups) |
	     !CHECK_EQ(log_lines(), l0 + dups)))
		fprintf(stderr, "  %u duplicate frees, then %s: last log line: %s\n", dups,
			after_name[after], g_last_line);
	CHECK_OK(xmem_heap_trim(e.h));
	if (!CHECK_EQ(xmem_invalid_free_count(), c0 + dups) |
	    !CHECK_EQ(log_lines(), l0 + dups))
		fprintf(stderr, "  %u duplicate frees, then %s and trim: last log line: %s\n",
			dups, after_name[after], g_last_line);
	check_heap_whole(&e, probe, n0);
	env_fini(&e);
}

int main(void)
{
	static char names[2 * XMEM_NUM_CLASSES + 6 + 2 * N_AFTER][64];
	int k = 0;
	for (int checked = 0; checked <= 1; checked++) {
		const char *mode = checked ? "checked" : "default";
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			snprintf(names[k], sizeof names[k], "bad_frees/class%02d_%zuB/%s", c,
				 xmem_class_size(c), mode);
			xt_run_isolated(names[k++], case_class, c | checked << 8);
		}
		snprintf(names[k], sizeof names[k], "burst_lanes/%s", mode);
		xt_run_isolated(names[k++], case_burst_lanes, checked);
		snprintf(names[k], sizeof names[k], "burst_lanes_scattered/%s", mode);
		xt_run_isolated(names[k++], case_burst_lanes, checked | 2);
		snprintf(names[k], sizeof names[k], "large_block_middle/%s", mode);
		xt_run_isolated(names[k++], case_large, checked);
		for (int a = 0; a < N_AFTER; a++) {
			snprintf(names[k], sizeof names[k], "double_free/then_%s/%s",
				 after_name[a], mode);
			xt_run_isolated(names[k++], case_double_free, a | checked << 8);
		}
	}
	return xt_done();
}
