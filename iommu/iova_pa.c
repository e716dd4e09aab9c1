/* iommu/iova_pa.c - owns the IOVA=PA mode: reading each page's physical
 * address from /proc/self/pagemap (one 64-bit entry per 4 KiB virtual page:
 * bit 63 present, bits 0-54 the PFN; PFNs read as 0 without CAP_SYS_ADMIN). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pread, readlink */
#endif
#include "iommu/iova.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define PM_PRESENT  (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_UNIT     4096ULL /* pagemap granule: the base page size on x86-64 */

int xm_iova_pa_table(const void *va, size_t n_pages, size_t page_size, uint64_t *iova_out)
{
    uintptr_t base = (uintptr_t)va;
    if (!va || !iova_out || n_pages == 0 || page_size < 4096 ||
        (page_size & (page_size - 1)) != 0 || (base & (page_size - 1)) != 0 ||
        n_pages > (UINTPTR_MAX - base) / page_size) {
        errno = EINVAL;
        return -1;
    }
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int err = 0;
    for (size_t i = 0; i < n_pages; i++) {
        uintptr_t a = base + i * page_size;
        uint64_t ent;
        ssize_t n = pread(fd, &ent, sizeof(ent), (off_t)(a / PM_UNIT * sizeof(ent)));
        if (n != (ssize_t)sizeof(ent)) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            errno = e;
            return -1;
        }
        if (!(ent & PM_PRESENT)) {
            iova_out[i] = XM_IOVA_NONE;
            if (!err)
                err = EFAULT;
            continue;
        }
        uint64_t pfn = ent & PM_PFN_MASK;
        if (pfn == 0) {
            close(fd);
            errno = EPERM;
            return -1;
        }
        uint64_t pa = pfn * PM_UNIT;
        if ((pa & (page_size - 1)) != 0) {
            close(fd);
            errno = EIO;
            return -1;
        }
        iova_out[i] = pa;
    }
    close(fd);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}
