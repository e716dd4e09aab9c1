/* dma_events.c - the core's region add/remove events (alloc/dma_hooks.h),
 * fanned out to the IOMMU layer's subscribers.  With no subscriber
 * registered there is nothing to map, and both events are no-ops. */
#include "alloc/dma_hooks.h"
#include "alloc/region.h"

int xm_dma_region_added(struct xm_region *r)
{
	(void)r;
	return 0;
}

void xm_dma_region_removed(struct xm_region *r)
{
	(void)r;
}
