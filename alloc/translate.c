/* translate.c - translation-only registration (the counterpart of
 * rte_extmem_register) and the virt -> IOVA lookup. */
#include <errno.h>

/* The public header's inline xmem_virt2iova, under another name here, is
 * the body of the exported function: the lookup is written once. */
#define xmem_virt2iova xm_virt2iova_inline
#include <xmem/xmem.h>
#undef xmem_virt2iova
/* Outside the header's visibility pragma: exported by hand. */
__attribute__((visibility("default"))) uint64_t xmem_virt2iova(const void *va);

#include "pagemap.h"
#include "region.h"

uint64_t xmem_virt2iova(const void *va)
{
	return xm_virt2iova_inline(va);
}

static int xm_register(void *va, size_t len, const uint64_t *iova,
		       size_t n_pages, size_t page_size)
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

int xmem_register(void *va, size_t len, const uint64_t *iova, size_t n_pages,
		  size_t page_size)
{
	xm_ctl_enter();
	int rc = xm_register(va, len, iova, n_pages, page_size);
	xm_ctl_exit(rc != 0, "xmem_register");
	return rc;
}

static int xm_unregister(void *va, size_t len)
{
	if (!va || len == 0) {
		xm_cause(!va ? "va is NULL" : "len is 0");
		errno = EINVAL;
		return -1;
	}
	xm_ctl_lock();
	struct xm_region *r = xm_region_find_exact((uintptr_t)va, len);
	int rc = -1;
	if (!r || r->heap) {
		if (r)
			xm_cause("[%p, +%#zx) was added to heap \"%s\": remove it "
				 "with xmem_heap_remove_memory", va, len,
				 xmem_heap_name(r->heap));
		else
			xm_cause("[%p, +%#zx) is not exactly one registration", va,
				 len);
		errno = ENOENT;
	} else {
		rc = xm_region_unpublish(r);
	}
	xm_ctl_unlock();
	if (rc == 0)
		xm_region_free(r);
	return rc;
}

int xmem_unregister(void *va, size_t len)
{
	xm_ctl_enter();
	int rc = xm_unregister(va, len);
	xm_ctl_exit(rc != 0, "xmem_unregister");
	return rc;
}
