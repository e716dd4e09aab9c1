/* iommu/dma.h - internals of the DMA-mapping layer shared by its files:
 *   dma_events.c   the layer as the core's region listener
 *                  (alloc/region_events.h): region records, batching a
 *                  region onto every subscriber, rollback, strict removal
 *   dma_unmap.c    strict unmapping (EIO and an exact record when a
 *                  device does not unmap), blocks of the registry
 *   dma_subs.c     subscribers: subscribe (with replay), unsubscribe,
 *                  lookup, stats, the RCU-readable mapping registry
 *   dma_iova.c     IOVA modes and the assigner's IOVA space
 *   vfio_attach.c  VFIO containers as subscribers, the default container
 * Public API: include/xmem/xmem_dma.h.
 *
 * Locking: every writer holds the core's control mutex (xm_ctl_lock); the
 * subscriber list and each subscriber's blocks are singly linked RCU lists:
 * next pointers are C11 atomics, published with release stores and read
 * with acquire loads (so a reader that finds a node sees it initialised);
 * readers sit in an RCU read section (liburcu memb through xm_rcu_*), and a
 * writer waits a grace period (xm_rcu_synchronize) after unlinking before it
 * frees.  Readers never block.
 * Invariants (control mutex held, between calls):
 *  - every published region has exactly one xm_dma_reg;
 *  - every live subscriber has exactly one block per xm_dma_reg whose
 *    region has runs or that it needs events for, holding the entries it
 *    mapped for it; a block's entries never change after it is linked;
 *  - an owned entry is mapped on the subscriber's device exactly once. */
#ifndef XM_IOMMU_DMA_H
#define XM_IOMMU_DMA_H

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "alloc/meta.h"
#include "alloc/xm_common.h"
#include "iommu/iova.h"
#include "xmem/xmem_dma.h"

struct xm_region;

/* The layer's own malloc'd memory (run lists, scratch arrays, the IOVA
 * assigner's state) goes through these, so that the metadata allocator's
 * fault injection (testing/xmem_test.h) reaches every allocation of an
 * add, remove or subscribe, and every rollback path behind it. */
static inline void *xm_dma_malloc(size_t n)
{
	if (unlikely(xm_meta_fault())) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

static inline void *xm_dma_calloc(size_t n, size_t size)
{
	if (unlikely(xm_meta_fault())) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(n, size);
}

/* The layer's record of one region (writer side only). */
struct xm_dma_reg {
	struct xm_dma_reg *next;     /* xm_dma_regs, sorted by va */
	struct xm_region  *r;
	uint64_t id;
	uint64_t iova_hold;          /* extent held in the IOVA space */
	uint64_t iova_hold_len;      /* 0: none */
	bool unmapped;               /* removing took its mappings down */
};

/* The mappings one region has on one subscriber.  Immutable once linked. */
struct xm_dma_block {
	struct xm_dma_block *_Atomic next; /* sub->blocks, RCU */
	const struct xm_dma_reg *reg;
	size_t bytes;                /* of this allocation */
	size_t n;
	struct xmem_dma_mapping m[];
};

struct xmem_dma_subscriber {
	struct xmem_dma_subscriber *_Atomic next; /* xm_dma_subs, RCU */
	char name[XMEM_DMA_NAME_MAX];
	struct xmem_dma_ops ops;
	void *ctx;
	struct xm_dma_block *_Atomic blocks; /* in region order of linking, RCU */
	/* Counters: written with the control mutex held, read by anyone.
	 * Relaxed: each is a statistic on its own, no ordering with others. */
	_Atomic uint64_t regions, entries, owned, map_calls, map_errors,
		unmap_calls, unmap_errors, events;
};

/* A region as subscribers see it, with its runs (malloc'd by
 * xm_dma_info_build, freed by xm_dma_info_free).  When the run list cannot
 * be built (-1, ENOMEM), out still describes the region (id, heap, va, len,
 * pages, IOVA table) with no runs: enough for a REMOVE event and for
 * unmapping, which works from the registry's entries, not the runs. */
struct xm_dma_info {
	struct xmem_dma_region_info pub;
	struct xmem_dma_run *runs;
};
int  xm_dma_info_build(const struct xm_dma_reg *reg, struct xm_dma_info *out);
void xm_dma_info_free(struct xm_dma_info *info);

/* Region records, in address order. */
extern struct xm_dma_reg *xm_dma_regs;

/* Bring one region to one subscriber: mem_event ADD, then (if it maps) the
 * DMA_AVAIL check and one dma_map per run.  *blk gets the block (not
 * linked; NULL when the subscriber keeps none).  On failure everything is
 * undone and errno set. */
int  xm_dma_sub_add(struct xmem_dma_subscriber *s, const struct xm_dma_reg *reg,
		    const struct xm_dma_info *info, struct xm_dma_block **blk);
/* Undo xm_dma_sub_add: unmap the block's owned entries (last first, sizes
 * checked), then mem_event REMOVE.  Does not unlink or free the block. */
void xm_dma_sub_remove(struct xmem_dma_subscriber *s,
		       const struct xm_dma_info *info, struct xm_dma_block *blk);
/* Blocks (dma_unmap.c).  new: an empty block with room for cap entries;
 * link / unlink: into / out of the subscriber's RCU list, counters
 * adjusted; free: an unlinked block after a grace period. */
struct xm_dma_block *xm_dma_block_new(const struct xm_dma_reg *reg, size_t cap);
void xm_dma_block_link(struct xmem_dma_subscriber *s, struct xm_dma_block *b);
void xm_dma_block_unlink(struct xmem_dma_subscriber *s, struct xm_dma_block *b);
void xm_dma_block_free(struct xm_dma_block *b);
struct xm_dma_block *xm_dma_block_find(struct xmem_dma_subscriber *s,
				       const struct xm_dma_reg *reg);
/* Replace linked block b by a copy of the entries i with keep[i] (the
 * entries still in place), then free b after a grace period.  Without
 * memory the old block stays (a superset of what is mapped, logged). */
void xm_dma_block_trim(struct xmem_dma_subscriber *s, struct xm_dma_block *b,
		       const bool *keep);

/* Unmapping (dma_unmap.c).  unmap_entries: every owned entry of b, last
 * first, errors counted and logged, nothing else (rollback, forgetting).
 * unmap_strict: the same, but it stops at the first unmap that fails or
 * reports another size, puts that entry back as recorded (unmapping the
 * rest of its range and mapping it again; when that map fails too the entry
 * stays recorded: the device may still map part of it), sets *failed to its
 * index and returns -1 with EIO.  The owned entries after *failed are then
 * unmapped, those before it in place.  remap: map the owned entries from
 * index `from` on again; an entry the device refuses gets keep[i] = false
 * (keep may be NULL); returns how many were refused. */
void   xm_dma_unmap_entries(struct xmem_dma_subscriber *s,
			    const struct xm_dma_block *b);
int    xm_dma_unmap_strict(struct xmem_dma_subscriber *s,
			   const struct xm_dma_block *b, size_t *failed);
/* Map b's owned entries from `from` on again; those the device refuses
 * leave the registry (b is trimmed to what is mapped). */
void xm_dma_remap_trim(struct xmem_dma_subscriber *s, struct xm_dma_block *b,
		       size_t from);
size_t xm_dma_remap(struct xmem_dma_subscriber *s, const struct xm_dma_block *b,
		    size_t from, bool *keep);
/* A counter of a subscriber (relaxed: statistics only). */
void   xm_dma_count(_Atomic uint64_t *c, int64_t d);

/* Register the layer as the core's region listener, once, creating the
 * records of regions published before (control mutex held / taken).  Every
 * public entry point that can change what the layer does to a region calls
 * it first.  -1 with ENOMEM (the next call tries again). */
int  xm_dma_listen_locked(void);
int  xm_dma_listen(void);

/* Subscribers, control mutex held. */
extern struct xmem_dma_subscriber *_Atomic xm_dma_subs;

/* RCU list steps: acquire loads pair with the release stores of linking. */
#define XM_NEXT(p) atomic_load_explicit(&(p), memory_order_acquire)
#define XM_PUBLISH(p, v) atomic_store_explicit(&(p), (v), memory_order_release)
#define xm_for_each_sub(s) \
	for (struct xmem_dma_subscriber *s = XM_NEXT(xm_dma_subs); s; s = XM_NEXT(s->next))
#define xm_for_each_block(b, sub) \
	for (struct xm_dma_block *b = XM_NEXT((sub)->blocks); b; b = XM_NEXT(b->next))
struct xmem_dma_subscriber *xm_dma_subscribe_locked(const char *name,
						    const struct xmem_dma_ops *ops,
						    void *ctx);
int  xm_dma_unsubscribe_locked(struct xmem_dma_subscriber *s);
bool xm_dma_sub_live(const struct xmem_dma_subscriber *s);

/* IOVA modes, control mutex held.  xm_dma_iova_prepare gives r its IOVAs
 * in the VA, PA and ASSIGN modes when it has none, and holds its extent in
 * the IOVA space (reg->iova_hold*); xm_dma_iova_release gives it back. */
int  xm_dma_iova_prepare(struct xm_dma_reg *reg);
void xm_dma_iova_release(struct xm_dma_reg *reg);
/* Narrow the assigner's ranges to their intersection with these (a VFIO
 * container's valid ranges).  An empty intersection changes nothing. */
void xm_dma_iova_narrow(const struct xm_iova_range *ranges, size_t n);

#endif
