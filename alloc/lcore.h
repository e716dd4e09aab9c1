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
 * acquire/release atomics. */
struct xm_lcore {
	int id;
	struct xm_lcache *_Atomic lc[XMEM_MAX_HEAPS];
};

extern struct xm_lcore xm_lcores[XMEM_MAX_LCORES];
/* Hidden and initial-exec: one %fs-relative load on the fast path, also in
 * libxmem.so (9 bytes of the static TLS that glibc reserves for libraries
 * loaded later, dlopen included), and no exported symbol. */
#define XM_TLS __attribute__((visibility("hidden"), tls_model("initial-exec")))
extern __thread struct xm_lcore *xm_self XM_TLS;   /* NULL: no id (yet) */
extern __thread uint8_t xm_self_state XM_TLS;      /* 0 unknown, 1 id, 2 none */

/* This thread's lcore, assigning one on first use; NULL when all ids are
 * taken. */
struct xm_lcore *xm_lcore_slow(void);

static inline struct xm_lcore *xm_lcore_self(void)
{
	if (likely(xm_self_state == 1))
		return xm_self;
	return xm_self_state == 2 ? NULL : xm_lcore_slow();
}

/* Flush every cache of lcore l to the depots (thread exit, unregister). */
void xm_cache_flush_lcore(struct xm_lcore *l);

#endif
