/* iommu/runs_test.c - host unit test of the IOMMU layer's pure parts, no VFIO
 * needed: xm_iova_runs, the IOVA assigner, xm_vfio_parse_info on synthetic
 * capability chains, xm_iova_pa_table, and the argument checks of the public
 * xmem_vfio_* functions.
 * Build: gcc -std=c11 -Wall -Wextra -O2 -Iinclude -I. iommu/runs_test.c \
 *            iommu/runs.c iommu/iova_alloc.c iommu/iova_pa.c iommu/vfio.c \
 *            -lpthread -o runs_test && ./runs_test */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/iova.h"
#include "iommu/vfio.h"
#include "xmem/xmem_vfio.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu/test_check.h"

#define PG 4096ULL
#define NONE XM_IOVA_NONE

/* ---------------------------------------------------------------- runs */

static void test_runs(void)
{
    struct xm_iova_run r[16];
    size_t n;
    uintptr_t va = 0x10000000;

    /* Fully contiguous: one run. */
    uint64_t lin[8];
    CHECK(xm_iova_fill_linear(lin, 8, PG, 0x100000) == 0);
    CHECK(xm_iova_runs(va, lin, 8, PG, r, 16, &n) == 0);
    CHECK(n == 1 && r[0].first_page == 0 && r[0].n_pages == 8 && r[0].va == va &&
          r[0].iova == 0x100000 && r[0].len == 8 * PG);

    /* A jump, a hole, a backwards step, a repeated IOVA. */
    uint64_t t[10] = {0x1000, 0x2000, 0x9000, 0xa000, NONE, 0xb000, 0x5000, 0x5000, 0x6000, NONE};
    CHECK(xm_iova_runs(va, t, 10, PG, r, 16, &n) == 0);
    CHECK(n == 5);
    CHECK(r[0].first_page == 0 && r[0].n_pages == 2 && r[0].iova == 0x1000);
    CHECK(r[1].first_page == 2 && r[1].n_pages == 2 && r[1].iova == 0x9000 &&
          r[1].va == va + 2 * PG);
    CHECK(r[2].first_page == 5 && r[2].n_pages == 1 && r[2].iova == 0xb000); /* hole breaks */
    CHECK(r[3].first_page == 6 && r[3].n_pages == 1 && r[3].iova == 0x5000);
    CHECK(r[4].first_page == 7 && r[4].n_pages == 2 && r[4].iova == 0x5000 && r[4].len == 2 * PG);

    /* Count only, and too small an array. */
    n = 0;
    CHECK(xm_iova_runs(va, t, 10, PG, NULL, 0, &n) == 0 && n == 5);
    CHECK_ERR(xm_iova_runs(va, t, 10, PG, r, 3, &n), ENOSPC);
    CHECK(n == 5);

    /* All pages without IOVA: zero runs. */
    uint64_t none[3] = {NONE, NONE, NONE};
    CHECK(xm_iova_runs(va, none, 3, PG, r, 16, &n) == 0 && n == 0);

    /* Every page scattered: one run per page (the DPDK-like worst case). */
    uint64_t sc[6] = {0x60000, 0x50000, 0x40000, 0x30000, 0x20000, 0x10000};
    CHECK(xm_iova_runs(va, sc, 6, PG, r, 16, &n) == 0 && n == 6);

    /* 2 MiB pages. */
    uint64_t hp[4] = {0x40000000, 0x40200000, 0x80000000, 0x80200000};
    CHECK(xm_iova_runs(0x7f0000000000, hp, 4, 2ULL << 20, r, 16, &n) == 0 && n == 2);
    CHECK(r[1].va == 0x7f0000000000 + (4ULL << 20) && r[1].len == 4ULL << 20);

    /* Argument checks. */
    CHECK_ERR(xm_iova_runs(va, NULL, 1, PG, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(va, lin, 1, PG, r, 16, NULL), EINVAL);
    CHECK_ERR(xm_iova_runs(va, lin, 0, PG, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(va, lin, 1, 2048, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(va, lin, 1, 3 * PG, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(va + 8, lin, 1, PG, r, 16, &n), EINVAL);
    uint64_t bad[2] = {0x1000, 0x2008};
    CHECK_ERR(xm_iova_runs(va, bad, 2, PG, r, 16, &n), EINVAL);
    uint64_t top[1] = {UINT64_MAX - PG + 1}; /* its end wraps */
    CHECK_ERR(xm_iova_runs(va, top, 1, PG, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(UINTPTR_MAX - PG + 1, lin, 1, PG, r, 16, &n), EINVAL);
    CHECK_ERR(xm_iova_runs(UINTPTR_MAX - 4 * PG + 1, lin, 8, PG, r, 16, &n), EINVAL);

    /* A large region of 4 KiB pages with linear IOVAs: one run (1 GiB). */
    size_t big = (1u << 30) / PG;
    uint64_t *tb = malloc(big * sizeof(*tb));
    CHECK(tb && xm_iova_fill_linear(tb, big, PG, 1ULL << 32) == 0);
    CHECK(xm_iova_runs(0x7f0000000000, tb, big, PG, NULL, 0, &n) == 0 && n == 1);
    /* ...and with every other page swapped: one run per page. */
    for (size_t i = 0; i + 1 < big; i += 2) {
        uint64_t x = tb[i];
        tb[i] = tb[i + 1];
        tb[i + 1] = x;
    }
    CHECK(xm_iova_runs(0x7f0000000000, tb, big, PG, NULL, 0, &n) == 0 && n == big);
    free(tb);

    CHECK_ERR(xm_iova_fill_linear(NULL, 1, PG, 0), EINVAL);
    CHECK_ERR(xm_iova_fill_linear(lin, 0, PG, 0), EINVAL);
    CHECK_ERR(xm_iova_fill_linear(lin, 2, PG, UINT64_MAX - PG + 1), EINVAL);
}

/* ---------------------------------------------------------------- assigner */

static void test_assigner(void)
{
    struct xm_iova_space s = {0};
    /* What QEMU's intel-iommu (aw-bits 39) reports: the MSI window cut out. */
    struct xm_iova_range rr[2] = {{0xfef00000, 0x7fffffffff}, {0, 0xfedfffff}};
    CHECK(xm_iova_space_init(&s, rr, 2) == 0);
    CHECK(s.ranges[0].start == 0); /* sorted */

    uint64_t a, b, c, d;
    /* First fit, never IOVA 0, aligned. */
    CHECK(xm_iova_assign(&s, 1 << 20, PG, &a) == 0 && a == PG);
    CHECK(xm_iova_assign(&s, 1 << 20, 2 << 20, &b) == 0 && b == 2 << 20);
    CHECK(xm_iova_assign(&s, PG, PG, &c) == 0 && c == PG + (1 << 20)); /* fills the gap */
    /* Give back a, and the same size comes back at the same place. */
    CHECK(xm_iova_release(&s, a, 1 << 20) == 0);
    CHECK(xm_iova_assign(&s, 1 << 20, PG, &d) == 0 && d == a);
    /* Does not fit below the MSI hole: goes above it. */
    uint64_t big;
    CHECK(xm_iova_assign(&s, 0x100000000ULL, 2 << 20, &big) == 0 && big == 0xff000000ULL);
    CHECK(big >= 0xfef00000);
    /* An extent that ends exactly at the hole fits below it. */
    uint64_t low;
    CHECK(xm_iova_assign(&s, 0xfee00000 - (4 << 20), 2 << 20, &low) == 0 && low == 4 << 20);
    CHECK(low + 0xfee00000 - (4 << 20) - 1 == 0xfedfffff);
    /* Nothing assigned overlaps anything else. */
    for (size_t i = 0; i + 1 < s.n_used; i++)
        CHECK(s.used[i].iova + s.used[i].len <= s.used[i + 1].iova);

    /* Reserve (a caller's table) is avoided, and overlaps are refused. */
    CHECK(xm_iova_reserve(&s, 0x200000000ULL, 1 << 20) == 0);
    CHECK_ERR(xm_iova_reserve(&s, 0x200000000ULL + PG, PG), EEXIST);
    CHECK_ERR(xm_iova_reserve(&s, 0x200000000ULL - PG, 2 * PG), EEXIST);
    CHECK(xm_iova_reserve(&s, 0x200000000ULL - PG, PG) == 0); /* touching is fine */
    uint64_t e;
    CHECK(xm_iova_assign(&s, 0x100000000ULL, PG, &e) == 0 && e == 0x200000000ULL + (1 << 20));
    /* Release must name exactly one extent. */
    CHECK_ERR(xm_iova_release(&s, 0x200000000ULL, PG), ENOENT);
    CHECK_ERR(xm_iova_release(&s, 0x300000000ULL, PG), ENOENT);
    CHECK(xm_iova_release(&s, 0x200000000ULL, 1 << 20) == 0);
    /* Too big for any range. */
    CHECK_ERR(xm_iova_assign(&s, 0x8000000000ULL, PG, &e), ENOSPC);
    /* Argument checks. */
    CHECK_ERR(xm_iova_assign(&s, 0, PG, &e), EINVAL);
    CHECK_ERR(xm_iova_assign(&s, PG, 3 * PG, &e), EINVAL);
    CHECK_ERR(xm_iova_assign(&s, PG, 0, &e), EINVAL);
    CHECK_ERR(xm_iova_assign(NULL, PG, PG, &e), EINVAL);
    CHECK_ERR(xm_iova_assign(&s, PG, PG, NULL), EINVAL);
    CHECK_ERR(xm_iova_reserve(&s, UINT64_MAX - PG + 2, PG), EINVAL);
    CHECK_ERR(xm_iova_reserve(&s, 0, 0), EINVAL);
    CHECK_ERR(xm_iova_release(&s, 0, 0), EINVAL);
    xm_iova_space_fini(&s);
    xm_iova_space_fini(NULL);

    struct xm_iova_range ov[2] = {{0, 0x1fff}, {0x1000, 0x3fff}};
    CHECK_ERR(xm_iova_space_init(&s, ov, 2), EINVAL);
    struct xm_iova_range inv[1] = {{0x2000, 0x1000}};
    CHECK_ERR(xm_iova_space_init(&s, inv, 1), EINVAL);
    CHECK_ERR(xm_iova_space_init(&s, NULL, 1), EINVAL);
    CHECK_ERR(xm_iova_space_init(&s, rr, 0), EINVAL);

    /* Filling up: many equal extents, exhaust, then reuse after release. */
    struct xm_iova_range small[1] = {{0, 64 * PG - 1}};
    CHECK(xm_iova_space_init(&s, small, 1) == 0);
    uint64_t got[63];
    int ok = 1;
    for (int i = 0; i < 63; i++)
        ok &= xm_iova_assign(&s, PG, PG, &got[i]) == 0 && got[i] == (uint64_t)(i + 1) * PG;
    CHECK(ok);
    CHECK_ERR(xm_iova_assign(&s, PG, PG, &e), ENOSPC);
    CHECK(xm_iova_release(&s, got[10], PG) == 0 && xm_iova_release(&s, got[11], PG) == 0);
    CHECK(xm_iova_assign(&s, 2 * PG, PG, &e) == 0 && e == got[10]);
    xm_iova_space_fini(&s);

    /* A range at the very top of the 64-bit space. */
    struct xm_iova_range topr[1] = {{UINT64_MAX - 16 * PG + 1, UINT64_MAX}};
    CHECK(xm_iova_space_init(&s, topr, 1) == 0);
    CHECK(xm_iova_assign(&s, 16 * PG, PG, &e) == 0 && e == UINT64_MAX - 16 * PG + 1);
    CHECK_ERR(xm_iova_assign(&s, PG, PG, &e), ENOSPC);
    xm_iova_space_fini(&s);
}

/* ---------------------------------------------------------------- capability chain */

/* A synthetic GET_INFO buffer: header, IOVA_RANGE (3 ranges), DMA_AVAIL, and a
 * capability of an unknown id, laid out as the kernel does. */
#define OFF_IOVA  sizeof(struct vfio_iommu_type1_info)
#define OFF_R     (OFF_IOVA + sizeof(struct vfio_iommu_type1_info_cap_iova_range))
#define OFF_AVAIL (OFF_R + 3 * sizeof(struct vfio_iova_range))
#define OFF_UNK   (OFF_AVAIL + sizeof(struct vfio_iommu_type1_info_dma_avail))
#define FAKE_SIZE (OFF_UNK + sizeof(struct vfio_info_cap_header))

struct fake_info {
    _Alignas(8) unsigned char b[FAKE_SIZE];
};

#define F_INFO(f)  ((struct vfio_iommu_type1_info *)(void *)(f)->b)
#define F_IOVA(f)  ((struct vfio_iommu_type1_info_cap_iova_range *)(void *)((f)->b + OFF_IOVA))
#define F_R(f)     ((struct vfio_iova_range *)(void *)((f)->b + OFF_R))
#define F_AVAIL(f) ((struct vfio_iommu_type1_info_dma_avail *)(void *)((f)->b + OFF_AVAIL))
#define F_UNK(f)   ((struct vfio_info_cap_header *)(void *)((f)->b + OFF_UNK))

static void build_fake(struct fake_info *f)
{
    memset(f, 0, sizeof(*f));
    F_INFO(f)->argsz = sizeof(*f);
    F_INFO(f)->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
    F_INFO(f)->iova_pgsizes = 0x40201000;
    F_INFO(f)->cap_offset = OFF_IOVA;
    F_IOVA(f)->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
    F_IOVA(f)->header.version = 1;
    F_IOVA(f)->header.next = OFF_AVAIL;
    F_IOVA(f)->nr_iovas = 3;
    F_R(f)[0] = (struct vfio_iova_range){0, 0xfedfffff};
    F_R(f)[1] = (struct vfio_iova_range){0xfef00000, 0x7fffffffff};
    F_R(f)[2] = (struct vfio_iova_range){0x10000000000, 0x1ffffffffff};
    F_AVAIL(f)->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
    F_AVAIL(f)->header.version = 1;
    F_AVAIL(f)->header.next = OFF_UNK;
    F_AVAIL(f)->avail = 65535;
    F_UNK(f)->id = 77;
    F_UNK(f)->next = 0;
}

static void test_parse(void)
{
    struct fake_info f;
    struct xmem_vfio_info out;
    build_fake(&f);
    CHECK(xm_vfio_parse_info(&f, sizeof(f), &out) == 0);
    CHECK(out.iova_pgsizes == 0x40201000);
    CHECK(out.n_ranges == 3 && out.ranges_total == 3);
    CHECK(out.ranges[1].start == 0xfef00000 && out.ranges[1].end == 0x7fffffffff);
    CHECK(out.has_dma_avail == 1 && out.dma_avail == 65535);

    /* No caps flag: only the page sizes. */
    build_fake(&f);
    F_INFO(&f)->flags = VFIO_IOMMU_INFO_PGSIZES;
    CHECK(xm_vfio_parse_info(&f, sizeof(f), &out) == 0 && out.n_ranges == 0 &&
          !out.has_dma_avail);

    /* Truncated buffer: the kernel had asked for more (argsz grew) but we
     * parse what we have: the range list runs past the end. */
    build_fake(&f);
    CHECK_ERR(xm_vfio_parse_info(&f, OFF_R + 8, &out), EPROTO);
    /* Offset beyond the buffer. */
    build_fake(&f);
    F_INFO(&f)->cap_offset = sizeof(f) + 8;
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), &out), EPROTO);
    /* Offset inside the header. */
    build_fake(&f);
    F_INFO(&f)->cap_offset = 4;
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), &out), EPROTO);
    /* A loop. */
    build_fake(&f);
    F_AVAIL(&f)->header.next = OFF_IOVA;
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), &out), EPROTO);
    /* A self loop. */
    build_fake(&f);
    F_UNK(&f)->next = OFF_UNK;
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), &out), EPROTO);
    /* A huge nr_iovas. */
    build_fake(&f);
    F_IOVA(&f)->nr_iovas = 0xffffffffu;
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), &out), EPROTO);
    /* More ranges than XMEM_VFIO_MAX_RANGES: kept up to the limit. */
    size_t nr = XMEM_VFIO_MAX_RANGES + 5;
    size_t sz = sizeof(struct vfio_iommu_type1_info) +
                sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
                nr * sizeof(struct vfio_iova_range);
    unsigned char *buf = calloc(1, sz);
    struct vfio_iommu_type1_info *hi = (void *)buf;
    hi->argsz = (uint32_t)sz;
    hi->flags = VFIO_IOMMU_INFO_CAPS;
    hi->cap_offset = sizeof(*hi);
    struct vfio_iommu_type1_info_cap_iova_range *cr = (void *)(buf + sizeof(*hi));
    cr->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
    cr->nr_iovas = (uint32_t)nr;
    for (size_t i = 0; i < nr; i++)
        cr->iova_ranges[i] = (struct vfio_iova_range){i << 32, (i << 32) + 0xfff};
    CHECK(xm_vfio_parse_info(buf, sz, &out) == 0);
    CHECK(out.n_ranges == XMEM_VFIO_MAX_RANGES && out.ranges_total == nr);
    CHECK(out.ranges[XMEM_VFIO_MAX_RANGES - 1].start == (uint64_t)(XMEM_VFIO_MAX_RANGES - 1) << 32);
    CHECK(out.iova_pgsizes == 0);
    free(buf);
    /* Argument checks. */
    CHECK_ERR(xm_vfio_parse_info(NULL, sizeof(f), &out), EINVAL);
    CHECK_ERR(xm_vfio_parse_info(&f, sizeof(f), NULL), EINVAL);
    CHECK_ERR(xm_vfio_parse_info(&f, 8, &out), EINVAL);
}

/* ---------------------------------------------------------------- pagemap */

static void test_pagemap(void)
{
    size_t n = 4;
    unsigned char *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    CHECK(p != MAP_FAILED);
    uint64_t t[4];
    /* Not touched yet: not present. */
    CHECK_ERR(xm_iova_pa_table(p, n, PG, t), geteuid() == 0 ? EFAULT : EFAULT);
    CHECK(t[0] == NONE);
    memset(p, 1, n * PG);
    errno = 0;
    int rc = xm_iova_pa_table(p, n, PG, t);
    if (geteuid() == 0 && rc == 0) {
        int ok = 1;
        for (size_t i = 0; i < n; i++)
            ok &= t[i] != NONE && t[i] != 0 && (t[i] & (PG - 1)) == 0;
        CHECK(ok);
    } else {
        CHECK(rc == -1 && errno == EPERM); /* PFNs hidden from non-root */
    }
    CHECK_ERR(xm_iova_pa_table(NULL, n, PG, t), EINVAL);
    CHECK_ERR(xm_iova_pa_table(p, 0, PG, t), EINVAL);
    CHECK_ERR(xm_iova_pa_table(p, n, PG, NULL), EINVAL);
    CHECK_ERR(xm_iova_pa_table(p + 8, 1, PG, t), EINVAL);
    CHECK_ERR(xm_iova_pa_table(p, 1, 1000, t), EINVAL);
    munmap(p, n * PG);
}

/* ---------------------------------------------------------------- public arg checks */

static void test_vfio_args(void)
{
    struct xmem_vfio_info info;
    struct xmem_vfio_stats st;
    struct xmem_vfio_region reg;
    uint64_t t[1] = {0x1000}, got = 7;
    char buf[4096];
    CHECK_ERR(xmem_vfio_container_fd(NULL), EINVAL);
    CHECK(xmem_vfio_container_close(NULL) == 0);
    CHECK_ERR(xmem_vfio_group_add(NULL, 1), EINVAL);
    CHECK_ERR(xmem_vfio_group_remove(NULL, 1), EINVAL);
    CHECK_ERR(xmem_vfio_get_info(NULL, &info), EINVAL);
    CHECK_ERR(xmem_vfio_dma_map(NULL, buf, 0, 4096), EINVAL);
    CHECK_ERR(xmem_vfio_dma_unmap(NULL, 0, 4096, &got), EINVAL);
    CHECK(got == 0);
    CHECK_ERR(xmem_vfio_map_table(NULL, buf, t, 1, 4096, NULL), EINVAL);
    CHECK_ERR(xmem_vfio_unmap_table(NULL, buf, t, 1, 4096, NULL), EINVAL);
    CHECK_ERR(xmem_vfio_get_stats(NULL, &st), EINVAL);
    CHECK_ERR(xmem_vfio_device_open(NULL, 1, "0000:00:03.0"), EINVAL);
    CHECK_ERR(xmem_vfio_device_close(NULL, 3), EINVAL);
    CHECK_ERR(xmem_vfio_region_info(-1, 0, &reg), EINVAL);
    CHECK_ERR(xmem_vfio_region_info(0, 0, NULL), EINVAL);
    CHECK_ERR(xmem_vfio_group_of(NULL), EINVAL);
    CHECK_ERR(xmem_vfio_group_of(""), EINVAL);
    CHECK_ERR(xmem_vfio_group_of("../../etc"), EINVAL);
    CHECK_ERR(xmem_vfio_group_of("0000:ff:1f.7"), ENOENT);

    /* Without VFIO on the host: ENODEV.  With it, exercise the no-group paths. */
    errno = 0;
    struct xmem_vfio_container *c = xmem_vfio_container_open();
    if (!c) {
        CHECK(errno == ENODEV || errno == EACCES || errno == ENOTSUP);
        return;
    }
    CHECK_ERR(xmem_vfio_get_info(c, &info), ENODEV);
    CHECK_ERR(xmem_vfio_get_info(c, NULL), EINVAL);
    CHECK_ERR(xmem_vfio_dma_map(c, buf, 0, 4096), ENODEV);
    CHECK_ERR(xmem_vfio_dma_map(c, NULL, 0, 4096), EINVAL);
    CHECK_ERR(xmem_vfio_dma_map(c, buf, 0, 0), EINVAL);
    CHECK_ERR(xmem_vfio_dma_unmap(c, 0, 4096, NULL), ENODEV);
    CHECK_ERR(xmem_vfio_group_add(c, -1), EINVAL);
    CHECK_ERR(xmem_vfio_group_remove(c, 12345), ENOENT);
    CHECK_ERR(xmem_vfio_device_open(c, 12345, "x"), ENOENT);
    CHECK_ERR(xmem_vfio_device_close(c, 12345), ENOENT);
    CHECK(xmem_vfio_get_stats(c, &st) == 0 && st.map_calls == 0);
    CHECK(xmem_vfio_container_close(c) == 0);
}

int main(void)
{
    test_runs();
    test_assigner();
    test_parse();
    test_pagemap();
    test_vfio_args();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
