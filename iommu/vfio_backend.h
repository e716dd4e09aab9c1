/* iommu/vfio_backend.h - the container as the backends share it: the
 * struct behind struct xmem_vfio_container, and the table of operations a
 * backend provides.  iommu/vfio.c owns the backend-neutral part (the
 * record of mappings, argument checks, counters, map_table with rollback,
 * groups and device fds); iommu/vfio_type1.c (/dev/vfio/vfio, TYPE1v2) and
 * iommu/iommufd.c (/dev/iommu, an IOAS, VFIO cdevs) fill the table.  Every
 * op runs with c->lock held. */
#ifndef XMEM_IOMMU_VFIO_BACKEND_H
#define XMEM_IOMMU_VFIO_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "iommu/vfio.h"

/* One group of the container.  type1: fd is the group fd (/dev/vfio/N).
 * iommufd: fd is -1, and the group's devices are open as cdevs
 * (/dev/vfio/devices/vfioX), bound to the iommufd and attached to the IOAS;
 * device fds handed out are dup()s of those. */
#define XM_VFIO_GROUP_CDEVS 8
struct xm_vfio_group {
    int id;
    int fd;
    int n_dev;
    int dev_fds[XMEM_VFIO_MAX_DEVICES];
    int n_cdev;
    int cdev_fds[XM_VFIO_GROUP_CDEVS];
    char cdev_names[XM_VFIO_GROUP_CDEVS][32]; /* PCI names, e.g. 0000:00:03.0 */
};

/* One mapping made through the container (kept to tell an identical EEXIST
 * from a conflicting one). */
struct xm_vfio_map {
    uintptr_t va;
    uint64_t  iova;
    uint64_t  len;
};

struct xmem_vfio_container;

struct xm_vfio_ops {
    enum xmem_vfio_backend kind;
    /* Put group g (id set, the rest zero) into the container: 0, or -1 with
     * errno and nothing changed. */
    int  (*group_add)(struct xmem_vfio_container *c, struct xm_vfio_group *g);
    /* Take g out (device fds already closed): 0, or -1 with errno. */
    int  (*group_remove)(struct xmem_vfio_container *c, struct xm_vfio_group *g);
    /* A new fd for device `name` of g: >= 0, or -1 with errno. */
    int  (*device_fd)(struct xmem_vfio_container *c, struct xm_vfio_group *g,
                      const char *name);
    int  (*get_info)(struct xmem_vfio_container *c, struct xmem_vfio_info *out);
    /* One map ioctl: 0, or -1 with errno. */
    int  (*map)(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova, uint64_t len);
    /* One unmap ioctl: 0 with *unmapped the bytes the kernel unmapped (0:
     * nothing was mapped there), or -1 with errno (nothing unmapped). */
    int  (*unmap)(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                  uint64_t *unmapped);
    /* Release what open made (the fd, the IOAS). */
    void (*close)(struct xmem_vfio_container *c);
    /* 1 when the kernel drops every mapping with the last group (type1). */
    int  drops_with_last_group;
};

struct xmem_vfio_container {
    const struct xm_vfio_ops *ops;
    int                    fd;          /* container fd, or the iommufd */
    uint32_t               ioas_id;     /* iommufd: the IOAS */
    /* The DMA layer's subscriber while attached (vfio_attach.c).  Written
     * with the control mutex held; read by group_remove under c->lock:
     * acquire/release so group_remove sees an attach that completed. */
    struct xmem_dma_subscriber *_Atomic sub;
    /* Called by xmem_vfio_group_add after a group joined (without c->lock:
     * the callback takes the control mutex, which ranks above it), so that
     * the DMA layer narrows its IOVA ranges to what the IOAS now allows.
     * Set by vfio_attach.c while attached; release/acquire so a caller
     * that sees it sees the attach complete. */
    void (*_Atomic on_ranges)(struct xmem_vfio_container *c);
    /* xmem_vfio_set_numa_strict; read by the subscriber's ADD check
     * (vfio_numa.c).  Relaxed: a setting on its own. */
    _Atomic int            numa_strict;
    int                    iommu_set;   /* an IOMMU to map into (type1: >= 1 group) */
    uint64_t               min_pgsize;  /* smallest IOMMU page size, 4096 if unknown */
    pthread_mutex_t        lock;        /* guards everything below and the ioctls */
    size_t                 n_groups;
    struct xm_vfio_group   groups[XMEM_VFIO_MAX_GROUPS];
    struct xmem_vfio_stats stats;
    struct xm_vfio_map    *maps;        /* sorted by iova, disjoint */
    size_t                 n_maps, cap_maps;
};

/* Open a backend's device node read/write: the fd, or -1 with ENODEV
 * (the node does not exist: no such driver in this kernel), EACCES, or
 * open's errno. */
int xm_vfio_open_node(const char *path);

/* Backends' open: fill c->ops, c->fd (and c->ioas_id, c->iommu_set); 0, or
 * -1 with errno and nothing left open. */
int xm_vfio_type1_open(struct xmem_vfio_container *c);
int xm_iommufd_open(struct xmem_vfio_container *c);
/* The type1 info reader, also used when the first group selects the IOMMU. */
int xm_vfio_type1_get_info(struct xmem_vfio_container *c, struct xmem_vfio_info *out);

#endif /* XMEM_IOMMU_VFIO_BACKEND_H */
