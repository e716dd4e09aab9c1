/* numa_mt_test.c - node-aware allocation while the control plane changes
 * the heaps (run under TSan too: tagged "concurrency").
 *   - choice_follows: after xmem_heap_set_node_default returns and the
 *     workers are told (release/acquire), every worker's next
 *     xmem_alloc_node(0) / XMEM_NUMA_LOCAL block comes from the new
 *     default: the per-thread cache is invalidated by the generation;
 *   - churn: workers allocate by node while the main thread adds and
 *     removes chunks, refreshes, sets defaults, creates and destroys empty
 *     heaps; every block lies in a chunk of a heap on node 0, errors are
 *     only ENOENT or ENOMEM, and everything is freed at the end. */
#include <pthread.h>
#include <stdatomic.h>

#include "tests/xt_util.h"

#define WORKERS 2
#define CHUNK   (4 * MiB)

static char *g_mem[2];
static struct xmem_heap *g_h[2];
static _Atomic int g_round = 0, g_stop = 0;
static _Atomic int g_acked[WORKERS];
static _Atomic unsigned long g_bad, g_allocs;

static int which(const void *p)
{
	for (int i = 0; i < 2; i++)
		if ((const char *)p >= g_mem[i] && (const char *)p < g_mem[i] + CHUNK)
			return i;
	return -1;
}

/* Round r asks for heap r % 2: every worker checks, then acks. */
static void *follower(void *arg)
{
	int me = (int)(intptr_t)arg;
	xmem_thread_register();
	int seen = 0;
	while (!atomic_load_explicit(&g_stop, memory_order_acquire)) {
		int r = atomic_load_explicit(&g_round, memory_order_acquire);
		if (r == seen) {
			void *p = xmem_alloc_node(0, 256, 0);   /* warm the cache */
			xmem_free(p);
			continue;
		}
		void *a = xmem_alloc_node(0, 256, 0);
		void *b[8];
		int rb = xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, 256, b, 8);
		if (!a || rb || which(a) != r % 2 || which(b[0]) != r % 2)
			atomic_fetch_add(&g_bad, 1);
		xmem_free(a);
		if (!rb)
			xmem_free_bulk(b, 8);
		seen = r;
		atomic_store_explicit(&g_acked[me], r, memory_order_release);
	}
	return NULL;
}

static void case_choice_follows(void)
{
	for (int i = 0; i < 2; i++) {
		g_mem[i] = xmem_numa_map(CHUNK, PAGE4K, 0);
		g_h[i] = xmem_heap_create(xt_name("follow"));
		if (!CHECK(g_mem[i] && g_h[i]))
			return;
		CHECK_OK(xmem_heap_add_memory(g_h[i], g_mem[i], CHUNK, NULL, 0, PAGE4K));
	}
	pthread_t t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, follower, (void *)(intptr_t)i);
	for (int r = 1; r <= 200; r++) {
		CHECK_OK(xmem_heap_set_node_default(0, g_h[r % 2]));
		atomic_store_explicit(&g_round, r, memory_order_release);
		for (int i = 0; i < WORKERS; i++)
			while (atomic_load_explicit(&g_acked[i], memory_order_acquire) != r)
				sched_yield();
	}
	atomic_store_explicit(&g_stop, 1, memory_order_release);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&g_bad), 0);
	CHECK_OK(xmem_heap_set_node_default(0, NULL));
	for (int i = 0; i < 2; i++) {
		xmem_heap_trim(g_h[i]);
		CHECK_OK(xmem_heap_remove_memory(g_h[i], g_mem[i], CHUNK));
		CHECK_OK(xmem_heap_destroy(g_h[i]));
		CHECK_OK(xmem_numa_unmap(g_mem[i], CHUNK));
	}
}

static void *churner(void *arg)
{
	(void)arg;
	xmem_thread_register();
	void *held[64];
	int n = 0;
	while (!atomic_load_explicit(&g_stop, memory_order_acquire)) {
		void *p = n & 1 ? xmem_alloc_node(XMEM_NUMA_LOCAL, 512, 0)
				: xmem_alloc_node(0, 2048, 0);
		if (p) {
			atomic_fetch_add(&g_allocs, 1);
			if (which(p) < 0)
				atomic_fetch_add(&g_bad, 1);
			held[n++] = p;
		} else if (errno != ENOENT && errno != ENOMEM) {
			atomic_fetch_add(&g_bad, 1);
		}
		if (n == 64 || !p) {
			xmem_free_bulk(held, (unsigned)n);
			n = 0;
		}
	}
	xmem_free_bulk(held, (unsigned)n);
	return NULL;
}

static void case_churn(void)
{
	atomic_store(&g_stop, 0);
	atomic_store(&g_bad, 0);
	for (int i = 0; i < 2; i++) {
		g_mem[i] = xmem_numa_map(CHUNK, PAGE4K, 0);
		g_h[i] = xmem_heap_create(xt_name("churn"));
		if (!CHECK(g_mem[i] && g_h[i]))
			return;
	}
	CHECK_OK(xmem_heap_add_memory(g_h[0], g_mem[0], CHUNK, NULL, 0, PAGE4K));
	pthread_t t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, churner, NULL);
	bool added1 = false;
	for (int k = 0; k < 300; k++) {
		switch (k % 5) {
		case 0:   /* chunk 1 in or out (out only when nothing is live) */
			if (!added1)
				added1 = xmem_heap_add_memory(g_h[1], g_mem[1], CHUNK, NULL, 0,
							      PAGE4K) == 0;
			else if (xmem_heap_remove_memory(g_h[1], g_mem[1], CHUNK) == 0)
				added1 = false;
			else
				CHECK_EQ(errno, EBUSY);
			break;
		case 1:
			CHECK_OK(xmem_heap_numa_refresh(g_h[k & 1]));
			break;
		case 2:
			if (added1)
				CHECK_OK(xmem_heap_set_node_default(0, g_h[1]));
			break;
		case 3: {
			struct xmem_heap *e = xmem_heap_create(xt_name("empty"));
			CHECK(e);
			CHECK_OK(xmem_heap_destroy(e));
			break;
		}
		default:
			CHECK_OK(xmem_heap_set_node_default(0, NULL));
		}
		usleep(200);
	}
	atomic_store_explicit(&g_stop, 1, memory_order_release);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&g_bad), 0);
	CHECK_GT(atomic_load(&g_allocs), 0);
	printf("numa_mt_test: %lu blocks allocated by node during the churn\n",
	       atomic_load(&g_allocs));
	CHECK_OK(xmem_heap_set_node_default(0, NULL));
	for (int i = 0; i < 2; i++) {
		xmem_heap_trim(g_h[i]);
		if (i == 0 || added1)
			CHECK_OK(xmem_heap_remove_memory(g_h[i], g_mem[i], CHUNK));
		CHECK_OK(xmem_heap_destroy(g_h[i]));
		CHECK_OK(xmem_numa_unmap(g_mem[i], CHUNK));
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xt_run("choice_follows", case_choice_follows);
	xt_run("churn", case_churn);
	return xt_done();
}
