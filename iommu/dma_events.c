/* dma_events.c - the IOMMU layer as a region listener of the core
 * (alloc/region_events.h), fanned out to the layer's subscribers.  Owns the
 * listener's registration (lazy, with catch-up: xm_dma_listen), the region
 * records (xm_dma_regs), batching one region onto one subscriber (one
 * dma_map per maximal VA+IOVA-contiguous run, never merged across regions,
 * DMA_AVAIL checked first, identical EEXIST accepted), the all-or-nothing
 * rollback across subscribers, and removal that unmaps before the core
 * unpublishes and fails with EIO, restoring every mapping, when a device
 * does not unmap exactly.  Control mutex held throughout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/region_events.h"
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

/* ---------------------------------------------------------------- one subscriber */

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
		xm_cause("subscriber \"%s\" vetoed the region [%p, +%#zx) (mem_event ADD)",
			 s->name, info->pub.va, info->pub.len);
		xm_dma_block_free(b);
		errno = e;
		return -1;
	}
	int e = 0;
	if (s->ops.dma_map && n > 0) {
		uint64_t avail;
		if (s->ops.dma_avail && s->ops.dma_avail(s->ctx, &avail) == 0 &&
		    avail < n) {
			xm_cause("subscriber \"%s\" has %llu free mapping entries, the "
				 "region needs %zu", s->name, (unsigned long long)avail, n);
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
					xm_cause("subscriber \"%s\": dma_map of iova %#llx "
						 "len %#llx failed (%s)", s->name,
						 (unsigned long long)run->iova,
						 (unsigned long long)run->len, strerror(e));
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

/* ---------------------------------------------------------------- the listener */

static void xm_dma_reg_link(struct xm_dma_reg *reg)
{
	struct xm_dma_reg **pp = &xm_dma_regs;
	while (*pp && (*pp)->r->va < reg->r->va)
		pp = &(*pp)->next;
	reg->next = *pp;
	*pp = reg;
}

static struct xm_dma_reg *xm_dma_reg_find(const struct xm_region *r)
{
	for (struct xm_dma_reg *reg = xm_dma_regs; reg; reg = reg->next)
		if (reg->r == r)
			return reg;
	return NULL;
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

static int xm_dma_on_added(void *ctx, struct xm_region *r)
{
	(void)ctx;
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

/* Map again the owned entries of reg's blocks on the subscribers before
 * `stop` (every subscriber when NULL): they were unmapped by a removal that
 * is not going ahead.  An entry the device refuses now is dropped from the
 * registry (it is not mapped; counted in map_errors and logged). */
static void xm_dma_remap_before(struct xm_dma_reg *reg,
				const struct xmem_dma_subscriber *stop)
{
	xm_for_each_sub(s) {
		if (s == stop)
			break;
		struct xm_dma_block *b = xm_dma_block_find(s, reg);
		if (b && s->ops.dma_map)
			xm_dma_remap_trim(s, b, 0);
	}
}

/* Take r's mappings down on every subscriber, first to last, each block's
 * entries last first, checking every reported size.  At the first unmap
 * that fails or comes back short, everything this call took down is mapped
 * again (xm_dma_unmap_strict restores the failing entry itself), REMOVE is
 * sent to no one, and the removal fails with EIO. */
static int xm_dma_on_removing(void *ctx, struct xm_region *r)
{
	(void)ctx;
	struct xm_dma_reg *reg = xm_dma_reg_find(r);
	if (!reg)
		return 0;
	xm_for_each_sub(s) {
		struct xm_dma_block *b = xm_dma_block_find(s, reg);
		size_t bad;
		if (!b || !s->ops.dma_unmap || xm_dma_unmap_strict(s, b, &bad) == 0)
			continue;
		/* This block: the entries after `bad` were unmapped. */
		xm_dma_remap_trim(s, b, bad + 1);
		xm_dma_remap_before(reg, s);
		errno = EIO;
		return -1;
	}
	reg->unmapped = true;
	return 0;
}

static void xm_dma_on_remove_undo(void *ctx, struct xm_region *r)
{
	(void)ctx;
	struct xm_dma_reg *reg = xm_dma_reg_find(r);
	if (!reg || !reg->unmapped)
		return;
	xm_dma_remap_before(reg, NULL);
	reg->unmapped = false;
}

static void xm_dma_on_removed(void *ctx, struct xm_region *r)
{
	(void)ctx;
	struct xm_dma_reg *reg = xm_dma_reg_take(r);
	if (!reg)
		return; /* added failed for it: nothing was done */
	/* ENOMEM for the run list: unmap from the blocks; events get the
	 * region without runs (info still describes it, heap included). */
	struct xm_dma_info info;
	xm_dma_info_build(reg, &info);
	/* Unmap what removing did not (a failed publish never called it): the
	 * registry still lists the entries while they are being unmapped, a
	 * superset of what is mapped.  Then unlink; free the blocks after one
	 * grace period for all subscribers. */
	size_t n_subs = 0, n_blks = 0;
	xm_for_each_sub(s)
		n_subs++;
	struct xm_dma_block *stack[16];
	struct xm_dma_block **blks = n_subs <= 16 ? stack : xm_dma_malloc(n_subs * sizeof(*blks));
	xm_for_each_sub(s) {
		struct xm_dma_block *b = xm_dma_block_find(s, reg);
		xm_dma_sub_remove(s, &info, reg->unmapped ? NULL : b);
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

/* ---------------------------------------------------------------- registration */

/* Set once, with the control mutex held, after the listener is registered
 * and the records caught up; read without the mutex by xm_dma_listen's fast
 * check: release/acquire, so a thread that sees it set also sees the
 * registration done. */
static _Atomic bool xm_dma_listening;

/* The records of regions published before the layer listened: they were
 * added with no subscriber and in TABLE mode (every IOVA-mode change goes
 * through xm_dma_listen first), so a record is all the layer would have
 * made for them. */
static void xm_dma_catch_up(struct xm_region *r, void *arg)
{
	int *e = arg;
	if (*e || xm_dma_reg_find(r))
		return;
	struct xm_dma_reg *reg = xm_meta_zalloc(sizeof(*reg));
	if (!reg) {
		*e = errno ? errno : ENOMEM;
		return;
	}
	reg->r = r;
	reg->id = xm_dma_next_id++;
	xm_dma_reg_link(reg);
}

int xm_dma_listen_locked(void)
{
	if (atomic_load_explicit(&xm_dma_listening, memory_order_relaxed))
		return 0; /* the mutex orders this with the store below */
	int e = 0;
	xm_region_foreach(xm_dma_catch_up, &e);
	if (e) {
		/* The records made so far stay: the next try skips them. */
		errno = e;
		return -1;
	}
	static const struct xm_region_listener l = {
		.added = xm_dma_on_added,
		.removing = xm_dma_on_removing,
		.remove_undo = xm_dma_on_remove_undo,
		.removed = xm_dma_on_removed,
	};
	if (xm_region_listen(&l))
		return -1;
	atomic_store_explicit(&xm_dma_listening, true, memory_order_release);
	return 0;
}

int xm_dma_listen(void)
{
	if (atomic_load_explicit(&xm_dma_listening, memory_order_acquire))
		return 0;
	xm_ctl_lock();
	int rc = xm_dma_listen_locked();
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	return rc;
}
