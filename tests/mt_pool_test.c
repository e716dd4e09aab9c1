/* mt_pool_test.c - xmem_pool under concurrency: NTHREADS threads take
 * random bursts out of one pool and put them back, some immediately, some
 * after holding them for a while.  The reference is one ownership flag per
 * object: a get must only return objects that are in the pool (flag 0,
 * which the taker sets to 1), and a thread clears the flag before it puts
 * the object back.  At the end every object must come out of the pool
 * exactly once, and the count must be exact.  A reader thread calls
 * xmem_pool_count all along (a racing walk of the stacks: it must neither
 * crash nor hang, and its figure is only a snapshot). */
#include <pthread.h>
#include <stdatomic.h>

#include <xmem/xmem_pool.h>

#include "xt_util.h"

#define NTHREADS 4
#define N        4096
#define OPS      20000
#define HOLD_MAX 600

#define OBJ(i) ((void *)(uintptr_t)(0x1000 + 64 * (uintptr_t)(i)))
#define IDX(p) (((uintptr_t)(p) - 0x1000) / 64)

static struct xmem_pool *pool;
static _Atomic unsigned char owned[N];
static _Atomic unsigned long n_dup, n_bad, n_enoent, n_gets;

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	void *held[HOLD_MAX], *buf[300];
	unsigned n_held = 0;
	for (int op = 0; op < OPS; op++) {
		unsigned k = (unsigned)xt_range_r(&rng, 1, 300);
		if (n_held + k <= HOLD_MAX && (xt_rand_r(&rng) & 1)) {
			if (xmem_pool_get_bulk(pool, buf, k) != 0) {
				if (errno != ENOENT)
					atomic_fetch_add(&n_bad, 1);
				atomic_fetch_add(&n_enoent, 1);
				continue;
			}
			atomic_fetch_add(&n_gets, 1);
			for (unsigned i = 0; i < k; i++) {
				uintptr_t x = IDX(buf[i]);
				if (x >= N) {
					atomic_fetch_add(&n_bad, 1);
					continue;
				}
				/* acquire/release: the flag is the reference */
				if (atomic_exchange(&owned[x], 1) != 0)
					atomic_fetch_add(&n_dup, 1);
				held[n_held++] = buf[i];
			}
		} else if (n_held) {
			if (k > n_held)
				k = n_held;
			n_held -= k;
			for (unsigned i = 0; i < k; i++)
				atomic_store(&owned[IDX(held[n_held + i])], 0);
			if (xmem_pool_put_bulk(pool, &held[n_held], k) != 0)
				atomic_fetch_add(&n_bad, 1);
		}
	}
	for (unsigned i = 0; i < n_held; i++)
		atomic_store(&owned[IDX(held[i])], 0);
	if (n_held && xmem_pool_put_bulk(pool, held, n_held) != 0)
		atomic_fetch_add(&n_bad, 1);
	return NULL;
}

static _Atomic int workers_done;
static unsigned long n_counts;

static void *counter(void *arg)
{
	(void)arg;
	while (!atomic_load(&workers_done)) {
		(void)xmem_pool_count(pool);
		n_counts++;
	}
	return NULL;
}

static void t_concurrent(void)
{
	pool = xmem_pool_create(N);
	if (!CHECK(pool))
		return;
	static void *all[N];
	for (unsigned i = 0; i < N; i++)
		all[i] = OBJ(i);
	/* Odd-sized pieces: partial magazines from the start. */
	for (unsigned i = 0; i < N; i += 100)
		CHECK_OK(xmem_pool_put_bulk(pool, all + i, N - i < 100 ? N - i : 100));
	CHECK_EQ(xmem_pool_count(pool), N);

	pthread_t t[NTHREADS], c;
	CHECK_EQ(pthread_create(&c, NULL, counter, NULL), 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&workers_done, 1);
	pthread_join(c, NULL);
	CHECK_GT(n_counts, 0ul);
	printf("  %lu gets, %lu ENOENT (pool momentarily short)\n",
	       atomic_load(&n_gets), atomic_load(&n_enoent));
	CHECK_EQ(atomic_load(&n_dup), 0ul);
	CHECK_EQ(atomic_load(&n_bad), 0ul);
	CHECK_GT(atomic_load(&n_gets), 0ul);

	/* Everything is back, each exactly once. */
	CHECK_EQ(xmem_pool_count(pool), N);
	static void *out[N];
	static unsigned char seen[N];
	if (CHECK_OK(xmem_pool_get_bulk(pool, out, N))) {
		unsigned dup = 0;
		for (unsigned i = 0; i < N; i++)
			if (IDX(out[i]) >= N || seen[IDX(out[i])]++)
				dup++;
		CHECK_EQ(dup, 0u);
	}
	CHECK_EQ(xmem_pool_count(pool), 0u);
	CHECK_FAILS_INT(xmem_pool_get_bulk(pool, out, 1), ENOENT);
	xmem_pool_destroy(pool);
}

int main(void)
{
	xt_run("concurrent", t_concurrent);
	return xt_done();
}
