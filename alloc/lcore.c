/* lcore.c - lcore ids: assignment on first use, xmem_thread_register or
 * xmem_thread_register_id (a chosen id, as DPDK's lcore id),
 * recycling on thread exit (a TLS destructor through a pthread key) or
 * xmem_thread_unregister, after the thread's caches are flushed. */
#include <errno.h>
#include <pthread.h>

#include "lcore.h"

struct xm_lcore xm_lcores[XMEM_MAX_LCORES];
__thread uintptr_t xm_self XM_TLS;

static pthread_mutex_t xm_lcore_mu = PTHREAD_MUTEX_INITIALIZER;
static bool xm_lcore_used[XMEM_MAX_LCORES];   /* under xm_lcore_mu */
static pthread_key_t xm_lcore_key;
static pthread_once_t xm_lcore_once = PTHREAD_ONCE_INIT;

static void xm_lcore_release(struct xm_lcore *l)
{
	/* Under the control mutex: xmem_heap_destroy frees a heap's caches
	 * and descriptor holding it, so none can vanish under the flush. */
	xm_ctl_lock();
	xm_cache_flush_lcore(l);
	xm_ctl_unlock();
	pthread_mutex_lock(&xm_lcore_mu);
	xm_lcore_used[l->id] = false;
	pthread_mutex_unlock(&xm_lcore_mu);
}

static void xm_lcore_thread_exit(void *arg)
{
	xm_lcore_release(arg);
	xm_self = XM_SELF_NONE;   /* late frees in other destructors: no cache */
}

static void xm_lcore_init(void)
{
	pthread_key_create(&xm_lcore_key, xm_lcore_thread_exit);
	for (int i = 0; i < XMEM_MAX_LCORES; i++)
		xm_lcores[i].id = i;
}

struct xm_lcore *xm_lcore_slow(void)
{
	pthread_once(&xm_lcore_once, xm_lcore_init);
	int id = -1;
	pthread_mutex_lock(&xm_lcore_mu);
	for (int i = 0; i < XMEM_MAX_LCORES && id < 0; i++)
		if (!xm_lcore_used[i]) {
			xm_lcore_used[i] = true;
			id = i;
		}
	pthread_mutex_unlock(&xm_lcore_mu);
	if (id < 0) {
		xm_self = XM_SELF_NONE;
		return NULL;
	}
	xm_self = (uintptr_t)&xm_lcores[id];
	pthread_setspecific(xm_lcore_key, &xm_lcores[id]);
	return &xm_lcores[id];
}

int xmem_thread_register(void)
{
	if (xm_self > XM_SELF_NONE)
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
	struct xm_lcore *old = xm_self > XM_SELF_NONE ? (struct xm_lcore *)xm_self : NULL;
	if (old && old->id == (int)id)
		return (int)id;
	pthread_once(&xm_lcore_once, xm_lcore_init);
	pthread_mutex_lock(&xm_lcore_mu);
	bool busy = xm_lcore_used[id];
	xm_lcore_used[id] = true;
	pthread_mutex_unlock(&xm_lcore_mu);
	if (busy) {
		errno = EBUSY;
		return -1;
	}
	/* The new id is ours: give the old one back (its caches flushed). */
	if (old)
		xm_lcore_release(old);
	xm_self = (uintptr_t)&xm_lcores[id];
	pthread_setspecific(xm_lcore_key, &xm_lcores[id]);
	return (int)id;
}

int xmem_thread_unregister(void)
{
	if (xm_self <= XM_SELF_NONE) {
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
	return xm_self > XM_SELF_NONE ? ((struct xm_lcore *)xm_self)->id : -1;
}
