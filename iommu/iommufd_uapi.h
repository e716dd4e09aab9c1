/* iommu/iommufd_uapi.h - the parts of the iommufd and VFIO cdev uAPI that
 * Debian 12's linux-libc-dev (6.1 headers) lacks: it has no <linux/iommufd.h>
 * and its <linux/vfio.h> predates VFIO_DEVICE_BIND_IOMMUFD.  The layouts
 * and numbers below are those of Linux 6.12 (include/uapi/linux/iommufd.h
 * and include/uapi/linux/vfio.h), which the guest kernel is built from.
 * Linux 6.12 has no IOMMU_IOAS_MAP_FILE (it came with 6.14): a dma-buf or
 * memfd cannot be mapped into an IOAS by fd there.  The vfio-pci dma-buf
 * feature at the end is Linux 6.19's. */
#ifndef XMEM_IOMMU_IOMMUFD_UAPI_H
#define XMEM_IOMMU_IOMMUFD_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define XM_IOMMUFD_TYPE ';'
#define XM_IOMMU_IOAS_ALLOC       _IO(XM_IOMMUFD_TYPE, 0x81)
#define XM_IOMMU_IOAS_IOVA_RANGES _IO(XM_IOMMUFD_TYPE, 0x84)
#define XM_IOMMU_IOAS_MAP         _IO(XM_IOMMUFD_TYPE, 0x85)
#define XM_IOMMU_IOAS_UNMAP       _IO(XM_IOMMUFD_TYPE, 0x86)
#define XM_IOMMU_DESTROY          _IO(XM_IOMMUFD_TYPE, 0x80)

struct xm_iommu_destroy {
	__u32 size;
	__u32 id;
};

struct xm_iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

struct xm_iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last; /* inclusive */
};

struct xm_iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;           /* in: room; out: how many there are (EMSGSIZE if more) */
	__u32 reserved;
	__aligned_u64 allowed_iovas; /* user pointer to struct xm_iommu_iova_range[] */
	__aligned_u64 out_iova_alignment;
};

#define XM_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define XM_IOMMU_IOAS_MAP_WRITEABLE  (1u << 1)
#define XM_IOMMU_IOAS_MAP_READABLE   (1u << 2)

struct xm_iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

struct xm_iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length; /* out: bytes unmapped */
};

/* VFIO cdev (Linux 6.6+). */
struct xm_vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define XM_VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct xm_vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define XM_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

/* vfio-pci dma-buf export (Linux 6.19, not in 6.12): VFIO_DEVICE_FEATURE
 * with VFIO_DEVICE_FEATURE_GET | this feature and the struct below (with
 * nr_ranges ranges after it) returns a dma-buf fd.  Only probed here. */
#define XM_VFIO_DEVICE_FEATURE_DMA_BUF 11

struct xm_vfio_region_dma_range {
	__u64 offset;
	__u64 length;
};

struct xm_vfio_device_feature_dma_buf {
	__u32 region_index;
	__u32 open_flags;
	__u32 flags;
	__u32 nr_ranges;
	struct xm_vfio_region_dma_range dma_ranges[];
};

#endif /* XMEM_IOMMU_IOMMUFD_UAPI_H */
