/* stall_test.c - progress of small allocations while a thread is frozen
 * anywhere in the library (invariant 3 of the design brief).
 *
 * A victim thread is frozen again and again (SIGUSR1, whose handler spins
 * until released) while it runs one kind of call, chosen per freeze in turn:
 *   - control-plane calls: xmem_heap_trim, xmem_heap_stats, xmem_heap_dump,
 *     xmem_heap_add_memory and xmem_heap_remove_memory of 2 MiB chunks it
 *     adds to the workers' heap, xmem_set_checked (switched over and back);
 *   - large allocations: xmem_alloc + xmem_free of 256 KiB (above
 *     XMEM_MAX_CLASS_SIZE);
 *   - bulk calls over 64 objects: xmem_alloc_bulk + xmem_free_bulk of 100.
 * Each freeze aims at a kind: after a random pause the main thread waits
 * until the victim is inside a call of that kind, then signals; the handler
 * records which call the freeze landed in ("between calls" when none).
 * While the victim is frozen, every worker must complete XMEM_STALL_OPS
 * bursts within XMEM_STALL_DEADLINE_MS.  The workers need
 * fresh spans and magazines meanwhile: before each freeze the main thread
 * trims the heap (caches and depot empty, empty spans given back) and tells
 * the workers to grow their windows of live objects, class after class
 * through every class, up to a new high-water mark, then shrink them again;
 * a quarter of the bursts are handed to the next worker, which frees them
 * (cross-thread frees).  Every object carries a tag in its first 8 bytes,
 * checked when it is freed: a block handed out twice shows up as a
 * corrupted tag.  When a kind of call has held a worker up once, later
 * freezes go to the other kinds, so one run names every kind that blocks.
 *
 * The control case must be caught blocking: large allocations may serialise
 * on a per-heap lock that small paths never take, so with the victim frozen
 * inside large allocations and the workers doing large allocations too, a
 * worker must miss its deadline (within 100 freezes of 200 ms).  The test
 * fails if the control is NOT caught.
 *
 * Environment: XMEM_STALL_FREEZES (200), XMEM_STALL_WORKERS (2),
 * XMEM_STALL_OPS (bursts per worker per freeze, 200),
 * XMEM_STALL_DEADLINE_MS (2000), XMEM_CHECKED=1 (checked mode throughout;
 * the set_checked calls then switch it off and back on), XMEM_STALL_KINDS
 * (a comma list of trim, stats, dump, addremove, checked, large, bulk:
 * freeze inside these only; "idle" freezes the victim outside the library,
 * a check of the harness itself, which must pass with any core). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/xt.h"
#include "tests/xt_util.h"
#include "xmem/xmem.h"

#define HEAP_BYTES  ((size_t)256 << 20)
#define VCHUNK      ((size_t)2 << 20)   /* a chunk the victim adds and removes */
#define N_VCHUNKS   2
#define LARGE_SIZE  (256 * KiB)
#define BULK_N      100
#define MAX_WORKERS 16
#define WIN_MAX     4096                 /* live objects a worker holds at most */
#define RING        1024                 /* handoff ring to the next worker */

enum kind { K_NONE, K_TRIM, K_STATS, K_DUMP, K_ADD, K_REMOVE, K_CHECKED, K_LARGE, K_BULK,
	    N_KINDS };
static const char *const kind_name[N_KINDS] = {
	"between calls", "xmem_heap_trim", "xmem_heap_stats", "xmem_heap_dump",
	"xmem_heap_add_memory", "xmem_heap_remove_memory", "xmem_set_checked",
	"large xmem_alloc/xmem_free (256 KiB)", "xmem_alloc_bulk/xmem_free_bulk of 100"};
/* What the main thread asks the victim to run: K_ADD means "add or remove,
 * whichever the chunk needs"; K_NONE ("idle", only by XMEM_STALL_KINDS) a
 * loop outside the library, the harness's own check. */
static const enum kind all_targets[] = {K_TRIM, K_STATS, K_DUMP, K_ADD, K_CHECKED, K_LARGE,
					K_BULK};
#define N_TARGETS ((int)(sizeof all_targets / sizeof all_targets[0]))
static const char *const target_key[N_KINDS] = {
	[K_NONE] = "idle", [K_TRIM] = "trim", [K_STATS] = "stats", [K_DUMP] = "dump",
	[K_ADD] = "addremove", [K_CHECKED] = "checked", [K_LARGE] = "large", [K_BULK] = "bulk"};
static enum kind targets[N_KINDS];
static int n_targets;

static struct xmem_heap *g_heap;
static atomic_int g_stop;
static int g_base_checked;      /* checked mode at start (XMEM_CHECKED) */

/* ---- workers --------------------------------------------------------- */

struct obj {
	void *p;
	uint64_t tag;
};

struct worker {
	_Alignas(64) _Atomic uint64_t bursts;
	_Atomic uint64_t failures;      /* allocations that failed (burst not counted) */
	_Atomic int last_errno;         /* of the last one */
	_Atomic uint64_t corrupt;       /* tags found overwritten */
	_Atomic uint64_t handed;        /* objects freed by another worker */
	pthread_t tid;
	int id;
	int large;                      /* control case: large blocks only */
	uint64_t rng, seq;
	struct obj win[WIN_MAX];        /* FIFO window of live objects */
	unsigned head, n, hi, lo;
	int growing, cls;
	unsigned epoch;
	/* Inbound ring (single producer: the previous worker). */
	_Alignas(64) _Atomic unsigned r_head, r_tail;
	struct obj ring[RING];
};
static struct worker g_workers[MAX_WORKERS];
static int g_nworkers = 2;
static atomic_uint g_epoch;     /* bumped by main: grow now */

/* Live objects a worker may hold: large blocks are 256 KiB each. */
static unsigned win_cap(const struct worker *w)
{
	return w->large ? 16 : WIN_MAX;
}

static void stamp(struct worker *w, struct obj *o, size_t size)
{
	o->tag = (uint64_t)w->id << 56 | ++w->seq;
	memcpy(o->p, &o->tag, sizeof o->tag);
	((char *)o->p)[size - 1] = (char)o->tag;
}

/* Check the tags, then free n objects (n <= 32) in one burst. */
static void release(struct worker *w, const struct obj *o, unsigned n)
{
	void *v[32];
	for (unsigned i = 0; i < n; i++) {
		uint64_t t;
		memcpy(&t, o[i].p, sizeof t);
		if (t != o[i].tag)
			atomic_fetch_add(&w->corrupt, 1);
		v[i] = o[i].p;
	}
	if (w->large) {
		for (unsigned i = 0; i < n; i++)
			xmem_free(v[i]);
	} else {
		xmem_free_bulk(v, n);
	}
}

static bool ring_push(struct worker *to, const struct obj *o, unsigned n)
{
	unsigned h = atomic_load_explicit(&to->r_head, memory_order_acquire);
	unsigned t = atomic_load_explicit(&to->r_tail, memory_order_relaxed);
	if (t - h + n > RING)
		return false;
	for (unsigned i = 0; i < n; i++)
		to->ring[(t + i) % RING] = o[i];
	atomic_store_explicit(&to->r_tail, t + n, memory_order_release);
	return true;
}

/* Free what the previous worker handed over, up to 64 objects. */
static void ring_drain(struct worker *w, unsigned max)
{
	unsigned h = atomic_load_explicit(&w->r_head, memory_order_relaxed);
	unsigned t = atomic_load_explicit(&w->r_tail, memory_order_acquire);
	while (h != t && max) {
		struct obj o[32];
		unsigned k = 0;
		while (h != t && k < 32 && max) {
			o[k++] = w->ring[h++ % RING];
			max--;
		}
		release(w, o, k);
		atomic_fetch_add_explicit(&w->handed, k, memory_order_relaxed);
		atomic_store_explicit(&w->r_head, h, memory_order_release);
	}
}

/* One burst: allocate n objects of the next class and keep them (or hand
 * them on), or free the oldest n.  False: the allocation failed (counted;
 * the burst is tried again). */
static bool burst(struct worker *w)
{
	unsigned e = atomic_load_explicit(&g_epoch, memory_order_relaxed);
	if (e != w->epoch) {
		/* The heap was just trimmed: grow to a new high-water mark. */
		w->epoch = e;
		w->growing = 1;
		w->hi = w->n + (unsigned)xt_range_r(&w->rng, win_cap(w) / 4, win_cap(w) / 2);
		if (w->hi > win_cap(w))
			w->hi = win_cap(w);
	}
	ring_drain(w, 64);
	if (w->growing) {
		size_t size;
		unsigned n;
		if (w->large) {
			size = LARGE_SIZE - xt_range_r(&w->rng, 0, 4095);
			n = (unsigned)xt_range_r(&w->rng, 1, 4);
		} else {
			w->cls = (w->cls + 1) % XMEM_NUM_CLASSES;
			/* At least 9 bytes: the tag and a last byte after it. */
			size = xmem_class_size(w->cls) - xt_range_r(&w->rng, 0, 7);
			size_t cap = (256 * KiB) / size;
			n = cap < 1 ? 1 : cap > 32 ? 32 : (unsigned)cap;
		}
		if (n > win_cap(w) - w->n)
			n = win_cap(w) - w->n;
		void *v[32];
		int rc = 0;
		if (w->large) {
			for (unsigned i = 0; i < n && rc == 0; i++)
				if (!(v[i] = xmem_alloc(g_heap, size, 0))) {
					while (i--)
						xmem_free(v[i]);
					rc = -1;
				}
		} else if (n) {
			rc = xmem_alloc_bulk(g_heap, size, v, n);
		}
		if (rc != 0) {
			atomic_store(&w->last_errno, errno);
			atomic_fetch_add(&w->failures, 1);
			return false;
		}
		struct obj o[32];
		for (unsigned i = 0; i < n; i++) {
			o[i].p = v[i];
			stamp(w, &o[i], size);
		}
		struct worker *next = &g_workers[(w->id + 1) % g_nworkers];
		/* Hand a quarter on (small objects only: 1024 large blocks in a
		 * ring would be the whole heap). */
		if (!(g_nworkers > 1 && !w->large && xt_range_r(&w->rng, 0, 3) == 0 &&
		      ring_push(next, o, n))) {
			for (unsigned i = 0; i < n; i++)
				w->win[(w->head + w->n + i) % WIN_MAX] = o[i];
			w->n += n;
		}
		if (w->n >= w->hi) {
			w->growing = 0;
			w->lo = (unsigned)xt_range_r(&w->rng, 0, w->hi / 4);
		}
	} else {
		unsigned k = w->n - w->lo < 32 ? w->n - w->lo : 32;
		if (w->head + k > WIN_MAX)
			k = WIN_MAX - w->head;   /* up to the end of the ring */
		release(w, &w->win[w->head], k);
		w->head = (w->head + k) % WIN_MAX;
		w->n -= k;
		if (w->n <= w->lo) {
			w->growing = 1;
			w->hi = (unsigned)xt_range_r(&w->rng, win_cap(w) / 4, win_cap(w));
		}
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		if (!burst(w))
			continue;
		/* Relaxed: a progress counter, read by the main thread. */
		atomic_store_explicit(&w->bursts,
				      atomic_load_explicit(&w->bursts, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	while (w->n) {
		unsigned k = w->n < 32 ? w->n : 32;
		if (w->head + k > WIN_MAX)
			k = WIN_MAX - w->head;
		release(w, &w->win[w->head], k);
		w->head = (w->head + k) % WIN_MAX;
		w->n -= k;
	}
	return NULL;
}

/* ---- the victim ------------------------------------------------------ */

/* The kind of call the victim is inside.  Read by its own signal handler
 * and, as a hint of when to signal, by the main thread: seq_cst stores keep
 * them in program order around the library call. */
static atomic_int g_in_op;
static atomic_int g_frozen, g_thaw, g_frozen_kind;
static atomic_int g_want, g_doing;          /* target asked for, and running */
static _Atomic uint64_t g_freezes_seen;
static char *g_vchunk[N_VCHUNKS];
static int g_vadded[N_VCHUNKS];
static uint64_t *g_vtable;
static FILE *g_devnull;

/* Async-signal-safe: only atomics and nanosleep. */
static void on_freeze(int sig)
{
	(void)sig;
	atomic_fetch_add(&g_freezes_seen, 1);
	atomic_store(&g_frozen_kind, atomic_load(&g_in_op));
	atomic_store(&g_frozen, 1);
	struct timespec ts = {0, 50000};
	while (!atomic_load(&g_thaw))
		nanosleep(&ts, NULL);
	atomic_store(&g_thaw, 0);
	atomic_store(&g_frozen, 0);
}

#define IN(kind, call) (atomic_store(&g_in_op, (kind)), (call), atomic_store(&g_in_op, K_NONE))

static void victim_op(enum kind k, uint64_t *rng, unsigned iter)
{
	struct xmem_heap_stats st;
	void *objs[BULK_N];
	switch (k) {
	case K_TRIM:
		IN(K_TRIM, xmem_heap_trim(g_heap));
		break;
	case K_STATS:
		IN(K_STATS, xmem_heap_stats(g_heap, &st));
		break;
	case K_DUMP:
		IN(K_DUMP, xmem_heap_dump(g_devnull));
		break;
	case K_ADD:
	case K_REMOVE: {
		int c = (int)(iter % N_VCHUNKS), rc;
		if (g_vadded[c]) {
			IN(K_REMOVE, rc = xmem_heap_remove_memory(g_heap, g_vchunk[c], VCHUNK));
			g_vadded[c] = rc != 0;   /* EBUSY: a worker's block is in it */
		} else {
			IN(K_ADD, rc = xmem_heap_add_memory(g_heap, g_vchunk[c], VCHUNK, g_vtable,
							    VCHUNK / PAGE4K, PAGE4K));
			g_vadded[c] = rc == 0;
		}
		break;
	}
	case K_CHECKED:
		IN(K_CHECKED, xmem_set_checked(!g_base_checked));
		IN(K_CHECKED, xmem_set_checked(g_base_checked));
		break;
	case K_LARGE: {
		void *p;
		IN(K_LARGE, p = xmem_alloc(g_heap, LARGE_SIZE, 0));
		if (p)
			IN(K_LARGE, xmem_free(p));
		break;
	}
	case K_BULK: {
		size_t size = xmem_class_size((int)xt_range_r(rng, 0, XMEM_NUM_CLASSES - 1));
		int rc;
		IN(K_BULK, rc = xmem_alloc_bulk(g_heap, size, objs, BULK_N));
		if (rc == 0)
			IN(K_BULK, xmem_free_bulk(objs, BULK_N));
		break;
	}
	default: {
		/* idle: frozen outside the library */
		volatile unsigned spin = 0;
		while (spin < 1000)
			spin++;
		break;
	}
	}
}

static void *victim_main(void *arg)
{
	(void)arg;
	uint64_t rng = 0x5eedull;
	for (unsigned iter = 0; !atomic_load_explicit(&g_stop, memory_order_relaxed); iter++) {
		int want = atomic_load(&g_want);
		/* -1: every kind in turn (the unfrozen baseline) */
		enum kind k = want >= 0 ? (enum kind)want : all_targets[iter % N_TARGETS];
		atomic_store(&g_doing, want);
		victim_op(k, &rng, iter);
	}
	return NULL;
}

/* ---- the run --------------------------------------------------------- */

static unsigned env_uint(const char *name, unsigned def)
{
	const char *s = getenv(name);
	return s && *s ? (unsigned)strtoul(s, NULL, 0) : def;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t total_bursts(void)
{
	uint64_t t = 0;
	for (int i = 0; i < g_nworkers; i++)
		t += atomic_load_explicit(&g_workers[i].bursts, memory_order_relaxed);
	return t;
}

/* Spans of every class; *bytes: the most span bytes seen so far. */
static uint64_t span_count(uint64_t *bytes)
{
	struct xmem_heap_stats st;
	uint64_t n = 0, b = 0;
	if (xmem_heap_stats(g_heap, &st) == 0)
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			n += st.classes[c].spans;
			b += st.classes[c].span_bytes;
		}
	*bytes = b > *bytes ? b : *bytes;
	return n;
}

struct outcome {
	unsigned freezes, missed;
	unsigned landed[N_KINDS], blocked[N_KINDS];
	uint64_t failed[N_KINDS];  /* worker allocations that failed, per kind */
	uint64_t failures;         /* ... in the whole run */
	uint64_t least;            /* fewest bursts a worker did in a freeze */
	uint64_t slowest_ns;       /* longest a worker took for its bursts */
	unsigned carved;           /* freezes after which the heap had more spans */
	uint64_t span_bytes;       /* the most bytes in spans seen after a freeze */
	uint64_t handed, corrupt;
	double frozen_rate, base_rate;   /* worker bursts per ns */
};

/* Freeze the victim up to `freezes` times, cycling through the kinds of
 * `tg` and dropping a kind once it has held a worker up; with stop_at_miss,
 * stop at the first miss. */
static void run(const enum kind *tg, int ntg, unsigned freezes, uint64_t deadline_ns,
		unsigned need, bool large, bool stop_at_miss, struct outcome *out)
{
	memset(out, 0, sizeof *out);
	out->least = UINT64_MAX;
	char *mem = xt_map(HEAP_BYTES, PAGE2M, PROT_READ | PROT_WRITE);
	uint64_t *tab = xt_linear_table((uint64_t)1 << 36, HEAP_BYTES / PAGE4K, PAGE4K);
	g_vtable = xt_linear_table((uint64_t)1 << 37, VCHUNK / PAGE4K, PAGE4K);
	for (int c = 0; c < N_VCHUNKS; c++) {
		g_vchunk[c] = xt_map(VCHUNK, PAGE2M, PROT_READ | PROT_WRITE);
		g_vadded[c] = 0;
	}
	g_heap = xmem_heap_create(xt_name("stall"));
	if (!CHECK(g_heap) ||
	    !CHECK_OK(xmem_heap_add_memory(g_heap, mem, HEAP_BYTES, tab, HEAP_BYTES / PAGE4K,
					   PAGE4K)))
		XT_FATAL("setup");

	atomic_store(&g_stop, 0);
	atomic_store(&g_freezes_seen, 0);
	atomic_store(&g_want, -1);
	atomic_store(&g_doing, -1);
	for (int i = 0; i < g_nworkers; i++) {
		struct worker *w = &g_workers[i];
		memset(w, 0, sizeof *w);
		w->id = i;
		w->large = large;
		w->rng = 0x1000u + (uint64_t)i;
		w->growing = 1;
		w->hi = win_cap(w) / 2;
	}
	struct sigaction sa = {.sa_handler = on_freeze};
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

	pthread_t vt;
	pthread_create(&vt, NULL, victim_main, NULL);
	for (int i = 0; i < g_nworkers; i++)
		pthread_create(&g_workers[i].tid, NULL, worker_main, &g_workers[i]);

	/* Baseline: nobody frozen, the victim running every kind, 0.5 s. */
	uint64_t b0 = total_bursts(), t0 = now_ns();
	usleep(500000);
	out->base_rate = (double)(total_bursts() - b0) / (double)(now_ns() - t0);

	uint64_t rng = 0xf2eeull, frozen_ns = 0, frozen_bursts = 0;
	bool dropped[N_KINDS] = {false};
	int next = 0, addremove = 0;
	for (unsigned f = 0; f < freezes; f++) {
		int t, tried = 0;
		do
			t = tg[next++ % ntg];
		while (dropped[t] && ++tried < ntg);
		if (dropped[t])
			break;   /* every kind has blocked */
		atomic_store(&g_want, t);
		while (atomic_load(&g_doing) != t)
			sched_yield();
		uint64_t spans0 = 0;
		if (!large) {
			/* Caches and depot empty: the workers' growth needs spans. */
			CHECK_OK(xmem_heap_trim(g_heap));
			spans0 = span_count(&out->span_bytes);
			atomic_fetch_add(&g_epoch, 1);
		}
		/* Aim at a kind of call: after a random pause, wait (up to 1 s) until
		 * the victim is inside it, then signal.  Every other add/remove freeze
		 * aims at the removal, which is far shorter than the add (a chunk
		 * nothing was carved from leaves without a grace period), so a freeze
		 * at a random time would seldom find the victim there. */
		enum kind aim = (enum kind)t;
		if (t == K_ADD && (addremove++ & 1))
			aim = K_REMOVE;
		usleep((useconds_t)xt_range_r(&rng, 0, 1000));
		for (uint64_t t_aim = now_ns();
		     aim != K_NONE && atomic_load(&g_in_op) != (int)aim && now_ns() - t_aim < 1000000000u;)
			;
		pthread_kill(vt, SIGUSR1);
		while (!atomic_load(&g_frozen))
			sched_yield();
		int kind = atomic_load(&g_frozen_kind);
		out->landed[kind]++;
		out->freezes++;

		uint64_t start[MAX_WORKERS], done[MAX_WORKERS], fail0[MAX_WORKERS], ts = now_ns();
		uint64_t fb0 = total_bursts();
		for (int i = 0; i < g_nworkers; i++) {
			start[i] = atomic_load(&g_workers[i].bursts);
			fail0[i] = atomic_load(&g_workers[i].failures);
		}
		bool missed = false;
		for (int i = 0; i < g_nworkers; i++) {
			struct worker *w = &g_workers[i];
			while ((done[i] = atomic_load(&w->bursts) - start[i]) < need) {
				if (now_ns() - ts > deadline_ns) {
					missed = true;
					break;
				}
				sched_yield();
			}
			uint64_t fails = atomic_load(&w->failures) - fail0[i];
			if (done[i] < need || fails)
				fprintf(stderr, "freeze %u (victim in %s): worker %d did %llu of %u bursts "
					"in %llu ms; %llu allocations failed (last errno %d)\n", f,
					kind_name[kind], i, (unsigned long long)done[i], need,
					(unsigned long long)((now_ns() - ts) / 1000000),
					(unsigned long long)fails,
					fails ? atomic_load(&w->last_errno) : 0);
			out->failed[kind] += fails;
			uint64_t took = now_ns() - ts;
			out->slowest_ns = took > out->slowest_ns ? took : out->slowest_ns;
		}
		for (int i = 0; i < g_nworkers; i++) {
			done[i] = atomic_load(&g_workers[i].bursts) - start[i];
			out->least = done[i] < out->least ? done[i] : out->least;
		}
		frozen_ns += now_ns() - ts;
		frozen_bursts += total_bursts() - fb0;
		atomic_store(&g_thaw, 1);
		while (atomic_load(&g_frozen))
			sched_yield();
		if (!large && span_count(&out->span_bytes) > spans0)
			out->carved++;
		if (missed) {
			out->missed++;
			out->blocked[kind]++;
			dropped[t] = true;
			if (stop_at_miss)
				break;
		}
	}
	atomic_store(&g_stop, 1);
	pthread_join(vt, NULL);
	for (int i = 0; i < g_nworkers; i++)
		pthread_join(g_workers[i].tid, NULL);
	/* What was handed over after its receiver left. */
	for (int i = 0; i < g_nworkers; i++)
		ring_drain(&g_workers[i], RING);
	for (int i = 0; i < g_nworkers; i++) {
		struct worker *w = &g_workers[i];
		out->failures += atomic_load(&w->failures);
		out->handed += atomic_load(&w->handed);
		out->corrupt += atomic_load(&w->corrupt);
	}
	out->frozen_rate = frozen_ns ? (double)frozen_bursts / (double)frozen_ns : 0;
	CHECK_EQ(xmem_checked(), g_base_checked);
	CHECK_EQ(atomic_load(&g_freezes_seen), (uint64_t)out->freezes);

	struct xmem_heap_stats st;
	if (CHECK_OK(xmem_heap_stats(g_heap, &st)))
		CHECK_EQ(st.alloc_count, 0);
	for (int c = 0; c < N_VCHUNKS; c++) {
		if (g_vadded[c])
			CHECK_OK(xmem_heap_remove_memory(g_heap, g_vchunk[c], VCHUNK));
		xt_unmap(g_vchunk[c], VCHUNK);
	}
	CHECK_OK(xmem_heap_remove_memory(g_heap, mem, HEAP_BYTES));
	CHECK_OK(xmem_heap_destroy(g_heap));
	free(tab);
	free(g_vtable);
	xt_unmap(mem, HEAP_BYTES);
}

static void report(const char *what, const struct outcome *o, unsigned need,
		   uint64_t deadline_ns)
{
	unsigned inside = o->freezes - o->landed[K_NONE];
	printf("%s: %d workers, %u freezes (%u inside a call), %u held a worker up; "
	       "needed %u bursts per worker per freeze within %llu ms; checked mode %s\n",
	       what, g_nworkers, o->freezes, inside, o->missed, need,
	       (unsigned long long)(deadline_ns / 1000000), g_base_checked ? "on" : "off");
	for (int k = 0; k < N_KINDS; k++)
		if (o->landed[k] || k != K_NONE)
			printf("  frozen %-40s %4u times, held a worker up %u, failed allocations "
			       "%llu\n", kind_name[k], o->landed[k], o->blocked[k],
			       (unsigned long long)o->failed[k]);
	int err = 0;
	for (int i = 0; i < g_nworkers; i++)
		err = err ? err : atomic_load(&g_workers[i].last_errno);
	printf("  worker allocations that failed, frozen or not: %llu (errno %d)\n",
	       (unsigned long long)o->failures, err);
	printf("  least progress of a worker during a freeze: %llu bursts; slowest to %u: "
	       "%.1f ms\n", (unsigned long long)(o->least == UINT64_MAX ? 0 : o->least), need,
	       (double)o->slowest_ns / 1e6);
	printf("  worker throughput while frozen %.3f Mbursts/s, none frozen %.3f (ratio %.2f)\n",
	       o->frozen_rate * 1e3, o->base_rate * 1e3,
	       o->base_rate > 0 ? o->frozen_rate / o->base_rate : 0);
	printf("  freezes after which the heap held more spans than at the trim before: %u "
	       "(at most %.1f MiB of %zu in spans); objects freed by another worker: %llu; "
	       "corrupted tags: %llu\n", o->carved, (double)o->span_bytes / MiB,
	       HEAP_BYTES / MiB, (unsigned long long)o->handed, (unsigned long long)o->corrupt);
	fflush(stdout);
}

static void setup_env(void)
{
	g_nworkers = (int)env_uint("XMEM_STALL_WORKERS", 2);
	if (g_nworkers < 1 || g_nworkers > MAX_WORKERS)
		XT_FATAL("XMEM_STALL_WORKERS must be 1..%d", MAX_WORKERS);
	g_base_checked = xmem_checked();
	g_devnull = fopen("/dev/null", "w");
	if (!g_devnull)
		XT_FATAL("fopen /dev/null");
	/* XMEM_STALL_KINDS=trim,stats,...: freeze inside these only. */
	const char *only = getenv("XMEM_STALL_KINDS");
	for (int k = 0; k < N_KINDS; k++) {
		bool all = !only || !*only, listed = false;
		if (!target_key[k])
			continue;
		size_t len = strlen(target_key[k]);
		for (const char *s = only; !all && (s = strstr(s, target_key[k])); s += len)
			listed |= (s == only || s[-1] == ',') && (s[len] == 0 || s[len] == ',');
		if (listed || (all && k != K_NONE))
			targets[n_targets++] = (enum kind)k;
	}
	if (!n_targets)
		XT_FATAL("XMEM_STALL_KINDS=%s names no kind (idle trim stats dump addremove "
			 "checked large bulk)", only);
}

/* The claim: no freeze anywhere holds up the workers' small allocations. */
static void small_paths_progress(void)
{
	unsigned freezes = env_uint("XMEM_STALL_FREEZES", 200);
	unsigned need = env_uint("XMEM_STALL_OPS", 200);
	uint64_t deadline = (uint64_t)env_uint("XMEM_STALL_DEADLINE_MS", 2000) * 1000000;
	struct outcome o;
	run(targets, n_targets, freezes, deadline, need, false, false, &o);
	report("stall", &o, need, deadline);
	CHECK_EQ(o.missed, 0);
	CHECK_EQ(o.freezes, freezes);
	CHECK_EQ(o.failures, 0);
	CHECK_EQ(o.corrupt, 0);
	/* The freezes really landed inside every kind of call, mostly inside
	 * one, and the workers really carved spans and freed across threads. */
	bool idle = false;
	for (int i = 0; i < n_targets && o.freezes == freezes && freezes >= 100; i++) {
		enum kind k = targets[i];
		idle |= k == K_NONE;
		if (k != K_NONE && !CHECK_GT(o.landed[k], 0))
			fprintf(stderr, "  no freeze landed inside %s\n", kind_name[k]);
		if (k == K_ADD && !CHECK_GT(o.landed[K_REMOVE], 0))
			fprintf(stderr, "  no freeze landed inside %s\n", kind_name[K_REMOVE]);
	}
	if (!idle)
		CHECK_GE((o.freezes - o.landed[K_NONE]) * 3, o.freezes);
	CHECK_GT(o.carved, 0);
	if (g_nworkers > 1)
		CHECK_GT(o.handed, 0);
}

/* The control: large allocations on both sides must be caught blocking. */
static void control_large_is_caught(void)
{
	static const enum kind large_only[] = {K_LARGE};
	const unsigned need = 50;
	const uint64_t deadline = 200000000ull;
	struct outcome o;
	run(large_only, 1, 100, deadline, need, true, true, &o);
	report("stall control (large on both sides)", &o, need, deadline);
	if (!CHECK_GT(o.missed, 0))
		fprintf(stderr, "  the control was not caught: the test cannot see blocking\n");
	CHECK_EQ(o.corrupt, 0);
}

int main(void)
{
	setup_env();
	xt_run("small_paths_progress_while_one_thread_is_frozen", small_paths_progress);
	xt_run("control_frozen_large_alloc_blocks_large_allocs", control_large_is_caught);
	fclose(g_devnull);
	return xt_done();
}
