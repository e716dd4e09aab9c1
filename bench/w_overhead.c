/* w_overhead.c - memory overhead (not timed):
 *  - internal fragmentation: every peer serves the request set of workloads
 *    burst and pipeline (XB_FRAG_N x 2 KiB) and of the mixed burst (its sizes);
 *    we sum the bytes asked for, the usable bytes the peer reports for each
 *    block (xmem_usable_size, rte_malloc_validate, the pool's elt_size,
 *    malloc_usable_size, mi_usable_size), and the growth of the allocator's
 *    own in-use counter where it has one (xmem alloc_bytes, rte_malloc
 *    heap_allocsz_bytes with its in-band headers, pool objects x (header +
 *    elt + trailer)), else the sum of what each block takes (glibc: usable
 *    + the 8-byte chunk header; jemalloc, mimalloc: the size class).
 *  - xmem metadata per GiB: a heap over 1 GiB (reserved PROT_NONE: xmem keeps
 *    metadata out of band, so nothing touches it) filled with 2 KiB objects;
 *    metadata_bytes from xmem_heap_stats, empty and full; once with 4 KiB
 *    pages, once with 2 MiB pages.  The in-band
 *    header rte_malloc writes per 2 KiB object is reported next to it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/bench.h"
#include "xmem/xmem.h"

#define XB_FRAG_N XB_MIXED_LEN

static void frag_one(const struct xb_peer *p, int set, struct xb_frag *f)
{
	const uint32_t *mixed = xb_mixed_sizes();
	void **objs = calloc(XB_FRAG_N, sizeof *objs);
	long long before, after;
	size_t i;

	memset(f, 0, sizeof *f);
	if (objs == NULL)
		return;
	if (set == 1 && p->fixed_size && p->fixed_size < XB_MAX_SIZE) {
		snprintf(f->note, sizeof f->note, "fixed %zu B elements", p->fixed_size);
		free(objs);
		return;
	}
	before = p->in_use ? p->in_use() : -1;
	for (i = 0; i < XB_FRAG_N; i++) {
		size_t sz = set == 0 ? XB_OBJ_SIZE : mixed[i];
		objs[i] = p->alloc(sz);
		if (objs[i] == NULL)
			break;
		f->requested += (double)sz;
		f->usable += p->usable ? (double)p->usable(objs[i]) : 0;
		if (p->in_use == NULL && p->footprint != NULL)
			f->in_use += (double)p->footprint(objs[i]);
	}
	after = p->in_use ? p->in_use() : -1;
	if (p->in_use != NULL)
		f->in_use = before >= 0 && after >= 0 ? (double)(after - before) : -1;
	else if (p->footprint == NULL)
		f->in_use = -1;
	if (i == XB_FRAG_N) {
		f->valid = 1;
	} else {
		snprintf(f->note, sizeof f->note, "allocation %zu failed", i);
	}
	while (i > 0)
		p->free(objs[--i]);
	free(objs);
}

/* A heap over len bytes of page-size pages (reserved PROT_NONE: nothing
 * touches it), filled with 2 KiB objects: metadata_bytes per GiB, empty and
 * full.  Returns 1 when measured. */
static int xmem_meta(const struct xb_cfg *cfg, size_t page, struct xb_meta *out)
{
	size_t len = cfg->quick ? (size_t)128 << 20 : XB_GIB;
	size_t max_objs = len / XB_OBJ_SIZE, got = 0, n = len / page;
	struct xb_mem m;
	struct xmem_heap *h;
	struct xmem_heap_stats s;
	void **objs;
	double t0 = xb_now();

	memset(out, 0, sizeof *out);
	if (!xb_peers[XB_XMEM]->ready) {
		snprintf(out->note, sizeof out->note, "xmem not ready");
		return 0;
	}
	if (xb_mem_map(&m, len, 1, 0) != 0)
		return 0;
	/* The table for page-size pages: every (page / 4 KiB)th entry. */
	for (size_t i = 0; i < n; i++)
		m.iova[i] = m.iova[i * (page / XB_PAGE)];
	objs = malloc(max_objs * sizeof *objs);
	h = xmem_heap_create("xb_meta");
	if (objs == NULL || h == NULL ||
	    xmem_heap_add_memory(h, m.va, m.len, m.iova, n, page) != 0) {
		snprintf(out->note, sizeof out->note, "heap setup failed: %s", strerror(errno));
		goto out;
	}
	if (xmem_heap_stats(h, &s) != 0)
		goto out;
	out->empty = (double)s.metadata_bytes * (double)XB_GIB / (double)len;
	while (got + XB_BURST <= max_objs) {
		if (xmem_alloc_bulk(h, XB_OBJ_SIZE, &objs[got], XB_BURST) != 0)
			break;
		got += XB_BURST;
		if ((got & 0xffff) == 0 && xb_now() - t0 > 60.0)
			break; /* a slow allocator: measure what we have */
	}
	if (xmem_heap_stats(h, &s) != 0)
		goto out;
	out->full = (double)s.metadata_bytes * (double)XB_GIB / (double)len;
	out->objects = (double)got;
	out->valid = 1;
	snprintf(out->note, sizeof out->note,
	         "%zu MiB heap of %zu KiB pages%s, %zu of %zu 2 KiB objects placed, %.1f s",
	         len >> 20, page >> 10, len != XB_GIB ? " (scaled to 1 GiB)" : "", got,
	         max_objs, xb_now() - t0);
	for (size_t i = 0; i < got; i += XB_BURST)
		xmem_free_bulk(&objs[i], XB_BURST);
	if (xmem_heap_remove_memory(h, m.va, m.len) == 0)
		xmem_heap_destroy(h);
out:
	free(objs);
	/* If remove failed the heap still owns the range: leave it mapped. */
	if (h == NULL || xmem_heap_lookup("xb_meta") == NULL)
		xb_mem_unmap(&m);
	return out->valid;
}

void xb_w_overhead_run(const struct xb_cfg *cfg, struct xb_overhead *ov)
{
	memset(ov, 0, sizeof *ov);
	for (int set = 0; set < 2; set++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			if (xb_peer_in(xb_peers[i], 0))
				frag_one(xb_peers[i], set, &ov->frag[set][i]);
			else
				snprintf(ov->frag[set][i].note, sizeof ov->frag[set][i].note,
				         "peer not available");
		}
	struct xb_frag *r = &ov->frag[0][XB_RTE_MALLOC];
	if (r->valid && r->in_use > 0)
		ov->dpdk_hdr_per_obj = (r->in_use - r->requested) / XB_FRAG_N;
	xmem_meta(cfg, XB_PAGE, &ov->meta[0]);
	xmem_meta(cfg, (size_t)2 << 20, &ov->meta[1]);
}
