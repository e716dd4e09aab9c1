/* ops_dma.c - the fuzz target's own DMA subscriber and its op (V2, see
 * fuzz.h).  The subscriber is a device that keeps exactly what it was told
 * to map (va, iova, len) and the regions it was told about (mem_event ADD
 * and REMOVE), so the target knows what is mapped without trusting the
 * library.  Its unmap can be armed to fail: every call (-1, EIO), every
 * call reporting a short size (one page less, or 0 for one page), or only
 * the k-th call from now (EIO or short; then it disarms).  A failing unmap
 * keeps the mapping: the device unmapped nothing it can vouch for (so the
 * library may map a short-unmapped extent again to restore it; anything
 * else mapped twice is a violation).
 *
 * The contract checked (design.md, invariant 8): a removal, unregister or
 * unsubscribe that meets a failing unmap fails with EIO and changes
 * nothing (the subscriber's mappings and events as before, the mapping
 * walk and stats agree with them, the region still published: the model's
 * full check and probes pass), and the same call succeeds once the
 * subscriber no longer fails.  Every region with an IOVA table is mapped
 * as its maximal VA- and IOVA-contiguous runs, one map call each. */
#include "tests/fuzz/fuzz.h"

#define SUB_NAME "fz-dma"

enum { F_NONE, F_FAIL, F_SHORT, F_KTH };

struct ext {
	void *va;
	uint64_t iova, len;
};

struct vec {           /* a growable array of ext or uintptr_t */
	void *p;
	size_t n, cap, sz;
};

static struct {
	struct xmem_dma_subscriber *s;
	struct vec map;                 /* struct ext: mapped on the device */
	struct vec ev;                  /* uintptr_t: regions announced */
	struct vec snap_map, snap_ev;   /* dma_snapshot */
	struct vec shorted;             /* struct ext: reported short, kept */
	int mode;
	unsigned countdown;             /* F_KTH: the call that fails */
	bool kth_short;
} D = {
	.map = {.sz = sizeof(struct ext)},
	.ev = {.sz = sizeof(uintptr_t)},
	.snap_map = {.sz = sizeof(struct ext)},
	.snap_ev = {.sz = sizeof(uintptr_t)},
	.shorted = {.sz = sizeof(struct ext)},
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		v->p = realloc(v->p, v->cap * v->sz);
		if (!v->p)
			die("out of memory");
	}
	return (char *)v->p + v->sz * v->n++;
}

static void vec_del(struct vec *v, size_t i)
{
	memmove((char *)v->p + v->sz * i, (char *)v->p + v->sz * (v->n - 1), v->sz);
	v->n--;
}

static void vec_copy(struct vec *to, const struct vec *from)
{
	to->n = 0;
	for (size_t i = 0; i < from->n; i++)
		memcpy(vec_push(to), (const char *)from->p + from->sz * i, from->sz);
}

static struct ext *ext_at(const struct vec *v, size_t i)
{
	return (struct ext *)v->p + i;
}

static long ext_find(const struct vec *v, const void *va, uint64_t iova, uint64_t len)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct ext *x = ext_at(v, i);
		if (x->va == va && x->iova == iova && x->len == len)
			return (long)i;
	}
	return -1;
}

static long ev_find(const struct vec *v, uintptr_t va)
{
	for (size_t i = 0; i < v->n; i++)
		if (((uintptr_t *)v->p)[i] == va)
			return (long)i;
	return -1;
}

/* ------------------------------------------------------ the callbacks */

static int sub_event(void *ctx, enum xmem_mem_event ev,
		     const struct xmem_dma_region_info *region)
{
	(void)ctx;
	uintptr_t va = (uintptr_t)region->va;
	long i = ev_find(&D.ev, va);
	if (ev == XMEM_MEM_EVENT_ADD) {
		if (i >= 0)
			die("dma: ADD event for region %p, which was added already", region->va);
		*(uintptr_t *)vec_push(&D.ev) = va;
	} else {
		if (i < 0)
			die("dma: REMOVE event for region %p, which was never added", region->va);
		vec_del(&D.ev, (size_t)i);
	}
	return 0;
}

static int sub_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	(void)ctx;
	if (ext_find(&D.map, va, iova, len) >= 0) {
		/* Mapping again what an unmap reported short is a fair way to
		 * restore it: the device keeps one mapping. */
		long k = ext_find(&D.shorted, va, iova, len);
		if (k < 0)
			die("dma: [%p,+%#" PRIx64 ") -> %#" PRIx64 " mapped twice", va, len, iova);
		vec_del(&D.shorted, (size_t)k);
		return 0;
	}
	*(struct ext *)vec_push(&D.map) = (struct ext){va, iova, len};
	return 0;
}

static int sub_unmap(void *ctx, void *va, uint64_t iova, uint64_t len, uint64_t *unmapped)
{
	(void)ctx;
	long i = ext_find(&D.map, va, iova, len);
	if (i < 0)
		die("dma: unmap of [%p,+%#" PRIx64 ") -> %#" PRIx64 ", which is not mapped", va,
		    len, iova);
	bool fail = D.mode == F_FAIL || D.mode == F_SHORT ||
		    (D.mode == F_KTH && --D.countdown == 0);
	if (!fail) {
		vec_del(&D.map, (size_t)i);
		long k = ext_find(&D.shorted, va, iova, len);
		if (k >= 0)
			vec_del(&D.shorted, (size_t)k);
		*unmapped = len;
		return 0;
	}
	bool short_ = D.mode == F_SHORT || (D.mode == F_KTH && D.kth_short);
	if (D.mode == F_KTH)
		D.mode = F_NONE;
	if (short_) {
		if (ext_find(&D.shorted, va, iova, len) < 0)
			*(struct ext *)vec_push(&D.shorted) = (struct ext){va, iova, len};
		*unmapped = len > PAGE4K ? len - PAGE4K : 0;
		return 0;
	}
	*unmapped = 0;
	errno = EIO;
	return -1;
}

/* ------------------------------------------------------ expectations */

void rec_set_table(struct rec *r, const uint64_t *t)
{
	r->iova = NULL;
	if (!t)
		return;
	size_t n = r->len / r->ps;
	r->iova = malloc(n * sizeof *t);
	if (!r->iova)
		die("out of memory");
	memcpy(r->iova, t, n * sizeof *t);
}

/* The maximal runs of rec r (contiguous in VA and IOVA), appended to v. */
static size_t rec_runs(const struct rec *r, struct vec *v)
{
	if (!r->iova)
		return 0;
	size_t n = r->len / r->ps, count = 0;
	for (size_t i = 0; i < n;) {
		if (r->iova[i] == XMEM_BAD_IOVA) {
			i++;
			continue;
		}
		size_t s = i++;
		while (i < n && r->iova[i] == r->iova[i - 1] + r->ps)
			i++;
		if (v)
			*(struct ext *)vec_push(v) =
				(struct ext){r->va + s * r->ps, r->iova[s], (i - s) * r->ps};
		count++;
	}
	return count;
}

/* Mappings the device holds inside rec i. */
static size_t mapped_in(int i)
{
	size_t n = 0;
	for (size_t k = 0; k < D.map.n; k++) {
		char *va = ext_at(&D.map, k)->va;
		n += va >= S.recs[i].va && va < S.recs[i].va + S.recs[i].len;
	}
	return n;
}

bool dma_remove_fails(int i)
{
	if (!D.s || D.mode == F_NONE)
		return false;
	size_t n = mapped_in(i);
	return n && (D.mode != F_KTH || n >= D.countdown);
}

static int ext_cmp(const void *a, const void *b)
{
	const struct ext *x = a, *y = b;
	if (x->va != y->va)
		return (uintptr_t)x->va < (uintptr_t)y->va ? -1 : 1;
	if (x->iova != y->iova)
		return x->iova < y->iova ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int uptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Equal as sets (both sorted in place). */
static bool same_set(struct vec *a, struct vec *b, int (*cmp)(const void *, const void *))
{
	if (a->n != b->n)
		return false;
	if (a->n == 0)
		return true;    /* (p may be NULL: not for qsort) */
	qsort(a->p, a->n, a->sz, cmp);
	qsort(b->p, b->n, b->sz, cmp);
	return memcmp(a->p, b->p, a->n * a->sz) == 0;
}

struct walk_arg {
	unsigned long n, bad;
};

static int walk_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	struct walk_arg *w = arg;
	w->n++;
	if (strcmp(sub, SUB_NAME) || !m->owned || ext_find(&D.map, m->va, m->iova, m->len) < 0)
		w->bad++;
	return 0;
}

void dma_check(const char *what)
{
	static struct vec want = {.sz = sizeof(struct ext)};
	static struct vec want_ev = {.sz = sizeof(uintptr_t)};
	want.n = want_ev.n = 0;
	if (!D.s) {
		if (D.map.n || D.ev.n)
			die("dma (%s): no subscriber, but %zu mappings and %zu regions left on "
			    "the device", what, D.map.n, D.ev.n);
		return;
	}
	for (int i = 0; i < S.n_recs; i++) {
		rec_runs(&S.recs[i], &want);
		*(uintptr_t *)vec_push(&want_ev) = (uintptr_t)S.recs[i].va;
	}
	if (!same_set(&want, &D.map, ext_cmp))
		die("dma (%s): the device holds %zu mappings, the records' IOVA runs are %zu "
		    "(or they differ)", what, D.map.n, want.n);
	if (!same_set(&want_ev, &D.ev, uptr_cmp))
		die("dma (%s): %zu regions announced to the subscriber, %zu records", what,
		    D.ev.n, want_ev.n);
	struct walk_arg w = {0, 0};
	long n = xmem_dma_mapping_walk(D.s, walk_fn, &w);
	if (n != (long)D.map.n || w.n != D.map.n || w.bad)
		die("dma (%s): mapping walk visited %ld (%lu, %lu unknown or not owned), the "
		    "device holds %zu", what, n, w.n, w.bad, D.map.n);
	struct xmem_dma_stats st;
	if (xmem_dma_get_stats(D.s, &st) || st.entries != D.map.n || st.owned != D.map.n)
		die("dma (%s): stats say %" PRIu64 " entries (%" PRIu64 " owned), the device "
		    "holds %zu", what, st.entries, st.owned, D.map.n);
	if (xmem_dma_subscriber_lookup(SUB_NAME) != D.s)
		die("dma (%s): lookup of the subscriber failed", what);
}

void dma_snapshot(void)
{
	vec_copy(&D.snap_map, &D.map);
	vec_copy(&D.snap_ev, &D.ev);
}

void dma_same_as_snapshot(const char *what)
{
	if (!same_set(&D.snap_map, &D.map, ext_cmp) || !same_set(&D.snap_ev, &D.ev, uptr_cmp))
		die("dma: after %s the device holds %zu mappings and %zu regions, before "
		    "%zu and %zu", what, D.map.n, D.ev.n, D.snap_map.n, D.snap_ev.n);
	dma_check(what);
}

void dma_disarm(void)
{
	D.mode = F_NONE;
	if (S.m)
		xmodel_set_remove_errno_ok(S.m, 0);
}

static void subscribe(void)
{
	static const struct xmem_dma_ops ops = {
		.mem_event = sub_event,
		.dma_map = sub_map,
		.dma_unmap = sub_unmap,
	};
	errno = 0;
	D.s = xmem_dma_subscribe(SUB_NAME, &ops, NULL);
	if (!D.s)
		die("dma: subscribe failed: %s", strerror(errno));
	dma_check("subscribe (every region replayed)");
}

/* Unsubscribe: EIO and nothing changed while an unmap it makes fails
 * (then, with retry, once more after disarming); otherwise everything is
 * unmapped and every region gets its REMOVE. */
static void unsubscribe(bool retry)
{
	bool eio = D.mode != F_NONE && D.map.n && (D.mode != F_KTH || D.map.n >= D.countdown);
	if (eio)
		dma_snapshot();
	errno = 0;
	int rc = xmem_dma_unsubscribe(D.s);
	int e = errno;
	if (eio) {
		if (rc != -1 || e != EIO)
			die("dma: unsubscribe while an unmap fails: rc %d errno %d (%s), "
			    "expected EIO", rc, e, strerror(e));
		dma_same_as_snapshot("an unsubscribe that failed with EIO");
		if (retry) {
			dma_disarm();
			unsubscribe(false);
		}
		return;
	}
	if (rc != 0)
		die("dma: unsubscribe failed: %s", strerror(e));
	D.s = NULL;
	dma_check("unsubscribe");
	MUST_FAIL(xmem_dma_subscriber_lookup(SUB_NAME) == NULL, ENOENT, "dma: lookup after unsubscribe");
}

void dma_reset(void)
{
	if (D.s) {
		dma_disarm();
		unsubscribe(false);
	}
	dma_check("reset");
}

/* ----------------------------------------------------------------- op */

void op_dma(void)
{
	uint8_t a = byte(), b = byte(), c = byte();
	switch (a % 6) {
	case 0:
		if (!D.s)
			subscribe();
		else
			unsubscribe(b & 0x40);
		return;
	case 1:
	case 2:
		if (b % 4 == 3) {
			dma_disarm();
			return;
		}
		D.mode = F_FAIL + b % 3;
		D.countdown = 1 + c % 4;
		D.kth_short = c & 0x10;
		xmodel_set_remove_errno_ok(S.m, EIO);
		return;
	case 3:
		dma_check("check");
		return;
	case 4: {
		/* Bad arguments. */
		static const struct xmem_dma_ops half = {.dma_map = sub_map};
		MUST_FAIL(xmem_dma_unsubscribe(NULL) == -1, EINVAL, "dma_unsubscribe(NULL)");
		MUST_FAIL(xmem_dma_subscribe("fz-half", &half, NULL) == NULL, EINVAL,
			  "dma_subscribe(map without unmap)");
		MUST_FAIL(xmem_dma_subscriber_lookup("") == NULL, EINVAL, "dma lookup(\"\")");
		MUST_FAIL(xmem_dma_mapping_walk(D.s, NULL, NULL) == -1, EINVAL,
			  "dma_mapping_walk(fn NULL)");
		if (D.s) {
			static const struct xmem_dma_ops ops = {.mem_event = sub_event};
			MUST_FAIL(xmem_dma_subscribe(SUB_NAME, &ops, NULL) == NULL, EEXIST,
				  "dma_subscribe(same name)");
		}
		return;
	}
	default: {
		/* Remove a record the device maps (or any), as op_remove does. */
		if (!S.n_recs)
			return;
		int i = b % S.n_recs;
		for (int k = 0; k < S.n_recs; k++)
			if (mapped_in((b + k) % S.n_recs)) {
				i = (b + k) % S.n_recs;
				break;
			}
		remove_rec(i, c);
		return;
	}
	}
}
