/* dma_subs.c - owns the subscribers of the DMA-mapping layer: subscribe
 * (replaying every existing region, all or nothing), unsubscribe (unmapping
 * what xmem mapped; EIO with the subscriber kept live and its registry
 * exact when a device does not unmap), lookup by name, and the lock-free readers of the
 * mapping registry (walk, stats).
 *
 * The subscriber list and each subscriber's blocks are RCU lists (dma.h):
 * writers hold the control mutex and wait a grace period before freeing;
 * readers use xm_rcu_read_lock and never block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/meta.h"
#include "alloc/region.h"
#include "iommu/dma.h"

struct xmem_dma_subscriber *_Atomic xm_dma_subs;

static bool xm_dma_name_ok(const char *name)
{
	return name && name[0] && strnlen(name, XMEM_DMA_NAME_MAX) < XMEM_DMA_NAME_MAX;
}

/* Compares pointers only: never dereferences a stale handle. */
bool xm_dma_sub_live(const struct xmem_dma_subscriber *s)
{
	if (!s)
		return false;
	xm_for_each_sub(x)
		if (x == s)
			return true;
	return false;
}

/* As xm_dma_sub_live, for readers: inside an RCU read section (the same
 * acquire loads serve both). */
static bool xm_dma_sub_live_rcu(const struct xmem_dma_subscriber *s)
{
	return xm_dma_sub_live(s);
}

static struct xmem_dma_subscriber *xm_dma_find_name(const char *name)
{
	xm_for_each_sub(x)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

struct xmem_dma_subscriber *xm_dma_subscribe_locked(const char *name,
						    const struct xmem_dma_ops *ops,
						    void *ctx)
{
	const char *bad = !name ? "name is NULL" :
		!name[0] ? "name is empty" :
		!xm_dma_name_ok(name) ? "name has XMEM_DMA_NAME_MAX characters or more" :
		!ops ? "ops is NULL" :
		!ops->mem_event && !ops->dma_map ? "ops has neither mem_event nor dma_map" :
		ops->dma_map && !ops->dma_unmap ? "ops has dma_map without dma_unmap" :
		!ops->dma_map && ops->dma_unmap ? "ops has dma_unmap without dma_map" :
		NULL;
	if (bad) {
		xm_cause("%s", bad);
		errno = EINVAL;
		return NULL;
	}
	if (xm_dma_find_name(name)) {
		xm_cause("a subscriber named \"%s\" exists", name);
		errno = EEXIST;
		return NULL;
	}
	if (xm_dma_listen_locked())
		return NULL; /* ENOMEM */
	struct xmem_dma_subscriber *s = xm_meta_zalloc(sizeof(*s));
	if (!s)
		return NULL;
	strcpy(s->name, name);
	s->ops = *ops;
	s->ctx = ctx;

	/* Replay: every region, in address order.  Blocks are linked as they
	 * come (s is not visible to readers yet, so nothing is seen early). */
	int e = 0;
	for (struct xm_dma_reg *reg = xm_dma_regs; reg && !e; reg = reg->next) {
		struct xm_dma_info info;
		struct xm_dma_block *b;
		if (xm_dma_info_build(reg, &info)) {
			e = errno;
			break;
		}
		if (xm_dma_sub_add(s, reg, &info, &b))
			e = errno;
		else
			xm_dma_block_link(s, b);
		xm_dma_info_free(&info);
	}
	if (e) {
		/* Undo the replay, last region first. */
		while (XM_NEXT(s->blocks)) {
			struct xm_dma_block *b = XM_NEXT(s->blocks);
			while (XM_NEXT(b->next))
				b = XM_NEXT(b->next);
			/* Without memory for the runs, info still names
			 * the region for the REMOVE event. */
			struct xm_dma_info info;
			xm_dma_info_build(b->reg, &info);
			xm_dma_sub_remove(s, &info, b);
			xm_dma_info_free(&info);
			xm_dma_block_unlink(s, b);
			xm_dma_block_free(b); /* never visible to readers */
		}
		xm_meta_free(s, sizeof(*s));
		errno = e;
		return NULL;
	}
	/* Append; the release store publishes s and its blocks complete. */
	struct xmem_dma_subscriber *_Atomic *pp = &xm_dma_subs;
	while (XM_NEXT(*pp))
		pp = &XM_NEXT(*pp)->next;
	XM_PUBLISH(*pp, s);
	return s;
}

struct xmem_dma_subscriber *xmem_dma_subscribe(const char *name,
					       const struct xmem_dma_ops *ops,
					       void *ctx)
{
	xm_ctl_enter();
	xm_ctl_lock();
	struct xmem_dma_subscriber *s = xm_dma_subscribe_locked(name, ops, ctx);
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	xm_ctl_exit(!s, "xmem_dma_subscribe");
	return s;
}

struct xmem_dma_subscriber *xmem_mem_event_register(const char *name,
						    xmem_mem_event_fn fn,
						    void *ctx)
{
	xm_ctl_enter();
	struct xmem_dma_subscriber *s = NULL;
	if (!fn) {
		xm_cause("fn is NULL");
		errno = EINVAL;
	} else {
		struct xmem_dma_ops ops = {.mem_event = fn};
		s = xmem_dma_subscribe(name, &ops, ctx);
	}
	xm_ctl_exit(!s, "xmem_mem_event_register");
	return s;
}

/* After block b's unmap failed at entry `bad` (xm_dma_unmap_strict put
 * that entry back): map again what this call took down, the entries of b
 * after `bad` and every entry of the blocks after b (later regions, taken
 * down before b).  An entry a device refuses now leaves the registry, so
 * the registry still says exactly what is mapped. */
static void xm_dma_unsub_restore(struct xmem_dma_subscriber *s,
				 struct xm_dma_block *b, size_t bad)
{
	for (size_t from = bad + 1; b; from = 0) {
		struct xm_dma_block *next = XM_NEXT(b->next);
		xm_dma_remap_trim(s, b, from);
		b = next;
	}
}

int xm_dma_unsubscribe_locked(struct xmem_dma_subscriber *s)
{
	if (!xm_dma_sub_live(s)) {
		if (s)
			xm_cause("s %p is not a live subscriber", (void *)s);
		else
			xm_cause("s is NULL");
		errno = EINVAL;
		return -1;
	}
	/* Unmap every owned entry, last region first, before anything else:
	 * if a device does not unmap exactly, what was taken down is mapped
	 * again, s stays live, no REMOVE is sent, and the call changes
	 * nothing. */
	size_t n = 0;
	xm_for_each_block(b, s)
		n++;
	for (size_t k = n; s->ops.dma_unmap && k-- > 0;) {
		struct xm_dma_block *b = XM_NEXT(s->blocks);
		for (size_t i = 0; i < k; i++)
			b = XM_NEXT(b->next);
		size_t bad;
		if (xm_dma_unmap_strict(s, b, &bad) == 0)
			continue;
		xm_dma_unsub_restore(s, b, bad);
		errno = EIO;
		return -1;
	}
	/* REMOVE, last region first. */
	for (size_t k = n; k-- > 0;) {
		struct xm_dma_block *b = XM_NEXT(s->blocks);
		for (size_t i = 0; i < k; i++)
			b = XM_NEXT(b->next);
		struct xm_dma_info info;
		xm_dma_info_build(b->reg, &info);   /* see the replay's undo */
		xm_dma_sub_remove(s, &info, NULL);
		xm_dma_info_free(&info);
	}
	/* Make s invisible, wait, free. */
	struct xmem_dma_subscriber *_Atomic *pp = &xm_dma_subs;
	while (XM_NEXT(*pp) != s)
		pp = &XM_NEXT(*pp)->next;
	XM_PUBLISH(*pp, XM_NEXT(s->next));
	xm_rcu_synchronize();
	struct xm_dma_block *b = XM_NEXT(s->blocks);
	while (b) {
		struct xm_dma_block *next = XM_NEXT(b->next);
		xm_dma_block_free(b);
		b = next;
	}
	xm_meta_free(s, sizeof(*s));
	return 0;
}

int xmem_dma_unsubscribe(struct xmem_dma_subscriber *s)
{
	xm_ctl_enter();
	xm_ctl_lock();
	int rc = xm_dma_unsubscribe_locked(s);
	int e = errno;
	xm_ctl_unlock();
	errno = e;
	xm_ctl_exit(rc != 0, "xmem_dma_unsubscribe");
	return rc;
}

struct xmem_dma_subscriber *xmem_dma_subscriber_lookup(const char *name)
{
	if (!name || !name[0]) {
		errno = EINVAL;
		return NULL;
	}
	struct xmem_dma_subscriber *found = NULL;
	xm_rcu_read_lock();
	xm_for_each_sub(x) {
		if (strncmp(x->name, name, XMEM_DMA_NAME_MAX) == 0) {
			found = x;
			break;
		}
	}
	xm_rcu_read_unlock();
	if (!found)
		errno = ENOENT;
	return found;
}

long xmem_dma_mapping_walk(const struct xmem_dma_subscriber *s,
			   int (*fn)(const char *subscriber,
				     const struct xmem_dma_mapping *m, void *arg),
			   void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	long n = 0;
	int stop = 0;
	xm_rcu_read_lock();
	if (s && !xm_dma_sub_live_rcu(s)) {
		xm_rcu_read_unlock();
		errno = EINVAL;
		return -1;
	}
	xm_for_each_sub(x) {
		if (s && x != s)
			continue;
		xm_for_each_block(b, x) {
			for (size_t i = 0; i < b->n && !stop; i++) {
				n++;
				stop = fn(x->name, &b->m[i], arg);
			}
			if (stop)
				break;
		}
		if (stop)
			break;
	}
	xm_rcu_read_unlock();
	return n;
}

int xmem_dma_get_stats(const struct xmem_dma_subscriber *s,
		       struct xmem_dma_stats *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	xm_rcu_read_lock();
	if (!xm_dma_sub_live_rcu(s)) {
		xm_rcu_read_unlock();
		errno = EINVAL;
		return -1;
	}
	/* Relaxed loads: each counter is read on its own (see dma.h). */
#define LD(f) atomic_load_explicit(&s->f, memory_order_relaxed)
	out->regions = LD(regions);
	out->entries = LD(entries);
	out->owned = LD(owned);
	out->map_calls = LD(map_calls);
	out->map_errors = LD(map_errors);
	out->unmap_calls = LD(unmap_calls);
	out->unmap_errors = LD(unmap_errors);
	out->events = LD(events);
#undef LD
	xm_rcu_read_unlock();
	return 0;
}
