/* peer_xmem.c - the xmem peers: one heap ("xb_bench") over XB_HEAP_BYTES of
 * anonymous 4 KiB pages with an IOVA table, exactly the kind of memory the
 * rte_malloc peer gets.  Bursts use xmem_alloc_bulk / xmem_free_bulk.
 * "xmem checked" is the same heap with checked mode (double-free detection)
 * switched on while its benchmark threads run: its ratio to "xmem" is the
 * cost of checked mode.  The timed loops (loops.h) call xmem_alloc_bulk and
 * xmem_free_bulk directly, as an application would. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/loops.h"
#include "xmem/xmem.h"

static struct xmem_heap *g_heap;
static struct xb_mem g_mem;

static int xm_alloc_bulk(size_t size, void **objs, unsigned n)
{
	return xmem_alloc_bulk(g_heap, size, objs, n) == 0 ? 0 : -1;
}

static void xm_free_bulk(void **objs, unsigned n)
{
	xmem_free_bulk((void *const *)objs, n);
}

static inline int xm_get(void **objs, unsigned n)
{
	return xmem_alloc_bulk(g_heap, XB_OBJ_SIZE, objs, n);
}

static inline void xm_put(void **objs, unsigned n)
{
	xmem_free_bulk((void *const *)objs, n);
}

XB_DEFINE_LOOPS(xm, xm_get, xm_put);

static void *xm_alloc(size_t size)
{
	return xmem_alloc(g_heap, size, 0);
}

static void xm_free(void *p)
{
	xmem_free(p);
}

static size_t xm_usable(const void *p)
{
	return xmem_usable_size(p);
}

static long long xm_in_use(void)
{
	struct xmem_heap_stats s;
	if (xmem_heap_stats(g_heap, &s) != 0)
		return -1;
	return (long long)s.alloc_bytes;
}

static int xm_init(struct xb_peer *p)
{
	if (xb_mem_map(&g_mem, XB_HEAP_BYTES, 0, 0) != 0) {
		snprintf(p->about, sizeof p->about, "mmap failed: %s", strerror(errno));
		return -1;
	}
	g_heap = xmem_heap_create("xb_bench");
	if (g_heap == NULL) {
		snprintf(p->about, sizeof p->about, "xmem_heap_create: %s", strerror(errno));
		return -1;
	}
	if (xmem_heap_add_memory(g_heap, g_mem.va, g_mem.len, g_mem.iova,
	                         g_mem.n_pages, XB_PAGE) != 0) {
		snprintf(p->about, sizeof p->about, "xmem_heap_add_memory: %s",
		         strerror(errno));
		return -1;
	}
	/* Check that what comes back lies in the heap's memory. */
	void *o = xmem_alloc(g_heap, XB_OBJ_SIZE, 0);
	if (o == NULL || (char *)o < (char *)g_mem.va ||
	    (char *)o >= (char *)g_mem.va + g_mem.len) {
		snprintf(p->about, sizeof p->about, "xmem_alloc gave %p outside the heap", o);
		return -1;
	}
	snprintf(p->about, sizeof p->about,
	         "libxmem heap '%s' over %zu MiB anonymous 4 KiB pages at %p; "
	         "xmem_alloc(2048) -> %p in range, usable %zu",
	         xmem_heap_name(g_heap), g_mem.len >> 20, g_mem.va, o,
	         xmem_usable_size(o));
	xmem_free(o);
	return 0;
}

struct xb_peer xb_peer_xmem = {
	.name = "xmem",
	.loops = &xm_loops,
	.init = xm_init,
	.alloc_bulk = xm_alloc_bulk,
	.free_bulk = xm_free_bulk,
	.alloc = xm_alloc,
	.free = xm_free,
	.usable = xm_usable,
	.in_use = xm_in_use,
};

/* Checked mode is process-wide: on while any checked-peer thread runs. */
static _Atomic int g_checked_threads;

static void xm_checked_enter(void)
{
	if (atomic_fetch_add(&g_checked_threads, 1) == 0)
		xmem_set_checked(1);
}

static void xm_checked_leave(void)
{
	if (atomic_fetch_sub(&g_checked_threads, 1) == 1)
		xmem_set_checked(0);
}

static int xm_checked_init(struct xb_peer *p)
{
	if (g_heap == NULL) {
		snprintf(p->about, sizeof p->about, "needs the xmem peer's heap");
		return -1;
	}
	snprintf(p->about, sizeof p->about,
	         "libxmem heap '%s' as for xmem, with xmem_set_checked(1) while "
	         "the benchmark runs: every call bypasses the lcore caches (lock-free "
	         "depot and span bitmaps) and frees check for double frees", xmem_heap_name(g_heap));
	return 0;
}

struct xb_peer xb_peer_xmem_checked = {
	.name = "xmem checked",
	.loops = &xm_loops,
	.init = xm_checked_init,
	.alloc_bulk = xm_alloc_bulk,
	.free_bulk = xm_free_bulk,
	.alloc = xm_alloc,
	.free = xm_free,
	.usable = xm_usable,
	.in_use = xm_in_use,
	.thread_enter = xm_checked_enter,
	.thread_leave = xm_checked_leave,
};
