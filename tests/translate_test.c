/* translate_test.c - xmem_virt2iova against the caller's table, for the
 * cases the page map stores differently (alloc/pagemap.h): one linear word
 * per 2 MiB block (2 MiB pages, 4 KiB pages whose IOVAs follow each other;
 * IOVAs above, below and equal to the address),
 * fine tables (IOVAs in any order, blocks shared by several regions or
 * partly registered), pages without an IOVA, IOVA 0, far IOVAs, regions on
 * both sides of a 1 GiB leaf boundary, and removal (every word cleared).
 * And xmem_iova2virt against a model over random registrations and
 * removals whose IOVA ranges overlap (iova2virt_model). */
#include <sys/mman.h>

#include "xt.h"
#include "xt_util.h"
#include "xmem/xmem.h"

#define NP 64

/* Every 4 KiB unit of [va, va + NP * ps) at three offsets. */
static void check_all(char *va, size_t ps, const uint64_t *tab)
{
	for (size_t p = 0; p < NP; p++)
		for (size_t off = 0; off < ps; off += PAGE4K) {
			size_t o[3] = {off, off + 1, off + PAGE4K - 1};
			for (int k = 0; k < 3; k++) {
				uint64_t want = tab[p] == XMEM_BAD_IOVA ? XMEM_BAD_IOVA :
						tab[p] + off + (o[k] - off);
				if (!CHECK_EQ(xmem_virt2iova(va + p * ps + o[k]), want))
					return;
			}
		}
}

static void check_cleared(char *va, size_t len)
{
	for (size_t off = 0; off < len; off += PAGE4K)
		if (!CHECK_EQ(xmem_virt2iova(va + off), XMEM_BAD_IOVA))
			return;
}

/* Register a table, check every unit, unregister, check it is all gone. */
static void roundtrip(size_t ps, const uint64_t *tab)
{
	char *va = xt_map(NP * ps, ps, PROT_NONE);
	if (!CHECK(va))
		return;
	if (CHECK_EQ(xmem_register(va, NP * ps, tab, NP, ps), 0)) {
		check_all(va, ps, tab);
		CHECK_EQ(xmem_unregister(va, NP * ps), 0);
		check_cleared(va, NP * ps);
	}
	xt_unmap(va, NP * ps);
}

static void mixed_table(void)
{
	uint64_t tab[NP];
	for (size_t i = 0; i < NP; i++) {
		switch (i % 8) {
		case 0: tab[i] = 0; break;                                /* IOVA 0 */
		case 1: tab[i] = XMEM_BAD_IOVA; break;                    /* none */
		case 2: tab[i] = ((uint64_t)1 << 62) + i * 2 * PAGE4K; break; /* far */
		case 3: tab[i] = 0x12344000 + i * 8192; break;            /* odd place */
		case 4: tab[i] = UINT64_MAX - 8191 - i * 8192; break;     /* top of space */
		default: tab[i] = ((uint64_t)3 << 40) + xt_range(0, 1u << 20) * 2 * PAGE4K;
		}
	}
	roundtrip(PAGE4K, tab);
	roundtrip(2 * PAGE4K, tab);   /* several units per page */
}

/* The first registration sets the leaf's base; a later one in the same leaf
 * with IOVAs far from it must still translate (through the region). */
static void two_regions_far_apart(void)
{
	size_t len = NP * PAGE4K;
	char *a = xt_map(2 * len, PAGE4K, PROT_NONE);
	if (!CHECK(a))
		return;
	uint64_t t1[NP], t2[NP];
	for (size_t i = 0; i < NP; i++) {
		t1[i] = ((uint64_t)1 << 45) + i * PAGE4K;
		t2[i] = ((uint64_t)1 << 20) + i * PAGE4K;   /* 32 TiB below t1 */
	}
	CHECK_EQ(xmem_register(a, len, t1, NP, PAGE4K), 0);
	CHECK_EQ(xmem_register(a + len, len, t2, NP, PAGE4K), 0);
	check_all(a, PAGE4K, t1);
	check_all(a + len, PAGE4K, t2);
	CHECK_EQ(xmem_unregister(a, len), 0);
	check_all(a + len, PAGE4K, t2);
	CHECK_EQ(xmem_unregister(a + len, len), 0);
	check_cleared(a, 2 * len);
	xt_unmap(a, 2 * len);
}

/* A region that crosses a 1 GiB boundary lives in two leaves. */
static void across_leaves(void)
{
	size_t gib = (size_t)1 << 30, len = NP * PAGE4K;
	char *big = xt_map(2 * gib, gib, PROT_NONE);
	if (!CHECK(big))
		return;
	char *va = big + gib - len / 2;
	uint64_t tab[NP];
	for (size_t i = 0; i < NP; i++)
		tab[i] = ((uint64_t)7 << 44) + (NP - i) * PAGE4K;   /* descending */
	CHECK_EQ(xmem_register(va, len, tab, NP, PAGE4K), 0);
	check_all(va, PAGE4K, tab);
	CHECK_EQ(xmem_unregister(va, len), 0);
	check_cleared(va, len);
	xt_unmap(big, 2 * gib);
}

/* Heap memory translates like registered memory, and allocations in it
 * agree with the table. */
static void heap_memory(void)
{
	uint64_t tab[NP];
	for (size_t i = 0; i < NP; i++)
		tab[i] = ((uint64_t)5 << 40) + (i ^ 5) * PAGE4K;
	char *va = xt_map(NP * PAGE4K, PAGE4K, PROT_READ | PROT_WRITE);
	struct xmem_heap *h = xmem_heap_create(xt_name("tr"));
	if (!CHECK(va && h))
		return;
	CHECK_EQ(xmem_heap_add_memory(h, va, NP * PAGE4K, tab, NP, PAGE4K), 0);
	check_all(va, PAGE4K, tab);
	void *o = xmem_alloc(h, 100, 0);
	if (CHECK(o)) {
		size_t off = (size_t)((char *)o - va);
		CHECK_EQ(xmem_virt2iova(o), tab[off / PAGE4K] + off % PAGE4K);
		xmem_free(o);
	}
	CHECK_EQ(xmem_heap_remove_memory(h, va, NP * PAGE4K), 0);
	check_cleared(va, NP * PAGE4K);
	CHECK_EQ(xmem_heap_destroy(h), 0);
	xt_unmap(va, NP * PAGE4K);
}

/* One rule for IOVA tables in the core and the IOMMU layer: an entry is
 * XMEM_BAD_IOVA, or page-aligned with a page end that does not wrap.
 * Anything else is EINVAL and registers nothing. */
static void bad_iova_entries(void)
{
	size_t ps = 2 * PAGE4K;
	char *va = xt_map(NP * ps, ps, PROT_NONE);
	if (!CHECK(va))
		return;
	const uint64_t bad[] = {
		0x12345,                    /* not 4 KiB aligned */
		0x1000,                     /* 4 KiB aligned, not page (8 KiB) aligned */
		UINT64_MAX - 8191,          /* aligned; its page ends at 2^64: wraps */
		UINT64_MAX - 4095,          /* neither */
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint64_t tab[NP];
		for (size_t i = 0; i < NP; i++)
			tab[i] = ((uint64_t)1 << 40) + i * ps;
		tab[NP / 2] = bad[k];
		CHECK_FAILS_INT(xmem_register(va, NP * ps, tab, NP, ps), EINVAL);
		CHECK_EQ(xmem_virt2iova(va), XMEM_BAD_IOVA);
		CHECK_FAILS_INT(xmem_unregister(va, NP * ps), ENOENT);
	}
	xt_unmap(va, NP * ps);
}

#define MIB2 ((size_t)2 << 20)

/* 2 MiB pages, IOVAs shuffled: one linear word per block. */
static void huge_pages(void)
{
	enum { N = 32 };
	char *va = xt_map(N * MIB2, MIB2, PROT_NONE);
	if (!CHECK(va))
		return;
	uint64_t tab[N];
	for (size_t i = 0; i < N; i++)
		tab[i] = ((uint64_t)9 << 40) + ((i * 7) % N) * MIB2;
	CHECK_EQ(xmem_register(va, N * MIB2, tab, N, MIB2), 0);
	for (size_t i = 0; i < N; i++)
		for (size_t off = 0; off < MIB2; off += 4099 * 17)
			if (!CHECK_EQ(xmem_virt2iova(va + i * MIB2 + off), tab[i] + off))
				break;
	CHECK_EQ(xmem_unregister(va, N * MIB2), 0);
	check_cleared(va, N * MIB2);
	xt_unmap(va, N * MIB2);
}

/* A linear block's word holds the IOVA's distance from the block's address
 * (xmem.h): IOVA = VA (distance 0), IOVAs far above and far below the
 * address, and IOVA 0, each over 2 MiB pages and over 4 KiB pages. */
static void linear_distances(void)
{
	enum { N = 4 };
	char *va = xt_map(N * MIB2, MIB2, PROT_NONE);
	if (!CHECK(va))
		return;
	uint64_t base[4] = {(uint64_t)(uintptr_t)va, (uint64_t)1 << 62, 0,
			    (uint64_t)(uintptr_t)va - ((uint64_t)1 << 40)};
	static uint64_t tab[N * 512];
	for (int k = 0; k < 4; k++) {
		for (size_t ps = PAGE4K; ps <= MIB2; ps *= 512) {
			size_t n = N * MIB2 / ps;
			for (size_t i = 0; i < n; i++)
				tab[i] = base[k] + i * ps;
			if (!CHECK_EQ(xmem_register(va, N * MIB2, tab, n, ps), 0))
				continue;
			for (size_t off = 0; off < N * MIB2; off += 4093 * 13)
				if (!CHECK_EQ(xmem_virt2iova(va + off), base[k] + off))
					break;
			CHECK_EQ(xmem_virt2iova(va + N * MIB2 - 1), base[k] + N * MIB2 - 1);
			CHECK_EQ(xmem_unregister(va, N * MIB2), 0);
			check_cleared(va, N * MIB2);
		}
	}
	xt_unmap(va, N * MIB2);
}

/* 4 KiB pages over whole blocks: linear IOVAs (one word per block), then
 * the same with one page out of order (a fine table), then neighbours that
 * share a block, one removed while the other stays. */
static void whole_and_shared_blocks(void)
{
	enum { NPG = 1024 };   /* 4 MiB: two blocks */
	char *va = xt_map(NPG * PAGE4K, MIB2, PROT_NONE);
	if (!CHECK(va))
		return;
	static uint64_t tab[NPG];
	for (size_t i = 0; i < NPG; i++)
		tab[i] = ((uint64_t)1 << 36) + i * PAGE4K;
	for (int round = 0; round < 2; round++) {
		if (round)
			tab[700] = ((uint64_t)1 << 50);
		CHECK_EQ(xmem_register(va, NPG * PAGE4K, tab, NPG, PAGE4K), 0);
		for (size_t i = 0; i < NPG; i++)
			if (!CHECK_EQ(xmem_virt2iova(va + i * PAGE4K + 5), tab[i] + 5))
				break;
		CHECK_EQ(xmem_unregister(va, NPG * PAGE4K), 0);
		check_cleared(va, NPG * PAGE4K);
	}
	/* The second block had a fine table (tab[700]); a region that now
	 * covers only part of it must not inherit the old region's units. */
	CHECK_EQ(xmem_register(va + 512 * PAGE4K, 64 * PAGE4K, tab + 512, 64, PAGE4K), 0);
	for (size_t i = 0; i < NPG; i++) {
		bool in = i >= 512 && i < 576;
		if (!CHECK_EQ(xmem_virt2iova(va + i * PAGE4K), in ? tab[i] : XMEM_BAD_IOVA))
			break;
	}
	CHECK_EQ(xmem_unregister(va + 512 * PAGE4K, 64 * PAGE4K), 0);
	/* Three regions in two blocks: [0, 1 MiB), [1 MiB, 3 MiB), [3, 4). */
	size_t cut[4] = {0, 256, 768, NPG};
	for (int r = 0; r < 3; r++)
		CHECK_EQ(xmem_register(va + cut[r] * PAGE4K, (cut[r + 1] - cut[r]) * PAGE4K,
				       tab + cut[r], cut[r + 1] - cut[r], PAGE4K), 0);
	CHECK_EQ(xmem_unregister(va + cut[1] * PAGE4K, (cut[2] - cut[1]) * PAGE4K), 0);
	for (size_t i = 0; i < NPG; i++) {
		bool gone = i >= cut[1] && i < cut[2];
		if (!CHECK_EQ(xmem_virt2iova(va + i * PAGE4K), gone ? XMEM_BAD_IOVA : tab[i]))
			break;
	}
	/* A free of translation-only memory says so. */
	errno = 0;
	xmem_free(va + 64);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(xmem_unregister(va, cut[1] * PAGE4K), 0);
	CHECK_EQ(xmem_unregister(va + cut[2] * PAGE4K, (cut[3] - cut[2]) * PAGE4K), 0);
	check_cleared(va, NPG * PAGE4K);
	xt_unmap(va, NPG * PAGE4K);
}

/* A heap of ps-byte pages (linear IOVAs): its metadata (page map, IOVA
 * table, span descriptors) stays under 0.5 % of the memory with 2 KiB
 * objects carved from all of it, over 4 KiB pages as over 2 MiB pages. */
static void heap_metadata(size_t ps)
{
	enum { LEN = 128 * MIB2 / 2 };
	size_t n = LEN / ps;
	char *va = xt_map(LEN, MIB2, PROT_READ | PROT_WRITE);
	struct xmem_heap *h = xmem_heap_create(xt_name("md"));
	static uint64_t tab[LEN / PAGE4K];
	if (!CHECK(va && h))
		return;
	for (size_t i = 0; i < n; i++)
		tab[i] = ((uint64_t)3 << 40) + (n - 1 - i) * ps;
	if (ps == PAGE4K)   /* one IOVA run per 2 MiB: spans of full size */
		for (size_t i = 0; i < n; i++)
			tab[i] = ((uint64_t)3 << 40) + (n / 512 - 1 - i / 512) * MIB2 +
				 (i % 512) * PAGE4K;
	CHECK_EQ(xmem_heap_add_memory(h, va, LEN, tab, n, ps), 0);
	static void *objs[LEN / 2048];
	size_t got = 0;
	while (got < LEN / 2048 && (objs[got] = xmem_alloc(h, 2048, 0)) != NULL)
		got++;
	CHECK_EQ(got, (size_t)LEN / 2048);
	struct xmem_heap_stats st;
	if (CHECK_OK(xmem_heap_stats(h, &st))) {
		double pct = 100.0 * (double)st.metadata_bytes / (double)LEN;
		printf("  %zu objects of 2 KiB in %zu MiB of %zu KiB pages: metadata %.3f %%\n",
		       got, (size_t)LEN >> 20, ps >> 10, pct);
		CHECK_LT(pct, 0.5);
	}
	for (size_t i = 0; i < got; i++) {
		size_t off = (size_t)((char *)objs[i] - va);
		if (!CHECK_EQ(xmem_virt2iova(objs[i]), tab[off / ps] + off % ps))
			break;
	}
	xmem_free_bulk(objs, (unsigned)got);
	CHECK_EQ(xmem_heap_remove_memory(h, va, LEN), 0);
	CHECK_EQ(xmem_heap_destroy(h), 0);
	xt_unmap(va, LEN);
}

static void heap_metadata_4k(void) { heap_metadata(PAGE4K); }
static void heap_metadata_2m(void) { heap_metadata(MIB2); }

/* ---------------------------------------------- IOVA -> VA against a model */

#define MR_SLOTS 24        /* 2 MiB slots of address space */
#define MR_PAGES 512       /* 4 KiB pages per slot */
#define MR_STEPS 400

/* The registrations a model keeps: slot -> table (or none). */
struct mr_model {
	bool on[MR_SLOTS];
	uint64_t t[MR_SLOTS][MR_PAGES];
};

/* The spec of xmem_iova2virt: among the runs (pages whose IOVAs follow
 * each other) that hold iova, the ones that start nearest below it; any
 * of them is a right answer (runs that start at the same IOVA tie).
 * Returns how many runs hold iova; *ok tells whether got is one of the
 * nearest. */
static int mr_expect(const struct mr_model *m, char *va, uint64_t iova, void *got,
		     bool *ok)
{
	uint64_t best = 0;
	int holders = 0;
	*ok = false;
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < MR_SLOTS; s++) {
			if (!m->on[s])
				continue;
			const uint64_t *t = m->t[s];
			for (size_t p = 0, q; p < MR_PAGES; p = q) {
				for (q = p + 1; q < MR_PAGES && t[p] != XMEM_BAD_IOVA &&
				     t[q] == t[q - 1] + PAGE4K; q++)
					;
				if (t[p] == XMEM_BAD_IOVA || iova < t[p] ||
				    iova - t[p] >= (q - p) * PAGE4K)
					continue;
				if (pass == 0) {
					holders++;
					best = t[p] > best ? t[p] : best;
				} else if (t[p] == best &&
					   got == va + (size_t)s * (MR_PAGES * PAGE4K) +
						  p * PAGE4K + (iova - t[p])) {
					*ok = true;
				}
			}
		}
	return holders;
}

/* A random table: linear, reversed, shuffled within a window, with holes,
 * or a copy of another slot's IOVAs (the same IOVA in two regions); IOVAs
 * drawn from a small space so that runs of different regions overlap. */
static void mr_table(struct mr_model *m, int s)
{
	uint64_t *t = m->t[s];
	uint64_t base = (uint64_t)1 << 32 | (xt_rand() % 64) * PAGE4K;
	int kind = (int)(xt_rand() % 5);
	for (size_t p = 0; p < MR_PAGES; p++) {
		switch (kind) {
		case 0:
			t[p] = base + p * PAGE4K;
			break;
		case 1:
			t[p] = base + (MR_PAGES - 1 - p) * PAGE4K;
			break;
		case 2:
			t[p] = base + ((p * 37) % MR_PAGES) * PAGE4K;
			break;
		case 3:
			t[p] = xt_rand() % 4 == 0 ? XMEM_BAD_IOVA : base + p * PAGE4K;
			break;
		default: {
			int o = (int)(xt_rand() % MR_SLOTS);
			t[p] = m->on[o] ? m->t[o][p] : base + 2 * p * PAGE4K;
		}
		}
	}
}

static void iova2virt_model(void)
{
	size_t len = (size_t)MR_SLOTS * MR_PAGES * PAGE4K;
	char *raw = mmap(NULL, len + MR_PAGES * PAGE4K, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(raw != MAP_FAILED);
	char *va = (char *)(((uintptr_t)raw + MR_PAGES * PAGE4K - 1) &
			    ~(uintptr_t)(MR_PAGES * PAGE4K - 1));
	static struct mr_model m;
	memset(&m, 0, sizeof m);
	unsigned checked = 0, found = 0;
	for (int step = 0; step < MR_STEPS; step++) {
		int s = (int)(xt_rand() % MR_SLOTS);
		char *sva = va + (size_t)s * MR_PAGES * PAGE4K;
		if (m.on[s]) {
			if (!CHECK_OK(xmem_unregister(sva, MR_PAGES * PAGE4K)))
				break;
			m.on[s] = false;
		} else {
			mr_table(&m, s);
			if (!CHECK_OK(xmem_register(sva, MR_PAGES * PAGE4K, m.t[s],
						    MR_PAGES, PAGE4K)))
				break;
			m.on[s] = true;
		}
		/* IOVAs around every run start of a few registered slots, and
		 * random ones in the space the tables draw from. */
		for (int k = 0; k < 64; k++) {
			uint64_t iova = ((uint64_t)1 << 32) +
					xt_rand() % (4 * MR_PAGES * PAGE4K);
			int o = (int)(xt_rand() % MR_SLOTS);
			if (k % 2 && m.on[o])
				iova = m.t[o][xt_rand() % MR_PAGES] +
				       (xt_rand() % 3 == 0 ? PAGE4K - 1 : xt_rand() % PAGE4K);
			if (iova == XMEM_BAD_IOVA)
				continue;
			errno = 0;
			void *got = xmem_iova2virt(iova);
			bool ok;
			int holders = mr_expect(&m, va, iova, got, &ok);
			checked++;
			if (holders == 0) {
				if (!CHECK(got == NULL && errno == ENOENT))
					goto out;
			} else {
				found++;
				if (!CHECK(ok)) {
					fprintf(stderr, "  step %d: iova %#llx -> %p, not the "
						"nearest of %d runs holding it\n", step,
						(unsigned long long)iova, got, holders);
					goto out;
				}
			}
		}
	}
out:
	printf("  %u lookups (%u translated) over %d register/unregister steps\n",
	       checked, found, MR_STEPS);
	for (int s = 0; s < MR_SLOTS; s++)
		if (m.on[s])
			CHECK_OK(xmem_unregister(va + (size_t)s * MR_PAGES * PAGE4K,
						 MR_PAGES * PAGE4K));
	munmap(raw, len + MR_PAGES * PAGE4K);
}

int main(void)
{
	xt_seed();
	xt_run("mixed_table", mixed_table);
	xt_run("bad_iova_entries", bad_iova_entries);
	xt_run("two_regions_far_apart", two_regions_far_apart);
	xt_run("across_leaves", across_leaves);
	xt_run("heap_memory", heap_memory);
	xt_run("huge_pages", huge_pages);
	xt_run("linear_distances", linear_distances);
	xt_run("whole_and_shared_blocks", whole_and_shared_blocks);
	xt_run("heap_metadata_4k", heap_metadata_4k);
	xt_run("heap_metadata_2m", heap_metadata_2m);
	xt_run("iova2virt_model", iova2virt_model);
	return xt_done();
}
