/* mt_pipeline_test.c - cross-core frees and draining under load: an RX
 * thread allocates bursts, a TX thread frees them (every free is a remote
 * free), while a control thread adds and removes a second region, trims the
 * heap, reads stats and switches checked mode on and off.  A shadow bitmap
 * of live 2 KiB slots catches any block handed out twice or freed while not
 * live; removed memory must never be handed out. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xmem/xmem.h>

#include "xt.h"

#define MiB      ((size_t)1 << 20)
#define OBJ      2048
#define BURST    32
#define RING     256            /* bursts in flight */
#define LEN      (4 * MiB)

static char *base;              /* 2 * LEN: region A, then region B */
static _Atomic uint64_t live_bits[2 * LEN / OBJ / 64];
static _Atomic int region_b_in;  /* 1 while B is added */
static _Atomic long violations, bursts_done;
static _Atomic int stop;
static struct xmem_heap *heap;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *b[RING][BURST];
	unsigned head, tail;
} ring = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void mark(void *p, int alloc)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)base;
	if (off >= 2 * LEN || off % OBJ) {
		atomic_fetch_add(&violations, 1);
		fprintf(stderr, "block %p outside the heap's memory\n", p);
		return;
	}
	if (alloc && off >= LEN && !atomic_load(&region_b_in)) {
		atomic_fetch_add(&violations, 1);
		fprintf(stderr, "block %p from removed region B\n", p);
	}
	size_t i = off / OBJ;
	uint64_t bit = (uint64_t)1 << (i % 64);
	uint64_t old = alloc ? atomic_fetch_or(&live_bits[i / 64], bit)
			     : atomic_fetch_and(&live_bits[i / 64], ~bit);
	if (!!(old & bit) != !alloc) {
		atomic_fetch_add(&violations, 1);
		fprintf(stderr, "block %p %s\n", p, alloc ? "handed out twice" : "freed while not live");
	}
}

static void *rx(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&ring.mu);
		while (ring.head - ring.tail == RING && !atomic_load(&stop))
			pthread_cond_wait(&ring.cv, &ring.mu);
		pthread_mutex_unlock(&ring.mu);
		void *b[BURST];
		if (xmem_alloc_bulk(heap, OBJ, b, BURST))
			continue;   /* ENOMEM while TX catches up */
		for (int i = 0; i < BURST; i++)
			mark(b[i], 1);
		pthread_mutex_lock(&ring.mu);
		memcpy(ring.b[ring.head % RING], b, sizeof(b));
		ring.head++;
		pthread_cond_broadcast(&ring.cv);
		pthread_mutex_unlock(&ring.mu);
	}
	return NULL;
}

static void *tx(void *arg)
{
	(void)arg;
	for (;;) {
		void *b[BURST];
		pthread_mutex_lock(&ring.mu);
		while (ring.head == ring.tail && !atomic_load(&stop))
			pthread_cond_wait(&ring.cv, &ring.mu);
		if (ring.head == ring.tail) {
			pthread_mutex_unlock(&ring.mu);
			return NULL;
		}
		memcpy(b, ring.b[ring.tail % RING], sizeof(b));
		ring.tail++;
		pthread_cond_broadcast(&ring.cv);
		pthread_mutex_unlock(&ring.mu);
		for (int i = 0; i < BURST; i++)
			mark(b[i], 0);
		xmem_free_bulk(b, BURST);
		atomic_fetch_add(&bursts_done, 1);
	}
}

static void case_pipeline_with_control(void)
{
	base = mmap(NULL, 2 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	heap = xmem_heap_create("mt_pipeline");
	if (base == MAP_FAILED || !heap ||
	    xmem_heap_add_memory(heap, base, LEN, NULL, 0, 4096))
		XT_FATAL("setup");
	pthread_t t_rx, t_tx;
	pthread_create(&t_rx, NULL, rx, NULL);
	pthread_create(&t_tx, NULL, tx, NULL);

	int adds = 0, removes = 0, busy = 0, trims = 0;
	for (int round = 0; round < 200; round++) {
		if (!atomic_load(&region_b_in)) {
			atomic_store(&region_b_in, 1);
			if (CHECK_OK(xmem_heap_add_memory(heap, base + LEN, LEN, NULL, 0, 4096)))
				adds++;
		} else if (xmem_heap_remove_memory(heap, base + LEN, LEN) == 0) {
			/* From here no block of B may be handed out. */
			atomic_store(&region_b_in, 0);
			removes++;
		} else {
			CHECK_EQ(errno, EBUSY);
			busy++;
		}
		if (round % 7 == 0)
			trims += xmem_heap_trim(heap) == 0;
		if (round % 50 == 10)
			xmem_set_checked(1);
		if (round % 50 == 30)
			xmem_set_checked(0);
		struct xmem_heap_stats st;
		CHECK_OK(xmem_heap_stats(heap, &st));
		CHECK_LE(st.alloc_bytes, st.total_bytes);
		CHECK_LE(st.alloc_count, st.total_bytes / OBJ);
		usleep(1000);
	}
	xmem_set_checked(0);
	atomic_store(&stop, 1);
	pthread_mutex_lock(&ring.mu);
	pthread_cond_broadcast(&ring.cv);
	pthread_mutex_unlock(&ring.mu);
	pthread_join(t_rx, NULL);
	pthread_join(t_tx, NULL);
	/* RX may have queued a last burst after TX saw the ring empty. */
	for (; ring.tail != ring.head; ring.tail++) {
		for (int i = 0; i < BURST; i++)
			mark(ring.b[ring.tail % RING][i], 0);
		xmem_free_bulk(ring.b[ring.tail % RING], BURST);
	}

	printf("  %ld bursts freed across cores, %d adds, %d removes, %d EBUSY, %d trims\n",
	       (long)atomic_load(&bursts_done), adds, removes, busy, trims);
	CHECK_EQ(atomic_load(&violations), 0);
	CHECK_GT(atomic_load(&bursts_done), 100);
	CHECK_GT(removes, 0);
	struct xmem_heap_stats st;
	CHECK_OK(xmem_heap_stats(heap, &st));
	CHECK_EQ(st.alloc_count, 0);
	for (size_t i = 0; i < sizeof(live_bits) / sizeof(live_bits[0]); i++)
		CHECK_EQ(atomic_load(&live_bits[i]), 0);
	if (atomic_load(&region_b_in))
		CHECK_OK(xmem_heap_remove_memory(heap, base + LEN, LEN));
	CHECK_OK(xmem_heap_remove_memory(heap, base, LEN));
	CHECK_OK(xmem_heap_destroy(heap));
	munmap(base, 2 * LEN);
}

/* The same case in a child process whose caches use the fallback without
 * membarrier(2) (seq_cst Dekker on both sides). */
static void case_without_membarrier(void)
{
	char *envp[] = { "XMEM_NO_MEMBARRIER=1", "XT_CHILD=1", NULL };
	xt_rerun_self("mt_pipeline_test", envp);
}

int main(void)
{
	xt_run("pipeline: remote frees while memory comes and goes", case_pipeline_with_control);
	if (!getenv("XT_CHILD"))
		xt_run("the same without membarrier", case_without_membarrier);
	return xt_done();
}
