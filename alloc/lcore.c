/* lcore.c - lcore ids: assignment on first use, xmem_thread_register or
 * xmem_thread_register_id (a chosen id, as DPDK's lcore id),
 * recycling on thread exit (a TLS destructor through a pthread key) or
 * xmem_thread_unregister, after the thread's caches are flushed.  An id is
 * claimed with one CAS of its owner word in the shared state (state.h), so
 * ids stay unique across the members of a domain. */
#include <errno.h>
#include <pthread.h>

#include "lcore.h"
#include "shared.h"
#include "state.h"

const struct xm_lcore xm_lcore_unset = {.id = -1}, xm_lcore_none = {.id = -1};
__thread uintptr_t xm_self XM_TLS = XM_SELF_UNSET;

static pthread_key_t xm_lcore_key;
static pthread_once_t xm_lcore_once = PTHREAD_ONCE_INIT;

static void xm_lcore_release(struct xm_lcore *l)
{
	/* Under the control mutex: xmem_heap_destroy frees a heap's caches
	 * and descriptor holding it, so none can vanish under the flush. */
	xm_ctl_lock();
	xm_cache_flush_lcore(l);
	xm_ctl_unlock();
	xm_lcore_put(l);
}

void xm_lcore_put(struct xm_lcore *l)
{
	if (unlikely(xm_dom))
		xm_member_lcore_put(l);
	/* Release: the flush above happens before the next holder's use. */
	atomic_store_explicit(&xm_st.lcore_owner[l->id], 0, memory_order_release);
}

static void xm_lcore_thread_exit(void *arg)
{
	xm_lcore_release(arg);
	xm_self = XM_SELF_NONE;   /* late frees in other destructors: no cache */
}

static void xm_lcore_init(void)
{
	pthread_key_create(&xm_lcore_key, xm_lcore_thread_exit);
}

struct xm_lcore *xm_lcore_slow(void)
{
	pthread_once(&xm_lcore_once, xm_lcore_init);
	int id = -1;
	for (int i = 0; i < XMEM_MAX_LCORES && id < 0; i++) {
		/* Acquire: the previous holder's flush (xm_lcore_put). */
		uint32_t free_tag = 0;
		if (atomic_compare_exchange_strong_explicit(
			    &xm_st.lcore_owner[i], &free_tag, xm_member_tag,
			    memory_order_acquire, memory_order_relaxed))
			id = i;
	}
	if (id < 0) {
		xm_self = XM_SELF_NONE;
		return NULL;
	}
	if (unlikely(xm_dom))
		xm_member_lcore_got(&xm_st.lcores[id]);
	xm_self = (uintptr_t)&xm_st.lcores[id];
	pthread_setspecific(xm_lcore_key, &xm_st.lcores[id]);
	return &xm_st.lcores[id];
}

int xmem_thread_register(void)
{
	if (xm_self_is_lcore(xm_self))
		return ((struct xm_lcore *)xm_self)->id;
	xm_self = XM_SELF_UNSET;
	struct xm_lcore *l = xm_lcore_slow();
	if (!l) {
		errno = ENOSPC;
		return -1;
	}
	return l->id;
}

int xmem_thread_register_id(unsigned id)
{
	if (id >= XMEM_MAX_LCORES) {
		errno = EINVAL;
		return -1;
	}
	struct xm_lcore *old = xm_self_is_lcore(xm_self) ? (struct xm_lcore *)xm_self : NULL;
	if (old && old->id == (int)id)
		return (int)id;
	pthread_once(&xm_lcore_once, xm_lcore_init);
	/* Acquire: as in xm_lcore_slow. */
	uint32_t free_tag = 0;
	if (!atomic_compare_exchange_strong_explicit(
		    &xm_st.lcore_owner[id], &free_tag, xm_member_tag,
		    memory_order_acquire, memory_order_relaxed)) {
		errno = EBUSY;
		return -1;
	}
	/* The new id is ours: give the old one back (its caches flushed). */
	if (old)
		xm_lcore_release(old);
	struct xm_lcore *l = &xm_st.lcores[id];
	if (unlikely(xm_dom))
		xm_member_lcore_got(l);
	xm_self = (uintptr_t)l;
	pthread_setspecific(xm_lcore_key, l);
	return (int)id;
}

int xmem_thread_unregister(void)
{
	if (!xm_self_is_lcore(xm_self)) {
		errno = ENOENT;
		return -1;
	}
	struct xm_lcore *l = (struct xm_lcore *)xm_self;
	pthread_setspecific(xm_lcore_key, NULL);
	xm_self = XM_SELF_UNSET;   /* a later call assigns an id again */
	xm_lcore_release(l);
	return 0;
}

int xmem_lcore_id(void)
{
	return xm_self_is_lcore(xm_self) ? ((struct xm_lcore *)xm_self)->id : -1;
}
