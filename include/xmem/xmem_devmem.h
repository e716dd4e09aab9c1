/* xmem_devmem.h - device memory as heaps: a VFIO device's BAR (with its
 * sparse-mmap areas) and dma-buf fds.
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
 *  - a dma-buf added CPU-inaccessible has no CPU mapping at all: its
 *    addresses are placeholders (a PROT_NONE reservation) that only the DMA
 *    layer's IOVAs give meaning to.
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

/* ------------------------------------------------------------------------ */
/* VFIO BARs                                                                */
/* ------------------------------------------------------------------------ */

#define XMEM_VFIO_BAR_MAX_AREAS 16

/* One mmap-able area of a BAR, at base + offset. */
struct xmem_vfio_bar_area {
	uint64_t offset;
	uint64_t size;
};

/* A BAR mapped by xmem_vfio_bar_map.  [base, base + size) is reserved as a
 * whole; each area is mapped at base + offset (shared, read/write as the
 * region allows); everything else (the holes, e.g. an MSI-X table) stays
 * PROT_NONE. */
struct xmem_vfio_bar {
	void    *base;
	uint64_t size;         /* the BAR's size */
	uint64_t fd_offset;    /* the region's offset in the device fd */
	uint32_t index;        /* region index (VFIO_PCI_BAR0_REGION_INDEX + bar) */
	uint32_t flags;        /* VFIO_REGION_INFO_FLAG_* */
	int      sparse;       /* 1: the areas come from VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	                          0: one area, the whole BAR */
	uint32_t n_areas;
	struct xmem_vfio_bar_area areas[XMEM_VFIO_BAR_MAX_AREAS];
};

/* Map BAR `bar` (0..5) of a VFIO device fd: VFIO_DEVICE_GET_REGION_INFO with
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

/* Unmap a BAR that xmem_vfio_bar_map mapped (the whole reservation).  Any
 * heap chunk over it must have been removed first.
 * EINVAL: b NULL or not mapped (base NULL). */
int xmem_vfio_bar_unmap(struct xmem_vfio_bar *b);

/* Add every area of a mapped BAR to a heap as one chunk each
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

/* Remove what xmem_heap_add_bar added: every area, last first.
 * EINVAL: heap or b NULL.  Other: errors of xmem_heap_remove_memory (EBUSY:
 * blocks still allocated; EIO: an unmap failed); the areas removed before
 * the failing one stay removed. */
int xmem_heap_remove_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_DEVMEM_H */
