/* dma_hooks.h - what the core asks of the IOMMU layer (iommu/) when a
 * region comes and goes.  Both run under the control mutex, for heap chunks
 * and translation-only registrations alike. */
#ifndef XM_DMA_HOOKS_H
#define XM_DMA_HOOKS_H

struct xm_region;

/* r is built and does not overlap anything, but is not published yet.  The
 * layer may give r IOVAs (xm_region_set_iova) when it assigns them, then
 * maps r for every subscriber.  On failure it has undone all it did, and
 * returns -1 with errno set; the add or register call then fails with that
 * errno and changes nothing. */
int xm_dma_region_added(struct xm_region *r);

/* r is no longer published (no allocation, no translation); unmap it from
 * every subscriber.  Also called to roll back xm_dma_region_added when
 * publishing fails after it. */
void xm_dma_region_removed(struct xm_region *r);

#endif
