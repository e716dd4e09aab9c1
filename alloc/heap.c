/* heap.c - the heap table (create, destroy, lookup by name or id) and the
 * chunks a heap manages (add and remove memory).
 *
 * The table is an array of RCU-published slots: lookups read it in an RCU
 * read section and never block; create and destroy hold the control mutex,
 * and destroy waits a grace period before the descriptor is reused. */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "meta.h"
#include "numa.h"
#include "shared.h"
#include "vg.h"


static void xm_heap_link(struct xmem_heap *h, struct xm_region *r);

static bool xm_name_ok(const char *name)
{
	if (!name || !name[0] || strnlen(name, XMEM_HEAP_NAME_MAX) >= XMEM_HEAP_NAME_MAX) {
		xm_cause(!name ? "name is NULL" : !name[0] ? "name is empty" :
			 "name has %d characters or more (at most %d)",
			 XMEM_HEAP_NAME_MAX, XMEM_HEAP_NAME_MAX - 1);
		errno = EINVAL;
		return false;
	}
	return true;
}

/* Slot of the live heap named name, or -1.  RCU read section or control
 * mutex held. */
static int xm_heap_find(const char *name)
{
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		struct xmem_heap *h = xm_rcu_deref(xm_st.heaps[i]);
		if (h && strcmp(h->name, name) == 0)
			return i;
	}
	return -1;
}

/* Dead heap descriptors (xm_st.heap_free_descs) are reused as heap
 * descriptors only (see xm_heap_magic).  Control mutex held. */
static struct xmem_heap *xm_heap_desc_get(void)
{
	struct xmem_heap *h = xm_st.heap_free_descs;
	if (!h)
		return xm_meta_zalloc(sizeof(*h));
	xm_st.heap_free_descs = h->free_next;
	/* Zero all but the fields a dead handle's check may be reading. */
	const size_t keep = offsetof(struct xmem_heap, name);
	memset((char *)h + keep, 0, sizeof(*h) - keep);
	return h;
}

static void xm_heap_desc_put(struct xmem_heap *h)
{
	h->free_next = xm_st.heap_free_descs;
	xm_st.heap_free_descs = h;
}

/* For fault-injection tests only: give the dead descriptors back to the
 * metadata allocator, so that the next create must allocate.  Handles of
 * those heaps must not be used afterwards. */
void xm_heap_descs_release(void)
{
	xm_ctl_lock();
	while (xm_st.heap_free_descs) {
		struct xmem_heap *h = xm_st.heap_free_descs;
		xm_st.heap_free_descs = h->free_next;
		xm_meta_free(h, sizeof(*h));
	}
	xm_ctl_unlock();
}

static struct xmem_heap *xm_heap_create(const char *name)
{
	if (!xm_name_ok(name))
		return NULL;
	struct xmem_heap *h = NULL;
	xm_ctl_lock();
	int slot = -1;
	if (xm_heap_find(name) >= 0) {
		xm_cause("a heap named \"%s\" exists", name);
		errno = EEXIST;
		goto out;
	}
	for (int i = 0; i < XMEM_MAX_HEAPS && slot < 0; i++)
		if (!xm_st.heaps[i])
			slot = i;
	if (slot < 0) {
		xm_cause("%d heaps exist (XMEM_MAX_HEAPS)", XMEM_MAX_HEAPS);
		errno = ENOSPC;
		goto out;
	}
	h = xm_heap_desc_get();
	if (!h)
		goto out;
	static uint64_t serials;   /* under the control mutex */
	__atomic_store_n(&h->id, slot, __ATOMIC_RELAXED);
	__atomic_store_n(&h->serial, ++serials, __ATOMIC_RELAXED);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		xm_stack_init(&h->depot[c]);
		xm_stack_init(&h->cls[c].partial);
	}
	strcpy(h->name, name);
	xm_mutex_init(&h->large_lock, xm_dom != NULL);
	xm_mutex_init(&h->ctl_lock, xm_dom != NULL);
	__atomic_store_n(&h->magic, XM_HEAP_MAGIC, __ATOMIC_RELEASE);
	/* Publishes the initialised descriptor (release). */
	xm_rcu_publish(xm_st.heaps[slot], h);
	xm_numa_changed();   /* node choices (numa_alloc.c) are stale */
out:
	xm_ctl_unlock();
	return h;
}

struct xmem_heap *xmem_heap_create(const char *name)
{
	xm_ctl_enter();
	struct xmem_heap *h = xm_heap_create(name);
	xm_ctl_exit(!h, "xmem_heap_create");
	return h;
}

/* The cause of EINVAL for a heap argument that is not a live heap. */
static void xm_heap_dead_cause(const struct xmem_heap *h)
{
	if (h)
		xm_cause("heap %p is not a live heap", (const void *)h);
	else
		xm_cause("heap is NULL");
}

static int xm_heap_destroy(struct xmem_heap *h)
{
	int rc = -1;
	xm_ctl_lock();
	if (!xm_heap_live(h)) {
		xm_heap_dead_cause(h);
		errno = EINVAL;
	} else if (atomic_load_explicit(&h->regions, memory_order_relaxed)) {
		xm_cause("heap \"%s\" still has %llu chunks added (remove them first)",
			 h->name, (unsigned long long)atomic_load_explicit(
				 &h->n_regions, memory_order_relaxed));
		errno = EBUSY;
	} else {
		xm_rcu_publish(xm_st.heaps[h->id], NULL);
		__atomic_store_n(&h->magic, 0, __ATOMIC_RELAXED);
		xm_numa_changed();
		xm_rcu_synchronize();   /* lookups that found h are done */
		/* Its lcaches stay in their slots (cache.h): the next heap
		 * with this id re-initialises them. */
		/* A member that died holding one leaves links to its own
		 * memory in it, which destroy would leave in the descriptor. */
		xm_mutex_tidy(&h->large_lock);
		xm_mutex_tidy(&h->ctl_lock);
		pthread_mutex_destroy(&h->large_lock);
		pthread_mutex_destroy(&h->ctl_lock);
		xm_heap_desc_put(h);
		rc = 0;
	}
	xm_ctl_unlock();
	return rc;
}

int xmem_heap_destroy(struct xmem_heap *h)
{
	xm_ctl_enter();
	int rc = xm_heap_destroy(h);
	xm_ctl_exit(rc != 0, "xmem_heap_destroy");
	return rc;
}

struct xmem_heap *xmem_heap_lookup(const char *name)
{
	if (!xm_name_ok(name))
		return NULL;
	if (unlikely(xm_dom))
		xm_dom_sync_files();   /* its memory may be a new file */
	xm_rcu_read_lock();
	int i = xm_heap_find(name);
	struct xmem_heap *h = i >= 0 ? xm_rcu_deref(xm_st.heaps[i]) : NULL;
	xm_rcu_read_unlock();
	if (!h)
		errno = ENOENT;
	return h;
}

int xmem_heap_id(const struct xmem_heap *h)
{
	if (!xm_heap_live(h)) {
		errno = EINVAL;
		return -1;
	}
	return h->id;
}

struct xmem_heap *xmem_heap_from_id(int id)
{
	struct xmem_heap *h = NULL;
	if (id >= 0 && id < XMEM_MAX_HEAPS) {
		xm_rcu_read_lock();
		h = xm_rcu_deref(xm_st.heaps[id]);
		xm_rcu_read_unlock();
	}
	if (!h)
		errno = ENOENT;
	return h;
}

const char *xmem_heap_name(const struct xmem_heap *h)
{
	if (!xm_heap_live(h)) {
		errno = EINVAL;
		return NULL;
	}
	return h->name;
}

static int xm_heap_add(struct xmem_heap *h, void *va, size_t len,
		       const uint64_t *iova, size_t n_pages, size_t page_size)
{
	if (!xm_heap_live(h)) {
		xm_heap_dead_cause(h);
		errno = EINVAL;
		return -1;
	}
	struct xm_region *r = xm_region_new(va, len, iova, n_pages, page_size,
					    true);
	if (!r)
		return -1;
	xm_ctl_lock();
	int rc = -1;
	if (!xm_heap_live(h)) {
		xm_heap_dead_cause(h);
		errno = EINVAL;
		goto out;
	}
	/* r->heap is set before the page map points at r: a free racing with
	 * this add finds no span yet and is reported, never misrouted. */
	r->heap = h;
	if (xm_region_publish(r))
		goto out;
	/* Before r joins the heap's list, from which blocks are carved. */
	xm_vg_on_add(va, len);
	xm_heap_link(h, r);
	xm_numa_changed();
	rc = 0;
out:
	xm_ctl_unlock();
	if (rc)
		xm_region_free(r);
	xm_limbo_flush();
	return rc;
}

int xmem_heap_add_memory(struct xmem_heap *h, void *va, size_t len,
			 const uint64_t *iova, size_t n_pages, size_t page_size)
{
	xm_ctl_enter();
	int rc = xm_heap_add(h, va, len, iova, n_pages, page_size);
	xm_ctl_exit(rc != 0, "xmem_heap_add_memory");
	return rc;
}

/* The heap's chunk list keeps the order chunks were added in, which is
 * the order carving tries them (first fit).  Writers hold the control
 * mutex; release stores publish to the RCU readers (carving, stats). */
static void xm_heap_link(struct xmem_heap *h, struct xm_region *r)
{
	struct xm_region *_Atomic *pp = &h->regions;
	struct xm_region *x;
	while ((x = atomic_load_explicit(pp, memory_order_relaxed)))
		pp = &x->next;
	atomic_store_explicit(&r->next, NULL, memory_order_relaxed);
	atomic_store_explicit(pp, r, memory_order_release);
	xm_count((_Atomic uint64_t *)&h->n_regions, 1);
	xm_count((_Atomic uint64_t *)&h->total_bytes, (int64_t)r->len);
}

/* Unlink r; returns the link it was reached through, where
 * xm_heap_relink puts it back.  Readers standing on r still find the rest
 * through r->next, which stays intact until r is freed after a grace
 * period. */
static struct xm_region *_Atomic *xm_heap_unlink(struct xmem_heap *h,
						 struct xm_region *r)
{
	struct xm_region *_Atomic *pp = &h->regions;
	while (atomic_load_explicit(pp, memory_order_relaxed) != r)
		pp = &atomic_load_explicit(pp, memory_order_relaxed)->next;
	atomic_store_explicit(pp, atomic_load_explicit(&r->next,
						       memory_order_relaxed),
			      memory_order_release);
	xm_count((_Atomic uint64_t *)&h->n_regions, -1);
	xm_count((_Atomic uint64_t *)&h->total_bytes, -(int64_t)r->len);
	return pp;
}

/* Undo xm_heap_unlink.  Valid while the list has not changed since, which
 * the control mutex guarantees: every change of it holds that mutex. */
static void xm_heap_relink(struct xmem_heap *h, struct xm_region *r,
			   struct xm_region *_Atomic *pp)
{
	atomic_store_explicit(&r->next, atomic_load_explicit(pp, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(pp, r, memory_order_release);
	xm_count((_Atomic uint64_t *)&h->n_regions, 1);
	xm_count((_Atomic uint64_t *)&h->total_bytes, (int64_t)r->len);
}

/* Let r be carved from and claimed from again, after a failed removal. */
static void xm_heap_unretire(struct xm_region *r, struct xm_span *held)
{
	atomic_store_explicit(&r->retiring, 0, memory_order_release);
	/* Claimers that saw r retiring and dropped one of its spans are done
	 * after this; the walk below lists every such span again. */
	xm_rcu_synchronize();
	xm_span_restack(held);
	xm_region_relist(r);
}

/* Recycle the descriptors of r's spans (after the grace period of
 * unpublishing: no reader can reach them). */
static void xm_heap_drop_spans(struct xmem_heap *h, struct xm_span **v,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct xm_span *s = v[i];
		xm_count(&h->cls[s->cls].spans, -1);
		xm_count(&h->cls[s->cls].span_bytes,
			 -((int64_t)s->n_units << XM_UNIT_SHIFT));
		atomic_fetch_sub_explicit(&h->span_meta_bytes, s->desc_bytes,
					  memory_order_relaxed);
		xm_span_free_desc(s);
	}
}

/* Removal, under the control mutex and the heap's ctl_lock:
 *  1. mark r retiring and wait a grace period: every carver and claimer
 *     that starts afterwards leaves r alone (carve.c, span.c) -- unless
 *     every unit of r is free, when claiming them all shuts carvers out at
 *     once, and there is nothing to drain, check or take off the stacks;
 *  2. drain r's objects (only those) out of every cache and the depot,
 *     unless none is out of r's spans;
 *  3. r must be idle: every unit free or in a fully free span (EBUSY);
 *  4. take r's spans off the class stacks, list them, unlink r;
 *  5. unpublish: unmap for DMA first (a failed unmap fails the removal
 *     with EIO and changes nothing), then the page map, then a grace
 *     period; then the span descriptors and r itself are recycled.
 * Allocations and frees of other memory go on throughout, lock-free. */
static int xm_heap_remove(struct xmem_heap *h, void *va, size_t len)
{
	if (!va || len == 0) {
		xm_cause(!va ? "va is NULL" : "len is 0");
		errno = EINVAL;
		return -1;
	}
	int rc = -1;
	xm_ctl_lock();
	if (!xm_heap_live(h)) {
		xm_heap_dead_cause(h);
		errno = EINVAL;
		xm_ctl_unlock();
		return -1;
	}
	struct xm_region *r = xm_region_find_exact((uintptr_t)va, len);
	if (!r || r->heap != h) {
		xm_cause("[%p, +%#zx) is not exactly a chunk of heap \"%s\"", va,
			 len, h->name);
		errno = ENOENT;
		xm_ctl_unlock();
		return -1;
	}
	xm_mutex_lock(&h->ctl_lock);
	atomic_store_explicit(&r->retiring, 1, memory_order_seq_cst);
	struct xm_span *held = NULL, **spans = NULL;
	size_t n_spans = 0, cap = 0;
	/* Every unit free: nothing of r exists (no span, no block), and with
	 * all its units claimed no carver can make any, so there is no grace
	 * period to wait for, nothing to drain or check, and no span to take
	 * off the stacks (steps 1 to 4 but the unlinking). */
	bool fresh = xm_region_claim_all(r);
	if (!fresh) {
		xm_rcu_synchronize();
		/* With nothing of r out of its spans (in users' hands, a
		 * cache or the depot), nothing can leave them now that r is
		 * retiring: no cache holds an object of r, so none is seized,
		 * and no data thread is interrupted (membarrier) or sent to
		 * the cacheless path. */
		bool idle = xm_region_idle(r);
		if (!idle) {
			xm_heap_drain(h, r, XM_STALL_WAIT_NS);
			idle = xm_region_idle(r);
		}
		if (!idle) {
			xm_cause("an allocation in [%p, +%#zx) of heap \"%s\" is live",
				 va, len, h->name);
			errno = EBUSY;
			goto fail;
		}
		held = xm_span_unstack(h, r);
		n_spans = xm_region_collect(r, NULL, 0);
		cap = n_spans;
		if (cap && !(spans = xm_meta_zalloc(cap * sizeof(*spans))))
			goto fail;
		xm_region_collect(r, spans, cap);
	}
	struct xm_region *_Atomic *link = xm_heap_unlink(h, r);
	if (xm_region_unpublish(r)) {
		/* Nothing was unpublished (ENOMEM), or a device unmap failed
		 * and every mapping is back (EIO): r is as it was. */
		xm_heap_relink(h, r, link);
		goto fail;
	}
	xm_numa_changed();
	xm_heap_drop_spans(h, spans, n_spans);
	xm_meta_free(spans, cap * sizeof(*spans));
	pthread_mutex_unlock(&h->ctl_lock);
	xm_region_free(r);
	xm_vg_on_remove(va, len);   /* the application's again */
	xm_ctl_unlock();
	xm_limbo_flush();
	return 0;
fail:;
	int e = errno;
	xm_meta_free(spans, cap * sizeof(*spans));
	if (fresh)
		xm_region_unclaim_all(r);
	xm_heap_unretire(r, held);
	pthread_mutex_unlock(&h->ctl_lock);
	xm_ctl_unlock();
	errno = e;
	return rc;
}

int xmem_heap_remove_memory(struct xmem_heap *h, void *va, size_t len)
{
	xm_ctl_enter();
	int rc = xm_heap_remove(h, va, len);
	xm_ctl_exit(rc != 0, "xmem_heap_remove_memory");
	return rc;
}
