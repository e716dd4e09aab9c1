/* tests/vfio_guest/devmem_test.c - device memory in the QEMU guest (a
 * static binary started by /init after guest_test, linking all of
 * libxmem).  Owns the end-to-end check of BAR heaps and peer-to-peer DMA on
 * a real kernel, through the public API (xmem_devmem.h):
 *   p  an ivshmem-plain device (BAR2 is memory, backed by a QEMU
 *      memory-backend) bound to vfio-pci, BAR2 mapped with
 *      xmem_vfio_bar_map, a heap over it (xmem_heap_add_bar) mapped for DMA
 *      into the same container as the edu device; edu DMAs into a block
 *      allocated from that BAR heap through the IOMMU (P2P), and the bytes
 *      are checked through the BAR mapping and through vfio-pci's read path;
 *      the reverse direction; removal unmaps it and a DMA to the old IOVA is
 *      refused.  On iommufd (Linux 6.12) the IOAS cannot map a PFN-mapped
 *      VA: the add fails with the kernel's EFAULT and changes nothing, which
 *      is checked; the BAR heap is then built without a DMA mapping.
 *   p  xmem_vfio_bar_dmabuf on ivshmem's BAR2: ENOTSUP, detected at run time
 *      (vfio-pci dma-buf export needs Linux 6.19)
 *   u  a udmabuf (memfd -> /dev/udmabuf -> dma-buf fd) as a heap
 *      (xmem_heap_add_dmabuf).  Where the kernel maps its VA for DMA, edu
 *      DMAs into a block of it and the bytes are checked through the
 *      dma-buf mapping and the memfd.  Linux 6.12 does not (udmabuf's mmap
 *      is VM_PFNMAP over RAM: type1 refuses such pfns, iommufd any PFN map,
 *      and IOMMU_IOAS_MAP_FILE is 6.14): the EFAULT is checked, and the
 *      heap is built without a DMA mapping (CPU write, memfd check).  Then
 *      removal (xmem_heap_remove_dmabuf, what an exporter's revocation
 *      calls for): a REMOVE event reaches a subscriber, allocation stops
 *      (ENOMEM).
 * The backend is the default container's (XMEM_VFIO_BACKEND from /init's
 * environment).  Sparse-mmap areas are tested on the host (//iommu:bar_test):
 * vfio-pci reports none.  Lines: "STEP p PASS|FAIL: ...", then
 * "DEVMEM RESULT: PASS|FAIL". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <xmem/xmem.h>
#include <xmem/xmem_devmem.h>
#include <xmem/xmem_dma.h>
#include <xmem/xmem_vfio.h>

#include "guest_util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define IVSHMEM_IDS "1af4 1110"
#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

/* Device memory is read and written one volatile byte at a time: uncached
 * MMIO, no memcpy/memcmp (which may use wide or repeated accesses). */
static void mmio_write(volatile unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

static int mmio_equal(const volatile unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != s[i])
            return 0;
    return 1;
}

struct dev {
    char bdf[64];
    int group;
};

static int bind_dev(char id, const char *name, unsigned vendor, unsigned device,
                    const char *ids, struct xmem_vfio_container *c, struct dev *d)
{
    if (find_pci(vendor, device, d->bdf, sizeof(d->bdf)) != 0) {
        step(id, 0, "no %s device (%s) in /sys/bus/pci/devices", name, ids);
        return -1;
    }
    int bound = bind_vfio(ids, d->bdf, &d->group) == 0;
    int added = bound && (xmem_vfio_group_add(c, d->group) == 0 || errno == EEXIST);
    step(id, bound && added, "%s %s bound to vfio-pci, group %d added to the container: %s",
         name, d->bdf, d->group, added ? "ok" : strerror(errno));
    return bound && added ? 0 : -1;
}

/* p: a heap over ivshmem's BAR2, edu DMA into it and out of it. */
static void test_bar(struct xmem_vfio_container *c, struct xmem_dma_subscriber *s,
                     struct edu *ed, struct xmem_heap *ram, int iommufd)
{
    struct dev iv;
    if (bind_dev('p', "ivshmem-plain", IVSHMEM_VENDOR, IVSHMEM_DEVICE, IVSHMEM_IDS, c, &iv))
        return;
    int fd = xmem_vfio_device_open(c, iv.group, iv.bdf);
    if (fd < 0 || pci_enable(fd) != 0) {
        step('p', 0, "open ivshmem through VFIO: %s", strerror(errno));
        return;
    }
    struct xmem_vfio_bar bar;
    int rc = xmem_vfio_bar_map(fd, 2, &bar);
    step('p', rc == 0 && bar.n_areas == 1 && !bar.sparse && bar.areas[0].size == bar.size,
         "xmem_vfio_bar_map(BAR2): %s, %llu KiB at %p, flags %#x, %u area(s), sparse %s "
         "(vfio-pci reports no sparse areas; they are tested on the host, //iommu:bar_test)",
         rc == 0 ? "ok" : strerror(errno), (unsigned long long)(rc == 0 ? bar.size >> 10 : 0),
         rc == 0 ? bar.base : NULL, rc == 0 ? bar.flags : 0, rc == 0 ? bar.n_areas : 0,
         rc == 0 && bar.sparse ? "yes" : "no");
    if (rc != 0)
        goto close_fd;

    struct xmem_heap *hb = xmem_heap_create("ivshmem-bar2");
    struct xmem_vfio_stats v0, v1;
    struct xmem_dma_stats d0, d1;
    vstats(c, &v0);
    xmem_dma_get_stats(s, &d0);
    double t0 = now();
    rc = xmem_heap_add_bar(hb, &bar, PG);
    double t1 = now();
    int e = errno;
    vstats(c, &v1);
    xmem_dma_get_stats(s, &d1);
    if (iommufd) {
        /* iommufd pins with pin_user_pages, which refuses a PFN map. */
        step('p', rc == -1 && e == EFAULT && d1.entries == d0.entries &&
                      xmem_virt2iova(bar.base) == XMEM_BAD_IOVA,
             "xmem_heap_add_bar on iommufd: %s (Linux 6.12's IOMMU_IOAS_MAP cannot pin a "
             "PFN-mapped BAR; P2P through iommufd needs vfio-pci dma-buf export, Linux 6.19), "
             "registry %llu -> %llu entries, nothing added",
             rc == 0 ? "ok" : strerror(e), (unsigned long long)d0.entries,
             (unsigned long long)d1.entries);
        xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
        rc = xmem_heap_add_bar(hb, &bar, PG);
        xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
        void *b = rc == 0 ? xmem_alloc(hb, DMA_LEN, 0) : NULL;
        step('p', rc == 0 && b && (char *)b >= (char *)bar.base &&
                      (char *)b < (char *)bar.base + bar.size,
             "the same BAR heap without a DMA mapping (IOVA mode TABLE): add %s, xmem_alloc "
             "%p inside the BAR",
             rc == 0 ? "ok" : strerror(errno), b);
        xmem_free(b);
        if (rc == 0)
            xmem_heap_remove_bar(hb, &bar);
        goto unmap;
    }
    step('p', rc == 0 && v1.map_calls - v0.map_calls == 1 && d1.entries == d0.entries + 1,
         "xmem_heap_add_bar: %s in %.3f ms, %llu map call(s) of the BAR's PFN-mapped VA, "
         "registry %llu -> %llu entries, BAR IOVA [%#llx, +%#llx)",
         rc == 0 ? "ok" : strerror(e), (t1 - t0) * 1e3,
         (unsigned long long)(v1.map_calls - v0.map_calls), (unsigned long long)d0.entries,
         (unsigned long long)d1.entries, (unsigned long long)xmem_virt2iova(bar.base),
         (unsigned long long)bar.size);
    if (rc != 0)
        goto destroy;

    /* RAM -> edu -> BAR block, through the IOMMU. */
    unsigned char *src = xmem_alloc(ram, DMA_LEN, 0);
    volatile unsigned char *blk = xmem_alloc(hb, 8192, 0);
    unsigned char pat[DMA_LEN], back[DMA_LEN + 16];
    fill(pat, DMA_LEN, 7);
    if (!src || !blk) {
        step('p', 0, "xmem_alloc: %s", strerror(errno));
        goto destroy;
    }
    memcpy(src, pat, DMA_LEN);
    memset(back, 0, sizeof(back));
    mmio_write(blk, back, DMA_LEN + 16);
    uint64_t biova = xmem_virt2iova((void *)blk);
    dmar_faults_since_last();
    int drc = edu_copy(ed, xmem_virt2iova(src), biova, DMA_LEN);
    int same = mmio_equal(blk, pat, DMA_LEN) && mmio_equal(blk + DMA_LEN, back + DMA_LEN, 16);
    off_t roff = (off_t)(bar.fd_offset + ((uintptr_t)blk - (uintptr_t)bar.base));
    int pr = pread(fd, back, DMA_LEN, roff) == DMA_LEN && memcmp(back, pat, DMA_LEN) == 0;
    int faults = dmar_faults_since_last();
    step('p', drc == 0 && same && pr && faults == 0,
         "P2P: edu DMA %d bytes RAM (IOVA %#llx) -> edu -> block %p of the BAR heap (IOVA "
         "%#llx): completion %s, bytes through the BAR mapping %s (the 16 after untouched), "
         "through pread of the device fd %s, DMAR faults %d",
         DMA_LEN, (unsigned long long)xmem_virt2iova(src), (void *)blk,
         (unsigned long long)biova, drc == 0 ? "yes" : "TIMEOUT", same ? "equal" : "DIFFER",
         pr ? "equal" : "DIFFER", faults);
    /* BAR block -> edu -> RAM. */
    fill(pat, DMA_LEN, 9);
    mmio_write(blk, pat, DMA_LEN);
    memset(src, 0, DMA_LEN);
    drc = edu_copy(ed, biova, xmem_virt2iova(src), DMA_LEN);
    same = memcmp(src, pat, DMA_LEN) == 0;
    faults = dmar_faults_since_last();
    step('p', drc == 0 && same && faults == 0,
         "P2P: edu DMA %d bytes from the BAR block (IOVA %#llx) -> edu -> RAM: completion %s, "
         "bytes %s, DMAR faults %d",
         DMA_LEN, (unsigned long long)biova, drc == 0 ? "yes" : "TIMEOUT",
         same ? "equal" : "DIFFER", faults);
    xmem_free((void *)blk);

    /* Removal unmaps; a DMA to the old IOVA is refused. */
    vstats(c, &v0);
    t0 = now();
    rc = xmem_heap_remove_bar(hb, &bar);
    t1 = now();
    vstats(c, &v1);
    memset(back, 0x5a, sizeof(back));
    mmio_write(blk, back, DMA_LEN);
    drc = edu_dma(ed, EDU_BUF, biova, DMA_LEN, 1); /* edu still holds the pattern */
    usleep(200000);
    int untouched = mmio_equal(blk, back, DMA_LEN);
    faults = dmar_faults_since_last();
    step('p', rc == 0 && v1.unmap_calls - v0.unmap_calls == 1 &&
                  v1.unmap_failed == v0.unmap_failed && untouched && faults > 0,
         "xmem_heap_remove_bar: %s in %.3f ms, %llu unmap call(s); DMA to the old BAR IOVA: "
         "BAR %s, DMAR fault lines %d",
         rc == 0 ? "ok" : strerror(errno), (t1 - t0) * 1e3,
         (unsigned long long)(v1.unmap_calls - v0.unmap_calls),
         untouched ? "untouched" : "WRITTEN", faults);
    xmem_free(src);
destroy:
    xmem_heap_destroy(hb);
unmap:
    xmem_vfio_bar_unmap(&bar);
    errno = 0;
    int dfd = xmem_vfio_bar_dmabuf(fd, 2, 0, 1 << 20);
    step('p', dfd == -1 && errno == ENOTSUP,
         "xmem_vfio_bar_dmabuf(BAR2): %s (vfio-pci dma-buf export needs Linux 6.19; detected "
         "at run time)", dfd >= 0 ? "a dma-buf fd" : strerror(errno));
    if (dfd >= 0)
        close(dfd);
close_fd:
    xmem_vfio_device_close(c, fd);
}

/* A mem_event subscriber that counts the dma-buf region's events. */
struct ev_count {
    void *va;
    int add, remove;
};

static int on_event(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
    struct ev_count *c = ctx;
    if (r->va == c->va) {
        if (ev == XMEM_MEM_EVENT_ADD)
            c->add++;
        else
            c->remove++;
    }
    return 0;
}

/* u: a udmabuf as a heap. */
static void test_udmabuf(struct xmem_vfio_container *c, struct edu *ed, struct xmem_heap *ram,
                         int iommufd)
{
    const size_t len = 64 * PG;
    if (access("/dev/udmabuf", F_OK) != 0) {
        printf("STEP u SKIPPED: no /dev/udmabuf in this kernel (Debian's 6.1 has "
               "CONFIG_UDMABUF unset); the iommufd_guest stage's 6.12 kernel runs the udmabuf "
               "steps, on iommufd and on type1\n");
        return;
    }
    int mfd = memfd_create("xmem-udmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    int ok = mfd >= 0 && ftruncate(mfd, (off_t)len) == 0 &&
             fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0;
    int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    struct udmabuf_create cr = {.memfd = (uint32_t)mfd, .flags = UDMABUF_FLAGS_CLOEXEC,
                                .offset = 0, .size = len};
    int dfd = ok && dev >= 0 ? ioctl(dev, UDMABUF_CREATE, &cr) : -1;
    step('u', dfd >= 0, "udmabuf over a sealed memfd of %zu KiB: dma-buf fd %s", len >> 10,
         dfd >= 0 ? "ok" : strerror(errno));
    if (dfd < 0)
        goto out;
    struct ev_count evc = {0};
    struct xmem_heap *hu = xmem_heap_create("udmabuf");
    struct xmem_vfio_stats v0, v1;
    vstats(c, &v0);
    double t0 = now();
    void *va = xmem_heap_add_dmabuf(hu, dfd, 0, len, PG);
    double t1 = now();
    int e = errno;
    vstats(c, &v1);
    int mapped = va != NULL;
    if (!va) {
        /* Linux 6.12's udmabuf mmaps its RAM pages with VM_PFNMAP: type1
         * follows PFN maps only to non-RAM (MMIO) pfns, iommufd not at all,
         * and mapping by fd (IOMMU_IOAS_MAP_FILE) came with 6.14.  Checked:
         * the refusal is EFAULT and leaves nothing behind. */
        errno = 0;
        void *none = xmem_alloc(hu, 64, 0);
        step('u', e == EFAULT && !none && v1.map_calls - v0.map_calls == 1 &&
                      v1.map_failed == v0.map_failed + 1,
             "xmem_heap_add_dmabuf with a %s container: %s, after %llu refused map call "
             "(6.12's udmabuf mmap is VM_PFNMAP over RAM pages: %s; a dma-buf mapped by fd "
             "needs IOMMU_IOAS_MAP_FILE, Linux 6.14), nothing added, xmem_alloc %s",
             iommufd ? "iommufd" : "type1", strerror(e),
             (unsigned long long)(v1.map_calls - v0.map_calls),
             iommufd ? "iommufd pins with pin_user_pages" : "type1 maps PFN maps of MMIO only",
             none ? "SUCCEEDS" : "fails");
        xmem_free(none);
        /* The same dma-buf as a heap without a DMA mapping. */
        xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
        va = xmem_heap_add_dmabuf(hu, dfd, 0, len, PG);
        xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
        step('u', va != NULL, "the same udmabuf as a heap without a DMA mapping (IOVA mode "
             "TABLE): %s", va ? "ok" : strerror(errno));
    } else {
        step('u', v1.map_calls - v0.map_calls == 1,
             "xmem_heap_add_dmabuf: ok in %.3f ms at %p, %llu map call(s), IOVA %#llx",
             (t1 - t0) * 1e3, va, (unsigned long long)(v1.map_calls - v0.map_calls),
             (unsigned long long)xmem_virt2iova(va));
    }
    if (!va) {
        xmem_heap_destroy(hu);
        goto out;
    }
    evc.va = va;
    struct xmem_dma_subscriber *es = xmem_mem_event_register("udmabuf-events", on_event, &evc);
    unsigned char *src = xmem_alloc(ram, DMA_LEN, 0);
    unsigned char *blk = xmem_alloc(hu, 8192, 0);
    unsigned char pat[DMA_LEN], back[DMA_LEN];
    if (!src || !blk) {
        step('u', 0, "xmem_alloc: %s", strerror(errno));
        goto remove;
    }
    fill(pat, DMA_LEN, 11);
    off_t boff = (off_t)((char *)blk - (char *)va);
    if (mapped) {
        memcpy(src, pat, DMA_LEN);
        memset(blk, 0, DMA_LEN);
        dmar_faults_since_last();
        int drc = edu_copy(ed, xmem_virt2iova(src), xmem_virt2iova(blk), DMA_LEN);
        int same = memcmp(blk, pat, DMA_LEN) == 0;
        int viamem = pread(mfd, back, DMA_LEN, boff) == DMA_LEN &&
                     memcmp(back, pat, DMA_LEN) == 0;
        int faults = dmar_faults_since_last();
        step('u', drc == 0 && same && viamem && faults == 0,
             "edu DMA %d bytes RAM -> edu -> block %p of the udmabuf heap (IOVA %#llx): "
             "completion %s, bytes through the dma-buf mapping %s, through the memfd %s, DMAR "
             "faults %d",
             DMA_LEN, (void *)blk, (unsigned long long)xmem_virt2iova(blk),
             drc == 0 ? "yes" : "TIMEOUT", same ? "equal" : "DIFFER",
             viamem ? "equal" : "DIFFER", faults);
    } else {
        /* No DMA here: the CPU writes a block, the memfd shows it. */
        memcpy(blk, pat, DMA_LEN);
        int viamem = pread(mfd, back, DMA_LEN, boff) == DMA_LEN &&
                     memcmp(back, pat, DMA_LEN) == 0;
        step('u', viamem,
             "block %p of the udmabuf heap (offset %lld) written by the CPU: the memfd shows "
             "the bytes %s (no DMA into it: the kernel refused the mapping above)",
             (void *)blk, (long long)boff, viamem ? "equal" : "DIFFER");
    }
    xmem_free(blk);
    xmem_free(src);
remove:
    vstats(c, &v0);
    int rrc = xmem_heap_remove_dmabuf(hu, va);
    vstats(c, &v1);
    errno = 0;
    void *after = xmem_alloc(hu, 64, 0);
    int ae = errno;
    step('u', rrc == 0 && v1.unmap_calls - v0.unmap_calls == (uint64_t)mapped && evc.add == 1 &&
                  evc.remove == 1 && !after && ae == ENOMEM,
         "xmem_heap_remove_dmabuf (the exporter revoked it): %s, %llu unmap call(s); the "
         "subscriber saw ADD %d (replay), REMOVE %d; xmem_alloc from the heap now %s",
         rrc == 0 ? "ok" : strerror(errno), (unsigned long long)(v1.unmap_calls - v0.unmap_calls),
         evc.add, evc.remove, after ? "SUCCEEDS" : strerror(ae));
    xmem_free(after);
    if (es)
        xmem_dma_unsubscribe(es);
    xmem_heap_destroy(hu);
out:
    if (dfd >= 0)
        close(dfd);
    if (dev >= 0)
        close(dev);
    if (mfd >= 0)
        close(mfd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *be = getenv("XMEM_VFIO_BACKEND");
    printf("DEVMEM TEST: BAR heaps and P2P DMA, backend %s\n", be ? be : "auto");
    struct xmem_vfio_container *c = xmem_vfio_default_container();
    if (!c) {
        step('p', 0, "default container: %s", strerror(errno));
        goto done;
    }
    int iommufd = xmem_vfio_container_backend(c) == XMEM_VFIO_BACKEND_IOMMUFD;
    struct dev edu;
    struct edu ed;
    if (bind_dev('p', "edu", EDU_VENDOR, EDU_DEVICE, "1234 11e8", c, &edu) != 0 ||
        edu_open(c, edu.group, edu.bdf, &ed) != 0)
        goto done;
    xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
    struct xmem_dma_subscriber *s = xmem_vfio_attach(NULL);
    /* RAM for the other end of each DMA: 64 pages of 4 KiB. */
    size_t rl = 64 * PG;
    void *rm = mmap(NULL, rl, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                    -1, 0);
    struct xmem_heap *ram = xmem_heap_create("devmem-ram");
    int rc = s && rm != MAP_FAILED && ram ? xmem_heap_add_memory(ram, rm, rl, NULL, 0, PG) : -1;
    step('p', rc == 0, "%s container attached, a RAM heap of 256 KiB mapped: %s",
         iommufd ? "iommufd" : "type1", rc == 0 ? "ok" : strerror(errno));
    if (rc != 0)
        goto done;
    test_bar(c, s, &ed, ram, iommufd);
    test_udmabuf(c, &ed, ram, iommufd);
    edu_close(c, &ed);
    xmem_heap_remove_memory(ram, rm, rl);
    xmem_heap_destroy(ram);
    xmem_vfio_container_close(c);
done:
    printf("DEVMEM RESULT: %s (%d failed checks)\n", n_fail ? "FAIL" : "PASS", n_fail);
    return n_fail ? 1 : 0;
}
