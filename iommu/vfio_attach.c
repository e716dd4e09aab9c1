/* vfio_attach.c - owns VFIO containers as subscribers of the DMA-mapping
 * layer (xmem_vfio_attach / xmem_vfio_detach) and the process-default
 * container, of either backend (type1 or iommufd).  The subscriber's ops
 * are thin: map and unmap go through the container (iommu/vfio.c) one
 * ioctl each, dma_avail reads DMA_AVAIL (type1 only), dma_lookup asks the
 * container whether an identical mapping was made through it, mem_event
 * checks device locality (vfio_numa.c).  The IOVA assigner is narrowed to
 * the container's valid ranges at attach and whenever a group joins it
 * later. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "iommu/dma.h"
#include "iommu/vfio_backend.h"

static pthread_mutex_t xm_vfio_default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xmem_vfio_container *xm_vfio_default; /* guarded by the lock */

struct xmem_vfio_container *xmem_vfio_default_container(void)
{
	pthread_mutex_lock(&xm_vfio_default_lock);
	if (!xm_vfio_default)
		xm_vfio_default = xmem_vfio_container_open_backend(XMEM_VFIO_BACKEND_AUTO);
	struct xmem_vfio_container *c = xm_vfio_default;
	int e = errno;
	pthread_mutex_unlock(&xm_vfio_default_lock);
	errno = e;
	return c;
}

void xm_vfio_forget_default(struct xmem_vfio_container *c)
{
	pthread_mutex_lock(&xm_vfio_default_lock);
	if (xm_vfio_default == c)
		xm_vfio_default = NULL;
	pthread_mutex_unlock(&xm_vfio_default_lock);
}

static int xm_vfio_op_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	return xmem_vfio_dma_map(ctx, va, iova, len);
}

static int xm_vfio_op_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
			    uint64_t *unmapped)
{
	(void)va;
	return xmem_vfio_dma_unmap(ctx, iova, len, unmapped);
}

static int xm_vfio_op_avail(void *ctx, uint64_t *avail)
{
	struct xmem_vfio_info in;
	if (xmem_vfio_get_info(ctx, &in) != 0 || !in.has_dma_avail)
		return -1;
	*avail = in.dma_avail;
	return 0;
}

static int xm_vfio_op_lookup(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	return xm_vfio_has_mapping(ctx, (uintptr_t)va, iova, len);
}

/* Narrow the assigner's ranges to the container's valid IOVA ranges
 * (control mutex held). */
static void narrow_to(const struct xmem_vfio_info *in)
{
	struct xm_iova_range r[XMEM_VFIO_MAX_RANGES];
	for (uint32_t i = 0; i < in->n_ranges; i++)
		r[i] = (struct xm_iova_range){in->ranges[i].start, in->ranges[i].end};
	xm_dma_iova_narrow(r, in->n_ranges);
}

/* c->on_ranges: a group joined an attached container (iommufd: its devices
 * attached to the IOAS, which may have shrunk the valid ranges). */
static void xm_vfio_ranges_changed(struct xmem_vfio_container *c)
{
	struct xmem_vfio_info in;
	if (xmem_vfio_get_info(c, &in) != 0)
		return;
	xm_ctl_lock();
	if (xm_vfio_get_sub(c))
		narrow_to(&in);
	xm_ctl_unlock();
}

static struct xmem_dma_subscriber *xm_vfio_attach(struct xmem_vfio_container *c)
{
	if (!c && !(c = xmem_vfio_default_container()))
		return NULL;
	struct xmem_vfio_info in;
	if (xmem_vfio_get_info(c, &in) != 0)
		return NULL; /* ENODEV: no group yet */
	char name[XMEM_DMA_NAME_MAX];
	snprintf(name, sizeof(name), "%s:%d",
		 c->ops->kind == XMEM_VFIO_BACKEND_IOMMUFD ? "iommufd" : "vfio",
		 xmem_vfio_container_fd(c));
	static const struct xmem_dma_ops ops = {
		.dma_map = xm_vfio_op_map,
		.dma_unmap = xm_vfio_op_unmap,
		.dma_avail = xm_vfio_op_avail,
		.dma_lookup = xm_vfio_op_lookup,
		.mem_event = xm_vfio_numa_event,   /* device locality */
	};
	xm_ctl_lock();
	struct xmem_dma_subscriber *s = NULL;
	if (xm_vfio_get_sub(c)) {
		xm_cause("the container is attached already");
		errno = EEXIST;
	} else {
		narrow_to(&in);
		s = xm_dma_subscribe_locked(name, &ops, c);
		if (s) {
			xm_vfio_set_sub(c, s);
			atomic_store_explicit(&c->on_ranges, xm_vfio_ranges_changed,
					      memory_order_release);
		}
	}
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	return s;
}

struct xmem_dma_subscriber *xmem_vfio_attach(struct xmem_vfio_container *c)
{
	xm_ctl_enter();
	struct xmem_dma_subscriber *s = xm_vfio_attach(c);
	xm_ctl_exit(!s, "xmem_vfio_attach");
	return s;
}

static int xm_vfio_detach(struct xmem_vfio_container *c)
{
	if (!c) {
		pthread_mutex_lock(&xm_vfio_default_lock);
		c = xm_vfio_default;
		pthread_mutex_unlock(&xm_vfio_default_lock);
		if (!c) {
			xm_cause("c is NULL and there is no default container");
			errno = ENOENT;
			return -1;
		}
	}
	xm_ctl_lock();
	struct xmem_dma_subscriber *s = xm_vfio_get_sub(c);
	int rc = -1;
	if (!s) {
		xm_cause("the container is not attached");
		errno = ENOENT;
	} else {
		rc = xm_dma_unsubscribe_locked(s);
		if (rc == 0) {
			atomic_store_explicit(&c->on_ranges, NULL, memory_order_release);
			xm_vfio_set_sub(c, NULL);
		}
	}
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	return rc;
}

int xmem_vfio_detach(struct xmem_vfio_container *c)
{
	xm_ctl_enter();
	int rc = xm_vfio_detach(c);
	xm_ctl_exit(rc != 0, "xmem_vfio_detach");
	return rc;
}
