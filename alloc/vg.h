/* vg.h - valgrind (memcheck) annotations: the public entry points, heap
 * memory added and removed, and the metadata mappings.
 *
 * Compiled in only with -DXMEM_VALGRIND=1 (bazel --config=valgrind).
 * Without it every function here is an empty static inline: the entry points
 * compile to exactly the code they had before (docs/design.md, "Valgrind").
 * With it, and only while the process actually runs under valgrind
 * (RUNNING_ON_VALGRIND, read once at load), memcheck is told:
 *
 *  - memory added to a heap is NOACCESS: nobody but the owner of a block may
 *    touch it (invariant 1: the library itself never does);
 *  - each block handed out is a MALLOCLIKE block of the size the caller asked
 *    for (contents undefined), so the class slack behind it stays NOACCESS
 *    and a read one byte past the block is reported;
 *  - a block given back is FREELIKE'd before the library can hand it out
 *    again (NOACCESS; memcheck remembers where it was freed);
 *  - removed memory is the application's again: DEFINED;
 *  - the library's metadata mappings are an "ignored range" for address
 *    errors, which also keeps memcheck's leak checker from scanning them.
 *    The metadata holds block addresses (span bases, the address of every
 *    large block, stale slots of cache arrays and magazines), and the leak
 *    checker scans every writable mapping for pointers: without this, a
 *    lost block would be "still reachable".  The metadata stays addressable
 *    and defined, so the library's own accesses (and futexes in it) are
 *    checked as before.  Valgrind prints, at exit, a WARNING that these
 *    "address error disablement range(s)" are still in force: expected.
 *
 * Which pointers may be FREELIKE'd is decided by a side table of the blocks
 * handed out and not yet given back (vg.c), not by asking the allocator: a
 * pointer the library would reject (foreign, interior, already free) must
 * never reach FREELIKE_BLOCK, because memcheck would then forget a block it
 * still tracks (a malloc block, say).  The table knows exactly the blocks
 * memcheck was told about, and it does not depend on the allocator's
 * internals. */
#ifndef XM_VG_H
#define XM_VG_H

#include <stddef.h>

#if defined(XMEM_VALGRIND) && XMEM_VALGRIND

#include <valgrind/memcheck.h>

#include "xm_common.h"

/* 1 under valgrind, 0 natively, -1 until known (vg.c settles it in a
 * constructor, or on first use).  Natively the cost of the flag is one load
 * and a not-taken branch per call. */
extern int xm_vg_active;

static inline int xm_vg_maybe(void)
{
	return unlikely(__atomic_load_n(&xm_vg_active, __ATOMIC_RELAXED) != 0);
}

/* vg.c, called while xm_vg_active is not 0; each settles it first and
 * does nothing natively.  Each takes the table lock. */
void   xm_vg_track(void *const *objs, unsigned n, size_t size);
void   xm_vg_untrack(void *const *objs, unsigned n, const char *fn);
size_t xm_vg_usable(const void *p, size_t usable);

/* objs[0..n) were just handed out for size bytes each. */
static inline void xm_vg_on_alloc(void *const *objs, unsigned n, size_t size)
{
	if (xm_vg_maybe())
		xm_vg_track(objs, n, size);
}

/* objs[0..n) are about to be given back by fn (before the library sees
 * them, so that no other thread can be handed one of them first). */
static inline void xm_vg_on_free(void *const *objs, unsigned n,
				 const char *fn)
{
	if (xm_vg_maybe())
		xm_vg_untrack(objs, n, fn);
}

/* xmem_usable_size found usable bytes at p: the caller may now use all of
 * them, so the memcheck block grows to that size. */
static inline size_t xm_vg_on_usable(const void *p, size_t usable)
{
	if (xm_vg_maybe())
		return xm_vg_usable(p, usable);
	return usable;
}

/* meta.c mapped [p, p + len) for metadata: out of the leak checker's
 * sight (see above).  A client request is a no-op natively. */
static inline void xm_vg_on_meta_map(void *p, size_t len)
{
	(void)VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(p, len);
}

/* [va, va + len) now belongs to a heap and holds no block yet.  Call it
 * before the heap can hand anything out of it.  (A client request is a
 * no-op natively: no need to test xm_vg_active on the control path.) */
static inline void xm_vg_on_add(void *va, size_t len)
{
	(void)VALGRIND_MAKE_MEM_NOACCESS(va, len);
}

/* [va, va + len) left its heap (no live block was in it): the application
 * owns it again.  Call it after the heap can no longer hand it out. */
static inline void xm_vg_on_remove(void *va, size_t len)
{
	(void)VALGRIND_MAKE_MEM_DEFINED(va, len);
}

#else /* !XMEM_VALGRIND: nothing at all */

static inline void xm_vg_on_alloc(void *const *objs, unsigned n, size_t size)
{
	(void)objs; (void)n; (void)size;
}
static inline void xm_vg_on_free(void *const *objs, unsigned n,
				 const char *fn)
{
	(void)objs; (void)n; (void)fn;
}
static inline size_t xm_vg_on_usable(const void *p, size_t usable)
{
	(void)p;
	return usable;
}
static inline void xm_vg_on_meta_map(void *p, size_t len)
{
	(void)p; (void)len;
}
static inline void xm_vg_on_add(void *va, size_t len)
{
	(void)va; (void)len;
}
static inline void xm_vg_on_remove(void *va, size_t len)
{
	(void)va; (void)len;
}

#endif /* XMEM_VALGRIND */

#endif
