/* fault_dma_test.c - IOMMU map and unmap failures at every point, through
 * the test backends (xmem_dma_testdev and the harness's ftdev):
 *  - a map call failing (ENOSPC, EEXIST, EFAULT) at its k-th call, for
 *    every k, on each of three subscribers, while a heap chunk or a
 *    registration is added (caller's table with 8 runs, assigned IOVAs):
 *    the region is left partly mapped on that subscriber and fully on the
 *    ones before it, and all of it must be rolled back;
 *  - the same with an unmap of that rollback coming back short, at every
 *    rollback unmap;
 *  - a subscriber attaching while regions exist (replay), its map failing
 *    at every call, and an unmap of the replay's undo failing;
 *  - removal and unregistration with an unmap short, failing, or finding
 *    its extent already gone, at every unmap call: EIO, and nothing changes
 *    (every mapping taken down is mapped again), then the retry works;
 *  - unsubscribe with an unmap failing at every call: EIO, the subscriber
 *    stays with exactly the extents still mapped recorded; the retry
 *    finishes.
 * After a failed add or subscribe: the documented errno (the device's),
 * heap stats, dump, DMA registry, device mappings, event ledger and the
 * metadata in use exactly as before, every successful map call matched by
 * an unmap, an assigned IOVA extent given back, and the identical call then
 * succeeds.  tests/iommu/fault_test.c and tests/iommu/unmap_fail_test.c have
 * one instance of most of these; this file walks every point and adds the
 * leak checks. */
#include "fault_util.h"

#define PG FT_PG

static struct xmem_dma_testdev *t1, *t2;
static struct ftdev f1;
static struct ft_ledger l1;

/* Log lines xmem wrote (unmap errors are reported through the log). */
static long log_lines;
static void count_log(const char *line)
{
	(void)line;
	__atomic_add_fetch(&log_lines, 1, __ATOMIC_RELAXED);
}

/* ---- call accounting of every device, around one attempt ----------------- */

struct calls {
	uint64_t map, map_failed, unmap, unmap_short;
};

static struct calls td_calls(struct xmem_dma_testdev *t)
{
	struct xmem_dma_testdev_stats st;
	struct calls c = {0, 0, 0, 0};
	if (xmem_dma_testdev_get_stats(t, &st) == 0)
		c = (struct calls){st.map_calls, st.map_failed, st.unmap_calls,
				   st.unmap_short};
	return c;
}

static struct calls fd_calls(struct ftdev *d)
{
	pthread_mutex_lock(&d->lock);
	struct calls c = {(uint64_t)d->map_calls, (uint64_t)d->fired,
			  (uint64_t)d->unmap_calls, 0};
	pthread_mutex_unlock(&d->lock);
	return c;
}

static struct calls c_t1, c_t2, c_f1;   /* at the last arm */

static void calls_snap(void)
{
	c_t1 = td_calls(t1);
	c_t2 = td_calls(t2);
	c_f1 = fd_calls(&f1);
}

/* After a failed add: on every device, each map call that succeeded was
 * undone by exactly one unmap call. */
static void calls_balanced(void)
{
	struct calls n[3] = {td_calls(t1), td_calls(t2), fd_calls(&f1)};
	struct calls o[3] = {c_t1, c_t2, c_f1};
	const char *who[3] = {"t1", "t2", "f1"};
	for (int i = 0; i < 3; i++) {
		uint64_t ok = (n[i].map - o[i].map) - (n[i].map_failed - o[i].map_failed);
		uint64_t un = n[i].unmap - o[i].unmap;
		if (ok != un)
			FT_FAIL("%s: %llu map calls succeeded, %llu unmapped in the "
				"rollback", who[i], (unsigned long long)ok,
				(unsigned long long)un);
	}
}

/* ---- injectors ---------------------------------------------------------- */

/* A test device fault at its n-th map (or unmap) call. */
struct td_inj {
	struct xmem_dma_testdev *t;
	enum xmem_testdev_fault kind;
	uint64_t fired0;
	/* Also armed, unswept: a second fault (used to fail a map after the
	 * swept short unmaps have something to roll back). */
	struct xmem_dma_testdev *also;
	enum xmem_testdev_fault also_kind;
	uint64_t also_skip;
};

static void td_arm(void *ctx, long n)
{
	struct td_inj *j = ctx;
	struct xmem_dma_testdev_stats st;
	xmem_dma_testdev_get_stats(j->t, &st);
	j->fired0 = st.faults_fired;
	calls_snap();
	if (j->also)
		xmem_dma_testdev_inject(j->also, j->also_kind, j->also_skip);
	xmem_dma_testdev_inject(j->t, j->kind, (uint64_t)(n - 1));
}

static long td_fired(void *ctx)
{
	struct td_inj *j = ctx;
	struct xmem_dma_testdev_stats st;
	xmem_dma_testdev_get_stats(j->t, &st);
	return (long)(st.faults_fired - j->fired0);
}

static void td_disarm(void *ctx)
{
	struct td_inj *j = ctx;
	xmem_dma_testdev_inject(j->t, XMEM_TESTDEV_FAULT_NONE, 0);
	if (j->also)
		xmem_dma_testdev_inject(j->also, XMEM_TESTDEV_FAULT_NONE, 0);
}

/* An ftdev map (or unmap) fault at its n-th call. */
struct fd_inj {
	struct ftdev *d;
	int err;
	bool unmap;
	long also_map_at;        /* unmap sweeps: also fail this map call */
};

static void fd_arm(void *ctx, long n)
{
	struct fd_inj *j = ctx;
	pthread_mutex_lock(&j->d->lock);
	j->d->fired = 0;
	if (j->unmap) {
		j->d->unmap_fail_at = n;
		j->d->fail_at = j->also_map_at;
		j->d->fail_errno = j->err;
	} else {
		j->d->fail_at = n;
		j->d->fail_errno = j->err;
	}
	pthread_mutex_unlock(&j->d->lock);
	calls_snap();
}

/* Faults of the swept kind that fired. */
static long fd_fired(void *ctx)
{
	struct fd_inj *j = ctx;
	pthread_mutex_lock(&j->d->lock);
	long f = j->d->fired;
	/* With a map fault armed too, that one fired as well. */
	if (j->unmap && j->also_map_at && j->d->fail_at == 0)
		f--;
	pthread_mutex_unlock(&j->d->lock);
	return f;
}

static void fd_disarm(void *ctx)
{
	struct fd_inj *j = ctx;
	pthread_mutex_lock(&j->d->lock);
	j->d->fail_at = 0;
	j->d->unmap_fail_at = 0;
	pthread_mutex_unlock(&j->d->lock);
}

/* ---- add with map faults ------------------------------------------------- */

static void dma_add_absent(void *p)
{
	ft_add_absent(p);
	calls_balanced();
}

static const char *fault_name(enum xmem_testdev_fault k)
{
	return k == XMEM_TESTDEV_FAULT_MAP_ENOSPC ? "ENOSPC"
	       : k == XMEM_TESTDEV_FAULT_MAP_EEXIST ? "EEXIST" : "EFAULT";
}

static int fault_errno(enum xmem_testdev_fault k)
{
	return k == XMEM_TESTDEV_FAULT_MAP_ENOSPC ? ENOSPC
	       : k == XMEM_TESTDEV_FAULT_MAP_EEXIST ? EEXIST : EFAULT;
}

/* Sweep every map call of adding a, on each subscriber, each error. */
static long sweep_add_maps(const char *what, struct ft_add *a, long want_points)
{
	long total = 0;
	enum xmem_testdev_fault kinds[3] = {XMEM_TESTDEV_FAULT_MAP_ENOSPC,
					    XMEM_TESTDEV_FAULT_MAP_EEXIST,
					    XMEM_TESTDEV_FAULT_MAP_EFAULT};
	for (int k = 0; k < 3; k++) {
		for (int dev = 0; dev < 3; dev++) {
			char name[128];
			struct td_inj tj = {.t = dev == 0 ? t1 : t2, .kind = kinds[k]};
			struct fd_inj fj = {.d = &f1, .err = fault_errno(kinds[k])};
			struct ft_injector inj = dev < 2
				? (struct ft_injector){"map-fault", td_arm, td_fired, td_disarm, &tj}
				: (struct ft_injector){"map-fault", fd_arm, fd_fired, fd_disarm, &fj};
			snprintf(name, sizeof(name), "%s, %s on %s", what,
				 fault_name(kinds[k]), dev == 0 ? "t1" : dev == 1 ? "t2" : "f1");
			struct ft_op op = {
				.name = name, .expect = fault_errno(kinds[k]),
				.run = ft_add_run, .after_ok = ft_add_present,
				.undo = ft_add_undo, .absent = dma_add_absent, .arg = a,
			};
			struct ft_result r = ft_sweep(&op, &inj);
			CHECK_EQ(r.points, want_points);
			CHECK_EQ(r.failed, r.points);
			total += r.points;
		}
	}
	return total;
}

static void case_add_map_faults(void)
{
	struct xmem_heap *h = xmem_heap_create("dma-add");
	if (!CHECK(h))
		return;
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 36);
	struct ft_add a = {.h = h, .va = ft_carve(64 * PG), .len = 64 * PG,
			   .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	sweep_add_maps("heap_add (8 runs)", &a, 8);
	struct ft_add r = {.h = NULL, .va = ft_carve(64 * PG), .len = 64 * PG,
			   .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	sweep_add_maps("register (8 runs)", &r, 8);
	struct ft_add s = {.h = h, .va = ft_carve(256 * PG), .len = 256 * PG,
			   .iova = NULL, .mode = XMEM_IOVA_MODE_ASSIGN};
	sweep_add_maps("heap_add (assigned, 1 run)", &s, 1);
	struct ft_add v = {.h = NULL, .va = ft_carve(16 * PG), .len = 16 * PG,
			   .iova = NULL, .mode = XMEM_IOVA_MODE_VA};
	sweep_add_maps("register (IOVA=VA, 1 run)", &v, 1);
	CHECK_OK(xmem_heap_destroy(h));
	free(t8);
}

/* ---- a short unmap while a failed add is rolled back --------------------- */

static struct ft_add *rb_add;

/* t1 kept exactly one page of the region, the last page of one of its runs
 * (xmem unmapped the rest, counted the error and forgot the mappings):
 * find it, and take it off the device so the next add can map there. */
static void take_stale_page(struct xmem_dma_testdev *t, const struct ft_add *a,
			    size_t run_pages)
{
	int found = 0;
	for (size_t r = 0; r < a->len / PG / run_pages; r++) {
		uint64_t last = a->iova[r * run_pages + run_pages - 1];
		found += xmem_dma_testdev_unmap_direct(t, last, PG) == 0;
	}
	if (found != 1)
		FT_FAIL("%d stale pages found on the device, want 1", found);
}

static uint64_t it_entries_td(struct xmem_dma_testdev *t)
{
	struct xmem_dma_testdev_stats st;
	return xmem_dma_testdev_get_stats(t, &st) == 0 ? st.entries : 0;
}

static uint64_t unmap_errors(struct xmem_dma_subscriber *s)
{
	struct xmem_dma_stats st;
	return xmem_dma_get_stats(s, &st) == 0 ? st.unmap_errors : 0;
}

static uint64_t rb_errors0;
static long rb_log0;

static void rb_arm(void *ctx, long n)
{
	rb_errors0 = unmap_errors(xmem_dma_testdev_subscriber(t1));
	rb_log0 = log_lines;
	td_arm(ctx, n);
}

static void rb_absent(void *p)
{
	ft_add_absent(p);
	uint64_t e = unmap_errors(xmem_dma_testdev_subscriber(t1));
	if (e != rb_errors0 + 1)
		FT_FAIL("unmap errors %llu -> %llu, want one more",
			(unsigned long long)rb_errors0, (unsigned long long)e);
	if (log_lines <= rb_log0)
		FT_FAIL("the short unmap was not logged");
	take_stale_page(t1, rb_add, 8);
}

static void case_rollback_short_unmap(void)
{
	struct xmem_heap *h = xmem_heap_create("dma-rb");
	if (!CHECK(h))
		return;
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 37);
	struct ft_add a = {.h = h, .va = ft_carve(64 * PG), .len = 64 * PG,
			   .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	rb_add = &a;
	/* t2's last map fails, after t1 mapped all 8 runs: t1's rollback makes
	 * 8 unmaps, each of which is failed in turn.  t1's stale page is
	 * checked (and removed) by rb_absent, so t1 leaves the snapshot. */
	ft_devs[0] = NULL;
	struct td_inj tj = {.t = t1, .kind = XMEM_TESTDEV_FAULT_SHORT_UNMAP,
			    .also = t2, .also_kind = XMEM_TESTDEV_FAULT_MAP_EFAULT,
			    .also_skip = 7};
	struct ft_injector inj = {"rollback-short-unmap", rb_arm, td_fired, td_disarm, &tj};
	struct ft_op op = {
		.name = "heap_add, t2 EFAULT at run 8, t1 unmap short",
		.expect = EFAULT, .run = ft_add_run, .after_ok = ft_add_present,
		.undo = ft_add_undo, .absent = rb_absent, .arg = &a,
		.base_fails = true,
	};
	struct ft_result r = ft_sweep(&op, &inj);
	CHECK_EQ(r.points, 8);
	CHECK_EQ(r.failed, 8);
	ft_devs[0] = t1;
	CHECK_OK(xmem_heap_destroy(h));
	free(t8);
}

/* ---- replay ------------------------------------------------------------- */

static struct ftdev f2;
static size_t replay_entries;   /* extents a full replay maps */
static long replay_stale;       /* extents the failed replay's undo kept */

static int replay_run(void *p)
{
	(void)p;
	return ftdev_subscribe(&f2, "dma-f2");
}

static void replay_ok(void *p)
{
	(void)p;
	if (ftdev_entries(&f2) != replay_entries)
		FT_FAIL("replay mapped %zu extents, want %zu", ftdev_entries(&f2),
			replay_entries);
}

static void replay_undo(void *p)
{
	(void)p;
	CHECK_OK(xmem_dma_unsubscribe(f2.sub));
	if (ftdev_entries(&f2) != 0)
		FT_FAIL("unsubscribe left %zu extents", ftdev_entries(&f2));
}

static void replay_absent(void *p)
{
	(void)p;
	size_t n = ftdev_entries(&f2);
	if ((long)n != replay_stale)
		FT_FAIL("a failed replay left %zu extents on the device, want %ld",
			n, replay_stale);
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup("dma-f2"), ENOENT);
	/* Every map that succeeded was undone (or is the stale one). */
	pthread_mutex_lock(&f2.lock);
	if (f2.map_calls - f2.map_fired != f2.unmap_calls - f2.unmap_fired + replay_stale)
		FT_FAIL("replay: %ld maps (%ld failed), %ld unmaps (%ld failed), "
			"%ld stale", f2.map_calls, f2.map_fired, f2.unmap_calls,
			f2.unmap_fired, replay_stale);
	f2.n = 0;   /* the device forgets the stale extent */
	pthread_mutex_unlock(&f2.lock);
}

static void replay_reset(void *ctx, long n)
{
	pthread_mutex_lock(&f2.lock);
	f2.map_calls = f2.unmap_calls = f2.map_fired = f2.unmap_fired = 0;
	pthread_mutex_unlock(&f2.lock);
	fd_arm(ctx, n);
}

/* Mappings the registry holds for one subscriber. */
static long sub_count_n;
static int sub_count_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	(void)sub, (void)m, (void)arg;
	sub_count_n++;
	return 0;
}

/* Unsubscribe with the n-th unmap failing (EIO, nothing unmapped), for
 * every n: -1/EIO, f2 still subscribed, its registry exactly what f2 still
 * maps; the retry finishes.  Returns how many points failed the call. */
static long sweep_unsubscribe(void)
{
	struct fd_inj uj = {.d = &f2, .unmap = true, .err = EIO};
	long points = 0;
	for (long n = 1; n <= FT_MAX_POINTS; n++) {
		snprintf(ft_ctx, sizeof(ft_ctx), "unsubscribe, unmap %ld fails", n);
		if (!CHECK_OK(replay_run(NULL)))
			break;
		long log0 = log_lines;
		fd_arm(&uj, n);
		errno = 0;
		int rc = xmem_dma_unsubscribe(f2.sub);
		int e = errno;
		long fired = fd_fired(&uj);
		fd_disarm(&uj);
		if (!fired) {
			CHECK_OK(rc);
			if (ftdev_entries(&f2) != 0)
				FT_FAIL("unsubscribe left %zu extents", ftdev_entries(&f2));
			break;
		}
		points++;
		if (rc != -1 || e != EIO)
			FT_FAIL("rc %d errno %d (%s), want -1 EIO", rc, e, strerror(e));
		if (xmem_dma_subscriber_lookup("dma-f2") != f2.sub)
			FT_FAIL("the subscriber is gone after a failed unsubscribe");
		struct xmem_dma_stats st;
		sub_count_n = 0;
		xmem_dma_mapping_walk(f2.sub, sub_count_fn, NULL);
		if (xmem_dma_get_stats(f2.sub, &st) || st.entries != ftdev_entries(&f2) ||
		    (size_t)sub_count_n != ftdev_entries(&f2) || st.owned != st.entries)
			FT_FAIL("registry %ld entries (stats %llu, owned %llu), device %zu",
				sub_count_n, (unsigned long long)st.entries,
				(unsigned long long)st.owned, ftdev_entries(&f2));
		/* What the call took down is mapped again: nothing changed. */
		if (ftdev_entries(&f2) != replay_entries)
			FT_FAIL("device %zu extents, want %zu", ftdev_entries(&f2),
				replay_entries);
		if (log_lines <= log0)
			FT_FAIL("the failed unmap was not logged");
		if (CHECK_OK(xmem_dma_unsubscribe(f2.sub)) && ftdev_entries(&f2) != 0)
			FT_FAIL("the retry left %zu extents", ftdev_entries(&f2));
	}
	printf("fault: %-40s %-10s points=%ld failed=%ld recovered=0\n",
	       "unsubscribe", "unmap-fault", points, points);
	return points;
}

static void case_replay(void)
{
	/* Regions to replay: heap chunks and registrations, several runs. */
	struct xmem_heap *h = xmem_heap_create("dma-replay");
	uint64_t *ta = ft_table(32, 8, (uint64_t)1 << 38);
	uint64_t *tb = ft_table(24, 4, (uint64_t)1 << 39);
	char *va = ft_carve(32 * PG), *vb = ft_carve(24 * PG), *vc = ft_carve(64 * PG);
	if (!CHECK(h) || !CHECK_OK(xmem_heap_add_memory(h, va, 32 * PG, ta, 32, PG)) ||
	    !CHECK_OK(xmem_register(vb, 24 * PG, tb, 24, PG)))
		return;
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	CHECK_OK(xmem_heap_add_memory(h, vc, 64 * PG, NULL, 0, PG));
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	/* What every region maps: f1 has exactly that. */
	replay_entries = ftdev_entries(&f1);
	pthread_mutex_init(&f2.lock, NULL);

	int errs[3] = {EFAULT, ENOSPC, EEXIST};
	for (int k = 0; k < 3; k++) {
		struct fd_inj fj = {.d = &f2, .err = errs[k]};
		struct ft_injector inj = {"map-fault", replay_reset, fd_fired, fd_disarm, &fj};
		char name[96];
		snprintf(name, sizeof(name), "subscribe (replay), map %s", strerror(errs[k]));
		struct ft_op op = {
			.name = name, .expect = errs[k], .run = replay_run,
			.after_ok = replay_ok, .undo = replay_undo,
			.absent = replay_absent,
		};
		replay_stale = 0;
		struct ft_result r = ft_sweep(&op, &inj);
		CHECK_EQ(r.points, (long)replay_entries);
		CHECK_EQ(r.failed, r.points);
	}

	/* The replay fails at its last map; each unmap of its undo fails in
	 * turn: that extent stays on the device (counted, logged), nothing is
	 * left in the registry. */
	struct fd_inj fj = {.d = &f2, .err = EFAULT, .unmap = true,
			    .also_map_at = (long)replay_entries};
	struct ft_injector inj = {"undo-unmap-fault", replay_reset, fd_fired, fd_disarm, &fj};
	struct ft_op op = {
		.name = "subscribe (replay) fails, undo unmap fails",
		.expect = EFAULT, .run = replay_run, .after_ok = replay_ok,
		.undo = replay_undo, .absent = replay_absent, .base_fails = true,
	};
	replay_stale = 1;
	long log0 = log_lines;
	struct ft_result r = ft_sweep(&op, &inj);
	CHECK_EQ(r.points, (long)replay_entries - 1);
	CHECK_EQ(r.failed, r.points);
	CHECK_GE(log_lines - log0, r.points);

	/* Unsubscribe with each unmap failing in turn. */
	ft_ftdevs[1] = &f2;
	CHECK_EQ(sweep_unsubscribe(), (long)replay_entries);
	ft_ftdevs[1] = NULL;

	CHECK_OK(xmem_heap_remove_memory(h, va, 32 * PG));
	CHECK_OK(xmem_heap_remove_memory(h, vc, 64 * PG));
	CHECK_OK(xmem_unregister(vb, 24 * PG));
	CHECK_OK(xmem_heap_destroy(h));
	free(ta);
	free(tb);
}

/* ---- removal with unmap faults ------------------------------------------ */

struct rm_arg {
	struct ft_add a;
	struct xmem_dma_subscriber *sub;   /* the device whose unmap fails */
	uint64_t errors0;
	long log0;
	bool ftdev;                        /* f1: the whole extent stays */
};

/* Mappings the registry holds in [va, va + len). */
static long reg_count;
static const struct rm_arg *reg_of;
static int reg_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	(void)sub, (void)arg;
	reg_count += (char *)m->va >= reg_of->a.va &&
		     (char *)m->va < reg_of->a.va + reg_of->a.len;
	return 0;
}

static int rm_run(void *p)
{
	struct rm_arg *r = p;
	r->errors0 = unmap_errors(r->sub);
	r->log0 = log_lines;
	return ft_remove_run(&r->a);
}

static void rm_ok(void *p)
{
	struct rm_arg *r = p;
	ft_removed_check(&r->a);
	reg_count = 0;
	reg_of = r;
	xmem_dma_mapping_walk(NULL, reg_fn, NULL);
	if (reg_count)
		FT_FAIL("the registry still holds %ld mappings of the removed region",
			reg_count);
	if (unmap_errors(r->sub) != r->errors0)
		FT_FAIL("unmap errors %llu -> %llu on a removal that succeeded",
			(unsigned long long)r->errors0,
			(unsigned long long)unmap_errors(r->sub));
}

/* After a failed removal (ft_sweep has checked that heaps, registry,
 * devices and metadata are as before): the error counted and logged. */
static void rm_absent(void *p)
{
	struct rm_arg *r = p;
	if (unmap_errors(r->sub) != r->errors0 + 1)
		FT_FAIL("unmap errors %llu -> %llu, want one more",
			(unsigned long long)r->errors0,
			(unsigned long long)unmap_errors(r->sub));
	if (log_lines <= r->log0)
		FT_FAIL("the failed unmap was not logged");
}

static void rm_undo(void *p)
{
	struct rm_arg *r = p;
	ft_remove_undo(&r->a);
}

static void sweep_remove_unmaps(const char *what, struct ft_add *a)
{
	char name[128];
	struct rm_arg r = {.a = *a, .sub = xmem_dma_testdev_subscriber(t1)};
	struct td_inj tj = {.t = t1, .kind = XMEM_TESTDEV_FAULT_SHORT_UNMAP};
	struct ft_injector inj = {"short-unmap", td_arm, td_fired, td_disarm, &tj};
	snprintf(name, sizeof(name), "%s, t1 unmap short", what);
	struct ft_op op = {
		.name = name, .expect = EIO, .run = rm_run, .after_ok = rm_ok,
		.undo = rm_undo, .absent = rm_absent, .arg = &r,
	};
	struct ft_result res = ft_sweep(&op, &inj);
	CHECK_EQ(res.points, 8);
	CHECK_EQ(res.failed, 8);

	struct rm_arg rf = {.a = *a, .sub = f1.sub, .ftdev = true};
	struct fd_inj fj = {.d = &f1, .unmap = true};
	struct ft_injector finj = {"unmap-fault", fd_arm, fd_fired, fd_disarm, &fj};
	snprintf(name, sizeof(name), "%s, f1 unmap fails", what);
	op.name = name;
	op.arg = &rf;
	res = ft_sweep(&op, &finj);
	CHECK_EQ(res.points, 8);
	CHECK_EQ(res.failed, 8);

	/* Each run's extent unmapped behind xmem's back before the removal:
	 * its unmap finds nothing (reported size 0): EIO, counted, the extent
	 * mapped again (the device as before the direct unmap), everything
	 * else as before; the retry then succeeds. */
	long points = 0;
	for (size_t k = 0; k < 8; k++) {
		snprintf(ft_ctx, sizeof(ft_ctx), "%s, run %zu unmapped behind xmem's back",
			 what, k);
		struct ft_state *s0 = ft_state_take();
		uint64_t e0 = unmap_errors(r.sub);
		uint64_t ents = it_entries_td(t1);
		if (!CHECK_OK(xmem_dma_testdev_unmap_direct(t1, a->iova[k * 8], 8 * PG)))
			continue;
		if (!CHECK_FAILS_INT(ft_remove_run(a), EIO))
			continue;
		points++;
		if (unmap_errors(r.sub) != e0 + 1)
			FT_FAIL("unmap errors %llu -> %llu", (unsigned long long)e0,
				(unsigned long long)unmap_errors(r.sub));
		if (it_entries_td(t1) != ents)
			FT_FAIL("t1: %llu entries, want %llu (the extent mapped again)",
				(unsigned long long)it_entries_td(t1),
				(unsigned long long)ents);
		struct ft_state *sf = ft_state_take();
		ft_state_equal(s0, sf, true, "after the failed removal");
		ft_state_free(sf);
		CHECK_OK(ft_remove_run(a));
		CHECK_OK(ft_add_run(a));
		struct ft_state *s1 = ft_state_take();
		ft_state_equal(s0, s1, true, "after remove and add again");
		ft_state_free(s0);
		ft_state_free(s1);
	}
	printf("fault: %-40s %-10s points=%ld failed=%ld recovered=0\n",
	       what, "gone-before-unmap", points, points);
	CHECK_EQ(points, 8);
}

static void case_remove_unmap_faults(void)
{
	struct xmem_heap *h = xmem_heap_create("dma-rm");
	if (!CHECK(h))
		return;
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 40);
	/* A first chunk, so the one removed is not alone in its heap. */
	char *va0 = ft_carve(16 * PG);
	CHECK_OK(xmem_heap_add_memory(h, va0, 16 * PG, NULL, 0, PG));
	struct ft_add a = {.h = h, .va = ft_carve(64 * PG), .len = 64 * PG,
			   .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	if (CHECK_OK(ft_add_run(&a))) {
		sweep_remove_unmaps("heap_remove (8 runs)", &a);
		CHECK_OK(ft_remove_run(&a));
	}
	struct ft_add r = {.h = NULL, .va = ft_carve(64 * PG), .len = 64 * PG,
			   .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	if (CHECK_OK(ft_add_run(&r))) {
		sweep_remove_unmaps("unregister (8 runs)", &r);
		CHECK_OK(ft_remove_run(&r));
	}
	CHECK_OK(xmem_heap_remove_memory(h, va0, 16 * PG));
	CHECK_OK(xmem_heap_destroy(h));
	free(t8);
}

int main(void)
{
	ft_arena_init();
	xmem_set_log(count_log);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);

	/* A heap and a registration that stay, each with runs, so every
	 * operation runs with other regions mapped. */
	struct xmem_heap *keep = xmem_heap_create("dma-keep");
	char *kva = ft_carve(16 * PG), *kreg = ft_carve(8 * PG);
	uint64_t *kt = ft_table(16, 4, (uint64_t)1 << 41);
	uint64_t *rt = ft_table(8, 2, (uint64_t)1 << 42);
	t1 = xmem_dma_testdev_create("dma-t1", 0);
	t2 = xmem_dma_testdev_create("dma-t2", 4096);
	pthread_mutex_init(&f1.lock, NULL);
	if (!keep || xmem_heap_add_memory(keep, kva, 16 * PG, kt, 16, PG) ||
	    xmem_register(kreg, 8 * PG, rt, 8, PG) || !t1 || !t2 ||
	    ftdev_subscribe(&f1, "dma-f1") || !ft_ledger_attach(&l1, "dma-l1"))
		XT_FATAL("setup: %s", strerror(errno));
	ft_devs[0] = t1;
	ft_devs[1] = t2;
	ft_ftdevs[0] = &f1;
	ft_ledgers[0] = &l1;

	xt_run("add: a map fails at every call", case_add_map_faults);
	xt_run("add: rollback unmap short at every call", case_rollback_short_unmap);
	xt_run("replay and unsubscribe", case_replay);
	xt_run("remove: an unmap fails at every call", case_remove_unmap_faults);

	CHECK_OK(xmem_unregister(kreg, 8 * PG));
	CHECK_OK(xmem_heap_remove_memory(keep, kva, 16 * PG));
	CHECK_OK(xmem_heap_destroy(keep));
	CHECK(it_entries_td(t1) == 0 && it_entries_td(t2) == 0 && f1.n == 0);
	CHECK(l1.n == 0 && l1.errors == 0);
	CHECK_OK(xmem_dma_testdev_destroy(t1));
	CHECK_OK(xmem_dma_testdev_destroy(t2));
	CHECK_OK(xmem_dma_unsubscribe(f1.sub));
	CHECK_OK(xmem_dma_unsubscribe(l1.sub));
	ft_devs[0] = ft_devs[1] = NULL;
	ft_ftdevs[0] = NULL;
	ft_ledgers[0] = NULL;
	xmem_set_log(NULL);
	free(kt);
	free(rt);
	ft_arena_fini();
	return xt_done();
}
