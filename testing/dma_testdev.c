/* dma_testdev.c - owns the test backend of the DMA-mapping layer: a software
 * "IOMMU" subscriber that behaves like a VFIO type1 container where it
 * matters (a sorted set of mapped IOVA extents, EEXIST on overlap, a limit of
 * entries reported as DMA_AVAIL, unmap of every extent inside the range with
 * the size reported back), logs every call, and fires one armed fault
 * (ENOSPC, EEXIST or EFAULT on a map, a short unmap).  API in
 * testing/xmem_testdev.h; it uses only the public API of xmem_dma.h.  Its
 * own mutex guards its state: map calls come from xmem under the control
 * mutex, direct calls from tests without it. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing/xmem_testdev.h"

struct xm_td_ext {
	uint64_t iova, len;
	void *va;
};

struct xmem_dma_testdev {
	struct xmem_dma_testdev *next;     /* xm_td_list */
	pthread_mutex_t lock;
	struct xmem_dma_subscriber *sub;
	uint64_t max_entries;
	struct xm_td_ext *ext;             /* sorted by iova, disjoint */
	size_t n_ext, cap_ext;
	struct xmem_dma_testdev_call *log;
	size_t n_log, cap_log;
	enum xmem_testdev_fault fault;
	uint64_t fault_skip;
	struct xmem_dma_testdev_stats st;
};

static pthread_mutex_t xm_td_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xmem_dma_testdev *xm_td_list;

static bool xm_td_live(const struct xmem_dma_testdev *t)
{
	bool live = false;
	pthread_mutex_lock(&xm_td_list_lock);
	for (struct xmem_dma_testdev *x = xm_td_list; x; x = x->next)
		live |= x == t;
	pthread_mutex_unlock(&xm_td_list_lock);
	return live;
}

static void xm_td_log(struct xmem_dma_testdev *t, char op, void *va,
		      uint64_t iova, uint64_t len, uint64_t done, int result)
{
	if (t->n_log == t->cap_log) {
		size_t cap = t->cap_log ? 2 * t->cap_log : 256;
		void *p = realloc(t->log, cap * sizeof(*t->log));
		if (!p)
			return; /* the log is best effort; the counters are not */
		t->log = p;
		t->cap_log = cap;
	}
	t->log[t->n_log++] = (struct xmem_dma_testdev_call){op, va, iova, len,
							    done, result};
}

/* First extent whose end is above iova. */
static size_t xm_td_lower(const struct xmem_dma_testdev *t, uint64_t iova)
{
	size_t lo = 0, hi = t->n_ext;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ext[mid].iova + t->ext[mid].len <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int xm_td_insert(struct xmem_dma_testdev *t, void *va, uint64_t iova,
			uint64_t len)
{
	size_t i = xm_td_lower(t, iova);
	if (i < t->n_ext && t->ext[i].iova < iova + len)
		return EEXIST;
	if (t->n_ext == t->cap_ext) {
		size_t cap = t->cap_ext ? 2 * t->cap_ext : 64;
		void *p = realloc(t->ext, cap * sizeof(*t->ext));
		if (!p)
			return ENOMEM;
		t->ext = p;
		t->cap_ext = cap;
	}
	memmove(&t->ext[i + 1], &t->ext[i], (t->n_ext - i) * sizeof(*t->ext));
	t->ext[i] = (struct xm_td_ext){iova, len, va};
	t->n_ext++;
	t->st.entries++;
	t->st.mapped_bytes += len;
	return 0;
}

/* Fire the armed fault if this call is the one. */
static bool xm_td_fire(struct xmem_dma_testdev *t, bool is_map)
{
	if (t->fault == XMEM_TESTDEV_FAULT_NONE ||
	    is_map == (t->fault == XMEM_TESTDEV_FAULT_SHORT_UNMAP))
		return false;
	if (t->fault_skip > 0) {
		t->fault_skip--;
		return false;
	}
	t->st.faults_fired++;
	t->fault = XMEM_TESTDEV_FAULT_NONE; /* one shot */
	return true;
}

static int xm_td_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	struct xmem_dma_testdev *t = ctx;
	pthread_mutex_lock(&t->lock);
	t->st.map_calls++;
	int e = 0;
	enum xmem_testdev_fault f = t->fault;
	if (xm_td_fire(t, true)) {
		e = f == XMEM_TESTDEV_FAULT_MAP_ENOSPC ? ENOSPC
		    : f == XMEM_TESTDEV_FAULT_MAP_EEXIST ? EEXIST : EFAULT;
	} else if (t->max_entries && t->n_ext >= t->max_entries) {
		e = ENOSPC;
	} else {
		e = xm_td_insert(t, va, iova, len);
	}
	if (e)
		t->st.map_failed++;
	xm_td_log(t, 'M', va, iova, len, e ? 0 : len, e);
	pthread_mutex_unlock(&t->lock);
	errno = e;
	return e ? -1 : 0;
}

/* Unmap every extent inside [iova, iova + len), as type1 does. */
static uint64_t xm_td_remove_range(struct xmem_dma_testdev *t, uint64_t iova,
				   uint64_t len)
{
	uint64_t done = 0;
	size_t i = xm_td_lower(t, iova), j = i;
	while (j < t->n_ext && t->ext[j].iova + t->ext[j].len <= iova + len &&
	       t->ext[j].iova >= iova) {
		done += t->ext[j].len;
		j++;
	}
	memmove(&t->ext[i], &t->ext[j], (t->n_ext - j) * sizeof(*t->ext));
	t->n_ext -= j - i;
	t->st.entries -= j - i;
	t->st.mapped_bytes -= done;
	return done;
}

static int xm_td_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
		       uint64_t *unmapped)
{
	struct xmem_dma_testdev *t = ctx;
	pthread_mutex_lock(&t->lock);
	t->st.unmap_calls++;
	uint64_t done = xm_td_remove_range(t, iova, len);
	if (xm_td_fire(t, false) && done >= 4096) {
		/* A short unmap: the last page stays mapped and is not reported
		 * (the stale entry SPDK issue 1705 was about). */
		xm_td_insert(t, (char *)va + len - 4096, iova + len - 4096, 4096);
		done -= 4096;
	}
	if (done != len)
		t->st.unmap_short++;
	xm_td_log(t, 'U', va, iova, len, done, done == len ? 0 : EIO);
	pthread_mutex_unlock(&t->lock);
	*unmapped = done;
	if (done != len) {
		errno = done ? EIO : ENOENT;
		return -1;
	}
	return 0;
}

static int xm_td_avail(void *ctx, uint64_t *avail)
{
	struct xmem_dma_testdev *t = ctx;
	if (!t->max_entries)
		return -1;
	pthread_mutex_lock(&t->lock);
	*avail = t->n_ext >= t->max_entries ? 0 : t->max_entries - t->n_ext;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int xm_td_lookup(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	struct xmem_dma_testdev *t = ctx;
	pthread_mutex_lock(&t->lock);
	size_t i = xm_td_lower(t, iova);
	int same = i < t->n_ext && t->ext[i].iova == iova && t->ext[i].len == len &&
		   t->ext[i].va == va;
	pthread_mutex_unlock(&t->lock);
	return same;
}

struct xmem_dma_testdev *xmem_dma_testdev_create(const char *name,
						 uint64_t max_entries)
{
	struct xmem_dma_testdev *t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->max_entries = max_entries;
	struct xmem_dma_ops ops = {
		.dma_map = xm_td_map,
		.dma_unmap = xm_td_unmap,
		.dma_avail = xm_td_avail,
		.dma_lookup = xm_td_lookup,
	};
	t->sub = xmem_dma_subscribe(name, &ops, t);
	if (!t->sub) {
		int e = errno;
		pthread_mutex_destroy(&t->lock);
		free(t->ext);
		free(t->log);
		free(t);
		errno = e;
		return NULL;
	}
	pthread_mutex_lock(&xm_td_list_lock);
	t->next = xm_td_list;
	xm_td_list = t;
	pthread_mutex_unlock(&xm_td_list_lock);
	return t;
}

int xmem_dma_testdev_destroy(struct xmem_dma_testdev *t)
{
	pthread_mutex_lock(&xm_td_list_lock);
	struct xmem_dma_testdev **pp = &xm_td_list;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (!t || !*pp) {
		pthread_mutex_unlock(&xm_td_list_lock);
		errno = EINVAL;
		return -1;
	}
	*pp = t->next;
	pthread_mutex_unlock(&xm_td_list_lock);
	/* Disarmed first; an unmap that still fails (an extent unmapped behind
	 * xmem's back) is put back by the failed attempt, so one retry
	 * finishes.  The subscriber must be gone before t is freed. */
	pthread_mutex_lock(&t->lock);
	t->fault = XMEM_TESTDEV_FAULT_NONE;
	pthread_mutex_unlock(&t->lock);
	for (int i = 0; i < 3 && xmem_dma_unsubscribe(t->sub) != 0 && errno == EIO; i++)
		;
	pthread_mutex_destroy(&t->lock);
	free(t->ext);
	free(t->log);
	free(t);
	return 0;
}

struct xmem_dma_subscriber *xmem_dma_testdev_subscriber(struct xmem_dma_testdev *t)
{
	/* Compared, never dereferenced, until known live: t may be freed. */
	if (!t || !xm_td_live(t)) {
		errno = EINVAL;
		return NULL;
	}
	return t->sub;
}

int xmem_dma_testdev_inject(struct xmem_dma_testdev *t,
			    enum xmem_testdev_fault fault, uint64_t skip)
{
	if (!t || (unsigned)fault > XMEM_TESTDEV_FAULT_SHORT_UNMAP || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	t->fault = fault;
	t->fault_skip = skip;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int xmem_dma_testdev_map_direct(struct xmem_dma_testdev *t, void *va,
				uint64_t iova, uint64_t len)
{
	if (!t || len == 0 || (len | iova | (uintptr_t)va) & 4095 || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	int e = xm_td_insert(t, va, iova, len);
	pthread_mutex_unlock(&t->lock);
	errno = e;
	return e ? -1 : 0;
}

int xmem_dma_testdev_unmap_direct(struct xmem_dma_testdev *t, uint64_t iova,
				  uint64_t len)
{
	if (!t || len == 0 || (len | iova) & 4095 || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	size_t i = xm_td_lower(t, iova);
	int e = 0;
	if (i < t->n_ext && t->ext[i].iova == iova && t->ext[i].len == len)
		xm_td_remove_range(t, iova, len);
	else
		e = ENOENT;
	pthread_mutex_unlock(&t->lock);
	errno = e;
	return e ? -1 : 0;
}

int xmem_dma_testdev_get_stats(struct xmem_dma_testdev *t,
			       struct xmem_dma_testdev_stats *out)
{
	if (!t || !out || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	*out = t->st;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int xmem_dma_testdev_call(struct xmem_dma_testdev *t, uint64_t i,
			  struct xmem_dma_testdev_call *out)
{
	if (!t || !out || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	int e = i < t->n_log ? 0 : ENOENT;
	if (!e)
		*out = t->log[i];
	pthread_mutex_unlock(&t->lock);
	errno = e;
	return e ? -1 : 0;
}

int xmem_dma_testdev_clear_log(struct xmem_dma_testdev *t)
{
	if (!t || !xm_td_live(t)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	t->n_log = 0;
	t->st.map_calls = t->st.map_failed = 0;
	t->st.unmap_calls = t->st.unmap_short = 0;
	t->st.faults_fired = 0;
	pthread_mutex_unlock(&t->lock);
	return 0;
}
