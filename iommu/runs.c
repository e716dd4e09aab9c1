/* iommu/runs.c - owns xm_iova_runs: splitting a region's per-page IOVA table
 * into the maximal runs contiguous in both VA and IOVA.  Each run becomes one
 * VFIO_IOMMU_MAP_DMA, so the number of runs is the number of map calls. */
#include "iommu/iova.h"

#include <errno.h>

static int pow2_page(size_t page_size)
{
    return page_size >= 4096 && (page_size & (page_size - 1)) == 0;
}

int xm_iova_runs(uintptr_t va, const uint64_t *iova, size_t n_pages, size_t page_size,
                 struct xm_iova_run *runs, size_t max_runs, size_t *n_runs)
{
    if (!iova || !n_runs || n_pages == 0 || !pow2_page(page_size) ||
        (va & (page_size - 1)) != 0 || n_pages > (UINTPTR_MAX - va) / page_size) {
        errno = EINVAL;
        return -1;
    }
    /* Validate the whole table before writing anything. */
    for (size_t i = 0; i < n_pages; i++) {
        uint64_t a = iova[i];
        if (a == XM_IOVA_NONE)
            continue;
        /* The page's end, a + page_size, must be representable. */
        if ((a & (page_size - 1)) != 0 || a > UINT64_MAX - page_size) {
            errno = EINVAL;
            return -1;
        }
    }

    size_t count = 0;
    size_t i = 0;
    while (i < n_pages) {
        if (iova[i] == XM_IOVA_NONE) {
            i++;
            continue;
        }
        size_t start = i;
        uint64_t next = iova[i] + page_size; /* no wrap: checked above */
        i++;
        while (i < n_pages && iova[i] == next) { /* next is aligned, never XM_IOVA_NONE */
            next += page_size;
            i++;
        }
        if (runs && count < max_runs) {
            struct xm_iova_run *r = &runs[count];
            r->first_page = start;
            r->n_pages = i - start;
            r->va = va + start * page_size;
            r->iova = iova[start];
            r->len = (uint64_t)(i - start) * page_size;
        }
        count++;
    }
    *n_runs = count;
    if (runs && count > max_runs) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}
