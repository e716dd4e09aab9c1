/* stress_ops.c - the stress test's block handling and its worker ops (see
 * stress.h): alloc, alloc_bulk, zalloc, free, free_bulk, handoff and
 * inboxes (cross-thread frees), probes, invalid frees, lcore register /
 * unregister, private heaps, bad arguments and trim. */
#include "tests/stress/stress.h"

void hold(struct thr *t, void *p, size_t size, int hi, unsigned from)
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
void release(struct thr *t, const struct blk *b)
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

struct blk take_at(struct thr *t, size_t i)
{
	struct blk b = t->held[i];
	t->held[i] = t->held[--t->n_held];
	return b;
}

size_t rand_size(uint64_t *r)
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

size_t rand_align(uint64_t *r)
{
	unsigned k = rnd(r) % 100;
	if (k < 70)
		return 0;
	if (k < 97)
		return (size_t)1 << range(r, 0, 12);
	return (size_t)1 << range(r, 13, 16);
}

/* A heap to allocate from: a shared one or this thread's own. */
int pick_heap(struct thr *t)
{
	int own = N_SHARED + t->idx;
	unsigned n = N_SHARED + (R.heaps[own].h && !R.heaps[own].retiring);
	unsigned k = rnd(&t->rng) % n;
	return k < N_SHARED ? (int)k : own;
}

void op_alloc(struct thr *t)
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

void op_alloc_bulk(struct thr *t)
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

void op_zalloc(struct thr *t)
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

void op_free(struct thr *t)
{
	if (!t->n_held)
		return;
	struct blk b = take_at(t, rnd(&t->rng) % t->n_held);
	note(t, "free", b.p, b.size, b.heap, 0, 0);
	release(t, &b);
	xmem_free(b.p);
}

void op_free_bulk(struct thr *t)
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
void op_handoff(struct thr *t)
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
void op_drain_inbox(struct thr *t)
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

void op_probe(struct thr *t)
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
void op_invalid_free(struct thr *t)
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
	} else if (k == 0 && O.v2 && t->n_held && rnd(&t->rng) % 2) {
		/* V2: the interior of a small block, reported in every mode
		 * (16-aligned half the time: it looks like an object start) */
		const struct blk *b = &t->held[rnd(&t->rng) % t->n_held];
		if (b->size <= XMEM_MAX_CLASS_SIZE && b->size >= 32) {
			size_t off = rnd(&t->rng) % 2 ? 16 * range(&t->rng, 1, b->size / 16 - 1)
						      : range(&t->rng, 1, b->size - 1);
			p = (char *)b->p + off;
			k = 3;
			kind = "interior of a small block";
		}
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

void publish_lcore(struct thr *t)
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

void op_lcore(struct thr *t)
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
void dead_handle_checks(struct thr *t, struct xmem_heap *dead)
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
void op_private_heap(struct thr *t)
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
		struct burst f = {.n = 0};
		for (size_t j = 0; j < t->n_held;) {
			if (t->held[j].heap != hi) {
				j++;
				continue;
			}
			struct blk b = take_at(t, j);
			release(t, &b);
			burst_add(&f, b.p);
		}
		burst_flush(&f);
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
void op_bad_args(struct thr *t)
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

void op_trim(struct thr *t)
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
