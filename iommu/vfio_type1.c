/* iommu/vfio_type1.c - owns the VFIO type1 backend's ioctls: the container
 * (/dev/vfio/vfio, API version, TYPE1v2), groups (/dev/vfio/N: viability,
 * SET_CONTAINER, selecting the IOMMU with the first group), device fds
 * (VFIO_GROUP_GET_DEVICE_FD), VFIO_IOMMU_GET_INFO with its capability chain,
 * and one VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA per op.  The
 * backend-neutral part (records, checks, counters, rollback) is
 * iommu/vfio.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/vfio_backend.h"
#include "iommu/vfio_caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Capability chain                                                         */
/* ------------------------------------------------------------------------ */


int xm_vfio_parse_info(const void *buf, size_t size, struct xmem_vfio_info *out)
{
    struct vfio_iommu_type1_info info;
    if (!buf || !out || size < sizeof(info)) {
        errno = EINVAL;
        return -1;
    }
    const unsigned char *b = buf;
    memcpy(&info, b, sizeof(info));
    memset(out, 0, sizeof(*out));
    if (info.flags & VFIO_IOMMU_INFO_PGSIZES)
        out->iova_pgsizes = info.iova_pgsizes;
    if (!(info.flags & VFIO_IOMMU_INFO_CAPS) || info.cap_offset == 0)
        return 0;

    struct xm_vfio_caps it;
    struct vfio_info_cap_header h;
    size_t off;
    int more;
    xm_vfio_caps_init(&it, b, size, info.cap_offset, sizeof(info));
    while ((more = xm_vfio_caps_next(&it, &h, &off)) > 0) {
        if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range cap;
            if (size - off < sizeof(cap)) {
                errno = EPROTO;
                return -1;
            }
            memcpy(&cap, b + off, sizeof(cap));
            size_t room = (size - off - sizeof(cap)) / sizeof(struct vfio_iova_range);
            if (cap.nr_iovas > room) {
                errno = EPROTO;
                return -1;
            }
            out->ranges_total = cap.nr_iovas;
            out->n_ranges = cap.nr_iovas < XMEM_VFIO_MAX_RANGES ? cap.nr_iovas
                                                                : XMEM_VFIO_MAX_RANGES;
            for (uint32_t i = 0; i < out->n_ranges; i++) {
                struct vfio_iova_range r;
                memcpy(&r, b + off + sizeof(cap) + i * sizeof(r), sizeof(r));
                out->ranges[i].start = r.start;
                out->ranges[i].end = r.end;
            }
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
            struct vfio_iommu_type1_info_dma_avail cap;
            if (size - off < sizeof(cap)) {
                errno = EPROTO;
                return -1;
            }
            memcpy(&cap, b + off, sizeof(cap));
            out->has_dma_avail = 1;
            out->dma_avail = cap.avail;
        }
    }
    if (more < 0)
        return -1;
    return 0;
}

int xm_vfio_type1_get_info(struct xmem_vfio_container *c, struct xmem_vfio_info *out)
{
    size_t argsz = sizeof(struct vfio_iommu_type1_info);
    for (int tries = 0; tries < 8; tries++) {
        struct vfio_iommu_type1_info *info = calloc(1, argsz);
        if (!info) {
            errno = ENOMEM;
            return -1;
        }
        info->argsz = (uint32_t)argsz;
        if (ioctl(c->fd, VFIO_IOMMU_GET_INFO, info) != 0) {
            int e = errno;
            free(info);
            errno = e;
            return -1;
        }
        if (info->argsz > argsz) { /* the kernel asks for a bigger buffer */
            argsz = info->argsz;
            free(info);
            continue;
        }
        int rc = xm_vfio_parse_info(info, argsz, out);
        int e = errno;
        free(info);
        errno = e;
        return rc;
    }
    errno = EPROTO; /* the kernel kept asking for more */
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Groups and devices                                                       */
/* ------------------------------------------------------------------------ */

static int type1_group_add(struct xmem_vfio_container *c, struct xm_vfio_group *g)
{
    char path[32];
    snprintf(path, sizeof(path), "/dev/vfio/%d", g->id);
    int gfd = open(path, O_RDWR | O_CLOEXEC);
    if (gfd < 0)
        return -1;
    int e = 0;
    struct vfio_group_status st = {.argsz = sizeof(st)};
    if (ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) != 0)
        e = errno;
    else if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
        e = EPERM;
    else if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
        e = EBUSY;
    else if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &c->fd) != 0)
        e = errno;
    else if (!c->iommu_set) {
        if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
            e = errno;
            ioctl(gfd, VFIO_GROUP_UNSET_CONTAINER);
        } else {
            c->iommu_set = 1;
            struct xmem_vfio_info info;
            c->min_pgsize = 4096;
            if (xm_vfio_type1_get_info(c, &info) == 0 && info.iova_pgsizes)
                c->min_pgsize = info.iova_pgsizes & -info.iova_pgsizes;
        }
    }
    if (e) {
        close(gfd);
        errno = e;
        return -1;
    }
    g->fd = gfd;
    return 0;
}

static int type1_group_remove(struct xmem_vfio_container *c, struct xm_vfio_group *g)
{
    if (ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER) != 0)
        return -1;
    close(g->fd);
    if (c->n_groups == 1) {
        c->iommu_set = 0; /* the kernel released the IOMMU and its mappings */
        c->n_maps = 0;
    }
    return 0;
}

static int type1_device_fd(struct xmem_vfio_container *c, struct xm_vfio_group *g,
                           const char *name)
{
    (void)c;
    return ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, name);
}

/* ------------------------------------------------------------------------ */
/* Map and unmap                                                            */
/* ------------------------------------------------------------------------ */

static int type1_map(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova, uint64_t len)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = va,
        .iova = iova,
        .size = len,
    };
    return ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) == 0 ? 0 : -1;
}

static int type1_unmap(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                       uint64_t *unmapped)
{
    struct vfio_iommu_type1_dma_unmap um = {
        .argsz = sizeof(um),
        .flags = 0,
        .iova = iova,
        .size = len,
    };
    if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &um) != 0)
        return -1;
    *unmapped = um.size; /* type1 reports 0 when nothing was mapped there */
    return 0;
}

static void type1_close(struct xmem_vfio_container *c)
{
    for (size_t i = 0; i < c->n_groups; i++) {
        struct xm_vfio_group *g = &c->groups[i];
        ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
        close(g->fd);
    }
    close(c->fd);
}

static const struct xm_vfio_ops xm_type1_ops = {
    .kind = XMEM_VFIO_BACKEND_TYPE1,
    .group_add = type1_group_add,
    .group_remove = type1_group_remove,
    .device_fd = type1_device_fd,
    .get_info = xm_vfio_type1_get_info,
    .map = type1_map,
    .unmap = type1_unmap,
    .close = type1_close,
    .drops_with_last_group = 1,
};

int xm_vfio_type1_open(struct xmem_vfio_container *c)
{
    int fd = xm_vfio_open_node("/dev/vfio/vfio");
    if (fd < 0)
        return -1;
    int e = 0;
    if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
        e = EPROTO;
    else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
        e = ENOTSUP;
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    c->ops = &xm_type1_ops;
    c->fd = fd;
    c->iommu_set = 0; /* the first group selects it */
    return 0;
}
