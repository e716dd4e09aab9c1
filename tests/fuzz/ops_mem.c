/* ops_mem.c - the fuzz target's heap and memory ops (see fuzz.h): heap
 * create / destroy, add memory and register (with the IOVA tables), remove
 * and unregister (also while the DMA subscriber of ops_dma.c fails its
 * unmaps), and lookups; each checked against the model and the documented
 * errno. */
#include "tests/fuzz/fuzz.h"

void op_create(void)
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
	/* A new heap starts from nothing, whatever heap had its id before. */
	struct xmem_heap_stats st;
	if (xmem_heap_stats(h, &st))
		die("stats of new heap %s failed: %s", S.name[slot], strerror(errno));
	MODEL(xmodel_compare_stats(S.m, h, &st, merr));
}

void op_destroy(void)
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

void op_add(void)
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
		if (va_mode)
			xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
		MODEL(xmodel_add_end(S.m, va, rc, e, merr));
		if (rc != 0)
			die("%s failed: %s", what, strerror(e));
		struct rec *r = &S.recs[S.n_recs++];
		*r = (struct rec){va, len, target == 2 ? -1 : target, ps, NULL};
		rec_set_table(r, mt);
		if (va_mode)
			free(mt);
	}
#undef ADD_CALL
	free(t);
}

void op_remove(void)
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
	remove_rec(i, b);
}

/* Remove (unregister) rec i with every check: EBUSY exactly when one of
 * our blocks is live in it (single-threaded), EIO exactly when the DMA
 * subscriber fails an unmap it makes (then nothing changed, and with
 * b & 0x40 a retry once it no longer fails must succeed). */
void remove_rec(int i, uint8_t b)
{
	struct rec r = S.recs[i];
	struct xmem_heap *h = r.slot >= 0 ? S.heap[r.slot] : NULL;
	int aliases = 0;
	for (int k = 0; k < S.n_live; k++)
		aliases += S.live[k].alias && (char *)S.live[k].p >= r.va &&
			   (char *)S.live[k].p < r.va + r.len;
	bool eio = dma_remove_fails(i);
	if (eio)
		dma_snapshot();
	size_t live = 0;
	MODEL(xmodel_remove_begin(S.m, h, r.va, r.len, &live, merr));
	errno = 0;
	int rc = h ? xmem_heap_remove_memory(h, r.va, r.len) : xmem_unregister(r.va, r.len);
	int e = errno;
	MODEL(xmodel_remove_end(S.m, r.va, rc, e, merr));
	bool ok;
	if (live)          /* EBUSY, or EIO if the unmaps come first */
		ok = rc == -1 && (e == EBUSY || (eio && e == EIO));
	else if (eio)      /* a double-freed block may be live twice: EBUSY first */
		ok = rc == -1 && (e == EIO || (aliases && e == EBUSY));
	else if (aliases)  /* a double-freed block may be in a cache */
		ok = rc == 0 || (rc == -1 && e == EBUSY);
	else
		ok = rc == 0;
	if (!ok)
		die("%s [%p,+%#zx) with %zu live blocks%s%s: rc %d errno %d (%s)",
		    h ? "remove" : "unregister", r.va, r.len, live,
		    eio ? ", while the DMA subscriber fails its unmap" : "",
		    aliases ? ", double-freed blocks" : "", rc, e, strerror(e));
	if (rc == -1 && e == EIO) {
		dma_same_as_snapshot(h ? "a removal that failed with EIO"
				       : "an unregister that failed with EIO");
		MODEL(xmodel_probe(S.m, r.va, merr));
		MODEL(xmodel_probe(S.m, r.va + r.len - 1, merr));
		MODEL(xmodel_check(S.m, &S.rng, 8, merr));
		if (b & 0x40) {
			dma_disarm();
			remove_rec(i, 0);
		}
		return;
	}
	if (rc != 0)
		return;
	/* Holders of a double-freed block in it lose it with the memory, and
	 * its addresses are no longer double-freed: the removal must have
	 * dropped every duplicate (if one came back, the model would see an
	 * allocation in removed memory, or in another heap's). */
	for (int k = 0; k < S.n_live;)
		if (S.live[k].alias && (char *)S.live[k].p >= r.va &&
		    (char *)S.live[k].p < r.va + r.len)
			S.live[k] = S.live[--S.n_live];
		else
			k++;
	for (int k = 0; k < S.n_dups;)
		if ((char *)S.dups[k] >= r.va && (char *)S.dups[k] < r.va + r.len)
			S.dups[k] = S.dups[--S.n_dups];
		else
			k++;
	free(r.iova);
	S.recs[i] = S.recs[--S.n_recs];
}

void op_lookup(void)
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
