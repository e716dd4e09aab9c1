/* iommu/bar_test.c - host test of VFIO BAR mapping with sparse-mmap areas,
 * no device needed.  vfio-pci has not reported sparse areas since Linux
 * 4.16 (it reports MSIX_MAPPABLE instead), and the guest has no device that
 * does, so the capability chain and the area mapping are checked here: a
 * crafted VFIO_DEVICE_GET_REGION_INFO buffer is parsed, and a memfd stands
 * in for the device fd.  Checked: base + offset addressing, holes PROT_NONE
 * (/proc/self/maps), no heap chunk over a hole, the heap never touching the
 * memory (the areas are PROT_NONE while the heap is built, allocated from
 * and freed), and every malformed chain refused with its errno. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/devmem.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu/test_check.h"

#define PG 4096ULL
#define BAR_SIZE (16 * PG)
#define FD_OFF (4 * PG) /* the region's offset in the "device fd" */

/* A region-info buffer: the info, then one sparse capability. */
struct crafted {
    struct vfio_region_info ri;
    struct vfio_region_info_cap_sparse_mmap cap;
    struct vfio_region_sparse_mmap_area areas[8];
};

static void craft(struct crafted *c, const struct vfio_region_sparse_mmap_area *a, unsigned n)
{
    memset(c, 0, sizeof(*c));
    c->ri.argsz = sizeof(*c);
    c->ri.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                  VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
    c->ri.index = VFIO_PCI_BAR2_REGION_INDEX;
    c->ri.cap_offset = offsetof(struct crafted, cap);
    c->ri.size = BAR_SIZE;
    c->ri.offset = FD_OFF;
    c->cap.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    c->cap.header.version = 1;
    c->cap.nr_areas = n;
    memcpy(c->areas, a, n * sizeof(*a));
}

/* The protection of the mapping that holds addr, from /proc/self/maps. */
static int prot_at(const void *addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[512];
    int found = -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo &&
            (uintptr_t)addr < hi) {
            memcpy(perms, p, 5);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

static void test_malformed(void)
{
    struct crafted c;
    struct xmem_vfio_bar b;
    const struct vfio_region_sparse_mmap_area ok[] = {{0, 2 * PG}};

    craft(&c, ok, 1);
    c.cap.header.next = c.ri.cap_offset; /* a loop onto itself */
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    craft(&c, ok, 1);
    c.ri.cap_offset = sizeof(c); /* outside the buffer */
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    craft(&c, ok, 1);
    c.cap.nr_areas = 1000; /* more areas than the buffer holds */
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    const struct vfio_region_sparse_mmap_area outside[] = {{12 * PG, 8 * PG}};
    craft(&c, outside, 1);
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    const struct vfio_region_sparse_mmap_area unaligned[] = {{100, PG}};
    craft(&c, unaligned, 1);
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    const struct vfio_region_sparse_mmap_area overlap[] = {{4 * PG, 4 * PG}, {2 * PG, 4 * PG}};
    craft(&c, overlap, 2);
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), EPROTO);
    const struct vfio_region_sparse_mmap_area empty[] = {{0, 0}, {4 * PG, 0}};
    craft(&c, empty, 2);
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), ENOTSUP);
    craft(&c, ok, 1);
    c.ri.flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), ENOTSUP);
    craft(&c, ok, 1);
    c.ri.size = 0;
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c), &b), ENOENT);
    CHECK_ERR(xm_vfio_bar_parse(&c, sizeof(c.ri) - 1, &b), EINVAL);
    /* No capability: one area, the whole BAR. */
    craft(&c, ok, 1);
    c.ri.flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
    CHECK(xm_vfio_bar_parse(&c, sizeof(c), &b) == 0 && !b.sparse && b.n_areas == 1 &&
          b.areas[0].offset == 0 && b.areas[0].size == BAR_SIZE);
    /* An unknown capability before the sparse one is skipped. */
    struct {
        struct vfio_region_info ri;
        struct vfio_info_cap_header other;
        uint64_t pad;
        struct vfio_region_info_cap_sparse_mmap cap;
        struct vfio_region_sparse_mmap_area a[1];
    } two;
    memset(&two, 0, sizeof(two));
    two.ri = c.ri;
    two.ri.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    two.ri.cap_offset = offsetof(__typeof__(two), other);
    two.other.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE;
    two.other.next = offsetof(__typeof__(two), cap);
    two.cap.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    two.cap.nr_areas = 1;
    two.a[0] = (struct vfio_region_sparse_mmap_area){8 * PG, 4 * PG};
    CHECK(xm_vfio_bar_parse(&two, sizeof(two), &b) == 0 && b.sparse && b.n_areas == 1 &&
          b.areas[0].offset == 8 * PG);
}

static void test_sparse_heap(void)
{
    /* Areas given out of order, one of size 0 (skipped): holes at [2, 6)
     * pages (an "MSI-X table"), [10, 14) and [15, 16). */
    const struct vfio_region_sparse_mmap_area a[] = {
        {6 * PG, 4 * PG}, {0, 2 * PG}, {12 * PG, 0}, {14 * PG, PG}};
    struct crafted c;
    craft(&c, a, 4);
    struct xmem_vfio_bar b;
    CHECK(xm_vfio_bar_parse(&c, sizeof(c), &b) == 0);
    CHECK(b.sparse == 1 && b.n_areas == 3 && b.areas[0].offset == 0 &&
          b.areas[1].offset == 6 * PG && b.areas[2].offset == 14 * PG && b.size == BAR_SIZE &&
          b.fd_offset == FD_OFF);

    /* The "device": a memfd whose page i (from the region's start) holds
     * byte 0xA0 + i. */
    int fd = memfd_create("fake-bar", MFD_CLOEXEC);
    CHECK(fd >= 0 && ftruncate(fd, FD_OFF + BAR_SIZE) == 0);
    unsigned char page[PG];
    for (unsigned i = 0; i < BAR_SIZE / PG; i++) {
        memset(page, 0xA0 + i, sizeof(page));
        CHECK(pwrite(fd, page, PG, FD_OFF + i * PG) == (ssize_t)PG);
    }
    CHECK(xm_vfio_bar_map_areas(fd, &b) == 0 && b.base);
    if (!b.base)
        return;
    unsigned char *base = b.base;
    /* base + offset addressing: each area's page i holds 0xA0 + i. */
    int addr_ok = 1;
    for (uint32_t k = 0; k < b.n_areas; k++)
        for (uint64_t off = b.areas[k].offset; off < b.areas[k].offset + b.areas[k].size;
             off += PG)
            addr_ok &= base[off] == 0xA0 + off / PG && base[off + PG - 1] == 0xA0 + off / PG;
    CHECK(addr_ok);
    char perms[5];
    const uint64_t holes[] = {2 * PG, 5 * PG, 10 * PG, 13 * PG, 15 * PG};
    int holes_none = 1;
    for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
        holes_none &= prot_at(base + holes[i], perms) == 0 && strncmp(perms, "---", 3) == 0;
    CHECK(holes_none);
    CHECK(prot_at(base + 6 * PG, perms) == 0 && strncmp(perms, "rw-s", 4) == 0);

    /* The heap never touches the memory: the areas are PROT_NONE while it
     * is built, allocated from and freed (any access would fault). */
    for (uint32_t k = 0; k < b.n_areas; k++)
        CHECK(mprotect(base + b.areas[k].offset, b.areas[k].size, PROT_NONE) == 0);
    struct xmem_heap *h = xmem_heap_create("bar-test");
    CHECK(h && xmem_heap_add_bar(h, &b, PG) == 0);
    void *blk[64];
    size_t n = 0, in_area = 0;
    while (n < 64 && (blk[n] = xmem_alloc(h, PG, 0)) != NULL) {
        uint64_t off = (uint64_t)((unsigned char *)blk[n] - base);
        for (uint32_t k = 0; k < b.n_areas; k++)
            in_area += off >= b.areas[k].offset &&
                       off + PG <= b.areas[k].offset + b.areas[k].size;
        n++;
    }
    CHECK(n > 0 && in_area == n);
    for (size_t i = 0; i < n; i++)
        xmem_free(blk[i]);
    CHECK(xmem_heap_remove_bar(h, &b) == 0);
    CHECK(xmem_heap_destroy(h) == 0);
    for (uint32_t k = 0; k < b.n_areas; k++)
        CHECK(mprotect(base + b.areas[k].offset, b.areas[k].size, PROT_READ | PROT_WRITE) == 0);
    int intact = 1;
    for (uint64_t i = 0; i < BAR_SIZE / PG; i++) {
        CHECK(pread(fd, page, PG, FD_OFF + i * PG) == (ssize_t)PG);
        for (size_t j = 0; j < PG; j++)
            intact &= page[j] == 0xA0 + i;
    }
    CHECK(intact);
    printf("sparse BAR of %llu KiB, 3 areas (holes [8, 24) [40, 56) [60, 64) KiB): base + offset "
           "%s, holes PROT_NONE %s, %zu blocks of 4 KiB allocated, all inside areas: %s, "
           "memory untouched by the heap: %s\n",
           BAR_SIZE / 1024, addr_ok ? "ok" : "WRONG", holes_none ? "yes" : "NO", n,
           in_area == n ? "yes" : "NO", intact ? "yes" : "NO");
    CHECK(xmem_vfio_bar_unmap(&b) == 0 && b.base == NULL);
    close(fd);
}

int main(void)
{
    printf("NOTE: sparse-mmap areas are tested on the host with a crafted "
           "VFIO_DEVICE_GET_REGION_INFO buffer and a memfd standing in for the device fd: "
           "vfio-pci has not reported sparse areas since Linux 4.16, and the guest has no "
           "device that does\n");
    test_malformed();
    test_sparse_heap();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
