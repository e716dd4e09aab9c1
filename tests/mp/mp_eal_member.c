/* mp_eal_member.c - attach after the process has mapped 1 GiB and started
 * DPDK's EAL (started by mp_test with fork+exec):
 *   mp_eal_member <domain> <area file>
 * It maps 1 GiB of anonymous memory (and touches a page of each 2 MiB),
 * runs rte_eal_init as in the benchmarks (no hugepages, no PCI), then
 * attaches, allocates a burst of heap "pipe", writes into it and frees it.
 * It prints where EAL and the GiB landed against the window.  Exit 0 on
 * success. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include <xmem/xmem.h>

#include "mp_area.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return fprintf(stderr, "usage: mp_eal_member <domain> <area>\n"), 2;
	size_t gib = (size_t)1 << 30;
	char *big = mmap(NULL, gib, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED)
		return perror("mmap 1 GiB"), 1;
	for (size_t o = 0; o < gib; o += (size_t)2 << 20)
		big[o] = 1;
	char *eal[] = {"mp_eal_member", "--no-huge", "--no-pci", "--no-shconf",
		       "--no-telemetry", "-l", "0", "-m", "64",
		       "--log-level=lib.eal:error", NULL};
	if (rte_eal_init((int)(sizeof eal / sizeof eal[0]) - 1, eal) < 0)
		return fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno)), 1;
	int fd = open(argv[2], O_RDWR);
	struct mp_area *A = fd < 0 ? MAP_FAILED :
		mmap(NULL, sizeof(*A), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (A == MAP_FAILED)
		return perror("area"), 1;
	if (xmem_shared_attach(argv[1]) != 0)
		return fprintf(stderr, "attach after EAL: errno %d\n", errno), 1;
	struct xmem_heap *h = xmem_heap_lookup("pipe");
	void *b[MP_BURST];
	if (!h || xmem_alloc_bulk(h, MP_OBJ, b, MP_BURST) != 0)
		return fprintf(stderr, "alloc after EAL: errno %d\n", errno), 1;
	for (int i = 0; i < MP_BURST; i++)
		memset(b[i], 0x11, MP_OBJ);
	xmem_free_bulk(b, MP_BURST);
	printf("mp_eal_member: 1 GiB at %p, EAL up, attached; heap memory at %#lx\n",
	       (void *)big, (unsigned long)A->file_va);
	xmem_shared_detach();
	return 0;
}
