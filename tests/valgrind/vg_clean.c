/* vg_clean.c - a correct xmem program that must run under valgrind with
 * zero memcheck errors and no leaks once libxmem is built with
 * --config=valgrind.  Run by vg_test.sh (also with XMEM_NO_MEMBARRIER=1 and
 * XMEM_CHECKED=1); on its own it is an ordinary program that exits 0.
 *
 * What it does, and what memcheck must accept:
 *  - single blocks of class and large sizes: written in full, read back;
 *    after xmem_usable_size, every usable byte may be written;
 *  - xmem_zalloc: the zeroes are defined (branched on);
 *  - bursts through xmem_alloc_bulk / xmem_free_bulk;
 *  - two threads: blocks allocated on one lcore and freed on the other
 *    (cross-lcore frees through the depot), two threads churning at once,
 *    then heap trim and stats;
 *  - an idle lcore: a thread that keeps free objects of the heap in its
 *    cache and waits; the heap's memory is removed meanwhile, which only
 *    succeeds if draining that cache works (membarrier, or its fallback
 *    with XMEM_NO_MEMBARRIER=1);
 *  - xmem_free of a malloc'd pointer: the library reports it, and memcheck
 *    must NOT take it for freed (no FREELIKE): using and free()ing it after
 *    is clean;
 *  - xmem_heap_remove_memory: the memory is the program's again (defined),
 *    read and written without errors.
 *
 * Built without the annotations it prints "SKIPPED: ..." and exits 0. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xmem/xmem.h>

#define LEN ((size_t)16 << 20)

static struct xmem_heap *heap;
static int failures;

#define EXPECT(cond)                                                         \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: EXPECT(%s) failed\n",        \
				__FILE__, __LINE__, #cond);                  \
			failures++;                                          \
		}                                                            \
	} while (0)

static void fill_check(unsigned char *p, size_t n, unsigned char v)
{
	memset(p, v, n);
	for (size_t i = 0; i < n; i += 61)
		EXPECT(p[i] == v);
	EXPECT(p[n - 1] == v);
}

static void singles(void)
{
	static const size_t sizes[] = {1, 16, 100, 777, 2048, 4096, 32768,
				       50000, 300000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = xmem_alloc(heap, n, 0);
		EXPECT(p);
		if (!p)
			continue;
		fill_check(p, n, (unsigned char)i);
		size_t u = xmem_usable_size(p);
		EXPECT(u >= n);
		fill_check(p, u, (unsigned char)(i + 1)); /* all usable bytes */
		xmem_free(p);
	}
	unsigned char *a = xmem_alloc(heap, 200, 4096);   /* aligned */
	EXPECT(a && ((uintptr_t)a & 4095) == 0);
	if (a)
		fill_check(a, 200, 7);
	xmem_free(a);
}

static void zeroed(void)
{
	for (size_t n = 8; n <= 65536; n *= 4) {
		unsigned char *p = xmem_zalloc(heap, n, 0);
		EXPECT(p);
		if (!p)
			continue;
		size_t nz = 0;
		for (size_t i = 0; i < n; i++)
			nz += p[i] != 0;        /* branches on the zeroes */
		EXPECT(nz == 0);
		xmem_free(p);
	}
}

static void bursts(void)
{
	void *objs[32];
	for (int r = 0; r < 200; r++) {
		size_t sz = (r % 2) ? 2048 : 64;
		if (xmem_alloc_bulk(heap, sz, objs, 32)) {
			EXPECT(0);
			return;
		}
		for (int k = 0; k < 32; k++)
			memset(objs[k], r, sz);
		for (int k = 0; k < 32; k++)
			EXPECT(((unsigned char *)objs[k])[sz - 1] ==
			       (unsigned char)r);
		xmem_free_bulk(objs, 32);
	}
}

/* Producer/consumer: blocks allocated by one lcore, freed by another. */
#define XFER 4096
static void *xfer[XFER];

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < XFER; i++) {
		xfer[i] = xmem_alloc(heap, 64 + (size_t)(i % 7) * 64, 0);
		if (xfer[i])
			memset(xfer[i], i, 64);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < XFER; i += 16) {
		for (int k = i; k < i + 16; k++)
			EXPECT(xfer[k] && ((unsigned char *)xfer[k])[63] ==
					      (unsigned char)k);
		xmem_free_bulk(&xfer[i], 16);
	}
	/* Leave some objects in this lcore's cache for the trim to find. */
	void *keep[8];
	if (xmem_alloc_bulk(heap, 512, keep, 8) == 0)
		xmem_free_bulk(keep, 8);
	return NULL;
}

static void *churn(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	void *live[64] = {0};
	for (int i = 0; i < 3000; i++) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		int k = (int)(s % 64);
		if (live[k]) {
			xmem_free(live[k]);
			live[k] = NULL;
		} else {
			size_t n = 16 + (size_t)(s >> 20) % 3000;
			live[k] = xmem_alloc(heap, n, 0);
			if (live[k])
				memset(live[k], 1, n);
		}
	}
	xmem_free_bulk(live, 64);
	return NULL;
}

static void threads(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, producer, NULL);
	pthread_join(a, NULL);
	pthread_create(&b, NULL, consumer, NULL);
	pthread_join(b, NULL);

	pthread_create(&a, NULL, churn, (void *)1);
	pthread_create(&b, NULL, churn, (void *)2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	EXPECT(xmem_heap_trim(heap) == 0);
	struct xmem_heap_stats st;
	EXPECT(xmem_heap_stats(heap, &st) == 0);
	EXPECT(st.alloc_count == 0);
}

/* The idle lcore: parked with objects in its cache until main has removed
 * the memory they belong to. */
static pthread_barrier_t park;
static pthread_t idle_thread;

static void *idler(void *arg)
{
	(void)arg;
	void *objs[24];
	if (xmem_alloc_bulk(heap, 256, objs, 24) == 0) {
		for (int k = 0; k < 24; k++)
			memset(objs[k], k, 256);
		xmem_free_bulk(objs, 24);       /* into this lcore's cache */
	} else {
		EXPECT(0);
	}
	pthread_barrier_wait(&park);            /* cache filled */
	pthread_barrier_wait(&park);            /* memory removed */
	return NULL;
}

static void idle_start(void)
{
	pthread_barrier_init(&park, NULL, 2);
	pthread_create(&idle_thread, NULL, idler, NULL);
	pthread_barrier_wait(&park);
}

static void idle_finish(void)
{
	pthread_barrier_wait(&park);
	pthread_join(idle_thread, NULL);
	pthread_barrier_destroy(&park);
}

static void foreign_free(void)
{
	uint64_t before = xmem_invalid_free_count();
	unsigned char *m = malloc(48);
	EXPECT(m);
	if (!m)
		return;
	memset(m, 3, 48);
	xmem_free(m);                   /* reported by xmem, not FREELIKE'd */
	EXPECT(xmem_invalid_free_count() == before + 1);
	EXPECT(m[47] == 3);             /* still a live malloc block */
	free(m);
}

static void quiet(const char *line)
{
	printf("xmem log: %s\n", line);
}

int main(void)
{
#if !defined(XMEM_VALGRIND_BUILD)
	puts("SKIPPED: built without --config=valgrind: libxmem has no "
	     "memcheck annotations");
	return 0;
#endif
	xmem_set_log(quiet);
	unsigned char *mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	heap = xmem_heap_create("vg-clean");
	EXPECT(heap);
	EXPECT(xmem_heap_add_memory(heap, mem, LEN, NULL, 0, 4096) == 0);

	singles();
	zeroed();
	bursts();
	threads();
	foreign_free();

	idle_start();
	/* Drains the idle lcore's cache: fails with EBUSY if it cannot. */
	EXPECT(xmem_heap_remove_memory(heap, mem, LEN) == 0);
	idle_finish();
	EXPECT(xmem_heap_destroy(heap) == 0);
	/* Ours again: every byte is addressable and defined. */
	size_t odd = 0;
	for (size_t i = 0; i < LEN; i += 997)
		odd += mem[i] & 1;
	memset(mem, 0, LEN);
	printf("removed memory readable (%zu odd bytes)\n", odd);
	munmap(mem, LEN);

	printf("%s\n", failures ? "FAILED" : "CLEAN");
	return failures ? 1 : 0;
}
