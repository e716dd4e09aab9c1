/* register_rss_test.c - what registrations of 4 KiB pages in scattered IOVA
 * order cost in resident memory.  Each such page is an IOVA run of its own,
 * so each registration replaces the IOVA search table (alloc/registry.c)
 * with one as big as every run registered so far; metadata blocks are never
 * unmapped (alloc/meta.c).  Resident memory must still stay within the
 * current table, the one it replaced and the regions' own copies, and go
 * back when it is all unregistered: freed blocks with mappings of their
 * own give their pages back.  Without that, the eighth registration below
 * holds about 74 MiB, against a bound of 42, and 78 MiB stay after the
 * last removal. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "xt.h"
#include "xt_util.h"
#include "xmem/xmem.h"

#if defined(__SANITIZE_ADDRESS__)
/* The registrations' temporary buffers (qsort's) would stay resident in
 * ASan's quarantine and be counted here. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=0";
}
#endif

#define RR_N     8                        /* registrations */
#define RR_PAGES ((size_t)65536)          /* 256 MiB of 4 KiB pages each */
#define RR_LEN   (RR_PAGES * PAGE4K)
#define MIB      ((long)1 << 20)

/* Registration k's IOVA of page i: frame i * 7919 mod n, so that no two
 * pages make a run. */
static uint64_t rr_iova(int k, size_t i)
{
	return ((uint64_t)(k + 1) << 40) + (i * 7919 % RR_PAGES) * PAGE4K;
}

/* The process's anonymous resident memory, in bytes (-1: unknown). */
static long rss_anon(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "RssAnon:", 8) == 0)
			kb = atol(line + 8);
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static void scattered_registrations(void)
{
	static uint64_t tab[RR_PAGES];
	char *va[RR_N];
	long base = rss_anon();
	if (base < 0) {
		xt_skip("no RssAnon in /proc/self/status");
		return;
	}
	for (int k = 0; k < RR_N; k++) {
		va[k] = xt_map(RR_LEN, PAGE4K, PROT_NONE);
		if (!CHECK(va[k]))
			return;
		for (size_t i = 0; i < RR_PAGES; i++)
			tab[i] = rr_iova(k, i);
		if (!CHECK_EQ(xmem_register(va[k], RR_LEN, tab, RR_PAGES, PAGE4K), 0))
			return;
		/* Per registration: its copy of the table (512 KiB) and 2 MiB of
		 * runs in the search table, which is held twice while the table
		 * it replaced waits for a grace period; 6 MiB for the rest. */
		long grown = rss_anon() - base, bound = (9 * (k + 1) / 2 + 6) * MIB;
		printf("  registration %d: resident metadata +%ld KiB (bound %ld KiB)\n",
		       k + 1, grown >> 10, bound >> 10);
		CHECK_LE(grown, bound);
	}
	/* Every translation still holds after the table was replaced so often. */
	for (int k = 0; k < RR_N; k++)
		CHECK_EQ(xmem_iova2virt(rr_iova(k, 5) + 1), (void *)(va[k] + 5 * PAGE4K + 1));
	for (int k = 0; k < RR_N; k++) {
		CHECK_EQ(xmem_unregister(va[k], RR_LEN), 0);
		xt_unmap(va[k], RR_LEN);
	}
	long left = rss_anon() - base;
	printf("  after the last removal: +%ld KiB\n", left >> 10);
	CHECK_LE(left, 4 * MIB);
}

int main(void)
{
	xt_run("scattered_registrations", scattered_registrations);
	return xt_done();
}
