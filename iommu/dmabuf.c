/* iommu/dmabuf.c - owns dma-buf regions: checking that an fd is a dma-buf,
 * mmapping the requested range, adding it to a heap as one chunk (which the
 * DMA layer maps for every subscriber through its VA), the table of such
 * chunks (the fd dup and mapping each holds) and their removal; and
 * probing vfio-pci's dma-buf export (VFIO_DEVICE_FEATURE_DMA_BUF, Linux
 * 6.19).  Like every heap, xmem never reads or writes the buffer.  Public
 * API: include/xmem/xmem_devmem.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/iommufd_uapi.h"
#include "xmem/xmem_devmem.h"

#include "alloc/xm_common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

struct xm_dmabuf {
    struct xmem_heap *heap; /* NULL: free slot */
    int fd;                 /* our dup of the caller's fd */
    void *va;
    size_t len;
};

static pthread_mutex_t xm_dmabuf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xm_dmabuf xm_dmabufs[XMEM_DMABUF_MAX]; /* guarded by the lock */

static int is_dmabuf(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0) {
        xm_cause("fd %d: fstatfs: %s", fd, strerror(errno));
        return -1; /* EBADF */
    }
    if (sf.f_type != DMA_BUF_MAGIC) {
        xm_cause("fd %d is not a dma-buf (file system magic %#lx)", fd, (unsigned long)sf.f_type);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static void *xm_heap_add_dmabuf(struct xmem_heap *heap, int fd, uint64_t offset, size_t len,
                           size_t page_size)
{
    if (!heap || len == 0 || page_size < XMEM_PAGE_SIZE_MIN || page_size > XMEM_PAGE_SIZE_MAX ||
        (page_size & (page_size - 1)) || offset % page_size || len % page_size) {
        xm_cause(!heap ? "heap is NULL" : len == 0 ? "len is 0"
                 : "page_size %zu is not a power of two in range, or offset %#llx or len %zu "
                   "not a multiple of it", page_size, (unsigned long long)offset, len);
        errno = EINVAL;
        return NULL;
    }
    if (is_dmabuf(fd) != 0)
        return NULL;
    /* The slot is taken under the lock and filled after the add; the lock
     * is not held across xmem_heap_add_memory (it takes the core's control
     * mutex and calls subscribers). */
    pthread_mutex_lock(&xm_dmabuf_lock);
    struct xm_dmabuf *d = NULL;
    for (int i = 0; i < XMEM_DMABUF_MAX && !d; i++)
        if (!xm_dmabufs[i].heap)
            d = &xm_dmabufs[i];
    if (d)
        d->heap = heap; /* reserved */
    pthread_mutex_unlock(&xm_dmabuf_lock);
    if (!d) {
        xm_cause("%d dma-buf regions exist already (XMEM_DMABUF_MAX)", XMEM_DMABUF_MAX);
        errno = ENOSPC;
        return NULL;
    }
    int e = 0, dup_fd = -1;
    void *va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    if (va == MAP_FAILED) {
        e = errno;
        if (e == EINVAL || e == ENODEV || e == EACCES || e == EPERM) {
            xm_cause("the exporter does not allow mmap (%s); a CPU-inaccessible dma-buf needs "
                     "IOMMU_IOAS_MAP_FILE (Linux 6.14), not used", strerror(e));
            e = ENOTSUP;
        }
        va = NULL;
    } else if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        e = errno;
    } else if (xmem_heap_add_memory(heap, va, len, NULL, 0, page_size) != 0) {
        e = errno;
    }
    pthread_mutex_lock(&xm_dmabuf_lock);
    if (e) {
        d->heap = NULL;
    } else {
        d->fd = dup_fd;
        d->va = va;
        d->len = len;
    }
    pthread_mutex_unlock(&xm_dmabuf_lock);
    if (e) {
        if (dup_fd >= 0)
            close(dup_fd);
        if (va)
            munmap(va, len);
        errno = e;
        return NULL;
    }
    return va;
}

static int xm_heap_remove_dmabuf(struct xmem_heap *heap, void *va)
{
    if (!heap || !va) {
        xm_cause(!heap ? "heap is NULL" : "va is NULL");
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&xm_dmabuf_lock);
    struct xm_dmabuf *d = NULL;
    for (int i = 0; i < XMEM_DMABUF_MAX && !d; i++)
        if (xm_dmabufs[i].heap == heap && xm_dmabufs[i].va == va)
            d = &xm_dmabufs[i];
    struct xm_dmabuf copy = d ? *d : (struct xm_dmabuf){0};
    pthread_mutex_unlock(&xm_dmabuf_lock);
    if (!d) {
        xm_cause("%p is not a dma-buf chunk of this heap", va);
        errno = EINVAL;
        return -1;
    }
    if (xmem_heap_remove_memory(heap, va, copy.len) != 0)
        return -1;
    munmap(va, copy.len);
    close(copy.fd);
    pthread_mutex_lock(&xm_dmabuf_lock);
    d->heap = NULL;
    d->va = NULL;
    pthread_mutex_unlock(&xm_dmabuf_lock);
    return 0;
}

void *xmem_heap_add_dmabuf(struct xmem_heap *heap, int fd, uint64_t offset, size_t len,
                           size_t page_size)
{
    xm_ctl_enter();
    void *r = xm_heap_add_dmabuf(heap, fd, offset, len, page_size);
    xm_ctl_exit(!r, "xmem_heap_add_dmabuf");
    return r;
}

int xmem_heap_remove_dmabuf(struct xmem_heap *heap, void *va)
{
    xm_ctl_enter();
    int r = xm_heap_remove_dmabuf(heap, va);
    xm_ctl_exit(r != 0, "xmem_heap_remove_dmabuf");
    return r;
}

int xmem_vfio_bar_dmabuf(int device_fd, unsigned bar, uint64_t offset, uint64_t len)
{
    if (device_fd < 0 || bar > 5 || len == 0) {
        errno = EINVAL;
        return -1;
    }
    /* A VFIO device at all?  (Its ENOTTY below then means "no such
     * feature", not "no such ioctl".) */
    struct vfio_device_info di = {.argsz = sizeof(di)};
    if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &di) != 0)
        return -1;
    struct {
        struct vfio_device_feature f;
        struct xm_vfio_device_feature_dma_buf d;
        struct xm_vfio_region_dma_range r;
    } q;
    memset(&q, 0, sizeof(q));
    q.f.argsz = sizeof(q.f);
    q.f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
                XM_VFIO_DEVICE_FEATURE_DMA_BUF;
    if (ioctl(device_fd, VFIO_DEVICE_FEATURE, &q.f) != 0) {
        if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) {
            static _Atomic int said; /* log once; relaxed: a log line only */
            if (!atomic_exchange_explicit(&said, 1, memory_order_relaxed))
                xm_log("xmem_vfio_bar_dmabuf: no vfio-pci dma-buf export in this kernel "
                       "(VFIO_DEVICE_FEATURE_DMA_BUF needs Linux 6.19): %s",
                       strerror(errno));
            errno = ENOTSUP;
        }
        return -1;
    }
    q.f.argsz = sizeof(q);
    q.f.flags = VFIO_DEVICE_FEATURE_GET | XM_VFIO_DEVICE_FEATURE_DMA_BUF;
    q.d.region_index = VFIO_PCI_BAR0_REGION_INDEX + bar;
    q.d.open_flags = O_RDWR | O_CLOEXEC;
    q.d.nr_ranges = 1;
    q.r.offset = offset;
    q.r.length = len;
    return ioctl(device_fd, VFIO_DEVICE_FEATURE, &q.f);
}
