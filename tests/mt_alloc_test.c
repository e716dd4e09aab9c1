/* mt_alloc_test.c - multi-threaded allocator workload (invariants 3 and 5):
 * 4 threads do random xmem_alloc / xmem_free / xmem_alloc_bulk /
 * xmem_free_bulk over 2 heaps (each with a 4 KiB-page region with an IOVA
 * table and a 2 MiB-page region without).  Live blocks sit in one shared
 * pool, so most blocks are freed by another thread than the one that
 * allocated them.  A shared shadow model (mutex-protected interval set)
 * checks that no two live blocks overlap and every block is inside its own
 * heap and IOVA-contiguous.  Afterwards, with the workers still alive but
 * idle (their per-lcore caches full of freed objects): stats match the
 * model's live count and bytes, everything is freed from the main thread,
 * stats return exactly to the starting values, and the regions can be
 * removed (objects cached by idle threads must not block removal).
 */
#include <pthread.h>

#include "xt_util.h"

#define NTHREADS 4
#define OPS_PER_THREAD 20000
#define MAX_LIVE 3000

static struct xmem_heap *heaps[2];
static struct xt_region regs[4];
static struct xt_shadow shadow;  /* guarded by mu */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar_done, bar_exit;
static unsigned long n_enomem, n_allocs;

static void record(void *p, size_t size, size_t align, int heap)
{
	size_t us = xt_check_block(regs, 4, heap, p, size, align);
	struct xt_iv iv = {(uintptr_t)p, (uintptr_t)p + (us ? us : size), size, heap};
	pthread_mutex_lock(&mu);
	if (!xt_shadow_insert(&shadow, iv))
		fprintf(stderr, "  overlap: alloc(%zu, %zu) = %p\n", size, align, p);
	n_allocs++;
	pthread_mutex_unlock(&mu);
}

/* take up to n random live blocks out of the model (before freeing them:
 * once freed, another thread may get the same address) */
static unsigned take_random(uint64_t *rng, void **out, unsigned n)
{
	unsigned k = 0;
	pthread_mutex_lock(&mu);
	while (k < n && shadow.n) {
		struct xt_iv iv = xt_shadow_remove_at(&shadow, xt_range_r(rng, 0, shadow.n - 1));
		out[k++] = (void *)iv.s;
	}
	pthread_mutex_unlock(&mu);
	return k;
}

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL ^ xt_rng_state;
	void *objs[64];
	for (int op = 0; op < OPS_PER_THREAD; op++) {
		unsigned r = xt_range_r(&rng, 0, 99);
		pthread_mutex_lock(&mu);
		size_t live = shadow.n;
		pthread_mutex_unlock(&mu);
		bool want_free = live >= MAX_LIVE || r < 45;
		int hi = xt_range_r(&rng, 0, 1);
		if (want_free) {
			if (r % 3 == 0) {
				unsigned n = take_random(&rng, objs, xt_range_r(&rng, 1, 64));
				xmem_free_bulk(objs, n);
			} else {
				if (take_random(&rng, objs, 1))
					xmem_free(objs[0]);
			}
		} else if (r % 4 == 0) {
			/* bulk, a burst of one size */
			unsigned n = xt_range_r(&rng, 1, 64);
			size_t size = xt_range_r(&rng, 0, 3) ? xt_range_r(&rng, 1, 2048)
							    : xt_range_r(&rng, 1, 64 * KiB);
			errno = 0;
			if (xmem_alloc_bulk(heaps[hi], size, objs, n) == 0) {
				for (unsigned i = 0; i < n; i++)
					record(objs[i], size, 0, hi);
			} else {
				if (!CHECK_EQ(errno, ENOMEM))
					fprintf(stderr, "  bulk %u x %zu\n", n, size);
				__atomic_add_fetch(&n_enomem, 1, __ATOMIC_RELAXED);
			}
		} else {
			unsigned s = xt_range_r(&rng, 0, 99);
			size_t size = s < 60 ? xt_range_r(&rng, 1, 512)
				    : s < 90 ? xt_range_r(&rng, 1, XMEM_MAX_CLASS_SIZE)
					     : xt_range_r(&rng, 1, 256 * KiB);
			size_t align = xt_range_r(&rng, 0, 1) ? 0 : (size_t)1 << xt_range_r(&rng, 0, 12);
			errno = 0;
			void *p = xmem_alloc(heaps[hi], size, align);
			if (p) {
				record(p, size, align, hi);
			} else {
				if (!CHECK_EQ(errno, ENOMEM))
					fprintf(stderr, "  alloc %zu %zu\n", size, align);
				__atomic_add_fetch(&n_enomem, 1, __ATOMIC_RELAXED);
			}
		}
	}
	pthread_barrier_wait(&bar_done);  /* workload done */
	pthread_barrier_wait(&bar_exit);  /* stay alive (idle) until released */
	return NULL;
}

static void case_mt(void)
{
	struct xmem_heap_stats s0[2], s1;
	for (int k = 0; k < 2; k++) {
		heaps[k] = xmem_heap_create(xt_name("mt"));
		if (!CHECK(heaps[k]))
			return;
	}
	for (int i = 0; i < 4; i++) {
		struct xt_region *r = &regs[i];
		r->heap = i / 2;
		r->page_size = (i % 2) ? PAGE2M : PAGE4K;
		r->len = 64 * MiB;
		r->va = xt_map(r->len, r->page_size, PROT_READ | PROT_WRITE);
		r->iova = (i % 2) ? NULL
				  : xt_linear_table(0x100000000ULL * (i + 1), r->len / PAGE4K, PAGE4K);
		if (!CHECK_OK(xmem_heap_add_memory(heaps[r->heap], r->va, r->len, r->iova,
						   r->iova ? r->len / PAGE4K : 0, r->page_size)))
			return;
	}
	for (int k = 0; k < 2; k++)
		xt_stats(heaps[k], &s0[k]);
	uint64_t inv0 = xmem_invalid_free_count();

	pthread_barrier_init(&bar_done, NULL, NTHREADS + 1);
	pthread_barrier_init(&bar_exit, NULL, NTHREADS + 1);
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	pthread_barrier_wait(&bar_done);

	printf("  %lu allocs, %lu ENOMEM, %zu live\n", n_allocs, n_enomem, shadow.n);
	CHECK_GT(n_allocs, NTHREADS * OPS_PER_THREAD / 4);
	CHECK_EQ(xmem_invalid_free_count(), inv0);
	/* stats match the model */
	for (int k = 0; k < 2; k++) {
		uint64_t cnt = 0;
		size_t bytes = 0;
		for (size_t i = 0; i < shadow.n; i++)
			if (shadow.v[i].heap == k) {
				cnt++;
				bytes += shadow.v[i].e - shadow.v[i].s;
			}
		if (xt_stats(heaps[k], &s1)) {
			CHECK_EQ(s1.alloc_count, cnt);
			CHECK_EQ(s1.alloc_bytes, bytes);
			CHECK_EQ(s1.free_bytes, s1.total_bytes - s1.alloc_bytes);
		}
	}
	/* free everything from this thread: cross-thread frees */
	while (shadow.n) {
		struct xt_iv iv = xt_shadow_remove_at(&shadow, shadow.n - 1);
		xmem_free((void *)iv.s);
	}
	CHECK_EQ(xmem_invalid_free_count(), inv0);
	for (int k = 0; k < 2; k++)
		if (xt_stats(heaps[k], &s1))
			XT_CHECK_STATS_SAME(&s0[k], &s1);
	/* workers are alive and idle, their caches hold freed objects:
	 * removal must still succeed */
	for (int i = 0; i < 4; i++) {
		CHECK_OK(xmem_heap_remove_memory(heaps[regs[i].heap], regs[i].va, regs[i].len));
		CHECK_EQ(xmem_virt2iova(regs[i].va), XMEM_BAD_IOVA);
	}
	for (int k = 0; k < 2; k++)
		CHECK_OK(xmem_heap_destroy(heaps[k]));
	pthread_barrier_wait(&bar_exit);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar_done);
	pthread_barrier_destroy(&bar_exit);
	for (int i = 0; i < 4; i++) {
		xt_unmap(regs[i].va, regs[i].len);
		free(regs[i].iova);
	}
	xt_shadow_free(&shadow);
}

/* Threads that allocated and exited: their cached objects must not block
 * removal either, and memory freed by them can be allocated again. */
static void *short_lived(void *arg)
{
	struct xmem_heap *h = arg;
	void *objs[256];
	for (int round = 0; round < 50; round++) {
		if (xmem_alloc_bulk(h, 256, objs, 256) == 0)
			xmem_free_bulk(objs, 256);
	}
	return NULL;
}

static void case_exited_threads(void)
{
	struct xmem_heap *h = xmem_heap_create(xt_name("exited"));
	if (!CHECK(h))
		return;
	char *m = xt_map(4 * MiB, PAGE4K, PROT_READ | PROT_WRITE);
	CHECK_OK(xmem_heap_add_memory(h, m, 4 * MiB, NULL, 0, PAGE4K));
	for (int round = 0; round < 5; round++) {
		pthread_t th[NTHREADS];
		for (int i = 0; i < NTHREADS; i++)
			pthread_create(&th[i], NULL, short_lived, h);
		for (int i = 0; i < NTHREADS; i++)
			pthread_join(th[i], NULL);
	}
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_EQ(s.alloc_count, 0);
	CHECK_EQ(s.alloc_bytes, 0);
	/* the whole heap is usable from here: 4 MiB / 256 B objects */
	size_t n = 4 * MiB / 256;
	void **objs = malloc(n * sizeof *objs);
	if (CHECK_OK(xmem_alloc_bulk(h, 256, objs, n)))
		xmem_free_bulk(objs, n);
	free(objs);
	CHECK_OK(xmem_heap_remove_memory(h, m, 4 * MiB));
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(m, 4 * MiB);
}

int main(void)
{
	xt_seed();
	xt_run("mt_random_alloc_free", case_mt);
	xt_run("exited_threads", case_exited_threads);
	return xt_done();
}
