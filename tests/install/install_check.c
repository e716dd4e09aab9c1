/* install_check.c - a user program of the installed library (the install
 * stage, tests/install/run.sh, builds it with pkg-config against the shared
 * and against the static library): a heap over mmap'd memory with an IOVA
 * table, a burst of allocations, translation both ways, a DMA subscriber,
 * removal.  Prints "install_check: ok" and exits 0, or names the first step
 * that failed and exits 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#define LEN   ((size_t)8 << 20)
#define PAGE  ((size_t)4096)
#define NPG   (LEN / PAGE)
#define IOVA0 ((uint64_t)1 << 36)
#define BURST 32

static int events;

static int on_event(void *ctx, enum xmem_mem_event ev,
		    const struct xmem_dma_region_info *r)
{
	(void)ctx;
	(void)ev;
	(void)r;
	events++;
	return 0;
}

#define CHECK(cond, what)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "install_check: %s failed (%s)\n",   \
				what, strerror(errno));                       \
			return 1;                                             \
		}                                                             \
	} while (0)

int main(void)
{
	static uint64_t iova[NPG];
	void *va = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(va != MAP_FAILED, "mmap");
	for (size_t i = 0; i < NPG; i++)
		iova[i] = IOVA0 + i * PAGE;

	struct xmem_dma_subscriber *s =
		xmem_mem_event_register("install_check", on_event, NULL);
	CHECK(s, "xmem_mem_event_register");
	struct xmem_heap *h = xmem_heap_create("install_check");
	CHECK(h, "xmem_heap_create");
	CHECK(xmem_heap_add_memory(h, va, LEN, iova, NPG, PAGE) == 0,
	      "xmem_heap_add_memory");

	void *objs[BURST];
	CHECK(xmem_alloc_bulk(h, 2048, objs, BURST) == 0, "xmem_alloc_bulk");
	uint64_t io = xmem_virt2iova(objs[0]);
	CHECK(io == IOVA0 + (uint64_t)((char *)objs[0] - (char *)va),
	      "xmem_virt2iova");
	CHECK(xmem_iova2virt(io) == objs[0], "xmem_iova2virt");
	xmem_free_bulk(objs, BURST);
	CHECK(xmem_heap_trim(h) == 0, "xmem_heap_trim");

	CHECK(xmem_heap_remove_memory(h, va, LEN) == 0, "xmem_heap_remove_memory");
	CHECK(xmem_heap_destroy(h) == 0, "xmem_heap_destroy");
	CHECK(xmem_dma_unsubscribe(s) == 0, "xmem_dma_unsubscribe");
	CHECK(events == 2, "one ADD and one REMOVE event");
	printf("install_check: ok (iova %#llx)\n", (unsigned long long)io);
	return 0;
}
