/* dma_events.c - the core's region add/remove events (alloc/dma_hooks.h),
 * fanned out to the IOMMU layer's subscribers.  Owns the region records
 * (xm_dma_regs), batching one region onto one subscriber (one dma_map per
 * maximal VA+IOVA-contiguous run, never merged across regions, DMA_AVAIL
 * checked first, identical EEXIST accepted), and the all-or-nothing
 * rollback across subscribers.  Control mutex held throughout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/dma_hooks.h"
#include "alloc/meta.h"
#include "alloc/region.h"
#include "iommu/dma.h"

struct xm_dma_reg *xm_dma_regs;
static uint64_t xm_dma_next_id = 1;

/* ---------------------------------------------------------------- info */

int xm_dma_info_build(const struct xm_dma_reg *reg, struct xm_dma_info *out)
{
	const struct xm_region *r = reg->r;
	size_t ps = (size_t)1 << r->page_shift;
	memset(out, 0, sizeof(*out));
	out->pub.region_id = reg->id;
	out->pub.heap_id = r->heap ? xmem_heap_id(r->heap) : -1;
	out->pub.va = (void *)r->va;
	out->pub.len = r->len;
	out->pub.page_size = ps;
	out->pub.n_pages = r->n_pages;
	out->pub.iova = r->iova;
	if (!r->iova)
		return 0;
	size_t n = 0;
	if (xm_iova_runs(r->va, r->iova, r->n_pages, ps, NULL, 0, &n))
		return -1;
	if (n == 0)
		return 0;
	struct xm_iova_run *tmp = xm_dma_malloc(n * sizeof(*tmp));
	out->runs = xm_dma_malloc(n * sizeof(*out->runs));
	if (!tmp || !out->runs) {
		free(tmp);
		free(out->runs);
		out->runs = NULL;
		errno = ENOMEM;
		return -1;
	}
	xm_iova_runs(r->va, r->iova, r->n_pages, ps, tmp, n, &n);
	for (size_t i = 0; i < n; i++)
		out->runs[i] = (struct xmem_dma_run){(void *)tmp[i].va,
						     tmp[i].iova, tmp[i].len};
	free(tmp);
	out->pub.n_runs = n;
	out->pub.runs = out->runs;
	return 0;
}

void xm_dma_info_free(struct xm_dma_info *info)
{
	free(info->runs);
	info->runs = NULL;
}

/* ---------------------------------------------------------------- blocks */

static struct xm_dma_block *xm_dma_block_new(const struct xm_dma_reg *reg,
					     size_t cap)
{
	size_t bytes = sizeof(struct xm_dma_block) +
		       cap * sizeof(struct xmem_dma_mapping);
	struct xm_dma_block *b = xm_meta_zalloc(bytes);
	if (!b)
		return NULL;
	b->bytes = bytes;
	b->reg = reg;
	return b;
}

void xm_dma_block_free(struct xm_dma_block *b)
{
	if (b)
		xm_meta_free(b, b->bytes);
}

static void xm_dma_count(_Atomic uint64_t *c, int64_t d)
{
	/* Relaxed: a statistic; the control mutex orders writers. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

void xm_dma_block_link(struct xmem_dma_subscriber *s, struct xm_dma_block *b)
{
	size_t owned = 0;
	for (size_t i = 0; i < b->n; i++)
		owned += b->m[i].owned;
	/* Append; the release store publishes b complete to readers. */
	struct xm_dma_block *_Atomic *pp = &s->blocks;
	while (XM_NEXT(*pp))
		pp = &XM_NEXT(*pp)->next;
	atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
	XM_PUBLISH(*pp, b);
	xm_dma_count(&s->regions, 1);
	xm_dma_count(&s->entries, (int64_t)b->n);
	xm_dma_count(&s->owned, (int64_t)owned);
}

void xm_dma_block_unlink(struct xmem_dma_subscriber *s, struct xm_dma_block *b)
{
	size_t owned = 0;
	for (size_t i = 0; i < b->n; i++)
		owned += b->m[i].owned;
	/* Bypass b; readers standing on b still find the rest through its
	 * next, which stays intact.  Free only after a grace period. */
	struct xm_dma_block *_Atomic *pp = &s->blocks;
	while (XM_NEXT(*pp) && XM_NEXT(*pp) != b)
		pp = &XM_NEXT(*pp)->next;
	if (XM_NEXT(*pp) == b)
		XM_PUBLISH(*pp, XM_NEXT(b->next));
	xm_dma_count(&s->regions, -1);
	xm_dma_count(&s->entries, -(int64_t)b->n);
	xm_dma_count(&s->owned, -(int64_t)owned);
}

struct xm_dma_block *xm_dma_block_find(struct xmem_dma_subscriber *s,
				       const struct xm_dma_reg *reg)
{
	xm_for_each_block(b, s)
		if (b->reg == reg)
			return b;
	return NULL;
}

/* ---------------------------------------------------------------- one subscriber */

/* Unmap the owned entries of b, last first, checking each reported size. */
static void xm_dma_unmap_entries(struct xmem_dma_subscriber *s,
				 const struct xm_dma_block *b)
{
	for (size_t i = b->n; i-- > 0;) {
		const struct xmem_dma_mapping *m = &b->m[i];
		if (!m->owned)
			continue;
		uint64_t done = 0;
		xm_dma_count(&s->unmap_calls, 1);
		int rc = s->ops.dma_unmap(s->ctx, m->va, m->iova, m->len, &done);
		if (unlikely(rc != 0 || done != m->len)) {
			xm_dma_count(&s->unmap_errors, 1);
			xm_log("xmem: dma: subscriber %s: unmap of iova %#llx len %#llx "
			       "reported %#llx bytes (%s)",
			       s->name, (unsigned long long)m->iova,
			       (unsigned long long)m->len, (unsigned long long)done,
			       rc ? strerror(errno) : "size mismatch");
		}
	}
}

static int xm_dma_event(struct xmem_dma_subscriber *s, enum xmem_mem_event ev,
			const struct xm_dma_info *info)
{
	if (!s->ops.mem_event)
		return 0;
	xm_dma_count(&s->events, 1);
	errno = 0;
	int rc = s->ops.mem_event(s->ctx, ev, &info->pub);
	if (rc != 0 && errno == 0)
		errno = EPERM; /* a veto without a reason */
	return rc;
}

int xm_dma_sub_add(struct xmem_dma_subscriber *s, const struct xm_dma_reg *reg,
		   const struct xm_dma_info *info, struct xm_dma_block **blk)
{
	*blk = NULL;
	size_t n = info->pub.n_runs;
	/* Every subscriber keeps a block per region (possibly empty), so that
	 * removal knows which regions it saw. */
	struct xm_dma_block *b = xm_dma_block_new(reg, s->ops.dma_map ? n : 0);
	if (!b)
		return -1;
	if (xm_dma_event(s, XMEM_MEM_EVENT_ADD, info)) {
		int e = errno;
		xm_dma_block_free(b);
		errno = e;
		return -1;
	}
	int e = 0;
	if (s->ops.dma_map && n > 0) {
		uint64_t avail;
		if (s->ops.dma_avail && s->ops.dma_avail(s->ctx, &avail) == 0 &&
		    avail < n) {
			e = ENOSPC; /* fail early: nothing mapped */
		}
		for (size_t i = 0; !e && i < n; i++) {
			const struct xmem_dma_run *run = &info->runs[i];
			xm_dma_count(&s->map_calls, 1);
			int rc = s->ops.dma_map(s->ctx, run->va, run->iova, run->len);
			int owned = 1;
			if (rc != 0) {
				e = errno ? errno : EIO;
				if (e == EEXIST && s->ops.dma_lookup &&
				    s->ops.dma_lookup(s->ctx, run->va, run->iova,
						      run->len) == 1) {
					e = 0; /* identical: there already */
					owned = 0;
				} else {
					xm_dma_count(&s->map_errors, 1);
					break;
				}
			}
			b->m[b->n++] = (struct xmem_dma_mapping){
				reg->id, run->va, run->iova, run->len, owned};
		}
	}
	if (e) {
		xm_dma_unmap_entries(s, b);
		xm_dma_event(s, XMEM_MEM_EVENT_REMOVE, info);
		xm_dma_block_free(b);
		errno = e;
		return -1;
	}
	*blk = b;
	return 0;
}

void xm_dma_sub_remove(struct xmem_dma_subscriber *s,
		       const struct xm_dma_info *info, struct xm_dma_block *blk)
{
	if (blk && s->ops.dma_unmap)
		xm_dma_unmap_entries(s, blk);
	xm_dma_event(s, XMEM_MEM_EVENT_REMOVE, info);
}

/* ---------------------------------------------------------------- hooks */

static void xm_dma_reg_link(struct xm_dma_reg *reg)
{
	struct xm_dma_reg **pp = &xm_dma_regs;
	while (*pp && (*pp)->r->va < reg->r->va)
		pp = &(*pp)->next;
	reg->next = *pp;
	*pp = reg;
}

static struct xm_dma_reg *xm_dma_reg_take(struct xm_region *r)
{
	for (struct xm_dma_reg **pp = &xm_dma_regs; *pp; pp = &(*pp)->next) {
		if ((*pp)->r == r) {
			struct xm_dma_reg *reg = *pp;
			*pp = reg->next;
			reg->next = NULL;
			return reg;
		}
	}
	return NULL;
}

int xm_dma_region_added(struct xm_region *r)
{
	struct xm_dma_reg *reg = xm_meta_zalloc(sizeof(*reg));
	if (!reg)
		return -1;
	reg->r = r;
	reg->id = xm_dma_next_id;
	if (xm_dma_iova_prepare(reg)) {
		int e = errno;
		xm_meta_free(reg, sizeof(*reg));
		errno = e;
		return -1;
	}
	struct xm_dma_info info;
	if (!XM_NEXT(xm_dma_subs)) {
		/* Nothing to map now; a later subscriber gets it replayed. */
		xm_dma_next_id++;
		xm_dma_reg_link(reg);
		return 0;
	}
	if (xm_dma_info_build(reg, &info)) {
		int e = errno;
		xm_dma_iova_release(reg);
		xm_meta_free(reg, sizeof(*reg));
		errno = e;
		return -1;
	}

	/* Map on every subscriber, keeping the blocks private until all
	 * succeeded: on failure no reader ever saw them. */
	size_t n_subs = 0, done = 0;
	xm_for_each_sub(s)
		n_subs++;
	struct xm_dma_block **blks = xm_dma_calloc(n_subs, sizeof(*blks));
	struct xmem_dma_subscriber **subs = xm_dma_calloc(n_subs, sizeof(*subs));
	int e = 0;
	if (!blks || !subs) {
		e = ENOMEM;
	} else {
		xm_for_each_sub(s) {
			subs[done] = s;
			if (xm_dma_sub_add(s, reg, &info, &blks[done])) {
				e = errno;
				break;
			}
			done++;
		}
	}
	if (e) {
		while (done-- > 0) {
			xm_dma_sub_remove(subs[done], &info, blks[done]);
			xm_dma_block_free(blks[done]);
		}
	} else {
		for (size_t i = 0; i < n_subs; i++)
			xm_dma_block_link(subs[i], blks[i]);
	}
	free(blks);
	free(subs);
	xm_dma_info_free(&info);
	if (e) {
		xm_dma_iova_release(reg);
		xm_meta_free(reg, sizeof(*reg));
		errno = e;
		return -1;
	}
	xm_dma_next_id++;
	xm_dma_reg_link(reg);
	return 0;
}

void xm_dma_region_removed(struct xm_region *r)
{
	struct xm_dma_reg *reg = xm_dma_reg_take(r);
	if (!reg)
		return; /* xm_dma_region_added failed for it: nothing was done */
	/* ENOMEM for the run list: unmap from the blocks; events get the
	 * region without runs (info still describes it, heap included). */
	struct xm_dma_info info;
	xm_dma_info_build(reg, &info);
	/* Unmap (the registry still lists the entries while they are being
	 * unmapped: it is a superset of what is mapped), then unlink; free the
	 * blocks after one grace period for all subscribers. */
	size_t n_subs = 0, n_blks = 0;
	xm_for_each_sub(s)
		n_subs++;
	struct xm_dma_block *stack[16];
	struct xm_dma_block **blks = n_subs <= 16 ? stack : xm_dma_malloc(n_subs * sizeof(*blks));
	xm_for_each_sub(s) {
		struct xm_dma_block *b = xm_dma_block_find(s, reg);
		xm_dma_sub_remove(s, &info, b);
		if (!b)
			continue;
		xm_dma_block_unlink(s, b);
		if (blks) {
			blks[n_blks++] = b;
		} else {
			/* No memory for the list: one grace period per block
			 * (slow, only under ENOMEM), never a leak and never a
			 * free under a reader. */
			xm_rcu_synchronize();
			xm_dma_block_free(b);
		}
	}
	if (n_blks) {
		/* Readers of the registry leave the blocks before they go. */
		xm_rcu_synchronize();
		for (size_t i = 0; i < n_blks; i++)
			xm_dma_block_free(blks[i]);
	}
	if (blks != stack)
		free(blks);
	xm_dma_info_free(&info);
	xm_dma_iova_release(reg);
	xm_meta_free(reg, sizeof(*reg));
}
