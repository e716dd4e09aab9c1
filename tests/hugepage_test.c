/* hugepage_test.c - real 2 MiB hugepages through MAP_HUGETLB.
 * As root, raises /proc/sys/vm/nr_hugepages so that 16 pages are free (the
 * old value is restored at exit), maps them with MAP_HUGETLB, touches them,
 * and adds them to a heap with IOVA = physical address read from
 * /proc/self/pagemap (PFN * 4096), or, when PFNs are hidden, a synthetic
 * scattered table.  Then: per-page translation both ways, allocations of
 * many sizes are IOVA-contiguous and inside the memory, the region's NUMA
 * node is a node of this machine, zalloc zeroes real memory, removal.
 * A second pass registers the same pages translation-only.
 * When hugepages cannot be reserved it prints "SKIPPED: <why>" and exits 0.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "xt_util.h"

#define NHUGE 16
#define FREE_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define NR_PATH "/proc/sys/vm/nr_hugepages"

static long old_nr = -1;

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fprintf(f, "%ld\n", v) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void restore_nr(void)
{
	if (old_nr >= 0) {
		if (write_long(NR_PATH, old_nr) != 0)
			fprintf(stderr, "warning: could not restore %s to %ld\n", NR_PATH, old_nr);
		old_nr = -1;
	}
}

/* physical address of the page at va, or 0 when not visible */
static uint64_t phys_of(const void *va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)va / PAGE4K) * 8;
	ssize_t n = pread(fd, &e, 8, off);
	close(fd);
	if (n != 8 || !(e & (1ULL << 63)))
		return 0;
	uint64_t pfn = e & ((1ULL << 55) - 1);
	return pfn * PAGE4K;
}

static bool node_exists(int node)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/sys/devices/system/node/node%d", node);
	return node >= 0 && stat(p, &st) == 0;
}

static char *mem;
static size_t len = NHUGE * PAGE2M;
static uint64_t tab[NHUGE];
static bool real_pa;

static void case_heap(void)
{
	struct xmem_heap *h = xmem_heap_create("huge");
	if (!CHECK(h))
		return;
	if (!CHECK_OK(xmem_heap_add_memory(h, mem, len, tab, NHUGE, PAGE2M)))
		return;
	struct xmem_heap_stats s0, s1;
	xt_stats(h, &s0);
	CHECK(node_exists(s0.numa_node));
	CHECK_EQ(s0.total_bytes, len);
	for (int i = 0; i < NHUGE; i++) {
		char *pg = mem + i * PAGE2M;
		CHECK_EQ(xmem_virt2iova(pg), tab[i]);
		CHECK_EQ(xmem_virt2iova(pg + PAGE2M - 1), tab[i] + PAGE2M - 1);
		CHECK_EQ(xmem_virt2iova(pg + 377 * PAGE4K + 5), tab[i] + 377 * PAGE4K + 5);
		CHECK_EQ(xmem_iova2virt(tab[i] + 4097), (void *)(pg + 4097));
		if (real_pa)
			CHECK_EQ(phys_of(pg + 100 * PAGE4K), tab[i] + 100 * PAGE4K);
	}
	/* the longest IOVA-contiguous run decides the largest block */
	size_t best = 1, cur = 1;
	for (int i = 1; i < NHUGE; i++) {
		cur = tab[i] == tab[i - 1] + PAGE2M ? cur + 1 : 1;
		best = cur > best ? cur : best;
	}
	printf("  longest IOVA run: %zu hugepages\n", best);
	void *big = xmem_alloc(h, best * PAGE2M, PAGE2M);
	if (CHECK(big)) {
		struct xt_region reg = {.va = mem, .len = len, .page_size = PAGE2M, .iova = tab};
		xt_check_block(&reg, 1, 0, big, best * PAGE2M, PAGE2M);
		xmem_free(big);
	}
	CHECK_ALLOC_FAILS(h, best * PAGE2M + 1, 0, ENOMEM);

	struct xt_region reg = {.va = mem, .len = len, .page_size = PAGE2M, .iova = tab, .heap = 0};
	struct xt_shadow sh = {0};
	struct xt_workload w = {
		.heaps = &h, .n_heaps = 1, .regs = &reg, .n_regs = 1,
		.ops = 5000, .max_live = 300, .max_size = 256 * KiB,
		.max_align = PAGE2M,
	};
	xt_run_workload(&w, &sh);
	CHECK_GT(w.allocs, w.ops / 4);
	/* zalloc on real memory, written first */
	memset(mem, 0xEE, len);
	size_t zs = best * PAGE2M - 3 * PAGE4K;
	unsigned char *z = xmem_zalloc(h, zs, 0);
	if (CHECK(z)) {
		size_t nz = 0;
		for (size_t i = 0; i < zs; i++)
			nz += z[i] != 0;
		CHECK_EQ(nz, 0);
		xmem_free(z);
	}
	xt_stats(h, &s1);
	XT_CHECK_STATS_SAME(&s0, &s1);
	CHECK_OK(xmem_heap_remove_memory(h, mem, len));
	CHECK_EQ(xmem_virt2iova(mem), XMEM_BAD_IOVA);
	CHECK_EQ(xmem_iova2virt(tab[0]), NULL);
	CHECK_OK(xmem_heap_destroy(h));
	xt_shadow_free(&sh);
}

static void case_register(void)
{
	if (!CHECK_OK(xmem_register(mem, len, tab, NHUGE, PAGE2M)))
		return;
	for (int i = 0; i < NHUGE; i++)
		CHECK_EQ(xmem_virt2iova(mem + i * PAGE2M + 64), tab[i] + 64);
	/* 4 KiB-granular registration inside it overlaps */
	CHECK_FAILS_INT(xmem_register(mem + PAGE4K, PAGE4K, NULL, 0, PAGE4K), EEXIST);
	CHECK_OK(xmem_unregister(mem, len));
	CHECK_EQ(xmem_virt2iova(mem + 64), XMEM_BAD_IOVA);
}

int main(void)
{
	xt_seed();
	if (geteuid() != 0)
		xt_skip("not root: cannot reserve 2 MiB hugepages");
	long nr = read_long(NR_PATH), fr = read_long(FREE_PATH);
	if (nr < 0 || fr < 0)
		xt_skip("no 2 MiB hugepage support (%s / %s unreadable)", NR_PATH, FREE_PATH);
	if (fr < NHUGE) {
		if (write_long(NR_PATH, nr + (NHUGE - fr)) != 0)
			xt_skip("cannot write %s: %s", NR_PATH, strerror(errno));
		old_nr = nr;
		atexit(restore_nr);
		fr = read_long(FREE_PATH);
		if (fr < NHUGE) {
			restore_nr();
			xt_skip("only %ld free 2 MiB hugepages after raising nr_hugepages", fr);
		}
	}
	/* MAP_HUGETLB mappings are aligned to the huge page size */
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (mem == MAP_FAILED) {
		int e = errno;
		restore_nr();
		xt_skip("mmap(MAP_HUGETLB, %zu) failed: %s", len, strerror(e));
	}
	memset(mem, 0x11, len); /* touch: fault the pages in */
	real_pa = true;
	for (int i = 0; i < NHUGE; i++) {
		tab[i] = phys_of(mem + i * PAGE2M);
		if (!tab[i] || tab[i] % PAGE2M)
			real_pa = false;
	}
	if (!real_pa) {
		printf("  pagemap hides PFNs: using a synthetic IOVA table\n");
		for (int i = 0; i < NHUGE; i++)
			tab[i] = 0x10000000000ULL + (uint64_t)((i * 7) % NHUGE) * PAGE2M;
	} else {
		printf("  IOVA = physical address\n");
	}
	xt_run("hugepage_heap", case_heap);
	xt_run("hugepage_register", case_register);
	munmap(mem, len);
	restore_nr();
	return xt_done();
}
