/* mp_member.c - a member process for the multi-process tests, started by
 * mp_test with fork+exec: `mp_member <domain> <area file> <command> [n]`.
 * It attaches to the domain, maps the test area and runs one command:
 *   produce N   allocate N objects of heap "pipe" in bursts, mark each in
 *               the shadow (an overlap is counted), write a pattern into
 *               it and push it to the ring;
 *   consume N   pop N objects, check the pattern, clear the shadow, free
 *               them in bursts;
 *   churn       allocate and free bursts of heap "pipe" forever, keeping
 *               the list of held objects in the area (killed by the test);
 *   mkheap      create heap "x" on a new file, allocate 10 objects, put
 *               them in the ring, exit without freeing them;
 *   rmheap      remove heap "x"'s file memory and destroy it;
 *   detach      allocate and free one burst (objects go to this lcore's
 *               cache), then detach;
 *   ctlchurn    create, fill, use, empty and destroy a heap of its own in
 *               a loop (killed by the test inside a control call);
 *   checked     expect checked mode on (switched by the test process),
 *               and a double free caught;
 *   create      (no attach) xmem_shared_create(<domain>), exit status 0 or
 *               its errno.
 * Exit 0 on success, 1 with a line on stderr otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xmem/xmem.h>

#include "mp_area.h"

static struct mp_area *A;

#define DIE(...) do { fprintf(stderr, "mp_member: " __VA_ARGS__); \
		      fprintf(stderr, " (errno %d)\n", errno); exit(1); } while (0)

static void ring_push(void *p)
{
	uint64_t h = atomic_load_explicit(&A->ring_head, memory_order_relaxed);
	while (h - atomic_load_explicit(&A->ring_tail, memory_order_acquire) >= MP_RING)
		;
	A->ring[h % MP_RING] = p;
	atomic_store_explicit(&A->ring_head, h + 1, memory_order_release);
}

static void *ring_pop(void)
{
	uint64_t t = atomic_load_explicit(&A->ring_tail, memory_order_relaxed);
	while (atomic_load_explicit(&A->ring_head, memory_order_acquire) == t)
		;
	void *p = A->ring[t % MP_RING];
	atomic_store_explicit(&A->ring_tail, t + 1, memory_order_release);
	return p;
}

static _Atomic uint8_t *shadow_of(void *p)
{
	return &A->shadow[((uintptr_t)p - A->file_va) / 64];
}

static void produce(struct xmem_heap *h, unsigned long n)
{
	void *b[MP_BURST];
	for (unsigned long done = 0; done < n; done += MP_BURST) {
		if (xmem_alloc_bulk(h, MP_OBJ, b, MP_BURST) != 0)
			DIE("alloc_bulk after %lu", done);
		for (int i = 0; i < MP_BURST; i++) {
			uint8_t z = 0;
			if (!atomic_compare_exchange_strong(shadow_of(b[i]), &z, 1))
				atomic_fetch_add(&A->overlaps, 1);
			memset(b[i], (int)(((uintptr_t)b[i] >> 6) & 0xff), MP_OBJ);
			ring_push(b[i]);
		}
	}
}

static void consume(unsigned long n)
{
	void *b[MP_BURST];
	for (unsigned long done = 0; done < n; done += MP_BURST) {
		for (int i = 0; i < MP_BURST; i++) {
			b[i] = ring_pop();
			unsigned char *c = b[i];
			unsigned char want = (unsigned char)(((uintptr_t)b[i] >> 6) & 0xff);
			if (c[0] != want || c[MP_OBJ - 1] != want)
				atomic_fetch_add(&A->bad_data, 1);
			uint8_t one = 1;
			if (!atomic_compare_exchange_strong(shadow_of(b[i]), &one, 0))
				atomic_fetch_add(&A->overlaps, 1);
		}
		xmem_free_bulk(b, MP_BURST);
	}
}

static void churn(struct xmem_heap *h)
{
	for (;;) {
		uint64_t n = atomic_load(&A->held_n);
		if (n + MP_BURST <= MP_HELD && (n == 0 || (random() & 1))) {
			if (xmem_alloc_bulk(h, MP_OBJ, &A->held[n], MP_BURST) != 0)
				DIE("churn alloc");
			atomic_store(&A->held_n, n + MP_BURST);
		} else {
			atomic_store(&A->held_n, n - MP_BURST);
			xmem_free_bulk(&A->held[n - MP_BURST], MP_BURST);
		}
		atomic_fetch_add(&A->rounds, 1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 4)
		DIE("usage: mp_member <domain> <area> <command> [n]");
	const char *cmd = argv[3];
	unsigned long n = argc > 4 ? strtoul(argv[4], NULL, 0) : 0;
	srandom((unsigned)getpid());
	int fd = open(argv[2], O_RDWR);
	if (fd < 0)
		DIE("open %s", argv[2]);
	A = mmap(NULL, sizeof(*A), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (A == MAP_FAILED)
		DIE("mmap area");
	close(fd);
	if (!strcmp(cmd, "create")) {
		/* Exit status: 0, or the errno of xmem_shared_create. */
		if (xmem_shared_create(argv[1]) != 0)
			return errno;
		return 0;   /* exits without detaching: leaves a stale domain */
	}
	if (xmem_shared_attach(argv[1]) != 0)
		DIE("attach %s", argv[1]);
	if (!strcmp(cmd, "produce") || !strcmp(cmd, "consume") ||
	    !strcmp(cmd, "churn") || !strcmp(cmd, "detach")) {
		struct xmem_heap *h = xmem_heap_lookup("pipe");
		if (!h)
			DIE("lookup pipe");
		if (!strcmp(cmd, "produce"))
			produce(h, n);
		else if (!strcmp(cmd, "consume"))
			consume(n);
		else if (!strcmp(cmd, "churn"))
			churn(h);
		else {
			void *b[MP_BURST];
			if (xmem_alloc_bulk(h, MP_OBJ, b, MP_BURST) != 0)
				DIE("alloc");
			xmem_free_bulk(b, MP_BURST);
			if (xmem_shared_detach() != 0)
				DIE("detach");
		}
	} else if (!strcmp(cmd, "ctlchurn")) {
		/* Control calls in a loop, to be killed inside one: a heap of
		 * its own on private memory, created, filled, used, emptied
		 * and destroyed. */
		char name[32];
		snprintf(name, sizeof(name), "c%d", (int)getpid());
		void *va = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (va == MAP_FAILED)
			DIE("ctlchurn mmap");
		uint64_t slot = atomic_fetch_add(&A->churn_n, 1);
		if (slot < sizeof(A->churn_va) / sizeof(A->churn_va[0])) {
			A->churn_va[slot] = (uintptr_t)va;
			A->churn_tcb[slot] = (uintptr_t)pthread_self();
		}
		for (;;) {
			struct xmem_heap *h = xmem_heap_create(name);
			if (!h || xmem_heap_add_memory(h, va, 1 << 20, NULL, 0, 4096) != 0)
				DIE("ctlchurn setup");
			void *p = xmem_alloc(h, 5000, 0);
			xmem_free(p);
			struct xmem_heap_stats st;
			xmem_heap_stats(h, &st);
			if (xmem_heap_remove_memory(h, va, 1 << 20) != 0 ||
			    xmem_heap_destroy(h) != 0)
				DIE("ctlchurn teardown");
			atomic_fetch_add(&A->rounds, 1);
		}
	} else if (!strcmp(cmd, "checked")) {
		/* Checked mode is the domain's: a double free is caught here
		 * when another member switched it on. */
		struct xmem_heap *h = xmem_heap_lookup("pipe");
		uint64_t bad0 = xmem_invalid_free_count();
		void *p = h ? xmem_alloc(h, MP_OBJ, 0) : NULL;
		if (!xmem_checked() || !p)
			DIE("checked mode not seen");
		xmem_free(p);
		xmem_free(p);
		if (xmem_invalid_free_count() != bad0 + 1)
			DIE("double free not caught");
	} else if (!strcmp(cmd, "mkheap")) {
		struct xmem_heap *h = xmem_heap_create("x");
		if (!h)
			DIE("create x");
		char path[128];
		snprintf(path, sizeof(path), "%s.x", argv[2]);
		int f = open(path, O_RDWR | O_CREAT, 0600);
		if (f < 0 || ftruncate(f, 4 << 20) != 0)
			DIE("file x");
		close(f);
		void *va = xmem_heap_add_file(h, path, 0, 4 << 20, NULL, 0, 4096);
		if (!va)
			DIE("add_file x");
		A->x_va = (uintptr_t)va;
		for (int i = 0; i < 10; i++) {
			void *p = xmem_alloc(h, 1000, 0);
			if (!p)
				DIE("alloc x");
			memset(p, 0x5a, 1000);
			ring_push(p);
		}
	} else if (!strcmp(cmd, "rmheap")) {
		struct xmem_heap *h = xmem_heap_lookup("x");
		if (!h)
			DIE("lookup x");
		struct xmem_heap_stats st;
		if (xmem_heap_stats(h, &st) != 0 || st.alloc_count != 0)
			DIE("x still has %lu live objects", (unsigned long)st.alloc_count);
		uintptr_t va = A->x_va;
		if (xmem_heap_remove_memory(h, (void *)va, 4 << 20) != 0)
			DIE("remove x");
		if (xmem_heap_destroy(h) != 0)
			DIE("destroy x");
	} else {
		DIE("unknown command %s", cmd);
	}
	return 0;
}
