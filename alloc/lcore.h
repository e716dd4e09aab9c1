/* lcore.h - small per-thread ids (lcores), as in DPDK.  A thread gets one
 * on its first allocator call or through xmem_thread_register; the id is
 * recycled when the thread exits or unregisters.  Threads beyond
 * XMEM_MAX_LCORES get none and use the shared, locked path. */
#ifndef XM_LCORE_H
#define XM_LCORE_H

#include "xm_common.h"

struct xm_lcache;

/* Per-lcore row of caches, one slot per heap id.  Slots are written by the
 * owner (creation) and by heap destroy, read by the owner and by drainers:
 * acquire/release atomics.  The row comes first: the fast path indexes it
 * with the heap id and no offset. */
struct xm_lcore {
	struct xm_lcache *_Atomic lc[XMEM_MAX_HEAPS];
	int id;
	/* Per-member accounting in a domain (shared.c).  gone: the counts of
	 * lcaches that were re-initialised for another heap (owner only);
	 * base: the lcore's totals when its holder claimed it (the holder
	 * only). */
	_Atomic uint64_t gone_allocs, gone_frees;
	uint64_t base_allocs, base_frees;
	/* The free path's guess (free.c, xm_free_one_span): the lcache the
	 * last burst it took went to, that lcache's array for the burst's
	 * class, and the cache key (heap serial, class) of that burst.  Owner
	 * only, plain.  Never trusted: a burst checks its first span's key
	 * against it before storing anything (free.c, xm_free_quick, says why
	 * that is enough). */
	struct xm_lcache *free_lc;
	struct xm_cache *free_cache;
	uint64_t free_key;
};


/* The calling thread's lcore in one word, so the fast path reads one TLS
 * variable: an xm_lcore pointer, or XM_SELF_UNSET (no id yet: assign one on
 * the next call) or XM_SELF_NONE (none to be had: all taken, or the thread
 * is exiting).  Initial-exec: a load at a fixed offset from %fs, with no
 * __tls_get_addr call, also in the shared library.  That model takes a
 * slot of the static TLS block, which a library loaded with dlopen() late
 * in a process may not find free; glibc keeps a surplus for this
 * (glibc.rtld.optional_static_tls), and 8 bytes fit it.
 *
 * The two markers point at stand-in lcores of their own, read-only, whose
 * rows are empty (no lcache, guess key 0, which no span has).  So the fast
 * paths read through xm_self without telling a marker from an lcore: they
 * find no cache and take the slower way, where xm_lcore_self tells. */
extern const struct xm_lcore xm_lcore_unset, xm_lcore_none;
#define XM_SELF_UNSET ((uintptr_t)&xm_lcore_unset)
#define XM_SELF_NONE  ((uintptr_t)&xm_lcore_none)
/* Hidden too (declarations are not covered by -fvisibility=hidden): no
 * dynamic symbol in libxmem.so. */
#define XM_TLS __attribute__((visibility("hidden"), tls_model("initial-exec")))
extern __thread uintptr_t xm_self XM_TLS;

/* xm_self holds an lcore, not a marker. */
static inline bool xm_self_is_lcore(uintptr_t s)
{
	return s != XM_SELF_UNSET && s != XM_SELF_NONE;
}

/* This thread's lcore, assigning one on first use; NULL when all ids are
 * taken. */
struct xm_lcore *xm_lcore_slow(void);

static inline struct xm_lcore *xm_lcore_self(void)
{
	uintptr_t s = xm_self;
	if (likely(xm_self_is_lcore(s)))
		return (struct xm_lcore *)s;
	return s == XM_SELF_NONE ? NULL : xm_lcore_slow();
}

/* Give lcore l's id back (its caches already flushed). */
void xm_lcore_put(struct xm_lcore *l);

/* Flush every cache of lcore l to the depots (thread exit, unregister). */
void xm_cache_flush_lcore(struct xm_lcore *l);
/* Objects ever allocated and freed through lcore l's caches, all heaps
 * (the lcaches' counters plus those of re-initialised ones). */
void xm_lcore_totals(struct xm_lcore *l, uint64_t *allocs, uint64_t *frees);
/* The same for an lcore whose owner is in another process that is gone or
 * stopped (shared.c): returns how many caches it had left mid-section. */
uint64_t xm_cache_take_lcore(struct xm_lcore *l, uint64_t wait_ns);

#endif
