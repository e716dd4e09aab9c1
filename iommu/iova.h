/* iommu/iova.h - pure IOVA helpers of the IOMMU layer:
 *  - xm_iova_runs (alloc/runs.c, the core's, re-exported here): the maximal
 *    runs of a per-page IOVA table contiguous in both VA and IOVA; each run
 *    is one map call.
 *  - xm_iova_space_* (iommu/iova_alloc.c): an assigner that hands out IOVA
 *    extents from a container's valid IOVA ranges, first fit, so a whole
 *    region can be contiguous in IOVA.
 *  - xm_iova_pa_table (iommu/iova_pa.c): IOVA=PA, from /proc/self/pagemap.
 * None of these touch VFIO; they are unit-tested on the host
 * (iommu/runs_test.c). */
#ifndef XMEM_IOMMU_IOVA_H
#define XMEM_IOMMU_IOVA_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/runs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The IOVA rule, XM_IOVA_NONE, struct xm_iova_run and xm_iova_runs (the
 * split of a table into runs, one map call each) are the core's: one
 * definition shared by alloc/ and iommu/ (alloc/runs.h). */

/* ---------------------------------------------------------------- assigner */

/* An IOVA range, both ends inclusive (as VFIO reports them). */
struct xm_iova_range {
    uint64_t start;
    uint64_t end;
};

/* An extent in use: [iova, iova + len). */
struct xm_iova_extent {
    uint64_t iova;
    uint64_t len;
};

/* The IOVA space of one container: its valid ranges, sorted, and the extents
 * already in use, sorted and disjoint.  Not thread-safe: the caller
 * serialises (the control mutex).  Zero-initialise, then xm_iova_space_init. */
struct xm_iova_space {
    struct xm_iova_range  *ranges;
    size_t                 n_ranges;
    struct xm_iova_extent *used;
    size_t                 n_used;
    size_t                 cap_used;
};

/* Set up a space over n ranges (copied and sorted).  Ranges may touch but
 * not overlap.  IOVA 0 is never handed out, so that 0 can mean "none".
 * EINVAL: s or ranges is NULL, n is 0, a range has start > end, or two
 *         ranges overlap.
 * ENOMEM: no memory for the copy. */
int xm_iova_space_init(struct xm_iova_space *s, const struct xm_iova_range *ranges, size_t n);

/* Free what xm_iova_space_init and the calls below allocated.  NULL: no-op. */
void xm_iova_space_fini(struct xm_iova_space *s);

/* Pick the lowest IOVA, aligned to align, such that [iova, iova + len) lies
 * inside one valid range and overlaps no extent in use (first fit), and mark
 * it in use.
 * EINVAL: s or iova_out is NULL; len is 0; align is not a power of two.
 * ENOSPC: no free extent is large enough.
 * ENOMEM: no memory to record the extent. */
int xm_iova_assign(struct xm_iova_space *s, uint64_t len, uint64_t align, uint64_t *iova_out);

/* Mark [iova, iova + len) in use, e.g. the IOVAs of a caller's table, so the
 * assigner avoids them.  It need not lie inside a valid range.
 * EINVAL: s is NULL; len is 0; iova + len wraps.
 * EEXIST: it overlaps an extent in use.
 * ENOMEM: no memory to record the extent. */
int xm_iova_reserve(struct xm_iova_space *s, uint64_t iova, uint64_t len);

/* Give back exactly one extent that xm_iova_assign or xm_iova_reserve marked.
 * EINVAL: s is NULL or len is 0.
 * ENOENT: no extent in use is exactly [iova, iova + len). */
int xm_iova_release(struct xm_iova_space *s, uint64_t iova, uint64_t len);

/* Fill iova_out[0 .. n_pages) with consecutive IOVAs from base:
 * iova_out[i] = base + i * page_size.
 * EINVAL: iova_out is NULL, n_pages is 0, page_size is 0, or it wraps. */
int xm_iova_fill_linear(uint64_t *iova_out, size_t n_pages, size_t page_size, uint64_t base);

/* ---------------------------------------------------------------- IOVA=PA */

/* Fill iova_out[0 .. n_pages) with the physical address of each page of
 * [va, va + n_pages * page_size), from /proc/self/pagemap.  The pages must be
 * resident (touched, ideally locked): a page that is not present gets
 * XM_IOVA_NONE and the call fails with EFAULT after filling the rest.
 * EINVAL: va or iova_out is NULL; n_pages is 0; page_size is not a power of
 *         two of at least 4096; va is not page_size-aligned.
 * EFAULT: some page is not present (its entry is XM_IOVA_NONE).
 * EPERM:  the kernel hides PFNs (not CAP_SYS_ADMIN).
 * EIO:    a page's physical address is not page_size-aligned, or a short read.
 * Other:  errno of open(2) / pread(2) on /proc/self/pagemap. */
int xm_iova_pa_table(const void *va, size_t n_pages, size_t page_size, uint64_t *iova_out);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_IOMMU_IOVA_H */
