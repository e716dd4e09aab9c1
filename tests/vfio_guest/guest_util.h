/* tests/vfio_guest/guest_util.h - what the guest test binaries share: the
 * edu device (find it, bind it to vfio-pci, drive its DMA through a VFIO
 * device fd, whoever opened it), the kernel log's DMAR faults, and small
 * sysfs and clock helpers.  Used by guest_test.c (xmem's own VFIO backend)
 * and dpdk_guest_test.c (DPDK's VFIO container). */
#ifndef XMEM_GUEST_UTIL_H
#define XMEM_GUEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* "  <text>" on stdout, flushed. */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_file(const char *path, const char *s);
unsigned read_hex(const char *path);
double now(void);

/* The edu device's BDF; -1 when there is none. */
int find_edu(char *bdf, size_t len);
/* Bind the edu (bdf) to vfio-pci through new_id and wait up to 2 s for its
 * group node; returns the IOMMU group, or -1 (the reason printed). */
int edu_bind_vfio(const char *bdf);

struct edu {
    int fd;
    volatile unsigned char *bar0;
    size_t bar0_size;
};

/* Enable memory space and bus mastering and mmap BAR0 of a VFIO device fd
 * (the fd stays the caller's; regions read with xmem_vfio_region_info).  0, or -1 with the reason printed. */
int edu_setup(int device_fd, struct edu *ed);
/* Unmap BAR0 (the fd is not closed). */
void edu_release(struct edu *ed);
uint32_t edu_r32(struct edu *ed, unsigned off);
/* One DMA; 0 when the device reports completion (it does even after an
 * IOMMU fault: compare the data). */
int edu_dma(struct edu *ed, uint64_t src, uint64_t dst, uint64_t len, int to_ram);
/* RAM(src_iova) -> device buffer -> RAM(dst_iova). */
int edu_copy(struct edu *ed, uint64_t src_iova, uint64_t dst_iova, uint64_t len);

/* Print ("  kernel: ...") and count the kernel log lines about a DMAR fault
 * written since the last call; -1 if the log cannot be read. */
int dmar_faults_since_last(void);

#endif
