/* vg_errors.c - a program with one of each memory bug memcheck must see in
 * xmem blocks once the library is built with --config=valgrind.  It is run
 * by vg_test.sh under valgrind, never on its own as a test: it prints one
 * line per bug, "<KIND> <address> <size>", and the driver checks that
 * valgrind reported each of them at that address.
 *
 *   LEAK      a small block lost: the first object of a fresh span (whose
 *             address the library's own metadata holds as the span base)
 *   LEAKBIG   a large block lost (a one-object span: base == block)
 *   LEAKBULK  one block of an xmem_alloc_bulk burst lost
 *   UAF       a read of a block after xmem_free
 *   PAST      a read one byte past a 100-byte block (class slack)
 *   OVERFLOW  a write one byte past a 64-byte block, into the neighbouring
 *             object, which is free
 *   UNINIT    a branch on a byte of a fresh (not zalloc'd) block
 *   DOUBLE    a second xmem_free of the same block
 *   REUSE     the allocator (not in checked mode) then hands that block out
 *             twice; the second time is reported
 *
 * Built without the annotations (no --config=valgrind) it prints
 * "SKIPPED: ..." and exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xmem/xmem.h>

#define LEN ((size_t)8 << 20)

static struct xmem_heap *heap;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void say(const char *kind, const void *p, size_t size)
{
	printf("%s %p %zu\n", kind, p, size);
	fflush(stdout);
}

/* Each bug in its own non-inlined function, so that no pointer to a lost
 * block survives in main's frame or in callee-saved registers. */
__attribute__((noinline)) static void leak_small(void)
{
	char *p = xmem_alloc(heap, 777, 0);
	if (!p)
		die("xmem_alloc 777");
	memset(p, 0x5a, 777);
	say("LEAK", p, 777);
}

__attribute__((noinline)) static void leak_big(void)
{
	char *p = xmem_alloc(heap, 50000, 0);
	if (!p)
		die("xmem_alloc 50000");
	memset(p, 0x5a, 50000);
	say("LEAKBIG", p, 50000);
}

__attribute__((noinline)) static void leak_bulk(void)
{
	void *objs[8];
	if (xmem_alloc_bulk(heap, 300, objs, 8))
		die("xmem_alloc_bulk");
	say("LEAKBULK", objs[5], 300);
	objs[5] = NULL;                 /* lost; the rest go back */
	xmem_free_bulk(objs, 8);
}

__attribute__((noinline)) static void use_after_free(void)
{
	volatile char *p = xmem_alloc(heap, 64, 0);
	if (!p)
		die("xmem_alloc 64");
	p[0] = 1;
	xmem_free((void *)p);
	say("UAF", (const void *)p, 64);
	char c = p[0];                  /* invalid read */
	(void)c;
}

__attribute__((noinline)) static void read_past(void)
{
	volatile char *p = xmem_alloc(heap, 100, 0);
	if (!p)
		die("xmem_alloc 100");
	memset((void *)p, 0, 100);
	say("PAST", (const void *)(p + 100), 100);
	char c = p[100];                /* invalid read: class slack */
	(void)c;
	xmem_free((void *)p);
}

static int by_addr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

__attribute__((noinline)) static void overflow_into_free(void)
{
	enum { N = 16 };
	void *objs[N];
	if (xmem_alloc_bulk(heap, 64, objs, N))
		die("xmem_alloc_bulk 64");
	qsort(objs, N, sizeof(objs[0]), by_addr);
	int k = -1;
	for (int i = 0; i + 1 < N && k < 0; i++)
		if ((char *)objs[i] + 64 == (char *)objs[i + 1])
			k = i;
	if (k < 0) {
		fprintf(stderr, "no two neighbouring 64-byte blocks\n");
		exit(2);
	}
	volatile char *p = objs[k];
	objs[k] = NULL;
	xmem_free_bulk(objs, N);        /* the neighbour p + 64 is free */
	say("OVERFLOW", (const void *)(p + 64), 64);
	p[64] = 1;                      /* invalid write */
	xmem_free((void *)p);
}

__attribute__((noinline)) static void uninit(void)
{
	char *p = xmem_alloc(heap, 48, 0);
	if (!p)
		die("xmem_alloc 48");
	say("UNINIT", p, 48);
	if (((volatile char *)p)[7] == 42)   /* undefined */
		puts("(42)");
	xmem_free(p);
}

__attribute__((noinline)) static void double_free(void)
{
	void *p = xmem_alloc(heap, 32, 0);
	if (!p)
		die("xmem_alloc 32");
	xmem_free(p);
	say("DOUBLE", p, 32);
	xmem_free(p);
	/* Outside checked mode the block now sits twice in this lcore's
	 * cache: the next two allocations of its class both get it. */
	void *a = xmem_alloc(heap, 32, 0), *b = xmem_alloc(heap, 32, 0);
	if (a == p && b == p)
		say("REUSE", p, 32);
	xmem_free(a);           /* one block, as far as memcheck knows */
	if (b != a)
		xmem_free(b);
}

int main(void)
{
#if !defined(XMEM_VALGRIND_BUILD)
	puts("SKIPPED: built without --config=valgrind: libxmem has no "
	     "memcheck annotations");
	return 0;
#endif
	void *mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	heap = xmem_heap_create("vg-errors");
	if (!heap || xmem_heap_add_memory(heap, mem, LEN, NULL, 0, 4096))
		die("heap");

	leak_small();           /* first: object 0 of the heap's first span */
	leak_big();
	leak_bulk();
	use_after_free();
	read_past();
	overflow_into_free();
	uninit();
	double_free();          /* last: it corrupts the cache (not checked) */
	puts("DONE");
	return 0;
}
