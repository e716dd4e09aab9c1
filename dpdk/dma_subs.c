/* dma_subs.c - xmem DMA subscribers (xmem_dma.h) that hand xmem's regions
 * to DPDK: as external memory (rte_extmem_register, on memory events), and
 * mapped through DPDK's VFIO container or a DPDK device (dma_map and
 * dma_unmap per IOVA run).  The subscriber's ctx is the container fd or
 * the device, so nothing is allocated here.  Callbacks run under xmem's
 * control mutex and take DPDK's memory locks inside it; DPDK never calls
 * back into xmem's control plane, so the order is fixed. */
#include <stdint.h>

#include <rte_dev.h>
#include <rte_memory.h>
#include <rte_vfio.h>

#include <xmem/xmem_dpdk.h>

#include "xm_dpdk.h"

/* errno for a failed DPDK call: its rte_errno, EIO if it set none. */
static int xm_fail(void)
{
	errno = rte_errno ? rte_errno : EIO;
	return -1;
}

static int xm_extmem_event(void *ctx, enum xmem_mem_event ev,
			   const struct xmem_dma_region_info *r)
{
	(void)ctx;
	rte_errno = 0;
	if (ev == XMEM_MEM_EVENT_ADD) {
		/* DPDK copies the table; NULL means no IOVAs. */
		if (rte_extmem_register(r->va, r->len, (rte_iova_t *)r->iova,
					r->n_pages, r->page_size) != 0)
			return xm_fail();
		return 0;
	}
	if (rte_extmem_unregister(r->va, r->len) != 0)
		RTE_LOG(ERR, EAL, "xmem: rte_extmem_unregister(%p, %zu): %s\n",
			r->va, r->len, rte_strerror(rte_errno));
	return 0;
}

/* A subscription whose failure is reported through rte_errno too. */
static struct xmem_dma_subscriber *xm_subscribe(const char *name,
						const struct xmem_dma_ops *ops,
						void *ctx)
{
	struct xmem_dma_subscriber *s = xmem_dma_subscribe(name, ops, ctx);
	if (!s)
		xm_dpdk_err(errno);
	return s;
}

struct xmem_dma_subscriber *xmem_dpdk_extmem_subscribe(const char *name)
{
	static const struct xmem_dma_ops ops = {.mem_event = xm_extmem_event};
	return xm_subscribe(name, &ops, NULL);
}

/* ---- VFIO container ---------------------------------------------------- */

static int xm_vfio_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	rte_errno = 0;
	if (rte_vfio_container_dma_map((int)(intptr_t)ctx, (uintptr_t)va, iova,
				       len) != 0)
		return xm_fail();
	return 0;
}

/* DPDK does not say how much a failed unmap took down: report 0, so xmem
 * keeps the entry recorded (its registry stays a superset of what the
 * container maps) and fails the removal with EIO. */
static int xm_vfio_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
			 uint64_t *unmapped)
{
	rte_errno = 0;
	*unmapped = 0;
	if (rte_vfio_container_dma_unmap((int)(intptr_t)ctx, (uintptr_t)va,
					 iova, len) != 0)
		return xm_fail();
	*unmapped = len;
	return 0;
}

struct xmem_dma_subscriber *xmem_dpdk_vfio_subscribe(const char *name,
                                                     int container_fd)
{
	static const struct xmem_dma_ops ops = {
		.dma_map = xm_vfio_map,
		.dma_unmap = xm_vfio_unmap,
	};
	return xm_subscribe(name, &ops, (void *)(intptr_t)container_fd);
}

/* ---- one DPDK device --------------------------------------------------- */

static int xm_dev_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	rte_errno = 0;
	if (rte_dev_dma_map(ctx, va, iova, len) != 0)
		return xm_fail();
	return 0;
}

static int xm_dev_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
			uint64_t *unmapped)
{
	rte_errno = 0;
	*unmapped = 0;
	if (rte_dev_dma_unmap(ctx, va, iova, len) != 0)
		return xm_fail();
	*unmapped = len;
	return 0;
}

struct xmem_dma_subscriber *xmem_dpdk_dev_dma_subscribe(const char *name,
                                                        struct rte_device *dev)
{
	static const struct xmem_dma_ops ops = {
		.dma_map = xm_dev_map,
		.dma_unmap = xm_dev_unmap,
	};
	if (!dev) {
		xm_dpdk_err(EINVAL);
		return NULL;
	}
	return xm_subscribe(name, &ops, dev);
}
