/* tests/vfio_guest/guest_util.c - the helpers the guest's test binaries
 * share (see guest_util.h): step lines, PCI lookup and vfio-pci binding,
 * the edu DMA engine over a VFIO device fd, DMAR faults from the kernel log,
 * container and subscriber counters. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "guest_util.h"

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

int n_fail;

/* head, then the caller's text and a newline, flushed; a failure counted. */
static void result(int ok, const char *head, const char *fmt, va_list ap)
{
    fputs(head, stdout);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    if (!ok)
        n_fail++;
}

void step(char id, int ok, const char *fmt, ...)
{
    char head[16];
    snprintf(head, sizeof(head), "STEP %c %s: ", id, ok ? "PASS" : "FAIL");
    va_list ap;
    va_start(ap, fmt);
    result(ok, head, fmt, ap);
    va_end(ap);
}

void check(int ok, const char *name, const char *fmt, ...)
{
    char head[96];
    snprintf(head, sizeof(head), "CHECK %s %s: ", ok ? "PASS" : "FAIL", name);
    va_list ap;
    va_start(ap, fmt);
    result(ok, head, fmt, ap);
    va_end(ap);
}

void info(const char *fmt, ...)
{
    va_list ap;
    printf("  ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

int write_file(const char *path, const char *s)
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

unsigned read_hex(const char *path)
{
    char buf[32] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    return n > 0 ? (unsigned)strtoul(buf, NULL, 16) : 0;
}

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int find_pci(unsigned vendor, unsigned device, char *bdf, size_t len)
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
        if (v == vendor && dv == device) {
            memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

int bind_vfio(const char *ids, const char *bdf, int *group)
{
    if (write_file("/sys/bus/pci/drivers/vfio-pci/new_id", ids) != 0 && errno != EEXIST)
        return -1;
    char gpath[64] = "";
    *group = -1;
    for (int i = 0; i < 200; i++) { /* up to 2 s for the driver and devtmpfs */
        *group = xmem_vfio_group_of(bdf);
        if (*group >= 0) {
            snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", *group);
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
    if (*group < 0 || !strstr(drv, "vfio-pci") || access(gpath, F_OK) != 0) {
        errno = ENODEV;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- edu */

int pci_enable(int fd)
{
    struct xmem_vfio_region cfg;
    if (xmem_vfio_region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) != 0) {
        info("region_info(config): %s", strerror(errno));
        return -1;
    }
    /* Memory space + bus master in the PCI command register. */
    uint16_t cmd = 0;
    if (pread(fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config read: %s", strerror(errno));
        return -1;
    }
    cmd |= 0x6;
    if (pwrite(fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config write: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int edu_setup(int device_fd, struct edu *ed)
{
    memset(ed, 0, sizeof(*ed));
    ed->fd = device_fd;
    struct xmem_vfio_region bar;
    if (pci_enable(device_fd) != 0)
        return -1;
    if (xmem_vfio_region_info(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &bar) != 0) {
        info("region_info: %s", strerror(errno));
        return -1;
    }
    if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        info("BAR0 not mmap-able (flags %#x)", bar.flags);
        return -1;
    }
    void *p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, device_fd,
                   (off_t)bar.offset);
    if (p == MAP_FAILED) {
        info("mmap BAR0: %s", strerror(errno));
        return -1;
    }
    ed->bar0 = p;
    ed->bar0_size = bar.size;
    return 0;
}

void edu_release(struct edu *ed)
{
    if (ed->bar0)
        munmap((void *)ed->bar0, ed->bar0_size);
    ed->bar0 = NULL;
}

int edu_open(struct xmem_vfio_container *c, int group, const char *bdf, struct edu *ed)
{
    int fd = xmem_vfio_device_open(c, group, bdf);
    if (fd < 0) {
        info("device_open: %s", strerror(errno));
        memset(ed, 0, sizeof(*ed));
        ed->fd = -1;
        return -1;
    }
    return edu_setup(fd, ed);
}

void edu_close(struct xmem_vfio_container *c, struct edu *ed)
{
    edu_release(ed);
    if (ed->fd >= 0)
        xmem_vfio_device_close(c, ed->fd);
    ed->fd = -1;
}

uint32_t edu_r32(struct edu *ed, unsigned off)
{
    return *(volatile uint32_t *)(ed->bar0 + off);
}

void edu_w64(struct edu *ed, unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(ed->bar0 + off) = v;
}

/* One DMA; returns 0 when the device reports completion. */
int edu_dma(struct edu *ed, uint64_t src, uint64_t dst, uint64_t len, int to_ram)
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
int edu_copy(struct edu *ed, uint64_t src_iova, uint64_t dst_iova, uint64_t len)
{
    if (edu_dma(ed, src_iova, EDU_BUF, len, 0) != 0)
        return -1;
    return edu_dma(ed, EDU_BUF, dst_iova, len, 1);
}

/* ---------------------------------------------------------------- kernel log */

static char klog[1 << 18];
static size_t klog_seen; /* bytes of the log already scanned */

/* Print and count new kernel log lines that mention a DMAR fault. */
int dmar_faults_since_last(void)
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

uint32_t dma_avail(struct xmem_vfio_container *c)
{
    struct xmem_vfio_info in;
    if (xmem_vfio_get_info(c, &in) != 0 || !in.has_dma_avail)
        return 0;
    return in.dma_avail;
}

void vstats(struct xmem_vfio_container *c, struct xmem_vfio_stats *st)
{
    memset(st, 0, sizeof(*st));
    xmem_vfio_get_stats(c, st);
}

void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 8));
}

/* Runs of [va, va + len) as xmem translates it (independent of the layer):
 * 1 + the number of page boundaries where the IOVA jumps. */
size_t runs_of(const char *va, size_t len, size_t ps)
{
    size_t runs = 1;
    for (size_t off = ps; off < len; off += ps)
        runs += xmem_virt2iova(va + off) != xmem_virt2iova(va + off - ps) + ps;
    return runs;
}

static int count_fn(const char *s, const struct xmem_dma_mapping *m, void *arg)
{
    (void)s, (void)m;
    (*(long *)arg)++;
    return 0;
}

long entries_of(struct xmem_dma_subscriber *s)
{
    long n = 0;
    xmem_dma_mapping_walk(s, count_fn, &n);
    return n;
}
