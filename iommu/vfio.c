/* iommu/vfio.c - owns the backend-neutral part of a VFIO container: opening
 * one with a backend (type1: iommu/vfio_type1.c; iommufd: iommu/iommufd.c)
 * chosen by the caller, the environment or what the kernel has; the group
 * and device-fd bookkeeping; argument checks and counters around each map
 * and unmap; the record of the mappings made (to tell an identical EEXIST
 * from a conflict, and what a short unmap leaves); one map call per run of
 * a per-page IOVA table, with rollback; and region info for tests and
 * tools.  Public API: include/xmem/xmem_vfio.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pread, readlink */
#endif
#include "iommu/vfio_backend.h"

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

/* ------------------------------------------------------------------------ */
/* Containers and groups                                                    */
/* ------------------------------------------------------------------------ */

/* AUTO: XMEM_VFIO_BACKEND=type1|iommufd if set; otherwise iommufd when
 * /dev/iommu and VFIO cdevs (/dev/vfio/devices) exist, else type1. */
static enum xmem_vfio_backend resolve_backend(enum xmem_vfio_backend b)
{
    if (b != XMEM_VFIO_BACKEND_AUTO)
        return b;
    const char *env = getenv("XMEM_VFIO_BACKEND");
    if (env && strcmp(env, "type1") == 0)
        return XMEM_VFIO_BACKEND_TYPE1;
    if (env && strcmp(env, "iommufd") == 0)
        return XMEM_VFIO_BACKEND_IOMMUFD;
    if (access("/dev/iommu", F_OK) == 0 && access("/dev/vfio/devices", F_OK) == 0)
        return XMEM_VFIO_BACKEND_IOMMUFD;
    return XMEM_VFIO_BACKEND_TYPE1;
}

int xm_vfio_open_node(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
            errno = ENODEV;
        else if (errno == EPERM)
            errno = EACCES;
    }
    return fd;
}

static struct xmem_vfio_container *xm_vfio_container_open(enum xmem_vfio_backend backend)
{
    if (backend != XMEM_VFIO_BACKEND_AUTO && backend != XMEM_VFIO_BACKEND_TYPE1 &&
        backend != XMEM_VFIO_BACKEND_IOMMUFD) {
        xm_cause("backend %d is not a backend", (int)backend);
        errno = EINVAL;
        return NULL;
    }
    struct xmem_vfio_container *c = calloc(1, sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->min_pgsize = 4096;
    int rc = resolve_backend(backend) == XMEM_VFIO_BACKEND_IOMMUFD ? xm_iommufd_open(c)
                                                                   : xm_vfio_type1_open(c);
    if (rc != 0) {
        int e = errno;
        pthread_mutex_destroy(&c->lock);
        free(c);
        errno = e;
        return NULL;
    }
    return c;
}

struct xmem_vfio_container *xmem_vfio_container_open_backend(enum xmem_vfio_backend backend)
{
    xm_ctl_enter();
    struct xmem_vfio_container *r = xm_vfio_container_open(backend);
    xm_ctl_exit(!r, "xmem_vfio_container_open_backend");
    return r;
}

struct xmem_vfio_container *xmem_vfio_container_open(void)
{
    xm_ctl_enter();
    struct xmem_vfio_container *r = xm_vfio_container_open(XMEM_VFIO_BACKEND_TYPE1);
    xm_ctl_exit(!r, "xmem_vfio_container_open");
    return r;
}

int xmem_vfio_container_backend(const struct xmem_vfio_container *c)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    return (int)c->ops->kind;
}

int xmem_vfio_container_close(struct xmem_vfio_container *c)
{
    if (!c)
        return 0;
    if (atomic_load_explicit(&c->sub, memory_order_acquire))
        xmem_vfio_detach(c); /* unmaps what xmem mapped; takes the control mutex */
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_groups; i++) {
        struct xm_vfio_group *g = &c->groups[i];
        for (int j = 0; j < g->n_dev; j++)
            close(g->dev_fds[j]);
        g->n_dev = 0;
    }
    c->ops->close(c); /* the groups, then the container or IOAS */
    c->n_groups = 0;
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
    int e = 0;
    if (find_group(c, group_id)) {
        e = EEXIST;
    } else if (c->n_groups == XMEM_VFIO_MAX_GROUPS) {
        e = ENOSPC;
    } else {
        struct xm_vfio_group *g = &c->groups[c->n_groups];
        memset(g, 0, sizeof(*g));
        g->id = group_id;
        g->fd = -1;
        if (c->ops->group_add(c, g) != 0)
            e = errno;
        else
            c->n_groups++;
    }
    pthread_mutex_unlock(&c->lock);
    if (e) {
        errno = e;
        return -1;
    }
    void (*cb)(struct xmem_vfio_container *) =
        atomic_load_explicit(&c->on_ranges, memory_order_acquire);
    if (cb)
        cb(c);
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
    } else if (c->n_groups == 1 && c->ops->drops_with_last_group &&
               atomic_load_explicit(&c->sub, memory_order_acquire)) {
        e = EBUSY; /* the kernel would drop mappings xmem's registry holds */
    } else if (c->ops->group_remove(c, g) != 0) {
        e = errno;
    } else {
        *g = c->groups[--c->n_groups];
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
    return c->ops->get_info(c, out);
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

uint32_t xm_vfio_ioas_id(const struct xmem_vfio_container *c)
{
    return c->ioas_id;
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
    c->stats.map_calls++;
    if (c->ops->map(c, va, iova, len) != 0) {
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
    uint64_t done = 0;
    c->stats.unmap_calls++;
    if (c->ops->unmap(c, iova, len, &done) != 0) {
        c->stats.unmap_failed++;
        return -1;
    }
    if (unmapped)
        *unmapped = done;
    /* Forget the records only when the kernel's answer says what became of
     * them: all of [iova, iova + len) unmapped, or nothing mapped there at
     * all.  A short unmap of another size leaves it unknown which entries
     * the kernel still maps: the records stay (a superset, never a loss). */
    if (done == len || done == 0)
        maps_remove(c, iova, len);
    if (done != len) {
        c->stats.unmap_failed++;
        errno = done == 0 ? ENOENT : EIO;
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
        fd = c->ops->device_fd(c, g, name);
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
