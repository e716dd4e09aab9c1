/* stress_mem.c - the stress test's memory (see stress.h): slots of the
 * reserved range, fresh layouts (page sizes, IOVA tables), add / remove /
 * register / unregister with their checks, and, for the quiescent phase,
 * eviction of a slot's blocks and the largest_free check. */
#include "tests/stress/stress.h"


/* Claim a random slot matching `what` (SL_BUSY); -1 when none. */
int slot_claim(uint64_t *rng, enum claim what, unsigned self,
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

void slot_set(int i, int state, int heap)
{
	pthread_mutex_lock(&R.slots_mu);
	R.slots[i].state = state;
	R.slots[i].heap = heap;
	pthread_mutex_unlock(&R.slots_mu);
}

/* A fresh layout for slot i: page size, length and IOVA table (into tab).
 * Returns the table or NULL. */
uint64_t *layout(uint64_t *rng, int i, uint64_t *tab)
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
void add_slot(struct thr *t, uint64_t *rng, int i, int hi)
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

void op_add(struct thr *t)
{
	int hi = pick_heap(t);
	int prev, i = slot_claim(&t->rng, hi == 0 ? CL_FREE_RW : CL_FREE_NORW,
				 t->idx, &prev);
	if (i >= 0)
		add_slot(t, &t->rng, i, hi);
}

/* Blocks of [va, va + len) that thread t holds, has in its inbox or in its
 * window (no other thread can free those while t is in an op). */
static size_t pinned_in(struct thr *t, const char *va, size_t len)
{
	size_t n = churn_pinned(t, va, len);
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
bool remove_slot(struct thr *t, uint64_t *rng, int i, bool strict)
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

void op_remove(struct thr *t)
{
	int prev, i = slot_claim(&t->rng, CL_REMOVABLE, t->idx, &prev);
	if (i >= 0)
		remove_slot(t, &t->rng, i, R.nthr == 1);
}

void unregister_slot(struct thr *t, uint64_t *rng, int i)
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

void op_translation_only(struct thr *t)
{
	int prev, i;
	if (rnd(&t->rng) % 2 &&
	    (i = slot_claim(&t->rng, CL_REGISTERED, t->idx, &prev)) >= 0)
		unregister_slot(t, &t->rng, i);
	else if ((i = slot_claim(&t->rng, CL_FREE_NORW, t->idx, &prev)) >= 0)
		add_slot(t, &t->rng, i, -1);
}

/* virt2iova / iova2virt of a held block, or of a claimed slot. */
void evict(struct thr *t, int i)
{
	const struct slot *s = &R.slots[i];
	struct burst f = {.n = 0};
	for (unsigned k = 0; k < R.nthr; k++) {
		struct thr *o = &R.thr[k];
		for (size_t j = 0; j < o->n_held;) {
			if ((uintptr_t)o->held[j].p - (uintptr_t)s->va < s->len) {
				struct blk b = take_at(o, j);
				release(t, &b);
				burst_add(&f, b.p);
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
		churn_evict(t, o, s->va, s->len);
	}
	burst_flush(&f);
	R.cc.evictions++;
}

void check_largest_free(struct thr *t, int hi)
{
	struct xmem_heap_stats st;
	/* Trim first: stats need not drain the caches, and an allocation
	 * that fails reclaims from them, so without it a larger block than
	 * stats said could fairly be found. */
	if (xmem_heap_trim(H(hi)))
		violation(t, "heap_trim(\"%s\") failed: errno %d", R.heaps[hi].name, errno);
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
