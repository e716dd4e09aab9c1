/* tests/vfio_guest/guest_test.c - the test that runs inside the QEMU guest
 * (as a static binary started by /init).  Owns the end-to-end check of the
 * VFIO backend (iommu/) against a real type1 container, a real emulated
 * IOMMU (intel-iommu) and a device that does DMA (QEMU's edu):
 *   a  bind edu to vfio-pci, find its IOMMU group
 *   b  container + group, IOVA ranges and DMA_AVAIL
 *   c  map regions, counting map calls == contiguous runs (and DMA_AVAIL use)
 *   d  DMA RAM -> edu -> RAM between two IOVAs of a hugepage region
 *   e  unmap, DMA to the old IOVA is refused, destination untouched
 *   f  move the group to a second container, map again, DMA works there
 * It prints one line per check, "STEP x PASS|FAIL: ...", and at the end
 * "GUEST RESULT: PASS" or "GUEST RESULT: FAIL".  run.sh reads those lines.
 * Until the heap core lands, the memory is plain mmap'd hugepages. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "iommu/iova.h"
#include "xmem/xmem_vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_ID        0x00
#define EDU_DMA_SRC   0x80
#define EDU_DMA_DST   0x88
#define EDU_DMA_CNT   0x90
#define EDU_DMA_CMD   0x98
#define EDU_CMD_START 1
#define EDU_CMD_TO_RAM 2
#define EDU_BUF       0x40000
#define DMA_LEN       4000 /* must stay below 4096 (QEMU 7.2 off-by-one) */

#define HP (2UL << 20)
#define PG 4096UL

static int n_fail;

static void step(char id, int ok, const char *fmt, ...)
{
    va_list ap;
    printf("STEP %c %s: ", id, ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!ok)
        n_fail++;
}

static void info(const char *fmt, ...)
{
    va_list ap;
    printf("  ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static unsigned read_hex(const char *path)
{
    char buf[32] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    return n > 0 ? (unsigned)strtoul(buf, NULL, 16) : 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Find the edu device's BDF. */
static int find_edu(char *bdf, size_t len)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    if (!d)
        return -1;
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= len || strlen(e->d_name) > 63)
            continue;
        char p[320];
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", e->d_name);
        unsigned v = read_hex(p);
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", e->d_name);
        unsigned dv = read_hex(p);
        if (v == EDU_VENDOR && dv == EDU_DEVICE) {
            memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

/* ---------------------------------------------------------------- edu */

struct edu {
    int fd;
    volatile unsigned char *bar0;
    size_t bar0_size;
};

static int edu_open(struct xmem_vfio_container *c, int group, const char *bdf, struct edu *ed)
{
    memset(ed, 0, sizeof(*ed));
    ed->fd = xmem_vfio_device_open(c, group, bdf);
    if (ed->fd < 0) {
        info("device_open: %s", strerror(errno));
        return -1;
    }
    struct xmem_vfio_region cfg, bar;
    if (xmem_vfio_region_info(ed->fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) != 0 ||
        xmem_vfio_region_info(ed->fd, VFIO_PCI_BAR0_REGION_INDEX, &bar) != 0) {
        info("region_info: %s", strerror(errno));
        return -1;
    }
    /* Memory space + bus master in the PCI command register. */
    uint16_t cmd = 0;
    if (pread(ed->fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config read: %s", strerror(errno));
        return -1;
    }
    cmd |= 0x6;
    if (pwrite(ed->fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config write: %s", strerror(errno));
        return -1;
    }
    if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        info("BAR0 not mmap-able (flags %#x)", bar.flags);
        return -1;
    }
    void *p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, ed->fd, (off_t)bar.offset);
    if (p == MAP_FAILED) {
        info("mmap BAR0: %s", strerror(errno));
        return -1;
    }
    ed->bar0 = p;
    ed->bar0_size = bar.size;
    return 0;
}

static void edu_close(struct xmem_vfio_container *c, struct edu *ed)
{
    if (ed->bar0)
        munmap((void *)ed->bar0, ed->bar0_size);
    if (ed->fd >= 0)
        xmem_vfio_device_close(c, ed->fd);
    ed->bar0 = NULL;
    ed->fd = -1;
}

static uint32_t edu_r32(struct edu *ed, unsigned off)
{
    return *(volatile uint32_t *)(ed->bar0 + off);
}

static void edu_w64(struct edu *ed, unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(ed->bar0 + off) = v;
}

/* One DMA; returns 0 when the device reports completion. */
static int edu_dma(struct edu *ed, uint64_t src, uint64_t dst, uint64_t len, int to_ram)
{
    edu_w64(ed, EDU_DMA_SRC, src);
    edu_w64(ed, EDU_DMA_DST, dst);
    edu_w64(ed, EDU_DMA_CNT, len);
    edu_w64(ed, EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
    double t0 = now();
    while (edu_r32(ed, EDU_DMA_CMD) & EDU_CMD_START) {
        if (now() - t0 > 10.0)
            return -1;
        usleep(1000);
    }
    return 0;
}

/* RAM(src_iova) -> device buffer -> RAM(dst_iova). */
static int edu_copy(struct edu *ed, uint64_t src_iova, uint64_t dst_iova, uint64_t len)
{
    if (edu_dma(ed, src_iova, EDU_BUF, len, 0) != 0)
        return -1;
    return edu_dma(ed, EDU_BUF, dst_iova, len, 1);
}

/* ---------------------------------------------------------------- kernel log */

static char klog[1 << 18];
static size_t klog_seen; /* bytes of the log already scanned */

/* Print and count new kernel log lines that mention a DMAR fault. */
static int dmar_faults_since_last(void)
{
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog, sizeof(klog) - 1);
    if (n < 0)
        return -1;
    klog[n] = '\0';
    size_t start = klog_seen <= (size_t)n ? klog_seen : 0;
    klog_seen = (size_t)n;
    int count = 0;
    char *line = klog + start;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(line, "DMAR") && (strstr(line, "ault") || strstr(line, "PTE"))) {
            info("kernel: %s", line);
            count++;
        }
        line = nl ? nl + 1 : NULL;
    }
    return count;
}

/* ---------------------------------------------------------------- helpers */

static uint32_t dma_avail(struct xmem_vfio_container *c)
{
    struct xmem_vfio_info in;
    if (xmem_vfio_get_info(c, &in) != 0 || !in.has_dma_avail)
        return 0;
    return in.dma_avail;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 8));
}

static size_t runs_of(void *va, const uint64_t *t, size_t n, size_t ps)
{
    size_t r = 0;
    if (xm_iova_runs((uintptr_t)va, t, n, ps, NULL, 0, &r) != 0)
        return (size_t)-1;
    return r;
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("GUEST TEST: xmem VFIO backend\n");

    /* a: bind edu to vfio-pci, find the group. */
    char bdf[64];
    if (find_edu(bdf, sizeof(bdf)) != 0) {
        step('a', 0, "no edu device (1234:11e8) in /sys/bus/pci/devices");
        goto done;
    }
    if (write_file("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8") != 0 && errno != EEXIST) {
        step('a', 0, "new_id: %s", strerror(errno));
        goto done;
    }
    int group = -1;
    char gpath[64] = "";
    for (int i = 0; i < 200; i++) { /* up to 2 s for the driver and devtmpfs */
        group = xmem_vfio_group_of(bdf);
        if (group >= 0) {
            snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", group);
            if (access(gpath, F_OK) == 0)
                break;
        }
        usleep(10000);
    }
    char drv[256] = "", drvlink[128];
    snprintf(drvlink, sizeof(drvlink), "/sys/bus/pci/devices/%s/driver", bdf);
    ssize_t dl = readlink(drvlink, drv, sizeof(drv) - 1);
    if (dl > 0)
        drv[dl] = '\0';
    int bound = strstr(drv, "vfio-pci") != NULL;
    step('a', group >= 0 && bound && access(gpath, F_OK) == 0,
         "edu %s bound to %s, iommu group %d (%s)", bdf, dl > 0 ? strrchr(drv, '/') + 1 : "?",
         group, gpath);
    if (group < 0 || !bound)
        goto done;

    /* b: container, group, info. */
    struct xmem_vfio_container *c1 = xmem_vfio_container_open();
    if (!c1) {
        step('b', 0, "container_open: %s", strerror(errno));
        goto done;
    }
    if (xmem_vfio_group_add(c1, group) != 0) {
        step('b', 0, "group_add(%d): %s", group, strerror(errno));
        goto done;
    }
    struct xmem_vfio_info in;
    if (xmem_vfio_get_info(c1, &in) != 0) {
        step('b', 0, "get_info: %s", strerror(errno));
        goto done;
    }
    info("iova_pgsizes %#llx", (unsigned long long)in.iova_pgsizes);
    for (uint32_t i = 0; i < in.n_ranges; i++)
        info("iova range %u: [%#llx, %#llx]", i, (unsigned long long)in.ranges[i].start,
             (unsigned long long)in.ranges[i].end);
    info("dma_avail %u%s", in.dma_avail, in.has_dma_avail ? "" : " (not reported)");
    {
        int e1 = xmem_vfio_group_add(c1, group) == -1 && errno == EEXIST;
        step('b', in.n_ranges > 0 && in.has_dma_avail && e1,
             "container with group %d: %u IOVA ranges, DMA_AVAIL %u; re-adding the group gives "
             "EEXIST: %s",
             group, in.n_ranges, in.dma_avail, e1 ? "yes" : "no");
        if (in.n_ranges == 0)
            goto done;
    }

    /* c: memory, IOVAs, map calls == runs. */
    struct xm_iova_space sp = {0};
    struct xm_iova_range rr[XMEM_VFIO_MAX_RANGES];
    for (uint32_t i = 0; i < in.n_ranges; i++) {
        rr[i].start = in.ranges[i].start;
        rr[i].end = in.ranges[i].end;
    }
    if (xm_iova_space_init(&sp, rr, in.n_ranges) != 0) {
        step('c', 0, "iova space: %s", strerror(errno));
        goto done;
    }
    size_t calls;

    /* c1: 4 hugepages with IOVA = PA (a caller's table, runs = physical contiguity). */
    size_t pa_n = 4;
    void *pa_va = mmap(NULL, pa_n * HP, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    uint64_t pa_t[4];
    int pa_ok = 0;
    if (pa_va == MAP_FAILED) {
        step('c', 0, "mmap %zu hugepages: %s", pa_n, strerror(errno));
        goto done;
    }
    memset(pa_va, 0, pa_n * HP);
    if (xm_iova_pa_table(pa_va, pa_n, HP, pa_t) == 0) {
        struct xm_iova_run pr[4];
        size_t pn;
        xm_iova_runs((uintptr_t)pa_va, pa_t, pa_n, HP, pr, 4, &pn);
        int resv = 1;
        for (size_t i = 0; i < pn; i++)
            resv &= xm_iova_reserve(&sp, pr[i].iova, pr[i].len) == 0;
        uint32_t av0 = dma_avail(c1);
        int rc = xmem_vfio_map_table(c1, pa_va, pa_t, pa_n, HP, &calls);
        uint32_t av1 = dma_avail(c1);
        for (size_t i = 0; i < pa_n; i++)
            info("IOVA=PA page %zu: pa %#llx", i, (unsigned long long)pa_t[i]);
        pa_ok = rc == 0 && resv && calls == pn && av0 - av1 == pn;
        step('c', pa_ok,
             "IOVA=PA: %zu hugepages, %zu runs, %zu map calls, DMA_AVAIL %u -> %u", pa_n, pn,
             calls, av0, av1);
    } else {
        step('c', 0, "pagemap: %s", strerror(errno));
    }

    /* c2: 64 scattered 4 KiB pages, a caller's table with pairs swapped: one call per page;
     * then the same pages with assigned IOVAs: one call. */
    size_t sm_n = 64;
    void *sm_va = mmap(NULL, sm_n * PG, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    uint64_t sm_t[64], sm_base = 0;
    if (sm_va == MAP_FAILED || xm_iova_assign(&sp, sm_n * PG, PG, &sm_base) != 0) {
        step('c', 0, "4 KiB region: %s", strerror(errno));
        goto done;
    }
    memset(sm_va, 0, sm_n * PG);
    xm_iova_fill_linear(sm_t, sm_n, PG, sm_base);
    for (size_t i = 0; i + 1 < sm_n; i += 2) {
        uint64_t x = sm_t[i];
        sm_t[i] = sm_t[i + 1];
        sm_t[i + 1] = x;
    }
    {
        size_t want = runs_of(sm_va, sm_t, sm_n, PG);
        uint32_t av0 = dma_avail(c1);
        int rc = xmem_vfio_map_table(c1, sm_va, sm_t, sm_n, PG, &calls);
        uint32_t av1 = dma_avail(c1);
        size_t ucalls = 0;
        int urc = xmem_vfio_unmap_table(c1, sm_va, sm_t, sm_n, PG, &ucalls);
        uint32_t av2 = dma_avail(c1);
        step('c', rc == 0 && urc == 0 && calls == want && ucalls == want && av0 - av1 == want &&
                      av2 == av0,
             "4 KiB pages, swapped table: %zu runs, %zu map calls, %zu unmap calls, DMA_AVAIL "
             "%u -> %u -> %u",
             want, calls, ucalls, av0, av1, av2);
        xm_iova_fill_linear(sm_t, sm_n, PG, sm_base);
        want = runs_of(sm_va, sm_t, sm_n, PG);
        rc = xmem_vfio_map_table(c1, sm_va, sm_t, sm_n, PG, &calls);
        av1 = dma_avail(c1);
        step('c', rc == 0 && calls == 1 && want == 1 && av0 - av1 == 1,
             "4 KiB pages, assigned IOVA %#llx: %zu runs, %zu map calls, DMA_AVAIL %u -> %u",
             (unsigned long long)sm_base, want, calls, av0, av1);
    }

    /* c2b: rollback: a table whose first run is free and whose second run hits the mapped
     * 4 KiB region.  The second call fails with EEXIST and the first run is unmapped again. */
    {
        size_t rb_n = 8;
        void *rb_va = mmap(NULL, rb_n * PG, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        uint64_t rb_t[8], rb_base = 0;
        int ok = rb_va != MAP_FAILED && xm_iova_assign(&sp, 4 * PG, PG, &rb_base) == 0;
        if (ok) {
            xm_iova_fill_linear(rb_t, 4, PG, rb_base);
            xm_iova_fill_linear(rb_t + 4, 4, PG, sm_base + 8 * PG); /* inside the mapped one */
            uint32_t av0 = dma_avail(c1);
            int rc = xmem_vfio_map_table(c1, rb_va, rb_t, rb_n, PG, &calls);
            int e = errno;
            uint32_t av1 = dma_avail(c1);
            uint64_t got = 1;
            int gone = xmem_vfio_dma_unmap(c1, rb_base, 4 * PG, &got) == -1 && errno == ENOENT;
            step('c', rc == -1 && e == EEXIST && calls == 2 && av1 == av0 && gone,
                 "rollback: 2 runs, the 2nd overlaps a mapping: %s after %zu map calls, "
                 "DMA_AVAIL %u -> %u, 1st run unmapped again: %s",
                 rc == 0 ? "mapped?!" : strerror(e), calls, av0, av1, gone ? "yes" : "no");
            xm_iova_release(&sp, rb_base, 4 * PG);
        } else {
            step('c', 0, "rollback setup: %s", strerror(errno));
        }
        if (rb_va != MAP_FAILED)
            munmap(rb_va, rb_n * PG);
    }

    /* c3: the DMA region: 8 hugepages, assigned one contiguous IOVA extent. */
    size_t hp_n = 8;
    unsigned char *hp_va = mmap(NULL, hp_n * HP, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    uint64_t hp_t[8], hp_base = 0;
    if (hp_va == MAP_FAILED) {
        step('c', 0, "mmap %zu hugepages: %s", hp_n, strerror(errno));
        goto done;
    }
    memset(hp_va, 0, hp_n * HP);
    if (xm_iova_assign(&sp, hp_n * HP, HP, &hp_base) != 0) {
        step('c', 0, "assign: %s", strerror(errno));
        goto done;
    }
    xm_iova_fill_linear(hp_t, hp_n, HP, hp_base);
    {
        uint32_t av0 = dma_avail(c1);
        size_t want = runs_of(hp_va, hp_t, hp_n, HP);
        int rc = xmem_vfio_map_table(c1, hp_va, hp_t, hp_n, HP, &calls);
        uint32_t av1 = dma_avail(c1);
        step('c', rc == 0 && calls == 1 && want == 1 && av0 - av1 == 1,
             "hugepages: %zu x 2 MiB at VA %p, assigned IOVA [%#llx, %#llx), %zu runs, %zu map "
             "calls, DMA_AVAIL %u -> %u",
             hp_n, (void *)hp_va, (unsigned long long)hp_base,
             (unsigned long long)(hp_base + hp_n * HP), want, calls, av0, av1);
        if (rc != 0) {
            info("map_table: %s", strerror(errno));
            goto done;
        }
        /* The same range again: the kernel says EEXIST. */
        int ee = xmem_vfio_dma_map(c1, hp_va, hp_base, HP) == -1 && errno == EEXIST;
        step('c', ee, "mapping an already mapped IOVA again gives EEXIST");
    }

    /* d: DMA RAM -> device -> RAM. */
    struct edu ed;
    if (edu_open(c1, group, bdf, &ed) != 0) {
        step('d', 0, "open edu through VFIO");
        goto done;
    }
    info("edu id register %#x", edu_r32(&ed, EDU_ID));
    unsigned char *src = hp_va + 0x1000;            /* in page 0 */
    unsigned char *dst = hp_va + 5 * HP + 0x2340;   /* in page 5, another IOVA */
    uint64_t src_iova = hp_base + 0x1000, dst_iova = hp_base + 5 * HP + 0x2340;
    fill(src, DMA_LEN, 1);
    memset(dst, 0xee, DMA_LEN + 64);
    dmar_faults_since_last();
    {
        int rc = edu_copy(&ed, src_iova, dst_iova, DMA_LEN);
        int same = memcmp(src, dst, DMA_LEN) == 0;
        int tail = dst[DMA_LEN] == 0xee && dst[DMA_LEN + 63] == 0xee;
        int faults = dmar_faults_since_last();
        step('d', rc == 0 && same && tail && faults == 0,
             "edu DMA %d bytes IOVA %#llx -> edu 0x40000 -> IOVA %#llx: completion %s, bytes %s, "
             "tail untouched %s, DMAR faults %d",
             DMA_LEN, (unsigned long long)src_iova, (unsigned long long)dst_iova,
             rc == 0 ? "yes" : "TIMEOUT", same ? "equal" : "DIFFER", tail ? "yes" : "no", faults);
    }

    /* e: unmap, then DMA to the old IOVA must be refused. */
    {
        uint32_t av0 = dma_avail(c1);
        size_t ucalls = 0;
        int rc = xmem_vfio_unmap_table(c1, hp_va, hp_t, hp_n, HP, &ucalls);
        uint32_t av1 = dma_avail(c1);
        uint64_t got = 1;
        int again = xmem_vfio_dma_unmap(c1, hp_base, hp_n * HP, &got) == -1 && errno == ENOENT &&
                    got == 0;
        step('e', rc == 0 && ucalls == 1 && av1 - av0 == 1 && again,
             "unmap: %zu unmap call (kernel reported the full size), DMA_AVAIL %u -> %u; a second "
             "unmap reports 0 bytes (ENOENT): %s",
             ucalls, av0, av1, again ? "yes" : "no");
        /* The device buffer still holds the pattern from step d; send it to the old IOVA. */
        memset(dst, 0x5a, DMA_LEN);
        int drc = edu_dma(&ed, EDU_BUF, dst_iova, DMA_LEN, 1);
        usleep(200000); /* let the fault be reported */
        int untouched = 1;
        for (size_t i = 0; i < DMA_LEN; i++)
            untouched &= dst[i] == 0x5a;
        int faults = dmar_faults_since_last();
        step('e', untouched && faults > 0,
             "DMA edu -> old IOVA %#llx after unmap: completion %s, destination %s, DMAR fault "
             "lines %d",
             (unsigned long long)dst_iova, drc == 0 ? "shown" : "timeout",
             untouched ? "untouched" : "WRITTEN", faults);
    }

    /* f: move the group to a second container, map again there, DMA works. */
    edu_close(c1, &ed);
    {
        int rm = xmem_vfio_group_remove(c1, group);
        int rme = rm == 0 ? 0 : errno;
        struct xmem_vfio_container *c2 = xmem_vfio_container_open();
        int add = c2 ? xmem_vfio_group_add(c2, group) : -1;
        int adde = add == 0 ? 0 : errno;
        step('f', rm == 0 && add == 0,
             "group %d moved: removed from container 1 (%s), added to container 2 (%s)", group,
             rm == 0 ? "ok" : strerror(rme), add == 0 ? "ok" : strerror(adde));
        if (rm != 0 || add != 0)
            goto done;
        uint32_t av0 = dma_avail(c2);
        int rc = xmem_vfio_map_table(c2, hp_va, hp_t, hp_n, HP, &calls);
        uint32_t av1 = dma_avail(c2);
        step('f', rc == 0 && calls == 1 && av0 - av1 == 1,
             "container 2: same region mapped at the same IOVAs, %zu map calls, DMA_AVAIL %u -> %u",
             calls, av0, av1);
        if (edu_open(c2, group, bdf, &ed) != 0) {
            step('f', 0, "open edu in container 2");
            goto done;
        }
        fill(src, DMA_LEN, 2);
        memset(dst, 0x11, DMA_LEN + 64);
        int drc = edu_copy(&ed, src_iova, dst_iova, DMA_LEN);
        int same = memcmp(src, dst, DMA_LEN) == 0;
        int faults = dmar_faults_since_last();
        step('f', drc == 0 && same && faults == 0,
             "edu DMA in container 2: completion %s, bytes %s, DMAR faults %d",
             drc == 0 ? "yes" : "TIMEOUT", same ? "equal" : "DIFFER", faults);
        edu_close(c2, &ed);
        size_t ucalls = 0;
        int urc = xmem_vfio_unmap_table(c2, hp_va, hp_t, hp_n, HP, &ucalls);
        struct xmem_vfio_stats st1, st2;
        xmem_vfio_get_stats(c1, &st1);
        xmem_vfio_get_stats(c2, &st2);
        step('f', urc == 0 && ucalls == 1 && dma_avail(c2) == av0,
             "container 2 unmapped (%zu call), DMA_AVAIL back to %u", ucalls, av0);
        info("container 1 stats: %llu map calls (%llu failed), %llu unmap calls (%llu failed)",
             (unsigned long long)st1.map_calls, (unsigned long long)st1.map_failed,
             (unsigned long long)st1.unmap_calls, (unsigned long long)st1.unmap_failed);
        info("container 2 stats: %llu map calls (%llu failed), %llu unmap calls (%llu failed)",
             (unsigned long long)st2.map_calls, (unsigned long long)st2.map_failed,
             (unsigned long long)st2.unmap_calls, (unsigned long long)st2.unmap_failed);
        xmem_vfio_container_close(c2);
    }
    xmem_vfio_container_close(c1);
    xm_iova_space_fini(&sp);
    munmap(hp_va, hp_n * HP);
    munmap(sm_va, sm_n * PG);
    munmap(pa_va, pa_n * HP);

done:
    printf("GUEST RESULT: %s (%d failed checks)\n", n_fail ? "FAIL" : "PASS", n_fail);
    fflush(stdout);
    return n_fail ? 1 : 0;
}
