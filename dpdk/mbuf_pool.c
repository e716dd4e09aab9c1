/* mbuf_pool.c - xmem_dpdk_pktmbuf_pool_create: an rte_pktmbuf pool with the
 * "xmem" ops whose objects are carved from IOVA-contiguous chunks of an xmem
 * heap, handed to rte_mempool_populate_iova with their xmem IOVA; the
 * pool's free callback gives each chunk back to the heap. */
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <xmem/xmem_dpdk.h>

#include "xm_dpdk.h"

static void xm_chunk_free(struct rte_mempool_memhdr *mh, void *chunk)
{
	(void)mh;
	xmem_free(chunk);
}

/* One chunk for about `want` bytes: as large as the heap can give, halving
 * down to one object (min).  NULL with errno ENOMEM. */
static void *xm_chunk_alloc(struct xmem_heap *heap, size_t want, size_t min,
			    size_t *len)
{
	for (size_t l = want;; l = l / 2 > min ? l / 2 : min) {
		void *c = xmem_alloc(heap, l, RTE_MEMPOOL_ALIGN);
		if (c) {
			*len = l;
			return c;
		}
		if (errno != ENOMEM || l == min)
			return NULL;
	}
}

/* Populate mp up to n objects from heap.  0, or a positive errno. */
static int xm_populate(struct rte_mempool *mp, unsigned n,
		       struct xmem_heap *heap)
{
	size_t elt = (size_t)mp->header_size + mp->elt_size + mp->trailer_size;
	/* Bytes per object actually used: DPDK may leave gaps (objects do not
	 * straddle what it takes to be page boundaries); learnt from the
	 * first chunk. */
	double per_obj = (double)elt;
	while (mp->populated_size < n) {
		unsigned left = n - mp->populated_size;
		size_t len, want = (size_t)(per_obj * left) + elt;
		char *c = xm_chunk_alloc(heap, want, elt, &len);
		if (!c)
			return errno == ENOMEM ? ENOMEM : EINVAL;
		uint64_t iova = xmem_virt2iova(c);
		if (iova == XMEM_BAD_IOVA) {
			xmem_free(c);
			return EINVAL;
		}
		unsigned before = mp->populated_size;
		int got = rte_mempool_populate_iova(mp, c, iova, len, xm_chunk_free, c);
		if (got <= 0) {
			xmem_free(c);
			return got < 0 ? -got : ENOMEM;
		}
		if (before == 0)
			per_obj = (double)len / got;
	}
	return 0;
}

struct rte_mempool *xmem_dpdk_pktmbuf_pool_create(const char *name, unsigned n,
                                                  unsigned cache_size,
                                                  uint16_t priv_size,
                                                  uint16_t data_room_size,
                                                  struct xmem_heap *heap,
                                                  int socket_id)
{
	if (!name || n == 0 || xmem_heap_id(heap) < 0 ||
	    RTE_ALIGN(priv_size, RTE_MBUF_PRIV_ALIGN) != priv_size) {
		xm_dpdk_err(EINVAL);
		return NULL;
	}
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = data_room_size,
		.mbuf_priv_size = priv_size,
	};
	unsigned elt_size = sizeof(struct rte_mbuf) + priv_size + data_room_size;
	struct rte_mempool *mp = rte_mempool_create_empty(
		name, n, elt_size, cache_size, sizeof(priv), socket_id, 0);
	if (!mp) {
		xm_dpdk_err(rte_errno);
		return NULL;
	}
	/* On a fresh empty pool this fails only when no ops have the name
	 * (DPDK says EINVAL): the "xmem" ops did not get a slot. */
	int rc = rte_mempool_set_ops_byname(mp, XMEM_DPDK_OPS_NAME, NULL);
	if (rc != 0) {
		rte_mempool_free(mp);
		xm_dpdk_err(rc == -EINVAL ? ENOENT : -rc);
		return NULL;
	}
	rte_pktmbuf_pool_init(mp, &priv);
	rc = xm_populate(mp, n, heap);
	if (rc != 0) {
		rte_mempool_free(mp);   /* gives the chunks back */
		xm_dpdk_err(rc);
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}
