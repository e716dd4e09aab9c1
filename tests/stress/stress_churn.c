/* stress_churn.c - the stress test's carving and drain phases (see
 * stress.h):
 *
 *   the window   each worker keeps a FIFO of live objects over every size
 *                class (and now and then a large block) on the PROT_NONE
 *                heaps 1 and 2.  It grows in bursts (alloc_bulk of one
 *                class) to a target of 64 to 2048 objects, or until ENOMEM,
 *                then shrinks to nothing, oldest first (a quarter of the
 *                bursts newest first), a quarter of the bursts handed to
 *                another thread's inbox so that they are freed there; then
 *                it grows again with another target.  Whole spans of many
 *                classes so go from full to empty, over and over, which
 *                drives carving, release and the depot.  Every object goes
 *                through the model like any other.
 *   the control  one more thread (on by default with 2 workers or more;
 *   thread       --control=0|1) that runs while the workers do: trim and
 *                stats of the shared heaps (which must succeed and be
 *                consistent; exact figures are the quiescent phase's job),
 *                add and remove of their chunks (removal non-strict: EBUSY
 *                or success, and the model checks that nothing live was in
 *                a removed chunk), heap dumps, and checked mode switched on
 *                for a few of its ops.  It stops at the barrier with the
 *                workers, so the quiescent phase stays quiescent.
 */
#include "tests/stress/stress.h"

/* ---- the window --------------------------------------------------------- */

static void win_push(struct thr *t, struct blk b)
{
	if (t->win_n == t->win_cap) {
		size_t cap = t->win_cap ? 2 * t->win_cap : 512;
		struct blk *w = malloc(cap * sizeof(*w));
		if (!w)
			violation(t, "test out of memory");
		for (size_t i = 0; i < t->win_n; i++)
			w[i] = t->win[(t->win_head + i) % t->win_cap];
		free(t->win);
		t->win = w;
		t->win_cap = cap;
		t->win_head = 0;
	}
	t->win[(t->win_head + t->win_n++) % t->win_cap] = b;
}

static struct blk win_pop(struct thr *t, bool newest)
{
	struct blk b;
	if (newest) {
		b = t->win[(t->win_head + --t->win_n) % t->win_cap];
	} else {
		b = t->win[t->win_head];
		t->win_head = (t->win_head + 1) % t->win_cap;
		t->win_n--;
	}
	return b;
}

static bool in_range(const void *p, const char *va, size_t len)
{
	return p && (uintptr_t)p - (uintptr_t)va < len;
}

size_t churn_pinned(struct thr *t, const char *va, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < t->win_n; i++)
		n += in_range(t->win[(t->win_head + i) % t->win_cap].p, va, len);
	return n;
}

void churn_evict(struct thr *t, struct thr *o, const char *va, size_t len)
{
	for (size_t i = 0; i < o->win_n; i++) {
		struct blk *b = &o->win[(o->win_head + i) % o->win_cap];
		if (in_range(b->p, va, len)) {
			release(t, b);
			xmem_free(b->p);
			b->p = NULL;
		}
	}
}

static void churn_grow(struct thr *t)
{
	int hi = (int)range(&t->rng, 1, 2);
	unsigned k = (unsigned)range(&t->rng, 1, 32);
	size_t size;
	if (rnd(&t->rng) % 16 == 0) {
		size = range(&t->rng, XMEM_MAX_CLASS_SIZE + 1, 4 * XMEM_MAX_CLASS_SIZE);
		k = (unsigned)range(&t->rng, 1, 4);
	} else {
		int c = (int)(rnd(&t->rng) % XMEM_NUM_CLASSES);
		size = range(&t->rng, c ? xmem_class_size(c - 1) + 1 : 1, xmem_class_size(c));
	}
	void *objs[32];
	errno = 0;
	int rc = xmem_alloc_bulk(H(hi), size, objs, k);
	int e = errno;
	note(t, "churn_alloc", rc ? NULL : objs[0], size, k, rc, e);
	if (rc) {
		if (rc != -1 || e != ENOMEM)
			violation(t, "alloc_bulk(\"%s\", %zu, %u) returned %d errno %d (%s), "
				  "not -1 ENOMEM", R.heaps[hi].name, size, k, rc, e, strerror(e));
		t->c.enomem++;
		t->win_shrink = true;   /* full: give back */
		return;
	}
	for (unsigned i = 0; i < k; i++) {
		MODEL(t, xmodel_alloc(R.m, H(hi), objs[i], size, 0, t->err));
		win_push(t, (struct blk){objs[i], size, (uint16_t)hi, 0, (uint8_t)t->idx});
	}
	t->c.allocs += k;
	t->c.churned += k;
	if (t->win_n >= t->win_target)
		t->win_shrink = true;
}

static void churn_shrink(struct thr *t)
{
	unsigned k = (unsigned)range(&t->rng, 1, 32), n = 0, moved = 0;
	bool newest = rnd(&t->rng) % 4 == 0;
	struct thr *to = NULL;
	if (R.nthr > 1 && rnd(&t->rng) % 4 == 0)
		to = &R.thr[(t->idx + range(&t->rng, 1, R.nthr - 1)) % R.nthr];
	void *objs[32];
	if (to)
		pthread_mutex_lock(&to->inbox_mu);
	while (n + moved < k && t->win_n) {
		struct blk b = win_pop(t, newest);
		if (!b.p)
			continue;           /* evicted by a quiescent phase */
		if (to && to->inbox_n < INBOX_CAP) {
			to->inbox[to->inbox_n++] = b;
			moved++;
			continue;
		}
		release(t, &b);
		objs[n++] = b.p;
	}
	if (to)
		pthread_mutex_unlock(&to->inbox_mu);
	note(t, "churn_free", n ? objs[0] : NULL, n, moved, 0, 0);
	xmem_free_bulk(objs, n);
	t->c.handed += moved;
	if (!t->win_n) {
		t->win_target = 0;          /* empty: grow again, to a new size */
		t->c.churn_turns++;
	}
}

void op_churn(struct thr *t)
{
	if (!t->win_target) {
		t->win_target = range(&t->rng, 64, 2048);
		t->win_shrink = false;
	}
	if (t->win_shrink)
		churn_shrink(t);
	else
		churn_grow(t);
}

/* At the end of a seed: everything in the window is freed here (the other
 * threads may have emptied their inboxes already). */
void churn_teardown(struct thr *t)
{
	struct burst f = {.n = 0};
	while (t->win_n) {
		struct blk b = win_pop(t, false);
		if (!b.p)
			continue;
		release(t, &b);
		burst_add(&f, b.p);
	}
	burst_flush(&f);
	free(t->win);
	t->win = NULL;
	t->win_cap = t->win_head = 0;
	t->win_target = 0;
}

/* ---- the control thread ------------------------------------------------- */

bool ctl_enabled(void)
{
	return O.control > 0 || (O.control < 0 && O.threads > 1);
}

/* Stats while the workers run: the call succeeds and what cannot race is
 * right (the counts are a snapshot, not exact: the quiescent phase checks
 * them). */
static void ctl_stats(struct thr *t, int hi)
{
	struct xmem_heap_stats st;
	errno = 0;
	int rc = xmem_heap_stats(H(hi), &st);
	note(t, "ctl_stats", NULL, hi, rc ? 0 : st.n_regions, rc, errno);
	if (rc)
		violation(t, "heap_stats(\"%s\") while workers run failed: errno %d",
			  R.heaps[hi].name, errno);
	if (strcmp(st.name, R.heaps[hi].name) || st.id != xmem_heap_id(H(hi)) ||
	    st.n_regions > N_SLOTS || st.total_bytes > (size_t)N_SLOTS * SLOT_SPAN ||
	    st.largest_free > st.total_bytes || st.largest_free % 4096)
		violation(t, "heap_stats(\"%s\") while workers run: name \"%.31s\" id %d, "
			  "%zu regions, %zu bytes, largest_free %zu", R.heaps[hi].name,
			  st.name, st.id, st.n_regions, st.total_bytes, st.largest_free);
	t->c.ctl_stats++;
}

static void ctl_op(struct thr *t, FILE *devnull)
{
	static bool checked_on;         /* this thread switched it on */
	unsigned r = rnd(&t->rng) % 100;
	int hi = (int)(rnd(&t->rng) % N_SHARED);
	if (checked_on && rnd(&t->rng) % 4 == 0) {
		xmem_set_checked(0);
		checked_on = false;
		note(t, "ctl_checked", NULL, 0, 0, 0, 0);
	}
	if (r < 35) {
		errno = 0;
		int rc = xmem_heap_trim(H(hi));
		note(t, "ctl_trim", NULL, hi, 0, rc, errno);
		if (rc)
			violation(t, "heap_trim(\"%s\") while workers run failed: errno %d",
				  R.heaps[hi].name, errno);
		t->c.ctl_trims++;
	} else if (r < 70) {
		ctl_stats(t, hi);
	} else if (r < 80) {
		int prev, i = slot_claim(&t->rng, hi == 0 ? CL_FREE_RW : CL_FREE_NORW, t->idx, &prev);
		if (i >= 0)
			add_slot(t, &t->rng, i, hi);
	} else if (r < 92) {
		int prev, i = slot_claim(&t->rng, CL_REMOVABLE, t->idx, &prev);
		if (i >= 0)
			remove_slot(t, &t->rng, i, false);
	} else if (r < 97) {
		if (devnull && xmem_heap_dump(devnull))
			violation(t, "heap_dump while workers run failed: errno %d", errno);
	} else if (r < 98) {
		if (!xmem_checked()) {
			xmem_set_checked(1);
			checked_on = true;
		}
		note(t, "ctl_checked", NULL, 1, 0, 0, 0);
		t->c.ctl_checked++;
	} else {
		usleep(200);
	}
	t->op++;
	t->c.ctl_ops++;
}

void *control_main(void *arg)
{
	struct thr *t = arg;
	FILE *devnull = fopen("/dev/null", "w");
	for (;;) {
		while (atomic_load(&R.arrived) < R.nthr) {
			ctl_op(t, devnull);
			/* Leave the 2 cores to the workers now and then. */
			if (t->op % 8 == 0)
				usleep(50);
		}
		pthread_barrier_wait(&R.bar);
		pthread_barrier_wait(&R.bar);
		if (atomic_load(&R.stop))
			break;
	}
	if (devnull)
		fclose(devnull);
	pthread_barrier_wait(&R.bar);   /* the workers' teardown */
	return NULL;
}
