/* iommu/vfio_bar.c - owns VFIO BARs as device memory: reading a region's
 * info and its VFIO_REGION_INFO_CAP_SPARSE_MMAP areas, mapping the BAR as a
 * PROT_NONE reservation with each area mapped at its offset (base + offset
 * addressing, as DPDK 23.07 does), and adding the areas to a heap as
 * chunks, holes excluded.  Nothing here reads or writes the BAR: the core
 * keeps its metadata out of band, so the heap never touches it either.
 * Public API: include/xmem/xmem_devmem.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/devmem.h"

#include "alloc/xm_common.h" /* failed calls report one line (xm_ctl_exit) */
#include "iommu/vfio_caps.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The sparse capability's areas into out; zero-sized areas are skipped. */
static int parse_sparse(const unsigned char *b, size_t size, size_t off,
                        struct xmem_vfio_bar *out)
{
    struct vfio_region_info_cap_sparse_mmap cap;
    if (size - off < sizeof(cap))
        return EPROTO;
    memcpy(&cap, b + off, sizeof(cap));
    size_t room = (size - off - sizeof(cap)) / sizeof(struct vfio_region_sparse_mmap_area);
    if (cap.nr_areas > room)
        return EPROTO;
    out->sparse = 1;
    out->n_areas = 0;
    for (uint32_t i = 0; i < cap.nr_areas; i++) {
        struct vfio_region_sparse_mmap_area a;
        memcpy(&a, b + off + sizeof(cap) + i * sizeof(a), sizeof(a));
        if (a.size == 0)
            continue;
        if (out->n_areas == XMEM_VFIO_BAR_MAX_AREAS)
            return EPROTO;
        out->areas[out->n_areas++] = (struct xmem_vfio_bar_area){a.offset, a.size};
    }
    return 0;
}

static int cmp_area(const void *a, const void *b)
{
    const struct xmem_vfio_bar_area *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Areas page-aligned, inside the BAR, disjoint (sorted by offset). */
static int check_areas(struct xmem_vfio_bar *out)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    qsort(out->areas, out->n_areas, sizeof(out->areas[0]), cmp_area);
    for (uint32_t i = 0; i < out->n_areas; i++) {
        const struct xmem_vfio_bar_area *a = &out->areas[i];
        if ((a->offset | a->size) & (pg - 1) || a->offset > out->size ||
            a->size > out->size - a->offset)
            return EPROTO;
        if (i > 0 && out->areas[i - 1].offset + out->areas[i - 1].size > a->offset)
            return EPROTO;
    }
    return 0;
}

int xm_vfio_bar_parse(const void *buf, size_t size, struct xmem_vfio_bar *out)
{
    struct vfio_region_info ri;
    if (!buf || !out || size < sizeof(ri)) {
        errno = EINVAL;
        return -1;
    }
    const unsigned char *b = buf;
    memcpy(&ri, b, sizeof(ri));
    memset(out, 0, sizeof(*out));
    out->size = ri.size;
    out->fd_offset = ri.offset;
    out->index = ri.index;
    out->flags = ri.flags;
    int e = 0;
    if (ri.size == 0)
        e = ENOENT;
    else if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
        e = ENOTSUP;
    struct xm_vfio_caps it;
    struct vfio_info_cap_header h;
    size_t off;
    int more = 0;
    xm_vfio_caps_init(&it, b, size, (ri.flags & VFIO_REGION_INFO_FLAG_CAPS) ? ri.cap_offset : 0,
                      sizeof(ri));
    while (!e && (more = xm_vfio_caps_next(&it, &h, &off)) > 0)
        if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
            e = parse_sparse(b, size, off, out);
    if (!e && more < 0)
        e = EPROTO;
    if (!e && !out->sparse) {
        out->n_areas = 1;
        out->areas[0] = (struct xmem_vfio_bar_area){0, ri.size};
    }
    if (!e && out->n_areas == 0)
        e = ENOTSUP; /* sparse, but nothing may be mapped */
    if (!e)
        e = check_areas(out);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xm_vfio_bar_map_areas(int fd, struct xmem_vfio_bar *out)
{
    void *base = mmap(NULL, out->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (base == MAP_FAILED)
        return -1;
    int prot = ((out->flags & VFIO_REGION_INFO_FLAG_READ) ? PROT_READ : 0) |
               ((out->flags & VFIO_REGION_INFO_FLAG_WRITE) ? PROT_WRITE : 0);
    for (uint32_t i = 0; i < out->n_areas; i++) {
        const struct xmem_vfio_bar_area *a = &out->areas[i];
        void *p = mmap((char *)base + a->offset, a->size, prot, MAP_SHARED | MAP_FIXED, fd,
                       (off_t)(out->fd_offset + a->offset));
        if (p == MAP_FAILED) {
            int e = errno;
            munmap(base, out->size);
            errno = e;
            return -1;
        }
    }
    out->base = base;
    return 0;
}

int xmem_vfio_bar_map(int device_fd, unsigned bar, struct xmem_vfio_bar *out)
{
    if (device_fd < 0 || bar > 5 || !out) {
        errno = EINVAL;
        return -1;
    }
    size_t argsz = sizeof(struct vfio_region_info);
    for (int tries = 0; tries < 8; tries++) {
        struct vfio_region_info *ri = calloc(1, argsz);
        if (!ri) {
            errno = ENOMEM;
            return -1;
        }
        ri->argsz = (uint32_t)argsz;
        ri->index = VFIO_PCI_BAR0_REGION_INDEX + bar;
        if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, ri) != 0) {
            int e = errno;
            free(ri);
            errno = e;
            return -1;
        }
        if (ri->argsz > argsz) { /* the capability chain needs more room */
            argsz = ri->argsz;
            free(ri);
            continue;
        }
        struct xmem_vfio_bar b;
        int rc = xm_vfio_bar_parse(ri, argsz, &b);
        free(ri);
        if (rc != 0 || xm_vfio_bar_map_areas(device_fd, &b) != 0)
            return -1;
        *out = b;
        return 0;
    }
    errno = EPROTO; /* the kernel kept asking for more */
    return -1;
}

int xmem_vfio_bar_unmap(struct xmem_vfio_bar *b)
{
    if (!b || !b->base) {
        errno = EINVAL;
        return -1;
    }
    munmap(b->base, b->size);
    b->base = NULL;
    return 0;
}

static int xm_heap_add_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b, size_t page_size)
{
    if (!heap || !b || !b->base) {
        xm_cause(!heap ? "heap is NULL" : !b ? "b is NULL" : "b is not mapped (base NULL)");
        errno = EINVAL;
        return -1;
    }
    for (uint32_t i = 0; i < b->n_areas; i++) {
        const struct xmem_vfio_bar_area *a = &b->areas[i];
        if (page_size == 0 || (a->size | a->offset) % page_size) {
            xm_cause("area %u [%#llx, +%#llx) is not a multiple of page_size %zu", i,
                     (unsigned long long)a->offset, (unsigned long long)a->size, page_size);
            errno = EINVAL;
            return -1;
        }
    }
    for (uint32_t i = 0; i < b->n_areas; i++) {
        const struct xmem_vfio_bar_area *a = &b->areas[i];
        if (xmem_heap_add_memory(heap, (char *)b->base + a->offset, a->size, NULL, 0,
                                 page_size) != 0) {
            int e = errno;
            while (i-- > 0) /* nothing was allocated from them yet */
                xmem_heap_remove_memory(heap, (char *)b->base + b->areas[i].offset,
                                        b->areas[i].size);
            errno = e;
            return -1;
        }
    }
    return 0;
}

static int xm_heap_remove_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b)
{
    if (!heap || !b) {
        xm_cause(!heap ? "heap is NULL" : "b is NULL");
        errno = EINVAL;
        return -1;
    }
    for (uint32_t i = b->n_areas; i-- > 0;) {
        const struct xmem_vfio_bar_area *a = &b->areas[i];
        if (xmem_heap_remove_memory(heap, (char *)b->base + a->offset, a->size) != 0)
            return -1;
    }
    return 0;
}

int xmem_heap_add_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b, size_t page_size)
{
    xm_ctl_enter();
    int r = xm_heap_add_bar(heap, b, page_size);
    xm_ctl_exit(r != 0, "xmem_heap_add_bar");
    return r;
}

int xmem_heap_remove_bar(struct xmem_heap *heap, const struct xmem_vfio_bar *b)
{
    xm_ctl_enter();
    int r = xm_heap_remove_bar(heap, b);
    xm_ctl_exit(r != 0, "xmem_heap_remove_bar");
    return r;
}
