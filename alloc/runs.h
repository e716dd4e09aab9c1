/* runs.h - owns the one definition of an IOVA run: the validity rule for a
 * per-page IOVA table and the split of such a table into maximal runs of
 * pages contiguous in both VA and IOVA.  The core uses it for its run map
 * (region.c) and the IOVA -> VA search table (registry.c); the IOMMU layer
 * uses it to batch map calls (one call per run).  Pure functions, no state;
 * part of the core, so that alloc/ builds without iommu/. */
#ifndef XM_RUNS_H
#define XM_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IOVA of a page that has none (== XMEM_BAD_IOVA == XMEM_VFIO_NO_IOVA). */
#define XM_IOVA_NONE ((uint64_t)-1)

/* The rule both the core and the IOMMU layer apply to a table entry: it is
 * XM_IOVA_NONE, or it is page_size-aligned and its page's end
 * (iova + page_size) does not wrap the 64-bit IOVA space.  page_size is a
 * power of two. */
static inline bool xm_iova_entry_ok(uint64_t iova, size_t page_size)
{
	if (iova == XM_IOVA_NONE)
		return true;
	return (iova & (page_size - 1)) == 0 && iova <= UINT64_MAX - page_size;
}

/* True when every entry of iova[0 .. n_pages) passes xm_iova_entry_ok. */
bool xm_iova_table_ok(const uint64_t *iova, size_t n_pages, size_t page_size);

/* The run that starts at page p of a valid table: returns the first page
 * after it.  Page q continues the run when both it and page q - 1 lack an
 * IOVA, or when iova[q] == iova[q - 1] + page_size.  So pages without an
 * IOVA form runs of their own (the run map keeps allocations off the
 * boundary between pages with and without IOVAs). */
size_t xm_iova_run_end(const uint64_t *iova, size_t n_pages, size_t page_size,
		       size_t p);

/* One run with IOVAs: pages [first_page, first_page + n_pages) of the table,
 * at VA va and IOVA iova, len = n_pages * page_size bytes. */
struct xm_iova_run {
	size_t    first_page;
	size_t    n_pages;
	uintptr_t va;
	uint64_t  iova;
	uint64_t  len;
};

/* Split the region [va, va + n_pages * page_size) with per-page IOVAs
 * iova[0 .. n_pages) into its maximal runs (xm_iova_run_end), leaving out the
 * runs of pages without an IOVA.  Runs are written to runs[0 .. max_runs) in
 * page order, and *n_runs gets the number of runs the region has (also when
 * they do not fit).  runs may be NULL to only count (max_runs is ignored).
 * Nothing is written unless the whole table is valid.
 * EINVAL: iova or n_runs is NULL; n_pages is 0; page_size is not a power of
 *         two of at least 4096; va is not page_size-aligned; va + len wraps;
 *         an entry fails xm_iova_entry_ok.
 * ENOSPC: more than max_runs runs (*n_runs says how many are needed). */
int xm_iova_runs(uintptr_t va, const uint64_t *iova, size_t n_pages, size_t page_size,
		 struct xm_iova_run *runs, size_t max_runs, size_t *n_runs);

#endif
