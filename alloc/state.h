/* state.h - the library's process-global state that describes heaps and
 * metadata, gathered in one page-aligned struct.  In a single process it is
 * an ordinary static; a member of a shared domain (alloc/shared.c) maps the
 * domain's copy of it over the static with MAP_FIXED | MAP_SHARED, so every
 * reference below stays a plain static address (no extra load on any path)
 * and every member sees the same table of heaps, lcores and pools.
 *
 * What may live here: only what is the same for every member (invariant 7):
 * pointers into metadata (the shared arena in a domain) and into registered
 * memory, counters, and the robust control mutex.  Per-process things
 * (region listeners, the log hook, liburcu registration) stay in their own
 * files. */
#ifndef XM_STATE_H
#define XM_STATE_H

#include <pthread.h>

#include "lcore.h"
#include "stack.h"

#define XM_DESC_POOLS   16   /* span descriptor pools, 64 B << i (carve.c) */
#define XM_META_CLASSES 48   /* metadata block sizes, 1 << i (meta.c) */

struct xmem_heap;
struct xm_region;
struct xm_slab;
struct xm_iova_table;
struct xm_regs;

struct xm_state {
	/* (The page map's root, xm_pm_root, is a page-aligned static of its
	 * own, and its translation map, xmem_iova_map, a reservation; both
	 * are mapped over the same way.) */

	/* The control mutex (control.c).  Robust and process-shared in a
	 * domain. */
	pthread_mutex_t ctl_mu;

	/* Metadata allocator (meta.c). */
	struct xm_stack meta_lists[XM_META_CLASSES];
	struct xm_slab *_Atomic meta_cur;
	_Atomic size_t meta_used;

	/* Checked mode (drain.c: xmem_set_checked), read relaxed by the
	 * paths that need it; in a domain it is the domain's: every cache of
	 * every member is stopped for it. */
	_Atomic int checked_on;

	/* Span descriptor pools and limbo (carve.c), empty magazines
	 * (depot.c). */
	struct xm_stack desc_pool[XM_DESC_POOLS];
	struct xm_stack limbo;
	struct xm_stack mag_pool;

	/* Heap table (heap.c) and the dead descriptors for reuse. */
	struct xmem_heap *heaps[XMEM_MAX_HEAPS];
	struct xmem_heap *heap_free_descs;

	/* Registry (registry.c), all under the control mutex except the
	 * RCU-published IOVA table. */
	struct xm_regs *regs;
	struct xm_iova_table *iova_tab;
	struct xm_iova_table *iova_retired;  /* replaced, awaiting a grace period */

	/* lcores (lcore.c): the table, and who holds each id: 0 free, else
	 * the holder's member tag (xm_member_tag).  Claimed with a CAS,
	 * released with a release store after the lcore's caches are
	 * flushed. */
	_Atomic uint32_t lcore_owner[XMEM_MAX_LCORES];
	struct xm_lcore lcores[XMEM_MAX_LCORES];
} __attribute__((aligned(4096)));

extern struct xm_state xm_st;

/* Fresh state in st: empty pools and tables, lcore ids set, the control
 * mutex process-shared and robust when pshared. */
void xm_state_init(struct xm_state *st, bool pshared);

/* A mutex of shared state: process-shared and robust in a domain. */
int  xm_mutex_init(pthread_mutex_t *m, bool pshared);
/* Lock m; a holder that died (EOWNERDEAD) is recovered: the mutex is made
 * consistent and the caller proceeds (see docs/multiprocess.md for what a
 * dead holder can leave behind).  True when that happened. */
bool xm_mutex_lock(pthread_mutex_t *m);
/* Recover m now if its holder died, without waiting for anyone: a robust
 * mutex whose holder died keeps glibc's robust-list links into the dead
 * thread's memory (private to its process) until the next locker, so shared
 * metadata would point into private memory meanwhile.  A live holder is
 * left alone (its unlock clears the links). */
void xm_mutex_tidy(pthread_mutex_t *m);

/* This process's tag in lcore_owner: 1 alone, member index + 1 in a
 * domain. */
extern uint32_t xm_member_tag;

#endif
