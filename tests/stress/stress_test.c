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
 * The carving and drain phases (stress_churn.c): every worker also keeps a
 * window of live objects over all size classes that grows to a random
 * target and shrinks to nothing, again and again (spans carved and emptied
 * all the time, part of each shrink freed by another thread); and a control
 * thread trims, reads stats, adds and removes chunks, dumps and switches
 * checked mode on while the workers run, then waits at the barrier with
 * them.  XMEM_STRESS_V2=1 adds the second release's contract: interior
 * pointers of small blocks are reported in every mode.
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
 *               [--known-races[=1|2]] [--control=0|1] [--total-ops=N]
 *               [--procs=N [--kill-every=Q]]
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
 *   --control   the control thread (default: on with 2 threads or more, so
 *               that --threads=1 replays stay exact)
 *   --total-ops the soak: N ops of all workers over all seeds, no time
 *               bound (or XMEM_STRESS_OPS=N); a progress line a minute
 *   --procs     the multi-process mode (or XMEM_STRESS_PROCS=N): N member
 *               processes of one domain instead of threads, one seed,
 *               --seconds and --batch as above, --selftest-double plants a
 *               double hand-out, --kill-every=Q kills a member with
 *               SIGKILL every Q-th quiescent point, reaps it and starts
 *               another (stress_mp.c says what it checks)
 *
 * The soak of docs/reliability.md (10^8 operations):
 *   bazel build -c opt //tests/stress:stress_test
 *   XMEM_STRESS_OPS=100000000 bazel-bin/tests/stress/stress_test --seeds=4
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
#include "tests/stress/stress.h"

struct opts O = {
	.threads = 2,
	.seeds = 4,
	.seconds = 20,
	.ops = SANITIZED ? 200000 : 2000000,
	.batch = 256,
	.known_races = 3,   /* both races are fixed: exercise them */
	.control = -1,
};

struct run R;
atomic_ulong log_lines, invalid_made;
static pthread_mutex_t viol_mu = PTHREAD_MUTEX_INITIALIZER;

/* Counts the invalid-free reports ("xmem: fn(p): why; ignored"); failed
 * control-plane calls log a line of their own ("xmem: call: cause (ERRNO)"),
 * which is not one. */
static void quiet_log(const char *line)
{
	const char *end = line ? strstr(line, "; ignored") : NULL;
	if (end && end[sizeof "; ignored" - 1] == '\0')
		atomic_fetch_add(&log_lines, 1);
}

/* ---- violations ------------------------------------------------------- */

void note(struct thr *t, const char *what, const void *p, size_t a,
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

void violation(struct thr *t, const char *fmt, ...)
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
	else if (r < 450)
		op_probe(t);
	else if (r < 500)
		op_churn(t);
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
	if (O.total_ops && now_s() - R.last_progress >= 60) {
		uint64_t all = 0;
		for (unsigned k = 0; k < R.nthr; k++)
			all += R.thr[k].op;
		printf("stress: seed %" PRIu64 " progress: %" PRIu64 " ops of %" PRIu64
		       ", %" PRIu64 " quiescent checks\n", R.seed, all, O.ops * R.nthr,
		       R.batches);
		fflush(stdout);
		R.last_progress = now_s();
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
		atomic_fetch_add(&R.arrived, 1);   /* the control thread stops */
		pthread_barrier_wait(&R.bar);
		if (t->idx == 0) {
			quiescent(t);
			atomic_store(&R.arrived, 0);
		}
		pthread_barrier_wait(&R.bar);
		if (atomic_load(&R.stop))
			break;
	}
	/* Teardown: everything held or sent here goes back. */
	churn_teardown(t);
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
	R.ctl = ctl_enabled() && R.nthr < MAX_THREADS;
	R.last_progress = now_s();
	pthread_barrier_init(&R.bar, NULL, R.nthr + R.ctl);
	R.m = xmodel_new();
	memset(R.thr, 0, MAX_THREADS * sizeof(*R.thr));
	for (unsigned k = 0; k < R.nthr + R.ctl; k++) {
		struct thr *t = &R.thr[k];   /* R.thr[R.nthr]: the control thread */
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
	char budget[32] = "no time bound";
	if (!O.total_ops)
		snprintf(budget, sizeof(budget), "%.1f s", seconds);
	printf("stress: seed %" PRIu64 " (threads %u, %s, %s): replay with "
	       "--seed=%" PRIu64 " --seeds=1 --threads=1\n", seed, O.threads,
	       budget, lim, seed);
	fflush(stdout);
	double t0 = now_s();
	setup_seed(seed, idx, seconds);
	for (unsigned k = 1; k < R.nthr; k++)
		if (pthread_create(&R.thr[k].tid, NULL, worker, &R.thr[k]))
			violation(&R.thr[0], "pthread_create failed");
	if (R.ctl && pthread_create(&R.thr[R.nthr].tid, NULL, control_main, &R.thr[R.nthr]))
		violation(&R.thr[0], "pthread_create failed");
	worker(&R.thr[0]);
	for (unsigned k = 1; k < R.nthr + R.ctl; k++)
		pthread_join(R.thr[k].tid, NULL);
	teardown_seed();
	struct counters c = R.cc;
	uint64_t digest = 0;
	for (unsigned k = 0; k < R.nthr + R.ctl; k++) {
		if (k < R.nthr)   /* the control thread's interleaving varies */
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
	       " lcore flips, %" PRIu64 " trims; window: %" PRIu64 " objects, %"
	       PRIu64 " turns; control thread: %" PRIu64 " ops, %" PRIu64
	       " trims, %" PRIu64 " stats, %" PRIu64 " checked on; digest %016"
	       PRIx64 "\n",
	       seed, now_s() - t0, c.ops, R.batches, c.allocs, c.enomem, c.frees,
	       c.xfrees, c.handed, c.adds, c.removes, c.busy_pinned,
	       c.busy_unpinned, c.evictions, c.regs, c.unregs, c.probes,
	       c.invalid, c.heaps_created, c.heaps_destroyed, c.lcore_flips,
	       c.trims, c.churned, c.churn_turns, c.ctl_ops, c.ctl_trims,
	       c.ctl_stats, c.ctl_checked, digest);
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
	if (argc > 1 && !strncmp(argv[1], "--mp-member=", 12))
		return stress_mp_main(argc, argv);
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
	if ((env = getenv("XMEM_STRESS_PROCS")) && *env)
		O.procs = (unsigned)strtoul(env, NULL, 0);
	if ((env = getenv("XMEM_STRESS_OPS")) && *env)
		O.total_ops = strtoull(env, NULL, 0);
	/* On by default since the safety core landed; XMEM_STRESS_V2=0 off. */
	O.v2 = !((env = getenv("XMEM_STRESS_V2")) && !strcmp(env, "0"));
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
		else if (arg_u64(a, "--control", &v))
			O.control = (int)v;
		else if (arg_u64(a, "--total-ops", &v))
			O.total_ops = v;
		else if (arg_u64(a, "--procs", &v))
			O.procs = (unsigned)v;
		else if (arg_u64(a, "--kill-every", &v))
			O.kill_every = (unsigned)v;
		else {
			fprintf(stderr, "usage: %s [--threads=N] [--seed=S] [--seeds=K] "
				"[--seconds=T] [--ops=N] [--batch=N] [--longer] "
				"[--selftest-double] [--known-races[=1|2]] [--control=0|1] "
				"[--total-ops=N] [--procs=N [--kill-every=Q]]\n", argv[0]);
			return 2;
		}
	}
	if (O.threads < 1 || O.threads > MAX_THREADS || O.seeds < 1 ||
	    O.batch < 1 || O.ops < 1) {
		fprintf(stderr, "threads must be 1..%d; seeds, batch, ops >= 1\n",
			MAX_THREADS);
		return 2;
	}
	if (O.total_ops) {
		/* The soak: the op count decides, not the clock. */
		uint64_t per = (uint64_t)O.threads * O.seeds;
		O.ops = (O.total_ops + per - 1) / per;
		O.seconds = 1e12;
		printf("stress: soak of %" PRIu64 " ops: %" PRIu64 " per thread and seed, "
		       "no time bound\n", O.total_ops, O.ops);
	}
	if (O.v2 && !O.procs)
		printf("stress: XMEM_STRESS_V2=1: interior pointers of small blocks are "
		       "freed in every mode\n");
	if (!seed_set) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		O.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
			 ((uint64_t)getpid() << 16);
		O.seed %= 1000000007u;
	}
	if (O.procs)
		return stress_mp_main(argc, argv);
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
