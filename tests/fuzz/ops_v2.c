/* ops_v2.c - the fuzz target's ops for the second release's allocator
 * contract (XMEM_FUZZ_V2=1, see fuzz.h):
 *
 *   bad_free     a pointer inside a heap that is not the start of an object
 *                slot, freed (alone or among live blocks) or given to
 *                usable_size, in every mode: the interior of a small block
 *                (16-aligned or not), the slack behind the last object of a
 *                class span, a unit boundary inside a large block.  It must
 *                be reported (EINVAL, counted once, logged once) and change
 *                nothing.
 *   double_free  a class block freed twice.  In checked mode the second free
 *                is reported at once.  Outside it, it may go unnoticed: the
 *                address joins S.dups, its heap's counts are no longer
 *                compared, and from then on the one overlap allowed is that
 *                address handed out while someone holds it (record_alloc
 *                keeps its holders out of the model); reports of duplicates
 *                may come later, from any drain; at the reset, after a trim,
 *                every chunk must come out (the duplicates were dropped).
 *   stats_trim   frees some blocks (so objects sit in caches), then stats
 *                must match the model exactly (stats need not drain), trim,
 *                stats again, and with a & 2 a chunk of the heap without
 *                live blocks must come out (remove_rec's checks).
 *
 * Finding span slack through the public API: the stats give a class's span
 * count and bytes; with one span of L bytes and object size s, it holds
 * n = L / s objects and L - n * s bytes of slack.  Its base is 4 KiB
 * aligned, on the lattice of the class's live blocks, inside one chunk of
 * the heap and one IOVA run, covering all those blocks and no other live
 * block.  When exactly one base fits, the slack is known.  (This trusts
 * the stats' per-class spans and span_bytes: a core that left some spans
 * out of them would make the op skip, or aim wrong.) */
#include "tests/fuzz/fuzz.h"

static bool same_class(const struct live *l, int slot, size_t s)
{
	return l->slot == slot && !l->alias && !is_large(l) && l->usable == s;
}

/* Could [b, b + len) be the span of (slot, class size s)?  It would hold
 * all the class's live blocks on its lattice and no other live block, lie
 * in one chunk of the heap and in one IOVA run of it. */
static bool span_fits(int slot, uintptr_t b, size_t len, size_t s)
{
	int ri = rec_at((char *)b);
	if (ri < 0 || S.recs[ri].slot != slot ||
	    b + len > (uintptr_t)S.recs[ri].va + S.recs[ri].len)
		return false;
	const struct rec *r = &S.recs[ri];
	if (r->iova) {
		size_t p0 = (b - (uintptr_t)r->va) / r->ps;
		size_t p1 = (b + len - 1 - (uintptr_t)r->va) / r->ps;
		for (size_t k = p0 + 1; k <= p1; k++) {
			uint64_t x = r->iova[k - 1], y = r->iova[k];
			if (x == XMEM_BAD_IOVA ? y != XMEM_BAD_IOVA
					       : y == XMEM_BAD_IOVA || y != x + r->ps)
				return false;
		}
	}
	for (int k = 0; k < S.n_live; k++) {
		const struct live *l = &S.live[k];
		uintptr_t p = (uintptr_t)l->p;
		bool in = p < b + len && b < p + l->usable;
		if (same_class(l, slot, s) ? !in || (p - b) % s : in)
			return false;
	}
	return true;
}

/* The slack of class c's one span in heap slot (object size s, `have`
 * live blocks of it), or NULL when it cannot be pinned down. */
static void *slack_of(struct xmem_heap *h, int slot, int c, size_t s, int have, uint8_t d,
		      bool fill)
{
	if (!have) {
		have = 1 + d % 24;
		void *objs[24];
		unsigned n = (unsigned)have;
		if (S.n_live + (int)n > MAX_LIVE)
			return NULL;
		errno = 0;
		if (xmem_alloc_bulk(h, s, objs, n)) {
			if (errno != ENOMEM)
				die("alloc_bulk(%zu x %u): errno %d", s, n, errno);
			return NULL;
		}
		for (unsigned k = 0; k < n; k++)
			record_alloc(h, slot, objs[k], s, 0);
	}
	struct xmem_heap_stats st;
	if (xmem_heap_stats(h, &st))
		die("stats failed: %s", strerror(errno));
	size_t len = st.classes[c].span_bytes, n = len / s;
	if (G.trace)
		fprintf(stderr, "  slack: class %zu B: %" PRIu64 " spans, %zu B\n", s,
			st.classes[c].spans, len);
	if (st.classes[c].spans != 1 || len % s == 0 || len % PAGE4K || !n)
		return NULL;
	unsigned more = (unsigned)(n - (size_t)have);
	if (fill && have < (int)n && S.n_live + (int)more <= MAX_LIVE) {
		void *objs[MAX_LIVE];
		if (xmem_alloc_bulk(h, s, objs, more) == 0)
			for (unsigned k = 0; k < more; k++)
				record_alloc(h, slot, objs[k], s, 0);
		if (xmem_heap_stats(h, &st))
			die("stats failed: %s", strerror(errno));
		if (st.classes[c].spans != 1 || st.classes[c].span_bytes != len)
			return NULL;
	}
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int k = 0; k < S.n_live; k++) {
		if (!same_class(&S.live[k], slot, s))
			continue;
		uintptr_t p = (uintptr_t)S.live[k].p;
		lo = p < lo ? p : lo;
		hi = p > hi ? p : hi;
	}
	if (!hi || hi - lo >= n * s)
		return NULL;
	uintptr_t found = 0, bmin = hi + s - n * s;
	int nfound = 0;
	for (uintptr_t base = lo & ~(uintptr_t)(PAGE4K - 1); base >= bmin && base <= lo;
	     base -= PAGE4K) {
		if ((lo - base) % s == 0 && span_fits(slot, base, len, s)) {
			found = base;
			nfound++;
		}
	}
	if (G.trace)
		fprintf(stderr, "  slack: class %zu B, one span of %zu B (%zu objects), "
			"%d bases fit\n", s, len, n, nfound);
	if (nfound != 1)
		return NULL;
	size_t slack = len - n * s;
	return (char *)found + n * s + 16 * (d % (slack / 16));
}

static void *slack_pointer(uint8_t b, uint8_t d)
{
	int slot = b & 1;
	struct xmem_heap *h = S.heap[slot];
	if (!h || S.tainted[slot])
		return NULL;
	int cls[XMEM_NUM_CLASSES], nc = 0;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		if (4096 % xmem_class_size(c))
			cls[nc++] = c;
	int c = cls[(b >> 1) % nc];
	size_t s = xmem_class_size(c);
	int have = 0;
	for (int k = 0; k < S.n_live; k++)
		have += same_class(&S.live[k], slot, s);
	/* d & 0x80: allocate in checked mode, which first drains the caches
	 * and then takes objects from the span bitmaps (no cache refill
	 * carves more spans than the objects need), and fill the span, which
	 * pins its base down. */
	bool fill = d & 0x80;
	int was = fill ? xmem_set_checked(1) : 0;
	void *p = slack_of(h, slot, c, s, have, d, fill);
	if (fill)
		xmem_set_checked(was);
	return p;
}

static void *small_interior(uint8_t v, uint8_t w)
{
	for (int i = 0; i < S.n_live; i++) {
		struct live *l = &S.live[(i + v) % S.n_live];
		if (is_large(l) || l->alias || l->usable < 32)
			continue;
		size_t off = w % 4 ? 1 + (size_t)w * 13 % (l->usable - 1)
				   : 16 * (1 + w / 4 % (l->usable / 16 - 1));
		return (char *)l->p + off;
	}
	return NULL;
}

static void *large_middle(uint8_t v)
{
	for (int i = 0; i < S.n_live; i++) {
		struct live *l = &S.live[(i + v) % S.n_live];
		if (!is_large(l) || l->alias || l->usable < 2 * PAGE4K)
			continue;
		return (char *)l->p + PAGE4K * (1 + v % (l->usable / PAGE4K - 1));
	}
	return NULL;
}

void op_bad_free(void)
{
	uint8_t a = byte(), b = byte(), c = byte(), d = byte();
	void *p;
	const char *what;
	switch (a % 4) {
	case 0:
	case 1:
		what = "interior of a small block";
		p = small_interior(b, d);
		break;
	case 2:
		what = "span slack";
		p = slack_pointer(b, d);
		break;
	default:
		what = "unit boundary inside a large block";
		p = large_middle(b);
		break;
	}
	if (G.trace)
		fprintf(stderr, "  bad_free: %s: %p\n", what, p);
	if (p)
		bad_pointer(p, c, d, what);
}

void op_double_free(void)
{
	uint8_t a = byte(), b = byte();
	int i = -1;
	for (int k = 0; k < S.n_live && i < 0; k++)
		if (!is_large(&S.live[(a + k) % S.n_live]))
			i = (a + k) % S.n_live;
	if (i < 0)
		return;
	if (!S.checked && S.n_dups == N_DUPS && !is_dup(S.live[i].p))
		return;
	struct live l = take_live(i);
	struct reports r = reports_now();
	xmem_free(l.p);
	expect_reports(r, 0, "the first free of a double free");
	if (S.checked) {
		r = reports_now();
		errno = 0;
		xmem_free(l.p);
		if (errno != EINVAL)
			die("double free of %p in checked mode: errno %d", l.p, errno);
		expect_reports(r, 1, "a double free in checked mode");
		S.invalid++;
		xmodel_note_invalid_free(S.m, 1);
		return;
	}
	/* Outside checked mode: the address may be handed out twice now. */
	if (!is_dup(l.p))
		S.dups[S.n_dups++] = l.p;
	S.dup_frees++;
	xmodel_note_possible_invalid_free(S.m, 1);
	S.tainted[l.slot] = true;
	MODEL(xmodel_heap_inexact(S.m, S.heap[l.slot]));
	r = reports_now();
	errno = 0;
	xmem_free(l.p);
	int e = errno;
	uint64_t got = xmem_invalid_free_count() - r.count;
	if ((got && e != EINVAL) || fz_log_lines - r.lines != got || got > S.dup_frees)
		die("double free of %p outside checked mode: errno %d, %" PRIu64
		    " reported, %lu logged", l.p, e, got, fz_log_lines - r.lines);
	/* Take the same size twice: the block may come back twice. */
	for (int k = 0; k < 2 && (b & 1) && S.n_live < MAX_LIVE; k++) {
		errno = 0;
		void *p = xmem_alloc(S.heap[l.slot], l.size, 0);
		if (!p && errno != ENOMEM)
			die("alloc after a double free: errno %d", errno);
		if (p)
			record_alloc(S.heap[l.slot], l.slot, p, l.size, 0);
	}
}

void op_stats_trim(void)
{
	uint8_t a = byte(), b = byte();
	int slot = a & 1;
	struct xmem_heap *h = S.heap[slot];
	if (!h)
		return;
	/* Some of its blocks go back first, so that objects sit in caches. */
	for (unsigned j = 0, n = b % 8; j < n; j++)
		for (int k = 0; k < S.n_live; k++)
			if (S.live[(k + b) % S.n_live].slot == slot) {
				free_live((k + b) % S.n_live, j & 1);
				break;
			}
	struct xmem_heap_stats st;
	if (xmem_heap_stats(h, &st))
		die("stats failed: %s", strerror(errno));
	if (!S.tainted[slot])
		MODEL(xmodel_compare_stats(S.m, h, &st, merr));
	if (xmem_heap_trim(h))
		die("trim failed: %s", strerror(errno));
	if (xmem_heap_stats(h, &st))
		die("stats failed: %s", strerror(errno));
	if (S.tainted[slot])
		return;
	MODEL(xmodel_compare_stats(S.m, h, &st, merr));
	/* After the trim, a chunk of it without live blocks comes out. */
	if (a & 2)
		for (int i = 0; i < S.n_recs; i++)
			if (S.recs[i].slot == slot && xmodel_chunk_live(S.m, S.recs[i].va) == 0) {
				remove_rec(i, b);
				break;
			}
}
