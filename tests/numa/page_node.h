/* page_node.h - the node of the page holding p, asked of the kernel
 * (move_pages in query mode: nothing is faulted in), for the NUMA tests on
 * the host (tests/numa) and in the guest (tests/numa_guest).  -100 when the
 * call fails; a negative errno for a page without a node. */
#ifndef XMEM_TESTS_NUMA_PAGE_NODE_H
#define XMEM_TESTS_NUMA_PAGE_NODE_H

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int page_node(const void *p)
{
	void *pg = (void *)((uintptr_t)p & ~(uintptr_t)4095);
	int st = -100;
	if (syscall(SYS_move_pages, 0, 1UL, &pg, NULL, &st, 0) != 0)
		return -100;
	return st;
}

#endif
