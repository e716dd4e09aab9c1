/* tests/iommu/concurrency_test.c - readers of the mapping registry (walks,
 * stats, lookups, translation) never block and always see whole regions
 * while a writer adds and removes regions and subscribers come and go. */
#include "it.h"

#include <pthread.h>
#include <stdatomic.h>

#define PG ((size_t)4096)
enum { REGIONS = 64, ROUNDS = 3000 };

static atomic_int stop;
static atomic_long bad;
static char *base;

struct acc {
	uint64_t last_region;
	long n_in_region;
	long total;
};

/* Every region has exactly 4 runs (caller's table): a walk that saw only
 * part of a region's entries would see a count other than 4. */
static int walk_fn(const char *s, const struct xmem_dma_mapping *m, void *arg)
{
	(void)s;
	struct acc *a = arg;
	if (m->region_id != a->last_region) {
		if (a->last_region && a->n_in_region != 4)
			atomic_fetch_add_explicit(&bad, 1, memory_order_relaxed);
		a->last_region = m->region_id;
		a->n_in_region = 0;
	}
	a->n_in_region++;
	a->total++;
	return 0;
}

static void *reader(void *arg)
{
	(void)arg;
	long walks = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct xmem_dma_subscriber *s = xmem_dma_subscriber_lookup("dev");
		struct acc a = {0};
		long n = xmem_dma_mapping_walk(NULL, walk_fn, &a);
		if (a.last_region && a.n_in_region != 4)
			atomic_fetch_add_explicit(&bad, 1, memory_order_relaxed);
		if (n < 0 && errno != EINVAL)
			atomic_fetch_add_explicit(&bad, 1, memory_order_relaxed);
		struct xmem_dma_stats st;
		if (s)
			xmem_dma_get_stats(s, &st); /* may be stale: EINVAL is fine */
		walks++;
	}
	return (void *)walks;
}

int main(void)
{
	base = it_reserve(REGIONS * 8 * PG, PG);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	struct xmem_dma_testdev *t = NULL;
	uint64_t tab[8];
	for (int round = 0; round < ROUNDS; round++) {
		if (round % 50 == 0) {
			if (t)
				CHECK(xmem_dma_testdev_destroy(t) == 0);
			t = xmem_dma_testdev_create("dev", 0);
			CHECK(t != NULL);
		}
		int i = round % REGIONS;
		char *va = base + (size_t)i * 8 * PG;
		for (int p = 0; p < 8; p++)
			tab[p] = (1ULL << 36) + (uint64_t)i * (1 << 24) + (uint64_t)(p / 2) * (1 << 20) +
				 (p % 2) * PG; /* 4 runs */
		if (xmem_virt2iova(va) == XMEM_BAD_IOVA)
			CHECK(xmem_register(va, 8 * PG, tab, 8, PG) == 0);
		else
			CHECK(xmem_unregister(va, 8 * PG) == 0);
	}
	atomic_store(&stop, 1);
	long walks = 0;
	for (int i = 0; i < 2; i++) {
		void *w;
		pthread_join(th[i], &w);
		walks += (long)w;
	}
	CHECK(atomic_load(&bad) == 0);
	printf("%ld walks by 2 readers during %d add/remove rounds, %ld partial views\n", walks,
	       ROUNDS, atomic_load(&bad));
	for (int i = 0; i < REGIONS; i++) {
		char *va = base + (size_t)i * 8 * PG;
		if (xmem_virt2iova(va) != XMEM_BAD_IOVA)
			CHECK(xmem_unregister(va, 8 * PG) == 0);
	}
	CHECK(it_entries(t) == 0);
	CHECK(xmem_dma_testdev_destroy(t) == 0);
	return it_done("concurrency_test");
}
