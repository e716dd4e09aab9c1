/* tests/vfio_guest/dpdk_guest_test.c - libxmem_dpdk's DMA subscribers for
 * real, inside the QEMU guest (a static binary with DPDK's EAL, PCI bus and
 * all of libxmem; /init runs it after guest_test).  Owns the proof that
 * xmem_dpdk_vfio_subscribe maps and unmaps xmem memory through DPDK's VFIO
 * container (rte_vfio_container_dma_map/_unmap) so that a real device DMAs
 * through it, and what xmem_dpdk_dev_dma_subscribe does for a device DPDK
 * has no driver for:
 *   eal        EAL starts (--no-huge, PCI bus scanned, IOVA as VA)
 *   container  rte_vfio_container_create + rte_vfio_container_group_bind of
 *              edu's group + rte_vfio_setup_device (the group joins DPDK's
 *              container, type1 set, the device fd from DPDK)
 *   replay     xmem_dpdk_vfio_subscribe over a heap with memory: one map per
 *              IOVA run through DPDK, the kernel's DMA_AVAIL drops by as many
 *   add        memory added while subscribed is mapped the same way
 *   dma        edu copies RAM -> device -> RAM between xmem_alloc'd buffers of
 *              both heaps through xmem_virt2iova's IOVAs, no DMAR fault
 *   remove     xmem_heap_remove_memory unmaps through DPDK (DMA_AVAIL back);
 *              a DMA to the removed IOVA is refused: data does not arrive
 *   unsubscribe xmem_dma_unsubscribe unmaps the rest; DMA refused there too
 *   dev_dma    xmem_dpdk_dev_dma_subscribe on edu's rte_device: DPDK's PCI
 *              bus maps only for a device a DPDK driver probed, so it fails
 *              with EINVAL and leaves nothing subscribed
 * One line per check, "CHECK PASS|FAIL <name>: ...", then
 * "DPDK RESULT: PASS|FAIL".  run.sh counts them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>
#include <xmem/xmem_dpdk.h>

#include "guest_util.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_vfio.h>

#define HP_N 4  /* hugepages in heap A */
#define SM_N 16 /* 4 KiB pages in heap B */

/* The kernel's free DMA-mapping entries of a type1 container
 * (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL), read from DPDK's container fd: each
 * map xmem makes through DPDK takes one.  -1 if the kernel does not say. */
static long fd_dma_avail(int container_fd)
{
    union {
        struct vfio_iommu_type1_info info;
        unsigned char raw[4096];
    } u;
    memset(&u, 0, sizeof(u));
    u.info.argsz = sizeof(u);
    if (ioctl(container_fd, VFIO_IOMMU_GET_INFO, &u.info) != 0 ||
        !(u.info.flags & VFIO_IOMMU_INFO_CAPS))
        return -1;
    for (uint32_t off = u.info.cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= sizeof(u);) {
        const struct vfio_info_cap_header *h = (const void *)(u.raw + off);
        if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
            return ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
        off = h->next;
    }
    return -1;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static uint64_t map_calls(const struct xmem_dma_subscriber *s, uint64_t *unmaps)
{
    struct xmem_dma_stats st;
    memset(&st, 0, sizeof(st));
    xmem_dma_get_stats(s, &st);
    if (unmaps)
        *unmaps = st.unmap_calls;
    return st.map_calls;
}

/* A refused DMA: the device writes its buffer to iova (whose memory at dst
 * the caller zeroed); the bytes must not arrive and the kernel must log a
 * DMAR fault. */
static void check_refused(struct edu *ed, const char *name, unsigned char *dst, uint64_t iova)
{
    dmar_faults_since_last();
    memset(dst, 0, DMA_LEN);
    int done = edu_dma(ed, EDU_BUF, iova, DMA_LEN, 1);
    int faults = dmar_faults_since_last();
    check(done == 0 && all_zero(dst, DMA_LEN) && faults > 0, name,
          "edu DMA to the unmapped IOVA %#llx: completion %s, destination %s, %d DMAR fault "
          "line(s)",
          (unsigned long long)iova, done == 0 ? "shown" : "timed out",
          all_zero(dst, DMA_LEN) ? "untouched" : "WRITTEN", faults);
}

/* The edu's rte_device from DPDK's PCI bus scan, or NULL. */
static struct rte_device *edu_rte_device(const char *bdf)
{
    struct rte_dev_iterator it;
    struct rte_device *dev, *found = NULL;
    RTE_DEV_FOREACH(dev, "bus=pci", &it) {
        if (!found && strcmp(rte_dev_name(dev), bdf) == 0)
            found = dev;
    }
    return found;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("DPDK GUEST TEST: libxmem_dpdk DMA subscribers over DPDK's VFIO container\n");
    char bdf[64];
    int group = -1;
    if (find_pci(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf)) == 0 &&
        bind_vfio("1234 11e8", bdf, &group) != 0) {
        info("%s not bound to vfio-pci: %s", bdf, strerror(errno));
        group = -1;
    }
    check(group >= 0, "edu_vfio", "edu %s, iommu group %d", group >= 0 ? bdf : "?", group);
    if (group < 0)
        goto done;

    /* No hugepages for DPDK itself (xmem brings its own memory); the PCI bus
     * scans, so edu has an rte_device, but no driver probes it. */
    char *eal_argv[] = {"dpdk_guest_test", "--no-huge", "--no-shconf", "-l", "0", "-m", "64",
                        "--iova-mode=va", "--log-level=lib.eal:error", NULL};
    int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;
    int rc = rte_eal_init(eal_argc, eal_argv);
    check(rc >= 0, "eal", "rte_eal_init: %s", rc >= 0 ? "ok" : rte_strerror(rte_errno));
    if (rc < 0)
        goto done;

    /* container: DPDK's own VFIO container, edu's group bound to it, the
     * device set up by DPDK (which attaches the group and sets type1). */
    int cfd = rte_vfio_container_create();
    int gfd = cfd >= 0 ? rte_vfio_container_group_bind(cfd, group) : -1;
    int dfd = -1;
    struct vfio_device_info dinfo = {.argsz = sizeof(dinfo)};
    rc = gfd >= 0 ? rte_vfio_setup_device("/sys/bus/pci/devices", bdf, &dfd, &dinfo) : -1;
    long av0 = rc == 0 ? fd_dma_avail(cfd) : -1;
    check(cfd >= 0 && gfd >= 0 && rc == 0 && dfd >= 0 && av0 > 0, "container",
          "rte_vfio_container_create fd %d, group_bind(%d) fd %d, rte_vfio_setup_device(%s) "
          "rc %d device fd %d (%u regions), DMA_AVAIL %ld",
          cfd, group, gfd, bdf, rc, dfd, dinfo.num_regions, av0);
    if (rc != 0 || av0 <= 0)
        goto done;
    struct edu ed;
    if (edu_setup(dfd, &ed) != 0) {
        check(0, "edu_setup", "BAR0 and bus mastering through DPDK's device fd");
        goto done;
    }

    /* replay: heap A (hugepages) exists before the subscriber. */
    xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
    unsigned char *hp = mmap(NULL, HP_N * HP, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    unsigned char *sm = mmap(NULL, SM_N * PG, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (hp == MAP_FAILED || sm == MAP_FAILED) {
        check(0, "memory", "mmap %d hugepages and %d pages: %s", HP_N, SM_N, strerror(errno));
        goto done;
    }
    struct xmem_heap *ha = xmem_heap_create("dpdk-a"), *hb = xmem_heap_create("dpdk-b");
    rc = ha && hb ? xmem_heap_add_memory(ha, hp, HP_N * HP, NULL, 0, HP) : -1;
    if (rc != 0) {
        check(0, "memory", "heap A over %d hugepages: %s", HP_N, strerror(errno));
        goto done;
    }
    struct xmem_dma_subscriber *s = xmem_dpdk_vfio_subscribe("dpdk-vfio", cfd);
    int e = errno;
    long av1 = fd_dma_avail(cfd);
    check(s != NULL && map_calls(s, NULL) == 1 && av0 - av1 == 1, "replay",
          "xmem_dpdk_vfio_subscribe(container %d) over heap A (IOVA %#llx, 1 run): %s, "
          "%llu map call(s) through rte_vfio_container_dma_map, DMA_AVAIL %ld -> %ld",
          cfd, (unsigned long long)xmem_virt2iova(hp), s ? "ok" : strerror(e),
          s ? (unsigned long long)map_calls(s, NULL) : 0ULL, av0, av1);
    if (!s)
        goto done;

    /* add: heap B's memory arrives while subscribed. */
    rc = xmem_heap_add_memory(hb, sm, SM_N * PG, NULL, 0, PG);
    e = errno;
    long av2 = fd_dma_avail(cfd);
    check(rc == 0 && map_calls(s, NULL) == 2 && av1 - av2 == 1, "add",
          "xmem_heap_add_memory(heap B, %d x 4 KiB) while subscribed: %s, IOVA %#llx, "
          "map calls %llu, DMA_AVAIL %ld -> %ld",
          SM_N, rc == 0 ? "ok" : strerror(e), (unsigned long long)xmem_virt2iova(sm),
          (unsigned long long)map_calls(s, NULL), av1, av2);
    if (rc != 0)
        goto done;

    /* dma: A -> device -> A, and A -> device -> B. */
    unsigned char *src = xmem_alloc(ha, DMA_LEN, 64), *dst = xmem_alloc(ha, DMA_LEN + 64, 64);
    unsigned char *dstb = xmem_alloc(hb, DMA_LEN, 64);
    if (!src || !dst || !dstb) {
        check(0, "dma", "xmem_alloc: %s", strerror(errno));
        goto done;
    }
    fill(src, DMA_LEN, 1);
    memset(dst, 0, DMA_LEN + 64);
    memset(dstb, 0, DMA_LEN);
    dmar_faults_since_last();
    int c1 = edu_copy(&ed, xmem_virt2iova(src), xmem_virt2iova(dst), DMA_LEN);
    int c2 = edu_dma(&ed, EDU_BUF, xmem_virt2iova(dstb), DMA_LEN, 1);
    int faults = dmar_faults_since_last();
    int same = memcmp(src, dst, DMA_LEN) == 0 && all_zero(dst + DMA_LEN, 64) &&
               memcmp(src, dstb, DMA_LEN) == 0;
    check(c1 == 0 && c2 == 0 && same && faults == 0, "dma",
          "edu %d bytes RAM(%#llx) -> device -> RAM(%#llx, heap A) and -> RAM(%#llx, heap B): "
          "%s, %d DMAR fault line(s)",
          DMA_LEN, (unsigned long long)xmem_virt2iova(src),
          (unsigned long long)xmem_virt2iova(dst), (unsigned long long)xmem_virt2iova(dstb),
          same ? "bytes equal, tail untouched" : "bytes DIFFER", faults);

    /* remove: heap A's memory goes; its unmap goes through DPDK. */
    uint64_t dst_iova = xmem_virt2iova(dst), u0, u1;
    xmem_free(src);
    xmem_free(dst);
    map_calls(s, &u0);
    rc = xmem_heap_remove_memory(ha, hp, HP_N * HP);
    e = errno;
    map_calls(s, &u1);
    long av3 = fd_dma_avail(cfd);
    check(rc == 0 && u1 - u0 == 1 && av3 == av2 + 1 && xmem_virt2iova(dst) == XMEM_BAD_IOVA,
          "remove",
          "xmem_heap_remove_memory(heap A): %s, %llu unmap call(s) through "
          "rte_vfio_container_dma_unmap, DMA_AVAIL %ld -> %ld",
          rc == 0 ? "ok" : strerror(e), (unsigned long long)(u1 - u0), av2, av3);
    check_refused(&ed, "remove_dma_refused", dst, dst_iova);

    /* unsubscribe: heap B's mapping goes through DPDK too. */
    uint64_t dstb_iova = xmem_virt2iova(dstb);
    rc = xmem_dma_unsubscribe(s);
    e = errno;
    long av4 = fd_dma_avail(cfd);
    check(rc == 0 && av4 == av0 && xmem_dma_subscriber_lookup("dpdk-vfio") == NULL,
          "unsubscribe", "xmem_dma_unsubscribe: %s, DMA_AVAIL %ld (before the subscriber: %ld)",
          rc == 0 ? "ok" : strerror(e), av4, av0);
    check_refused(&ed, "unsubscribe_dma_refused", dstb, dstb_iova);

    /* dev_dma: rte_dev_dma_map needs memory DPDK knows (extmem) and a device
     * whose bus can map.  edu has an rte_device (the PCI scan) and no driver. */
    edu_release(&ed);
    /* Releasing the last device closes the group (DPDK forgets it), so
     * destroying the container needs no unbind. */
    rte_vfio_release_device("/sys/bus/pci/devices", bdf, dfd);
    rte_vfio_container_destroy(cfd);
    struct rte_device *dev = edu_rte_device(bdf);
    struct xmem_dma_subscriber *ext = xmem_dpdk_extmem_subscribe("dpdk-ext");
    e = errno;
    /* DPDK knows heap B's memory now: rte_dev_dma_map's own check passes,
     * so a refusal below is the bus's. */
    int known = rte_mem_virt2memseg_list(sm) != NULL;
    check(dev != NULL && ext != NULL && known, "dev_dma_setup",
          "edu's rte_device %s (driver %s); xmem_dpdk_extmem_subscribe: %s, heap B %s DPDK "
          "external memory",
          dev ? rte_dev_name(dev) : "not found",
          dev && rte_dev_driver(dev) ? "probed" : "none", ext ? "ok" : strerror(e),
          known ? "is" : "is NOT");
    if (dev && ext && known) {
        struct xmem_dma_subscriber *d = xmem_dpdk_dev_dma_subscribe("dpdk-dev", dev);
        e = errno;
        int er = rte_errno;
        check(d == NULL && e == EINVAL && er == EINVAL &&
                  xmem_dma_subscriber_lookup("dpdk-dev") == NULL,
              "dev_dma_no_driver",
              "xmem_dpdk_dev_dma_subscribe(edu): %s (errno %s, rte_errno %s), nothing left "
              "subscribed: DPDK's PCI bus maps only for a device a DPDK driver probed "
              "(rte_dev_dma_map needs pdev->driver); use xmem_dpdk_vfio_subscribe for such a "
              "device",
              d ? "subscribed" : "refused", strerror(e), strerror(er));
        if (d)
            xmem_dma_unsubscribe(d);
    }
    if (ext)
        xmem_dma_unsubscribe(ext);
    xmem_free(dstb);
    rc = xmem_heap_remove_memory(hb, sm, SM_N * PG);
    check(rc == 0 && xmem_heap_destroy(ha) == 0 && xmem_heap_destroy(hb) == 0, "cleanup",
          "heap B removed, both heaps destroyed");
    rte_eal_cleanup();

done:
    printf("DPDK RESULT: %s (%d check(s) failed)\n", n_fail ? "FAIL" : "PASS", n_fail);
    return n_fail ? 1 : 0;
}
