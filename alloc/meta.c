/* meta.c - the metadata allocator.  Every descriptor, bitmap, IOVA table,
 * magazine and page-map leaf of the library comes from here, never from
 * malloc, so that a later multi-process mode can place all of it in one
 * shared mapping (invariant 7).
 *
 * Lock-free: the span and magazine paths behind an allocation call come
 * here, so no thread may be able to stall another inside it.
 *  - Blocks are power-of-two sized (at least 64 bytes).  Freed blocks go
 *    onto a lock-free stack per size (stack.h) and are reused, never
 *    unmapped: metadata memory stays mapped for the life of the process,
 *    which is what lets lock-free readers look at a descriptor that a writer
 *    has just retired without faulting.
 *  - Blocks below XM_META_SLAB are cut from the current 1 MiB slab with one
 *    fetch_add on its fill mark.  A thread that finds the slab full maps a
 *    new one and installs it with one CAS; the loser of that race unmaps
 *    its own, never published, slab.  Bigger blocks get their own mapping,
 *    whose pages a free gives back to the kernel (the mapping stays).
 *  - In a domain, slabs, bigger blocks and pages come from the domain
 *    file's arena instead of anonymous mappings (xm_map), and the lists
 *    and the current slab are the domain's (state.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "meta.h"
#include "shared.h"
#include "state.h"
#include "stack.h"
#include "vg.h"

#define XM_META_MIN_SHIFT 6                   /* 64-byte blocks */
#define XM_META_SLAB      ((size_t)1 << 20)   /* slab and slab-class limit */
#define XM_META_HDR       64                  /* slab header, one line */
/* Blocks of this size and above get a mapping of their own. */
#define XM_META_OWN_MAP   (XM_META_SLAB / 2)

struct xm_slab {
	/* Bytes of the slab handed out (or claimed by a losing fetch_add).
	 * Relaxed: each fetch_add hands its caller a disjoint piece; the slab
	 * itself was published by the CAS that installed it. */
	_Atomic size_t used;
};


_Atomic(xm_meta_fault_fn) xm_meta_fault_hook;

static unsigned xm_meta_class(size_t size)
{
	unsigned c = XM_META_MIN_SHIFT;
	while (((size_t)1 << c) < size)
		c++;
	return c;
}

/* Fresh zero-filled memory: anonymous pages, or in a domain a piece of
 * the domain file (shared.c), so that every member sees it at the same
 * address (invariant 7). */
static void *xm_map(size_t len)
{
	if (unlikely(xm_dom))
		return xm_arena_take(len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	xm_vg_on_meta_map(p, len);  /* hidden from the leak checker */
	return p;
}

/* bsz bytes from the current slab, installing a new slab when it is full. */
static void *xm_meta_bump(size_t bsz)
{
	for (;;) {
		/* Acquire: pairs with the CAS that installed the slab. */
		struct xm_slab *s = atomic_load_explicit(&xm_st.meta_cur,
							 memory_order_acquire);
		if (s) {
			size_t off = atomic_fetch_add_explicit(&s->used, bsz,
							       memory_order_relaxed);
			if (off + bsz <= XM_META_SLAB)
				return (char *)s + off;
			/* Full: the tail is lost, smaller than bsz. */
		}
		struct xm_slab *n = xm_map(XM_META_SLAB);
		if (!n)
			return NULL;
		atomic_store_explicit(&n->used, XM_META_HDR + bsz,
				      memory_order_relaxed);
		/* Release: publishes the slab's header. */
		if (atomic_compare_exchange_strong_explicit(
			    &xm_st.meta_cur, &s, n, memory_order_release,
			    memory_order_acquire))
			return (char *)n + XM_META_HDR;
		/* Never published. */
		if (xm_dom) {
			memset(n, 0, XM_META_HDR);
			xm_arena_give(n, XM_META_SLAB);
		} else {
			munmap(n, XM_META_SLAB);
		}
	}
}

void *xm_meta_zalloc(size_t size)
{
	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << (XM_META_CLASSES - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(xm_meta_fault())) {
		errno = ENOMEM;
		return NULL;
	}
	unsigned c = xm_meta_class(size);
	size_t bsz = (size_t)1 << c;
	void *p = xm_stack_pop(&xm_st.meta_lists[c]);
	if (!p)
		p = bsz < XM_META_OWN_MAP ? xm_meta_bump(bsz) : xm_map(bsz);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_add_explicit(&xm_st.meta_used, bsz, memory_order_relaxed);
	memset(p, 0, size);
	return p;
}

void xm_meta_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	unsigned c = xm_meta_class(size);
	size_t bsz = (size_t)1 << c;
	atomic_fetch_sub_explicit(&xm_st.meta_used, bsz, memory_order_relaxed);
	/* A block with a mapping of its own gives its pages back while it
	 * waits on its list.  Blocks are never unmapped, and a registration
	 * of 4 KiB pages in any IOVA order replaces a search table as big as
	 * every run registered before it (registry.c): without this the
	 * process kept the pages of one or two replaced tables per size
	 * class, also after every removal (16 GiB registered in 1 GiB
	 * steps: 708 MiB resident, against 292).  The contents are dead; a
	 * reader that still looks (a caller's race, a lock-free pop's stale
	 * read) reads zeros, as it could read a reused block's.  Not in a
	 * domain: its blocks are pieces of the domain file, which bounds
	 * them. */
	if (bsz >= XM_META_OWN_MAP && !xm_dom)
		madvise(p, bsz, MADV_DONTNEED);
	xm_stack_push(&xm_st.meta_lists[c], p);
}

void *xm_meta_pages(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size = xm_align_up(size, pg);
	void *p = xm_map(size);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_add_explicit(&xm_st.meta_used, size, memory_order_relaxed);
	return p;
}

size_t xm_meta_in_use(void)
{
	return atomic_load_explicit(&xm_st.meta_used, memory_order_relaxed);
}
