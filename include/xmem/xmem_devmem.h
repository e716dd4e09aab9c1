/** @file xmem_devmem.h
 * xmem_devmem.h - device memory as heaps: a VFIO device's BAR (with its
 * sparse-mmap areas) and dma-buf fds (e.g. a udmabuf over a memfd, or a
 * vfio-pci BAR exported as a dma-buf on Linux 6.19).
 *
 * xmem keeps all of its metadata out of band (invariant 1, docs/design.md):
 * it never reads, writes or zeroes the memory of a heap, and uses no atomics
 * on it.  That is what lets device memory be a heap.  What the CPU may do
 * with such memory is the caller's business and the device's rules:
 *  - a BAR mapped through vfio-pci is uncached MMIO (UC): plain loads and
 *    stores work but are slow (each is a PCIe transaction); atomic
 *    read-modify-write instructions and SIMD streaming are not guaranteed to
 *    reach the device as one access; reads of a memory BAR have no side
 *    effects, reads of a register BAR may.  xmem_zalloc writes zeroes with
 *    the CPU: use xmem_alloc on such heaps and let the device fill them.
 *  - a dma-buf is mapped as its exporter mmaps it (a udmabuf: normal
 *    cached pages of its memfd); CPU access follows the exporter's rules
 *    (DMA_BUF_IOCTL_SYNC around CPU access where the exporter needs it).
 * Allocation, free and xmem_virt2iova work on these heaps as on any other.
 *
 * Conventions are those of xmem.h: -1 or NULL with errno set to one of the
 * codes listed; a failed call changes nothing. */
#ifndef XMEM_XMEM_DEVMEM_H
#define XMEM_XMEM_DEVMEM_H

#include <stddef.h>
#include <stdint.h>

#include <xmem/xmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------ */
/* VFIO BARs                                                                */
/* ------------------------------------------------------------------------ */

/** Areas kept by xmem_vfio_bar_map. */
#define XMEM_VFIO_BAR_MAX_AREAS 16

/** One mmap-able area of a BAR, at base + offset. */
struct xmem_vfio_bar_area {
	uint64_t offset;
	uint64_t size;
};

/** A BAR mapped by xmem_vfio_bar_map.  [base, base + size) is reserved as a
 * whole; each area is mapped at base + offset (shared, read/write as the
 * region allows); everything else (the holes, e.g. an MSI-X table) stays
 * PROT_NONE. */
struct xmem_vfio_bar {
	void    *base;
	uint64_t size;         /**< the BAR's size */
	uint64_t fd_offset;    /**< the region's offset in the device fd */
	uint32_t index;        /**< region index (VFIO_PCI_BAR0_REGION_INDEX + bar) */
	uint32_t flags;        /**< VFIO_REGION_INFO_FLAG_* */
	int      sparse;       /**< 1: the areas come from VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	                          0: one area, the whole BAR */
	uint32_t n_areas;
	struct xmem_vfio_bar_area areas[XMEM_VFIO_BAR_MAX_AREAS];
};

/** Map BAR `bar` (0..5) of a VFIO device fd: VFIO_DEVICE_GET_REGION_INFO with
 * its capability chain (the buffer grown as the kernel asks), the
 * VFIO_REGION_INFO_CAP_SPARSE_MMAP areas if reported (zero-sized areas
 * skipped), a PROT_NONE reservation of the whole BAR, then each area mapped
 * over it with MAP_FIXED, so that base + offset addressing holds.
 * EINVAL:  device_fd negative, bar > 5 or out NULL.
 * ENOENT:  the BAR does not exist (size 0).
 * ENOTSUP: the region cannot be mmapped (no VFIO_REGION_INFO_FLAG_MMAP), or
 *          the sparse capability lists no area.
 * EPROTO:  the capability chain is malformed (an offset outside the
 *          buffer, a loop), an area is not page-aligned or lies outside the
 *          BAR, areas overlap, or more than XMEM_VFIO_BAR_MAX_AREAS.
 * Other:   errno of the ioctl or of mmap, passed through (ENOTTY: not a VFIO
 *          device fd). */
int xmem_vfio_bar_map(int device_fd, unsigned bar, struct xmem_vfio_bar *out);

/** Unmap a BAR that xmem_vfio_bar_map mapped (the whole reservation).  Any
 * heap chunk over it must have been removed first.
 * EINVAL: b NULL or not mapped (base NULL). */
int xmem_vfio_bar_unmap(struct xmem_vfio_bar *b);

/** Add every area of a mapped BAR to a heap as one chunk each
 * (xmem_heap_add_memory with page_size; holes are not added, so no chunk
 * covers them).  With an attached VFIO container in IOVA mode VA or ASSIGN,
 * each chunk is mapped for DMA through the IOMMU: peer-to-peer, another
 * device can DMA into this BAR (type1 maps the BAR's PFN-mapped VA; iommufd
 * before Linux 6.19 cannot, and the add fails with the kernel's EFAULT).
 * If an area fails, the areas added before are removed again.
 * EINVAL:  heap or b NULL, b not mapped, or an area not a multiple of
 *          page_size; other EINVAL of xmem_heap_add_memory.
 * Other:   errors of xmem_heap_add_memory (EEXIST, ENOMEM, ENOSPC, a
 *          subscriber's map errno such as EFAULT). */
int xmem_heap_add_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b,
                      size_t page_size);

/** Remove what xmem_heap_add_bar added: every area, last first.
 * EINVAL: heap or b NULL.  Other: errors of xmem_heap_remove_memory (EBUSY:
 * blocks still allocated; EIO: an unmap failed); the areas removed before
 * the failing one stay removed. */
int xmem_heap_remove_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b);

/* ------------------------------------------------------------------------ */
/* dma-buf regions                                                          */
/* ------------------------------------------------------------------------ */

#define XMEM_DMABUF_MAX 64 /**< dma-buf regions in the process at a time */

/** Add [offset, offset + len) of a dma-buf to a heap as one chunk.  The
 * dma-buf is mmapped (MAP_SHARED, read/write) and the mapping added with
 * xmem_heap_add_memory(heap, va, len, NULL, 0, page_size): subscribers
 * (VFIO containers) map it for DMA through that VA.  type1 accepts the
 * PFN-mapped VA of an mmapped dma-buf (udmabuf maps it with VM_PFNMAP);
 * iommufd before Linux 6.14 has no IOMMU_IOAS_MAP_FILE and cannot pin it,
 * so with an attached iommufd container the add fails with the kernel's
 * EFAULT.  xmem keeps a dup() of fd until the region is removed.  Returns
 * the chunk's address.
 * EINVAL:  heap NULL; len 0; offset or len not a multiple of page_size;
 *          page_size not a power of two in range; fd is not a dma-buf
 *          (fstatfs does not show DMA_BUF_MAGIC; EBADF: not open).
 * ENOTSUP: the exporter does not allow mmap: a CPU-inaccessible dma-buf
 *          would need IOMMU_IOAS_MAP_FILE (Linux 6.14), which this version
 *          does not use; logged.
 * ENOSPC:  XMEM_DMABUF_MAX dma-buf regions exist; or an ENOSPC of
 *          xmem_heap_add_memory.
 * Other:   errno of mmap (e.g. ENXIO: the range passes the end of the
 *          buffer), or of xmem_heap_add_memory, passed through. */
void *xmem_heap_add_dmabuf(struct xmem_heap *heap, int fd, uint64_t offset, size_t len,
                           size_t page_size);

/** Remove a chunk xmem_heap_add_dmabuf added (va is what it returned):
 * xmem_heap_remove_memory (subscribers unmap it and get a REMOVE event),
 * then munmap, and the dup of the fd is closed.  Call it when the
 * exporter revokes the buffer (device reset or close): afterwards nothing
 * is allocated from it, and an allocation that only it could serve fails
 * with ENOMEM as on any heap without room.
 * EINVAL: heap NULL, or va not a dma-buf chunk of this heap.
 * Other:  errors of xmem_heap_remove_memory (EBUSY: blocks still allocated
 *         from it; EIO: an unmap failed); the chunk then stays. */
int xmem_heap_remove_dmabuf(struct xmem_heap *heap, void *va);

/** Export [offset, offset + len) of BAR `bar` of a vfio-pci device as a
 * dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF, Linux 6.19), for
 * xmem_heap_add_dmabuf or another importer.  The feature is probed first.
 * Returns the dma-buf fd.
 * EINVAL:  device_fd negative, bar > 5, len 0.
 * ENOTSUP: the kernel has no vfio-pci dma-buf export (before 6.19, or a
 *          device that does not support it); logged once.
 * Other:   errno of the ioctls, passed through (ENOTTY: not a VFIO device
 *          fd, from VFIO_DEVICE_GET_INFO). */
int xmem_vfio_bar_dmabuf(int device_fd, unsigned bar, uint64_t offset, uint64_t len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_DEVMEM_H */
