/* w_curves.c - how xmem's costs grow (xmem only; not a Google Benchmark,
 * each point timed with the monotonic clock over many calls):
 *   - over 1, 4, 16 and 64 GiB added to one heap (anonymous, MAP_NORESERVE,
 *     never touched: xmem keeps its metadata out of band; 2 MiB pages with a
 *     scattered IOVA table): xmem_heap_add_memory time per GiB, the heap's
 *     metadata per GiB, xmem_virt2iova at random addresses over the whole
 *     range, the burst (32 x 2 KiB alloc + free), and the free cost of 4096
 *     live objects freed in a shuffled order, 32 at a time;
 *   - burst cost with 1, 8, 32 and 128 heaps in use by one thread (the heaps
 *     other workloads keep and 8 MiB ones; bursts go round-robin);
 *   - translation memory: the process's RSS growth per GiB registered with
 *     xmem_register (over 8 GiB), for 4 KiB pages (an IOVA per page, a
 *     scattered table) and 2 MiB pages; and the empty heap's metadata_bytes
 *     per GiB for both.
 * --quick stops at 4 GiB and 8 heaps. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench.h"
#include "xmem/xmem.h"

#define MIB2      ((size_t)2 << 20)
#define N_ADDRS   65536
#define N_LIVE    4096

static struct xb_curves g_cv;

const struct xb_curves *xb_curves_result(void)
{
	return &g_cv;
}

/* len bytes, 2 MiB aligned, PROT_READ|WRITE, MAP_NORESERVE: nothing is
 * touched, so nothing is committed. */
static char *reserve(size_t len)
{
	char *raw = mmap(NULL, len + MIB2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)raw + MIB2 - 1) & ~(uintptr_t)(MIB2 - 1));
	if (a > raw)
		munmap(raw, (size_t)(a - raw));
	munmap(a + len, (size_t)(raw + len + MIB2 - (a + len)));
	return a;
}

/* 1 GiB at a fixed, 1 GiB-aligned address far from everything else (64 TiB
 * + slot GiB), so that it is exactly one page-map leaf that nothing in this
 * process touched before.  NULL when that address is taken. */
static char *reserve_leaf(int slot)
{
	void *want = (void *)(((uintptr_t)1 << 46) + (uintptr_t)slot * XB_GIB);
	void *p = mmap(want, XB_GIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (p != want) {   /* a kernel without MAP_FIXED_NOREPLACE treats it as a hint */
		munmap(p, XB_GIB);
		return NULL;
	}
	return p;
}

/* One IOVA per page, scattered (page i gets frame i * 7919 mod n). */
static uint64_t *iova_table(size_t n, size_t page)
{
	uint64_t *t = malloc(n * sizeof *t);
	for (size_t i = 0; t != NULL && i < n; i++)
		t[i] = ((uint64_t)1 << 40) + ((i * 7919) % n) * page;
	return t;
}

static long rss_bytes(void)
{
	long pages = -1, rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = -1;
		fclose(f);
	}
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

static double lookups(const char *va, size_t len, uint64_t *seed, int reps)
{
	static const void *addr[N_ADDRS];
	uint64_t acc = 0;
	for (int i = 0; i < N_ADDRS; i++)
		addr[i] = va + xb_rand64(seed) % len;
	double t0 = xb_now();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < N_ADDRS; i++)
			acc += xmem_virt2iova(addr[i]);
	xb_keep(acc);
	return (xb_now() - t0) * 1e9 / ((double)reps * N_ADDRS);
}

/* ns per object of n bursts over heaps h[0..nh-1], round-robin. */
static double bursts(struct xmem_heap **h, int nh, long n)
{
	void *o[XB_BURST];
	double t0 = xb_now();
	for (long b = 0; b < n; b++) {
		if (xmem_alloc_bulk(h[b % nh], XB_OBJ_SIZE, o, XB_BURST) != 0)
			return -1;
		xb_escape(o);
		xmem_free_bulk(o, XB_BURST);
	}
	return (xb_now() - t0) * 1e9 / ((double)n * XB_BURST);
}

/* ns per object freeing N_LIVE live objects in a shuffled order. */
static double shuffled_frees(struct xmem_heap *h, int reps, uint64_t *seed)
{
	static void *o[N_LIVE];
	double t = 0;
	for (int r = -1; r < reps; r++) {   /* r = -1: warm-up, not counted */
		for (int i = 0; i < N_LIVE; i += XB_BURST)
			if (xmem_alloc_bulk(h, XB_OBJ_SIZE, &o[i], XB_BURST) != 0)
				return -1;
		for (int i = N_LIVE - 1; i > 0; i--) {
			int j = (int)(xb_rand64(seed) % (uint64_t)(i + 1));
			void *x = o[i];
			o[i] = o[j];
			o[j] = x;
		}
		double t0 = xb_now();
		for (int i = 0; i < N_LIVE; i += XB_BURST)
			xmem_free_bulk(&o[i], XB_BURST);
		if (r >= 0)
			t += xb_now() - t0;
	}
	return t * 1e9 / ((double)reps * N_LIVE);
}

static int size_point(const struct xb_cfg *cfg, int k, size_t gib, uint64_t *seed)
{
	size_t len = gib * XB_GIB, n = len / MIB2;
	char *va = reserve(len);
	uint64_t *iova = iova_table(n, MIB2);
	struct xmem_heap *h = NULL;
	struct xmem_heap_stats st;
	int rc = -1;

	if (va == NULL || iova == NULL) {
		snprintf(g_cv.note, sizeof g_cv.note, "%zu GiB: %s", gib, strerror(errno));
		goto out;
	}
	h = xmem_heap_create("xb_curve");
	double t0 = xb_now();
	if (h == NULL || xmem_heap_add_memory(h, va, len, iova, n, MIB2) != 0) {
		snprintf(g_cv.note, sizeof g_cv.note, "%zu GiB add: %s", gib, strerror(errno));
		goto out;
	}
	g_cv.add_ms_per_gib[k] = (xb_now() - t0) * 1e3 / (double)gib;
	if (xmem_heap_stats(h, &st) == 0)
		g_cv.meta_per_gib[k] = (double)st.metadata_bytes / (double)gib;
	g_cv.tr_ns[k] = lookups(va, len, seed, cfg->quick ? 1 : 8);
	bursts(&h, 1, 1000);
	g_cv.burst_ns[k] = bursts(&h, 1, cfg->quick ? 20000 : 400000);
	g_cv.free_ns[k] = shuffled_frees(h, cfg->quick ? 2 : 32, seed);
	xmem_heap_trim(h);
	if (xmem_heap_remove_memory(h, va, len) != 0) {
		snprintf(g_cv.note, sizeof g_cv.note, "%zu GiB remove: %s", gib, strerror(errno));
		h = NULL;   /* still owns the range: leave both */
		va = NULL;
		goto out;
	}
	rc = g_cv.burst_ns[k] > 0 && g_cv.free_ns[k] > 0 ? 0 : -1;
out:
	if (h != NULL)
		xmem_heap_destroy(h);
	if (va != NULL)
		munmap(va, len);
	free(iova);
	return rc;
}

/* Heaps in use: the heaps other workloads keep (the xmem peer's "xb_bench",
 * the NUMA workload's) plus heaps of 8 MiB made here, up to XMEM_MAX_HEAPS
 * in all. */
static void heaps_curve(const struct xb_cfg *cfg)
{
	static const int counts[] = {1, 8, 32, 128};
	int max = cfg->quick ? 8 : 128;
	size_t chunk = (size_t)8 << 20;
	char *va = reserve((size_t)max * chunk);
	struct xmem_heap *h[128];
	int made = 0, own = 0;

	if (va == NULL)
		return;
	/* Heaps other workloads keep count too (they hold memory for bursts). */
	for (int id = 0; id < XMEM_MAX_HEAPS && own < max; id++) {
		void *o[XB_BURST];
		struct xmem_heap *x = xmem_heap_from_id(id);
		if (x != NULL && xmem_alloc_bulk(x, XB_OBJ_SIZE, o, XB_BURST) == 0) {
			xmem_free_bulk(o, XB_BURST);
			h[own++] = x;
		}
	}
	for (int i = own; i < max; i++, made++) {
		char name[32];
		snprintf(name, sizeof name, "xb_curve%d", i);
		h[i] = xmem_heap_create(name);
		if (h[i] == NULL ||
		    xmem_heap_add_memory(h[i], va + (size_t)i * chunk, chunk, NULL, 0, MIB2) != 0) {
			snprintf(g_cv.note, sizeof g_cv.note, "heap %d: %s", i, strerror(errno));
			if (h[i] != NULL)
				xmem_heap_destroy(h[i]);
			break;
		}
	}
	int total = own + made;
	for (size_t k = 0; k < sizeof counts / sizeof counts[0] && counts[k] <= total; k++) {
		bursts(h, counts[k], (long)counts[k] * 64);   /* each heap's caches warm */
		g_cv.heaps[g_cv.n_heaps] = counts[k];
		g_cv.heaps_ns[g_cv.n_heaps++] = bursts(h, counts[k], cfg->quick ? 20000 : 400000);
	}
	int left = 0;
	for (int i = own; i < total; i++) {
		xmem_heap_trim(h[i]);
		if (xmem_heap_remove_memory(h[i], va + (size_t)i * chunk, chunk) == 0)
			xmem_heap_destroy(h[i]);
		else
			left = 1;
	}
	if (!left)
		munmap(va, (size_t)max * chunk);
}

/* RSS growth per GiB of xmem_register for page size `page`: PM_RANGES
 * ranges of 1 GiB registered one after another, the growth summed and
 * divided, so the metadata allocator's slab-sized steps are spread over
 * several GiB instead of landing on one.  Each range is one leaf of its own
 * that nothing touched before (reserve_leaf: leaves are never freed, so a
 * range whose leaf was touched earlier would show nothing).  Then the empty heap's metadata per GiB over the
 * first range. */
#define PM_RANGES 8
static void pagemap_point(size_t page, int first_slot, double *rss_per_gib,
			  double *meta_per_gib)
{
	size_t n = XB_GIB / page;
	uint64_t *iova = iova_table(n, page);
	char *va[PM_RANGES] = {0};
	struct xmem_heap_stats st;
	long grown = 0;
	int k, ok = iova != NULL;

	*rss_per_gib = *meta_per_gib = -1;
	for (k = 0; k < PM_RANGES && ok; k++)
		ok = (va[k] = reserve_leaf(first_slot + k)) != NULL;
	for (k = 0; k < PM_RANGES && ok; k++) {
		long r0 = rss_bytes();
		ok = xmem_register(va[k], XB_GIB, iova, n, page) == 0;
		long r1 = rss_bytes();
		ok = ok && r0 >= 0 && r1 >= 0;
		grown += r1 - r0;
	}
	if (ok)
		*rss_per_gib = (double)grown / PM_RANGES;
	while (k-- > 0)
		xmem_unregister(va[k], XB_GIB);
	struct xmem_heap *h = ok ? xmem_heap_create("xb_curve_pm") : NULL;
	if (h != NULL && xmem_heap_add_memory(h, va[0], XB_GIB, iova, n, page) == 0) {
		if (xmem_heap_stats(h, &st) == 0)
			*meta_per_gib = (double)st.metadata_bytes;
		xmem_heap_remove_memory(h, va[0], XB_GIB);
	}
	if (h != NULL)
		xmem_heap_destroy(h);
	for (k = 0; k < PM_RANGES; k++)
		if (va[k] != NULL)
			munmap(va[k], XB_GIB);
	free(iova);
}

void xb_w_curves_run(const struct xb_cfg *cfg)
{
	static const size_t sizes[] = {1, 4, 16, 64};
	uint64_t seed = 0xc0ffee;

	memset(&g_cv, 0, sizeof g_cv);
	g_cv.ran = 1;
	pagemap_point(MIB2, 0, &g_cv.pm_rss_2m, &g_cv.pm_meta_2m);
	pagemap_point(XB_PAGE, PM_RANGES, &g_cv.pm_rss_4k, &g_cv.pm_meta_4k);
	if (g_cv.pm_rss_2m < 0 || g_cv.pm_rss_4k < 0)
		snprintf(g_cv.note, sizeof g_cv.note, "translation memory not measured: the "
			 "address range at 64 TiB was taken or registration failed");
	printf("  translation memory per GiB: 4 KiB pages %.0f KiB RSS, %.0f KiB heap "
	       "metadata; 2 MiB pages %.0f KiB RSS, %.0f KiB heap metadata\n",
	       g_cv.pm_rss_4k / 1024, g_cv.pm_meta_4k / 1024, g_cv.pm_rss_2m / 1024,
	       g_cv.pm_meta_2m / 1024);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		if (cfg->quick && sizes[k] > 4)
			break;
		if (size_point(cfg, (int)k, sizes[k], &seed) != 0)
			break;
		g_cv.gib[k] = (double)sizes[k];
		g_cv.n_sizes = (int)k + 1;
		printf("  %2zu GiB: add %.2f ms/GiB, metadata %.0f KiB/GiB, virt2iova %.2f ns, "
		       "burst %.3f ns/obj, shuffled free %.2f ns/obj\n", sizes[k],
		       g_cv.add_ms_per_gib[k], g_cv.meta_per_gib[k] / 1024, g_cv.tr_ns[k],
		       g_cv.burst_ns[k], g_cv.free_ns[k]);
		fflush(stdout);
	}
	heaps_curve(cfg);
	for (int k = 0; k < g_cv.n_heaps; k++)
		printf("  %3d heaps: burst %.3f ns/obj\n", g_cv.heaps[k], g_cv.heaps_ns[k]);
	g_cv.valid = g_cv.n_sizes >= 2 && g_cv.n_heaps >= 2;
}
