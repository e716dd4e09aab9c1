/* iommu/vfio.c - owns the VFIO type1 backend: containers (/dev/vfio/vfio),
 * groups (/dev/vfio/N), selecting TYPE1v2, reading VFIO_IOMMU_GET_INFO and
 * its capability chain, VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA (one call
 * per run of a per-page IOVA table, with rollback), and device fds and region
 * info for tests and tools.  Public API: include/xmem/xmem_vfio.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pread, readlink */
#endif
#include "iommu/vfio.h"

#include "alloc/xm_common.h" /* failed calls report one line (xm_ctl_exit) */
#include "iommu/iova.h"

#include <stdatomic.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct xm_vfio_group {
    int id;
    int fd;
    int n_dev;
    int dev_fds[XMEM_VFIO_MAX_DEVICES];
};

/* One mapping made through the container (kept to tell an identical EEXIST
 * from a conflicting one). */
struct xm_vfio_map {
    uintptr_t va;
    uint64_t  iova;
    uint64_t  len;
};

struct xmem_vfio_container {
    int                    fd;
    /* The DMA layer's subscriber while attached (vfio_attach.c).  Written
     * with the control mutex held; read by group_remove under c->lock:
     * acquire/release so group_remove sees an attach that completed. */
    struct xmem_dma_subscriber *_Atomic sub;
    int                    iommu_set;   /* TYPE1v2 selected (needs >= 1 group) */
    uint64_t               min_pgsize;  /* smallest IOMMU page size, 4096 if unknown */
    pthread_mutex_t        lock;        /* guards everything below and the ioctls */
    size_t                 n_groups;
    struct xm_vfio_group   groups[XMEM_VFIO_MAX_GROUPS];
    struct xmem_vfio_stats stats;
    struct xm_vfio_map    *maps;        /* sorted by iova, disjoint */
    size_t                 n_maps, cap_maps;
    /* xmem_vfio_set_numa_strict; read by the subscriber's ADD check
     * (vfio_numa.c).  Relaxed: a setting on its own. */
    _Atomic int            numa_strict;
};

/* ------------------------------------------------------------------------ */
/* Capability chain                                                         */
/* ------------------------------------------------------------------------ */

#define XM_VFIO_MAX_CAPS 64

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

    size_t off = info.cap_offset;
    size_t min_off = sizeof(info); /* each capability lies after the previous one */
    for (int n = 0; off != 0; n++) {
        struct vfio_info_cap_header h;
        if (n >= XM_VFIO_MAX_CAPS || off < min_off || off > size ||
            size - off < sizeof(h)) {
            errno = EPROTO;
            return -1;
        }
        memcpy(&h, b + off, sizeof(h));
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
        if (h.next != 0 && h.next <= off) {
            errno = EPROTO;
            return -1;
        }
        min_off = off + sizeof(h);
        off = h.next;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Containers and groups                                                    */
/* ------------------------------------------------------------------------ */

static struct xmem_vfio_container *xm_vfio_container_open(void)
{
    int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
            errno = ENODEV;
        else if (errno == EPERM)
            errno = EACCES;
        return NULL;
    }
    int e = 0;
    if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
        e = EPROTO;
    else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
        e = ENOTSUP;
    struct xmem_vfio_container *c = NULL;
    if (!e && !(c = calloc(1, sizeof(*c))))
        e = ENOMEM;
    if (!e && pthread_mutex_init(&c->lock, NULL) != 0)
        e = ENOMEM;
    if (e) {
        free(c);
        close(fd);
        errno = e;
        return NULL;
    }
    c->fd = fd;
    c->min_pgsize = 4096;
    return c;
}

struct xmem_vfio_container *xmem_vfio_container_open(void)
{
    xm_ctl_enter();
    struct xmem_vfio_container * r = xm_vfio_container_open();
    xm_ctl_exit(!r, "xmem_vfio_container_open");
    return r;
}

static void close_group(struct xm_vfio_group *g)
{
    for (int i = 0; i < g->n_dev; i++)
        close(g->dev_fds[i]);
    g->n_dev = 0;
    ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
    close(g->fd);
}

int xmem_vfio_container_close(struct xmem_vfio_container *c)
{
    if (!c)
        return 0;
    if (atomic_load_explicit(&c->sub, memory_order_acquire))
        xmem_vfio_detach(c); /* unmaps what xmem mapped; takes the control mutex */
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_groups; i++)
        close_group(&c->groups[i]);
    c->n_groups = 0;
    close(c->fd);
    pthread_mutex_unlock(&c->lock);
    xm_vfio_forget_default(c);
    pthread_mutex_destroy(&c->lock);
    free(c->maps);
    free(c);
    return 0;
}

int xmem_vfio_container_fd(const struct xmem_vfio_container *c)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    return c->fd;
}

int xmem_vfio_group_of(const char *bdf)
{
    if (!bdf || !bdf[0] || strlen(bdf) > 31 || strchr(bdf, '/')) {
        errno = EINVAL;
        return -1;
    }
    char path[96], link[PATH_MAX];
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0) {
        errno = ENOENT;
        return -1;
    }
    link[n] = '\0';
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    char *end;
    errno = 0;
    long id = strtol(base, &end, 10);
    if (errno || end == base || *end || id < 0 || id > INT_MAX) {
        errno = ENOENT;
        return -1;
    }
    return (int)id;
}

static struct xm_vfio_group *find_group(struct xmem_vfio_container *c, int id)
{
    for (size_t i = 0; i < c->n_groups; i++)
        if (c->groups[i].id == id)
            return &c->groups[i];
    return NULL;
}

static int get_info_locked(struct xmem_vfio_container *c, struct xmem_vfio_info *out);

static int xm_vfio_group_add(struct xmem_vfio_container *c, int group_id)
{
    if (!c || group_id < 0) {
        if (!c)
            xm_cause("c is NULL");
        else
            xm_cause("group_id %d is negative", group_id);
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int e = 0, gfd = -1;
    if (find_group(c, group_id)) {
        e = EEXIST;
        goto out;
    }
    if (c->n_groups == XMEM_VFIO_MAX_GROUPS) {
        e = ENOSPC;
        goto out;
    }
    char path[32];
    snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
    gfd = open(path, O_RDWR | O_CLOEXEC);
    if (gfd < 0) {
        e = errno;
        goto out;
    }
    struct vfio_group_status st = {.argsz = sizeof(st)};
    if (ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) != 0) {
        e = errno;
        goto out;
    }
    if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        e = EPERM;
        goto out;
    }
    if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) {
        e = EBUSY;
        goto out;
    }
    if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &c->fd) != 0) {
        e = errno;
        goto out;
    }
    if (!c->iommu_set) {
        if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
            e = errno;
            ioctl(gfd, VFIO_GROUP_UNSET_CONTAINER);
            goto out;
        }
        c->iommu_set = 1;
        struct xmem_vfio_info info;
        c->min_pgsize = 4096;
        if (get_info_locked(c, &info) == 0 && info.iova_pgsizes)
            c->min_pgsize = info.iova_pgsizes & -info.iova_pgsizes;
    }
    struct xm_vfio_group *g = &c->groups[c->n_groups++];
    memset(g, 0, sizeof(*g));
    g->id = group_id;
    g->fd = gfd;
    gfd = -1;
out:
    if (gfd >= 0)
        close(gfd);
    pthread_mutex_unlock(&c->lock);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xmem_vfio_group_add(struct xmem_vfio_container *c, int group_id)
{
    xm_ctl_enter();
    int r = xm_vfio_group_add(c, group_id);
    xm_ctl_exit(r != 0, "xmem_vfio_group_add");
    return r;
}

static int xm_vfio_group_remove(struct xmem_vfio_container *c, int group_id)
{
    if (!c) {
        xm_cause("c is NULL");
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int e = 0;
    struct xm_vfio_group *g = find_group(c, group_id);
    if (!g) {
        e = ENOENT;
    } else if (g->n_dev > 0) {
        e = EBUSY;
    } else if (c->n_groups == 1 && atomic_load_explicit(&c->sub, memory_order_acquire)) {
        e = EBUSY; /* the kernel would drop mappings xmem's registry holds */
    } else if (ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER) != 0) {
        e = errno;
    } else {
        close(g->fd);
        *g = c->groups[--c->n_groups];
        if (c->n_groups == 0) {
            c->iommu_set = 0; /* the kernel released the IOMMU and its mappings */
            c->n_maps = 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xmem_vfio_group_remove(struct xmem_vfio_container *c, int group_id)
{
    xm_ctl_enter();
    int r = xm_vfio_group_remove(c, group_id);
    xm_ctl_exit(r != 0, "xmem_vfio_group_remove");
    return r;
}

/* ------------------------------------------------------------------------ */
/* IOMMU info                                                               */
/* ------------------------------------------------------------------------ */

static int get_info_locked(struct xmem_vfio_container *c, struct xmem_vfio_info *out)
{
    if (!c->iommu_set) {
        errno = ENODEV;
        return -1;
    }
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

int xmem_vfio_get_info(struct xmem_vfio_container *c, struct xmem_vfio_info *out)
{
    if (!c || !out) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int rc = get_info_locked(c, out);
    int e = errno;
    pthread_mutex_unlock(&c->lock);
    errno = e;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Map and unmap                                                            */
/* ------------------------------------------------------------------------ */

/* First tracked mapping whose end is above iova. */
static size_t maps_lower(const struct xmem_vfio_container *c, uint64_t iova)
{
    size_t lo = 0, hi = c->n_maps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->maps[mid].iova + c->maps[mid].len <= iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void maps_remove(struct xmem_vfio_container *c, uint64_t iova, uint64_t len);

/* Record a mapping the kernel accepted.  Records overlapping it are stale
 * (the kernel maps nothing else there, or it would have refused) and go.
 * Out of memory only loses the ability to recognise it as identical later
 * (EEXIST is then a conflict). */
static void maps_add(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova, uint64_t len)
{
    size_t k = maps_lower(c, iova);
    while (k < c->n_maps && c->maps[k].iova <= iova + (len - 1)) { /* no wrap at 2^64 */
        memmove(&c->maps[k], &c->maps[k + 1], (c->n_maps - k - 1) * sizeof(*c->maps));
        c->n_maps--;
    }
    if (c->n_maps == c->cap_maps) {
        size_t cap = c->cap_maps ? 2 * c->cap_maps : 64;
        struct xm_vfio_map *m = realloc(c->maps, cap * sizeof(*m));
        if (!m)
            return;
        c->maps = m;
        c->cap_maps = cap;
    }
    size_t i = maps_lower(c, iova);
    memmove(&c->maps[i + 1], &c->maps[i], (c->n_maps - i) * sizeof(*c->maps));
    c->maps[i] = (struct xm_vfio_map){va, iova, len};
    c->n_maps++;
}

/* Forget the mappings inside [iova, iova + len): what type1 unmaps. */
static void maps_remove(struct xmem_vfio_container *c, uint64_t iova, uint64_t len)
{
    size_t i = maps_lower(c, iova), j = i;
    while (j < c->n_maps && c->maps[j].iova >= iova &&
           c->maps[j].iova + c->maps[j].len <= iova + len)
        j++;
    memmove(&c->maps[i], &c->maps[j], (c->n_maps - j) * sizeof(*c->maps));
    c->n_maps -= j - i;
}

int xm_vfio_has_mapping(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova,
                        uint64_t len)
{
    pthread_mutex_lock(&c->lock);
    size_t i = maps_lower(c, iova);
    int same = i < c->n_maps && c->maps[i].iova == iova && c->maps[i].len == len &&
               c->maps[i].va == va;
    pthread_mutex_unlock(&c->lock);
    return same;
}

size_t xm_vfio_group_ids(struct xmem_vfio_container *c, int *ids, size_t cap)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->n_groups;
    for (size_t i = 0; i < n && i < cap; i++)
        ids[i] = c->groups[i].id;
    pthread_mutex_unlock(&c->lock);
    return n;
}

int xmem_vfio_set_numa_strict(struct xmem_vfio_container *c, int on)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    return atomic_exchange_explicit(&c->numa_strict, on ? 1 : 0, memory_order_relaxed);
}

int xm_vfio_numa_strict(const struct xmem_vfio_container *c)
{
    return atomic_load_explicit(&c->numa_strict, memory_order_relaxed);
}

struct xmem_dma_subscriber *xm_vfio_get_sub(struct xmem_vfio_container *c)
{
    return atomic_load_explicit(&c->sub, memory_order_acquire);
}

void xm_vfio_set_sub(struct xmem_vfio_container *c, struct xmem_dma_subscriber *s)
{
    atomic_store_explicit(&c->sub, s, memory_order_release);
}

static int map_locked(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova, uint64_t len)
{
    uint64_t m = c->min_pgsize - 1;
    if (va == 0 || len == 0 || (va & m) || (iova & m) || (len & m) ||
        len - 1 > UINTPTR_MAX - va || len - 1 > UINT64_MAX - iova) {
        errno = EINVAL;
        return -1;
    }
    if (!c->iommu_set) {
        errno = ENODEV;
        return -1;
    }
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = va,
        .iova = iova,
        .size = len,
    };
    c->stats.map_calls++;
    if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) != 0) {
        c->stats.map_failed++;
        return -1;
    }
    maps_add(c, va, iova, len);
    return 0;
}

static int unmap_locked(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                        uint64_t *unmapped)
{
    uint64_t m = c->min_pgsize - 1;
    if (unmapped)
        *unmapped = 0;
    if (len == 0 || (iova & m) || (len & m) || len - 1 > UINT64_MAX - iova) {
        errno = EINVAL;
        return -1;
    }
    if (!c->iommu_set) {
        errno = ENODEV;
        return -1;
    }
    struct vfio_iommu_type1_dma_unmap um = {
        .argsz = sizeof(um),
        .flags = 0,
        .iova = iova,
        .size = len,
    };
    c->stats.unmap_calls++;
    if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &um) != 0) {
        c->stats.unmap_failed++;
        return -1;
    }
    if (unmapped)
        *unmapped = um.size;
    /* Forget the records only when the kernel's answer says what became of
     * them: all of [iova, iova + len) unmapped, or nothing mapped there at
     * all.  A short unmap of another size leaves it unknown which entries
     * the kernel still maps: the records stay (a superset, never a loss). */
    if (um.size == len || um.size == 0)
        maps_remove(c, iova, len);
    if (um.size != len) {
        c->stats.unmap_failed++;
        errno = um.size == 0 ? ENOENT : EIO;
        return -1;
    }
    return 0;
}

int xmem_vfio_dma_map(struct xmem_vfio_container *c, void *va, uint64_t iova, uint64_t len)
{
    if (!c || !va) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int rc = map_locked(c, (uintptr_t)va, iova, len);
    int e = errno;
    pthread_mutex_unlock(&c->lock);
    errno = e;
    return rc;
}

int xmem_vfio_dma_unmap(struct xmem_vfio_container *c, uint64_t iova, uint64_t len,
                        uint64_t *unmapped)
{
    if (!c) {
        if (unmapped)
            *unmapped = 0;
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int rc = unmap_locked(c, iova, len, unmapped);
    int e = errno;
    pthread_mutex_unlock(&c->lock);
    errno = e;
    return rc;
}

/* The runs of a table, in a malloc'd array (*out, *n). */
static int table_runs(void *va, const uint64_t *iova, size_t n_pages, size_t page_size,
                      struct xm_iova_run **out, size_t *n)
{
    size_t count;
    if (xm_iova_runs((uintptr_t)va, iova, n_pages, page_size, NULL, 0, &count) != 0)
        return -1;
    struct xm_iova_run *runs = NULL;
    if (count) {
        runs = calloc(count, sizeof(*runs));
        if (!runs) {
            errno = ENOMEM;
            return -1;
        }
        if (xm_iova_runs((uintptr_t)va, iova, n_pages, page_size, runs, count, &count) != 0) {
            int e = errno;
            free(runs);
            errno = e;
            return -1;
        }
    }
    *out = runs;
    *n = count;
    return 0;
}

/* The common start of map_table and unmap_table: zero *n_calls, check the
 * arguments (EINVAL) and compute the table's runs. */
static int table_call_runs(struct xmem_vfio_container *c, void *va, const uint64_t *iova,
                           size_t n_pages, size_t page_size, size_t *n_calls,
                           struct xm_iova_run **runs, size_t *n)
{
    if (n_calls)
        *n_calls = 0;
    if (!c || !va || !iova) {
        errno = EINVAL;
        return -1;
    }
    return table_runs(va, iova, n_pages, page_size, runs, n);
}

int xmem_vfio_map_table(struct xmem_vfio_container *c, void *va, const uint64_t *iova,
                        size_t n_pages, size_t page_size, size_t *n_calls)
{
    struct xm_iova_run *runs;
    size_t n;
    if (table_call_runs(c, va, iova, n_pages, page_size, n_calls, &runs, &n) != 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    int e = 0;
    size_t done = 0;
    struct xmem_vfio_info info;
    if (!c->iommu_set) {
        e = ENODEV;
    } else if (n > 0 && get_info_locked(c, &info) != 0) {
        e = errno;
    } else if (n > 0 && info.has_dma_avail && info.dma_avail < n) {
        e = ENOSPC; /* fail early: nothing mapped */
    } else {
        for (; done < n; done++) {
            if (map_locked(c, runs[done].va, runs[done].iova, runs[done].len) != 0) {
                e = errno;
                if (n_calls)
                    *n_calls = done + 1;
                break;
            }
        }
        if (e) { /* roll back what this call mapped */
            for (size_t i = 0; i < done; i++)
                unmap_locked(c, runs[i].iova, runs[i].len, NULL);
        } else if (n_calls) {
            *n_calls = n;
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(runs);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xmem_vfio_unmap_table(struct xmem_vfio_container *c, void *va, const uint64_t *iova,
                          size_t n_pages, size_t page_size, size_t *n_calls)
{
    struct xm_iova_run *runs;
    size_t n;
    if (table_call_runs(c, va, iova, n_pages, page_size, n_calls, &runs, &n) != 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    int e = 0;
    if (!c->iommu_set) {
        e = ENODEV;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (unmap_locked(c, runs[i].iova, runs[i].len, NULL) != 0 && !e)
                e = errno;
        }
        if (n_calls)
            *n_calls = n;
    }
    pthread_mutex_unlock(&c->lock);
    free(runs);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xmem_vfio_get_stats(const struct xmem_vfio_container *c, struct xmem_vfio_stats *out)
{
    if (!c || !out) {
        errno = EINVAL;
        return -1;
    }
    struct xmem_vfio_container *mc = (struct xmem_vfio_container *)c;
    pthread_mutex_lock(&mc->lock);
    *out = c->stats;
    pthread_mutex_unlock(&mc->lock);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                  */
/* ------------------------------------------------------------------------ */

int xmem_vfio_device_open(struct xmem_vfio_container *c, int group_id, const char *name)
{
    if (!c || !name || !name[0]) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int e = 0, fd = -1;
    struct xm_vfio_group *g = find_group(c, group_id);
    if (!g) {
        e = ENOENT;
    } else if (g->n_dev == XMEM_VFIO_MAX_DEVICES) {
        e = ENOSPC;
    } else {
        fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, name);
        if (fd < 0)
            e = errno;
        else
            g->dev_fds[g->n_dev++] = fd;
    }
    pthread_mutex_unlock(&c->lock);
    if (e) {
        errno = e;
        return -1;
    }
    return fd;
}

int xmem_vfio_device_close(struct xmem_vfio_container *c, int fd)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    int found = 0;
    for (size_t i = 0; i < c->n_groups && !found; i++) {
        struct xm_vfio_group *g = &c->groups[i];
        for (int j = 0; j < g->n_dev; j++) {
            if (g->dev_fds[j] == fd) {
                close(fd);
                g->dev_fds[j] = g->dev_fds[--g->n_dev];
                found = 1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

int xmem_vfio_region_info(int device_fd, uint32_t index, struct xmem_vfio_region *out)
{
    if (device_fd < 0 || !out) {
        errno = EINVAL;
        return -1;
    }
    struct vfio_region_info ri = {.argsz = sizeof(ri), .index = index};
    if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0)
        return -1;
    out->index = ri.index;
    out->flags = ri.flags;
    out->size = ri.size;
    out->offset = ri.offset;
    return 0;
}
