/* tests/vfio_guest/guest_util.h - what the guest's test binaries
 * (guest_test.c, devmem_test.c, dpdk_guest_test.c) share: step and info
 * lines, finding a PCI device and binding it to vfio-pci, the edu device's
 * DMA engine through a VFIO device fd (whoever opened it: xmem's container
 * or DPDK's), DMAR fault lines from the kernel log, and counters of
 * containers and subscribers.  guest_util.c implements it. */
#ifndef XMEM_TESTS_VFIO_GUEST_UTIL_H
#define XMEM_TESTS_VFIO_GUEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>
#include <xmem/xmem_vfio.h>

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

extern int n_fail; /* failed checks so far */

/* "STEP <id> PASS|FAIL: ..." (guest_test, devmem_test) and
 * "CHECK PASS|FAIL <name>: ..." (dpdk_guest_test), a failure counted in
 * n_fail; "  ..." */
void step(char id, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_file(const char *path, const char *s);
unsigned read_hex(const char *path);
double now(void);

/* The BDF of the first PCI device vendor:device; 0, or -1. */
int find_pci(unsigned vendor, unsigned device, char *bdf, size_t len);
/* Bind "vendor device" (ids) to vfio-pci through new_id, wait for bdf's
 * group node; *group gets the group.  0, or -1 (ENODEV: not bound). */
int bind_vfio(const char *ids, const char *bdf, int *group);

/* Set memory space and bus master in a VFIO PCI device's command register. */
int pci_enable(int fd);

/* edu through VFIO: its device fd and BAR0. */
struct edu {
    int fd;
    volatile unsigned char *bar0;
    size_t bar0_size;
};
/* Enable memory space and bus mastering and mmap BAR0 of a VFIO device fd
 * (the fd stays the caller's).  0, or -1 with the reason printed. */
int edu_setup(int device_fd, struct edu *ed);
/* Unmap BAR0 (the fd is not closed). */
void edu_release(struct edu *ed);
/* edu_setup over a device fd xmem's container c opens (and owns);
 * edu_close releases both. */
int edu_open(struct xmem_vfio_container *c, int group, const char *bdf, struct edu *ed);
void edu_close(struct xmem_vfio_container *c, struct edu *ed);
uint32_t edu_r32(struct edu *ed, unsigned off);
void edu_w64(struct edu *ed, unsigned off, uint64_t v);
/* One DMA; 0 when the device reports completion (it does even after an
 * IOMMU fault: compare the data). */
int edu_dma(struct edu *ed, uint64_t src, uint64_t dst, uint64_t len, int to_ram);
/* RAM(src_iova) -> device buffer -> RAM(dst_iova). */
int edu_copy(struct edu *ed, uint64_t src_iova, uint64_t dst_iova, uint64_t len);

/* Print ("  kernel: ...") and count the kernel log lines about a DMAR fault
 * written since the last call; -1 if the log cannot be read. */
int dmar_faults_since_last(void);

/* DMA_AVAIL of c (0 when not reported); c's counters. */
uint32_t dma_avail(struct xmem_vfio_container *c);
void vstats(struct xmem_vfio_container *c, struct xmem_vfio_stats *st);
/* A byte pattern of n bytes from seed. */
void fill(unsigned char *p, size_t n, unsigned seed);
/* Runs of [va, va + len) as xmem translates it. */
size_t runs_of(const char *va, size_t len, size_t ps);
/* Entries in the registry of s (NULL: of all subscribers). */
long entries_of(struct xmem_dma_subscriber *s);

#endif /* XMEM_TESTS_VFIO_GUEST_UTIL_H */
