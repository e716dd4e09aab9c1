/* iommu/devmem.h - internals of device memory (iommu/vfio_bar.c) that the
 * host unit test drives without a device: parsing a filled
 * VFIO_DEVICE_GET_REGION_INFO buffer, and mapping the parsed areas from any
 * fd (a memfd stands in for the device fd).  Public API:
 * include/xmem/xmem_devmem.h. */
#ifndef XMEM_IOMMU_DEVMEM_H
#define XMEM_IOMMU_DEVMEM_H

#include <stddef.h>

#include "xmem/xmem_devmem.h"

/* Parse a struct vfio_region_info of `size` bytes with its capability
 * chain into *out (size, fd_offset, index, flags, areas; base NULL).
 * Errors as xmem_vfio_bar_map's ENOENT, ENOTSUP, EPROTO (EINVAL: buf or
 * out NULL, or size below the header). */
int xm_vfio_bar_parse(const void *buf, size_t size, struct xmem_vfio_bar *out);

/* Reserve [0, out->size) PROT_NONE and map each area of *out from fd at
 * out->fd_offset + area offset over it (MAP_SHARED | MAP_FIXED); sets
 * out->base.  On failure nothing stays mapped (errno of mmap). */
int xm_vfio_bar_map_areas(int fd, struct xmem_vfio_bar *out);

#endif /* XMEM_IOMMU_DEVMEM_H */
