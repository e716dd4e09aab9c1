/* stats_test.c - xmem_heap_stats and xmem_heap_dump:
 *   - a new heap: name, id, zero counters, per-class sizes;
 *   - after adding memory: n_regions, total_bytes, free_bytes, largest_free;
 *   - after a mix of allocations (align 0): alloc_count == live blocks,
 *     alloc_bytes == sum of usable sizes >= sum of sizes, large_count,
 *     per-class live counts, free_bytes == total_bytes - alloc_bytes;
 *   - after freeing everything: exactly the starting values (twice over);
 *   - numa_node: a node of this machine for memory touched before adding,
 *     XMEM_NUMA_NODE_UNKNOWN for untouched and PROT_NONE memory;
 *   - xmem_heap_dump: non-empty, mentions every heap's name; NULL means
 *     stdout; a failing stream gives EIO;
 *   - stats argument errors: EINVAL.
 * Run with an IOVA table and without.
 */
#include <sys/stat.h>

#include "xt_util.h"

static bool node_exists(int node)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/sys/devices/system/node/node%d", node);
	return node >= 0 && stat(p, &st) == 0;
}

static void case_accounting(int with_table)
{
	const char *name = xt_name("stats");
	struct xmem_heap *h = xmem_heap_create(name);
	if (!CHECK(h))
		return;
	struct xmem_heap_stats e, s0, s1;
	xt_stats(h, &e);
	CHECK(strcmp(e.name, name) == 0);
	CHECK_EQ(e.id, xmem_heap_id(h));
	CHECK_EQ(e.n_regions, 0);
	CHECK_EQ(e.total_bytes, 0);
	CHECK_EQ(e.alloc_bytes, 0);
	CHECK_EQ(e.free_bytes, 0);
	CHECK_EQ(e.largest_free, 0);
	CHECK_EQ(e.alloc_count, 0);
	CHECK_EQ(e.large_count, 0);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		CHECK_EQ(e.classes[c].size, xmem_class_size(c));
		CHECK_EQ(e.classes[c].live, 0);
		CHECK_EQ(e.classes[c].spans, 0);
		CHECK_EQ(e.classes[c].span_bytes, 0);
	}
	size_t len1 = 64 * MiB, len2 = 8 * MiB;
	char *m1 = xt_map(len1, PAGE4K, PROT_READ | PROT_WRITE);
	char *m2 = xt_map(len2, PAGE2M, PROT_READ | PROT_WRITE);
	uint64_t *t1 = with_table ? xt_linear_table(0x100000000ULL, len1 / PAGE4K, PAGE4K) : NULL;
	uint64_t *t2 = with_table ? xt_linear_table(0x200000000ULL, len2 / PAGE2M, PAGE2M) : NULL;
	CHECK_OK(xmem_heap_add_memory(h, m1, len1, t1, t1 ? len1 / PAGE4K : 0, PAGE4K));
	xt_stats(h, &s0);
	CHECK_EQ(s0.n_regions, 1);
	CHECK_EQ(s0.total_bytes, len1);
	CHECK_EQ(s0.free_bytes, len1);
	CHECK_EQ(s0.largest_free, len1);
	CHECK_OK(xmem_heap_add_memory(h, m2, len2, t2, t2 ? len2 / PAGE2M : 0, PAGE2M));
	xt_stats(h, &s0);
	CHECK_EQ(s0.n_regions, 2);
	CHECK_EQ(s0.total_bytes, len1 + len2);
	CHECK_EQ(s0.free_bytes, len1 + len2);
	CHECK_EQ(s0.alloc_bytes, 0);
	CHECK_EQ(s0.alloc_count, 0);
	CHECK_EQ(s0.largest_free, len1);
	CHECK_GT(s0.metadata_bytes, 0);

	for (int round = 0; round < 2; round++) {
		enum { NB = 3000 };
		static void *blk[NB];
		static size_t sz[NB];
		uint64_t live[XMEM_NUM_CLASSES] = {0}, large = 0;
		size_t sum_size = 0, sum_usable = 0;
		int n = 0;
		for (int i = 0; i < NB; i++) {
			size_t s = xt_rand_size(200 * KiB);
			void *p = xmem_alloc(h, s, 0);
			if (!p) {
				CHECK_EQ(errno, ENOMEM);
				continue;
			}
			blk[n] = p;
			sz[n] = s;
			n++;
			sum_size += s;
			sum_usable += xmem_usable_size(p);
			if (s <= XMEM_MAX_CLASS_SIZE)
				live[xmem_size_class(s)]++;
			else
				large++;
			/* free a third as we go */
			if (xt_range(0, 2) == 0) {
				int k = xt_range(0, n - 1);
				size_t ks = sz[k];
				sum_size -= ks;
				sum_usable -= xmem_usable_size(blk[k]);
				if (ks <= XMEM_MAX_CLASS_SIZE)
					live[xmem_size_class(ks)]--;
				else
					large--;
				xmem_free(blk[k]);
				blk[k] = blk[n - 1];
				sz[k] = sz[n - 1];
				n--;
			}
		}
		CHECK_GT(n, NB / 3);
		xt_stats(h, &s1);
		CHECK_EQ(s1.alloc_count, (uint64_t)n);
		CHECK_GE(s1.alloc_bytes, sum_size);
		CHECK_EQ(s1.alloc_bytes, sum_usable);
		CHECK_EQ(s1.large_count, large);
		CHECK_EQ(s1.free_bytes, s1.total_bytes - s1.alloc_bytes);
		CHECK_EQ(s1.total_bytes, len1 + len2);
		CHECK_EQ(s1.n_regions, 2);
		CHECK_LE(s1.largest_free, s1.free_bytes);
		for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
			if (!CHECK_EQ(s1.classes[c].live, live[c]))
				fprintf(stderr, "  class %d (%zu B)\n", c, xmem_class_size(c));
			if (live[c]) {
				CHECK_GE(s1.classes[c].spans, 1);
				CHECK_GE(s1.classes[c].span_bytes, live[c] * xmem_class_size(c));
			}
		}
		/* the dump mentions the heap */
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);
		if (CHECK(f)) {
			CHECK_OK(xmem_heap_dump(f));
			fclose(f);
			CHECK_GT(blen, 0);
			CHECK(buf && strstr(buf, name) != NULL);
			free(buf);
		}
		for (int i = 0; i < n; i++)
			xmem_free(blk[i]);
		xt_stats(h, &s1);
		XT_CHECK_STATS_SAME(&s0, &s1);
	}
	CHECK_OK(xmem_heap_remove_memory(h, m1, len1));
	xt_stats(h, &s1);
	CHECK_EQ(s1.n_regions, 1);
	CHECK_EQ(s1.total_bytes, len2);
	CHECK_EQ(s1.free_bytes, len2);
	CHECK_OK(xmem_heap_remove_memory(h, m2, len2));
	xt_stats(h, &s1);
	CHECK_EQ(s1.n_regions, 0);
	CHECK_EQ(s1.total_bytes, 0);
	CHECK_EQ(s1.free_bytes, 0);
	CHECK_EQ(s1.largest_free, 0);
	CHECK_OK(xmem_heap_destroy(h));
	free(t1);
	free(t2);
	xt_unmap(m1, len1);
	xt_unmap(m2, len2);
}

static int node_of(char *m, size_t len, size_t ps, int prot_touch)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("numa"));
	int node = -2;
	if (!CHECK(h))
		return node;
	(void)prot_touch;
	struct xmem_heap_stats s;
	if (CHECK_OK(xmem_heap_add_memory(h, m, len, NULL, 0, ps))) {
		if (xt_stats(h, &s))
			node = s.numa_node;
		CHECK_OK(xmem_heap_remove_memory(h, m, len));
	}
	CHECK_OK(xmem_heap_destroy(h));
	return node;
}

static void case_numa(void)
{
	size_t len = 4 * MiB;
	char *touched = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	memset(touched, 1, len);
	int n = node_of(touched, len, PAGE4K, 1);
	if (!CHECK(node_exists(n)))
		fprintf(stderr, "  touched memory: node %d\n", n);
	char *untouched = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	CHECK_EQ(node_of(untouched, len, PAGE4K, 0), XMEM_NUMA_NODE_UNKNOWN);
	char *none = xt_map(len, PAGE4K, PROT_NONE);
	CHECK_EQ(node_of(none, len, PAGE4K, 0), XMEM_NUMA_NODE_UNKNOWN);
	/* 2 MiB page size over touched ordinary memory */
	char *t2 = xt_map(len, PAGE2M, PROT_READ | PROT_WRITE);
	memset(t2, 1, len);
	CHECK(node_exists(node_of(t2, len, PAGE2M, 1)));
	/* and untouched memory stayed untouched (no page faulted in) */
	unsigned char vec[4 * MiB / 4096];
	if (CHECK_OK(mincore(untouched, len, vec))) {
		size_t res = 0;
		for (size_t i = 0; i < sizeof vec; i++)
			res += vec[i] & 1;
		CHECK_EQ(res, 0);
	}
	xt_unmap(touched, len);
	xt_unmap(untouched, len);
	xt_unmap(none, len);
	xt_unmap(t2, len);
}

static void case_dump(void)
{
	struct xmem_heap *a = xmem_heap_create("dump-alpha");
	struct xmem_heap *b = xmem_heap_create("dump-beta");
	if (!CHECK(a && b))
		return;
	char *m = xt_map(4 * MiB, PAGE4K, PROT_READ | PROT_WRITE);
	CHECK_OK(xmem_heap_add_memory(a, m, 4 * MiB, NULL, 0, PAGE4K));
	void *p = xmem_alloc(a, 100, 0);
	CHECK(p);
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	CHECK_OK(xmem_heap_dump(f));
	fclose(f);
	CHECK(buf && strstr(buf, "dump-alpha") && strstr(buf, "dump-beta"));
	free(buf);
	/* tmpfile works too */
	f = tmpfile();
	CHECK_OK(xmem_heap_dump(f));
	CHECK_GT(ftell(f), 0);
	fclose(f);
	/* NULL: stdout */
	fflush(stdout);
	CHECK_OK(xmem_heap_dump(NULL));
	fflush(stdout);
	/* a stream whose writes fail: EIO */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		CHECK_FAILS_INT(xmem_heap_dump(f), EIO);
		fclose(f);
	}
	xmem_free(p);
	CHECK_OK(xmem_heap_remove_memory(a, m, 4 * MiB));
	CHECK_OK(xmem_heap_destroy(a));
	CHECK_OK(xmem_heap_destroy(b));
	xt_unmap(m, 4 * MiB);
}

static void case_args(void)
{
	struct xmem_heap_stats s;
	struct xmem_heap *h = xmem_heap_create(xt_name("sargs"));
	CHECK_FAILS_INT(xmem_heap_stats(NULL, &s), EINVAL);
	CHECK_FAILS_INT(xmem_heap_stats(h, NULL), EINVAL);
	CHECK_OK(xmem_heap_destroy(h));
}

int main(void)
{
	xt_seed();
	xt_run_arg("accounting[table]", case_accounting, 1);
	xt_run_arg("accounting[no table]", case_accounting, 0);
	xt_run("numa_node", case_numa);
	xt_run("dump", case_dump);
	xt_run("stats_args", case_args);
	return xt_done();
}
