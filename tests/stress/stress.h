/* stress.h - what the files of the stress test share: options, the state
 * of one seed's run, the per-thread state, the failure path and every op.
 * Who owns what:
 *
 *   stress_test.c   options, seeds, workers, the quiescent phase, setup and
 *                   teardown, the violation report (the file's header says
 *                   what the test does and how to run it)
 *   stress_ops.c    blocks (hold, release) and the allocation, probe,
 *                   invalid-free, lcore, private-heap, bad-argument and trim
 *                   ops
 *   stress_mem.c    memory slots: layouts, add, remove, register,
 *                   unregister, eviction, the largest_free check
 *   stress_mp.c     the multi-process mode (--procs=N): members of one
 *                   domain against a shared shadow
 *   stress_churn.c  the carving and drain phases: a window of live objects
 *                   over many classes that grows and shrinks, the control
 *                   thread (trim, stats, add/remove, checked mode while the
 *                   workers run), and the V2 bad frees
 */
#ifndef XMEM_TESTS_STRESS_STRESS_H
#define XMEM_TESTS_STRESS_STRESS_H

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

struct opts {
	unsigned threads;
	uint64_t seed;
	unsigned seeds;
	double seconds;
	uint64_t ops;
	unsigned batch;
	bool selftest_double;
	unsigned known_races;   /* bit 0: dead handles; bit 1: unregister */
	int control;            /* the control thread: 1 on, 0 off, -1 auto
	                           (on with 2 threads or more) */
	uint64_t total_ops;     /* soak (XMEM_STRESS_OPS): ops of all threads
	                           and seeds, no time bound; 0: off */
	bool v2;                /* XMEM_STRESS_V2=1: the second release's
	                           contract (bad frees in every mode) */
	unsigned procs;         /* --procs / XMEM_STRESS_PROCS: the
	                           multi-process mode (stress_mp.c); 0: off */
	unsigned kill_every;    /* --kill-every=Q: there, SIGKILL a member
	                           every Q-th quiescent point; 0: never */
};

extern struct opts O;

/* ---- PRNG ------------------------------------------------------------- */

static inline uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static inline uint64_t range(uint64_t *st, uint64_t lo, uint64_t hi)
{
	return lo + rnd(st) % (hi - lo + 1);
}

static inline double now_s(void)
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
		heaps_created, heaps_destroyed, lcore_flips, trims, evictions,
		churned, churn_turns, ctl_ops, ctl_trims, ctl_stats, ctl_checked;
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
	/* stress_churn.c: the window, a ring of blocks (p NULL: evicted) */
	struct blk *win;
	size_t win_head, win_n, win_cap, win_target;
	bool win_shrink;
};

struct run {
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
	bool ctl;                      /* a control thread runs (R.thr[nthr]) */
	atomic_uint arrived;           /* workers done with the batch */
	double last_progress;          /* soak: time of the last progress line */
	struct counters cc;            /* the coordinator's own ops */
};

extern struct run R;
extern atomic_ulong log_lines, invalid_made;

/* ---- violations (stress_test.c) ------------------------------------------ */

void note(struct thr *t, const char *what, const void *p, size_t a,
	  size_t b, long rc, int err);
void violation(struct thr *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#define MODEL(t, call)                                                       \
	do {                                                                 \
		if ((call) != XMODEL_OK)                                     \
			violation((t), "%s", (t)->err);                      \
	} while (0)

static inline struct xmem_heap *H(int hi) { return R.heaps[hi].h; }

/* Frees in bursts of 32 (xmem_free_bulk). */
struct burst {
	void *objs[32];
	unsigned n;
};
static inline void burst_add(struct burst *f, void *p)
{
	f->objs[f->n++] = p;
	if (f->n == 32) {
		xmem_free_bulk(f->objs, f->n);
		f->n = 0;
	}
}
static inline void burst_flush(struct burst *f)
{
	xmem_free_bulk(f->objs, f->n);
	f->n = 0;
}

/* ---- stress_ops.c ---- */
void hold(struct thr *t, void *p, size_t size, int hi, unsigned from);
void release(struct thr *t, const struct blk *b);
struct blk take_at(struct thr *t, size_t i);
size_t rand_size(uint64_t *r);
size_t rand_align(uint64_t *r);
int pick_heap(struct thr *t);
void op_alloc(struct thr *t);
void op_alloc_bulk(struct thr *t);
void op_zalloc(struct thr *t);
void op_free(struct thr *t);
void op_free_bulk(struct thr *t);
void op_handoff(struct thr *t);
void op_drain_inbox(struct thr *t);
void op_probe(struct thr *t);
void op_invalid_free(struct thr *t);
void publish_lcore(struct thr *t);
void op_lcore(struct thr *t);
void dead_handle_checks(struct thr *t, struct xmem_heap *dead);
void op_private_heap(struct thr *t);
void op_bad_args(struct thr *t);
void op_trim(struct thr *t);

/* ---- stress_mem.c ---- */
enum claim { CL_FREE_RW, CL_FREE_NORW, CL_REMOVABLE, CL_REGISTERED, CL_MAPPED };
int slot_claim(uint64_t *rng, enum claim what, unsigned self, int *prev_state);
void slot_set(int i, int state, int heap);
void add_slot(struct thr *t, uint64_t *rng, int i, int hi);
bool remove_slot(struct thr *t, uint64_t *rng, int i, bool strict);
void unregister_slot(struct thr *t, uint64_t *rng, int i);
void op_add(struct thr *t);
void op_remove(struct thr *t);
void op_translation_only(struct thr *t);
void evict(struct thr *t, int i);
void check_largest_free(struct thr *t, int hi);

/* ---- stress_mp.c ---- */
/* The multi-process mode: the parent (O.procs members) or, with argv[1]
 * --mp-member=I, one member. */
int stress_mp_main(int argc, char **argv);

/* ---- stress_churn.c ---- */
void op_churn(struct thr *t);
void churn_teardown(struct thr *t);
/* Blocks of [va, va + len) in t's window; with evict, freed (t owns them
 * or every other thread waits at the barrier). */
size_t churn_pinned(struct thr *t, const char *va, size_t len);
void churn_evict(struct thr *t, struct thr *o, const char *va, size_t len);
void *control_main(void *arg);
bool ctl_enabled(void);

#endif /* XMEM_TESTS_STRESS_STRESS_H */
