/* prot_none_test.c - invariant 1, out-of-band metadata: an address range
 * mapped PROT_NONE (MAP_NORESERVE) is added to heaps (4 KiB pages with an
 * IOVA table, 2 MiB pages without one), then the random alloc/free workload,
 * bulk alloc/free, usable_size, translation, stats, dump, invalid frees into
 * the range, and removal all run over it.  Any access to the range faults;
 * a SIGSEGV/SIGBUS handler reports the address and fails the test.  The
 * region's NUMA node must be XMEM_NUMA_NODE_UNKNOWN (nothing is resident).
 * Also: a range that is not mapped at all (reserved, then unmapped) works
 * the same way for register/translation.
 */
#include <signal.h>

#include "xt_util.h"

static char *g_lo, *g_hi;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char buf[200];
	char *a = si->si_addr;
	int n = snprintf(buf, sizeof buf,
			 "FATAL: signal %d at %p (%s the PROT_NONE heap memory)\n"
			 "FAIL prot_none\n",
			 sig, (void *)a, (a >= g_lo && a < g_hi) ? "inside" : "outside");
	if (write(2, buf, n) < 0 || write(1, buf, n) < 0) {
	}
	_exit(1);
}

static void quiet(const char *line) { (void)line; }

static void case_prot_none(void)
{
	size_t len4k = 64 * MiB, len2m = 64 * MiB;
	char *a = xt_map(len4k, PAGE4K, PROT_NONE);
	char *b = xt_map(len2m, PAGE2M, PROT_NONE);
	g_lo = a < b ? a : b;
	g_hi = (a < b ? b + len2m : a + len4k);
	struct xmem_heap *h[2] = {xmem_heap_create(xt_name("pn0")),
				  xmem_heap_create(xt_name("pn1"))};
	if (!CHECK(h[0] && h[1]))
		return;
	struct xt_region reg[2] = {
		{.va = a, .len = len4k, .page_size = PAGE4K, .heap = 0,
		 .iova = xt_linear_table(0x100000000ULL, len4k / PAGE4K, PAGE4K)},
		{.va = b, .len = len2m, .page_size = PAGE2M, .heap = 1, .iova = NULL},
	};
	CHECK_OK(xmem_heap_add_memory(h[0], a, len4k, reg[0].iova, len4k / PAGE4K, PAGE4K));
	CHECK_OK(xmem_heap_add_memory(h[1], b, len2m, NULL, 0, PAGE2M));
	struct xmem_heap_stats s0[2], s1;
	for (int i = 0; i < 2; i++) {
		xt_stats(h[i], &s0[i]);
		CHECK_EQ(s0[i].numa_node, XMEM_NUMA_NODE_UNKNOWN);
		CHECK_EQ(s0[i].total_bytes, 64 * MiB);
	}
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = h, .n_heaps = 2, .regs = reg, .n_regs = 2,
		.ops = 20000, .max_live = 1000, .max_size = 300 * KiB,
		.max_align = PAGE4K, .keep = true,
	};
	xt_run_workload(&w, &sh);
	printf("  %u allocs, %u ENOMEM, %zu live\n", w.allocs, w.enomem, sh.n);
	CHECK_GT(w.allocs, w.ops / 3);
	for (int i = 0; i < 2; i++)
		CHECK(xt_stats(h[i], &s1));
	/* dump with live blocks */
	FILE *f = tmpfile();
	CHECK_OK(xmem_heap_dump(f));
	fclose(f);
	/* bulk over it */
	void *objs[100];
	for (int i = 0; i < 2; i++) {
		if (CHECK_OK(xmem_alloc_bulk(h[i], 700, objs, 100))) {
			for (int j = 0; j < 100; j++)
				xt_check_block(reg, 2, i, objs[j], 700, 0);
			xmem_free_bulk(objs, 100);
		}
	}
	/* invalid frees into the range are reported, nothing is touched:
	 * in checked mode (which first trims every heap: drains the caches
	 * over PROT_NONE memory) interior pointers of any live block */
	int was = xmem_set_checked(1);
	xmem_set_log(quiet);
	uint64_t inv = xmem_invalid_free_count();
	unsigned tried = 0;
	for (size_t i = 0; i < sh.n && tried < 20; i += 1 + sh.n / 20, tried++)
		xmem_free((char *)sh.v[i].s + 1); /* odd: never a block start */
	xmem_set_log(NULL);
	CHECK_EQ(xmem_invalid_free_count(), inv + tried);
	CHECK_OK(xmem_heap_trim(h[0]));
	CHECK_OK(xmem_heap_trim(h[1]));
	xmem_set_checked(was);
	/* free everything */
	while (sh.n) {
		struct xt_iv iv = xt_shadow_remove_at(&sh, xt_range(0, sh.n - 1));
		xmem_free((void *)iv.s);
	}
	for (int i = 0; i < 2; i++) {
		if (xt_stats(h[i], &s1))
			XT_CHECK_STATS_SAME(&s0[i], &s1);
		CHECK_OK(xmem_heap_remove_memory(h[i], reg[i].va, reg[i].len));
		CHECK_EQ(xmem_virt2iova(reg[i].va), XMEM_BAD_IOVA);
		CHECK_OK(xmem_heap_destroy(h[i]));
	}
	/* register / unregister over PROT_NONE, with a table */
	CHECK_OK(xmem_register(a, len4k, reg[0].iova, len4k / PAGE4K, PAGE4K));
	CHECK_EQ(xmem_virt2iova(a + 5 * PAGE4K + 1), reg[0].iova[5] + 1);
	CHECK_OK(xmem_unregister(a, len4k));
	xt_shadow_free(&sh);
	free(reg[0].iova);
	xt_unmap(a, len4k);
	xt_unmap(b, len2m);
}

/* A range with nothing mapped at all behind it: register, translate,
 * unregister; add to a heap, allocate, free, remove. */
static void case_unmapped(void)
{
	size_t len = 32 * MiB;
	char *a = xt_map(len, PAGE2M, PROT_NONE);
	xt_unmap(a, len);
	g_lo = a;
	g_hi = a + len;
	uint64_t *t = xt_linear_table(0x200000000ULL, len / PAGE2M, PAGE2M);
	if (CHECK_OK(xmem_register(a, len, t, len / PAGE2M, PAGE2M))) {
		CHECK_EQ(xmem_virt2iova(a + PAGE2M + 12345), t[1] + 12345);
		CHECK_EQ(xmem_iova2virt(t[3] + 7), (void *)(a + 3 * PAGE2M + 7));
		CHECK_OK(xmem_unregister(a, len));
	}
	struct xmem_heap *h = xmem_heap_create(xt_name("unmapped"));
	if (CHECK(h) && CHECK_OK(xmem_heap_add_memory(h, a, len, t, len / PAGE2M, PAGE2M))) {
		struct xmem_heap_stats s;
		xt_stats(h, &s);
		CHECK_EQ(s.numa_node, XMEM_NUMA_NODE_UNKNOWN);
		void *p = xmem_alloc(h, 5000, 0);
		void *q = xmem_alloc(h, 3 * MiB, 0);
		CHECK(p && q);
		xmem_free(p);
		xmem_free(q);
		CHECK_OK(xmem_heap_remove_memory(h, a, len));
	}
	if (h)
		CHECK_OK(xmem_heap_destroy(h));
	free(t);
}

int main(void)
{
	xt_seed();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	xt_run("prot_none", case_prot_none);
	xt_run("unmapped", case_unmapped);
	return xt_done();
}
