/* region_events.h - owns the contract between the core and whoever must
 * follow its regions (the IOMMU layer, iommu/): listeners that the follower
 * registers at run time, in the manner of SPDK's spdk_mem_map_alloc notify
 * callbacks.  The core never names the follower: alloc/ builds and runs
 * without iommu/.
 *
 * Every callback runs with the control mutex held (xm_ctl_lock), for heap
 * chunks and translation-only registrations alike, and must not call
 * control-plane functions.  The order of one region's life:
 *
 *   publish:    added -> (r enters the page map and the IOVA table)
 *               A failure after added calls removed (never removing).
 *   unpublish:  (the smaller IOVA table is built: ENOMEM changes nothing)
 *               removing -> (r leaves the page map and the IOVA table; one
 *               RCU grace period) -> removed
 *               removing may fail: the core then calls remove_undo on the
 *               listeners whose removing succeeded (last first), keeps r
 *               published and the call fails with removing's errno (EIO).
 *
 * With several listeners, added and removed go in registration order,
 * removing and remove_undo in reverse. */
#ifndef XM_REGION_EVENTS_H
#define XM_REGION_EVENTS_H

struct xm_region;

struct xm_region_listener {
	/* r is built and overlaps nothing, but is not published.  The
	 * listener may give r IOVAs (xm_region_set_iova).  0, or -1 with errno
	 * after undoing all it did: the add or register call then fails with
	 * that errno and changes nothing. */
	int  (*added)(void *ctx, struct xm_region *r);
	/* r is still published (translatable; a heap chunk has no live
	 * allocation and has left its heap's list).  Take r's device
	 * mappings down.  0, or -1 with errno (EIO) after restoring what it
	 * took down: r stays as it was for this listener. */
	int  (*removing)(void *ctx, struct xm_region *r);
	/* Undo a successful removing: r stays published after all. */
	void (*remove_undo)(void *ctx, struct xm_region *r);
	/* r is gone: unpublished and a grace period passed, or never published
	 * (a failure after added).  Forget r; whatever removing did not take
	 * down is taken down here, best effort.  Cannot fail. */
	void (*removed)(void *ctx, struct xm_region *r);
	void *ctx;
};

#define XM_REGION_LISTENERS_MAX 4

/* Register l (copied).  Control mutex held.  Regions already published are
 * not replayed: the listener catches up itself (xm_region_foreach).
 * ENOSPC: XM_REGION_LISTENERS_MAX listeners are registered already.
 * EINVAL: l NULL, or added, removing, remove_undo or removed NULL. */
int xm_region_listen(const struct xm_region_listener *l);

#endif
