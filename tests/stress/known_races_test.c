/* known_races_test.c - the two library races the stress test found, each
 * reduced to a deterministic two-thread schedule.  Both were data races that
 * ThreadSanitizer reported at once; both are fixed (the flush runs under the
 * control mutex; dead heap descriptors are reused only as heap descriptors,
 * their handle fields read atomically), and under --config=tsan this test
 * guards that.  Without TSan it only checks results.
 *
 * 1. unregister vs destroy: xmem_thread_unregister flushes the calling
 *    lcore's caches (alloc/cache.c xm_cache_flush_lcore).  The flush reads
 *    each heap's descriptor (xm_heap_live: h->magic, h->id, h->serial) and
 *    enters the lcache (busy/stop) with no lock and no RCU read section,
 *    while xmem_heap_destroy in another thread clears h->magic
 *    (alloc/heap.c), waits an RCU grace period that the flush is not inside,
 *    and frees the lcaches and the descriptor (xm_heap_free_caches,
 *    xm_meta_free).  The flush can thus store busy = 1 / 0 into an lcache
 *    that is already on the metadata free list (TSan: xm_lc_enter's store
 *    vs xm_meta_free's link store, same address: the busy word overlays the
 *    free-list pointer) or reused for another (lcore, heap) pair: a
 *    corrupted metadata free list, or a broken drain handshake.
 *
 * 2. dead handle vs metadata reuse: every call documented to give EINVAL for
 *    a dead heap (xmem_heap_id, xmem_alloc, ...) reads the dead descriptor
 *    through xm_heap_live (alloc/heap.h).  Descriptors are type-stable but
 *    their memory is reused for other metadata of the same size class (here:
 *    IOVA tables of xmem_register), written by another thread with plain
 *    stores at that moment.  The result is still right (the slot check
 *    xm_st.heaps[id] == h decides), but it is a C11 data race. */
#include <pthread.h>

#include "tests/xt_util.h"

#define ROUNDS 10000

static pthread_barrier_t bar;
static struct xmem_heap *heap;
static char *mem;
static const size_t len = MiB;

static void *unreg_thread(void *arg)
{
	(void)arg;
	for (int round = 0; round < ROUNDS; round++) {
		pthread_barrier_wait(&bar);          /* heap has memory */
		void *p = xmem_alloc(heap, 64, 0);   /* this lcore's cache of it */
		CHECK(p != NULL);
		xmem_free(p);
		pthread_barrier_wait(&bar);          /* memory removed */
		pthread_barrier_wait(&bar);
		if (round % 2)
			for (volatile int k = 0; k < (round * 7919) % 3000; k++)
				;
		CHECK_OK(xmem_thread_unregister());  /* races the destroy */
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

static void test_unregister_vs_destroy(void)
{
	mem = xt_map(len, PAGE4K, PROT_NONE);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, unreg_thread, NULL);
	for (int round = 0; round < ROUNDS; round++) {
		heap = xmem_heap_create(xt_name("race-unreg"));
		CHECK(heap != NULL);
		CHECK_OK(xmem_heap_add_memory(heap, mem, len, NULL, 0, PAGE4K));
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		CHECK_OK(xmem_heap_remove_memory(heap, mem, len));
		pthread_barrier_wait(&bar);
		if (round % 2 == 0)
			for (volatile int k = 0; k < (round * 7919) % 3000; k++)
				;
		CHECK_OK(xmem_heap_destroy(heap));   /* races the unregister */
		pthread_barrier_wait(&bar);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	xt_unmap(mem, len);
}

static struct xmem_heap *dead;
static int stop_reg;

/* Registers ranges whose IOVA tables span the metadata size classes, so one
 * of them reuses the dead heap's descriptor memory. */
static void *register_thread(void *arg)
{
	(void)arg;
	size_t n_max = 4 * MiB / PAGE4K;
	char *va = xt_map(4 * MiB, PAGE4K, PROT_NONE);
	uint64_t *tab = xt_linear_table(0x40000000, n_max, PAGE4K);
	pthread_barrier_wait(&bar);
	while (!__atomic_load_n(&stop_reg, __ATOMIC_ACQUIRE)) {
		for (size_t n = 8; n <= n_max; n *= 2) {
			CHECK_OK(xmem_register(va, n * PAGE4K, tab, n, PAGE4K));
			CHECK_OK(xmem_unregister(va, n * PAGE4K));
		}
	}
	free(tab);
	xt_unmap(va, 4 * MiB);
	return NULL;
}

static void test_dead_handle(void)
{
	dead = xmem_heap_create(xt_name("race-dead"));
	CHECK(dead != NULL);
	CHECK_OK(xmem_heap_destroy(dead));
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, register_thread, NULL);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 20000; i++) {
		/* No heap is created meanwhile: the handle stays dead. */
		CHECK_FAILS_INT(xmem_heap_id(dead), EINVAL);
		CHECK_FAILS_PTR(xmem_alloc(dead, 64, 0), EINVAL);
	}
	__atomic_store_n(&stop_reg, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
}

/* Argument "1" or "2" runs one case (TSan stops at the first report). */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	if (!*only || !strcmp(only, "1"))
		xt_run("unregister vs destroy", test_unregister_vs_destroy);
	if (!*only || !strcmp(only, "2"))
		xt_run("dead handle vs metadata reuse", test_dead_handle);
	return xt_done();
}
