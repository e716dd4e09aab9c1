/* peer_rte_mempool.c - two rte_mempools of 2 KiB elements with a per-lcore
 * cache of 256, created on the socket of the "xb_pool" external heap (same
 * kind of memory as every other DMA peer):
 *   "rte_mempool"        DPDK's default ops, ring_mp_mc: a FIFO ring behind
 *                        the caches;
 *   "rte_mempool stack"  the "stack" ops: a LIFO behind the caches, DPDK's
 *                        own answer to a ring that cycles the whole pool.
 *                        Measured on the pipeline workloads only (a burst on
 *                        one lcore never leaves the cache).
 * Bursts use rte_mempool_get_bulk / rte_mempool_put_bulk, which are static
 * inline: the timed loops (loops.h) compile them into this file.  Fixed-size
 * pools: they take no part in the mixed sizes workload. */
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mempool.h>

#include "bench/bench.h"
#include "bench/loops.h"

#define XB_POOL_N     16383 /* 2^14 - 1: the ring's best size */
#define XB_POOL_CACHE 256

static struct rte_mempool *g_pool, *g_stack;

static inline int mp_get(void **objs, unsigned n)
{
	return rte_mempool_get_bulk(g_pool, objs, n) == 0 ? 0 : -1;
}

static inline void mp_put(void **objs, unsigned n)
{
	rte_mempool_put_bulk(g_pool, objs, n);
}

XB_DEFINE_LOOPS(mp, mp_get, mp_put);

static inline int ms_get(void **objs, unsigned n)
{
	return rte_mempool_get_bulk(g_stack, objs, n) == 0 ? 0 : -1;
}

static inline void ms_put(void **objs, unsigned n)
{
	rte_mempool_put_bulk(g_stack, objs, n);
}

XB_DEFINE_LOOPS(ms, ms_get, ms_put);

static struct rte_mempool *pool_of(const struct xb_peer *p)
{
	return p == &xb_peer_rte_mempool_stack ? g_stack : g_pool;
}

/* The interface calls of a pool (setup, overhead, the peer-interface
 * comparison), the same for both. */
#define XB_POOL_INTERFACE(pfx, POOL)                                          \
	static int pfx##_alloc_bulk(size_t size, void **objs, unsigned n)     \
	{                                                                     \
		if (size > XB_OBJ_SIZE)                                       \
			return -1;                                            \
		return rte_mempool_get_bulk(POOL, objs, n) == 0 ? 0 : -1;     \
	}                                                                     \
	static void pfx##_free_bulk(void **objs, unsigned n)                  \
	{                                                                     \
		rte_mempool_put_bulk(POOL, objs, n);                          \
	}                                                                     \
	static void *pfx##_alloc(size_t size)                                 \
	{                                                                     \
		void *o;                                                      \
		if (size > XB_OBJ_SIZE || rte_mempool_get(POOL, &o) != 0)     \
			return NULL;                                          \
		return o;                                                     \
	}                                                                     \
	static void pfx##_free(void *p)                                       \
	{                                                                     \
		rte_mempool_put(POOL, p);                                     \
	}

XB_POOL_INTERFACE(mp, g_pool)
XB_POOL_INTERFACE(ms, g_stack)

static size_t mp_usable(const void *p)
{
	(void)p;
	return g_pool->elt_size;
}

/* Objects handed out times what each takes in the pool's memory (object
 * header, element and trailer). */
static long long mp_in_use(void)
{
	size_t per = g_pool->header_size + g_pool->elt_size + g_pool->trailer_size;
	return (long long)rte_mempool_in_use_count(g_pool) * (long long)per;
}

static void describe(struct xb_peer *p)
{
	const struct rte_mempool *mp = pool_of(p);
	snprintf(p->about, sizeof p->about,
	         "rte_mempool '%s': %u x %u B, cache %u, ops %s, socket %d "
	         "(external heap 'xb_pool'); get_bulk/put_bulk inlined into its loops",
	         mp->name, mp->size, mp->elt_size, mp->cache_size,
	         rte_mempool_get_ops(mp->ops_index)->name, mp->socket_id);
}

static int mp_init(struct xb_peer *p)
{
	if (!xb_dpdk_ready()) {
		snprintf(p->about, sizeof p->about, "DPDK did not start");
		return -1;
	}
	g_pool = rte_mempool_create("xb_pool", XB_POOL_N, XB_OBJ_SIZE,
	                            XB_POOL_CACHE, 0, NULL, NULL, NULL, NULL,
	                            xb_dpdk_pool_socket(), 0);
	if (g_pool == NULL) {
		snprintf(p->about, sizeof p->about, "rte_mempool_create: %s",
		         rte_strerror(rte_errno));
		return -1;
	}
	describe(p);
	return 0;
}

static int ms_init(struct xb_peer *p)
{
	if (!xb_dpdk_ready()) {
		snprintf(p->about, sizeof p->about, "DPDK did not start");
		return -1;
	}
	g_stack = rte_mempool_create_empty("xb_stack", XB_POOL_N, XB_OBJ_SIZE,
	                                   XB_POOL_CACHE, 0, xb_dpdk_pool_socket(), 0);
	if (g_stack == NULL) {
		snprintf(p->about, sizeof p->about, "rte_mempool_create_empty: %s",
		         rte_strerror(rte_errno));
		return -1;
	}
	int rc = rte_mempool_set_ops_byname(g_stack, "stack", NULL);
	if (rc != 0) {
		snprintf(p->about, sizeof p->about, "rte_mempool_set_ops_byname(stack): %s",
		         rte_strerror(-rc));
		rte_mempool_free(g_stack);
		g_stack = NULL;
		return -1;
	}
	if (rte_mempool_populate_default(g_stack) < 0) {
		snprintf(p->about, sizeof p->about, "rte_mempool_populate_default: %s",
		         rte_strerror(rte_errno));
		rte_mempool_free(g_stack);
		g_stack = NULL;
		return -1;
	}
	describe(p);
	return 0;
}

struct xb_peer xb_peer_rte_mempool = {
	.name = "rte_mempool",
	.loops = &mp_loops,
	.fixed_size = XB_OBJ_SIZE,
	.init = mp_init,
	.alloc_bulk = mp_alloc_bulk,
	.free_bulk = mp_free_bulk,
	.alloc = mp_alloc,
	.free = mp_free,
	.usable = mp_usable,
	.in_use = mp_in_use,
	.thread_enter = xb_dpdk_thread_enter,
	.thread_leave = xb_dpdk_thread_leave,
};

struct xb_peer xb_peer_rte_mempool_stack = {
	.name = "rte_mempool stack",
	.loops = &ms_loops,
	.fixed_size = XB_OBJ_SIZE,
	.pipeline_only = 1,
	.init = ms_init,
	.alloc_bulk = ms_alloc_bulk,
	.free_bulk = ms_free_bulk,
	.alloc = ms_alloc,
	.free = ms_free,
	.usable = mp_usable,
	.thread_enter = xb_dpdk_thread_enter,
	.thread_leave = xb_dpdk_thread_leave,
};
