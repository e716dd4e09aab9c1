/* stats.c - per-heap counters (xmem_heap_stats) and the human-readable dump
 * of every heap and region (xmem_heap_dump). */
#include <errno.h>
#include <string.h>

#include "cache.h"

/* Heap lock held. */
static void xm_stats_locked(const struct xmem_heap *h, struct xmem_heap_stats *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->name, h->name, sizeof(o->name));
	o->id = h->id;
	o->n_regions = h->n_regions;
	o->total_bytes = h->total_bytes;
	o->large_count = h->large_count;
	o->alloc_count = h->large_count;
	o->alloc_bytes = h->large_bytes;
	o->metadata_bytes = sizeof(*h) + h->span_meta_bytes;
	o->numa_node = XMEM_NUMA_NODE_UNKNOWN;
	for (const struct xm_region *r = h->regions; r; r = r->next) {
		size_t lf = xm_region_largest_free(r);
		if (lf > o->largest_free)
			o->largest_free = lf;
		o->metadata_bytes += r->meta_bytes;
		if (r == h->regions)
			o->numa_node = r->numa_node;
		else if (r->numa_node != o->numa_node)
			o->numa_node = XMEM_NUMA_NODE_UNKNOWN;
	}
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		/* Blocks handed out minus blocks given back, locked path plus
		 * every lcore cache.  Read while other lcores run, the sum can
		 * catch a free before its alloc: clamp that at zero. */
		int64_t live = (int64_t)(h->cls[c].allocs - h->cls[c].frees +
					 xm_cache_live(h, c));
		if (live < 0)
			live = 0;
		o->classes[c].size = xm_class_bytes[c];
		o->classes[c].live = (uint64_t)live;
		o->alloc_count += (uint64_t)live;
		o->alloc_bytes += (size_t)live * xm_class_bytes[c];
		o->classes[c].spans = h->cls[c].spans;
		o->classes[c].span_bytes = h->cls[c].span_bytes;
	}
	if (o->alloc_bytes > o->total_bytes)
		o->alloc_bytes = o->total_bytes;
	o->free_bytes = o->total_bytes - o->alloc_bytes;
}

int xmem_heap_stats(const struct xmem_heap *heap, struct xmem_heap_stats *out)
{
	struct xmem_heap *h = (struct xmem_heap *)heap;
	if (!xm_heap_live(h) || !out) {
		errno = EINVAL;
		return -1;
	}
	/* Cached free objects would show as spans in use: give them back
	 * first, so the figures describe the memory exactly. */
	xm_heap_trim_lock(h);
	xm_stats_locked(h, out);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void xm_dump_heap(FILE *f, struct xmem_heap *h)
{
	struct xmem_heap_stats st;
	xm_heap_trim_lock(h);
	xm_stats_locked(h, &st);
	fprintf(f, "heap \"%s\" id %d numa %d: %zu regions, %zu bytes total, "
		"%zu allocated in %llu blocks (%llu large), %zu free, "
		"largest free run %zu, metadata %zu\n",
		st.name, st.id, st.numa_node, st.n_regions, st.total_bytes,
		st.alloc_bytes, (unsigned long long)st.alloc_count,
		(unsigned long long)st.large_count, st.free_bytes,
		st.largest_free, st.metadata_bytes);
	for (const struct xm_region *r = h->regions; r; r = r->next)
		fprintf(f, "  region %#lx-%#lx page %zu KiB, %zu IOVA runs, "
			"numa %d, %zu free units, %llu live blocks\n",
			(unsigned long)r->va, (unsigned long)(r->va + r->len),
			((size_t)1 << r->page_shift) >> 10, r->n_runs,
			r->numa_node, r->free_count,
			(unsigned long long)r->live);
	pthread_mutex_unlock(&h->lock);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		if (st.classes[c].spans)
			fprintf(f, "  class %2d %6zu B: %llu live, %llu spans, %llu span bytes\n",
				c, st.classes[c].size,
				(unsigned long long)st.classes[c].live,
				(unsigned long long)st.classes[c].spans,
				(unsigned long long)st.classes[c].span_bytes);
}

static void xm_dump_translation(struct xm_region *r, void *arg)
{
	if (!r->heap)
		fprintf(arg, "registration %#lx-%#lx page %zu KiB, %zu IOVA runs\n",
			(unsigned long)r->va, (unsigned long)(r->va + r->len),
			((size_t)1 << r->page_shift) >> 10, r->n_runs);
}

int xmem_heap_dump(FILE *f)
{
	if (!f)
		f = stdout;
	xm_ctl_lock();
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		if (xm_heaps[i])
			xm_dump_heap(f, xm_heaps[i]);
	xm_region_foreach(xm_dump_translation, f);
	xm_ctl_unlock();
	if (fflush(f) || ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}
