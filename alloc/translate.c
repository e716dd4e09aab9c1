/* translate.c - translation-only registration (the counterpart of
 * rte_extmem_register) and the virt -> IOVA lookup. */
#include <errno.h>

#include "pagemap.h"
#include "region.h"

uint64_t xmem_virt2iova(const void *va)
{
	return xm_pagemap_iova((uintptr_t)va);
}

int xmem_register(void *va, size_t len, const uint64_t *iova, size_t n_pages,
		  size_t page_size)
{
	struct xm_region *r = xm_region_new(va, len, iova, n_pages, page_size,
					    false);
	if (!r)
		return -1;
	xm_ctl_lock();
	int rc = xm_region_publish(r);
	xm_ctl_unlock();
	if (rc)
		xm_region_free(r);
	return rc;
}

int xmem_unregister(void *va, size_t len)
{
	if (!va || len == 0) {
		errno = EINVAL;
		return -1;
	}
	xm_ctl_lock();
	struct xm_region *r = xm_region_find_exact((uintptr_t)va, len);
	int rc = -1;
	if (!r || r->heap)
		errno = ENOENT;
	else
		rc = xm_region_unpublish(r);
	xm_ctl_unlock();
	if (rc == 0)
		xm_region_free(r);
	return rc;
}
