/* peer_rte_malloc.c - rte_malloc on a DPDK external heap: rte_malloc_socket
 * on the socket of the "xb_ext" heap (XB_HEAP_BYTES of anonymous 4 KiB pages
 * with an IOVA table, added with rte_malloc_heap_memory_add), rte_free.
 * There is no bulk call, so bursts are loops. */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "bench/bench.h"
#include "bench/loops.h"


static int g_socket = -1;

static void *rm_alloc(size_t size)
{
	return rte_malloc_socket(NULL, size, 0, g_socket);
}

static void rm_free(void *p)
{
	rte_free(p);
}

static int rm_alloc_bulk(size_t size, void **objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		objs[i] = rte_malloc_socket(NULL, size, 0, g_socket);
		if (objs[i] == NULL) {
			while (i > 0)
				rte_free(objs[--i]);
			return -1;
		}
	}
	return 0;
}

static void rm_free_bulk(void **objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_free(objs[i]);
}

static inline int rm_get(void **objs, unsigned n)
{
	return rm_alloc_bulk(XB_OBJ_SIZE, objs, n);
}

static inline void rm_put(void **objs, unsigned n)
{
	rm_free_bulk(objs, n);
}

XB_DEFINE_LOOPS(rm, rm_get, rm_put);

/* The data area rte_malloc reports for the element (what a caller may use). */
static size_t rm_usable(const void *p)
{
	size_t sz = 0;
	if (rte_malloc_validate(p, &sz) != 0)
		return 0;
	return sz;
}

/* heap_allocsz_bytes counts whole elements: the in-band header and padding
 * included. */
static long long rm_in_use(void)
{
	struct rte_malloc_socket_stats s;
	if (rte_malloc_get_socket_stats(g_socket, &s) != 0)
		return -1;
	return (long long)s.heap_allocsz_bytes;
}

static int rm_init(struct xb_peer *p)
{
	if (!xb_dpdk_ready()) {
		snprintf(p->about, sizeof p->about, "DPDK did not start");
		return -1;
	}
	g_socket = xb_dpdk_socket();
	void *o = rm_alloc(XB_OBJ_SIZE);
	if (o == NULL) {
		snprintf(p->about, sizeof p->about, "rte_malloc_socket failed");
		return -1;
	}
	snprintf(p->about, sizeof p->about,
	         "rte_malloc_socket/rte_free on external heap '%s' (socket %d, "
	         "%zu MiB anonymous 4 KiB pages); rte_malloc(2048) -> %p, usable %zu",
	         xb_dpdk_heap_name(), g_socket, XB_HEAP_BYTES >> 20, o, rm_usable(o));
	rte_free(o);
	return 0;
}

struct xb_peer xb_peer_rte_malloc = {
	.name = "rte_malloc",
	.loops = &rm_loops,
	.init = rm_init,
	.alloc_bulk = rm_alloc_bulk,
	.free_bulk = rm_free_bulk,
	.alloc = rm_alloc,
	.free = rm_free,
	.usable = rm_usable,
	.in_use = rm_in_use,
	.thread_enter = xb_dpdk_thread_enter,
	.thread_leave = xb_dpdk_thread_leave,
};
