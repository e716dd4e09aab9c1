/** @file xmem_vfio.h
 * xmem_vfio.h - the public API of xmem's VFIO backends: containers,
 * groups, IOMMU info (valid IOVA ranges, DMA_AVAIL), DMA map and unmap,
 * batched mapping of a per-page IOVA table, and device fds for tests and tools.
 * A container is either a VFIO type1 container (/dev/vfio/vfio, groups
 * /dev/vfio/N) or an iommufd IOAS (/dev/iommu, devices as VFIO cdevs
 * /dev/vfio/devices/vfioN bound to it); the functions below behave the same
 * on both except where noted.
 *
 * Conventions, for every function below:
 *  - A function returning int returns 0 (or a non-negative value) on success
 *    and -1 on failure with errno set to one of the codes listed for it.
 *    Codes a function passes through from the kernel are listed as such.
 *  - A function returning a pointer returns NULL on failure with errno set.
 *  - A container is safe to use from several threads; calls on one container
 *    serialise on its own mutex.
 *  - The backend never reads or writes the memory it maps.
 */
#ifndef XMEM_XMEM_VFIO_H
#define XMEM_XMEM_VFIO_H

#include <stddef.h>
#include <stdint.h>

#include <xmem/xmem_dma.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/** IOVA of a page that has none (same value as XMEM_BAD_IOVA in xmem.h). */
#define XMEM_VFIO_NO_IOVA ((uint64_t)-1)

/** Limits of one container. */
#define XMEM_VFIO_MAX_GROUPS  64   /**< groups in one container */
#define XMEM_VFIO_MAX_DEVICES 16   /**< open device fds per group */
#define XMEM_VFIO_MAX_RANGES  32   /**< valid IOVA ranges kept by xmem_vfio_get_info */

struct xmem_vfio_container; /* opaque */

/** The kernel interface a container uses. */
enum xmem_vfio_backend {
    XMEM_VFIO_BACKEND_AUTO    = 0, /**< XMEM_VFIO_BACKEND=type1|iommufd in the
                                        environment if set; else iommufd when
                                        /dev/iommu and /dev/vfio/devices exist;
                                        else type1 */
    XMEM_VFIO_BACKEND_TYPE1   = 1, /**< /dev/vfio/vfio, VFIO_TYPE1v2_IOMMU */
    XMEM_VFIO_BACKEND_IOMMUFD = 2, /**< /dev/iommu, one IOAS, VFIO cdevs */
};

/** One valid IOVA range, both ends inclusive (as the kernel reports them). */
struct xmem_vfio_iova_range {
    uint64_t start;
    uint64_t end;
};

/** What VFIO_IOMMU_GET_INFO and its capability chain report. */
struct xmem_vfio_info {
    uint64_t iova_pgsizes;      /**< bitmap of IOMMU page sizes; 0 if not reported */
    uint32_t n_ranges;          /**< valid IOVA ranges stored below; 0 if not reported */
    uint32_t ranges_total;      /**< ranges the kernel reported (may exceed n_ranges) */
    struct xmem_vfio_iova_range ranges[XMEM_VFIO_MAX_RANGES];
    int      has_dma_avail;     /**< 1 if the DMA_AVAIL capability was present */
    uint32_t dma_avail;         /**< mapping entries still available in the container */
};

/** Counters of one container, since it was opened. */
struct xmem_vfio_stats {
    uint64_t map_calls;         /**< map ioctls issued (ok or failed): VFIO_IOMMU_MAP_DMA
                                     (type1) or IOMMU_IOAS_MAP (iommufd) */
    uint64_t map_failed;        /**< of which failed */
    uint64_t unmap_calls;       /**< VFIO_IOMMU_UNMAP_DMA / IOMMU_IOAS_UNMAP ioctls issued */
    uint64_t unmap_failed;      /**< of which failed or unmapped another size */
};

/** One device region (VFIO_DEVICE_GET_REGION_INFO). */
struct xmem_vfio_region {
    uint32_t index;
    uint32_t flags;             /**< VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP/CAPS */
    uint64_t size;              /**< 0: the region does not exist */
    uint64_t offset;            /**< offset in the device fd for pread/pwrite/mmap */
};

/* ------------------------------------------------------------------------ */
/* Containers and groups                                                    */
/* ------------------------------------------------------------------------ */

/** Open a new type1 container on /dev/vfio/vfio (xmem_vfio_container_open_backend
 * with XMEM_VFIO_BACKEND_TYPE1): check the API version and that the TYPE1v2
 * IOMMU is supported.  The IOMMU is selected when the first group is added.
 * ENODEV:  /dev/vfio/vfio does not exist (no VFIO in this kernel).
 * EACCES:  it exists but cannot be opened.
 * EPROTO:  the kernel speaks another VFIO API version.
 * ENOTSUP: the kernel has no TYPE1v2 IOMMU driver (vfio_iommu_type1 not loaded).
 * ENOMEM:  no memory for the container. */
struct xmem_vfio_container *xmem_vfio_container_open(void);

/** Open a container with the given backend (AUTO: see enum xmem_vfio_backend).
 * type1: as xmem_vfio_container_open.  iommufd: open /dev/iommu and allocate
 * an IOAS (IOMMU_IOAS_ALLOC); the IOAS can be mapped at once, before any
 * group (its mappings do not depend on devices); groups are added by
 * opening each of their devices' cdevs and binding and attaching them
 * (xmem_vfio_group_add).
 * EINVAL:  backend is not one of the values above.
 * ENODEV:  the chosen backend's device node does not exist (/dev/vfio/vfio,
 *          or /dev/iommu: a kernel without CONFIG_IOMMUFD).
 * EACCES:  it exists but cannot be opened.
 * EPROTO, ENOTSUP: as xmem_vfio_container_open (type1 only).
 * ENOMEM:  no memory for the container.
 * Other:   errno of IOMMU_IOAS_ALLOC, passed through. */
struct xmem_vfio_container *xmem_vfio_container_open_backend(enum xmem_vfio_backend backend);

/** The backend of a container (XMEM_VFIO_BACKEND_TYPE1 or _IOMMUFD).
 * EINVAL: c is NULL. */
int xmem_vfio_container_backend(const struct xmem_vfio_container *c);

/** Close every device fd and group the container holds, then the container.
 * Every mapping of the container goes with it; an attached container is
 * detached first (xmem_vfio_detach), and the default container stops being
 * the default.  NULL is a no-op returning 0.
 * (Never fails otherwise; returns 0.) */
int xmem_vfio_container_close(struct xmem_vfio_container *c);

/** The container's file descriptor, for ioctls this API does not wrap.
 * EINVAL: c is NULL. */
int xmem_vfio_container_fd(const struct xmem_vfio_container *c);

/** The IOMMU group number of a PCI device, from
 * `/sys/bus/pci/devices/<bdf>/iommu_group`.
 * EINVAL: bdf is NULL, empty, longer than 31 characters or contains '/'.
 * ENOENT: no such device, or it has no IOMMU group (no IOMMU). */
int xmem_vfio_group_of(const char *bdf);

/** Put IOMMU group group_id into the container.
 * type1: open `/dev/vfio/<group_id>`, check it is viable, and set it into the
 * container; the first group selects the TYPE1v2 IOMMU.
 * iommufd: open the cdev of every device of the group
 * (`/sys/kernel/iommu_groups/<group_id>/devices/X/vfio-dev/vfioN` ->
 * `/dev/vfio/devices/vfioN`), VFIO_DEVICE_BIND_IOMMUFD it and
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT it to the IOAS; then the IOAS's valid IOVA
 * ranges are read again (IOMMU_IOAS_IOVA_RANGES), and, if the container is
 * attached to xmem's DMA layer, the assigner is narrowed to them.
 * EINVAL: c is NULL or group_id is negative.
 * EEXIST: the group is already in this container.
 * ENOENT: `/dev/vfio/<group_id>` does not exist (type1); no such group, or a
 *         device of it has no cdev (iommufd).
 * EBUSY:  the group is in use: open elsewhere, or set into another container.
 * EPERM:  the group is not viable (some device in it is not bound to a VFIO
 *         driver; iommufd: a device without a vfio-dev directory).
 * E2BIG:  (iommufd) the group has more than 8 devices.
 * ENOSPC: the container already holds XMEM_VFIO_MAX_GROUPS groups.
 * Other:  errno of open(2) or of VFIO_GROUP_SET_CONTAINER / VFIO_SET_IOMMU,
 *         passed through.  On failure the container is as it was. */
int xmem_vfio_group_add(struct xmem_vfio_container *c, int group_id);

/** Take a group out of the container (VFIO_GROUP_UNSET_CONTAINER) and close
 * it.  The group's device fds must have been closed first.  When the last
 * group leaves, the kernel drops the container's IOMMU and all its mappings;
 * the next group_add selects the IOMMU again.
 * EINVAL: c is NULL.
 * ENOENT: the group is not in this container.
 * EBUSY:  a device fd of the group is still open (xmem_vfio_device_close);
 *         or it is the last group of a container attached to xmem's DMA
 *         layer (type1 only: the kernel would drop every mapping;
 *         xmem_vfio_detach first.  An IOAS keeps its mappings without
 *         devices). */
int xmem_vfio_group_remove(struct xmem_vfio_container *c, int group_id);

/* ------------------------------------------------------------------------ */
/* IOMMU info, map and unmap                                                */
/* ------------------------------------------------------------------------ */

/** type1: read VFIO_IOMMU_GET_INFO with its capability chain (valid IOVA
 * ranges, DMA_AVAIL), growing the buffer as often as the kernel asks.
 * iommufd: read IOMMU_IOAS_IOVA_RANGES (iova_pgsizes gets the IOVA
 * alignment it reports; iommufd has no DMA_AVAIL: has_dma_avail is 0).
 * EINVAL: c or out is NULL.
 * ENODEV: no group has been added yet (type1: the container has no IOMMU).
 * EPROTO: the capability chain is malformed (an offset outside the buffer,
 *         or a loop).
 * ENOMEM: no memory for the buffer.
 * Other:  errno of the ioctl, passed through. */
int xmem_vfio_get_info(struct xmem_vfio_container *c, struct xmem_vfio_info *out);

/** Map [va, va + len) at [iova, iova + len) for device reads and writes with
 * one VFIO_IOMMU_MAP_DMA (type1) or IOMMU_IOAS_MAP with a fixed IOVA
 * (iommufd).  iommufd pins pages with pin_user_pages: a PFN-mapped VA (a
 * VFIO BAR, an mmapped udmabuf) is refused there (EFAULT); type1 accepts a
 * PFN map of MMIO (a BAR), not of RAM pages (an mmapped udmabuf, EFAULT).
 * EINVAL: c or va is NULL; len is 0; va, iova or len is not a multiple of the
 *         IOMMU's smallest page size (4096 if unknown); va + len or
 *         iova + len wraps.
 * ENODEV: no group has been added yet.
 * Other:  errno of the ioctl, passed through; notably EEXIST (the IOVA range
 *         overlaps an existing mapping), ENOSPC (no entries left, see
 *         DMA_AVAIL), EFAULT (va not mapped), ENOMEM (locked-memory limit). */
int xmem_vfio_dma_map(struct xmem_vfio_container *c, void *va, uint64_t iova,
                      uint64_t len);

/** Unmap [iova, iova + len) with one VFIO_IOMMU_UNMAP_DMA (or
 * IOMMU_IOAS_UNMAP), and check that the kernel reports exactly len bytes
 * unmapped.  If unmapped is not NULL it gets
 * the size the kernel reported (also on failure; 0 if the ioctl failed).
 * EINVAL: c is NULL; len is 0; iova or len not page-aligned; iova + len
 *         wraps; or (type1) the kernel refused because the range cuts a
 *         mapping.
 * ENODEV: no group has been added yet.
 * ENOENT: nothing was mapped in the range (the kernel unmapped 0 bytes);
 *         (iommufd) also when the range cuts a mapping.
 * EIO:    the kernel unmapped a size other than len (something else was, or
 *         part of the range was not, mapped).  The backend keeps its record
 *         of the mappings in the range (it cannot tell which the kernel
 *         still maps); it forgets them only when the kernel unmapped all of
 *         len, or nothing (ENOENT).
 * Other:  errno of the ioctl, passed through. */
int xmem_vfio_dma_unmap(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                        uint64_t *unmapped);

/** Map a region given as a per-page IOVA table: iova[i] is the IOVA of the
 * page at va + i * page_size (XMEM_VFIO_NO_IOVA: not mapped).  Each maximal
 * run of pages contiguous in both VA and IOVA becomes one VFIO_IOMMU_MAP_DMA,
 * never more.  Runs are not merged with anything mapped before.  If DMA_AVAIL
 * is reported and is smaller than the number of runs, nothing is mapped.  If
 * a map call fails, every run this call mapped is unmapped again, so the
 * container is as it was.  n_calls (may be NULL) gets the number of map
 * calls issued, counting a failed one.
 * EINVAL: c, va or iova is NULL; n_pages is 0; page_size is not a power of
 *         two of at least 4096; va or an IOVA is not page_size-aligned; a run
 *         wraps the address space.
 * ENODEV: no group has been added yet.
 * ENOSPC: DMA_AVAIL is smaller than the number of runs (checked first), or
 *         the kernel ran out of entries.
 * ENOMEM: no memory for the run list.
 * Other:  errno of the failing map call, passed through (EEXIST, EFAULT, ...). */
int xmem_vfio_map_table(struct xmem_vfio_container *c, void *va,
                        const uint64_t *iova, size_t n_pages, size_t page_size,
                        size_t *n_calls);

/** Undo xmem_vfio_map_table with the same arguments: one unmap per run, each
 * checked for the exact size.  It goes on past a failing run and reports the
 * first error.  n_calls (may be NULL) gets the number of unmap calls.
 * EINVAL, ENODEV, ENOMEM: as for xmem_vfio_map_table.
 * ENOENT, EIO: a run was not mapped, or not exactly (see xmem_vfio_dma_unmap). */
int xmem_vfio_unmap_table(struct xmem_vfio_container *c, void *va,
                          const uint64_t *iova, size_t n_pages, size_t page_size,
                          size_t *n_calls);

/** Copy the container's counters.
 * EINVAL: c or out is NULL. */
int xmem_vfio_get_stats(const struct xmem_vfio_container *c, struct xmem_vfio_stats *out);

/* ------------------------------------------------------------------------ */
/* Devices (tests and tools)                                                */
/* ------------------------------------------------------------------------ */

/** Open a device of a group in the container (type1: VFIO_GROUP_GET_DEVICE_FD;
 * iommufd: a dup() of the cdev fd xmem_vfio_group_add bound), by its name,
 * e.g. "0000:00:03.0".  Returns the device fd, which the container
 * owns: close it with xmem_vfio_device_close.
 * EINVAL: c or name is NULL, or name is empty.
 * ENOENT: the group is not in this container.
 * ENOSPC: the group already has XMEM_VFIO_MAX_DEVICES device fds open.
 * Other:  errno of the ioctl, passed through (e.g. ENODEV: no such device in
 *         the group). */
int xmem_vfio_device_open(struct xmem_vfio_container *c, int group_id, const char *name);

/** Close a device fd that xmem_vfio_device_open returned.
 * EINVAL: c is NULL.
 * ENOENT: fd is not a device fd of this container. */
int xmem_vfio_device_close(struct xmem_vfio_container *c, int fd);

/** Describe region `index` of a device fd (for PCI: VFIO_PCI_BAR0_REGION_INDEX
 * to VFIO_PCI_CONFIG_REGION_INDEX).  BARs can then be mmap'd at out->offset
 * and config space read and written with pread/pwrite at out->offset + reg.
 * EINVAL: device_fd is negative or out is NULL; or the kernel has no such
 *         region index.
 * Other:  errno of the ioctl, passed through. */
int xmem_vfio_region_info(int device_fd, uint32_t index, struct xmem_vfio_region *out);

/* ------------------------------------------------------------------------ */
/* The container as a subscriber of xmem's DMA layer (xmem_dma.h)           */
/* ------------------------------------------------------------------------ */

/** The process-default container: opened on the first call with
 * XMEM_VFIO_BACKEND_AUTO (the environment's XMEM_VFIO_BACKEND, else iommufd
 * where the kernel has it, else type1), the same one afterwards until it is
 * closed.  Add its groups
 * with xmem_vfio_group_add, then attach it with xmem_vfio_attach(NULL).
 * Errors: those of xmem_vfio_container_open_backend (ENODEV, EACCES, EPROTO,
 * ENOTSUP, ENOMEM). */
struct xmem_vfio_container *xmem_vfio_default_container(void);

/** Attach a container (NULL: the default container) to xmem's DMA layer, as
 * a subscriber named "vfio:<container fd>" (type1) or "iommufd:<fd>": every existing region is mapped
 * into it now (replay: hotplug of a container or device), every region added
 * later when it is added, and every region removed is unmapped (one
 * unmap call per entry it created, the size the kernel reports
 * checked).  One map call per maximal VA+IOVA-contiguous run; DMA_AVAIL is
 * checked first; EEXIST on a mapping identical to one made through this
 * container counts as success (it is not unmapped on removal).  The
 * assigner's ranges (XMEM_IOVA_MODE_ASSIGN) are narrowed to the container's
 * valid IOVA ranges.  If the replay fails, everything it mapped is unmapped.
 * Returns the subscriber (for xmem_dma_get_stats, xmem_dma_mapping_walk).
 * EINVAL: (never for NULL: that is the default container.)
 * ENODEV: the container has no group yet (no IOMMU), or there is no VFIO
 *         (default container).
 * EEXIST: the container is already attached.
 * ENOSPC: DMA_AVAIL is smaller than the entries the replay needs.
 * ENOMEM: no memory.
 * Other:  errno of the failing map call of the replay (EEXIST for a
 *         conflicting mapping, EFAULT, EINVAL for an IOVA outside the
 *         container's ranges, ...), or of xmem_vfio_default_container. */
struct xmem_dma_subscriber *xmem_vfio_attach(struct xmem_vfio_container *c);

/** Detach: unmap every entry xmem mapped into the container (sizes
 * checked) and stop following regions.  NULL means the default container.
 * ENOENT: the container is not attached (or there is no default).
 * EIO:    the kernel unmapped less or more than an entry (or the ioctl
 *         failed): the container stays attached, and xmem's registry holds
 *         exactly the entries still mapped (as xmem_dma_unsubscribe);
 *         counted and logged.  A retry finishes. */
int xmem_vfio_detach(struct xmem_vfio_container *c);

/** Device locality.  When a region is mapped for an attached container
 * (added, or replayed on attach), the node of its resident pages is read
 * with move_pages (xmem_numa.h) and compared with the node of the devices
 * in the container's groups (`/sys/bus/pci/devices/<bdf>/numa_node`, through
 * `/sys/kernel/iommu_groups/<group>/devices`).  When the devices' node is
 * known and some resident page lies on another node, one line goes to the
 * log hook (xmem_set_log) naming both nodes and the device; pages not
 * resident, devices whose node sysfs does not give (-1), and regions
 * without IOVAs are not judged.  With strict on, such a region is refused
 * instead: the add, register or attach fails with EXDEV and changes
 * nothing.  Off by default.  Returns the previous setting (0 or 1).
 * EINVAL: c is NULL. */
int xmem_vfio_set_numa_strict(struct xmem_vfio_container *c, int on);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_VFIO_H */
