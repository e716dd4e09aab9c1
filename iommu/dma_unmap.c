/* dma_unmap.c - owns taking a subscriber's mappings down strictly, for the
 * calls that must fail with EIO and keep their record exact when a device
 * does not unmap what it was asked to (region removal, unsubscribe):
 *  - xm_dma_unmap_strict: unmap a block's owned entries last first, stop at
 *    the first unmap that fails or reports another size, and put that entry
 *    back in a known state (xm_dma_entry_restore);
 *  - xm_dma_remap: map entries again (undoing a partial take-down);
 *  - xm_dma_block_trim: replace a linked block by one holding only the
 *    entries still in place (RCU: readers see the old or the new block,
 *    never a mix).
 * Also the lenient xm_dma_unmap_entries used when forgetting is the only way
 * left (rollback of an add, a region already unpublished).  Control mutex
 * held throughout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/meta.h"
#include "iommu/dma.h"

void xm_dma_count(_Atomic uint64_t *c, int64_t d)
{
	/* Relaxed: a statistic; the control mutex orders writers. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

static void xm_dma_unmap_log(const struct xmem_dma_subscriber *s,
			     const struct xmem_dma_mapping *m, int rc,
			     uint64_t done, int e)
{
	xm_log("xmem: dma: subscriber %s: unmap of iova %#llx len %#llx "
	       "reported %#llx bytes (%s)",
	       s->name, (unsigned long long)m->iova, (unsigned long long)m->len,
	       (unsigned long long)done, rc ? strerror(e) : "size mismatch");
	xm_cause("subscriber \"%s\" did not unmap iova %#llx len %#llx "
		 "(%s); everything is mapped as before", s->name,
		 (unsigned long long)m->iova, (unsigned long long)m->len,
		 rc ? strerror(e) : "size mismatch");
}

/* One unmap of m; 0 when it unmapped exactly m->len bytes.  Otherwise
 * counted and logged, *done and *err say what happened. */
static int xm_dma_unmap_one(struct xmem_dma_subscriber *s,
			    const struct xmem_dma_mapping *m, uint64_t *done,
			    int *err)
{
	*done = 0;
	errno = 0;
	xm_dma_count(&s->unmap_calls, 1);
	int rc = s->ops.dma_unmap(s->ctx, m->va, m->iova, m->len, done);
	*err = errno;
	if (likely(rc == 0 && *done == m->len))
		return 0;
	xm_dma_count(&s->unmap_errors, 1);
	xm_dma_unmap_log(s, m, rc, *done, *err);
	if (rc == 0)
		*err = 0; /* ran, but reported another size */
	return -1;
}

void xm_dma_unmap_entries(struct xmem_dma_subscriber *s,
			  const struct xm_dma_block *b)
{
	for (size_t i = b->n; i-- > 0;) {
		uint64_t done;
		int e;
		if (b->m[i].owned)
			xm_dma_unmap_one(s, &b->m[i], &done, &e);
	}
}

/* Map m again; 0 when the device took it. */
static int xm_dma_map_one(struct xmem_dma_subscriber *s,
			  const struct xmem_dma_mapping *m)
{
	xm_dma_count(&s->map_calls, 1);
	if (s->ops.dma_map(s->ctx, m->va, m->iova, m->len) == 0)
		return 0;
	xm_dma_count(&s->map_errors, 1);
	xm_log("xmem: dma: subscriber %s: mapping iova %#llx len %#llx again "
	       "failed (%s); the registry drops it",
	       s->name, (unsigned long long)m->iova, (unsigned long long)m->len,
	       strerror(errno));
	return -1;
}

/* After m's unmap failed (rc -1 and nothing unmapped: untouched) or came
 * back short (part of it may still be mapped, part not): bring it back to a
 * known state, mapped as recorded.  A failure that unmapped nothing leaves
 * it alone; otherwise the rest of the range is unmapped (result ignored:
 * it may hold nothing) and m mapped again.  If that map fails the state is
 * unknown and m stays recorded: the record is then a superset of what the
 * device maps, never a subset. */
static void xm_dma_entry_restore(struct xmem_dma_subscriber *s,
				 const struct xmem_dma_mapping *m,
				 uint64_t done, int err)
{
	if (done == 0 && err != 0 && err != ENOENT)
		return; /* the call failed before unmapping anything */
	uint64_t d2 = 0;
	xm_dma_count(&s->unmap_calls, 1);
	s->ops.dma_unmap(s->ctx, m->va, m->iova, m->len, &d2);
	xm_dma_map_one(s, m);
}

int xm_dma_unmap_strict(struct xmem_dma_subscriber *s,
			const struct xm_dma_block *b, size_t *failed)
{
	for (size_t i = b->n; i-- > 0;) {
		const struct xmem_dma_mapping *m = &b->m[i];
		uint64_t done;
		int e;
		if (!m->owned || xm_dma_unmap_one(s, m, &done, &e) == 0)
			continue;
		xm_dma_entry_restore(s, m, done, e);
		*failed = i;
		errno = EIO;
		return -1;
	}
	return 0;
}

size_t xm_dma_remap(struct xmem_dma_subscriber *s, const struct xm_dma_block *b,
		    size_t from, bool *keep)
{
	size_t lost = 0;
	for (size_t i = from; i < b->n; i++) {
		if (!b->m[i].owned)
			continue;
		if (xm_dma_map_one(s, &b->m[i])) {
			lost++;
			if (keep)
				keep[i] = false;
		}
	}
	return lost;
}

/* Map b's owned entries from `from` on again; those the device refuses
 * leave the registry (b is trimmed; without memory for that, b stays a
 * superset of what is mapped, logged by xm_dma_block_trim's caller). */
void xm_dma_remap_trim(struct xmem_dma_subscriber *s, struct xm_dma_block *b,
			      size_t from)
{
	bool *keep = xm_dma_malloc(b->n * sizeof(*keep) + 1);
	if (keep)
		memset(keep, 1, b->n * sizeof(*keep));
	if (xm_dma_remap(s, b, from, keep) && keep)
		xm_dma_block_trim(s, b, keep);
	free(keep);
}

struct xm_dma_block *xm_dma_block_new(const struct xm_dma_reg *reg, size_t cap)
{
	size_t bytes = sizeof(struct xm_dma_block) +
		       cap * sizeof(struct xmem_dma_mapping);
	struct xm_dma_block *b = xm_meta_zalloc(bytes);
	if (!b)
		return NULL;
	b->bytes = bytes;
	b->reg = reg;
	return b;
}

void xm_dma_block_free(struct xm_dma_block *b)
{
	if (b)
		xm_meta_free(b, b->bytes);
}

/* Entries and owned entries of b, for the counters. */
static void xm_dma_block_counts(const struct xm_dma_block *b, int64_t *n,
				int64_t *owned)
{
	*n = (int64_t)b->n;
	*owned = 0;
	for (size_t i = 0; i < b->n; i++)
		*owned += b->m[i].owned;
}

void xm_dma_block_trim(struct xmem_dma_subscriber *s, struct xm_dma_block *b,
		       const bool *keep)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += keep[i];
	if (n == b->n)
		return;
	struct xm_dma_block *nb = xm_dma_block_new(b->reg, n);
	if (!nb) {
		/* The old record stays: a superset of what is mapped. */
		xm_log("xmem: dma: subscriber %s: no memory to trim the registry; "
		       "it keeps %zu entries no longer mapped", s->name, b->n - n);
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		if (keep[i])
			nb->m[nb->n++] = b->m[i];
	int64_t n0, o0, n1, o1;
	xm_dma_block_counts(b, &n0, &o0);
	xm_dma_block_counts(nb, &n1, &o1);
	/* nb takes b's place: its next is set before the release store that
	 * makes it reachable, so a reader sees b or nb, each complete, and the
	 * rest of the list behind either. */
	atomic_store_explicit(&nb->next, XM_NEXT(b->next), memory_order_relaxed);
	struct xm_dma_block *_Atomic *pp = &s->blocks;
	while (XM_NEXT(*pp) != b)
		pp = &XM_NEXT(*pp)->next;
	XM_PUBLISH(*pp, nb);
	xm_dma_count(&s->entries, n1 - n0);
	xm_dma_count(&s->owned, o1 - o0);
	xm_rcu_synchronize(); /* readers standing on b leave it */
	xm_dma_block_free(b);
}

void xm_dma_block_link(struct xmem_dma_subscriber *s, struct xm_dma_block *b)
{
	int64_t n, owned;
	xm_dma_block_counts(b, &n, &owned);
	/* Append; the release store publishes b complete to readers. */
	struct xm_dma_block *_Atomic *pp = &s->blocks;
	while (XM_NEXT(*pp))
		pp = &XM_NEXT(*pp)->next;
	atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
	XM_PUBLISH(*pp, b);
	xm_dma_count(&s->regions, 1);
	xm_dma_count(&s->entries, n);
	xm_dma_count(&s->owned, owned);
}

void xm_dma_block_unlink(struct xmem_dma_subscriber *s, struct xm_dma_block *b)
{
	int64_t n, owned;
	xm_dma_block_counts(b, &n, &owned);
	/* Bypass b; readers standing on b still find the rest through its
	 * next, which stays intact.  Free only after a grace period. */
	struct xm_dma_block *_Atomic *pp = &s->blocks;
	while (XM_NEXT(*pp) && XM_NEXT(*pp) != b)
		pp = &XM_NEXT(*pp)->next;
	if (XM_NEXT(*pp) == b)
		XM_PUBLISH(*pp, XM_NEXT(b->next));
	xm_dma_count(&s->regions, -1);
	xm_dma_count(&s->entries, -n);
	xm_dma_count(&s->owned, -owned);
}

struct xm_dma_block *xm_dma_block_find(struct xmem_dma_subscriber *s,
				       const struct xm_dma_reg *reg)
{
	xm_for_each_block(b, s)
		if (b->reg == reg)
			return b;
	return NULL;
}
