/* mt_control_test.c - lock-free control-plane reads (invariant 4) under
 * concurrent writes:
 *   - reader threads loop over xmem_heap_lookup / xmem_heap_from_id /
 *     xmem_heap_name of a stable heap, xmem_virt2iova / xmem_iova2virt of a
 *     stable region, and xmem_iova2virt of ranges being churned (which must
 *     give NULL or exactly the right address, never anything else);
 *   - a writer thread registers and unregisters other ranges (with IOVA
 *     tables) over and over; another creates and destroys other heaps and
 *     adds/removes memory to them, and allocates from them;
 *   - every read of the stable objects must be exactly right every time.
 */
#include <pthread.h>

#include "xt_util.h"

#define CHURN_RANGES 8
#define CHURN_PAGES 64
#define WRITER_ROUNDS 1500

static struct xmem_heap *stable;
static int stable_id;
static const char *stable_name = "stable-heap";
static char *stable_mem;
static size_t stable_len = 16 * MiB;
static uint64_t *stable_tab;
static char *churn_mem;       /* CHURN_RANGES * CHURN_PAGES pages */
static uint64_t churn_iova(int r, size_t pg)
{
	return 0x5000000000ULL + (uint64_t)r * 0x10000000ULL + pg * PAGE4K;
}
static int writers_done;
static unsigned long reads;

static void *reader(void *arg)
{
	uint64_t rng = (uintptr_t)arg;
	unsigned long n = 0, bad = 0;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		for (int k = 0; k < 64; k++, n++) {
			if (xmem_heap_lookup(stable_name) != stable && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "lookup of the stable heap failed");
			if (xmem_heap_from_id(stable_id) != stable && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "from_id of the stable heap failed");
			const char *nm = xmem_heap_name(stable);
			if ((!nm || strcmp(nm, stable_name)) && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "name of the stable heap wrong");
			size_t off = xt_range_r(&rng, 0, stable_len - 1);
			uint64_t io = xmem_virt2iova(stable_mem + off);
			uint64_t want = stable_tab[off / PAGE4K] + off % PAGE4K;
			if (io != want && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "virt2iova(stable + %zu) = %#" PRIx64
					   ", want %#" PRIx64, off, io, want);
			void *va = xmem_iova2virt(want);
			if (va != stable_mem + off && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "iova2virt(%#" PRIx64 ") = %p", want, va);
			/* a churned range: either not registered or exactly right */
			int r = xt_range_r(&rng, 0, CHURN_RANGES - 1);
			size_t pg = xt_range_r(&rng, 0, CHURN_PAGES - 1);
			void *cv = xmem_iova2virt(churn_iova(r, pg) + 5);
			void *cw = churn_mem + (r * CHURN_PAGES + pg) * PAGE4K + 5;
			if (cv && cv != cw && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "iova2virt(churn) = %p, want %p or NULL",
					   cv, cw);
			if (xmem_heap_lookup("never-created") != NULL && bad++ < 5)
				xt_fail_at(__FILE__, __LINE__, "lookup of an unknown name succeeded");
		}
	}
	__atomic_add_fetch(&reads, n, __ATOMIC_RELAXED);
	return NULL;
}

static void *register_writer(void *arg)
{
	(void)arg;
	uint64_t tab[CHURN_PAGES];
	for (int round = 0; round < WRITER_ROUNDS; round++) {
		int r = round % CHURN_RANGES;
		char *va = churn_mem + (size_t)r * CHURN_PAGES * PAGE4K;
		for (size_t i = 0; i < CHURN_PAGES; i++)
			tab[i] = churn_iova(r, i);
		if (!CHECK_OK(xmem_register(va, CHURN_PAGES * PAGE4K, tab, CHURN_PAGES, PAGE4K)))
			break;
		/* this thread owns the range: it may translate it */
		if (!CHECK_EQ(xmem_virt2iova(va + 3 * PAGE4K + 1), tab[3] + 1))
			break;
		if (!CHECK_OK(xmem_unregister(va, CHURN_PAGES * PAGE4K)))
			break;
		if (!CHECK_EQ(xmem_virt2iova(va), XMEM_BAD_IOVA))
			break;
	}
	return NULL;
}

static void *heap_writer(void *arg)
{
	(void)arg;
	size_t len = 1 * MiB;
	char *m = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	for (int round = 0; round < WRITER_ROUNDS / 3; round++) {
		char name[XMEM_HEAP_NAME_MAX];
		snprintf(name, sizeof name, "churn-%d", round % 5);
		struct xmem_heap *h = xmem_heap_create(name);
		if (!CHECK(h))
			break;
		CHECK(xmem_heap_id(h) != stable_id);
		if (CHECK_OK(xmem_heap_add_memory(h, m, len, NULL, 0, PAGE4K))) {
			void *p = xmem_alloc(h, 1000, 0);
			CHECK(p && (char *)p >= m && (char *)p < m + len);
			xmem_free(p);
			CHECK_OK(xmem_heap_remove_memory(h, m, len));
		}
		CHECK_OK(xmem_heap_destroy(h));
	}
	xt_unmap(m, len);
	return NULL;
}

static void case_control_plane(void)
{
	stable = xmem_heap_create(stable_name);
	if (!CHECK(stable))
		return;
	stable_id = xmem_heap_id(stable);
	stable_mem = xt_map(stable_len, PAGE4K, PROT_READ | PROT_WRITE);
	stable_tab = malloc(stable_len / PAGE4K * sizeof *stable_tab);
	for (size_t i = 0; i < stable_len / PAGE4K; i++) /* reversed pages */
		stable_tab[i] = 0x7000000000ULL + (stable_len / PAGE4K - 1 - i) * PAGE4K;
	if (!CHECK_OK(xmem_heap_add_memory(stable, stable_mem, stable_len, stable_tab,
					   stable_len / PAGE4K, PAGE4K)))
		return;
	churn_mem = xt_map(CHURN_RANGES * CHURN_PAGES * PAGE4K, PAGE4K, PROT_READ | PROT_WRITE);

	pthread_t rd[2], wr[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&rd[i], NULL, reader, (void *)(uintptr_t)(i + 77));
	pthread_create(&wr[0], NULL, register_writer, NULL);
	pthread_create(&wr[1], NULL, heap_writer, NULL);
	pthread_join(wr[0], NULL);
	pthread_join(wr[1], NULL);
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	printf("  %lu read rounds\n", reads);
	CHECK_GT(reads, 0);

	CHECK_OK(xmem_heap_remove_memory(stable, stable_mem, stable_len));
	CHECK_OK(xmem_heap_destroy(stable));
	xt_unmap(stable_mem, stable_len);
	xt_unmap(churn_mem, CHURN_RANGES * CHURN_PAGES * PAGE4K);
	free(stable_tab);
}

int main(void)
{
	xt_seed();
	xt_run("control_plane_concurrency", case_control_plane);
	return xt_done();
}
