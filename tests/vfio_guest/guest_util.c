/* tests/vfio_guest/guest_util.c - the helpers the guest test binaries share
 * (guest_util.h): edu over a VFIO device fd, the kernel log, sysfs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "guest_util.h"

#include <xmem/xmem_vfio.h>

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

int find_edu(char *bdf, size_t len)
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

int edu_bind_vfio(const char *bdf)
{
    if (write_file("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8") != 0 && errno != EEXIST) {
        info("new_id: %s", strerror(errno));
        return -1;
    }
    char link[128], target[256], gpath[64];
    snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
    for (int i = 0; i < 200; i++) { /* up to 2 s for the driver and devtmpfs */
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            int group = atoi(strrchr(target, '/') + 1);
            snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", group);
            if (access(gpath, F_OK) == 0)
                return group;
        }
        usleep(10000);
    }
    info("%s: no /dev/vfio group node after 2 s", bdf);
    return -1;
}

int edu_setup(int device_fd, struct edu *ed)
{
    memset(ed, 0, sizeof(*ed));
    ed->fd = device_fd;
    struct xmem_vfio_region cfg, bar;
    if (xmem_vfio_region_info(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) != 0 ||
        xmem_vfio_region_info(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &bar) != 0) {
        info("region_info: %s", strerror(errno));
        return -1;
    }
    /* Memory space + bus master in the PCI command register. */
    uint16_t cmd = 0;
    if (pread(device_fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config read: %s", strerror(errno));
        return -1;
    }
    cmd |= 0x6;
    if (pwrite(device_fd, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) {
        info("config write: %s", strerror(errno));
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

uint32_t edu_r32(struct edu *ed, unsigned off)
{
    return *(volatile uint32_t *)(ed->bar0 + off);
}

static void edu_w64(struct edu *ed, unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(ed->bar0 + off) = v;
}

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

int edu_copy(struct edu *ed, uint64_t src_iova, uint64_t dst_iova, uint64_t len)
{
    if (edu_dma(ed, src_iova, EDU_BUF, len, 0) != 0)
        return -1;
    return edu_dma(ed, EDU_BUF, dst_iova, len, 1);
}

static char klog[1 << 18];
static size_t klog_seen; /* bytes of the log already scanned */

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
