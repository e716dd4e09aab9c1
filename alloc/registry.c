/* registry.c - the set of published regions, every heap chunk and every
 * translation-only registration together: overlap detection (EEXIST), the
 * page map entries, the IOVA -> VA search table, and the region listeners
 * (region_events.h) told of every publish and unpublish.
 *
 * Writers hold the control mutex.  The IOVA table is an immutable sorted
 * array replaced as a whole and published with xm_rcu_publish, so
 * xmem_iova2virt searches it inside an RCU read section without locks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "state.h"
#include "pagemap.h"
#include "region.h"
#include "region_events.h"
#include "runs.h"

struct xm_iova_ent {
	uint64_t  iova;
	uintptr_t va;
	size_t    len;
	uint64_t  reach;   /* max of iova + len over this entry and those before */
};

struct xm_iova_table {
	size_t n;
	size_t bytes;
	struct xm_iova_ent e[];
};


/* Writer-side list of the published regions sorted by va
 * (xm_st.regs): one block, never changed in place but rebuilt aside and
 * replaced with one store, so that a domain member killed while changing
 * it leaves the old list or the new one, never a half-shifted array.
 * NULL: none. */
struct xm_regs {
	size_t n;
	struct xm_region *r[];
};

static const struct xm_regs xm_regs_none;

static const struct xm_regs *xm_regs(void)
{
	return xm_st.regs ? xm_st.regs : &xm_regs_none;
}

static size_t xm_regs_bytes(size_t n)
{
	return sizeof(struct xm_regs) + n * sizeof(struct xm_region *);
}

static void xm_regs_replace(struct xm_regs *nw)
{
	struct xm_regs *old = xm_st.regs;
	__atomic_store_n(&xm_st.regs, nw, __ATOMIC_RELEASE);
	if (old)
		xm_meta_free(old, xm_regs_bytes(old->n));
}

size_t xm_region_count(void)
{
	return xm_regs()->n;
}

static size_t xm_regs_lower_bound(uintptr_t va)
{
	const struct xm_regs *R = xm_regs();
	size_t lo = 0, hi = R->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (R->r[mid]->va < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct xm_region *xm_region_overlaps(uintptr_t va, size_t len)
{
	const struct xm_regs *R = xm_regs();
	size_t i = xm_regs_lower_bound(va);
	if (i > 0 && R->r[i - 1]->va + R->r[i - 1]->len > va)
		return R->r[i - 1];
	return i < R->n && R->r[i]->va < va + len ? R->r[i] : NULL;
}

static int xm_iova_ent_cmp(const void *a, const void *b)
{
	const struct xm_iova_ent *x = a, *y = b;
	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* Count (out == NULL) or emit the IOVA runs of r (runs.h). */
static size_t xm_region_iova_runs(const struct xm_region *r,
				  struct xm_iova_ent *out)
{
	if (!r->iova)
		return 0;
	size_t n = 0, ps = (size_t)1 << r->page_shift;
	for (size_t p = 0, q; p < r->n_pages; p = q) {
		q = xm_iova_run_end(r->iova, r->n_pages, ps, p);
		if (r->iova[p] == XMEM_BAD_IOVA)
			continue;
		if (out)
			out[n] = (struct xm_iova_ent){
				.iova = r->iova[p], .va = r->va + p * ps,
				.len = (q - p) * ps};   /* reach: xm_iova_reach */
		n++;
	}
	return n;
}

/* An empty table with room for n entries. */
static struct xm_iova_table *xm_iova_alloc(size_t n)
{
	size_t bytes = sizeof(struct xm_iova_table) + n * sizeof(struct xm_iova_ent);
	struct xm_iova_table *t = xm_meta_zalloc(bytes);
	if (t)
		t->bytes = bytes;
	return t;
}

static void xm_iova_reach(struct xm_iova_table *t)
{
	uint64_t reach = 0;
	for (size_t i = 0; i < t->n; i++) {
		uint64_t end = t->e[i].iova + t->e[i].len;
		reach = end > reach ? end : reach;
		t->e[i].reach = reach;
	}
}

/* The published table with r's runs merged in.  Only r's own runs are
 * read and sorted: the rest is the published table, already sorted, so a
 * registration costs a copy of the table, not a scan of every region's
 * pages and a sort of all their runs (which made the thousandth 2 MiB
 * region of 4 KiB pages take 42 ms to register). */
static struct xm_iova_table *xm_iova_with(const struct xm_region *r)
{
	const struct xm_iova_table *o = xm_st.iova_tab;
	size_t on = o ? o->n : 0, k = xm_region_iova_runs(r, NULL);
	size_t kbytes = k * sizeof(struct xm_iova_ent);
	struct xm_iova_ent *add = k ? xm_meta_zalloc(kbytes) : NULL;
	struct xm_iova_table *t = (k && !add) ? NULL : xm_iova_alloc(on + k);
	if (!t) {
		xm_meta_free(add, kbytes);
		return NULL;
	}
	if (k) {
		xm_region_iova_runs(r, add);
		qsort(add, k, sizeof(add[0]), xm_iova_ent_cmp);
	}
	/* Merge from the back: the published entries first in t, r's after
	 * the equal ones among them. */
	if (on)
		memcpy(t->e, o->e, on * sizeof(t->e[0]));
	for (size_t i = on, j = k, w = on + k; j > 0;)
		t->e[--w] = i > 0 && t->e[i - 1].iova > add[j - 1].iova ?
			    t->e[--i] : add[--j];
	t->n = on + k;
	xm_meta_free(add, kbytes);
	xm_iova_reach(t);
	return t;
}

/* Whether entry e is one of r's runs: its address lies in r (regions
 * never overlap, so those are exactly r's). */
static bool xm_iova_of(const struct xm_iova_ent *e, const struct xm_region *r)
{
	return e->va - r->va < r->len;
}

/* The published table without r's runs. */
static struct xm_iova_table *xm_iova_without(const struct xm_region *r)
{
	const struct xm_iova_table *o = xm_st.iova_tab;
	size_t on = o ? o->n : 0, keep = 0;
	for (size_t i = 0; i < on; i++)
		keep += !xm_iova_of(&o->e[i], r);
	struct xm_iova_table *t = xm_iova_alloc(keep);
	if (!t)
		return NULL;
	for (size_t i = 0; i < on; i++)
		if (!xm_iova_of(&o->e[i], r))
			t->e[t->n++] = o->e[i];
	xm_iova_reach(t);
	return t;
}

/* Publish t.  The table it replaces is freed after a grace period: at
 * once when wait is set (a removal, whose callers need one anyway), else at
 * the next replacement that waits.  At most one table waits so, and a
 * registration then pays no grace period of its own, whose two membarrier
 * calls interrupt every running thread of the process (the data path's
 * p99.99 under a busy control plane is those interrupts). */
static void xm_iova_replace(struct xm_iova_table *t, bool wait)
{
	struct xm_iova_table *old = xm_st.iova_tab;
	xm_rcu_publish(xm_st.iova_tab, t);
	if (!wait && !xm_st.iova_retired) {
		xm_st.iova_retired = old;
		return;
	}
	/* Readers that found the old table, or the one retired before it
	 * (unpublished earlier still), leave them before this returns. */
	xm_rcu_synchronize();
	struct xm_iova_table *r = xm_st.iova_retired;
	xm_st.iova_retired = NULL;
	if (old)
		xm_meta_free(old, old->bytes);
	if (r)
		xm_meta_free(r, r->bytes);
}

/* ---------------------------------------------------------------- listeners */

/* Written and read with the control mutex held only. */
static struct xm_region_listener xm_listeners[XM_REGION_LISTENERS_MAX];
static unsigned xm_n_listeners;

int xm_region_listen(const struct xm_region_listener *l)
{
	if (!l || !l->added || !l->removing || !l->remove_undo || !l->removed) {
		errno = EINVAL;
		return -1;
	}
	if (xm_n_listeners == XM_REGION_LISTENERS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	xm_listeners[xm_n_listeners++] = *l;
	return 0;
}

/* removed, for the first n listeners (a failed publish: n that got added). */
static void xm_notify_removed(struct xm_region *r, unsigned n)
{
	int e = errno;
	for (unsigned i = 0; i < n; i++)
		xm_listeners[i].removed(xm_listeners[i].ctx, r);
	errno = e;
}

static int xm_notify_added(struct xm_region *r)
{
	for (unsigned i = 0; i < xm_n_listeners; i++) {
		if (xm_listeners[i].added(xm_listeners[i].ctx, r)) {
			xm_notify_removed(r, i);
			return -1;
		}
	}
	return 0;
}

/* removing on every listener, last first; on a failure, the ones that
 * succeeded get remove_undo and the errno of the failure is returned. */
static int xm_notify_removing(struct xm_region *r)
{
	for (unsigned i = xm_n_listeners; i-- > 0;) {
		if (xm_listeners[i].removing(xm_listeners[i].ctx, r)) {
			int e = errno;
			for (unsigned j = i + 1; j < xm_n_listeners; j++)
				xm_listeners[j].remove_undo(xm_listeners[j].ctx, r);
			errno = e;
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- publish */

static int xm_region_publish_tables(struct xm_region *r);

int xm_region_publish(struct xm_region *r)
{
	struct xm_region *o = xm_region_overlaps(r->va, r->len);
	if (o) {
		if (o->heap)
			xm_cause("[%#lx, %#lx) overlaps chunk [%#lx, %#lx) of heap \"%s\"",
				 (unsigned long)r->va, (unsigned long)(r->va + r->len),
				 (unsigned long)o->va, (unsigned long)(o->va + o->len),
				 xmem_heap_name(o->heap));
		else
			xm_cause("[%#lx, %#lx) overlaps the registration [%#lx, %#lx) "
				 "(xmem_register)",
				 (unsigned long)r->va, (unsigned long)(r->va + r->len),
				 (unsigned long)o->va, (unsigned long)(o->va + o->len));
		errno = EEXIST;
		return -1;
	}
	/* Listeners first: they may assign r's IOVAs, which the IOVA table
	 * built below must already see. */
	if (xm_notify_added(r))
		return -1;
	if (xm_region_publish_tables(r)) {
		xm_notify_removed(r, xm_n_listeners);
		return -1;
	}
	return 0;
}

/* The fallible part of publishing, then the commit.  On failure nothing
 * is visible. */
static int xm_region_publish_tables(struct xm_region *r)
{
	/* The new list is built aside and replaces the old one only once
	 * nothing else can fail. */
	const struct xm_regs *o = xm_regs();
	struct xm_regs *nw = xm_meta_zalloc(xm_regs_bytes(o->n + 1));
	if (!nw)
		return -1;
	struct xm_iova_table *t = xm_iova_with(r);
	if (!t)
		goto fail;
	if (xm_pagemap_set(r, true)) {
		xm_meta_free(t, t->bytes);
		goto fail;
	}
	size_t i = xm_regs_lower_bound(r->va);
	memcpy(nw->r, o->r, i * sizeof(nw->r[0]));
	nw->r[i] = r;
	memcpy(nw->r + i + 1, o->r + i, (o->n - i) * sizeof(nw->r[0]));
	nw->n = o->n + 1;
	xm_regs_replace(nw);
	xm_iova_replace(t, false);
	return 0;
fail:
	xm_meta_free(nw, xm_regs_bytes(o->n + 1));
	return -1;
}

int xm_region_unpublish(struct xm_region *r)
{
	/* Everything that can fail comes first: the smaller IOVA table, then
	 * the listeners' removing (device unmaps).  Either failure leaves r
	 * published, translatable and mapped. */
	const struct xm_regs *o = xm_regs();
	struct xm_regs *nw = NULL;
	if (o->n > 1 && !(nw = xm_meta_zalloc(xm_regs_bytes(o->n - 1))))
		return -1;
	struct xm_iova_table *t = xm_iova_without(r);
	if (!t) {
		xm_meta_free(nw, xm_regs_bytes(o->n - 1));
		return -1;
	}
	if (xm_notify_removing(r)) {
		int e = errno;
		xm_meta_free(t, t->bytes);
		xm_meta_free(nw, xm_regs_bytes(o->n - 1));
		errno = e;
		return -1;
	}
	/* Leaves exist for every unit of r, so clearing cannot fail. */
	xm_pagemap_set(r, false);
	if (nw) {
		size_t i = xm_regs_lower_bound(r->va);
		memcpy(nw->r, o->r, i * sizeof(nw->r[0]));
		memcpy(nw->r + i, o->r + i + 1, (o->n - i - 1) * sizeof(nw->r[0]));
		nw->n = o->n - 1;
	}
	xm_regs_replace(nw);
	xm_iova_replace(t, true); /* the grace period r's callers need */
	xm_notify_removed(r, xm_n_listeners);
	return 0;
}

struct xm_region *xm_region_find_exact(uintptr_t va, size_t len)
{
	const struct xm_regs *R = xm_regs();
	size_t i = xm_regs_lower_bound(va);
	if (i < R->n && R->r[i]->va == va && R->r[i]->len == len)
		return R->r[i];
	return NULL;
}

void xm_region_foreach(void (*fn)(struct xm_region *r, void *arg), void *arg)
{
	const struct xm_regs *R = xm_regs();
	for (size_t i = 0; i < R->n; i++)
		fn(R->r[i], arg);
}

void *xmem_iova2virt(uint64_t iova)
{
	void *va = NULL;
	xm_rcu_read_lock();
	struct xm_iova_table *t = xm_rcu_deref(xm_st.iova_tab);
	if (t && t->n) {
		/* Last entry whose iova <= the one asked for. */
		size_t lo = 0, hi = t->n;
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (t->e[mid].iova <= iova)
				lo = mid;
			else
				hi = mid;
		}
		/* IOVA ranges of different regions may overlap (two tables
		 * naming the same IOVA): an earlier, longer run can hold iova
		 * though the nearest does not.  Walk back while some earlier run
		 * reaches past iova; with disjoint ranges this is one step. */
		for (size_t i = lo + 1; i-- > 0 && t->e[i].reach > iova;) {
			const struct xm_iova_ent *e = &t->e[i];
			if (e->iova <= iova && iova - e->iova < e->len) {
				va = (void *)(e->va + (iova - e->iova));
				break;
			}
		}
	}
	xm_rcu_read_unlock();
	if (!va)
		errno = ENOENT;
	return va;
}
