/* mempool_ops.c - the "xmem" rte_mempool ops: the common pool behind DPDK's
 * per-lcore mempool caches is an xmem_pool (xmem_pool.h), lock-free, where
 * ring_mp_mc makes a preempted producer or consumer block the others.
 * Registered by a constructor when the library is loaded. */
#include <rte_mempool.h>

#include <xmem/xmem_dpdk.h>
#include <xmem/xmem_pool.h>

#include "xm_dpdk.h"

static int xm_ops_alloc(struct rte_mempool *mp)
{
	struct xmem_pool *p = xmem_pool_create(mp->size);
	if (!p)
		return -errno;
	mp->pool_data = p;
	return 0;
}

static void xm_ops_free(struct rte_mempool *mp)
{
	xmem_pool_destroy(mp->pool_data);
	mp->pool_data = NULL;
}

static int xm_ops_enqueue(struct rte_mempool *mp, void *const *objs,
			  unsigned n)
{
	return xmem_pool_put_bulk(mp->pool_data, objs, n) ? -ENOBUFS : 0;
}

static int xm_ops_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	/* The first dequeue of an EAL thread lines xmem's lcore id up with
	 * DPDK's. */
	xm_dpdk_lcore_follow();
	return xmem_pool_get_bulk(mp->pool_data, objs, n) ? -ENOENT : 0;
}

static unsigned xm_ops_get_count(const struct rte_mempool *mp)
{
	return xmem_pool_count(mp->pool_data);
}

static const struct rte_mempool_ops xm_ops = {
	.name = XMEM_DPDK_OPS_NAME,
	.alloc = xm_ops_alloc,
	.free = xm_ops_free,
	.enqueue = xm_ops_enqueue,
	.dequeue = xm_ops_dequeue,
	.get_count = xm_ops_get_count,
};

RTE_MEMPOOL_REGISTER_OPS(xm_ops);
