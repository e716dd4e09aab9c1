/* dma_iova.c - owns the IOVA modes of the DMA-mapping layer: which IOVAs a
 * region added without a table gets (none, VA, PA from pagemap, or one
 * contiguous extent from the assigner), and the assigner's IOVA space (the
 * default ranges, narrowed by every VFIO container attached).  Control
 * mutex held by every writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/region.h"
#include "iommu/dma.h"

/* Read without the control mutex by xmem_dma_get_iova_mode; relaxed: a
 * plain setting, nothing else is published through it. */
static _Atomic int xm_iova_mode = XMEM_IOVA_MODE_TABLE;

static struct xm_iova_space xm_space;
static bool xm_space_ready;

#define XM_MAX_RANGES 64

static int xm_space_ensure(void)
{
	if (xm_space_ready)
		return 0;
	struct xm_iova_range def = {XMEM_DMA_DEFAULT_IOVA_START,
				    XMEM_DMA_DEFAULT_IOVA_END};
	if (xm_iova_space_init(&xm_space, &def, 1))
		return -1;
	xm_space_ready = true;
	return 0;
}

static int xm_dma_set_mode(enum xmem_iova_mode mode)
{
	if (mode != XMEM_IOVA_MODE_TABLE && mode != XMEM_IOVA_MODE_VA &&
	    mode != XMEM_IOVA_MODE_PA && mode != XMEM_IOVA_MODE_ASSIGN) {
		xm_cause("mode %d is not an enum xmem_iova_mode", (int)mode);
		errno = EINVAL;
		return -1;
	}
	/* Regions added from now on get IOVAs from the layer: it must be
	 * listening (ENOMEM when it cannot start). */
	if (xm_dma_listen())
		return -1;
	atomic_store_explicit(&xm_iova_mode, (int)mode, memory_order_relaxed);
	return 0;
}

int xmem_dma_set_iova_mode(enum xmem_iova_mode mode)
{
	xm_ctl_enter();
	int rc = xm_dma_set_mode(mode);
	xm_ctl_exit(rc != 0, "xmem_dma_set_iova_mode");
	return rc;
}

enum xmem_iova_mode xmem_dma_get_iova_mode(void)
{
	return (enum xmem_iova_mode)atomic_load_explicit(&xm_iova_mode,
							 memory_order_relaxed);
}

static int xm_dma_set_ranges(const struct xmem_iova_range *ranges, size_t n)
{
	if (!ranges || n == 0 || n > XM_MAX_RANGES) {
		if (!ranges)
			xm_cause("ranges is NULL");
		else
			xm_cause("n %zu is not in [1, %d]", n, XM_MAX_RANGES);
		errno = EINVAL;
		return -1;
	}
	struct xm_iova_range r[XM_MAX_RANGES];
	for (size_t i = 0; i < n; i++)
		r[i] = (struct xm_iova_range){ranges[i].start, ranges[i].end};
	xm_ctl_lock();
	int rc = -1;
	struct xm_iova_space ns = {0};
	if (xm_space_ready && xm_space.n_used > 0) {
		xm_cause("regions added in XMEM_IOVA_MODE_ASSIGN hold extents");
		errno = EBUSY;
	} else if (xm_iova_space_init(&ns, r, n) == 0) { /* EINVAL, ENOMEM */
		if (xm_space_ready)
			xm_iova_space_fini(&xm_space);
		xm_space = ns;
		xm_space_ready = true;
		rc = 0;
	} else if (errno == EINVAL) {
		xm_cause("a range has start > end, or two ranges overlap");
	}
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	return rc;
}

int xmem_dma_set_iova_ranges(const struct xmem_iova_range *ranges, size_t n)
{
	xm_ctl_enter();
	int rc = xm_dma_set_ranges(ranges, n);
	xm_ctl_exit(rc != 0, "xmem_dma_set_iova_ranges");
	return rc;
}

void xm_dma_iova_narrow(const struct xm_iova_range *ranges, size_t n)
{
	if (xm_space_ensure() || n == 0)
		return;
	struct xm_iova_range *out = xm_dma_malloc((xm_space.n_ranges + n) * sizeof(*out));
	if (!out)
		return;
	size_t k = 0;
	/* Both lists are disjoint; the pairwise intersections are disjoint
	 * too.  Sorted by xm_iova_space_init below. */
	for (size_t i = 0; i < xm_space.n_ranges; i++) {
		for (size_t j = 0; j < n; j++) {
			uint64_t lo = xm_space.ranges[i].start > ranges[j].start
					      ? xm_space.ranges[i].start : ranges[j].start;
			uint64_t hi = xm_space.ranges[i].end < ranges[j].end
					      ? xm_space.ranges[i].end : ranges[j].end;
			if (lo <= hi && k < xm_space.n_ranges + n)
				out[k++] = (struct xm_iova_range){lo, hi};
		}
	}
	struct xm_iova_space tmp = {0};
	if (k > 0 && xm_iova_space_init(&tmp, out, k) == 0) {
		/* Keep the extents in use; swap the ranges. */
		free(xm_space.ranges);
		xm_space.ranges = tmp.ranges;
		xm_space.n_ranges = tmp.n_ranges;
	} else if (k == 0) {
		xm_log("xmem: dma: a container's IOVA ranges do not meet the "
		       "assigner's; ranges unchanged");
	}
	free(out);
}

/* Fill a table for r per the mode and set it (xm_region_set_iova). */
int xm_dma_iova_prepare(struct xm_dma_reg *reg)
{
	struct xm_region *r = reg->r;
	enum xmem_iova_mode mode = xmem_dma_get_iova_mode();
	size_t ps = (size_t)1 << r->page_shift;
	if (r->iova) {
		if (mode != XMEM_IOVA_MODE_ASSIGN)
			return 0;
		/* A caller's table in ASSIGN mode: hold the hull of its IOVAs so
		 * that the assigner never hands them out. */
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t i = 0; i < r->n_pages; i++) {
			if (r->iova[i] == XMEM_BAD_IOVA)
				continue;
			lo = r->iova[i] < lo ? r->iova[i] : lo;
			hi = r->iova[i] + ps > hi ? r->iova[i] + ps : hi;
		}
		if (lo >= hi)
			return 0;
		if (xm_space_ensure() || xm_iova_reserve(&xm_space, lo, hi - lo))
			return -1; /* EEXIST: it overlaps IOVAs in use */
		reg->iova_hold = lo;
		reg->iova_hold_len = hi - lo;
		return 0;
	}
	if (mode == XMEM_IOVA_MODE_TABLE)
		return 0;
	uint64_t *t = xm_dma_malloc(r->n_pages * sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return -1;
	}
	int rc = 0;
	if (mode == XMEM_IOVA_MODE_VA) {
		rc = xm_iova_fill_linear(t, r->n_pages, ps, r->va);
	} else if (mode == XMEM_IOVA_MODE_PA) {
		rc = xm_iova_pa_table((void *)r->va, r->n_pages, ps, t);
	} else {
		uint64_t base;
		rc = xm_space_ensure();
		if (!rc)
			rc = xm_iova_assign(&xm_space, r->len, ps, &base);
		if (!rc) {
			reg->iova_hold = base;
			reg->iova_hold_len = r->len;
			rc = xm_iova_fill_linear(t, r->n_pages, ps, base);
		}
	}
	if (!rc)
		rc = xm_region_set_iova(r, t);
	int e = errno;
	free(t);
	if (rc) {
		xm_dma_iova_release(reg);
		errno = e;
		return -1;
	}
	return 0;
}

void xm_dma_iova_release(struct xm_dma_reg *reg)
{
	if (reg->iova_hold_len && xm_space_ready)
		xm_iova_release(&xm_space, reg->iova_hold, reg->iova_hold_len);
	reg->iova_hold_len = 0;
}
