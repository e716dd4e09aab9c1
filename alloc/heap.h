/* heap.h - heaps, spans and the per-heap allocation state.
 *
 * A heap owns a list of regions (the chunks added to it).  Memory is carved
 * from regions in 4 KiB units, never across a page boundary where the IOVA
 * jumps (so every span and every block is IOVA-contiguous):
 *  - a span holds equal objects of one size class; its free objects are a
 *    bitmap in the span descriptor, never in managed memory (invariant 1);
 *  - a large block is a span of one object, page-granular.
 *
 * Concurrency (docs/design.md, "Why small sizes are lock-free"):
 *  - small sizes never take a lock: units are claimed with one CAS on a word
 *    of the region's unit bitmap (carve.c), objects with one exchange of a
 *    word of the span's bitmap (span.c), magazines with one CAS on a depot
 *    stack;
 *  - large blocks serialise on large_lock, which no small path takes;
 *  - trim, remove and the checked switch serialise on ctl_lock, per heap,
 *    which no allocation or free takes;
 *  - the region list changes under the control mutex and is read under RCU.
 *
 * Descriptors a racing reader may still hold are type-stable: span
 * descriptors are recycled only as span descriptors (carve.c), heap
 * descriptors only as heap descriptors (heap.c), magazines only as
 * magazines, lcaches only as lcaches (cache.c). */
#ifndef XM_HEAP_H
#define XM_HEAP_H

#include <pthread.h>

#include "depot.h"
#include "region.h"
#include "sizeclass.h"
#include "state.h"

#define XM_HEAP_MAGIC 0x78686561u /* "xhea" */
#define XM_CLS_LARGE  (-1)

/* The slot test: off is the start of a slot of size d (off < 2^18, d <
 * 2^15) iff (off * c) mod 2^33 < c, with c = ceil(2^33 / d) (Lemire, Kaser
 * and Kurz, "Faster remainder by direct computation", 2019: exact when the
 * 33 bits cover the bits of off plus those of d).  One multiply, one mask,
 * one compare per pointer; the free path does eight at once. */
#define XM_SLOT_SHIFT 33
#define XM_SLOT_MASK  (((uint64_t)1 << XM_SLOT_SHIFT) - 1)

struct xm_span {
	ck_stack_entry_t link;        /* first: class stack, pool or limbo */
	/* Read by the free path, one line: */
	uintptr_t base;
	uint32_t used_len;            /* n_objs * obj_size: objects end here */
	int32_t  cls;                 /* class index, or XM_CLS_LARGE */
	uint64_t slot_c;              /* the slot test's constant */
	/* heap->serial << 8 | (uint8_t)cls, and heap->id, copied so that
	 * free finds its cache from here; one compare of the key tells that
	 * another span shares the heap and class of the last one. */
	uint64_t cache_key;
	int32_t  heap_id;
	uint32_t n_objs;
	struct xmem_heap *heap;
	struct xm_region *region;
	/* The rest: */
	size_t   obj_size;            /* usable bytes of each object */
	uint32_t n_units;
	uint32_t words;               /* of free_bits */
	uint32_t desc_bytes;          /* size of this descriptor */
	/* 1 while some thread holds the span's token: it is on its class's
	 * stack, or a thread that popped it (or carved it) decides where it
	 * goes.  Whoever sets it 0 -> 1 pushes the span.  A retired span keeps
	 * it at 1 for good. */
	_Atomic uint32_t listed;
	/* 1 once retired: its units went back to the region.  Set with
	 * release after the retiring thread owns every object bit. */
	_Atomic uint32_t dead;
	_Atomic uint64_t free_bits[]; /* bit i: object i is free */
};

struct xm_class {
	struct xm_stack partial;      /* spans with (probably) free objects */
	/* Objects taken out of spans and not yet put back: in users' hands,
	 * lcore caches or the depot.  Relaxed: a statistic, read by stats. */
	_Atomic uint64_t out;
	/* User level, the paths without a cache (checked mode, no lcore id,
	 * a cache being drained).  Relaxed statistics. */
	_Atomic uint64_t allocs, frees;
	_Atomic uint64_t spans, span_bytes;
};

struct xmem_heap {
	uint32_t magic;
	int      id;
	uint64_t serial;              /* unique per heap ever created */
	char     name[XMEM_HEAP_NAME_MAX];
	pthread_mutex_t large_lock;   /* large blocks only */
	pthread_mutex_t ctl_lock;     /* trim, remove, checked drain */

	/* Chunks, in the order they were added (the order carving tries
	 * them).  Written under the control mutex, read under RCU. */
	struct xm_region *_Atomic regions;
	/* Written under the control mutex; relaxed loads by stats. */
	_Atomic size_t n_regions;
	_Atomic size_t total_bytes;
	_Atomic uint64_t large_count; /* live large blocks */
	_Atomic size_t large_bytes;
	_Atomic size_t span_meta_bytes;
	struct xm_class cls[XMEM_NUM_CLASSES];

	/* Fast path (cache.c): full magazines per class. */
	struct xm_stack depot[XMEM_NUM_CLASSES];

	struct xmem_heap *free_next;  /* on the dead-descriptor list */
};

/* The heap table, indexed by id; slots are RCU-published. */
/* The heap table is xm_st.heaps (state.h). */

/* A handle may be dead (destroyed), and its descriptor then reused, by
 * another thread, for a new heap: heap descriptors are kept on their own
 * free list and never become other metadata, so magic, id and serial are
 * only ever written as what they are.  Handle checks read them with these
 * atomic loads, and creation writes them atomically, magic last with
 * release (plain moves on x86-64). */
static inline uint64_t xm_span_key(uint64_t heap_serial, int cls)
{
	return heap_serial << 8 | (uint8_t)cls;
}

/* The serial of the heap span s belongs to. */
static inline uint64_t xm_span_serial(const struct xm_span *s)
{
	return s->cache_key >> 8;
}

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
	       __atomic_load_n(&xm_st.heaps[id], __ATOMIC_ACQUIRE) == h;
}

#define xm_for_each_region(r, h)                                           \
	for (struct xm_region *r = atomic_load_explicit(&(h)->regions,         \
							memory_order_acquire); \
	     r; r = atomic_load_explicit(&r->next, memory_order_acquire))

static inline void xm_count(_Atomic uint64_t *c, int64_t d)
{
	atomic_fetch_add_explicit(c, (uint64_t)d, memory_order_relaxed);
}

/* The slot test on an offset already known to be below s->used_len. */
static inline bool xm_span_slot_ok(const struct xm_span *s, uintptr_t off)
{
	return ((off * s->slot_c) & XM_SLOT_MASK) < s->slot_c;
}

/* ---- carve.c: units, span descriptors, retiring ----------------------- */

/* A new span of class cls (lock-free; RCU read section inside), every
 * object free, its token held by the caller (listed == 1), page map
 * entries published.  NULL with ENOMEM. */
struct xm_span *xm_span_new(struct xmem_heap *h, int cls);
/* A large block of `units` units aligned to align bytes (large_lock held). */
struct xm_span *xm_large_new(struct xmem_heap *h, size_t units, size_t align);
/* Give a large block back (large_lock held). */
void xm_large_release(struct xmem_heap *h, struct xm_span *s);
/* Retire span s, whose token and every object bit the caller owns: page
 * map entries back to the region, units back to the region's bitmap, the
 * descriptor to the limbo (never reused before xm_limbo_flush). */
void xm_span_retire(struct xmem_heap *h, struct xm_span *s);
/* Claim every unit of r at once: true when all were free (nothing was
 * carved from r, or all of it came back), and then no carver can take any;
 * false changes nothing.  xm_region_unclaim_all gives them back. */
bool xm_region_claim_all(struct xm_region *r);
void xm_region_unclaim_all(struct xm_region *r);
/* Recycle the limbo's descriptors after a grace period (control plane). */
void xm_limbo_flush(void);
/* Recycle descriptors of spans no reader can reach any more. */
void xm_span_free_desc(struct xm_span *s);
/* Largest free IOVA-contiguous run of free units of r (a snapshot of the
 * unit bitmap; spans are not looked at, so stats never read a descriptor
 * another thread may be re-initialising). */
size_t xm_region_largest_free(const struct xm_region *r);

/* ---- span.c: objects in and out of spans ------------------------------ */

/* Take up to want objects of class cls out of spans (carving as needed)
 * into out.  Lock-free.  Returns how many. */
unsigned xm_span_take(struct xmem_heap *h, int cls, void **out, unsigned want);
/* Put objs[0..n) back into their spans.  Every pointer is validated (the
 * start of an object slot of a live class span) and its free bit tested:
 * invalid pointers and duplicates are reported as from fn and dropped.
 * Lock-free.  Returns how many went back. */
unsigned xm_span_put(void *const *objs, unsigned n, const char *fn);
/* Retire the fully free spans of every class of h (to the limbo).
 * Returns how many. */
unsigned xm_span_reclaim(struct xmem_heap *h);
/* Take the spans of region r off the class stacks: a list through their
 * links, whose tokens the caller now holds; xm_span_restack puts such a
 * list back. */
struct xm_span *xm_span_unstack(struct xmem_heap *h, const struct xm_region *r);
void xm_span_restack(struct xm_span *list);
/* True when nothing of region r is allocated or cached: every unit is free
 * or in a fully free class span. */
bool xm_region_idle(const struct xm_region *r);
/* Put back on their class stacks the spans of r that have free objects
 * and no token holder (after a failed removal). */
void xm_region_relist(struct xm_region *r);
/* The class spans of r, in address order, into v[0..cap); returns how many
 * there are (more than cap: call again with a bigger v). */
size_t xm_region_collect(const struct xm_region *r, struct xm_span **v,
			 size_t cap);

/* ---- free.c / alloc.c ------------------------------------------------- */

/* Free objs[0..n) as from fn: every pointer validated, invalid ones
 * reported.  The one free path behind xmem_free, xmem_free_bulk and the
 * roll-back of a failed bulk allocation. */
void xm_free_many(void *const *objs, unsigned n, const char *fn);
/* Free large block s at p (alloc.c, takes large_lock). */
void xm_free_large(struct xm_span *s, uintptr_t p, const char *fn);

/* ---- drain.c: caches and depot back to spans -------------------------- */

/* How long a control-plane drainer (trim, removal, the checked switch)
 * waits for an owner inside its cache.  An owner is there for one burst
 * (tens of ns); one that stays longer is stalled (descheduled, stopped in a
 * debugger, frozen by a signal), and its cache is skipped: it keeps its
 * objects (a removal then fails with EBUSY if some are the chunk's). */
#define XM_STALL_WAIT_NS 2000000u

/* Move the objects held by lcore caches and the depot of h back to spans,
 * one cache at a time; with only set, only the objects of region `only`
 * (the others stay cached).  A cache whose owner stays inside it longer
 * than wait_ns (a stalled thread) is left alone.  Returns objects moved. */
size_t xm_heap_drain(struct xmem_heap *h, const struct xm_region *only,
		     uint64_t wait_ns);
/* The reclaim an allocation tries once when memory runs out: other
 * lcores' caches (those not in use right now) and the depot back to spans,
 * then fully free spans back to the regions.  True if anything moved. */
bool   xm_heap_reclaim(struct xmem_heap *h);
/* cache.c: user-level live objects of class cls, all lcores together. */
uint64_t xm_cache_live(const struct xmem_heap *h, int cls);

#endif
