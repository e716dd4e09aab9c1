/* ops_alloc.c - the fuzz target's allocation ops (see fuzz.h): alloc,
 * zalloc, alloc_bulk, free, free_bulk, wild frees and usable_size of
 * pointers that are no block, translation probes, the model's full check,
 * checked mode and trim. */
#include "tests/fuzz/fuzz.h"

static bool align_fits(int slot, size_t align)
{
	for (int i = 0; i < S.n_recs; i++) {
		uintptr_t va = (uintptr_t)S.recs[i].va;
		uintptr_t up = (va + align - 1) & ~(uintptr_t)(align - 1);
		if (S.recs[i].slot == slot && up >= va && up < va + S.recs[i].len)
			return true;
	}
	return false;
}

static size_t pick_size(uint8_t sel, uint16_t v, bool *huge)
{
	*huge = false;
	switch (sel % 8) {
	case 0:
		return 0;
	case 1: case 2: case 3:
		return 1 + v % 512;
	case 4: case 5:
		return 1 + v % XMEM_MAX_CLASS_SIZE;
	case 6:
		return XMEM_MAX_CLASS_SIZE + 1 + (size_t)v * 47 % (3 * MiB);
	default:
		*huge = true;
		return v % 3 == 0 ? SIZE_MAX : v % 3 == 1 ? (size_t)1 << 63 : 64 * MiB;
	}
}

static size_t pick_align(uint8_t sel, uint8_t v, bool *bad, bool *huge)
{
	*bad = *huge = false;
	switch (sel % 8) {
	case 4:
		return (size_t)1 << (v % 13);
	case 5:
		return (size_t)1 << (12 + v % 10);
	case 6:
		*bad = true;
		return 3 + 2 * (size_t)(v % 100);
	case 7:
		*huge = true;
		return (size_t)1 << (30 + v % 34);
	default:
		return 0;
	}
}

void op_alloc(void)
{
	uint8_t a = byte(), b = byte(), c = byte(), d = byte();
	int slot = a & 1;
	int kind = (a >> 1) % 4;          /* 0, 1 alloc; 2 zalloc; 3 bulk */
	bool huge, bad_align, huge_align;
	size_t size = pick_size(b, (uint16_t)(c | d << 8), &huge);
	size_t align = kind == 3 ? 0 : pick_align(b >> 3, c, &bad_align, &huge_align);
	if (kind == 3)
		bad_align = huge_align = false;
	struct xmem_heap *h = S.heap[slot];
	if (!h)
		h = bad_heap(a >> 3);
	bool bad = !h || !S.heap[slot] || size == 0 || bad_align;
	/* Huge sizes fail: a heap holds at most 16 MiB.  A huge alignment
	 * fails unless one of the heap's chunks happens to contain an address
	 * so aligned. */
	bool nomem = !bad && (huge || (huge_align && !align_fits(slot, align)));
	char what[96];
	snprintf(what, sizeof what, "%s(heap %d, size %#zx, align %#zx)",
		 kind == 3 ? "alloc_bulk" : kind == 2 ? "zalloc" : "alloc", slot, size, align);
	if (kind == 3) {
		unsigned n = 1 + d % 40;
		if (S.n_live + (int)n > MAX_LIVE)
			return;
		void *objs[40];
		errno = 0;
		int rc = xmem_alloc_bulk(h, size, objs, n);
		int e = errno;
		if (bad || nomem) {
			if (rc != -1 || e != (bad ? EINVAL : ENOMEM))
				die("%s x %u: rc %d errno %d (%s), expected %s", what, n, rc, e,
				    strerror(e), bad ? "EINVAL" : "ENOMEM");
			return;
		}
		if (rc == 0) {
			for (unsigned k = 0; k < n; k++)
				record_alloc(h, slot, objs[k], size, 0);
		} else if (rc != -1 || e != ENOMEM) {
			die("%s x %u: rc %d errno %d (%s)", what, n, rc, e, strerror(e));
		}
		return;
	}
	if (S.n_live == MAX_LIVE)
		return;
	errno = 0;
	void *p = kind == 2 ? xmem_zalloc(h, size, align) : xmem_alloc(h, size, align);
	int e = errno;
	if (bad || nomem) {
		if (p || e != (bad ? EINVAL : ENOMEM))
			die("%s: %p errno %d (%s), expected %s", what, p, e, strerror(e),
			    bad ? "EINVAL" : "ENOMEM");
		return;
	}
	if (!p) {
		if (e != ENOMEM)
			die("%s: errno %d (%s), expected ENOMEM", what, e, strerror(e));
		return;
	}
	record_alloc(h, slot, p, size, align);
	if (kind == 2 && (((char *)p)[0] || ((char *)p)[size - 1] || ((char *)p)[size / 2]))
		die("%s: block %p not zeroed", what, p);
}

void op_free(void)
{
	uint8_t a = byte(), b = byte();
	if (!S.n_live) {
		uint64_t inv = xmem_invalid_free_count();
		xmem_free(NULL);
		if (xmem_invalid_free_count() != inv)
			die("free(NULL) was reported");
		return;
	}
	free_live((a | b << 8) % S.n_live, false);
}

void op_free_bulk(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	void *objs[40];
	unsigned n = 0, k = 1 + a % 16, bad = 0;
	int stack_var;
	for (unsigned j = 0; j < k && S.n_live; j++) {
		objs[n++] = take_live((int)((b + 7 * j) % (unsigned)S.n_live)).p;
		if (c & (1 << (j % 8)))
			objs[n++] = NULL;
	}
	if (c & 0x80) {
		objs[n++] = &stack_var;   /* outside every heap: reported */
		bad = 1;
	}
	struct reports r = reports_now();
	errno = 0;
	xmem_free_bulk(objs, n);
	int e = errno;
	char what[64];
	snprintf(what, sizeof what, "free_bulk of %u entries (%u bad)", n, bad);
	expect_reports(r, bad, what);
	if (bad && e != EINVAL)
		die("free_bulk with a bad entry: errno %d (%s)", e, strerror(e));
	S.invalid += bad;
	xmodel_note_invalid_free(S.m, bad);
	if (!n) {
		errno = 0;
		xmem_free_bulk(NULL, 1 + a);
		if (errno != EINVAL)
			die("free_bulk(NULL, n) did not set EINVAL");
	}
}

/* A pointer that is certainly not a live block, for xmem_free / free_bulk
 * (reported) and usable_size (0, EINVAL); NULL when the kind does not apply
 * now.  *mem is set for a malloc'd one. */
static void *wild_pointer(uint8_t kind, uint8_t v, void *stack, void **mem)
{
	static int in_data;
	*mem = NULL;
	switch (kind % 9) {
	case 0:
		return stack;
	case 1:
		return *mem = malloc(16 + v);
	case 2:
		return &in_data;
	case 3:                 /* a gap between chunks: never registered */
		return G.arena + (size_t)(v % (N_CHUNKS + 1)) * (CHUNK + GAP) + v * 64;
	case 4: {               /* chunk memory in no record */
		char *p = chunk_va(v % N_CHUNKS) + (size_t)(v % 64) * 64 * KiB + 8 * (v % 3);
		return rec_at(p) < 0 ? p : NULL;
	}
	case 5: {               /* translation-only memory */
		for (int i = 0; i < S.n_recs; i++) {
			struct rec *r = &S.recs[(i + v) % S.n_recs];
			if (r->slot < 0)
				return r->va + (size_t)v * 64 % r->len;
		}
		return NULL;
	}
	case 6: {               /* interior of a large block */
		for (int i = 0; i < S.n_live; i++) {
			struct live *l = &S.live[(i + v) % S.n_live];
			if (is_large(l) && !l->alias)
				return (char *)l->p + 1 + (size_t)v * 4093 % (l->usable - 1);
		}
		return NULL;
	}
	case 7: {               /* checked mode: a freed pointer, not live again */
		unsigned have = S.n_freed < N_FREED ? S.n_freed : N_FREED;
		if (!S.checked || !have)
			return NULL;
		void *p = S.freed[(S.n_freed - 1 - v % have) % N_FREED];
		return live_find(p) < 0 ? p : NULL;
	}
	default: {              /* interior of a small block: checked mode,
				   or any mode with XMEM_FUZZ_V2=1 */
		if (!S.checked && !G.v2)
			return NULL;
		for (int i = 0; i < S.n_live; i++) {
			struct live *l = &S.live[(i + v) % S.n_live];
			if (!is_large(l) && !l->alias && l->usable > 1)
				return (char *)l->p + 1 + v % (l->usable - 1);
		}
		return NULL;
	}
	}
}

void op_wild(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	int stack_var;
	void *mem;
	void *p = wild_pointer(a, b, &stack_var, &mem);
	if (p) {
		char what[32];
		snprintf(what, sizeof what, "wild, kind %d", a % 9);
		bad_pointer(p, c, b, what);
	}
	free(mem);
}

void op_usable(void)
{
	uint8_t a = byte(), b = byte();
	if (!S.n_live) {
		errno = 0;
		if (xmem_usable_size(NULL) != 0 || errno != EINVAL)
			die("usable_size(NULL)");
		return;
	}
	struct live *l = &S.live[(a | b << 8) % S.n_live];
	size_t us = xmem_usable_size(l->p);
	/* A double-freed address may be free in the library's eyes while
	 * someone holds it (its duplicate went back to its span), or the
	 * start of another block since: nothing to compare. */
	if (l->alias)
		us = l->usable;
	if (us != l->usable || us < l->size)
		die("usable_size(%p) = %zu, was %zu, size %zu", l->p, us, l->usable, l->size);
	MODEL(xmodel_probe(S.m, l->p, merr));
	MODEL(xmodel_probe(S.m, (char *)l->p + l->usable - 1, merr));
}

void op_probe(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	const char *p = G.arena + ((size_t)a << 16 | (size_t)b << 8 | c) * 7 %
				  (N_CHUNKS * (CHUNK + GAP) + GAP);
	MODEL(xmodel_probe(S.m, p, merr));
	uint64_t io = IOVA_BASE(a % N_CHUNKS) + ((uint64_t)((a >> 2) % 4) << 36) +
		      ((((uint64_t)b << 8 | c) << 12) % (40 * MiB));
	void *v = xmem_iova2virt(io);
	if (v) {
		if (xmem_virt2iova(v) != io)
			die("iova2virt(%#" PRIx64 ") = %p, which translates to %#" PRIx64, io, v,
			    xmem_virt2iova(v));
	} else if (errno != ENOENT) {
		die("iova2virt(%#" PRIx64 ") = NULL, errno %d", io, errno);
	}
}

void op_check(void)
{
	MODEL(xmodel_check(S.m, &S.rng, 8, merr));
}

void op_checked(void)
{
	uint8_t a = byte();
	int on = a & 1;
	int was = xmem_set_checked(on ? (int)a : 0);
	if (was != S.checked || xmem_checked() != on)
		die("set_checked(%d): returned %d (had %d), now %d", on, was, S.checked, xmem_checked());
	S.checked = on;
}

void op_trim(void)
{
	uint8_t a = byte();
	if (a & 2) {
		MUST_FAIL(xmem_heap_trim(bad_heap(a)) == -1, EINVAL, "trim(bad heap)");
		return;
	}
	if (S.heap[a & 1] && xmem_heap_trim(S.heap[a & 1]))
		die("trim failed: %s", strerror(errno));
}
