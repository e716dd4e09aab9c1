/* remove_idle_test.c - xmem_heap_remove_memory of a chunk none of whose
 * objects is out of its spans leaves every lcore cache alone: it seizes none
 * (each seizure interrupts the data threads with membarrier(2) and sends an
 * owner that calls meanwhile to the cacheless path), while the removal of a
 * chunk whose objects sit in other lcores' caches drains each of them.
 *
 * The test counts membarrier(2) calls: it defines syscall(), which the
 * statically linked core (and liburcu's grace periods, alike in both cases)
 * call instead of libc's; every other call is passed on.
 *   - cached: three parked threads hold free objects of chunk C in their
 *     caches; removing C drains them (the objects are back in C's spans and
 *     the removal succeeds);
 *   - idle: the same threads hold free objects of another chunk only;
 *     removing C must run at least three membarriers fewer.
 * A core that drains on every removal fails the second case. */
#define _GNU_SOURCE
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
		if (xmem_alloc_bulk(heap, SIZE, objs, BURST) != 0)
			return NULL;
		xmem_free_bulk(objs, BURST);
		atomic_fetch_add(&filled, 1);
	}
}

static void wait_filled(int n)
{
	while (atomic_load(&filled) < n)
		usleep(100);
}

static void test_remove_idle_chunk_seizes_no_cache(void)
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
	long before = atomic_load(&n_membarrier);
	CHECK_EQ(xmem_heap_remove_memory(heap, c, CHUNK), 0);
	long cached = atomic_load(&n_membarrier) - before;

	/* idle: the helpers refill from M; C, added again, is never used. */
	atomic_store(&phase, 2);
	wait_filled(2 * HELPERS);
	CHECK_EQ(xmem_heap_add_memory(heap, c, CHUNK, NULL, 0, PAGE4K), 0);
	before = atomic_load(&n_membarrier);
	CHECK_EQ(xmem_heap_remove_memory(heap, c, CHUNK), 0);
	long idle = atomic_load(&n_membarrier) - before;

	printf("membarrier calls: removal of a chunk cached by %d lcores %ld, of an "
	       "idle chunk %ld\n", HELPERS, cached, idle);
	CHECK(cached >= idle + HELPERS);

	atomic_store(&phase, 3);
	for (int i = 0; i < HELPERS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(xmem_heap_remove_memory(heap, m, CHUNK), 0);
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
	xt_run("remove_idle_chunk_seizes_no_cache", test_remove_idle_chunk_seizes_no_cache);
	return xt_done();
}
