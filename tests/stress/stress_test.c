/* stress_test.c - multi-threaded randomized stress test of xmem's public API
 * against the reference model (tests/model/model.h).
 *
 * N threads run random op sequences over several heaps: alloc, alloc_bulk,
 * zalloc, free, free_bulk (with NULL and invalid entries), cross-thread
 * handoff through per-thread inboxes, add/remove memory, translation-only
 * register/unregister, translation probes, deliberate invalid frees,
 * xmem_thread_register/unregister, heap trim, and create/destroy of a
 * private heap per thread.  Every op is checked at once (the model checks
 * each allocation; errno of every failure is checked); every batch all
 * threads meet at a barrier and thread 0 runs the quiescent phase: the
 * model's full check (stats of every heap, lookups, usable sizes,
 * invalid-free count, random translations), strict removal (EBUSY with live
 * blocks, success once they are freed), largest_free against a real
 * allocation, and checked-mode switches.
 *
 * Memory: slots of up to 4 MiB carved from one reserved range; heap 0's
 * slots are read-write (threads write tag bytes into their blocks and check
 * them on free, from whichever thread frees), all others PROT_NONE (the
 * library must never touch them).  Each add gets a fresh layout: page size
 * 4 KiB .. 2 MiB, and no IOVA table, a contiguous one, or runs of 1..16
 * pages at IOVAs in shuffled order (every run boundary is a discontinuity),
 * some without IOVA.
 *
 *   stress_test [--threads=N] [--seed=S] [--seeds=K] [--seconds=T]
 *               [--ops=N] [--batch=N] [--longer] [--selftest-double]
 *               [--known-races[=1|2]]
 *
 *   --threads   worker threads (default 2, or XMEM_STRESS_THREADS)
 *   --seed      first seed (default XMEM_STRESS_SEED, else from the clock;
 *               printed); seed i of the run is S + i
 *   --seeds     seeds run one after another (default 4)
 *   --seconds   total time budget, split between the seeds (default 20,
 *               or XMEM_STRESS_SECONDS)
 *   --ops       ops per thread per seed at most (default 2,000,000;
 *               200,000 under a sanitizer)
 *   --batch     ops per thread between quiescent phases (default 256)
 *   --longer    the docs figure: 60 s, 2 seeds, no op limit (options after
 *               it override)
 *   --selftest-double  record one allocation twice (must end in VIOLATION)
 *   --known-races  (default 3, both) exercise the two library races this
 *               test found, now fixed (both were ThreadSanitizer reports,
 *               see dead_handle_checks and op_lcore): check a destroyed
 *               heap's handle at once, while other threads run (=1), and
 *               let xmem_thread_unregister run concurrently with
 *               xmem_heap_destroy (=2); =0 steers around both, as the
 *               test did before the fixes
 *
 * Reproducing: with --threads=1 a seed's op sequence, including the
 * quiescent phases, depends only on the seed, so
 *   stress_test --seed=S --seeds=1 --threads=1 --ops=K
 * replays a violation reported at op K of that seed (the time budget only
 * decides at which batch a run stops).  With more threads each thread's op
 * sequence is still a function of (seed, thread), but their interleaving,
 * and so what the library answers, is not reproducible.
 *
 * A violation prints `VIOLATION seed=S thread=T op=K: what` and the
 * thread's last ops, and exits 1.  The last line of a clean run is
 *   stress: threads=N seeds=S1,S2,... ops=M violations=0 seconds=X
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xmem/xmem.h>

#include "tests/model/model.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

#define N_SHARED    3       /* heap 0: read-write memory; 1, 2: PROT_NONE */
#define N_SLOTS     48
#define N_RW_SLOTS  10      /* slots 0 .. N_RW_SLOTS-1, for heap 0 only */
#define SLOT_SPAN   (4 * MiB)
#define MAX_THREADS 64
#define INBOX_CAP   512
#define RECENT      24
#define DEAD_MAX    16
#define N_HEAPS     (N_SHARED + MAX_THREADS)

/* ---- options ----------------------------------------------------------- */

struct opts {
	unsigned threads;
	uint64_t seed;
	unsigned seeds;
	double seconds;
	uint64_t ops;
	unsigned batch;
	bool selftest_double;
	unsigned known_races;   /* bit 0: dead handles; bit 1: unregister */
};

static struct opts O = {
	.threads = 2,
	.seeds = 4,
	.seconds = 20,
	.ops = SANITIZED ? 200000 : 2000000,
	.batch = 256,
	.known_races = 3,   /* both races are fixed: exercise them */
};

/* ---- PRNG ------------------------------------------------------------- */

static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static uint64_t range(uint64_t *st, uint64_t lo, uint64_t hi)
{
	return lo + rnd(st) % (hi - lo + 1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- state of one seed's run ------------------------------------------ */

enum { SL_FREE, SL_ADDED, SL_REGISTERED, SL_BUSY };

struct slot {
	int state;          /* under slots_mu; SL_BUSY: claimed by a thread */
	int heap;           /* SL_ADDED: index into heaps[] */
	char *va;
	size_t len, ps;
	bool rw;
};

struct heapslot {
	struct xmem_heap *h;   /* NULL: none (private heaps) */
	char name[XMEM_HEAP_NAME_MAX];
	unsigned gen;
	bool retiring;         /* private: no new blocks or memory; being
	                          taken down */
};

struct blk {
	void *p;
	size_t size;
	uint16_t heap;      /* index into heaps[] */
	uint8_t tag;        /* heap 0 only: p[0] == tag, p[size-1] == ~tag */
	uint8_t from;       /* allocating thread */
};

struct recent {
	uint64_t op;
	const char *what;
	const void *p;
	size_t a, b;
	long rc;
	int err;
};

struct counters {
	uint64_t ops, allocs, enomem, frees, xfrees, handed, adds, removes,
		busy_pinned, busy_unpinned, regs, unregs, probes, invalid,
		heaps_created, heaps_destroyed, lcore_flips, trims, evictions;
};

struct thr {
	unsigned idx;
	pthread_t tid;
	uint64_t rng;
	uint64_t op;
	struct blk *held;
	size_t n_held, cap_held;
	pthread_mutex_t inbox_mu;
	struct blk inbox[INBOX_CAP];
	unsigned inbox_n;
	_Atomic int pub_lcore;
	struct recent rec[RECENT];
	unsigned n_rec;
	uint64_t digest;                /* of every op and its result */
	struct xmem_heap *dead[DEAD_MAX];  /* destroyed since the last barrier */
	unsigned n_dead;
	uint64_t tab[SLOT_SPAN / 4096];
	struct counters c;
	char err[XMODEL_ERR_MAX];
};

static struct run {
	uint64_t seed;
	unsigned seed_idx;
	struct xmodel *m;
	char *reserve;
	size_t reserve_len;
	pthread_mutex_t slots_mu;
	struct slot slots[N_SLOTS];
	pthread_mutex_t heap_ctl_mu;   /* heap create/destroy + their records */
	struct heapslot heaps[N_HEAPS];
	struct thr *thr;
	unsigned nthr;
	pthread_barrier_t bar;
	atomic_int stop;
	atomic_uint_fast64_t iova_next;
	uint64_t coord_rng;
	double t_end;
	uint64_t batches;
	size_t max_held;               /* per thread; by seed: memory pressure */
	unsigned free_skip;            /* % of frees turned into allocs below it */
	struct counters cc;            /* the coordinator's own ops */
} R;

static atomic_ulong log_lines, invalid_made;
static pthread_mutex_t viol_mu = PTHREAD_MUTEX_INITIALIZER;

static void quiet_log(const char *line)
{
	(void)line;
	atomic_fetch_add(&log_lines, 1);
}

/* ---- violations ------------------------------------------------------- */

static void note(struct thr *t, const char *what, const void *p, size_t a,
		 size_t b, long rc, int err)
{
	/* The digest covers what the op was and what the library answered,
	 * never an address: equal across runs of one seed with one thread. */
	uint64_t h = t->digest ^ ((uint64_t)(unsigned char)what[0] << 56) ^
		     ((uint64_t)strlen(what) << 48);
	h = (h ^ a) * 0x100000001b3ULL;
	h = (h ^ b) * 0x100000001b3ULL;
	h = (h ^ (uint64_t)rc) * 0x100000001b3ULL;
	t->digest = (h ^ (uint64_t)err) * 0x100000001b3ULL;
	struct recent *r = &t->rec[t->n_rec++ % RECENT];
	r->op = t->op;
	r->what = what;
	r->p = p;
	r->a = a;
	r->b = b;
	r->rc = rc;
	r->err = err;
}

static void violation(struct thr *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void violation(struct thr *t, const char *fmt, ...)
{
	pthread_mutex_lock(&viol_mu);   /* never released: first one wins */
	fflush(stdout);
	printf("VIOLATION seed=%" PRIu64 " thread=%u op=%" PRIu64 ": ", R.seed,
	       t->idx, t->op);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  last ops of thread %u (op: what ptr a b rc errno):\n", t->idx);
	unsigned n = t->n_rec < RECENT ? t->n_rec : RECENT;
	for (unsigned k = t->n_rec - n; k < t->n_rec; k++) {
		const struct recent *r = &t->rec[k % RECENT];
		printf("    %" PRIu64 ": %s %p %zu %zu %ld %d\n", r->op, r->what,
		       r->p, r->a, r->b, r->rc, r->err);
	}
	printf("  replay: --seed=%" PRIu64 " --seeds=1 --threads=1 --ops=%" PRIu64
	       " (exact with 1 thread only)\n", R.seed, t->op + 1);
	fflush(stdout);
	_exit(1);
}

#define MODEL(t, call)                                                       \
	do {                                                                 \
		if ((call) != XMODEL_OK)                                     \
			violation((t), "%s", (t)->err);                      \
	} while (0)

/* ---- blocks ------------------------------------------------------------ */

static struct xmem_heap *H(int hi) { return R.heaps[hi].h; }

static void hold(struct thr *t, void *p, size_t size, int hi, unsigned from)
{
	if (t->n_held == t->cap_held) {
		t->cap_held = t->cap_held ? t->cap_held * 2 : 1024;
		t->held = realloc(t->held, t->cap_held * sizeof(*t->held));
		if (!t->held)
			violation(t, "test out of memory");
	}
	struct blk *b = &t->held[t->n_held++];
	b->p = p;
	b->size = size;
	b->heap = (uint16_t)hi;
	b->from = (uint8_t)from;
	b->tag = 0;
	if (hi == 0) {
		b->tag = (uint8_t)(rnd(&t->rng) | 1);
		((volatile uint8_t *)p)[0] = b->tag;
		if (size > 1)
			((volatile uint8_t *)p)[size - 1] = (uint8_t)(b->tag ^ 0xff);
	}
}

/* Check the tags and take the block out of the model: the caller frees it
 * in the library right after. */
static void release(struct thr *t, const struct blk *b)
{
	if (b->heap == 0) {
		uint8_t w1 = (uint8_t)(b->tag ^ 0xff);
		uint8_t h0 = ((volatile uint8_t *)b->p)[0];
		uint8_t h1 = b->size > 1 ? ((volatile uint8_t *)b->p)[b->size - 1]
					 : w1;
		if (h0 != b->tag || h1 != w1)
			violation(t, "block %p (size %zu, heap 0, from thread %u) "
				  "was overwritten: tags %#x/%#x, wrote %#x/%#x",
				  b->p, b->size, b->from, h0, h1, b->tag, w1);
	}
	MODEL(t, xmodel_free(R.m, b->p, NULL, NULL, t->err));
	if (b->from != t->idx)
		t->c.xfrees++;
	t->c.frees++;
}

static struct blk take_at(struct thr *t, size_t i)
{
	struct blk b = t->held[i];
	t->held[i] = t->held[--t->n_held];
	return b;
}

static size_t rand_size(uint64_t *r)
{
	unsigned k = rnd(r) % 100;
	if (k < 40)
		return range(r, 1, 256);
	if (k < 70)
		return range(r, 257, 4096);
	if (k < 88)
		return range(r, 4097, 32768);
	return range(r, 32769, 65536);
}

static size_t rand_align(uint64_t *r)
{
	unsigned k = rnd(r) % 100;
	if (k < 70)
		return 0;
	if (k < 97)
		return (size_t)1 << range(r, 0, 12);
	return (size_t)1 << range(r, 13, 16);
}

/* A heap to allocate from: a shared one or this thread's own. */
static int pick_heap(struct thr *t)
{
	int own = N_SHARED + t->idx;
	unsigned n = N_SHARED + (R.heaps[own].h && !R.heaps[own].retiring);
	unsigned k = rnd(&t->rng) % n;
	return k < N_SHARED ? (int)k : own;
}

/* ---- ops: allocation --------------------------------------------------- */

static void op_alloc(struct thr *t)
{
	int hi = pick_heap(t);
	size_t size = rand_size(&t->rng), align = rand_align(&t->rng);
	errno = 0;
	void *p = xmem_alloc(H(hi), size, align);
	int e = errno;
	note(t, "alloc", p, size, align, hi, e);
	if (!p) {
		if (e != ENOMEM)
			violation(t, "alloc(\"%s\", %zu, %zu) failed with errno %d "
				  "(%s), not ENOMEM", R.heaps[hi].name, size,
				  align, e, strerror(e));
		t->c.enomem++;
		return;
	}
	MODEL(t, xmodel_alloc(R.m, H(hi), p, size, align, t->err));
	if (O.selftest_double && t->idx == 0 && t->op >= 100) {
		/* As if the library had handed the block out twice. */
		MODEL(t, xmodel_alloc(R.m, H(hi), p, size, align, t->err));
		violation(t, "selftest: the model took a block twice");
	}
	t->c.allocs++;
	hold(t, p, size, hi, t->idx);
}

static void op_alloc_bulk(struct thr *t)
{
	int hi = pick_heap(t);
	unsigned n = range(&t->rng, 1, 32);
	size_t size = rand_size(&t->rng);
	void *objs[32];
	errno = 0;
	int rc = xmem_alloc_bulk(H(hi), size, objs, n);
	int e = errno;
	note(t, "alloc_bulk", objs[0], size, n, rc, e);
	if (rc) {
		if (rc != -1 || e != ENOMEM)
			violation(t, "alloc_bulk(\"%s\", %zu, %u) returned %d errno %d "
				  "(%s), not -1 ENOMEM", R.heaps[hi].name, size,
				  n, rc, e, strerror(e));
		t->c.enomem++;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		MODEL(t, xmodel_alloc(R.m, H(hi), objs[i], size, 0, t->err));
		hold(t, objs[i], size, hi, t->idx);
	}
	t->c.allocs += n;
}

static void op_zalloc(struct thr *t)
{
	size_t size = range(&t->rng, 1, 4096), align = rand_align(&t->rng);
	if (align > 4096)
		align = 0;
	errno = 0;
	uint8_t *p = xmem_zalloc(H(0), size, align);
	int e = errno;
	note(t, "zalloc", p, size, align, 0, e);
	if (!p) {
		if (e != ENOMEM)
			violation(t, "zalloc(%zu, %zu) errno %d (%s)", size, align,
				  e, strerror(e));
		t->c.enomem++;
		return;
	}
	MODEL(t, xmodel_alloc(R.m, H(0), p, size, align, t->err));
	for (size_t i = 0; i < size; i++)
		if (((volatile uint8_t *)p)[i])
			violation(t, "zalloc(%zu) = %p: byte %zu is %#x", size,
				  (void *)p, i, p[i]);
	t->c.allocs++;
	hold(t, p, size, 0, t->idx);
}

static void op_free(struct thr *t)
{
	if (!t->n_held)
		return;
	struct blk b = take_at(t, rnd(&t->rng) % t->n_held);
	note(t, "free", b.p, b.size, b.heap, 0, 0);
	release(t, &b);
	xmem_free(b.p);
}

static void op_free_bulk(struct thr *t)
{
	if (!t->n_held)
		return;
	void *objs[2 * 32 + 1];   /* blocks, a NULL after each, one invalid */
	unsigned n = 0, k = range(&t->rng, 1, t->n_held < 32 ? t->n_held : 32);
	int bad = -1;
	for (unsigned i = 0; i < k; i++) {
		struct blk b = take_at(t, rnd(&t->rng) % t->n_held);
		release(t, &b);
		objs[n++] = b.p;
		if (rnd(&t->rng) % 8 == 0)
			objs[n++] = NULL;   /* skipped */
	}
	/* Now and then one invalid entry: reported, skipped, the rest freed. */
	int on_stack = 0;
	if (rnd(&t->rng) % 16 == 0) {
		bad = n;
		objs[n++] = &on_stack;
		xmodel_note_invalid_free(R.m, 1);
		atomic_fetch_add(&invalid_made, 1);
		t->c.invalid++;
	}
	note(t, "free_bulk", objs[0], n, bad, 0, 0);
	errno = 0;
	xmem_free_bulk(objs, n);
	if (bad >= 0 && errno != EINVAL)
		violation(t, "free_bulk with an invalid entry left errno %d", errno);
}

/* Give some blocks to another thread, which frees them. */
static void op_handoff(struct thr *t)
{
	if (!t->n_held)
		return;
	struct thr *to = &R.thr[R.nthr == 1 ? t->idx
			       : (t->idx + range(&t->rng, 1, R.nthr - 1)) % R.nthr];
	unsigned k = range(&t->rng, 1, 32), moved = 0;
	pthread_mutex_lock(&to->inbox_mu);
	while (moved < k && t->n_held && to->inbox_n < INBOX_CAP) {
		to->inbox[to->inbox_n++] = take_at(t, rnd(&t->rng) % t->n_held);
		moved++;
	}
	pthread_mutex_unlock(&to->inbox_mu);
	note(t, "handoff", NULL, to->idx, moved, 0, 0);
	t->c.handed += moved;
}

/* Adopt what others sent; free about half of it at once. */
static void op_drain_inbox(struct thr *t)
{
	struct blk got[INBOX_CAP];
	pthread_mutex_lock(&t->inbox_mu);
	unsigned n = t->inbox_n;
	memcpy(got, t->inbox, n * sizeof(*got));
	t->inbox_n = 0;
	pthread_mutex_unlock(&t->inbox_mu);
	void *objs[INBOX_CAP];
	unsigned nf = 0;
	for (unsigned i = 0; i < n; i++) {
		if (rnd(&t->rng) % 2) {
			release(t, &got[i]);
			objs[nf++] = got[i].p;
		} else {
			/* (hold re-tags a heap-0 block: this thread owns it) */
			hold(t, got[i].p, got[i].size, got[i].heap, got[i].from);
		}
	}
	note(t, "drain_inbox", nf ? objs[0] : NULL, n, nf, 0, 0);
	for (unsigned i = 0; i < nf; i += 32)
		xmem_free_bulk(&objs[i], nf - i < 32 ? nf - i : 32);
}

/* ---- ops: memory ------------------------------------------------------- */

enum claim { CL_FREE_RW, CL_FREE_NORW, CL_REMOVABLE, CL_REGISTERED, CL_MAPPED };

/* Claim a random slot matching `what` (SL_BUSY); -1 when none. */
static int slot_claim(uint64_t *rng, enum claim what, unsigned self,
		      int *prev_state)
{
	pthread_mutex_lock(&R.slots_mu);
	unsigned start = rnd(rng) % N_SLOTS;
	int found = -1;
	for (unsigned k = 0; k < N_SLOTS && found < 0; k++) {
		unsigned i = (start + k) % N_SLOTS;
		struct slot *s = &R.slots[i];
		bool ok = false;
		switch (what) {
		case CL_FREE_RW:
			ok = s->state == SL_FREE && s->rw;
			break;
		case CL_FREE_NORW:
			ok = s->state == SL_FREE && !s->rw;
			break;
		case CL_REMOVABLE:
			ok = s->state == SL_ADDED &&
			     (s->heap < N_SHARED || s->heap == (int)(N_SHARED + self));
			break;
		case CL_REGISTERED:
			ok = s->state == SL_REGISTERED;
			break;
		case CL_MAPPED:
			ok = s->state == SL_ADDED || s->state == SL_REGISTERED;
			break;
		}
		if (ok) {
			found = (int)i;
			*prev_state = s->state;
			s->state = SL_BUSY;
		}
	}
	pthread_mutex_unlock(&R.slots_mu);
	return found;
}

static void slot_set(int i, int state, int heap)
{
	pthread_mutex_lock(&R.slots_mu);
	R.slots[i].state = state;
	R.slots[i].heap = heap;
	pthread_mutex_unlock(&R.slots_mu);
}

/* A fresh layout for slot i: page size, length and IOVA table (into tab).
 * Returns the table or NULL. */
static uint64_t *layout(uint64_t *rng, int i, uint64_t *tab)
{
	struct slot *s = &R.slots[i];
	static const size_t ps_choice[] = {4096, 4096, 4096, 4096, 4096,
					   16384, 65536, 2 * MiB};
	size_t ps = ps_choice[rnd(rng) % 8];
	size_t max_pages = SLOT_SPAN / ps;
	size_t min_pages = ps >= 65536 ? 1 : 65536 / ps;
	size_t n = range(rng, min_pages, max_pages);
	s->ps = ps;
	s->len = n * ps;
	unsigned kind = rnd(rng) % 8;
	if (kind < 2)
		return NULL;
	/* A window of fresh IOVAs: n pages plus a gap page per run, aligned
	 * to the page size (the rule of xmem_register: EINVAL otherwise). */
	uint64_t base = atomic_fetch_add(&R.iova_next, 2 * n * ps + 2 * ps);
	base = (base + ps - 1) & ~(uint64_t)(ps - 1);
	if (kind == 2) {
		for (size_t k = 0; k < n; k++)
			tab[k] = base + k * ps;
		return tab;
	}
	/* Runs of 1..16 pages, placed in the window in shuffled order. */
	size_t starts[SLOT_SPAN / 4096 + 1], nr = 0;
	for (size_t k = 0; k < n; nr++) {
		starts[nr] = k;
		k += range(rng, 1, kind == 3 ? 1 : 16);
		if (k > n)
			k = n;
	}
	starts[nr] = n;
	unsigned order[SLOT_SPAN / 4096];
	for (size_t r = 0; r < nr; r++)
		order[r] = r;
	for (size_t r = nr; r > 1; r--) {
		size_t j = rnd(rng) % r;
		unsigned x = order[r - 1];
		order[r - 1] = order[j];
		order[j] = x;
	}
	uint64_t at = base;
	for (size_t q = 0; q < nr; q++) {
		size_t r = order[q];
		bool none = kind == 7 && rnd(rng) % 4 == 0;
		for (size_t k = starts[r]; k < starts[r + 1]; k++)
			tab[k] = none ? XMEM_BAD_IOVA : at + (k - starts[r]) * ps;
		at += (starts[r + 1] - starts[r]) * ps + ps;   /* gap page */
	}
	return tab;
}

/* Add slot i (claimed) to heap hi, or register it (hi < 0). */
static void add_slot(struct thr *t, uint64_t *rng, int i, int hi)
{
	struct slot *s = &R.slots[i];
	uint64_t *tab = layout(rng, i, t->tab);
	struct xmem_heap *h = hi >= 0 ? H(hi) : NULL;
	MODEL(t, xmodel_add_begin(R.m, h, s->va, s->len, tab, s->ps, t->err));
	errno = 0;
	int rc = h ? xmem_heap_add_memory(h, s->va, s->len, tab,
					  tab ? s->len / s->ps : 0, s->ps)
		   : xmem_register(s->va, s->len, tab, tab ? s->len / s->ps : 0,
				   s->ps);
	int e = errno;
	note(t, h ? "add_memory" : "register", s->va, s->len, s->ps, rc, e);
	MODEL(t, xmodel_add_end(R.m, s->va, rc, e, t->err));
	if (rc)
		violation(t, "%s(%p, %zu, page %zu, table %s) failed: errno %d (%s)",
			  h ? "add_memory" : "register", s->va, s->len, s->ps,
			  tab ? "yes" : "no", e, strerror(e));
	/* Overlapping the same range again is EEXIST, from anywhere. */
	if (rnd(rng) % 4 == 0) {
		size_t off = s->len > s->ps ? s->ps : 0;
		errno = 0;
		int rc2 = xmem_register(s->va + off, s->len - off, NULL, 0, s->ps);
		int e2 = errno;
		if (rc2 != -1 || e2 != EEXIST)
			violation(t, "register over added memory %p returned %d "
				  "errno %d, want EEXIST", s->va + off, rc2, e2);
		errno = 0;
		rc2 = xmem_heap_add_memory(h ? h : H(0), s->va, s->ps, NULL, 0,
					   s->ps);
		e2 = errno;
		if (rc2 != -1 || e2 != EEXIST)
			violation(t, "add_memory over added memory %p returned %d "
				  "errno %d, want EEXIST", s->va, rc2, e2);
	}
	slot_set(i, h ? SL_ADDED : SL_REGISTERED, hi);
	if (h)
		t->c.adds++;
	else
		t->c.regs++;
}

static void op_add(struct thr *t)
{
	int hi = pick_heap(t);
	int prev, i = slot_claim(&t->rng, hi == 0 ? CL_FREE_RW : CL_FREE_NORW,
				 t->idx, &prev);
	if (i >= 0)
		add_slot(t, &t->rng, i, hi);
}

/* Blocks of [va, va + len) that thread t holds or has in its inbox (no
 * other thread can free those while t is in an op). */
static size_t pinned_in(struct thr *t, const char *va, size_t len)
{
	size_t n = 0;
	for (size_t k = 0; k < t->n_held; k++)
		n += (uintptr_t)t->held[k].p - (uintptr_t)va < len;
	pthread_mutex_lock(&t->inbox_mu);
	for (unsigned k = 0; k < t->inbox_n; k++)
		n += (uintptr_t)t->inbox[k].p - (uintptr_t)va < len;
	pthread_mutex_unlock(&t->inbox_mu);
	return n;
}

/* Remove slot i (claimed, added to heap hi).  strict: everything live is
 * pinned (quiescent, or one thread), so success iff the model holds
 * nothing in it.  Returns whether it was removed. */
static bool remove_slot(struct thr *t, uint64_t *rng, int i, bool strict)
{
	struct slot *s = &R.slots[i];
	int hi = s->heap;
	struct xmem_heap *h = H(hi);
	int rc, e;
	if (rnd(rng) % 4 == 0) {
		/* Not exactly one chunk, or not of this heap: ENOENT. */
		errno = 0;
		rc = s->len > s->ps ? xmem_heap_remove_memory(h, s->va, s->len - s->ps)
				    : xmem_heap_remove_memory(h, s->va, s->len * 2);
		e = errno;
		if (rc != -1 || e != ENOENT)
			violation(t, "remove_memory(\"%s\", %p, not its length) "
				  "returned %d errno %d, want ENOENT",
				  R.heaps[hi].name, s->va, rc, e);
		int other = hi == 1 ? 2 : 1;
		errno = 0;
		rc = xmem_heap_remove_memory(H(other), s->va, s->len);
		e = errno;
		if (rc != -1 || e != ENOENT)
			violation(t, "remove_memory(\"%s\", %p) of another heap's "
				  "chunk returned %d errno %d, want ENOENT",
				  R.heaps[other].name, s->va, rc, e);
	}
	size_t pinned = pinned_in(t, s->va, s->len), live = 0;
	MODEL(t, xmodel_remove_begin(R.m, h, s->va, s->len, &live, t->err));
	errno = 0;
	rc = xmem_heap_remove_memory(h, s->va, s->len);
	e = errno;
	note(t, "remove_memory", s->va, s->len, live, rc, e);
	MODEL(t, xmodel_remove_end(R.m, s->va, rc, e, t->err));
	if (rc == 0 && pinned)
		violation(t, "remove_memory(\"%s\", %p, %zu) succeeded while this "
			  "thread holds %zu live blocks in it", R.heaps[hi].name,
			  s->va, s->len, pinned);
	if (strict && (rc == 0) != (live == 0))
		violation(t, "remove_memory(\"%s\", %p, %zu) returned %d (errno %d) "
			  "with %zu live blocks in it, all pinned",
			  R.heaps[hi].name, s->va, s->len, rc, e, live);
	if (rc == 0) {
		slot_set(i, SL_FREE, -1);
		t->c.removes++;
		return true;
	}
	if (pinned)
		t->c.busy_pinned++;
	else
		t->c.busy_unpinned++;
	slot_set(i, SL_ADDED, hi);
	return false;
}

static void op_remove(struct thr *t)
{
	int prev, i = slot_claim(&t->rng, CL_REMOVABLE, t->idx, &prev);
	if (i >= 0)
		remove_slot(t, &t->rng, i, R.nthr == 1);
}

static void unregister_slot(struct thr *t, uint64_t *rng, int i)
{
	struct slot *s = &R.slots[i];
	if (rnd(rng) % 4 == 0) {
		errno = 0;
		int rc = xmem_unregister(s->va, s->len + s->ps);
		int e = errno;
		if (rc != -1 || e != ENOENT)
			violation(t, "unregister(%p, len + page) returned %d errno %d, "
				  "want ENOENT", s->va, rc, e);
	}
	MODEL(t, xmodel_remove_begin(R.m, NULL, s->va, s->len, NULL, t->err));
	errno = 0;
	int rc = xmem_unregister(s->va, s->len);
	int e = errno;
	note(t, "unregister", s->va, s->len, 0, rc, e);
	MODEL(t, xmodel_remove_end(R.m, s->va, rc, e, t->err));
	if (rc)
		violation(t, "unregister(%p, %zu) failed: errno %d", s->va, s->len, e);
	slot_set(i, SL_FREE, -1);
	t->c.unregs++;
}

static void op_translation_only(struct thr *t)
{
	int prev, i;
	if (rnd(&t->rng) % 2 &&
	    (i = slot_claim(&t->rng, CL_REGISTERED, t->idx, &prev)) >= 0)
		unregister_slot(t, &t->rng, i);
	else if ((i = slot_claim(&t->rng, CL_FREE_NORW, t->idx, &prev)) >= 0)
		add_slot(t, &t->rng, i, -1);
}

/* virt2iova / iova2virt of a held block, or of a claimed slot. */
static void op_probe(struct thr *t)
{
	t->c.probes++;
	/* Lookups of a shared heap never block and are always right. */
	int hi = rnd(&t->rng) % N_SHARED;
	if (xmem_heap_lookup(R.heaps[hi].name) != H(hi) ||
	    xmem_heap_from_id(xmem_heap_id(H(hi))) != H(hi))
		violation(t, "lookup / from_id of shared heap \"%s\" wrong",
			  R.heaps[hi].name);
	if (t->n_held && rnd(&t->rng) % 2) {
		const struct blk *b = &t->held[rnd(&t->rng) % t->n_held];
		const char *a = (const char *)b->p + rnd(&t->rng) % b->size;
		note(t, "probe_block", a, b->size, 0, 0, 0);
		MODEL(t, xmodel_probe(R.m, a, t->err));
		errno = 0;
		size_t us = xmem_usable_size(b->p);
		if (us < b->size)
			violation(t, "usable_size(%p) = %zu < %zu (errno %d)", b->p,
				  us, b->size, errno);
		return;
	}
	int prev, i = slot_claim(&t->rng, CL_MAPPED, t->idx, &prev);
	if (i < 0)
		return;
	struct slot *s = &R.slots[i];
	const char *a = s->va + rnd(&t->rng) % s->len;
	note(t, "probe_slot", a, s->len, 0, 0, 0);
	MODEL(t, xmodel_probe(R.m, a, t->err));
	slot_set(i, prev, s->heap);
}

/* A free the library must report (always caught kinds only). */
static void op_invalid_free(struct thr *t)
{
	int on_stack = 0, prev, i = -1;
	void *p = &on_stack;
	const char *kind = "stack";
	unsigned k = rnd(&t->rng) % 3;
	if (k == 1) {
		/* the middle of a large block */
		for (size_t j = 0; j < t->n_held && k == 1; j++)
			if (t->held[j].size > XMEM_MAX_CLASS_SIZE + 4096) {
				p = (char *)t->held[j].p + 4096;
				kind = "interior of a large block";
				k = 9;
			}
	} else if (k == 2 &&
		   (i = slot_claim(&t->rng, CL_REGISTERED, t->idx, &prev)) >= 0) {
		p = R.slots[i].va + rnd(&t->rng) % R.slots[i].len;
		kind = "translation-only memory";
	}
	xmodel_note_invalid_free(R.m, 1);
	atomic_fetch_add(&invalid_made, 1);
	errno = 0;
	xmem_free(p);
	int e = errno;
	note(t, "invalid_free", p, k, 0, 0, e);
	if (i >= 0)
		slot_set(i, prev, -1);
	if (e != EINVAL)
		violation(t, "xmem_free(%p: %s) left errno %d, want EINVAL", p,
			  kind, e);
	t->c.invalid++;
}

/* ---- ops: threads and heaps -------------------------------------------- */

static void publish_lcore(struct thr *t)
{
	int id = xmem_lcore_id();
	atomic_store(&t->pub_lcore, id);
	if (id < 0)
		return;
	for (unsigned k = 0; k < R.nthr; k++)
		if (k != t->idx && atomic_load(&R.thr[k].pub_lcore) == id)
			violation(t, "lcore id %d is held by threads %u and %u", id,
				  t->idx, k);
}

static void op_lcore(struct thr *t)
{
	t->c.lcore_flips++;
	if (xmem_lcore_id() < 0) {
		errno = 0;
		int id = xmem_thread_register();
		int e = errno;
		note(t, "thread_register", NULL, 0, 0, id, e);
		if (id < 0 || id >= XMEM_MAX_LCORES || id != xmem_lcore_id())
			violation(t, "thread_register() = %d (errno %d), lcore_id %d",
				  id, e, xmem_lcore_id());
		if (xmem_thread_register() != id)
			violation(t, "a second thread_register() gave another id");
		publish_lcore(t);
		return;
	}
	atomic_store(&t->pub_lcore, -1);   /* before the id can be reused */
	/* Library race: the unregister's cache flush (xm_cache_flush_lcore)
	 * reads the heap descriptors and enters the lcaches of every heap
	 * this lcore used, with no lock or RCU section, while
	 * xmem_heap_destroy in another thread frees that heap's lcaches and
	 * descriptor.  Kept apart by the test's heap lock unless
	 * --known-races. */
	if (!(O.known_races & 2))
		pthread_mutex_lock(&R.heap_ctl_mu);
	errno = 0;
	int rc = xmem_thread_unregister();
	int e = errno;
	if (!(O.known_races & 2))
		pthread_mutex_unlock(&R.heap_ctl_mu);
	note(t, "thread_unregister", NULL, 0, 0, rc, e);
	if (rc || xmem_lcore_id() != -1)
		violation(t, "thread_unregister() = %d errno %d, lcore_id %d", rc, e,
			  xmem_lcore_id());
	errno = 0;
	rc = xmem_thread_unregister();
	e = errno;
	if (rc != -1 || e != ENOENT)
		violation(t, "second thread_unregister() = %d errno %d, want ENOENT",
			  rc, e);
}

/* Every call on a destroyed heap's handle fails with EINVAL (the handle
 * must not be reused meanwhile).  The library tells a dead handle by reading
 * the descriptor it points to; descriptors are type-stable metadata that
 * another thread may be reusing at that moment, which ThreadSanitizer
 * reports as a race (alloc/heap.h xm_heap_live).  Hence done only in the
 * quiescent phase, unless --known-races. */
static void dead_handle_checks(struct thr *t, struct xmem_heap *dead)
{
	struct xmem_heap_stats st;
	void *objs[1];
	errno = 0;
	if (xmem_heap_id(dead) != -1 || errno != EINVAL)
		violation(t, "heap_id of a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_alloc(dead, 64, 0) != NULL || errno != EINVAL)
		violation(t, "alloc from a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_alloc_bulk(dead, 64, objs, 1) != -1 || errno != EINVAL)
		violation(t, "alloc_bulk from a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_heap_name(dead) != NULL || errno != EINVAL)
		violation(t, "heap_name of a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_heap_stats(dead, &st) != -1 || errno != EINVAL)
		violation(t, "heap_stats of a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_heap_trim(dead) != -1 || errno != EINVAL)
		violation(t, "heap_trim of a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_heap_add_memory(dead, (void *)(uintptr_t)0x10000, 4096, NULL, 0,
				 4096) != -1 ||
	    errno != EINVAL)
		violation(t, "add_memory to a destroyed heap did not give EINVAL");
	errno = 0;
	if (xmem_heap_destroy(dead) != -1 || errno != EINVAL)
		violation(t, "destroying a destroyed heap did not give EINVAL");
}

/* Create this thread's heap, or take it down (remove its chunks, destroy). */
static void op_private_heap(struct thr *t)
{
	int hi = N_SHARED + t->idx;
	struct heapslot *hs = &R.heaps[hi];
	if (!hs->h) {
		snprintf(hs->name, sizeof(hs->name), "st%u-t%u-%u", R.seed_idx,
			 t->idx, hs->gen++);
		pthread_mutex_lock(&R.heap_ctl_mu);
		errno = 0;
		struct xmem_heap *h = xmem_heap_create(hs->name);
		int e = errno;
		note(t, "heap_create", h, hi, 0, 0, e);
		if (!h)
			violation(t, "heap_create(\"%s\") failed: errno %d", hs->name, e);
		MODEL(t, xmodel_heap_created(R.m, h, hs->name, t->err));
		pthread_mutex_unlock(&R.heap_ctl_mu);
		hs->h = h;
		t->c.heaps_created++;
		return;
	}
	/* Taking it down: no new blocks (pick_heap); free this thread's. */
	{
		void *objs[32];
		unsigned n = 0;
		for (size_t j = 0; j < t->n_held;) {
			if (t->held[j].heap != hi) {
				j++;
				continue;
			}
			struct blk b = take_at(t, j);
			release(t, &b);
			objs[n++] = b.p;
			if (n == 32) {
				xmem_free_bulk(objs, n);
				n = 0;
			}
		}
		xmem_free_bulk(objs, n);
		note(t, "heap_retire", hs->h, hi, hs->retiring, 0, 0);
	}
	if (!hs->retiring) {
		hs->retiring = true;
		if (rnd(&t->rng) % 2)
			return;
	}
	/* Remove what can be removed of its memory, then destroy it. */
	for (unsigned k = 0; k < N_SLOTS; k++) {
		pthread_mutex_lock(&R.slots_mu);
		bool mine = R.slots[k].state == SL_ADDED && R.slots[k].heap == hi;
		if (mine)
			R.slots[k].state = SL_BUSY;
		pthread_mutex_unlock(&R.slots_mu);
		if (mine)
			remove_slot(t, &t->rng, (int)k, R.nthr == 1);
	}
	long chunks = xmodel_heap_chunks(R.m, hs->h);
	pthread_mutex_lock(&R.heap_ctl_mu);
	errno = 0;
	int rc = xmem_heap_destroy(hs->h);
	int e = errno;
	note(t, "heap_destroy", hs->h, chunks, 0, rc, e);
	MODEL(t, xmodel_heap_destroyed(R.m, hs->h, rc, e, t->err));
	if (rc == 0) {
		errno = 0;
		if (xmem_heap_lookup(hs->name) != NULL || errno != ENOENT)
			violation(t, "lookup of destroyed heap \"%s\" did not give "
				  "ENOENT (errno %d)", hs->name, errno);
		/* Nobody can create a heap now, so the dead handle stays dead;
		 * but checking it while other threads allocate metadata is a
		 * data race inside the library (see dead_handle_checks), so
		 * by default the quiescent phase does it. */
		if (O.known_races & 1)
			dead_handle_checks(t, hs->h);
		else if (t->n_dead < DEAD_MAX)
			t->dead[t->n_dead++] = hs->h;
		hs->h = NULL;
		hs->retiring = false;
		t->c.heaps_destroyed++;
	}
	pthread_mutex_unlock(&R.heap_ctl_mu);
}

/* Arguments every call must refuse with the documented errno. */
static void op_bad_args(struct thr *t)
{
	int hi = pick_heap(t);
	struct xmem_heap *h = H(hi);
	void *objs[2];
	int on_stack = 0;
	unsigned k = rnd(&t->rng) % 7;
	note(t, "bad_args", NULL, k, hi, 0, 0);
	errno = 0;
	switch (k) {
	case 0:
		if (xmem_alloc(h, 0, 0) || errno != EINVAL)
			violation(t, "alloc(size 0) did not fail with EINVAL");
		break;
	case 1:
		if (xmem_alloc(h, 64, 3 << range(&t->rng, 0, 8)) || errno != EINVAL)
			violation(t, "alloc(align not a power of two) did not fail "
				  "with EINVAL");
		break;
	case 2:
		if (xmem_alloc(NULL, 64, 0) || errno != EINVAL)
			violation(t, "alloc(NULL heap) did not fail with EINVAL");
		break;
	case 3:
		if (xmem_alloc_bulk(h, 64, objs, 0) != -1 || errno != EINVAL)
			violation(t, "alloc_bulk(n 0) did not fail with EINVAL");
		break;
	case 4:
		if (xmem_alloc_bulk(h, 0, objs, 2) != -1 || errno != EINVAL)
			violation(t, "alloc_bulk(size 0) did not fail with EINVAL");
		break;
	case 5:
		if (xmem_usable_size(&on_stack) != 0 || errno != EINVAL)
			violation(t, "usable_size(stack) did not fail with EINVAL");
		break;
	case 6: {
		/* More than any heap holds: ENOMEM, and nothing changes. */
		size_t big = (size_t)1 << range(&t->rng, 31, 46);
		if (xmem_alloc(h, big, 0) || errno != ENOMEM)
			violation(t, "alloc(%zu) did not fail with ENOMEM (errno %d)",
				  big, errno);
		break;
	}
	}
}

static void op_trim(struct thr *t)
{
	int hi = pick_heap(t);
	errno = 0;
	int rc = xmem_heap_trim(H(hi));
	note(t, "trim", NULL, hi, 0, rc, errno);
	if (rc)
		violation(t, "heap_trim(\"%s\") failed: errno %d", R.heaps[hi].name,
			  errno);
	t->c.trims++;
}

static void do_op(struct thr *t)
{
	unsigned r = rnd(&t->rng) % 1000;
	if (t->n_held > R.max_held && r < 500)
		r += 500;                       /* shed load: free instead */
	else if (r >= 500 && r < 830 && t->n_held < R.max_held &&
		 rnd(&t->rng) % 100 < R.free_skip)
		r = rnd(&t->rng) % 370;         /* build up: allocate instead */
	if (r < 260)
		op_alloc(t);
	else if (r < 370)
		op_alloc_bulk(t);
	else if (r < 385)
		op_zalloc(t);
	else if (r < 500)
		op_probe(t);
	else if (r < 740)
		op_free(t);
	else if (r < 830)
		op_free_bulk(t);
	else if (r < 880)
		op_handoff(t);
	else if (r < 930)
		op_drain_inbox(t);
	else if (r < 950)
		op_add(t);
	else if (r < 970)
		op_remove(t);
	else if (r < 978)
		op_translation_only(t);
	else if (r < 984)
		op_invalid_free(t);
	else if (r < 990)
		op_lcore(t);
	else if (r < 994)
		op_private_heap(t);
	else if (r < 997)
		op_bad_args(t);
	else
		op_trim(t);
	t->op++;
	t->c.ops++;
}

/* ---- quiescent phase (thread 0, every other thread at the barrier) ---- */

/* Free every block of slot i that any thread holds or has in its inbox. */
static void evict(struct thr *t, int i)
{
	const struct slot *s = &R.slots[i];
	void *objs[32];
	unsigned n = 0;
	for (unsigned k = 0; k < R.nthr; k++) {
		struct thr *o = &R.thr[k];
		for (size_t j = 0; j < o->n_held;) {
			if ((uintptr_t)o->held[j].p - (uintptr_t)s->va < s->len) {
				struct blk b = take_at(o, j);
				release(t, &b);
				objs[n++] = b.p;
				if (n == 32) {
					xmem_free_bulk(objs, n);
					n = 0;
				}
			} else {
				j++;
			}
		}
		pthread_mutex_lock(&o->inbox_mu);
		for (unsigned j = 0; j < o->inbox_n;) {
			if ((uintptr_t)o->inbox[j].p - (uintptr_t)s->va < s->len) {
				struct blk b = o->inbox[j];
				o->inbox[j] = o->inbox[--o->inbox_n];
				release(t, &b);
				xmem_free(b.p);
			} else {
				j++;
			}
		}
		pthread_mutex_unlock(&o->inbox_mu);
	}
	xmem_free_bulk(objs, n);
	R.cc.evictions++;
}

static void check_largest_free(struct thr *t, int hi)
{
	struct xmem_heap_stats st;
	/* largest_free counts free units only: trim first, so fully free
	 * spans (which an allocation reclaims when it must) are units again. */
	if (xmem_heap_trim(H(hi)))
		violation(t, "heap_trim(\"%s\") failed: errno %d", R.heaps[hi].name,
			  errno);
	if (xmem_heap_stats(H(hi), &st))
		violation(t, "heap_stats(\"%s\") failed: errno %d", R.heaps[hi].name,
			  errno);
	if (st.largest_free <= XMEM_MAX_CLASS_SIZE)
		return;
	errno = 0;
	void *p = xmem_alloc(H(hi), st.largest_free, 0);
	int e = errno;
	note(t, "alloc_largest_free", p, st.largest_free, 0, 0, e);
	if (!p)
		violation(t, "heap \"%s\": stats say largest_free %zu, but "
			  "alloc(%zu) failed with errno %d", R.heaps[hi].name,
			  st.largest_free, st.largest_free, e);
	MODEL(t, xmodel_alloc(R.m, H(hi), p, st.largest_free, 0, t->err));
	MODEL(t, xmodel_free(R.m, p, NULL, NULL, t->err));
	xmem_free(p);
	/* ... and nothing larger. */
	size_t more = st.largest_free + 4096;
	errno = 0;
	p = xmem_alloc(H(hi), more, 0);
	e = errno;
	note(t, "alloc_above_largest_free", p, more, 0, 0, e);
	if (p)
		violation(t, "heap \"%s\": stats say largest_free %zu, but "
			  "alloc(%zu) succeeded", R.heaps[hi].name,
			  st.largest_free, more);
	if (e != ENOMEM)
		violation(t, "alloc(%zu) above largest_free: errno %d, not ENOMEM",
			  more, e);
}

static void quiescent(struct thr *t)
{
	uint64_t *rng = &R.coord_rng;
	R.batches++;
	/* Each thread published its lcore id before the barrier. */
	for (unsigned a = 0; a < R.nthr; a++)
		for (unsigned b = a + 1; b < R.nthr; b++) {
			int ia = atomic_load(&R.thr[a].pub_lcore);
			if (ia >= 0 && ia == atomic_load(&R.thr[b].pub_lcore))
				violation(t, "threads %u and %u both have lcore id %d",
					  a, b, ia);
		}
	note(t, "quiescent_check", NULL, R.batches, 0, 0, 0);
	MODEL(t, xmodel_check(R.m, rng, 64, t->err));
	if (atomic_load(&log_lines) != atomic_load(&invalid_made))
		violation(t, "%lu invalid-free log lines for %lu invalid frees made",
			  (unsigned long)atomic_load(&log_lines),
			  (unsigned long)atomic_load(&invalid_made));

	/* Handles destroyed during the batch (not since reused). */
	for (unsigned k = 0; k < R.nthr; k++) {
		struct thr *o = &R.thr[k];
		for (unsigned j = 0; j < o->n_dead; j++)
			if (xmodel_heap_chunks(R.m, o->dead[j]) < 0)
				dead_handle_checks(t, o->dead[j]);
		o->n_dead = 0;
	}
	/* Strict removal: EBUSY while blocks live, success once freed. */
	int prev, i = slot_claim(rng, CL_MAPPED, 0, &prev);
	if (i >= 0 && prev == SL_REGISTERED) {
		unregister_slot(t, rng, i);
	} else if (i >= 0) {
		struct slot *s = &R.slots[i];
		long live = xmodel_chunk_live(R.m, s->va);
		if (!remove_slot(t, rng, i, true) && live > 0 &&
		    rnd(rng) % 3 == 0) {
			evict(t, i);
			pthread_mutex_lock(&R.slots_mu);
			s->state = SL_BUSY;
			pthread_mutex_unlock(&R.slots_mu);
			if (!remove_slot(t, rng, i, true))
				violation(t, "remove after evicting every block failed");
		}
	}
	/* What stats call the largest free block can be allocated. */
	int hi = rnd(rng) % (N_SHARED + R.nthr);
	if (H(hi))
		check_largest_free(t, hi);
	/* Now and then a batch in checked mode (every call locked). */
	if (R.batches % 8 == 0)
		xmem_set_checked(rnd(rng) % 3 == 0);
	if (R.batches % 16 == 0) {
		FILE *f = fopen("/dev/null", "w");
		if (f) {
			if (xmem_heap_dump(f))
				violation(t, "heap_dump failed: errno %d", errno);
			fclose(f);
		}
	}
	if (now_s() >= R.t_end || t->op >= O.ops)
		atomic_store(&R.stop, 1);
}

/* ---- threads and seeds ------------------------------------------------ */

static void *worker(void *arg)
{
	struct thr *t = arg;
	for (;;) {
		uint64_t n = O.ops - t->op < O.batch ? O.ops - t->op : O.batch;
		for (uint64_t k = 0; k < n; k++)
			do_op(t);
		publish_lcore(t);
		pthread_barrier_wait(&R.bar);
		if (t->idx == 0)
			quiescent(t);
		pthread_barrier_wait(&R.bar);
		if (atomic_load(&R.stop))
			break;
	}
	/* Teardown: everything held or sent here goes back. */
	op_drain_inbox(t);
	while (t->n_held)
		op_free(t);
	atomic_store(&t->pub_lcore, -1);
	pthread_barrier_wait(&R.bar);
	return NULL;
}

static void setup_seed(uint64_t seed, unsigned idx, double seconds)
{
	struct thr *keep = R.thr;
	memset(&R, 0, sizeof(R));
	R.thr = keep;
	R.seed = seed;
	R.seed_idx = idx;
	R.coord_rng = seed ^ 0xc001d00dULL;
	R.nthr = O.threads;
	R.t_end = now_s() + seconds;
	/* A third of the seeds keep so much live that the heaps run out
	 * (ENOMEM, reclaim from other lcores' caches), a third very little. */
	static const size_t held_caps[] = {300, 3000, 12000};
	static const unsigned skips[] = {0, 10, 40};
	R.max_held = held_caps[seed % 3];
	R.free_skip = skips[seed % 3];
	atomic_init(&R.iova_next, 0x100000000ULL);
	pthread_mutex_init(&R.slots_mu, NULL);
	pthread_mutex_init(&R.heap_ctl_mu, NULL);
	pthread_barrier_init(&R.bar, NULL, R.nthr);
	R.m = xmodel_new();
	memset(R.thr, 0, MAX_THREADS * sizeof(*R.thr));
	for (unsigned k = 0; k < R.nthr; k++) {
		struct thr *t = &R.thr[k];
		t->idx = k;
		t->rng = seed * 0x100 + k + 1;
		rnd(&t->rng);
		pthread_mutex_init(&t->inbox_mu, NULL);
		atomic_init(&t->pub_lcore, -1);
	}
	struct thr *t0 = &R.thr[0];
	if (!R.m)
		violation(t0, "xmodel_new failed");

	R.reserve_len = (N_SLOTS + 1) * SLOT_SPAN;
	char *p = mmap(NULL, R.reserve_len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		violation(t0, "mmap of %zu bytes failed", R.reserve_len);
	R.reserve = p;
	char *base = (char *)(((uintptr_t)p + SLOT_SPAN - 1) & ~(uintptr_t)(SLOT_SPAN - 1));
	for (int i = 0; i < N_SLOTS; i++) {
		struct slot *s = &R.slots[i];
		s->va = base + (size_t)i * SLOT_SPAN;
		s->state = SL_FREE;
		s->heap = -1;
		s->rw = i < N_RW_SLOTS;
		if (s->rw && mprotect(s->va, SLOT_SPAN, PROT_READ | PROT_WRITE))
			violation(t0, "mprotect failed");
	}
	for (int hi = 0; hi < N_SHARED; hi++) {
		struct heapslot *hs = &R.heaps[hi];
		snprintf(hs->name, sizeof(hs->name), "st%u-s%d", idx, hi);
		hs->h = xmem_heap_create(hs->name);
		if (!hs->h)
			violation(t0, "heap_create(\"%s\") failed: errno %d", hs->name,
				  errno);
		MODEL(t0, xmodel_heap_created(R.m, hs->h, hs->name, t0->err));
		for (int k = 0; k < 3; k++) {
			int prev, i = slot_claim(&R.coord_rng,
						 hi ? CL_FREE_NORW : CL_FREE_RW, 0, &prev);
			add_slot(t0, &R.coord_rng, i, hi);
		}
	}
}

/* Everything is freed: stats say so, all memory comes out, heaps go. */
static void teardown_seed(void)
{
	struct thr *t = &R.thr[0];
	xmem_set_checked(0);
	if (xmodel_live_count(R.m))
		violation(t, "teardown: the model still holds %zu blocks",
			  xmodel_live_count(R.m));
	MODEL(t, xmodel_check(R.m, &R.coord_rng, 256, t->err));
	for (int hi = 0; hi < N_HEAPS; hi++) {
		if (!H(hi))
			continue;
		struct xmem_heap_stats st;
		if (xmem_heap_stats(H(hi), &st) || st.alloc_count || st.alloc_bytes ||
		    st.free_bytes != st.total_bytes)
			violation(t, "teardown: heap \"%s\" stats: %" PRIu64 " blocks, "
				  "%zu bytes allocated", R.heaps[hi].name,
				  st.alloc_count, st.alloc_bytes);
	}
	for (int i = 0; i < N_SLOTS; i++) {
		struct slot *s = &R.slots[i];
		if (s->state == SL_REGISTERED) {
			s->state = SL_BUSY;
			unregister_slot(t, &R.coord_rng, i);
		} else if (s->state == SL_ADDED) {
			s->state = SL_BUSY;
			if (!remove_slot(t, &R.coord_rng, i, true))
				violation(t, "teardown: remove failed");
		}
	}
	for (int hi = 0; hi < N_HEAPS; hi++) {
		if (!H(hi))
			continue;
		errno = 0;
		int rc = xmem_heap_destroy(H(hi));
		MODEL(t, xmodel_heap_destroyed(R.m, H(hi), rc, errno, t->err));
		if (rc)
			violation(t, "teardown: heap_destroy(\"%s\") failed: errno %d",
				  R.heaps[hi].name, errno);
		R.heaps[hi].h = NULL;
	}
	MODEL(t, xmodel_check(R.m, &R.coord_rng, 64, t->err));
	if (xmodel_chunk_count(R.m))
		violation(t, "teardown: the model still holds chunks");
	xmodel_free_model(R.m);
	munmap(R.reserve, R.reserve_len);
	pthread_barrier_destroy(&R.bar);
}

static void add_counters(struct counters *a, const struct counters *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *d = (uint64_t *)a;
	for (size_t k = 0; k < sizeof(*a) / sizeof(uint64_t); k++)
		d[k] += s[k];
}

static uint64_t run_seed(uint64_t seed, unsigned idx, double seconds)
{
	char lim[48] = "no op limit";
	if (O.ops != UINT64_MAX)
		snprintf(lim, sizeof(lim), "at most %" PRIu64 " ops per thread", O.ops);
	printf("stress: seed %" PRIu64 " (threads %u, %.1f s, %s): replay with "
	       "--seed=%" PRIu64 " --seeds=1 --threads=1\n", seed, O.threads,
	       seconds, lim, seed);
	fflush(stdout);
	double t0 = now_s();
	setup_seed(seed, idx, seconds);
	for (unsigned k = 1; k < R.nthr; k++)
		if (pthread_create(&R.thr[k].tid, NULL, worker, &R.thr[k]))
			violation(&R.thr[0], "pthread_create failed");
	worker(&R.thr[0]);
	for (unsigned k = 1; k < R.nthr; k++)
		pthread_join(R.thr[k].tid, NULL);
	teardown_seed();
	struct counters c = R.cc;
	uint64_t digest = 0;
	for (unsigned k = 0; k < R.nthr; k++) {
		digest ^= R.thr[k].digest;
		add_counters(&c, &R.thr[k].c);
		free(R.thr[k].held);
		pthread_mutex_destroy(&R.thr[k].inbox_mu);
	}
	printf("stress: seed %" PRIu64 " done in %.1f s: %" PRIu64 " ops, %" PRIu64
	       " quiescent checks; %" PRIu64 " blocks allocated (%" PRIu64
	       " ENOMEM), %" PRIu64 " freed (%" PRIu64 " by another thread, %"
	       PRIu64 " handed over); memory: %" PRIu64 " adds, %" PRIu64
	       " removes, EBUSY %" PRIu64 " pinned / %" PRIu64 " unpinned, %"
	       PRIu64 " evictions; %" PRIu64 " registers, %" PRIu64
	       " unregisters; %" PRIu64 " probes, %" PRIu64 " invalid frees, %"
	       PRIu64 " heaps created, %" PRIu64 " destroyed, %" PRIu64
	       " lcore flips, %" PRIu64 " trims; digest %016" PRIx64 "\n",
	       seed, now_s() - t0, c.ops, R.batches, c.allocs, c.enomem, c.frees,
	       c.xfrees, c.handed, c.adds, c.removes, c.busy_pinned,
	       c.busy_unpinned, c.evictions, c.regs, c.unregs, c.probes,
	       c.invalid, c.heaps_created, c.heaps_destroyed, c.lcore_flips,
	       c.trims, digest);
	fflush(stdout);
	return c.ops;
}

static bool arg_u64(const char *a, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	if (strncmp(a, name, n) || a[n] != '=')
		return false;
	char *end;
	errno = 0;
	*out = strtoull(a + n + 1, &end, 0);
	if (errno || *end || end == a + n + 1) {
		fprintf(stderr, "bad value in %s\n", a);
		exit(2);
	}
	return true;
}

int main(int argc, char **argv)
{
	bool seed_set = false;
	uint64_t v;
	/* The environment first (bazel test --test_env=...), then argv. */
	const char *env = getenv("XMEM_STRESS_THREADS");
	if (env && *env)
		O.threads = (unsigned)strtoul(env, NULL, 0);
	if ((env = getenv("XMEM_STRESS_SEED")) && *env) {
		O.seed = strtoull(env, NULL, 0);
		seed_set = true;
	}
	if ((env = getenv("XMEM_STRESS_SECONDS")) && *env)
		O.seconds = strtod(env, NULL);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (arg_u64(a, "--threads", &v))
			O.threads = (unsigned)v;
		else if (arg_u64(a, "--seed", &v)) {
			O.seed = v;
			seed_set = true;
		} else if (arg_u64(a, "--seeds", &v))
			O.seeds = (unsigned)v;
		else if (arg_u64(a, "--seconds", &v))
			O.seconds = (double)v;
		else if (arg_u64(a, "--ops", &v))
			O.ops = v;
		else if (arg_u64(a, "--batch", &v))
			O.batch = (unsigned)v;
		else if (!strcmp(a, "--longer")) {
			O.seconds = 60;
			O.seeds = 2;
			O.ops = UINT64_MAX;   /* time-bound only */
		} else if (!strcmp(a, "--selftest-double"))
			O.selftest_double = true;
		else if (!strcmp(a, "--known-races"))
			O.known_races = 3;
		else if (arg_u64(a, "--known-races", &v))
			O.known_races = (unsigned)v;
		else {
			fprintf(stderr, "usage: %s [--threads=N] [--seed=S] [--seeds=K] "
				"[--seconds=T] [--ops=N] [--batch=N] [--longer] "
				"[--selftest-double] [--known-races[=1|2]]\n", argv[0]);
			return 2;
		}
	}
	if (O.threads < 1 || O.threads > MAX_THREADS || O.seeds < 1 ||
	    O.batch < 1 || O.ops < 1) {
		fprintf(stderr, "threads must be 1..%d; seeds, batch, ops >= 1\n",
			MAX_THREADS);
		return 2;
	}
	if (!seed_set) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		O.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
			 ((uint64_t)getpid() << 16);
		O.seed %= 1000000007u;
	}
	xmem_set_log(quiet_log);
	R.thr = calloc(MAX_THREADS, sizeof(*R.thr));
	if (!R.thr)
		return 1;
	double t0 = now_s();
	uint64_t ops = 0;
	char seeds[512];
	size_t pos = 0;
	seeds[0] = 0;
	for (unsigned i = 0; i < O.seeds; i++) {
		uint64_t seed = O.seed + i;
		ops += run_seed(seed, i, O.seconds / O.seeds);
		if (pos < sizeof(seeds))
			pos += snprintf(seeds + pos, sizeof(seeds) - pos, "%s%" PRIu64,
					i ? "," : "", seed);
	}
	printf("stress: threads=%u seeds=%s ops=%" PRIu64 " violations=0 "
	       "seconds=%.1f\n", O.threads, seeds, ops, now_s() - t0);
	free(R.thr);
	return 0;
}
