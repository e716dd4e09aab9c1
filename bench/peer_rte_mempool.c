/* peer_rte_mempool.c - rte_mempool of 2 KiB elements with a per-lcore cache
 * of 256, created on the socket of the "xb_pool" external heap (same kind of
 * memory as every other DMA peer).  Bursts use rte_mempool_get_bulk /
 * rte_mempool_put_bulk.  A fixed-size pool: it takes no part in the mixed
 * sizes workload. */
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mempool.h>

#include "bench/bench.h"


#define XB_POOL_N     16383 /* 2^14 - 1: the ring's best size */
#define XB_POOL_CACHE 256

static struct rte_mempool *g_pool;

static int mp_alloc_bulk(size_t size, void **objs, unsigned n)
{
	if (size > XB_OBJ_SIZE)
		return -1;
	return rte_mempool_get_bulk(g_pool, objs, n) == 0 ? 0 : -1;
}

static void mp_free_bulk(void **objs, unsigned n)
{
	rte_mempool_put_bulk(g_pool, objs, n);
}

static void *mp_alloc(size_t size)
{
	void *o;
	if (size > XB_OBJ_SIZE || rte_mempool_get(g_pool, &o) != 0)
		return NULL;
	return o;
}

static void mp_free(void *p)
{
	rte_mempool_put(g_pool, p);
}

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
	snprintf(p->about, sizeof p->about,
	         "rte_mempool '%s': %u x %u B, cache %u, ops %s, socket %d "
	         "(external heap 'xb_pool'); get_bulk/put_bulk",
	         g_pool->name, g_pool->size, g_pool->elt_size, g_pool->cache_size,
	         rte_mempool_get_ops(g_pool->ops_index)->name, g_pool->socket_id);
	return 0;
}

struct xb_peer xb_peer_rte_mempool = {
	.name = "rte_mempool",
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
