/** @file xmem_pool.h
 * xmem_pool.h - a lock-free store of object pointers, built on the
 * magazines of xmem's depot: the common pool behind per-lcore caches, as a
 * DPDK mempool driver needs one (libxmem_dpdk's "xmem" ops use it).
 *
 * The pool never allocates nor touches the objects: it keeps their
 * pointers, in magazines of up to 128 that move between the pool's
 * lock-free stacks with one CAS each.  Put and get never wait for another
 * thread, not even for one preempted inside a call: a thread stopped
 * between its pops and pushes only keeps the magazines it holds (their
 * objects are missing from the pool until it runs again).
 *
 * Conventions are those of xmem.h: -1 or NULL with errno set. */
#ifndef XMEM_XMEM_POOL_H
#define XMEM_XMEM_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from libxmem.so, which is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

struct xmem_pool; /**< opaque */

/** An empty pool sized for capacity objects: the magazines they need are
 * taken at creation, so that puts up to that many held objects never
 * allocate.  A pool holding more takes further magazines from the library's
 * metadata.
 * EINVAL: capacity 0 or above 2^31.
 * ENOMEM: no memory for the pool or its magazines. */
struct xmem_pool *xmem_pool_create(unsigned capacity);

/** Destroy a pool; the pointers it holds are dropped (the objects are the
 * caller's).  No other thread may use the pool during or after the call.
 * NULL is a no-op. */
void xmem_pool_destroy(struct xmem_pool *pool);

/** Store n object pointers, all or nothing.  Returns 0.
 * EINVAL:  pool NULL, objs NULL with n > 0.
 * ENOBUFS: the pool holds more than its capacity and no magazine could be
 *          allocated; nothing is stored. */
int xmem_pool_put_bulk(struct xmem_pool *pool, void *const *objs, unsigned n);

/** Take n object pointers into objs, all or nothing.  Returns 0.  Which
 * pointers come out is unspecified (mostly last in, first out).
 * EINVAL: pool NULL, objs NULL with n > 0.
 * ENOENT: fewer than n pointers were found; nothing is taken.  Under
 *         concurrency this may happen while other threads' calls hold
 *         magazines in flight (a get never waits for them). */
int xmem_pool_get_bulk(struct xmem_pool *pool, void **objs, unsigned n);

/** Number of pointers held: exact when no call is in progress, otherwise a
 * close snapshot.  0 for NULL. */
unsigned xmem_pool_count(const struct xmem_pool *pool);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_POOL_H */
