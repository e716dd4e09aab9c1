/* iommu/vfio.h - internals of the VFIO type1 backend (iommu/vfio.c) that other
 * parts of libxmem and the unit tests use: parsing the VFIO_IOMMU_GET_INFO
 * capability chain without a kernel.  Public API: include/xmem/xmem_vfio.h. */
#ifndef XMEM_IOMMU_VFIO_H
#define XMEM_IOMMU_VFIO_H

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

#ifdef __cplusplus
}
#endif

#endif /* XMEM_IOMMU_VFIO_H */
