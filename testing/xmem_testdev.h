/* xmem_testdev.h - the test backend of the DMA-mapping layer, for tests
 * only (library //testing:xmem_test, never installed, not in libxmem.so).
 * It is a subscriber built on the public API of xmem_dma.h alone.
 * Conventions are those of xmem.h: -1 or NULL with errno set to one of the
 * codes listed for the function; a failed call changes nothing. */
#ifndef XMEM_TESTDEV_H
#define XMEM_TESTDEV_H

#include <stdint.h>

#include <xmem/xmem_dma.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Test backend with fault injection                                        */
/* ------------------------------------------------------------------------ */

/* A software "IOMMU" that subscribes like a device: it keeps the set of
 * mapped IOVA extents (EEXIST on overlap, as VFIO type1 does), a limit of
 * entries (ENOSPC, and dma_avail), a log of every call, and one armed fault
 * at a time. */
struct xmem_dma_testdev; /* opaque */

/* Faults: map calls fail with ENOSPC, EEXIST or EFAULT; an unmap call
 * unmaps (and reports) one page less than asked. */
enum xmem_testdev_fault {
	XMEM_TESTDEV_FAULT_NONE        = 0,
	XMEM_TESTDEV_FAULT_MAP_ENOSPC  = 1,
	XMEM_TESTDEV_FAULT_MAP_EEXIST  = 2,
	XMEM_TESTDEV_FAULT_MAP_EFAULT  = 3,
	XMEM_TESTDEV_FAULT_SHORT_UNMAP = 4,
};

/* Create a test device and subscribe it under name (existing regions are
 * replayed).  max_entries 0: no limit (and no dma_avail).
 * Errors: those of xmem_dma_subscribe (EINVAL, EEXIST, ENOMEM, ENOSPC). */
struct xmem_dma_testdev *xmem_dma_testdev_create(const char *name,
                                                 uint64_t max_entries);

/* Disarm any fault, unsubscribe (unmapping everything xmem mapped) and free
 * it.  An unsubscribe that fails with EIO (an extent unmapped behind xmem's
 * back: the failed attempt maps it again) is retried.
 * EINVAL: t NULL or not a live test device. */
int xmem_dma_testdev_destroy(struct xmem_dma_testdev *t);

/* Its subscriber handle (for stats and walks).  NULL with EINVAL if t is
 * NULL or not a live test device. */
struct xmem_dma_subscriber *xmem_dma_testdev_subscriber(struct xmem_dma_testdev *t);

/* Arm a fault: the (skip + 1)-th following map call (unmap call for
 * SHORT_UNMAP) fails as given; it then disarms.  FAULT_NONE disarms.
 * EINVAL: t NULL or fault unknown. */
int xmem_dma_testdev_inject(struct xmem_dma_testdev *t,
                            enum xmem_testdev_fault fault, uint64_t skip);

/* Map an extent on the device behind xmem's back (as another user of the
 * container would): used to provoke identical and conflicting EEXIST.
 * xmem_dma_testdev_unmap_direct removes exactly such an extent.
 * EINVAL: t NULL or not a live test device, len 0, or va (map), iova or
 *         len not 4 KiB aligned.  EEXIST: overlaps a mapping.
 * ENOENT (unmap): no mapping is exactly that. */
int xmem_dma_testdev_map_direct(struct xmem_dma_testdev *t, void *va,
                                uint64_t iova, uint64_t len);
int xmem_dma_testdev_unmap_direct(struct xmem_dma_testdev *t, uint64_t iova,
                                  uint64_t len);

struct xmem_dma_testdev_stats {
	uint64_t map_calls;     /* every map call xmem made, ok or failed */
	uint64_t map_failed;
	uint64_t unmap_calls;
	uint64_t unmap_short;   /* unmaps that reported less than asked */
	uint64_t entries;       /* extents mapped now (direct ones included) */
	uint64_t mapped_bytes;
	uint64_t faults_fired;
};

/* EINVAL: t or out NULL. */
int xmem_dma_testdev_get_stats(struct xmem_dma_testdev *t,
                               struct xmem_dma_testdev_stats *out);

/* One logged call.  op is 'M' (map) or 'U' (unmap); result is 0 or the
 * errno; for unmaps, done is the size reported. */
struct xmem_dma_testdev_call {
	char     op;
	void    *va;
	uint64_t iova;
	uint64_t len;
	uint64_t done;
	int      result;
};

/* Copy logged call number i (0 = oldest since the last clear).  Returns 0.
 * EINVAL: t or out NULL.  ENOENT: i is not below the number of calls. */
int xmem_dma_testdev_call(struct xmem_dma_testdev *t, uint64_t i,
                          struct xmem_dma_testdev_call *out);

/* Empty the call log and zero the call counters (not the mappings).
 * EINVAL: t NULL. */
int xmem_dma_testdev_clear_log(struct xmem_dma_testdev *t);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_TESTDEV_H */
