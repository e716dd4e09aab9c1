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

#include "region.h"
#include "sizeclass.h"

#define XM_HEAP_MAGIC 0x78686561u /* "xhea" */
#define XM_CLS_LARGE  (-1)

struct xm_span {
	struct xm_region *region;
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

struct xm_class {
	struct xm_span *partial;      /* spans with a free object */
	uint32_t n_empty;             /* fully free spans kept on that list */
	uint64_t live;
	uint64_t spans;
	uint64_t span_bytes;
};

struct xmem_heap {
	uint32_t magic;
	int      id;
	char     name[XMEM_HEAP_NAME_MAX];
	pthread_mutex_t lock;

	struct xm_region *regions;
	size_t   n_regions;
	size_t   total_bytes;
	size_t   alloc_bytes;
	uint64_t alloc_count;
	uint64_t large_count;
	size_t   span_meta_bytes;
	struct xm_class cls[XMEM_NUM_CLASSES];
};

/* The heap table, indexed by id; slots are RCU-published. */
extern struct xmem_heap *xm_heaps[XMEM_MAX_HEAPS];

/* True when h is a live heap.  A dead heap's descriptor stays readable
 * (metadata is type-stable), so the checks cannot fault. */
static inline bool xm_heap_live(const struct xmem_heap *h)
{
	return h && h->magic == XM_HEAP_MAGIC &&
	       (unsigned)h->id < XMEM_MAX_HEAPS &&
	       __atomic_load_n(&xm_heaps[h->id], __ATOMIC_ACQUIRE) == h;
}

/* span.c, heap lock held. */
struct xm_span *xm_span_carve(struct xmem_heap *h, int cls, size_t units,
			      size_t align);
void   xm_span_release(struct xmem_heap *h, struct xm_span *s);
size_t xm_region_largest_free(const struct xm_region *r);

/* alloc.c, heap lock held: drop every (empty) span of r. */
void xm_heap_release_region_spans(struct xmem_heap *h, struct xm_region *r);

#endif
