/* heap.h - heaps, spans and the per-heap allocation state.
 *
 * A heap owns a list of regions (the chunks added to it).  Memory is carved
 * from regions in 4 KiB units, first-fit, and never across a page boundary
 * where the IOVA jumps (so every span and every block is IOVA-contiguous):
 *  - a span holds equal objects of one size class; its free objects are a
 *    bitmap in the span descriptor, never in managed memory (invariant 1);
 *  - a large block is a span of one object, page-granular.
 *
 * Locking: the heap lock guards everything below `lock`, the regions' unit
 * maps and the spans.  The list of regions changes under both the control
 * mutex and the heap lock. */
#ifndef XM_HEAP_H
#define XM_HEAP_H

#include <pthread.h>

#include "depot.h"
#include "region.h"
#include "sizeclass.h"

#define XM_HEAP_MAGIC 0x78686561u /* "xhea" */
#define XM_CLS_LARGE  (-1)

struct xm_span {
	struct xm_region *region;
	struct xmem_heap *heap;
	uint64_t heap_serial;         /* heap->serial and heap->id, copied so */
	int32_t  heap_id;             /* that free finds its cache from here */
	uintptr_t base;
	struct xm_span *prev, *next;  /* class list of spans with free objects */
	size_t   obj_size;            /* usable bytes of each object */
	uint32_t n_units;
	int32_t  cls;                 /* class index, or XM_CLS_LARGE */
	uint32_t n_objs;
	uint32_t n_free;
	uint32_t hint;                /* no free bit in words below this */
	uint32_t desc_bytes;          /* size of this descriptor */
	uint64_t free_bits[];         /* bit i: object i is free */
};

/* Counters come in two layers.  Span level (heap lock): objects outside
 * their spans, wherever they are (user, lcore cache, depot) -- what removal
 * checks.  User level: blocks handed out minus blocks given back, counted by
 * the locked path here and by each lcore cache for itself (struct
 * xm_lcache); stats add them up. */
struct xm_class {
	struct xm_span *partial;      /* spans with a free object */
	uint32_t n_empty;             /* fully free spans kept on that list */
	uint64_t out;                 /* span level */
	uint64_t allocs, frees;       /* user level, locked path */
	uint64_t spans;
	uint64_t span_bytes;
};

struct xmem_heap {
	uint32_t magic;
	int      id;
	uint64_t serial;              /* unique per heap ever created */
	char     name[XMEM_HEAP_NAME_MAX];
	pthread_mutex_t lock;

	struct xm_region *regions;
	size_t   n_regions;
	size_t   total_bytes;
	uint64_t large_count;         /* live large blocks */
	size_t   large_bytes;
	size_t   span_meta_bytes;
	struct xm_class cls[XMEM_NUM_CLASSES];

	/* Fast path (cache.c): full magazines per class, empty ones for
	 * reuse, and the mutex that serialises drainers. */
	struct xm_stack depot[XMEM_NUM_CLASSES];
	struct xm_stack empties;
	pthread_mutex_t drain_lock;

	struct xmem_heap *free_next;  /* on the dead-descriptor list */
};

/* The heap table, indexed by id; slots are RCU-published. */
extern struct xmem_heap *xm_heaps[XMEM_MAX_HEAPS];

/* A handle may be dead (destroyed), and its descriptor then reused, by
 * another thread, for a new heap: heap descriptors are kept on their own
 * free list and never become other metadata, so magic, id and serial are
 * only ever written as what they are.  Handle checks read them with these
 * atomic loads, and creation writes them atomically, magic last with
 * release (plain moves on x86-64). */
static inline uint32_t xm_heap_magic(const struct xmem_heap *h)
{
	return __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
}
static inline int xm_heap_idx(const struct xmem_heap *h)
{
	return __atomic_load_n(&h->id, __ATOMIC_RELAXED);
}
static inline uint64_t xm_heap_serial(const struct xmem_heap *h)
{
	return __atomic_load_n(&h->serial, __ATOMIC_RELAXED);
}

/* True when h is a live heap.  A dead heap's descriptor stays readable
 * (see above), so the checks cannot fault. */
static inline bool xm_heap_live(const struct xmem_heap *h)
{
	if (!h || xm_heap_magic(h) != XM_HEAP_MAGIC)
		return false;
	int id = xm_heap_idx(h);
	return (unsigned)id < XMEM_MAX_HEAPS &&
	       __atomic_load_n(&xm_heaps[id], __ATOMIC_ACQUIRE) == h;
}

/* span.c, heap lock held. */
struct xm_span *xm_span_carve(struct xmem_heap *h, int cls, size_t units,
			      size_t align);
void   xm_span_release(struct xmem_heap *h, struct xm_span *s);
size_t xm_region_largest_free(const struct xm_region *r);

/* alloc.c, heap lock held: drop every (empty) span of r. */
void xm_heap_release_region_spans(struct xmem_heap *h, struct xm_region *r);
/* alloc.c, heap lock held: give back the empty spans the classes keep. */
void xm_heap_release_empty(struct xmem_heap *h);

/* alloc.c, heap lock held: take up to want objects of class cls out of
 * spans (carving as needed), or put n objects back; span level only. */
unsigned xm_span_fill(struct xmem_heap *h, int cls, void **out, unsigned want);
void     xm_span_put(struct xmem_heap *h, void *const *objs, unsigned n);

/* cache.c: move the objects held by lcore caches and the depot of h back to
 * spans.  The cache of an owner that stays inside it for more than a couple
 * of milliseconds (a stalled thread) is skipped.  Heap lock and the caller's
 * own cache section must not be held.  Returns the number of objects
 * moved. */
size_t xm_heap_drain(struct xmem_heap *h);
/* cache.c: drain, take the heap lock and give back the empty spans: what
 * trim, stats and dump start with.  Returns with the heap lock held. */
void   xm_heap_trim_lock(struct xmem_heap *h);
/* cache.c: free the caches and magazines of a heap being destroyed. */
void   xm_heap_free_caches(struct xmem_heap *h);
/* cache.c: user-level live objects of class cls, all lcores together. */
uint64_t xm_cache_live(const struct xmem_heap *h, int cls);

#endif
