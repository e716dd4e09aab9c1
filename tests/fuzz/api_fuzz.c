/* api_fuzz.c - libFuzzer target over xmem's public API, every answer checked
 * against the reference model (tests/model) and, for bad input, against the
 * errno docs/errors.md and the headers document.
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
 * A violation prints one line and aborts: libFuzzer reports a crash.
 *
 * Every input starts from nothing and ends with nothing: all blocks freed,
 * all memory removed, both heaps destroyed, checked mode and the IOVA mode
 * back to their defaults, and no heap id left live.
 *
 * XMEM_FUZZ_BUG=double_free makes every free of a small or class block
 * outside checked mode free it twice: the block then sits twice in the lcore
 * cache, is handed out twice, and the model reports OVERLAP.  That is the
 * proof that the target can fail (tests/fuzz/run.sh --selftest).
 *
 * Built as a libFuzzer binary (--config=fuzz, clang) and as a plain replay
 * driver (replay_main.c) that runs the corpus in every build. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#include "tests/model/model.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define PAGE4K ((size_t)4096)
#define PAGE2M (2 * MiB)

#define N_CHUNKS 4
#define CHUNK (4 * MiB)
#define GAP PAGE2M
#define MAX_OPS 96
#define MAX_LIVE 512
#define MAX_RECS 16
#define N_FREED 32

/* IOVA space of chunk c's tables: disjoint for every chunk (2^38 each). */
#define IOVA_BASE(c) (((uint64_t)1 << 40) + (uint64_t)(c) * ((uint64_t)1 << 38))

struct live {
	void *p;
	size_t size, align, usable;
	int slot;
};

struct rec {           /* memory added (slot 0/1) or registered (slot -1) */
	char *va;
	size_t len;
	int slot;
};

static struct {
	char *arena;                    /* N_CHUNKS x (GAP + CHUNK) + GAP */
	int bug_double_free;
	int trace;                      /* XMEM_FUZZ_TRACE=1: print each op */
	int iova_overlap;               /* unless XMEM_FUZZ_IOVA_DISJOINT=1 */
	unsigned long inputs;
} G;

static struct {
	struct xmodel *m;
	struct xmem_heap *heap[2];
	char name[2][XMEM_HEAP_NAME_MAX];
	struct xmem_heap *dead;         /* a destroyed handle, or NULL */
	struct rec recs[MAX_RECS];
	int n_recs;
	struct live live[MAX_LIVE];
	int n_live;
	void *freed[N_FREED];           /* recently freed pointers (ring) */
	unsigned n_freed;
	int checked;
	uint64_t rng;
	unsigned names;
	unsigned invalid;               /* invalid frees made by this input */
	const uint8_t *in;
	size_t in_len, pos;
	unsigned op_no;
} S;

static unsigned long log_lines;
static void quiet_log(const char *line)
{
	(void)line;
	log_lines++;
}

/* ------------------------------------------------------------- failing */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
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

static char merr[XMODEL_ERR_MAX];
#define MODEL(call)                                                              \
	do {                                                                     \
		merr[0] = '\0';                                                  \
		int v_ = (call);                                                 \
		if (v_ != XMODEL_OK)                                             \
			die("model %s: %s (%s)", xmodel_verdict_name(v_), merr, #call); \
	} while (0)

/* A call that must fail with exactly errno e (pointer or int result). */
#define MUST_FAIL(failed_expr, e, what)                                          \
	do {                                                                     \
		errno = 0;                                                       \
		bool f_ = (failed_expr);                                         \
		int er_ = errno;                                                 \
		if (!f_ || er_ != (e))                                           \
			die("%s: %s, errno %d (%s), expected %s", (what),        \
			    f_ ? "failed" : "succeeded", er_, strerror(er_), #e); \
	} while (0)

/* ------------------------------------------------------------ decoding */

static uint8_t byte(void)
{
	return S.pos < S.in_len ? S.in[S.pos++] : 0;
}

static char *chunk_va(int c)
{
	return G.arena + GAP + (size_t)c * (CHUNK + GAP);
}

/* ------------------------------------------------------------- helpers */

static bool overlaps_rec(const char *va, size_t len)
{
	for (int i = 0; i < S.n_recs; i++)
		if (S.recs[i].va < va + len && va < S.recs[i].va + S.recs[i].len)
			return true;
	return false;
}

static int rec_at(const char *a)
{
	for (int i = 0; i < S.n_recs; i++)
		if (a >= S.recs[i].va && a < S.recs[i].va + S.recs[i].len)
			return i;
	return -1;
}

static int live_find(const void *p)
{
	for (int i = 0; i < S.n_live; i++)
		if (S.live[i].p == p)
			return i;
	return -1;
}

static bool is_large(const struct live *l)
{
	return l->size > XMEM_MAX_CLASS_SIZE || l->align > 4096;
}

/* A handle that is certainly not a live heap: NULL, or the last destroyed
 * one when no slot reuses its descriptor. */
static struct xmem_heap *bad_heap(uint8_t sel)
{
	if ((sel & 1) && S.dead && S.dead != S.heap[0] && S.dead != S.heap[1])
		return S.dead;
	return NULL;
}

/* Free live entry i through the model, then the library. */
static void free_live(int i, bool bulk)
{
	struct live l = S.live[i];
	MODEL(xmodel_free(S.m, l.p, NULL, NULL, merr));
	S.live[i] = S.live[--S.n_live];
	uint64_t inv = xmem_invalid_free_count();
	if (bulk) {
		void *objs[2] = {l.p, NULL};
		xmem_free_bulk(objs, 2);
	} else {
		xmem_free(l.p);
		/* The planted bug: a second free outside checked mode. */
		if (G.bug_double_free && !S.checked && !is_large(&l))
			xmem_free(l.p);
	}
	if (xmem_invalid_free_count() != inv)
		die("free(%p) of a live block (size %zu) was reported invalid", l.p, l.size);
	S.freed[S.n_freed++ % N_FREED] = l.p;
}

static void record_alloc(struct xmem_heap *h, int slot, void *p, size_t size, size_t align)
{
	MODEL(xmodel_alloc(S.m, h, p, size, align, merr));
	size_t us = xmem_usable_size(p);
	if (S.n_live == MAX_LIVE)
		die("live set overflow");   /* callers leave room */
	S.live[S.n_live++] = (struct live){p, size, align, us, slot};
}

/* ------------------------------------------------------------------ ops */

static void op_create(void)
{
	uint8_t a = byte(), b = byte();
	int slot = a & 1;
	switch (b % 8) {
	case 5: {
		int other = !slot;
		if (S.heap[other])
			MUST_FAIL(xmem_heap_create(S.name[other]) == NULL, EEXIST, "create(duplicate)");
		return;
	}
	case 6:
		MUST_FAIL(xmem_heap_create("") == NULL, EINVAL, "create(\"\")");
		return;
	case 7: {
		char lng[XMEM_HEAP_NAME_MAX + 8];
		memset(lng, 'x', sizeof lng - 1);
		lng[XMEM_HEAP_NAME_MAX + (a % 8)] = '\0';
		MUST_FAIL(xmem_heap_create(lng) == NULL, EINVAL, "create(too long)");
		if (b & 8)
			MUST_FAIL(xmem_heap_create(NULL) == NULL, EINVAL, "create(NULL)");
		return;
	}
	default:
		break;
	}
	if (S.heap[slot]) {
		MUST_FAIL(xmem_heap_create(S.name[slot]) == NULL, EEXIST, "create(own name)");
		return;
	}
	snprintf(S.name[slot], sizeof S.name[slot], "fz%u-%u", slot, S.names++);
	errno = 0;
	struct xmem_heap *h = xmem_heap_create(S.name[slot]);
	if (!h)
		die("create(%s) failed: %s", S.name[slot], strerror(errno));
	MODEL(xmodel_heap_created(S.m, h, S.name[slot], merr));
	S.heap[slot] = h;
}

static void op_destroy(void)
{
	uint8_t a = byte(), b = byte();
	int slot = a & 1;
	if (b % 8 == 6) {
		MUST_FAIL(xmem_heap_destroy(NULL) == -1, EINVAL, "destroy(NULL)");
		return;
	}
	if (b % 8 == 7) {
		struct xmem_heap *d = bad_heap(1);
		if (d)
			MUST_FAIL(xmem_heap_destroy(d) == -1, EINVAL, "destroy(dead)");
		return;
	}
	struct xmem_heap *h = S.heap[slot];
	if (!h)
		return;
	errno = 0;
	int rc = xmem_heap_destroy(h);
	MODEL(xmodel_heap_destroyed(S.m, h, rc, errno, merr));
	if (rc == 0) {
		S.heap[slot] = NULL;
		S.dead = h;
	}
}

static uint64_t *make_table(int kind, char *va, size_t len, size_t ps, int c)
{
	size_t n = len / ps;
	uint64_t *t = malloc(n * sizeof *t);
	if (!t)
		die("out of memory");
	/* Disjoint IOVAs for disjoint ranges: each table kind has its own
	 * space, and a range at chunk offset o starts at 8 * o there, so the
	 * longest table (scattered: 2 * len) ends before the next range's.
	 * By default the base is the chunk offset itself, so that tables of
	 * neighbouring ranges overlap in IOVA (which found the xmem_iova2virt
	 * bug in tests/fuzz/README.md); XMEM_FUZZ_IOVA_DISJOINT=1 keeps them
	 * apart. */
	uint64_t o = (uint64_t)(va - chunk_va(c));
	uint64_t base = G.iova_overlap ? IOVA_BASE(c) + o
				       : IOVA_BASE(c) + ((uint64_t)kind << 36) + 8 * o;
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case 1:      /* linear */
			t[i] = base + i * ps;
			break;
		case 2:      /* scattered: every page jumps */
			t[i] = base + 2 * i * ps + (G.iova_overlap ? (uint64_t)1 << 31 : 0);
			break;
		default:     /* holes: runs of 4 pages, every 5th page without */
			t[i] = i % 5 == 4 ? XMEM_BAD_IOVA : base + (i + i / 5) * ps;
			break;
		}
	}
	return t;
}

static void op_add(void)
{
	uint8_t a = byte(), b = byte(), c = byte(), d = byte();
	int target = a % 4;                 /* 0, 1 heap slot; 2 register; 3 bad heap */
	int ch = (a >> 2) % N_CHUNKS;
	size_t ps = (d >> 2) & 1 ? PAGE2M : PAGE4K;
	size_t off = (size_t)(b % 16) * 256 * KiB, len = (size_t)(1 + c % 16) * 256 * KiB;
	if (ps == PAGE2M) {
		off &= ~(PAGE2M - 1);
		len = (len + PAGE2M - 1) & ~(PAGE2M - 1);
	}
	if (off + len > CHUNK)
		len = CHUNK - off;
	char *va = chunk_va(ch) + off;
	int tkind = d % 4;                  /* 0 none, 1 linear, 2 scattered, 3 holes */
	int bad = (d >> 3) % 8;             /* 5 va, 6 len, 7 n_pages; else fine */
	bool va_mode = tkind == 0 && ((d >> 6) & 1);
	uint64_t *t = tkind ? make_table(tkind, va, len, ps, ch) : NULL;
	size_t n_pages = t || (a & 0x80) ? len / ps : 0;
	struct xmem_heap *h = NULL;
	if (target < 2)
		h = S.heap[target];
	else if (target == 3)
		h = bad_heap(b);

	char what[96];
	snprintf(what, sizeof what, "add(%s, +%#zx, %#zx, ps %zu, table %d, bad %d)",
		 target == 2 ? "register" : "heap", off, len, ps, tkind, bad);
#define ADD_CALL(va_, len_, n_)                                                  \
	(target == 2 ? xmem_register((va_), (len_), t, (n_), ps)                 \
		     : xmem_heap_add_memory(h, (va_), (len_), t, (n_), ps))
	if (target == 3 || (target < 2 && !h)) {
		MUST_FAIL(ADD_CALL(va, len, n_pages) == -1, EINVAL, what);
	} else if (bad == 5) {
		MUST_FAIL(ADD_CALL(va + (ps == PAGE2M ? PAGE4K : 1), len, n_pages) == -1, EINVAL, what);
	} else if (bad == 6) {
		MUST_FAIL(ADD_CALL(va, (a & 1) ? 0 : len - 1, n_pages) == -1, EINVAL, what);
	} else if (bad == 7) {
		MUST_FAIL(ADD_CALL(va, len, t ? len / ps - 1 : len / ps + 1) == -1, EINVAL, what);
	} else if (overlaps_rec(va, len)) {
		MUST_FAIL(ADD_CALL(va, len, n_pages) == -1, EEXIST, what);
	} else if (S.n_recs < MAX_RECS) {
		/* In IOVA=VA mode the model gets the table the library makes. */
		uint64_t *mt = t;
		if (va_mode) {
			mt = malloc(len / ps * sizeof *mt);
			if (!mt)
				die("out of memory");
			for (size_t i = 0; i < len / ps; i++)
				mt[i] = (uint64_t)(uintptr_t)va + i * ps;
			if (xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA))
				die("set_iova_mode(VA) failed");
		}
		MODEL(xmodel_add_begin(S.m, target == 2 ? NULL : h, va, len, mt, ps, merr));
		errno = 0;
		int rc = ADD_CALL(va, len, n_pages);
		int e = errno;
		if (va_mode) {
			xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
			free(mt);
		}
		MODEL(xmodel_add_end(S.m, va, rc, e, merr));
		if (rc != 0)
			die("%s failed: %s", what, strerror(e));
		S.recs[S.n_recs++] = (struct rec){va, len, target == 2 ? -1 : target};
	}
#undef ADD_CALL
	free(t);
}

static void op_remove(void)
{
	uint8_t a = byte(), b = byte();
	if (!S.n_recs) {
		MUST_FAIL(xmem_heap_remove_memory(S.heap[0], NULL, PAGE4K) == -1, EINVAL,
			  "remove(NULL va)");
		return;
	}
	int i = a % S.n_recs;
	struct rec r = S.recs[i];
	struct xmem_heap *h = r.slot >= 0 ? S.heap[r.slot] : NULL;
	switch (b % 8) {
	case 5:
		if (r.slot >= 0)
			MUST_FAIL(xmem_heap_remove_memory(h, r.va, r.len - PAGE4K) == -1, ENOENT,
				  "remove(part of a chunk)");
		else
			MUST_FAIL(xmem_unregister(r.va + PAGE4K, r.len - PAGE4K) == -1, ENOENT,
				  "unregister(part)");
		return;
	case 6:
		if (r.slot >= 0)
			MUST_FAIL(xmem_unregister(r.va, r.len) == -1, ENOENT, "unregister(heap chunk)");
		else if (S.heap[a & 1])
			MUST_FAIL(xmem_heap_remove_memory(S.heap[a & 1], r.va, r.len) == -1, ENOENT,
				  "remove(registration)");
		return;
	case 7:
		if (r.slot >= 0 && S.heap[!r.slot])
			MUST_FAIL(xmem_heap_remove_memory(S.heap[!r.slot], r.va, r.len) == -1, ENOENT,
				  "remove(other heap's chunk)");
		else
			MUST_FAIL(xmem_unregister(r.va, 0) == -1, EINVAL, "unregister(len 0)");
		return;
	default:
		break;
	}
	size_t live = 0;
	MODEL(xmodel_remove_begin(S.m, h, r.va, r.len, &live, merr));
	errno = 0;
	int rc = r.slot >= 0 ? xmem_heap_remove_memory(h, r.va, r.len) : xmem_unregister(r.va, r.len);
	int e = errno;
	MODEL(xmodel_remove_end(S.m, r.va, rc, e, merr));
	/* Single-threaded: EBUSY exactly when one of our blocks is live. */
	if (live ? !(rc == -1 && e == EBUSY) : rc != 0)
		die("remove [%p,+%#zx) with %zu live blocks: rc %d errno %d (%s)", r.va, r.len,
		    live, rc, e, strerror(e));
	if (rc == 0)
		S.recs[i] = S.recs[--S.n_recs];
}

static bool align_fits(int slot, size_t align)
{
	for (int i = 0; i < S.n_recs; i++) {
		uintptr_t va = (uintptr_t)S.recs[i].va;
		uintptr_t up = (va + align - 1) & ~(uintptr_t)(align - 1);
		if (S.recs[i].slot == slot && up >= va && up < va + S.recs[i].len)
			return true;
	}
	return false;
}

static size_t pick_size(uint8_t sel, uint16_t v, bool *huge)
{
	*huge = false;
	switch (sel % 8) {
	case 0:
		return 0;
	case 1: case 2: case 3:
		return 1 + v % 512;
	case 4: case 5:
		return 1 + v % XMEM_MAX_CLASS_SIZE;
	case 6:
		return XMEM_MAX_CLASS_SIZE + 1 + (size_t)v * 47 % (3 * MiB);
	default:
		*huge = true;
		return v % 3 == 0 ? SIZE_MAX : v % 3 == 1 ? (size_t)1 << 63 : 64 * MiB;
	}
}

static size_t pick_align(uint8_t sel, uint8_t v, bool *bad, bool *huge)
{
	*bad = *huge = false;
	switch (sel % 8) {
	case 4:
		return (size_t)1 << (v % 13);
	case 5:
		return (size_t)1 << (12 + v % 10);
	case 6:
		*bad = true;
		return 3 + 2 * (size_t)(v % 100);
	case 7:
		*huge = true;
		return (size_t)1 << (30 + v % 34);
	default:
		return 0;
	}
}

static void op_alloc(void)
{
	uint8_t a = byte(), b = byte(), c = byte(), d = byte();
	int slot = a & 1;
	int kind = (a >> 1) % 4;          /* 0, 1 alloc; 2 zalloc; 3 bulk */
	bool huge, bad_align, huge_align;
	size_t size = pick_size(b, (uint16_t)(c | d << 8), &huge);
	size_t align = kind == 3 ? 0 : pick_align(b >> 3, c, &bad_align, &huge_align);
	if (kind == 3)
		bad_align = huge_align = false;
	struct xmem_heap *h = S.heap[slot];
	if (!h)
		h = bad_heap(a >> 3);
	bool bad = !h || !S.heap[slot] || size == 0 || bad_align;
	/* Huge sizes fail: a heap holds at most 16 MiB.  A huge alignment
	 * fails unless one of the heap's chunks happens to contain an address
	 * so aligned. */
	bool nomem = !bad && (huge || (huge_align && !align_fits(slot, align)));
	char what[96];
	snprintf(what, sizeof what, "%s(heap %d, size %#zx, align %#zx)",
		 kind == 3 ? "alloc_bulk" : kind == 2 ? "zalloc" : "alloc", slot, size, align);
	if (kind == 3) {
		unsigned n = 1 + d % 40;
		if (S.n_live + (int)n > MAX_LIVE)
			return;
		void *objs[40];
		errno = 0;
		int rc = xmem_alloc_bulk(h, size, objs, n);
		int e = errno;
		if (bad || nomem) {
			if (rc != -1 || e != (bad ? EINVAL : ENOMEM))
				die("%s x %u: rc %d errno %d (%s), expected %s", what, n, rc, e,
				    strerror(e), bad ? "EINVAL" : "ENOMEM");
			return;
		}
		if (rc == 0) {
			for (unsigned k = 0; k < n; k++)
				record_alloc(h, slot, objs[k], size, 0);
		} else if (rc != -1 || e != ENOMEM) {
			die("%s x %u: rc %d errno %d (%s)", what, n, rc, e, strerror(e));
		}
		return;
	}
	if (S.n_live == MAX_LIVE)
		return;
	errno = 0;
	void *p = kind == 2 ? xmem_zalloc(h, size, align) : xmem_alloc(h, size, align);
	int e = errno;
	if (bad || nomem) {
		if (p || e != (bad ? EINVAL : ENOMEM))
			die("%s: %p errno %d (%s), expected %s", what, p, e, strerror(e),
			    bad ? "EINVAL" : "ENOMEM");
		return;
	}
	if (!p) {
		if (e != ENOMEM)
			die("%s: errno %d (%s), expected ENOMEM", what, e, strerror(e));
		return;
	}
	record_alloc(h, slot, p, size, align);
	if (kind == 2 && (((char *)p)[0] || ((char *)p)[size - 1] || ((char *)p)[size / 2]))
		die("%s: block %p not zeroed", what, p);
}

static void op_free(void)
{
	uint8_t a = byte(), b = byte();
	if (!S.n_live) {
		uint64_t inv = xmem_invalid_free_count();
		xmem_free(NULL);
		if (xmem_invalid_free_count() != inv)
			die("free(NULL) was reported");
		return;
	}
	free_live((a | b << 8) % S.n_live, false);
}

static void op_free_bulk(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	void *objs[40];
	unsigned n = 0, k = 1 + a % 16, bad = 0;
	int stack_var;
	for (unsigned j = 0; j < k && S.n_live; j++) {
		int i = (int)((b + 7 * j) % (unsigned)S.n_live);
		MODEL(xmodel_free(S.m, S.live[i].p, NULL, NULL, merr));
		objs[n++] = S.live[i].p;
		S.freed[S.n_freed++ % N_FREED] = S.live[i].p;
		S.live[i] = S.live[--S.n_live];
		if (c & (1 << (j % 8)))
			objs[n++] = NULL;
	}
	if (c & 0x80) {
		objs[n++] = &stack_var;   /* outside every heap: reported */
		bad = 1;
	}
	uint64_t inv = xmem_invalid_free_count();
	unsigned long lines = log_lines;
	errno = 0;
	xmem_free_bulk(objs, n);
	int e = errno;
	if (xmem_invalid_free_count() - inv != bad || log_lines - lines != bad)
		die("free_bulk of %u entries (%u bad): %" PRIu64 " reported, %lu logged", n, bad,
		    xmem_invalid_free_count() - inv, log_lines - lines);
	if (bad && e != EINVAL)
		die("free_bulk with a bad entry: errno %d (%s)", e, strerror(e));
	S.invalid += bad;
	xmodel_note_invalid_free(S.m, bad);
	if (!n) {
		errno = 0;
		xmem_free_bulk(NULL, 1 + a);
		if (errno != EINVAL)
			die("free_bulk(NULL, n) did not set EINVAL");
	}
}

/* A pointer that is certainly not a live block, for xmem_free / free_bulk
 * (reported) and usable_size (0, EINVAL); NULL when the kind does not apply
 * now.  *mem is set for a malloc'd one. */
static void *wild_pointer(uint8_t kind, uint8_t v, void *stack, void **mem)
{
	static int in_data;
	*mem = NULL;
	switch (kind % 9) {
	case 0:
		return stack;
	case 1:
		return *mem = malloc(16 + v);
	case 2:
		return &in_data;
	case 3:                 /* a gap between chunks: never registered */
		return G.arena + (size_t)(v % (N_CHUNKS + 1)) * (CHUNK + GAP) + v * 64;
	case 4: {               /* chunk memory in no record */
		char *p = chunk_va(v % N_CHUNKS) + (size_t)(v % 64) * 64 * KiB + 8 * (v % 3);
		return rec_at(p) < 0 ? p : NULL;
	}
	case 5: {               /* translation-only memory */
		for (int i = 0; i < S.n_recs; i++) {
			struct rec *r = &S.recs[(i + v) % S.n_recs];
			if (r->slot < 0)
				return r->va + (size_t)v * 64 % r->len;
		}
		return NULL;
	}
	case 6: {               /* interior of a large block */
		for (int i = 0; i < S.n_live; i++) {
			struct live *l = &S.live[(i + v) % S.n_live];
			if (is_large(l))
				return (char *)l->p + 1 + (size_t)v * 4093 % (l->usable - 1);
		}
		return NULL;
	}
	case 7: {               /* checked mode: a freed pointer, not live again */
		unsigned have = S.n_freed < N_FREED ? S.n_freed : N_FREED;
		if (!S.checked || !have)
			return NULL;
		void *p = S.freed[(S.n_freed - 1 - v % have) % N_FREED];
		return live_find(p) < 0 ? p : NULL;
	}
	default: {              /* checked mode: interior of a small block */
		if (!S.checked)
			return NULL;
		for (int i = 0; i < S.n_live; i++) {
			struct live *l = &S.live[(i + v) % S.n_live];
			if (!is_large(l) && l->usable > 1)
				return (char *)l->p + 1 + v % (l->usable - 1);
		}
		return NULL;
	}
	}
}

static void op_wild(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	int stack_var;
	void *mem;
	void *p = wild_pointer(a, b, &stack_var, &mem);
	if (p) {
		uint64_t inv = xmem_invalid_free_count();
		unsigned long lines = log_lines;
		int how = c % 3;
		errno = 0;
		if (how == 2) {
			size_t us = xmem_usable_size(p);
			if (us != 0 || errno != EINVAL)
				die("usable_size(wild %p, kind %d) = %zu errno %d", p, a % 9, us, errno);
		} else {
			if (how == 0) {
				xmem_free(p);
			} else {
				void *objs[3] = {NULL, p, NULL};
				xmem_free_bulk(objs, 3);
			}
			if (errno != EINVAL || xmem_invalid_free_count() - inv != 1 ||
			    log_lines - lines != 1)
				die("%s(wild %p, kind %d): errno %d, %" PRIu64 " reported, %lu logged",
				    how ? "free_bulk" : "free", p, a % 9, errno,
				    xmem_invalid_free_count() - inv, log_lines - lines);
			S.invalid++;
			xmodel_note_invalid_free(S.m, 1);
		}
	}
	free(mem);
}

static void op_usable(void)
{
	uint8_t a = byte(), b = byte();
	if (!S.n_live) {
		errno = 0;
		if (xmem_usable_size(NULL) != 0 || errno != EINVAL)
			die("usable_size(NULL)");
		return;
	}
	struct live *l = &S.live[(a | b << 8) % S.n_live];
	size_t us = xmem_usable_size(l->p);
	if (us != l->usable || us < l->size)
		die("usable_size(%p) = %zu, was %zu, size %zu", l->p, us, l->usable, l->size);
	MODEL(xmodel_probe(S.m, l->p, merr));
	MODEL(xmodel_probe(S.m, (char *)l->p + l->usable - 1, merr));
}

static void op_probe(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	const char *p = G.arena + ((size_t)a << 16 | (size_t)b << 8 | c) * 7 %
				  (N_CHUNKS * (CHUNK + GAP) + GAP);
	MODEL(xmodel_probe(S.m, p, merr));
	uint64_t io = IOVA_BASE(a % N_CHUNKS) + ((uint64_t)((a >> 2) % 4) << 36) +
		      ((((uint64_t)b << 8 | c) << 12) % (40 * MiB));
	void *v = xmem_iova2virt(io);
	if (v) {
		if (xmem_virt2iova(v) != io)
			die("iova2virt(%#" PRIx64 ") = %p, which translates to %#" PRIx64, io, v,
			    xmem_virt2iova(v));
	} else if (errno != ENOENT) {
		die("iova2virt(%#" PRIx64 ") = NULL, errno %d", io, errno);
	}
}

static void op_check(void)
{
	MODEL(xmodel_check(S.m, &S.rng, 8, merr));
}

static void op_checked(void)
{
	uint8_t a = byte();
	int on = a & 1;
	int was = xmem_set_checked(on ? (int)a : 0);
	if (was != S.checked || xmem_checked() != on)
		die("set_checked(%d): returned %d (had %d), now %d", on, was, S.checked, xmem_checked());
	S.checked = on;
}

static void op_trim(void)
{
	uint8_t a = byte();
	if (a & 2) {
		MUST_FAIL(xmem_heap_trim(bad_heap(a)) == -1, EINVAL, "trim(bad heap)");
		return;
	}
	if (S.heap[a & 1] && xmem_heap_trim(S.heap[a & 1]))
		die("trim failed: %s", strerror(errno));
}

static void op_lookup(void)
{
	uint8_t a = byte(), b = byte();
	int slot = a & 1;
	switch (b % 8) {
	case 0:
		if (S.heap[slot]) {
			const char *nm = xmem_heap_name(S.heap[slot]);
			if (xmem_heap_lookup(S.name[slot]) != S.heap[slot] ||
			    xmem_heap_from_id(xmem_heap_id(S.heap[slot])) != S.heap[slot] ||
			    !nm || strcmp(nm, S.name[slot]))
				die("lookup of heap %s", S.name[slot]);
		} else {
			MUST_FAIL(xmem_heap_lookup("fz-none") == NULL, ENOENT, "lookup(unknown)");
		}
		return;
	case 1:
		MUST_FAIL(xmem_heap_lookup(b & 8 ? "" : NULL) == NULL, EINVAL, "lookup(bad name)");
		return;
	case 2:
		MUST_FAIL(xmem_heap_from_id(b & 8 ? -1 - a : XMEM_MAX_HEAPS + a) == NULL, ENOENT,
			  "from_id(out of range)");
		return;
	case 3:
		MUST_FAIL(xmem_heap_id(bad_heap(a)) == -1, EINVAL, "heap_id(bad heap)");
		MUST_FAIL(xmem_heap_name(bad_heap(a)) == NULL, EINVAL, "heap_name(bad heap)");
		return;
	case 4: {
		struct xmem_heap_stats st;
		MUST_FAIL(xmem_heap_stats(bad_heap(a), &st) == -1, EINVAL, "stats(bad heap)");
		if (S.heap[slot])
			MUST_FAIL(xmem_heap_stats(S.heap[slot], NULL) == -1, EINVAL, "stats(NULL out)");
		return;
	}
	case 5:
		MUST_FAIL(xmem_size_class(b & 8 ? 0 : XMEM_MAX_CLASS_SIZE + 1 + a) == -1, EINVAL,
			  "size_class(bad)");
		MUST_FAIL(xmem_class_size(b & 8 ? -1 - a : XMEM_NUM_CLASSES + a) == 0, EINVAL,
			  "class_size(bad)");
		return;
	case 6:
		MUST_FAIL(xmem_unregister(G.arena, GAP) == -1, ENOENT, "unregister(gap)");
		MUST_FAIL(xmem_iova2virt(XMEM_BAD_IOVA) == NULL, ENOENT, "iova2virt(BAD)");
		return;
	default: {
		struct xmem_heap_stats st;
		if (S.heap[slot] && xmem_heap_stats(S.heap[slot], &st) != 0)
			die("stats failed: %s", strerror(errno));
		return;
	}
	}
}

/* ------------------------------------------------------------- driver */

typedef void (*op_fn)(void);
static const op_fn ops[] = {
	op_create, op_destroy, op_add, op_add, op_remove, op_alloc, op_alloc, op_alloc,
	op_free, op_free, op_free_bulk, op_wild, op_usable, op_probe, op_check,
	op_checked, op_trim, op_lookup,
};
static const char *const op_names[] = {
	"create", "destroy", "add", "add", "remove", "alloc", "alloc", "alloc",
	"free", "free", "free_bulk", "wild", "usable", "probe", "check",
	"checked", "trim", "lookup",
};

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
	if (G.bug_double_free)
		fprintf(stderr, "api_fuzz: XMEM_FUZZ_BUG=double_free: frees of small blocks "
			"outside checked mode are done twice\n");
	xmem_set_log(quiet_log);
}

/* Back to nothing: every block freed, all memory removed, heaps destroyed,
 * defaults restored; the model checked before and after. */
static void reset(void)
{
	S.op_no = 9999;
	MODEL(xmodel_check(S.m, &S.rng, 16, merr));
	while (S.n_live)
		free_live(S.n_live - 1, false);
	while (S.n_recs) {
		struct rec r = S.recs[S.n_recs - 1];
		struct xmem_heap *h = r.slot >= 0 ? S.heap[r.slot] : NULL;
		MODEL(xmodel_remove_begin(S.m, h, r.va, r.len, NULL, merr));
		errno = 0;
		int rc = h ? xmem_heap_remove_memory(h, r.va, r.len) : xmem_unregister(r.va, r.len);
		int e = errno;
		MODEL(xmodel_remove_end(S.m, r.va, rc, e, merr));
		if (rc)
			die("reset: removing [%p,+%#zx) failed: %s", r.va, r.len, strerror(e));
		S.n_recs--;
	}
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
	for (S.op_no = 0; S.op_no < MAX_OPS && S.pos < S.in_len; S.op_no++) {
		size_t start = S.pos;
		uint8_t op = byte() % (sizeof ops / sizeof ops[0]);
		if (G.trace) {
			const uint8_t *a = S.in + start + 1;
			size_t n = S.in_len - start - 1 < 4 ? S.in_len - start - 1 : 4;
			fprintf(stderr, "op %u: %s", S.op_no, op_names[op]);
			for (size_t k = 0; k < n; k++)
				fprintf(stderr, " %u", a[k]);
			fprintf(stderr, " (heaps %p %p, %d records, %d live, checked %d)\n",
				(void *)S.heap[0], (void *)S.heap[1], S.n_recs, S.n_live, S.checked);
		}
		ops[op]();
		S.pos = start + 5;   /* fixed-size instructions */
	}
	reset();
	return 0;
}
