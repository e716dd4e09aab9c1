/* runs.c - owns the IOVA-table rule and the run split declared in runs.h:
 * the single place that decides where an IOVA run ends. */
#include <errno.h>

#include "runs.h"

bool xm_iova_table_ok(const uint64_t *iova, size_t n_pages, size_t page_size)
{
	for (size_t i = 0; i < n_pages; i++)
		if (!xm_iova_entry_ok(iova[i], page_size))
			return false;
	return true;
}

size_t xm_iova_run_end(const uint64_t *iova, size_t n_pages, size_t page_size,
		       size_t p)
{
	size_t q = p + 1;
	if (iova[p] == XM_IOVA_NONE) {
		while (q < n_pages && iova[q] == XM_IOVA_NONE)
			q++;
		return q;
	}
	/* No wrap: a valid entry's page end is representable, and the next
	 * expected IOVA is aligned, so never XM_IOVA_NONE. */
	uint64_t next = iova[p] + page_size;
	while (q < n_pages && iova[q] == next) {
		next += page_size;
		q++;
	}
	return q;
}

int xm_iova_runs(uintptr_t va, const uint64_t *iova, size_t n_pages, size_t page_size,
		 struct xm_iova_run *runs, size_t max_runs, size_t *n_runs)
{
	if (!iova || !n_runs || n_pages == 0 || page_size < 4096 ||
	    (page_size & (page_size - 1)) != 0 || (va & (page_size - 1)) != 0 ||
	    n_pages > (UINTPTR_MAX - va) / page_size ||
	    !xm_iova_table_ok(iova, n_pages, page_size)) {
		errno = EINVAL;
		return -1;
	}
	size_t count = 0;
	for (size_t p = 0; p < n_pages;) {
		size_t q = xm_iova_run_end(iova, n_pages, page_size, p);
		if (iova[p] != XM_IOVA_NONE) {
			if (runs && count < max_runs)
				runs[count] = (struct xm_iova_run){
					.first_page = p,
					.n_pages = q - p,
					.va = va + p * page_size,
					.iova = iova[p],
					.len = (uint64_t)(q - p) * page_size,
				};
			count++;
		}
		p = q;
	}
	*n_runs = count;
	if (runs && count > max_runs) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}
