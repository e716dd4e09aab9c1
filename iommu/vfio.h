/* iommu/vfio.h - internals of the VFIO containers (iommu/vfio.c and its
 * backends) that other parts of libxmem and the unit tests use: parsing the
 * VFIO_IOMMU_GET_INFO capability chain without a kernel, the record of
 * mappings, the attached subscriber.  Public API: include/xmem/xmem_vfio.h. */
#ifndef XMEM_IOMMU_VFIO_H
#define XMEM_IOMMU_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xmem/xmem_vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse a filled VFIO_IOMMU_GET_INFO buffer (a struct vfio_iommu_type1_info
 * followed by its capability chain) of `size` bytes into *out.  Capabilities
 * the parser does not know are skipped.  Only offsets inside the buffer are
 * followed, each capability must lie after the previous one (so a chain
 * cannot loop), and at most 64 are read.
 * EINVAL: buf or out is NULL, or size is smaller than the info header.
 * EPROTO: the chain is malformed: an offset or a capability body outside the
 *         buffer, a backwards offset, or more than 64 capabilities. */
int xm_vfio_parse_info(const void *buf, size_t size, struct xmem_vfio_info *out);

/* For the DMA layer (vfio_attach.c): 1 when exactly (va, iova, len) was
 * mapped through this container and is still mapped, else 0. */
int xm_vfio_has_mapping(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova,
                        uint64_t len);
/* The IOAS of an iommufd container (0 for type1); tests use it to act
 * behind xmem's back. */
uint32_t xm_vfio_ioas_id(const struct xmem_vfio_container *c);
/* The container's subscriber while attached (NULL otherwise). */
struct xmem_dma_subscriber *xm_vfio_get_sub(struct xmem_vfio_container *c);
void xm_vfio_set_sub(struct xmem_vfio_container *c, struct xmem_dma_subscriber *s);
/* Device locality (vfio_numa.c): the container's group ids (up to cap;
 * returns how many it has), and its xmem_vfio_set_numa_strict setting. */
size_t xm_vfio_group_ids(struct xmem_vfio_container *c, int *ids, size_t cap);
int xm_vfio_numa_strict(const struct xmem_vfio_container *c);
/* The node of the devices of the container's groups (a node,
 * XMEM_NUMA_NODE_UNKNOWN or XMEM_NUMA_NODE_MIXED), one device's BDF in
 * bdf (32 bytes), from sysfs (alloc/numa.h: xm_sysfs_root). */
int xm_vfio_devices_node(struct xmem_vfio_container *c, char *bdf);
/* One group's part of it: folds the group's devices into *node. */
void xm_vfio_group_node(int group, int *node, char *bdf);
/* The check itself, for a device on node dev (negative: no check): 0, or
 * -1 with EXDEV when strict.  Logs one line when some resident page of
 * the region is off node dev. */
int xm_numa_locality_check(const struct xmem_dma_region_info *info, int dev,
                           const char *bdf, bool strict);
/* The subscriber's mem_event: on ADD, warn when the region's resident
 * pages lie on another node than the devices; fail with EXDEV in strict
 * mode.  Control mutex held. */
int xm_vfio_numa_event(void *ctx, enum xmem_mem_event ev,
                       const struct xmem_dma_region_info *region);
/* Called by xmem_vfio_container_close: c is no longer the default. */
void xm_vfio_forget_default(struct xmem_vfio_container *c);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_IOMMU_VFIO_H */
