/* api_fuzz.c - libFuzzer target over xmem's public API, every answer checked
 * against the reference model (tests/model) and, for bad input, against the
 * errno docs/errors.md and the headers document.  This file owns the state,
 * the helpers every op uses (the live set, frees, counting reports), the op
 * table, the reset and the entry point; the ops live in ops_*.c (fuzz.h
 * says which file owns what).
 *
 * The input is a program: 5-byte instructions (an opcode and four argument
 * bytes; a short tail reads as zeros), at most MAX_OPS of them.  They drive
 * two heap slots and four 4 MiB memory chunks (a process-wide arena, 2 MiB
 * gaps between chunks that are never registered):
 *   create / destroy heaps (also duplicate, empty, too long names, NULL and
 *   destroyed handles); add memory to a heap or register it (sub-ranges of
 *   a chunk, 4 KiB or 2 MiB pages, no table / linear / scattered / holey
 *   IOVA tables, IOVA=VA mode, and misaligned, zero-length, wrong n_pages
 *   and overlapping ranges); remove / unregister (exact, partial, through
 *   the wrong call or heap, while blocks are live); alloc / zalloc /
 *   alloc_bulk with small, class, large, zero and huge sizes and good, odd
 *   and huge alignments; free and free_bulk of live blocks; wild frees and
 *   usable_size of pointers that are not blocks (stack, malloc, static, the
 *   gaps, unregistered or removed chunk memory, translation-only memory,
 *   interiors of large blocks; in checked mode also freed blocks and
 *   interiors of small ones); checked mode on/off; trim; lookups; probes of
 *   virt2iova / iova2virt; the model's full check (stats of every heap,
 *   usable sizes, invalid-free count, translations).
 *
 * XMEM_FUZZ_V2=1 adds the ops of the second release's contract (ops_v2.c,
 * ops_dma.c; opcodes 18 and up, so inputs without them decode as before):
 * interior pointers of small blocks, span slack and unit boundaries inside
 * large blocks freed in every mode; double frees outside checked mode
 * (afterwards the heap's counts are not exact, but nothing may crash, only
 * that address may be handed out twice, and trim must drop the duplicates
 * so that every chunk can be removed); stats compared exactly while objects
 * sit in caches, then trim; a DMA subscriber of the target's own whose
 * unmap fails or reports a short size, so that removal, unregister and
 * unsubscribe must fail with EIO and change nothing, and succeed once it
 * stops failing.  Without it the target checks the first release's
 * contract, which the current core meets.
 *
 * A violation prints one line and aborts: libFuzzer reports a crash.
 *
 * Every input starts from nothing and ends with nothing: all blocks freed,
 * all memory removed, both heaps destroyed, the subscriber gone, checked
 * mode and the IOVA mode back to their defaults, and no heap id left live.
 *
 * XMEM_FUZZ_BUG=double_free makes every free of a small or class block
 * outside checked mode free it twice: the block then sits twice in the lcore
 * cache, is handed out twice, and the model reports OVERLAP.  That is the
 * proof that the target can fail (tests/fuzz/run.sh --selftest).
 *
 * Built as a libFuzzer binary (--config=fuzz, clang) and as a plain replay
 * driver (replay_main.c) that runs the corpus in every build. */
#include "tests/fuzz/fuzz.h"

#include <stdarg.h>
#include <sys/mman.h>

struct fz_global FZG;
struct fz_state FZS;
unsigned long fz_log_lines;
char merr[XMODEL_ERR_MAX];

static void quiet_log(const char *line)
{
	(void)line;
	fz_log_lines++;
}

/* ------------------------------------------------------------- failing */

void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "api_fuzz: VIOLATION at op %u: ", S.op_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* ------------------------------------------------------------ decoding */

uint8_t byte(void)
{
	return S.pos < S.in_len ? S.in[S.pos++] : 0;
}

char *chunk_va(int c)
{
	return G.arena + GAP + (size_t)c * (CHUNK + GAP);
}

/* ------------------------------------------------------------- helpers */

bool overlaps_rec(const char *va, size_t len)
{
	for (int i = 0; i < S.n_recs; i++)
		if (S.recs[i].va < va + len && va < S.recs[i].va + S.recs[i].len)
			return true;
	return false;
}

int rec_at(const char *a)
{
	for (int i = 0; i < S.n_recs; i++)
		if (a >= S.recs[i].va && a < S.recs[i].va + S.recs[i].len)
			return i;
	return -1;
}

int live_find(const void *p)
{
	for (int i = 0; i < S.n_live; i++)
		if (S.live[i].p == p)
			return i;
	return -1;
}

bool is_large(const struct live *l)
{
	return l->size > XMEM_MAX_CLASS_SIZE || l->align > 4096;
}

/* A handle that is certainly not a live heap: NULL, or the last destroyed
 * one when no slot reuses its descriptor. */
struct xmem_heap *bad_heap(uint8_t sel)
{
	if ((sel & 1) && S.dead && S.dead != S.heap[0] && S.dead != S.heap[1])
		return S.dead;
	return NULL;
}

bool is_dup(const void *p)
{
	for (int k = 0; k < S.n_dups; k++)
		if (S.dups[k] == p)
			return true;
	return false;
}

struct reports reports_now(void)
{
	return (struct reports){xmem_invalid_free_count(), fz_log_lines};
}

void expect_reports(struct reports before, unsigned n, const char *what)
{
	uint64_t got = xmem_invalid_free_count() - before.count;
	unsigned long lines = fz_log_lines - before.lines;
	/* Duplicates of a double free outside checked mode may be reported
	 * by any call that gives cached objects back to their spans. */
	uint64_t slack = S.dup_frees;
	if (got < n || got > n + slack || lines != got)
		die("%s: %" PRIu64 " invalid frees reported, %lu lines logged, "
		    "expected %u%s", what, got, lines, n,
		    slack ? " (or a few more: duplicates pending)" : "");
}

struct live take_live(int i)
{
	struct live l = S.live[i];
	S.live[i] = S.live[--S.n_live];
	if (!l.alias)
		MODEL(xmodel_free(S.m, l.p, NULL, NULL, merr));
	if (is_dup(l.p)) {
		/* This free may be a duplicate in the library's eyes. */
		S.dup_frees++;
		xmodel_note_possible_invalid_free(S.m, 1);
	}
	S.freed[S.n_freed++ % N_FREED] = l.p;
	return l;
}

/* Free live entry i through the model, then the library. */
void free_live(int i, bool bulk)
{
	struct live l = take_live(i);
	struct reports r = reports_now();
	if (bulk) {
		void *objs[2] = {l.p, NULL};
		xmem_free_bulk(objs, 2);
	} else {
		xmem_free(l.p);
		/* The planted bug: a second free outside checked mode. */
		if (G.bug_double_free && !S.checked && !is_large(&l))
			xmem_free(l.p);
	}
	char what[96];
	snprintf(what, sizeof what, "free(%p) of a live block (size %zu)", l.p, l.size);
	expect_reports(r, 0, what);
}

void record_alloc(struct xmem_heap *h, int slot, void *p, size_t size, size_t align)
{
	if (S.n_live == MAX_LIVE)
		die("live set overflow");   /* callers leave room */
	/* A double-freed address may be handed out while someone holds it:
	 * the one overlap the contract allows.  Its holders stay out of the
	 * model, so that nothing overlapping it is judged either. */
	bool alias = is_dup(p);
	size_t us;
	if (alias) {
		int ri = rec_at(p);
		if (ri < 0 || S.recs[ri].slot != slot)
			die("double-freed %p handed out again by heap %d, which has no memory "
			    "there", p, slot);
		us = xmem_usable_size(p);
		if (us < size)
			die("double-freed %p handed out again: usable %zu < %zu", p, us, size);
	} else {
		MODEL(xmodel_alloc(S.m, h, p, size, align, merr));
		us = xmem_usable_size(p);
	}
	S.live[S.n_live++] = (struct live){p, size, align, us, slot, alias};
}

void bad_pointer(void *p, unsigned how, uint8_t sel, const char *what)
{
	char msg[128];
	struct reports r = reports_now();
	errno = 0;
	if (how % 3 == 2) {
		size_t us = xmem_usable_size(p);
		if (us != 0 || errno != EINVAL)
			die("usable_size(%p: %s) = %zu errno %d, expected 0 EINVAL", p, what,
			    us, errno);
		expect_reports(r, 0, "usable_size of a bad pointer");
		return;
	}
	if (how % 3 == 0) {
		xmem_free(p);
	} else if (!G.v2) {
		void *objs[3] = {NULL, p, NULL};
		xmem_free_bulk(objs, 3);
	} else {
		/* Among live blocks, which must be freed all the same. */
		void *objs[5];
		unsigned n = 0, before = sel % 3, after = sel / 3 % 3;
		for (unsigned k = 0; k < before && S.n_live; k++)
			objs[n++] = take_live((sel + k) % S.n_live).p;
		objs[n++] = p;
		for (unsigned k = 0; k < after && S.n_live; k++)
			objs[n++] = take_live((sel * 7 + k) % S.n_live).p;
		xmem_free_bulk(objs, n);
	}
	int e = errno;
	snprintf(msg, sizeof msg, "%s(%p: %s)", how % 3 ? "free_bulk" : "free", p, what);
	if (e != EINVAL)
		die("%s: errno %d (%s), expected EINVAL", msg, e, strerror(e));
	expect_reports(r, 1, msg);
	S.invalid++;
	xmodel_note_invalid_free(S.m, 1);
}

/* ------------------------------------------------------------- driver */

typedef void (*op_fn)(void);
static const struct {
	op_fn fn;
	const char *name;
} ops[] = {
	{op_create, "create"}, {op_destroy, "destroy"}, {op_add, "add"},
	{op_add, "add"}, {op_remove, "remove"}, {op_alloc, "alloc"},
	{op_alloc, "alloc"}, {op_alloc, "alloc"}, {op_free, "free"},
	{op_free, "free"}, {op_free_bulk, "free_bulk"}, {op_wild, "wild"},
	{op_usable, "usable"}, {op_probe, "probe"}, {op_check, "check"},
	{op_checked, "checked"}, {op_trim, "trim"}, {op_lookup, "lookup"},
	/* V2 (XMEM_FUZZ_V2=1) */
	{op_bad_free, "bad_free"}, {op_bad_free, "bad_free"},
	{op_double_free, "double_free"}, {op_stats_trim, "stats_trim"},
	{op_dma, "dma"}, {op_dma, "dma"},
};
#define N_OPS_V1 18
#define N_OPS_V2 (sizeof ops / sizeof ops[0])

static void setup_arena(void)
{
	size_t len = N_CHUNKS * (CHUNK + GAP) + GAP;
	char *p = mmap(NULL, len + PAGE2M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("api_fuzz: mmap");
		abort();
	}
	G.arena = (char *)(((uintptr_t)p + PAGE2M - 1) & ~(uintptr_t)(PAGE2M - 1));
	const char *bug = getenv("XMEM_FUZZ_BUG");
	G.bug_double_free = bug && strcmp(bug, "double_free") == 0;
	if (bug && !G.bug_double_free) {
		fprintf(stderr, "api_fuzz: unknown XMEM_FUZZ_BUG=%s (known: double_free)\n", bug);
		abort();
	}
	G.trace = getenv("XMEM_FUZZ_TRACE") != NULL;
	G.iova_overlap = getenv("XMEM_FUZZ_IOVA_DISJOINT") == NULL;
	/* On by default since the safety core landed; XMEM_FUZZ_V2=0 runs
	 * the first release's ops only (the planted-bug selftest does). */
	const char *v2 = getenv("XMEM_FUZZ_V2");
	G.v2 = !(v2 && strcmp(v2, "0") == 0);
	if (G.bug_double_free)
		fprintf(stderr, "api_fuzz: XMEM_FUZZ_BUG=double_free: frees of small blocks "
			"outside checked mode are done twice\n");
	if (G.v2)
		fprintf(stderr, "api_fuzz: XMEM_FUZZ_V2 (default on): the second release's ops are on "
			"(bad frees in every mode, double frees, stats/trim, failing DMA unmaps)\n");
	xmem_set_log(quiet_log);
}

/* Take every chunk out (the subscriber, if any, no longer fails); with
 * double frees behind, after a trim of both heaps, which must have dropped
 * every duplicate. */
void reset_heaps_and_memory(void)
{
	/* Nothing is allocated now: after a trim, the counts of a heap are
	 * exact again even after double frees (their duplicates dropped). */
	for (int s = 0; s < 2; s++) {
		struct xmem_heap_stats st;
		if (!S.heap[s] || !(S.tainted[0] || S.tainted[1]))
			continue;
		if (xmem_heap_trim(S.heap[s]) || xmem_heap_stats(S.heap[s], &st))
			die("reset: trim or stats failed: %s", strerror(errno));
		MODEL(xmodel_compare_stats(S.m, S.heap[s], &st, merr));
	}
	while (S.n_recs) {
		struct rec r = S.recs[S.n_recs - 1];
		struct xmem_heap *h = r.slot >= 0 ? S.heap[r.slot] : NULL;
		MODEL(xmodel_remove_begin(S.m, h, r.va, r.len, NULL, merr));
		errno = 0;
		int rc = h ? xmem_heap_remove_memory(h, r.va, r.len) : xmem_unregister(r.va, r.len);
		int e = errno;
		MODEL(xmodel_remove_end(S.m, r.va, rc, e, merr));
		if (rc)
			die("reset: removing [%p,+%#zx) (%s heap) failed: %s", r.va, r.len,
			    r.slot >= 0 && S.tainted[r.slot] ? "a double-freed" : "a",
			    strerror(e));
		free(r.iova);
		S.n_recs--;
	}
}

/* Back to nothing: every block freed, all memory removed, heaps destroyed,
 * defaults restored; the model checked before and after. */
static void reset(void)
{
	S.op_no = 9999;
	dma_disarm();
	MODEL(xmodel_check(S.m, &S.rng, 16, merr));
	while (S.n_live)
		free_live(S.n_live - 1, false);
	reset_heaps_and_memory();
	dma_reset();
	MODEL(xmodel_check(S.m, &S.rng, 16, merr));
	for (int s = 0; s < 2; s++) {
		if (!S.heap[s])
			continue;
		errno = 0;
		int rc = xmem_heap_destroy(S.heap[s]);
		MODEL(xmodel_heap_destroyed(S.m, S.heap[s], rc, errno, merr));
		if (rc)
			die("reset: destroy failed: %s", strerror(errno));
		S.heap[s] = NULL;
	}
	xmem_set_checked(0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	for (int id = 0; id < XMEM_MAX_HEAPS; id++)
		if (xmem_heap_from_id(id))
			die("reset: heap id %d still live", id);
	if (xmodel_live_count(S.m) || xmodel_chunk_count(S.m))
		die("reset: the model still holds %zu blocks, %zu chunks",
		    xmodel_live_count(S.m), xmodel_chunk_count(S.m));
	xmodel_free_model(S.m);
	S.m = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!G.arena)
		setup_arena();
	G.inputs++;
	memset(&S, 0, sizeof S);
	S.m = xmodel_new();
	if (!S.m)
		die("xmodel_new failed");
	S.in = data;
	S.in_len = size;
	S.rng = 0x5eed;
	for (size_t i = 0; i < size; i++)
		S.rng = S.rng * 31 + data[i];
	size_t n_ops = G.v2 ? N_OPS_V2 : N_OPS_V1;
	for (S.op_no = 0; S.op_no < MAX_OPS && S.pos < S.in_len; S.op_no++) {
		size_t start = S.pos;
		uint8_t op = byte() % n_ops;
		if (G.trace) {
			const uint8_t *a = S.in + start + 1;
			size_t n = S.in_len - start - 1 < 4 ? S.in_len - start - 1 : 4;
			fprintf(stderr, "op %u: %s", S.op_no, ops[op].name);
			for (size_t k = 0; k < n; k++)
				fprintf(stderr, " %u", a[k]);
			fprintf(stderr, " (heaps %p %p, %d records, %d live, checked %d%s)\n",
				(void *)S.heap[0], (void *)S.heap[1], S.n_recs, S.n_live,
				S.checked, S.n_dups ? ", double-freed" : "");
		}
		ops[op].fn();
		S.pos = start + 5;   /* fixed-size instructions */
	}
	reset();
	return 0;
}
