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
#include "vg.h"

struct xmem_heap *xm_heaps[XMEM_MAX_HEAPS];

static bool xm_name_ok(const char *name)
{
	if (!name || !name[0] || strnlen(name, XMEM_HEAP_NAME_MAX) >= XMEM_HEAP_NAME_MAX) {
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
		struct xmem_heap *h = xm_rcu_deref(xm_heaps[i]);
		if (h && strcmp(h->name, name) == 0)
			return i;
	}
	return -1;
}

/* Dead heap descriptors, for reuse as heap descriptors only (see
 * xm_heap_magic).  Control mutex held. */
static struct xmem_heap *xm_heap_free_descs;

static struct xmem_heap *xm_heap_desc_get(void)
{
	struct xmem_heap *h = xm_heap_free_descs;
	if (!h)
		return xm_meta_zalloc(sizeof(*h));
	xm_heap_free_descs = h->free_next;
	/* Zero all but the fields a dead handle's check may be reading. */
	const size_t keep = offsetof(struct xmem_heap, name);
	memset((char *)h + keep, 0, sizeof(*h) - keep);
	return h;
}

static void xm_heap_desc_put(struct xmem_heap *h)
{
	h->free_next = xm_heap_free_descs;
	xm_heap_free_descs = h;
}

/* For fault-injection tests only: give the dead descriptors back to the
 * metadata allocator, so that the next create must allocate.  Handles of
 * those heaps must not be used afterwards. */
void xm_heap_descs_release(void)
{
	xm_ctl_lock();
	while (xm_heap_free_descs) {
		struct xmem_heap *h = xm_heap_free_descs;
		xm_heap_free_descs = h->free_next;
		xm_meta_free(h, sizeof(*h));
	}
	xm_ctl_unlock();
}

struct xmem_heap *xmem_heap_create(const char *name)
{
	if (!xm_name_ok(name))
		return NULL;
	struct xmem_heap *h = NULL;
	xm_ctl_lock();
	int slot = -1;
	if (xm_heap_find(name) >= 0) {
		errno = EEXIST;
		goto out;
	}
	for (int i = 0; i < XMEM_MAX_HEAPS && slot < 0; i++)
		if (!xm_heaps[i])
			slot = i;
	if (slot < 0) {
		errno = ENOSPC;
		goto out;
	}
	h = xm_heap_desc_get();
	if (!h)
		goto out;
	static uint64_t serials;   /* under the control mutex */
	__atomic_store_n(&h->id, slot, __ATOMIC_RELAXED);
	__atomic_store_n(&h->serial, ++serials, __ATOMIC_RELAXED);
	pthread_mutex_init(&h->drain_lock, NULL);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		xm_stack_init(&h->depot[c]);
	xm_stack_init(&h->empties);
	strcpy(h->name, name);
	pthread_mutex_init(&h->lock, NULL);
	__atomic_store_n(&h->magic, XM_HEAP_MAGIC, __ATOMIC_RELEASE);
	/* Publishes the initialised descriptor (release). */
	xm_rcu_publish(xm_heaps[slot], h);
out:
	xm_ctl_unlock();
	return h;
}

int xmem_heap_destroy(struct xmem_heap *h)
{
	int rc = -1;
	xm_ctl_lock();
	if (!xm_heap_live(h)) {
		errno = EINVAL;
	} else if (h->regions) {
		errno = EBUSY;
	} else {
		xm_rcu_publish(xm_heaps[h->id], NULL);
		__atomic_store_n(&h->magic, 0, __ATOMIC_RELAXED);
		xm_rcu_synchronize();   /* lookups that found h are done */
		xm_heap_free_caches(h);
		pthread_mutex_destroy(&h->drain_lock);
		pthread_mutex_destroy(&h->lock);
		xm_heap_desc_put(h);
		rc = 0;
	}
	xm_ctl_unlock();
	return rc;
}

struct xmem_heap *xmem_heap_lookup(const char *name)
{
	if (!xm_name_ok(name))
		return NULL;
	xm_rcu_read_lock();
	int i = xm_heap_find(name);
	struct xmem_heap *h = i >= 0 ? xm_rcu_deref(xm_heaps[i]) : NULL;
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
		h = xm_rcu_deref(xm_heaps[id]);
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

int xmem_heap_add_memory(struct xmem_heap *h, void *va, size_t len,
			 const uint64_t *iova, size_t n_pages, size_t page_size)
{
	if (!xm_heap_live(h)) {
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
	pthread_mutex_lock(&h->lock);
	struct xm_region **tail = &h->regions;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	h->n_regions++;
	h->total_bytes += len;
	pthread_mutex_unlock(&h->lock);
	rc = 0;
out:
	xm_ctl_unlock();
	if (rc)
		xm_region_free(r);
	return rc;
}

/* Unlink r; returns the link it was reached through, where
 * xm_heap_relink puts it back.  The list keeps the order chunks were added
 * in, which is the order carving tries them (first fit). */
static struct xm_region **xm_heap_unlink(struct xmem_heap *h, struct xm_region *r)
{
	struct xm_region **pp = &h->regions;
	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	r->next = NULL;
	h->n_regions--;
	h->total_bytes -= r->len;
	return pp;
}

/* Undo xm_heap_unlink.  Valid while the list has not changed since, which
 * the control mutex guarantees: every change of it holds that mutex. */
static void xm_heap_relink(struct xmem_heap *h, struct xm_region *r,
			   struct xm_region **pp)
{
	r->next = *pp;
	*pp = r;
	h->n_regions++;
	h->total_bytes += r->len;
}

int xmem_heap_remove_memory(struct xmem_heap *h, void *va, size_t len)
{
	if (!va || len == 0) {
		errno = EINVAL;
		return -1;
	}
	int rc = -1;
	xm_ctl_lock();
	if (!xm_heap_live(h)) {
		errno = EINVAL;
		goto out;
	}
	struct xm_region *r = xm_region_find_exact((uintptr_t)va, len);
	if (!r || r->heap != h) {
		errno = ENOENT;
		goto out;
	}
	/* Objects free in lcore caches and the depot must not hold r. */
	xm_heap_drain(h);
	pthread_mutex_lock(&h->lock);
	if (r->live) {
		pthread_mutex_unlock(&h->lock);
		errno = EBUSY;
		goto out;
	}
	/* From here no allocation can come from r: it has left the list. */
	xm_heap_release_region_spans(h, r);
	struct xm_region **link = xm_heap_unlink(h, r);
	pthread_mutex_unlock(&h->lock);

	if (xm_region_unpublish(r)) {
		/* ENOMEM before anything was unpublished: put r back where it
		 * was, so carving order (and the dump) are as before. */
		pthread_mutex_lock(&h->lock);
		xm_heap_relink(h, r, link);
		pthread_mutex_unlock(&h->lock);
		goto out;
	}
	xm_region_free(r);
	xm_vg_on_remove(va, len);   /* the application's again */
	rc = 0;
out:
	xm_ctl_unlock();
	return rc;
}
