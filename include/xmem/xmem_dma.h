/** @file xmem_dma.h
 * xmem_dma.h - the public API of xmem's DMA-mapping layer (iommu/): how the
 * regions that xmem_heap_add_memory and xmem_register create get IOVAs and
 * are mapped for devices.
 *
 *  - IOVA modes: the caller's table, IOVA=VA, IOVA=PA (from
 *    /proc/self/pagemap), or IOVAs xmem assigns from the valid IOVA ranges so
 *    that a whole region is one contiguous IOVA extent.
 *  - Subscribers: memory-event callbacks (add, remove) and device-level
 *    dma_map / dma_unmap operations.  A subscriber gets every region that
 *    already exists replayed when it subscribes, and every later one.  The
 *    VFIO backend (xmem_vfio_attach in xmem_vfio.h) is one such subscriber.
 *  - Batching: a region is mapped with one dma_map call per maximal run of
 *    pages contiguous in both VA and IOVA; runs of different regions are
 *    never merged.  Removal unmaps exactly the entries the region created,
 *    before the region is unpublished, and checks the size each unmap
 *    reports: a failure or another size fails the removal with EIO and
 *    changes nothing (see "Unmap failures" below).
 *  - Registry: every mapping is recorded per subscriber and per region, and
 *    can be read without blocking (RCU).
 *  - A failing map rolls back everything the region mapped on every
 *    subscriber: the add (or register) call fails with that errno and
 *    changes nothing.
 *
 * Conventions are those of xmem.h: -1 or NULL with errno set to one of the
 * codes listed for the function; a failed call changes nothing.
 *
 * Callbacks (ops below, memory events) run with xmem's control mutex held:
 * they must not call xmem's control-plane functions (heap create/destroy,
 * add/remove memory, register/unregister, subscribe/unsubscribe, attach or
 * detach), or they deadlock.  Allocation, free and translation are fine. */
#ifndef XMEM_XMEM_DMA_H
#define XMEM_XMEM_DMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------ */
/* IOVA modes                                                               */
/* ------------------------------------------------------------------------ */

/** How a region added with iova == NULL gets its IOVAs.  A region added with
 * a table always keeps the caller's table, in every mode. */
enum xmem_iova_mode {
	XMEM_IOVA_MODE_TABLE  = 0, /**< default: no table means no IOVA
	                              (XMEM_BAD_IOVA), nothing is mapped */
	XMEM_IOVA_MODE_VA     = 1, /**< IOVA = VA: one run per region */
	XMEM_IOVA_MODE_PA     = 2, /**< IOVA = PA from /proc/self/pagemap: needs
	                              root and resident (touched, locked) pages */
	XMEM_IOVA_MODE_ASSIGN = 3, /**< one contiguous extent per region, from the
	                              valid IOVA ranges: one run per region */
};

/** Select the mode for regions added from now on.
 * EINVAL: mode is not one of the values above.
 * ENOMEM: the first call into the DMA layer starts it following the core's
 *         regions, which needs a record of each region added before; no
 *         memory for them (a later call tries again). */
int xmem_dma_set_iova_mode(enum xmem_iova_mode mode);

/** The current mode (never fails). */
enum xmem_iova_mode xmem_dma_get_iova_mode(void);

/** One valid IOVA range, both ends inclusive (as VFIO reports them). */
struct xmem_iova_range {
	uint64_t start;
	uint64_t end;
};

/** Start of the default IOVA range of XMEM_IOVA_MODE_ASSIGN. */
#define XMEM_DMA_DEFAULT_IOVA_START ((uint64_t)1 << 32)
/** End (inclusive) of the default IOVA range of XMEM_IOVA_MODE_ASSIGN. */
#define XMEM_DMA_DEFAULT_IOVA_END   (((uint64_t)1 << 39) - 1)

/** The ranges XMEM_IOVA_MODE_ASSIGN takes extents from, before any container
 * narrows them: by default XMEM_DMA_DEFAULT_IOVA_START to
 * XMEM_DMA_DEFAULT_IOVA_END, which any IOMMU with 39 address bits accepts.
 * Attaching a VFIO container intersects them with the container's valid
 * ranges.  Assigned extents are aligned to the region's page size, and IOVA
 * 0 is never assigned.
 * EINVAL: ranges NULL or n 0 or n > 64; a range with start > end; two ranges
 *         overlap.
 * EBUSY:  extents are assigned (regions added in ASSIGN mode exist).
 * ENOMEM: no memory for the copy. */
int xmem_dma_set_iova_ranges(const struct xmem_iova_range *ranges, size_t n);

/* ------------------------------------------------------------------------ */
/* Regions as subscribers see them                                          */
/* ------------------------------------------------------------------------ */

/** One maximal run of a region contiguous in both VA and IOVA: one map call. */
struct xmem_dma_run {
	void    *va;
	uint64_t iova;
	uint64_t len;
};

/** A region as subscribers see it (mem_event, replay). */
struct xmem_dma_region_info {
	uint64_t region_id;        /**< unique for the process's lifetime */
	int      heap_id;          /**< -1: translation only (xmem_register) */
	void    *va;
	size_t   len;
	size_t   page_size;
	size_t   n_pages;
	const uint64_t *iova;      /**< n_pages entries, or NULL: no IOVAs */
	size_t   n_runs;
	const struct xmem_dma_run *runs; /**< valid during the callback only */
};

/** What happens to a region, for mem_event. */
enum xmem_mem_event {
	XMEM_MEM_EVENT_ADD    = 1, /**< before the region is published */
	XMEM_MEM_EVENT_REMOVE = 2, /**< after it is unpublished (or rolled back);
	                              never for a removal that failed */
};

/* ------------------------------------------------------------------------ */
/* Subscribers                                                              */
/* ------------------------------------------------------------------------ */

/** What a subscriber does; any member may be NULL, but not all of
 * mem_event, dma_map.  dma_map and dma_unmap come together.
 *
 * mem_event  called on ADD and REMOVE with the region.  Returning -1 (errno
 *            set) on ADD vetoes the region: the add fails with that errno
 *            (EPERM if the callback set none) and everything done for it is
 *            rolled back.  The result on REMOVE is ignored.
 * dma_map    map [va, va + len) at iova; 0, or -1 with errno (EEXIST when
 *            the IOVA range overlaps an existing mapping, ENOSPC when out of
 *            entries, ...).
 * dma_unmap  unmap [iova, iova + len) that dma_map mapped; *unmapped gets
 *            the number of bytes really unmapped.  0, or -1 with errno.  An
 *            unmap error is a call that fails or reports unmapped != len:
 *            xmem counts it (unmap_errors), logs it, and fails the removal
 *            or unsubscribe with EIO (see "Unmap failures" below).
 * dma_avail  (optional) mapping entries still available: 0 with *avail, or
 *            -1 (not known).  Checked before a region is mapped: fewer than
 *            the region's runs fail the add early with ENOSPC.
 * dma_lookup (optional) 1 if exactly [va, va + len) -> iova is mapped
 *            already, 0 if not.  On EEXIST from dma_map, an identical
 *            mapping counts as success (recorded as not owned: removal does
 *            not unmap it); without dma_lookup, or when it returns 0, EEXIST
 *            is a conflict and fails the add. */
struct xmem_dma_ops {
	int (*mem_event)(void *ctx, enum xmem_mem_event ev,
	                 const struct xmem_dma_region_info *region);
	int (*dma_map)(void *ctx, void *va, uint64_t iova, uint64_t len);
	int (*dma_unmap)(void *ctx, void *va, uint64_t iova, uint64_t len,
	                 uint64_t *unmapped);
	int (*dma_avail)(void *ctx, uint64_t *avail);
	int (*dma_lookup)(void *ctx, void *va, uint64_t iova, uint64_t len);
};

struct xmem_dma_subscriber; /* opaque */

#define XMEM_DMA_NAME_MAX 32 /**< bytes, including the NUL */

/** Subscribe.  Every region that exists is replayed first (mem_event ADD and
 * its runs mapped), in address order; if that fails, everything the replay
 * did is undone and NULL is returned.  ops is copied.
 * EINVAL: name NULL, empty or XMEM_DMA_NAME_MAX bytes or longer; ops NULL;
 *         neither mem_event nor dma_map given; dma_map without dma_unmap or
 *         the reverse.
 * EEXIST: a subscriber of that name exists.
 * ENOMEM: no memory for the subscriber or its registry entries.
 * ENOSPC: dma_avail reports fewer entries than the replay needs.
 * Other:  the errno of the failing mem_event or dma_map of the replay. */
struct xmem_dma_subscriber *xmem_dma_subscribe(const char *name,
                                               const struct xmem_dma_ops *ops,
                                               void *ctx);

/** A memory-event callback: xmem_dma_ops.mem_event on its own. */
typedef int (*xmem_mem_event_fn)(void *ctx, enum xmem_mem_event ev,
                                 const struct xmem_dma_region_info *region);
/** Memory-event callbacks only: xmem_dma_subscribe with just mem_event (its
 * errors too; fn NULL is EINVAL). */
struct xmem_dma_subscriber *xmem_mem_event_register(const char *name,
                                                    xmem_mem_event_fn fn,
                                                    void *ctx);

/* Unmap failures.  A removal (xmem_heap_remove_memory, xmem_unregister)
 * unmaps the region on every subscriber, in subscription order, each
 * region's entries last first, before the region is unpublished.  At the
 * first unmap that fails or reports another size than the entry's:
 *  - that entry is put back as recorded: if the call unmapped nothing (it
 *    failed with an errno other than ENOENT and reported 0 bytes) it is
 *    left alone; otherwise the rest of its range is unmapped and the entry
 *    mapped again.  If that map fails, the device may still map part of it,
 *    so the entry is kept recorded (the registry stays a superset of what
 *    the device maps, never a subset);
 *  - every other entry the removal took down (on this and on earlier
 *    subscribers) is mapped again.  An entry a device refuses now is not
 *    mapped: it is dropped from the registry (map_errors counts it, the log
 *    says so), so the registry still says what is mapped;
 *  - no REMOVE event is sent, the region stays published, allocatable and
 *    translatable, its assigned IOVA extent stays reserved, and the call
 *    fails with EIO.
 * Unsubscribing unmaps the same way (last region first), and on the first
 * failure restores the same way: the failing entry put back as above, every
 * other entry it took down mapped again (one a device refuses leaves the
 * registry).  The subscriber stays live, gets no REMOVE, and holds what it
 * held before; a retry once the device unmaps again finishes the job. */

/** Unsubscribe: unmap every entry the subscriber's regions created (checking
 * the sizes), send REMOVE for every region, then forget it.  The handle is
 * invalid afterwards.
 * EINVAL: s is NULL or not a live subscriber.
 * EIO:    a dma_unmap failed or reported another size (see "Unmap
 *         failures"): what was unmapped is mapped again, s stays
 *         subscribed with the same mappings; counted and logged.  A retry
 *         finishes. */
int xmem_dma_unsubscribe(struct xmem_dma_subscriber *s);

/** The live subscriber of that name.  Never blocks (RCU).
 * EINVAL: name NULL or empty.  ENOENT: none has that name. */
struct xmem_dma_subscriber *xmem_dma_subscriber_lookup(const char *name);

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

/** One recorded mapping of one region on one subscriber. */
struct xmem_dma_mapping {
	uint64_t region_id;
	void    *va;
	uint64_t iova;
	uint64_t len;
	int      owned;  /**< 1: this region's map call created it; 0: it was
	                    there already (identical EEXIST), never unmapped */
};

/** Call fn for every recorded mapping of s (NULL: of every subscriber), in an
 * RCU read section: never blocks writers for long, and sees each region's
 * mappings all or none.  fn must not block nor call control-plane
 * functions; returning non-zero stops the walk.  Returns the number of
 * mappings visited.
 * EINVAL: fn NULL, or s not NULL and not a live subscriber. */
long xmem_dma_mapping_walk(const struct xmem_dma_subscriber *s,
                           int (*fn)(const char *subscriber,
                                     const struct xmem_dma_mapping *m,
                                     void *arg),
                           void *arg);

/** Counters of one subscriber (xmem_dma_get_stats). */
struct xmem_dma_stats {
	uint64_t regions;      /**< regions currently mapped on it */
	uint64_t entries;      /**< mappings recorded now (owned or not) */
	uint64_t owned;        /**< of which created by xmem (will be unmapped) */
	uint64_t map_calls;    /**< dma_map calls, ok or failed */
	uint64_t map_errors;   /**< failed dma_map calls (identical EEXIST not) */
	uint64_t unmap_calls;  /**< dma_unmap calls */
	uint64_t unmap_errors; /**< failed, or another size reported */
	uint64_t events;       /**< mem_event calls */
};

/** Counters of one subscriber.  Never blocks.
 * EINVAL: s or out NULL, or s not a live subscriber. */
int xmem_dma_get_stats(const struct xmem_dma_subscriber *s,
                       struct xmem_dma_stats *out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_DMA_H */
