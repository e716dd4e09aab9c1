/* burst_pipeline.c - xmem as a packet pipeline uses it: an RX lcore
 * allocates bursts of buffers from a heap over memory the program mapped
 * itself (with a per-page IOVA table, as a driver would get it from its
 * IOMMU mapping), hands them to a TX lcore through a ring, and the TX lcore
 * frees them.  Built from an installed xmem with make or meson (pkg-config
 * xmem); see README.md.
 *
 *   burst_pipeline [--seconds N] [--size BYTES] [--burst N]
 *
 * Prints the throughput (million objects allocated and freed per second)
 * and the IOVA of a sample buffer; exits 1 on any error. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xmem/xmem.h>

#define HEAP_LEN   ((size_t)64 << 20)
#define PAGE_4K    ((size_t)4096)
#define PAGE_2M    ((size_t)2 << 20)
#define IOVA_BASE  ((uint64_t)1 << 32)   /* where our "device" sees the heap */
#define RING_SLOTS 4096                  /* power of two */
#define MAX_BURST  256

/* Single-producer single-consumer ring of buffer pointers.  The producer
 * publishes slots with a release store of head; the consumer frees them
 * with a release store of tail; each side reads the other's index with an
 * acquire load, so a slot's content is visible before its index is. */
struct ring {
	_Alignas(64) _Atomic size_t head;  /* written by RX only */
	_Alignas(64) _Atomic size_t tail;  /* written by TX only */
	_Alignas(64) void *slot[RING_SLOTS];
};

struct pipeline {
	struct xmem_heap *heap;
	struct ring ring;
	size_t size;
	unsigned burst;
	_Atomic int stop;         /* set by main (relaxed: a flag on its own) */
	_Atomic int rx_done;      /* RX produced its last burst (release) */
	_Atomic int failed;       /* any thread saw an error */
	uint64_t allocated;       /* written by RX, read after join */
	uint64_t freed;           /* written by TX, read after join */
	uint64_t sample_iova;
	void *sample_va;
	int rx_lcore, tx_lcore;
};

static void fail(struct pipeline *p, const char *what)
{
	fprintf(stderr, "burst_pipeline: %s: %s\n", what, strerror(errno));
	atomic_store(&p->failed, 1);
}

static void *rx_main(void *arg)
{
	struct pipeline *p = arg;
	void *objs[MAX_BURST];
	p->rx_lcore = xmem_thread_register();
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed) &&
	       !atomic_load_explicit(&p->failed, memory_order_relaxed)) {
		size_t head = atomic_load_explicit(&p->ring.head, memory_order_relaxed);
		size_t tail = atomic_load_explicit(&p->ring.tail, memory_order_acquire);
		if (RING_SLOTS - (head - tail) < p->burst) {
			sched_yield();  /* TX is behind */
			continue;
		}
		if (xmem_alloc_bulk(p->heap, p->size, objs, p->burst) != 0) {
			/* The heap is full of buffers in flight: wait for TX.
			 * With nothing in flight it is a real error. */
			if (errno == ENOMEM && head != tail) {
				sched_yield();
				continue;
			}
			fail(p, "xmem_alloc_bulk");
			break;
		}
		if (!p->sample_va) {
			p->sample_va = objs[0];
			p->sample_iova = xmem_virt2iova(objs[0]);
		}
		for (unsigned i = 0; i < p->burst; i++)
			p->ring.slot[(head + i) & (RING_SLOTS - 1)] = objs[i];
		atomic_store_explicit(&p->ring.head, head + p->burst,
				      memory_order_release);
		p->allocated += p->burst;
	}
	atomic_store_explicit(&p->rx_done, 1, memory_order_release);
	return NULL;
}

static void *tx_main(void *arg)
{
	struct pipeline *p = arg;
	void *objs[MAX_BURST];
	p->tx_lcore = xmem_thread_register();
	for (;;) {
		/* Read rx_done before head: once RX is done, head is final. */
		int done = atomic_load_explicit(&p->rx_done, memory_order_acquire);
		size_t tail = atomic_load_explicit(&p->ring.tail, memory_order_relaxed);
		size_t head = atomic_load_explicit(&p->ring.head, memory_order_acquire);
		size_t n = head - tail;
		if (n == 0) {
			if (done)
				break;
			sched_yield();  /* RX is behind */
			continue;
		}
		if (n > MAX_BURST)
			n = MAX_BURST;
		for (size_t i = 0; i < n; i++)
			objs[i] = p->ring.slot[(tail + i) & (RING_SLOTS - 1)];
		atomic_store_explicit(&p->ring.tail, tail + n, memory_order_release);
		errno = 0;
		xmem_free_bulk(objs, (unsigned)n);
		if (errno == EINVAL) {
			fail(p, "xmem_free_bulk reported an invalid pointer");
			break;
		}
		p->freed += n;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(void)
{
	fprintf(stderr, "usage: burst_pipeline [--seconds N] [--size BYTES] [--burst N (1..%d)]\n",
		MAX_BURST);
	return 2;
}

/* Memory for the heap: 2 MiB hugepages if the system has some reserved,
 * else 4 KiB pages.  *page gets the page size. */
static void *map_memory(size_t *page)
{
	void *va = mmap(NULL, HEAP_LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (va != MAP_FAILED) {
		*page = PAGE_2M;
		return va;
	}
	*page = PAGE_4K;
	va = mmap(NULL, HEAP_LEN, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return va == MAP_FAILED ? NULL : va;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	static struct pipeline p = {.size = 2048, .burst = 32};
	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], &end);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			p.size = strtoul(argv[++i], &end, 0);
		else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
			p.burst = (unsigned)strtoul(argv[++i], &end, 0);
		else
			return usage();
		if (!end || *end)
			return usage();
	}
	if (!(seconds > 0) || p.size == 0 || p.burst == 0 || p.burst > MAX_BURST)
		return usage();

	size_t page;
	void *va = map_memory(&page);
	if (!va) {
		perror("burst_pipeline: mmap");
		return 1;
	}
	/* One IOVA per page.  A real program takes them from its IOMMU
	 * mapping (or lets xmem assign or map them, <xmem/xmem_dma.h>). */
	size_t n_pages = HEAP_LEN / page;
	uint64_t *iova = malloc(n_pages * sizeof(*iova));
	if (!iova) {
		perror("burst_pipeline: malloc");
		return 1;
	}
	for (size_t i = 0; i < n_pages; i++)
		iova[i] = IOVA_BASE + i * page;

	p.heap = xmem_heap_create("burst_pipeline");
	if (!p.heap) {
		perror("burst_pipeline: xmem_heap_create");
		return 1;
	}
	if (xmem_heap_add_memory(p.heap, va, HEAP_LEN, iova, n_pages, page) != 0) {
		perror("burst_pipeline: xmem_heap_add_memory");
		return 1;
	}

	pthread_t rx, tx;
	double t0 = now_s();
	if (pthread_create(&tx, NULL, tx_main, &p) != 0 ||
	    pthread_create(&rx, NULL, rx_main, &p) != 0) {
		fprintf(stderr, "burst_pipeline: pthread_create failed\n");
		return 1;
	}
	struct timespec nap = {.tv_sec = (time_t)seconds,
			       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&nap, NULL);
	atomic_store_explicit(&p.stop, 1, memory_order_relaxed);
	pthread_join(rx, NULL);
	pthread_join(tx, NULL);
	double dt = now_s() - t0;

	int bad = atomic_load(&p.failed);
	uint64_t want = IOVA_BASE + (uint64_t)((char *)p.sample_va - (char *)va);
	if (!bad && (!p.sample_va || p.sample_iova != want)) {
		fprintf(stderr, "burst_pipeline: sample buffer %p has IOVA %#llx, expected %#llx\n",
			p.sample_va, (unsigned long long)p.sample_iova,
			(unsigned long long)want);
		bad = 1;
	}
	if (!bad && p.freed != p.allocated) {
		fprintf(stderr, "burst_pipeline: %llu allocated but %llu freed\n",
			(unsigned long long)p.allocated, (unsigned long long)p.freed);
		bad = 1;
	}
	struct xmem_heap_stats st;
	if (!bad && (xmem_heap_stats(p.heap, &st) != 0 || st.alloc_count != 0)) {
		fprintf(stderr, "burst_pipeline: the heap still holds %llu blocks\n",
			(unsigned long long)st.alloc_count);
		bad = 1;
	}
	if (!bad && (xmem_heap_trim(p.heap) != 0 ||
		     xmem_heap_remove_memory(p.heap, va, HEAP_LEN) != 0 ||
		     xmem_heap_destroy(p.heap) != 0)) {
		perror("burst_pipeline: tearing the heap down");
		bad = 1;
	}
	if (bad)
		return 1;

	printf("burst_pipeline: RX lcore %d -> ring -> TX lcore %d, %zu-byte buffers in bursts of %u, %s pages\n",
	       p.rx_lcore, p.tx_lcore, p.size, p.burst, page == PAGE_2M ? "2 MiB" : "4 KiB");
	printf("burst_pipeline: %llu objects in %.2f s: %.2f Mobj/s\n",
	       (unsigned long long)p.allocated, dt, (double)p.allocated / dt / 1e6);
	printf("burst_pipeline: sample buffer va %p iova %#llx\n", p.sample_va,
	       (unsigned long long)p.sample_iova);
	munmap(va, HEAP_LEN);
	free(iova);
	return 0;
}
