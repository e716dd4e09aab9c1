/* tests/iommu/replay_test.c - replay and the registry's lifetime:
 *  - a subscriber (test device, memory-event callback) attached after
 *    regions exist gets every one of them, with one map call per run;
 *  - a replay that fails halfway leaves nothing mapped;
 *  - unsubscribing unmaps exactly what was mapped, regions stay;
 *  - 1,000 regions added and removed in random order, with a subscriber
 *    joining in the middle, leave 0 device entries and 0 registry entries. */
#include "it.h"

#define PG ((size_t)4096)

static int n_add, n_remove;
static size_t runs_seen;
static int on_event(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)ctx;
	if (ev == XMEM_MEM_EVENT_ADD) {
		n_add++;
		runs_seen += r->n_runs;
	} else {
		n_remove++;
	}
	return 0;
}

/* A device that fails its third map call of all time. */
static int flaky_mapped, flaky_calls;
static int flaky_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	(void)ctx, (void)va, (void)iova, (void)len;
	if (++flaky_calls == 3) {
		errno = EFAULT;
		return -1;
	}
	flaky_mapped++;
	return 0;
}
static int flaky_unmap(void *ctx, void *va, uint64_t iova, uint64_t len, uint64_t *done)
{
	(void)ctx, (void)va, (void)iova;
	flaky_mapped--;
	*done = len;
	return 0;
}

static int count_fn(const char *s, const struct xmem_dma_mapping *m, void *arg)
{
	(void)s, (void)m;
	(*(long *)arg)++;
	return 0;
}

static void replay(void)
{
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	struct xmem_heap *h = xmem_heap_create("replay");
	char *va = it_reserve(32 * PG, PG);
	uint64_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (1ULL << 38) + (uint64_t)(i / 2) * (1 << 20) + (i % 2) * PG; /* 4 runs */
	CHECK(xmem_heap_add_memory(h, va, 8 * PG, t, 8, PG) == 0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	CHECK(xmem_register(va + 16 * PG, 16 * PG, NULL, 0, PG) == 0); /* 1 run */

	struct xmem_dma_testdev *late = xmem_dma_testdev_create("late", 0);
	CHECK(late && it_map_calls(late) == 5 && it_entries(late) == 5);
	struct xmem_dma_testdev_call c;
	CHECK(xmem_dma_testdev_call(late, 4, &c) == 0 && c.va == va + 16 * PG &&
	      c.iova == xmem_virt2iova(va + 16 * PG) && c.len == 16 * PG);
	struct xmem_dma_subscriber *ev = xmem_mem_event_register("late-events", on_event, NULL);
	CHECK(ev && n_add == 2 && runs_seen == 5);
	CHECK(xmem_dma_subscriber_lookup("late-events") == ev);
	long n = 0;
	CHECK(xmem_dma_mapping_walk(xmem_dma_testdev_subscriber(late), count_fn, &n) == 5 && n == 5);

	/* A replay that fails at its third map: nothing stays mapped. */
	struct xmem_dma_ops ops = {.dma_map = flaky_map, .dma_unmap = flaky_unmap};
	errno = 0;
	CHECK(xmem_dma_subscribe("flaky", &ops, NULL) == NULL && errno == EFAULT);
	CHECK(flaky_mapped == 0 && flaky_calls == 3);
	CHECK_ERR(xmem_dma_subscriber_lookup("flaky"), ENOENT);

	/* Unsubscribe: unmapped, regions stay. */
	CHECK(xmem_dma_testdev_destroy(late) == 0);
	CHECK(xmem_dma_unsubscribe(ev) == 0 && n_remove == 2);
	CHECK(xmem_virt2iova(va) == t[0]);
	CHECK(xmem_heap_remove_memory(h, va, 8 * PG) == 0);
	CHECK(xmem_unregister(va + 16 * PG, 16 * PG) == 0);
	CHECK(xmem_heap_destroy(h) == 0);
	munmap(va, 32 * PG);
}

/* 1,000 regions, random order. */
static void thousand(void)
{
	enum { N = 1000 };
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	struct xmem_heap *h = xmem_heap_create("thousand");
	char *base = it_reserve((size_t)N * 16 * PG, PG);
	struct xmem_dma_testdev *a = xmem_dma_testdev_create("a", 65535);
	struct xmem_dma_testdev *b = NULL;
	CHECK(h && base && a);
	int order[N], added[N] = {0};
	for (int i = 0; i < N; i++)
		order[i] = i;
	srand(42);
	for (int i = N - 1; i > 0; i--) {
		int j = rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	int live = 0, max_live = 0;
	/* Random interleaving: each step adds the next in order, or removes a
	 * random live one. */
	int next = 0;
	while (next < N || live > 0) {
		if (next < N && (live == 0 || rand() % 3 != 0)) {
			int i = order[next++];
			size_t pages = 1 + (size_t)(i % 16);
			int rc = (i & 1) ? xmem_heap_add_memory(h, base + (size_t)i * 16 * PG,
								pages * PG, NULL, 0, PG)
					 : xmem_register(base + (size_t)i * 16 * PG, pages * PG,
							 NULL, 0, PG);
			CHECK(rc == 0);
			added[i] = 1;
			live++;
			max_live = live > max_live ? live : max_live;
			if (next == N / 2)
				b = xmem_dma_testdev_create("b", 0); /* joins midway */
		} else {
			int k = rand() % N;
			while (!added[k])
				k = (k + 1) % N;
			size_t pages = 1 + (size_t)(k % 16);
			int rc = (k & 1) ? xmem_heap_remove_memory(h, base + (size_t)k * 16 * PG, pages * PG)
					 : xmem_unregister(base + (size_t)k * 16 * PG, pages * PG);
			CHECK(rc == 0);
			added[k] = 0;
			live--;
		}
		if ((size_t)live != it_entries(a)) {
			CHECK((size_t)live == it_entries(a));
			break;
		}
	}
	long n = 0;
	xmem_dma_mapping_walk(NULL, count_fn, &n);
	printf("1000 regions added/removed in random order (max %d live): device entries "
	       "left %llu + %llu, registry entries left %ld\n",
	       max_live, (unsigned long long)it_entries(a),
	       (unsigned long long)(b ? it_entries(b) : 99), n);
	CHECK(b && it_entries(a) == 0 && it_entries(b) == 0 && n == 0);
	struct xmem_dma_testdev_stats st;
	xmem_dma_testdev_get_stats(a, &st);
	CHECK(st.map_calls == N && st.unmap_calls == N && st.unmap_short == 0);
	CHECK(xmem_dma_testdev_destroy(a) == 0 && xmem_dma_testdev_destroy(b) == 0);
	CHECK(xmem_heap_destroy(h) == 0);
	munmap(base, (size_t)N * 16 * PG);
}

int main(void)
{
	replay();
	thousand();
	return it_done("replay_test");
}
