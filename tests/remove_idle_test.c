/* remove_idle_test.c - what xmem_heap_remove_memory costs the data threads,
 * counted in membarrier(2) calls (each one interrupts every running thread
 * of the process): the removal of a chunk none of whose objects is out of
 * its spans seizes no lcore cache (a seizure is one membarrier, and an owner
 * that calls meanwhile takes the cacheless path), and the removal of a chunk
 * nothing was ever carved from waits for no grace period either.
 *
 * The test defines syscall(), which the statically linked core and
 * liburcu's grace periods call instead of libc's, and counts the membarrier
 * commands that interrupt threads; every call is passed on.
 *   - cached: three parked threads hold free objects of chunk C in their
 *     caches; removing C drains them (the objects go back to C's spans and
 *     the removal succeeds);
 *   - fresh: the threads refill from chunk M; C, added again and never
 *     carved from, is removed;
 *   - idle: C added again, with a span carved from it whose objects are all
 *     back in it (checked mode frees into spans), while the threads still
 *     have caches of the heap: no cache may be seized, so at least three
 *     membarriers fewer than "cached", and "fresh" fewer still (no grace
 *     period before the unpublishing one);
 *   - after a fresh removal the chunk can be added again and every object
 *     of it allocated (its removal then fails with EBUSY).
 * A fresh removal that fails later (a device unmap, EIO) must give the
 * units back: tests/iommu/unmap_fail_test allocates from such a chunk.
 * A core that drains on every removal fails the second case; one that
 * waits a grace period first on every removal fails the third. */
#include <dlfcn.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xt_util.h"

static atomic_long n_membarrier;

long syscall(long nr, ...)
{
	static long (*next)(long, ...);
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_membarrier && (a[0] == MEMBARRIER_CMD_PRIVATE_EXPEDITED ||
				      a[0] == MEMBARRIER_CMD_GLOBAL_EXPEDITED))
		atomic_fetch_add(&n_membarrier, 1);
	if (!next)
		next = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#define CHUNK   ((size_t)2 << 20)
#define HELPERS 3
#define BURST   32
#define SIZE    2048

static struct xmem_heap *heap;
static atomic_int phase;        /* main: 1, 2 = fill caches; 3 = exit */
static atomic_int filled;       /* helpers done with the current phase */
static atomic_int helper_failed;

/* Each helper allocates a burst and frees it: the objects stay in its cache.
 * Then it parks (outside the library) until the next phase. */
static void *helper(void *arg)
{
	(void)arg;
	void *objs[BURST];
	for (int seen = 0;;) {
		int p;
		while ((p = atomic_load(&phase)) == seen)
			usleep(100);
		if (p == 3)
			return NULL;
		seen = p;
		if (xmem_alloc_bulk(heap, SIZE, objs, BURST) == 0)
			xmem_free_bulk(objs, BURST);
		else
			atomic_store(&helper_failed, 1);
		atomic_fetch_add(&filled, 1);   /* counted either way: main waits */
	}
}

static void wait_filled(int n)
{
	while (atomic_load(&filled) < n)
		usleep(100);
}

static bool in(const void *p, const char *base)
{
	return (const char *)p >= base && (const char *)p < base + CHUNK;
}

static long removal_cost(char *va)
{
	long before = atomic_load(&n_membarrier);
	CHECK_EQ(xmem_heap_remove_memory(heap, va, CHUNK), 0);
	return atomic_load(&n_membarrier) - before;
}

static void test_removal_interrupts(void)
{
	char *c = xt_map(CHUNK, PAGE4K, PROT_READ | PROT_WRITE);
	char *m = xt_map(CHUNK, PAGE4K, PROT_READ | PROT_WRITE);
	CHECK(c != NULL && m != NULL);
	heap = xmem_heap_create(xt_name("remove-idle"));
	CHECK(heap != NULL);
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	pthread_t t[HELPERS];
	for (int i = 0; i < HELPERS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, helper, NULL), 0);

	/* cached: the helpers' caches hold objects of C, the heap's only
	 * chunk; M is added afterwards, so the removal can go on. */
	atomic_store(&phase, 1);
	wait_filled(HELPERS);
	CHECK_EQ(xmem_heap_add_memory(heap, m, CHUNK, NULL, 0, PAGE4K), 0);
	long cached = removal_cost(c);

	/* fresh: the helpers refill from M; C is added again and never
	 * carved from. */
	atomic_store(&phase, 2);
	wait_filled(2 * HELPERS);
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	long fresh = removal_cost(c);

	/* idle: C again, with a span carved from it whose objects are all
	 * back in it.  Large blocks fill M first (chunks are carved first
	 * fit), so the span of a new class comes from C; in checked mode its
	 * objects go back into the span when freed, not into a cache. */
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	void *big[CHUNK / (256 * KiB)];
	unsigned nbig = 0;
	for (;;) {
		void *b = xmem_alloc(heap, 256 * KiB, 0);
		CHECK(b != NULL);
		if (!b || !in(b, m)) {
			xmem_free(b);
			break;
		}
		big[nbig++] = b;
	}
	xmem_set_checked(1);
	void *own[BURST];
	CHECK_EQ(xmem_alloc_bulk(heap, 4096, own, BURST), 0);
	bool in_c = true;
	for (int i = 0; i < BURST; i++)
		in_c = in_c && in(own[i], c);
	CHECK(in_c);
	xmem_free_bulk(own, BURST);
	xmem_set_checked(0);
	long idle = removal_cost(c);
	for (unsigned i = 0; i < nbig; i++)
		xmem_free(big[i]);

	printf("membarrier calls per removal: chunk cached by %d lcores %ld, chunk with "
	       "spans and every object in them %ld, chunk never carved from %ld\n",
	       HELPERS, cached, idle, fresh);
	CHECK(!atomic_load(&helper_failed));
	CHECK(cached >= idle + HELPERS);
	CHECK(fresh < idle);

	/* After a fresh removal, C serves again: all of it (its removal then
	 * fails with EBUSY), then removed. */
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	CHECK(removal_cost(c) < idle);   /* fresh again */
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	atomic_store(&phase, 3);
	for (int i = 0; i < HELPERS; i++)
		pthread_join(t[i], NULL);     /* their caches go to the depot */
	CHECK_EQ(xmem_heap_trim(heap), 0);
	removal_cost(m);   /* M idle now (C is the only chunk left) */
	static void *all[CHUNK / SIZE];
	unsigned got = 0;
	while (got < CHUNK / SIZE && xmem_alloc_bulk(heap, SIZE, all + got, 1) == 0)
		got++;
	CHECK_EQ(got, CHUNK / SIZE);
	CHECK_FAILS_INT(xmem_heap_remove_memory(heap, c, CHUNK), EBUSY);
	xmem_free_bulk(all, got);
	CHECK_EQ(xmem_heap_remove_memory(heap, c, CHUNK), 0);
	CHECK_EQ(xmem_heap_destroy(heap), 0);
	xt_unmap(c, CHUNK);
	xt_unmap(m, CHUNK);
}

int main(void)
{
	const char *nm = getenv("XMEM_NO_MEMBARRIER"), *ck = getenv("XMEM_CHECKED");
	if ((nm && nm[0] == '1') || (ck && ck[0] == '1'))
		xt_skip("XMEM_NO_MEMBARRIER=1 or XMEM_CHECKED=1: no cache to seize "
			"with membarrier(2)");
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0) <= 0)
		xt_skip("membarrier(2) is not available: the core drains with "
			"seq_cst fences, nothing to count");
	xt_run("removal_interrupts", test_removal_interrupts);
	return xt_done();
}
