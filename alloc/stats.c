/* stats.c - per-heap counters (xmem_heap_stats, with bytes per NUMA node)
 * and the human-readable dump of every heap and region (xmem_heap_dump). */
#include <errno.h>
#include <string.h>

#include "cache.h"

/* A snapshot of h's figures, taken without draining anything and without
 * a lock that the data path takes: counters are read with relaxed loads,
 * the region list under RCU. */
static void xm_stats_read(const struct xmem_heap *h, struct xmem_heap_stats *o)
{
#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)
	memset(o, 0, sizeof(*o));
	memcpy(o->name, h->name, sizeof(o->name));
	o->id = h->id;
	o->n_regions = LD(h->n_regions);
	o->total_bytes = LD(h->total_bytes);
	o->large_count = LD(h->large_count);
	o->alloc_count = o->large_count;
	o->alloc_bytes = LD(h->large_bytes);
	o->metadata_bytes = sizeof(*h) + LD(h->span_meta_bytes);
	struct xm_numa_bytes nb;
	memset(&nb, 0, sizeof(nb));
	xm_rcu_read_lock();
	xm_for_each_region(r, h) {
		size_t lf = xm_region_largest_free(r);
		if (lf > o->largest_free)
			o->largest_free = lf;
		o->metadata_bytes += r->meta_bytes;
		xm_numa_counts_add(&r->numa, &nb);
	}
	xm_rcu_read_unlock();
	o->numa_node = xm_numa_node_of(&nb);
	memcpy(o->numa_bytes, nb.node, sizeof(o->numa_bytes));
	o->numa_unknown_bytes = nb.unknown;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		const struct xm_class *k = &h->cls[c];
		/* Blocks handed out minus blocks given back, cacheless paths
		 * plus every lcore cache.  Read while other lcores run, the
		 * sum can catch a free before its alloc: clamp at zero.
		 * Cached: out of their spans but not in users' hands. */
		int64_t live = (int64_t)(LD(k->allocs) - LD(k->frees) +
					 xm_cache_live(h, c));
		/* Out of spans, read last: no fewer than the live objects at
		 * any moment, so it bounds a sum that read a free before its
		 * allocation's count moved. */
		int64_t out = (int64_t)LD(k->out);
		if (live < 0)
			live = 0;
		if (out < 0)
			out = 0;
		if (live > out)
			live = out;
		int64_t cached = out - live;
		o->classes[c].size = xm_class_bytes[c];
		o->classes[c].live = (uint64_t)live;
		o->classes[c].cached = (uint64_t)cached;
		o->alloc_count += (uint64_t)live;
		o->alloc_bytes += (size_t)live * xm_class_bytes[c];
		o->cached_count += (uint64_t)cached;
		o->cached_bytes += (size_t)cached * xm_class_bytes[c];
		o->classes[c].spans = LD(k->spans);
		o->classes[c].span_bytes = LD(k->span_bytes);
	}
#undef LD
	if (o->alloc_bytes > o->total_bytes)
		o->alloc_bytes = o->total_bytes;
	o->free_bytes = o->total_bytes - o->alloc_bytes;
}

int xmem_heap_stats(const struct xmem_heap *heap, struct xmem_heap_stats *out)
{
	if (!xm_heap_live(heap) || !out) {
		errno = EINVAL;
		return -1;
	}
	xm_stats_read(heap, out);
	return 0;
}

static void xm_dump_heap(FILE *f, struct xmem_heap *h)
{
	struct xmem_heap_stats st;
	xm_stats_read(h, &st);
	fprintf(f, "heap \"%s\" id %d numa %d: %zu regions, %zu bytes total, "
		"%zu allocated in %llu blocks (%llu large), %llu blocks cached, "
		"%zu free, largest free run %zu, metadata %zu\n",
		st.name, st.id, st.numa_node, st.n_regions, st.total_bytes,
		st.alloc_bytes, (unsigned long long)st.alloc_count,
		(unsigned long long)st.large_count,
		(unsigned long long)st.cached_count, st.free_bytes,
		st.largest_free, st.metadata_bytes);
	xm_rcu_read_lock();
	xm_for_each_region(r, h) {
		size_t free_units = 0;
		for (size_t w = 0; w < (r->n_units + 63) / 64; w++)
			free_units += (size_t)__builtin_popcountll(atomic_load_explicit(
					&r->free_units[w], memory_order_relaxed));
		struct xm_numa_bytes nb;
		memset(&nb, 0, sizeof(nb));
		xm_numa_counts_add(&r->numa, &nb);
		fprintf(f, "  region %#lx-%#lx page %zu KiB, %zu IOVA runs, "
			"numa %d (%zu bytes unknown), %zu free units\n",
			(unsigned long)r->va, (unsigned long)(r->va + r->len),
			((size_t)1 << r->page_shift) >> 10, r->n_runs,
			xm_numa_node_of(&nb), nb.unknown, free_units);
	}
	xm_rcu_read_unlock();
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		if (st.classes[c].spans)
			fprintf(f, "  class %2d %6zu B: %llu live, %llu cached, "
				"%llu spans, %llu span bytes\n",
				c, st.classes[c].size,
				(unsigned long long)st.classes[c].live,
				(unsigned long long)st.classes[c].cached,
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
		if (xm_st.heaps[i])
			xm_dump_heap(f, xm_st.heaps[i]);
	xm_region_foreach(xm_dump_translation, f);
	xm_ctl_unlock();
	if (fflush(f) || ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}
