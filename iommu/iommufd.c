/* iommu/iommufd.c - owns the iommufd backend's ioctls: /dev/iommu with one
 * IOAS (IOMMU_IOAS_ALLOC), groups as the VFIO cdevs of their devices
 * (/dev/vfio/devices/vfioN: VFIO_DEVICE_BIND_IOMMUFD, then
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS), the IOAS's valid IOVA ranges
 * (IOMMU_IOAS_IOVA_RANGES, read again after every attach), and one
 * IOMMU_IOAS_MAP (fixed IOVA) / IOMMU_IOAS_UNMAP per op.  The
 * backend-neutral part (records, checks, counters, rollback) is
 * iommu/vfio.c; the uAPI definitions are in iommu/iommufd_uapi.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/iommufd_uapi.h"
#include "iommu/vfio_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int iommufd_get_info(struct xmem_vfio_container *c, struct xmem_vfio_info *out)
{
    struct xm_iommu_iova_range r[XMEM_VFIO_MAX_RANGES];
    struct xm_iommu_ioas_iova_ranges q = {
        .size = sizeof(q),
        .ioas_id = c->ioas_id,
        .num_iovas = XMEM_VFIO_MAX_RANGES,
        .allowed_iovas = (uintptr_t)r,
    };
    uint32_t total;
    if (ioctl(c->fd, XM_IOMMU_IOAS_IOVA_RANGES, &q) == 0) {
        total = q.num_iovas;
    } else if (errno == EMSGSIZE) {
        /* More ranges than room: the kernel says how many; keep the first
         * XMEM_VFIO_MAX_RANGES, as type1's parser does. */
        total = q.num_iovas;
        struct xm_iommu_iova_range *all = calloc(total, sizeof(*all));
        if (!all) {
            errno = ENOMEM;
            return -1;
        }
        q.num_iovas = total;
        q.allowed_iovas = (uintptr_t)all;
        int rc = ioctl(c->fd, XM_IOMMU_IOAS_IOVA_RANGES, &q);
        int e = errno;
        if (rc == 0)
            memcpy(r, all, sizeof(r));
        free(all);
        if (rc != 0) {
            errno = e == EMSGSIZE ? EPROTO : e; /* still growing: give up */
            return -1;
        }
        total = q.num_iovas;
    } else {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->iova_pgsizes = q.out_iova_alignment;
    out->ranges_total = total;
    out->n_ranges = total < XMEM_VFIO_MAX_RANGES ? total : XMEM_VFIO_MAX_RANGES;
    for (uint32_t i = 0; i < out->n_ranges; i++) {
        out->ranges[i].start = r[i].start;
        out->ranges[i].end = r[i].last;
    }
    return 0; /* no DMA_AVAIL: an IOAS has no entry limit to report */
}

/* The valid ranges and the alignment change when a device attaches (its
 * reserved regions, its IOMMU's aperture): read them again. */
static void refresh_pgsize(struct xmem_vfio_container *c)
{
    struct xmem_vfio_info in;
    if (iommufd_get_info(c, &in) == 0 && in.iova_pgsizes)
        c->min_pgsize = in.iova_pgsizes < 4096 ? 4096 : in.iova_pgsizes;
}

/* /dev/vfio/devices/<vfioN> of PCI device `name`, from its vfio-dev
 * directory.  -1 with EPERM when it has none (not bound to a VFIO driver). */
static int cdev_path(const char *name, char *path, size_t len)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", name);
    DIR *d = opendir(dir);
    if (!d) {
        errno = EPERM;
        return -1;
    }
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "vfio", 4) == 0 && strlen(e->d_name) < 24) {
            snprintf(path, len, "/dev/vfio/devices/%s", e->d_name);
            found = 0;
            break;
        }
    }
    closedir(d);
    if (found)
        errno = EPERM;
    return found;
}

static void close_cdevs(struct xm_vfio_group *g)
{
    for (int i = 0; i < g->n_cdev; i++)
        close(g->cdev_fds[i]); /* detaches from the IOAS and unbinds */
    g->n_cdev = 0;
}

/* Open, bind and attach one device's cdev into g. */
static int add_cdev(struct xmem_vfio_container *c, struct xm_vfio_group *g, const char *name)
{
    if (g->n_cdev == XM_VFIO_GROUP_CDEVS) {
        errno = E2BIG;
        return -1;
    }
    if (strlen(name) >= sizeof(g->cdev_names[0])) {
        errno = ENOENT;
        return -1;
    }
    char path[64];
    if (cdev_path(name, path, sizeof(path)) != 0)
        return -1;
    int fd = -1;
    for (int i = 0; i < 200 && fd < 0; i++) { /* devtmpfs may lag the bind */
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            usleep(10000);
        else
            break;
    }
    if (fd < 0)
        return -1;
    struct xm_vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = c->fd};
    struct xm_vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = c->ioas_id};
    if (ioctl(fd, XM_VFIO_DEVICE_BIND_IOMMUFD, &bind) != 0 ||
        ioctl(fd, XM_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    g->cdev_fds[g->n_cdev] = fd;
    memcpy(g->cdev_names[g->n_cdev], name, strlen(name) + 1);
    g->n_cdev++;
    return 0;
}

static int iommufd_group_add(struct xmem_vfio_container *c, struct xm_vfio_group *g)
{
    char dir[96];
    snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", g->id);
    DIR *d = opendir(dir);
    if (!d) {
        errno = ENOENT;
        return -1;
    }
    struct dirent *de;
    int e = 0;
    while (!e && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (add_cdev(c, g, de->d_name) != 0)
            e = errno;
    }
    closedir(d);
    if (!e && g->n_cdev == 0)
        e = ENOENT;
    if (e) {
        close_cdevs(g);
        errno = e;
        return -1;
    }
    refresh_pgsize(c);
    return 0;
}

static int iommufd_group_remove(struct xmem_vfio_container *c, struct xm_vfio_group *g)
{
    close_cdevs(g); /* the IOAS keeps its mappings */
    refresh_pgsize(c);
    return 0;
}

static int iommufd_device_fd(struct xmem_vfio_container *c, struct xm_vfio_group *g,
                             const char *name)
{
    (void)c;
    for (int i = 0; i < g->n_cdev; i++)
        if (strcmp(g->cdev_names[i], name) == 0)
            return fcntl(g->cdev_fds[i], F_DUPFD_CLOEXEC, 0);
    errno = ENODEV;
    return -1;
}

static int iommufd_map(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova, uint64_t len)
{
    struct xm_iommu_ioas_map m = {
        .size = sizeof(m),
        .flags = XM_IOMMU_IOAS_MAP_FIXED_IOVA | XM_IOMMU_IOAS_MAP_READABLE |
                 XM_IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = c->ioas_id,
        .user_va = va,
        .length = len,
        .iova = iova,
    };
    return ioctl(c->fd, XM_IOMMU_IOAS_MAP, &m) == 0 ? 0 : -1;
}

static int iommufd_unmap(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                         uint64_t *unmapped)
{
    struct xm_iommu_ioas_unmap u = {
        .size = sizeof(u),
        .ioas_id = c->ioas_id,
        .iova = iova,
        .length = len,
    };
    if (ioctl(c->fd, XM_IOMMU_IOAS_UNMAP, &u) != 0) {
        if (errno != ENOENT)
            return -1;
        /* Nothing mapped in the range, or the range cuts an area: in both
         * cases the kernel unmapped nothing (type1 reports size 0). */
        *unmapped = 0;
        return 0;
    }
    *unmapped = u.length;
    return 0;
}

static void iommufd_close(struct xmem_vfio_container *c)
{
    for (size_t i = 0; i < c->n_groups; i++)
        close_cdevs(&c->groups[i]);
    struct xm_iommu_destroy d = {.size = sizeof(d), .id = c->ioas_id};
    ioctl(c->fd, XM_IOMMU_DESTROY, &d); /* closing the fd would do it too */
    close(c->fd);
}

static const struct xm_vfio_ops xm_iommufd_ops = {
    .kind = XMEM_VFIO_BACKEND_IOMMUFD,
    .group_add = iommufd_group_add,
    .group_remove = iommufd_group_remove,
    .device_fd = iommufd_device_fd,
    .get_info = iommufd_get_info,
    .map = iommufd_map,
    .unmap = iommufd_unmap,
    .close = iommufd_close,
    .drops_with_last_group = 0,
};

int xm_iommufd_open(struct xmem_vfio_container *c)
{
    int fd = xm_vfio_open_node("/dev/iommu");
    if (fd < 0)
        return -1;
    struct xm_iommu_ioas_alloc a = {.size = sizeof(a)};
    if (ioctl(fd, XM_IOMMU_IOAS_ALLOC, &a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->ops = &xm_iommufd_ops;
    c->fd = fd;
    c->ioas_id = a.out_ioas_id;
    c->iommu_set = 1; /* an IOAS takes mappings before any device */
    refresh_pgsize(c);
    return 0;
}
