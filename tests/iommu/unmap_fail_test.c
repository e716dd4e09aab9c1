/* tests/iommu/unmap_fail_test.c - a device that does not unmap: removal
 * (xmem_heap_remove_memory, xmem_unregister) and xmem_dma_unsubscribe must
 * fail with EIO and keep every mapping recorded, never forget one.
 *
 * Two subscribers: the test backend "td" (its unmap can come back short:
 * XMEM_TESTDEV_FAULT_SHORT_UNMAP, the last page stays mapped) and, after
 * it, "eio", a device of this file whose armed unmap fails with EIO and
 * unmaps nothing.  For each failure, every piece of state is compared
 * before and after the failed call:
 *  - heap stats and the mapping registry (xmem_dma_mapping_walk);
 *  - xmem_dma_get_stats entries and owned of both subscribers;
 *  - the extents each device maps;
 *  - translations (xmem_virt2iova, xmem_iova2virt) across the region;
 * then: the heap still allocates from the region, its assigned IOVA extent
 * is still reserved (a new region in ASSIGN mode gets another one), and the
 * retry succeeds.  When the second subscriber fails, the first's mappings
 * were taken down and must be mapped again.  Unsubscribe keeps the
 * subscriber live with exactly the entries still mapped recorded. */
#include "it.h"

#include <stdbool.h>

#define PG 4096UL

/* ---- the "eio" device ---------------------------------------------------- */

struct ext {
	void *va;
	uint64_t iova, len;
};

static struct {
	struct ext e[512];
	size_t n;
	long unmap_calls, map_calls;
	long fail_at;            /* the unmap call that fails (0: none) */
} ed;

static int ed_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	(void)ctx;
	ed.map_calls++;
	for (size_t i = 0; i < ed.n; i++) {
		if (iova < ed.e[i].iova + ed.e[i].len && ed.e[i].iova < iova + len) {
			errno = EEXIST;
			return -1;
		}
	}
	if (ed.n == 512) {
		errno = ENOSPC;
		return -1;
	}
	ed.e[ed.n++] = (struct ext){va, iova, len};
	return 0;
}

static int ed_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
		    uint64_t *unmapped)
{
	(void)ctx, (void)va;
	*unmapped = 0;
	if (++ed.unmap_calls == ed.fail_at) {
		ed.fail_at = 0;
		errno = EIO; /* nothing unmapped */
		return -1;
	}
	for (size_t i = 0; i < ed.n; i++) {
		if (ed.e[i].iova >= iova && ed.e[i].iova + ed.e[i].len <= iova + len) {
			*unmapped += ed.e[i].len;
			ed.e[i--] = ed.e[--ed.n];
		}
	}
	if (*unmapped != len) {
		errno = *unmapped ? EIO : ENOENT;
		return -1;
	}
	return 0;
}

static uint64_t ed_bytes(void)
{
	uint64_t b = 0;
	for (size_t i = 0; i < ed.n; i++)
		b += ed.e[i].len;
	return b;
}

/* ---- snapshots ----------------------------------------------------------- */

static struct xmem_dma_testdev *td;
static struct xmem_dma_subscriber *eio;

struct state {
	struct it_snap reg;                 /* heap stats + registry */
	struct xmem_dma_stats st_td, st_eio;
	uint64_t td_entries, td_bytes;
	size_t ed_n;
	uint64_t ed_bytes;
	uint64_t v2i[64];                   /* xmem_virt2iova across the region */
	void *i2v[64];                      /* xmem_iova2virt of those */
};

static struct state S0, S1;

static void take(struct state *s, struct xmem_heap *h, char *va, size_t len)
{
	memset(s, 0, sizeof(*s));
	it_snap(h, &s->reg);
	xmem_dma_get_stats(xmem_dma_testdev_subscriber(td), &s->st_td);
	if (eio)
		xmem_dma_get_stats(eio, &s->st_eio);
	struct xmem_dma_testdev_stats ts;
	xmem_dma_testdev_get_stats(td, &ts);
	s->td_entries = ts.entries;
	s->td_bytes = ts.mapped_bytes;
	s->ed_n = ed.n;
	s->ed_bytes = ed_bytes();
	for (size_t k = 0; k < 64; k++) {
		s->v2i[k] = xmem_virt2iova(va + k * (len / 64) + 7);
		s->i2v[k] = s->v2i[k] == XMEM_BAD_IOVA ? NULL : xmem_iova2virt(s->v2i[k]);
	}
}

static bool same(const struct state *a, const struct state *b)
{
	bool ok = it_snap_equal(&a->reg, &b->reg) &&
		  a->st_td.entries == b->st_td.entries && a->st_td.owned == b->st_td.owned &&
		  a->st_eio.entries == b->st_eio.entries && a->st_eio.owned == b->st_eio.owned &&
		  a->td_entries == b->td_entries && a->td_bytes == b->td_bytes &&
		  a->ed_n == b->ed_n && a->ed_bytes == b->ed_bytes;
	for (size_t k = 0; k < 64; k++)
		ok = ok && a->v2i[k] == b->v2i[k] && a->i2v[k] == b->i2v[k];
	return ok;
}

/* ---- faults -------------------------------------------------------------- */

enum fault { SHORT_ON_TD, EIO_ON_EIO };

static void arm(enum fault f, long skip)
{
	if (f == SHORT_ON_TD)
		xmem_dma_testdev_inject(td, XMEM_TESTDEV_FAULT_SHORT_UNMAP, (uint64_t)skip);
	else
		ed.fail_at = ed.unmap_calls + 1 + skip;
}

static const char *fault_name(enum fault f)
{
	return f == SHORT_ON_TD ? "td: short unmap" : "eio: unmap fails (EIO)";
}

/* The region's extent is still reserved: a region added now in ASSIGN mode
 * gets IOVAs outside [lo, lo + len). */
static bool iova_still_reserved(uint64_t lo, size_t len)
{
	char *va = it_reserve(len, PG);
	if (!va || xmem_register(va, len, NULL, 0, PG) != 0)
		return false;
	uint64_t got = xmem_virt2iova(va);
	bool ok = got != XMEM_BAD_IOVA && (got + len <= lo || got >= lo + len);
	ok = xmem_unregister(va, len) == 0 && ok;
	munmap(va, len);
	return ok;
}

/* Remove (heap chunk, or unregister when h is NULL) with a fault armed:
 * -1/EIO and nothing changed; then the retry succeeds. */
static void remove_fails(const char *what, struct xmem_heap *h, char *va,
			 size_t len, enum fault f, long skip)
{
	struct xmem_dma_stats e0;
	struct xmem_dma_subscriber *fs = f == SHORT_ON_TD ? xmem_dma_testdev_subscriber(td) : eio;
	xmem_dma_get_stats(fs, &e0);
	long td_maps0 = it_map_calls(td);
	take(&S0, h, va, len);
	arm(f, skip);
	errno = 0;
	int rc = h ? xmem_heap_remove_memory(h, va, len) : xmem_unregister(va, len);
	int e = errno;
	take(&S1, h, va, len);
	struct xmem_dma_stats e1;
	xmem_dma_get_stats(fs, &e1);
	bool eq = same(&S0, &S1);
	CHECK(rc == -1 && e == EIO);
	CHECK(eq);
	CHECK(e1.unmap_errors == e0.unmap_errors + 1);
	/* The eio device failed second: td's mappings were taken down and
	 * mapped again (as many map calls as td has entries for the region). */
	if (f == EIO_ON_EIO)
		CHECK(it_map_calls(td) > (uint64_t)td_maps0);
	/* Still a heap chunk that allocates, still translating. */
	bool alloc_ok = true;
	if (h) {
		void *p = xmem_alloc(h, 2048, 0);
		alloc_ok = p && (char *)p >= va && (char *)p < va + len &&
			   xmem_virt2iova(p) != XMEM_BAD_IOVA;
		xmem_free(p);
		CHECK(alloc_ok);
	}
	uint64_t lo = xmem_virt2iova(va);
	bool reserved = iova_still_reserved(lo, len);
	CHECK(reserved);
	/* The retry succeeds, and takes everything down. */
	take(&S0, h, va, len);
	int rc2 = h ? xmem_heap_remove_memory(h, va, len) : xmem_unregister(va, len);
	CHECK(rc2 == 0);
	CHECK(xmem_virt2iova(va) == XMEM_BAD_IOVA);
	printf("%-12s %-24s rc %d errno %-6s state equal %-3s alloc %-3s iova reserved %-3s retry %s\n",
	       what, fault_name(f), rc, e == EIO ? "EIO" : strerror(e), eq ? "yes" : "NO",
	       alloc_ok ? "ok" : "NO", reserved ? "yes" : "NO", rc2 == 0 ? "ok" : "FAILED");
}

/* ---- unsubscribe --------------------------------------------------------- */

static long walk_n;
static uint64_t walk_bytes;
static int walk_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	(void)sub, (void)arg;
	walk_n++;
	walk_bytes += m->len;
	return 0;
}

static void unsubscribe_fails(void)
{
	/* eio: its 3rd unmap fails (regions are unmapped last first). */
	struct xmem_dma_stats st;
	xmem_dma_get_stats(eio, &st);
	size_t n0 = ed.n;
	CHECK(n0 >= 4 && st.entries == n0);
	arm(EIO_ON_EIO, 2);
	errno = 0;
	int rc = xmem_dma_unsubscribe(eio);
	int e = errno;
	CHECK(rc == -1 && e == EIO);
	CHECK(xmem_dma_subscriber_lookup("eio") == eio);
	walk_n = 0;
	walk_bytes = 0;
	CHECK(xmem_dma_mapping_walk(eio, walk_fn, NULL) == (long)ed.n);
	xmem_dma_get_stats(eio, &st);
	/* The two entries taken down before the failure are mapped again. */
	bool exact = ed.n == n0 && (size_t)walk_n == ed.n && walk_bytes == ed_bytes() &&
		     st.entries == ed.n && st.owned == ed.n;
	CHECK(exact);
	size_t n1 = ed.n;
	int rc2 = xmem_dma_unsubscribe(eio);
	CHECK(rc2 == 0 && ed.n == 0);
	printf("%-12s %-24s rc %d errno %-6s still subscribed, nothing changed (%zu of %zu) %-3s retry %s\n",
	       "unsubscribe", fault_name(EIO_ON_EIO), rc, e == EIO ? "EIO" : strerror(e),
	       n1, n0, exact ? "yes" : "NO", rc2 == 0 ? "ok" : "FAILED");
	eio = NULL;

	/* td: a short unmap.  The short entry is put back (mapped again), the
	 * entry taken down before it too: nothing changed. */
	struct xmem_dma_subscriber *ts = xmem_dma_testdev_subscriber(td);
	struct xmem_dma_testdev_stats ds;
	xmem_dma_testdev_get_stats(td, &ds);
	uint64_t t0 = ds.entries;
	xmem_dma_testdev_inject(td, XMEM_TESTDEV_FAULT_SHORT_UNMAP, 1);
	errno = 0;
	rc = xmem_dma_unsubscribe(ts);
	e = errno;
	CHECK(rc == -1 && e == EIO);
	CHECK(xmem_dma_subscriber_lookup("td") == ts);
	walk_n = 0;
	walk_bytes = 0;
	xmem_dma_mapping_walk(ts, walk_fn, NULL);
	xmem_dma_testdev_get_stats(td, &ds);
	xmem_dma_get_stats(ts, &st);
	exact = ds.entries == t0 && (uint64_t)walk_n == ds.entries &&
		walk_bytes == ds.mapped_bytes && st.entries == ds.entries;
	CHECK(exact);
	uint64_t t1 = ds.entries;
	rc2 = xmem_dma_unsubscribe(ts);
	xmem_dma_testdev_get_stats(td, &ds);
	CHECK(rc2 == 0 && ds.entries == 0);
	printf("%-12s %-24s rc %d errno %-6s still subscribed, nothing changed (%llu of %llu) %-3s retry %s\n",
	       "unsubscribe", fault_name(SHORT_ON_TD), rc, e == EIO ? "EIO" : strerror(e),
	       (unsigned long long)t1, (unsigned long long)t0, exact ? "yes" : "NO",
	       rc2 == 0 ? "ok" : "FAILED");
}

int main(void)
{
	xmem_set_log(NULL);
	td = xmem_dma_testdev_create("td", 0);
	struct xmem_dma_ops ops = {.dma_map = ed_map, .dma_unmap = ed_unmap};
	eio = xmem_dma_subscribe("eio", &ops, NULL);
	struct xmem_heap *h = xmem_heap_create("unmapfail");
	if (!td || !eio || !h) {
		fprintf(stderr, "setup: %s\n", strerror(errno));
		return 1;
	}
	/* A: heap chunk, ASSIGN mode: one run, an assigned extent. */
	const size_t la = 64 * PG;
	char *a = it_reserve(la, PG);
	/* B: heap chunk, a caller's table of 4 runs (TABLE mode). */
	const size_t lb = 16 * PG;
	char *b = it_reserve(lb, PG);
	uint64_t tb[16];
	for (size_t i = 0; i < 16; i++)
		tb[i] = ((uint64_t)7 << 36) + (i / 4) * 8 * PG + (i % 4) * PG;
	/* C: translation only, ASSIGN mode. */
	const size_t lc = 32 * PG;
	char *c = it_reserve(lc, PG);
	/* A region that stays throughout, so nothing is ever alone. */
	char *k = it_reserve(8 * PG, PG);

	CHECK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN) == 0);
	CHECK(xmem_register(k, 8 * PG, NULL, 0, PG) == 0);

	enum fault faults[2] = {SHORT_ON_TD, EIO_ON_EIO};
	for (int fi = 0; fi < 2; fi++) {
		CHECK(xmem_heap_add_memory(h, a, la, NULL, 0, PG) == 0);
		remove_fails("heap A", h, a, la, faults[fi], 0);

		xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
		CHECK(xmem_heap_add_memory(h, b, lb, tb, 16, PG) == 0);
		xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
		/* The fault on the 3rd unmap of the faulty device: mid-region. */
		remove_fails("heap B", h, b, lb, faults[fi], 2);

		CHECK(xmem_register(c, lc, NULL, 0, PG) == 0);
		remove_fails("unregister C", NULL, c, lc, faults[fi], 0);
	}

	/* Unsubscribe, with regions A, B, C and k mapped. */
	CHECK(xmem_heap_add_memory(h, a, la, NULL, 0, PG) == 0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	CHECK(xmem_heap_add_memory(h, b, lb, tb, 16, PG) == 0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	CHECK(xmem_register(c, lc, NULL, 0, PG) == 0);
	unsubscribe_fails();

	CHECK(xmem_heap_remove_memory(h, a, la) == 0);
	CHECK(xmem_heap_remove_memory(h, b, lb) == 0);
	CHECK(xmem_unregister(c, lc) == 0);
	CHECK(xmem_unregister(k, 8 * PG) == 0);
	CHECK(xmem_heap_destroy(h) == 0);
	CHECK(xmem_dma_testdev_destroy(td) == 0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	return it_done("unmap_fail_test");
}
