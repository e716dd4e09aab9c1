/* model_impl.h - the reference model's private data structures and the
 * small helpers its two files share (model.c: records; model_check.c: the
 * stats comparison and the full check).  Not for users of the model:
 * they include model.h. */
#ifndef XMEM_TESTS_MODEL_IMPL_H
#define XMEM_TESTS_MODEL_IMPL_H

#include "model.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT ((size_t)4096)  /* large-block granule; class alignment limit */
#define N_REMOVED 64         /* removed ranges remembered for messages */

enum { CH_PENDING, CH_LIVE, CH_REMOVING };

struct mheap {
	struct xmem_heap *h;
	char name[XMEM_HEAP_NAME_MAX];
	int id;
	uint64_t live, large;        /* live blocks, of which large */
	size_t live_bytes;           /* sum of usable sizes */
	size_t large_bytes;
	uint64_t cls_live[XMEM_NUM_CLASSES];
	int inexact;                 /* counts not trusted (xmodel_heap_inexact) */
	struct mheap *next;
};

struct mchunk {
	uintptr_t va;
	size_t len, ps, n_pages;
	uint64_t *iova;              /* copy, or NULL */
	uint32_t *run;               /* run number of each page (with iova) */
	struct mheap *heap;          /* NULL: translation-only registration */
	int state;
	size_t live;                 /* live allocations inside */
};

struct mblock {
	uintptr_t s, e;              /* [s, e): the usable extent */
	size_t size, align;
	struct mheap *heap;
	struct mchunk *chunk;
	int cls;                     /* -1: large */
	uint64_t prio;
	struct mblock *l, *r;
};

struct xmodel {
	pthread_mutex_t mu;
	struct mheap *heaps;
	struct mchunk **chunks;      /* sorted by va, disjoint */
	size_t n_chunks, cap_chunks;
	struct mblock *root;
	size_t n_live;
	struct { uintptr_t va; size_t len; } removed[N_REMOVED];
	unsigned n_removed;          /* total ever; ring index = n % N_REMOVED */
	uint64_t inv_base, inv_noted;
	uint64_t inv_possible;        /* reports that may or may not come */
	int remove_errno_ok;          /* another errno a removal may give */
	size_t class_size[XMEM_NUM_CLASSES];
};

static inline int fail(char *err, int v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int fail(char *err, int v, const char *fmt, ...)
{
	if (err) {
		int n = snprintf(err, XMODEL_ERR_MAX, "%s: ",
				 xmodel_verdict_name(v));
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, XMODEL_ERR_MAX - n, fmt, ap);
		va_end(ap);
	}
	return v;
}

static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- heaps and chunks -------------------------------------------------- */

static inline struct mheap *find_heap(const struct xmodel *m, const struct xmem_heap *h)
{
	for (struct mheap *x = m->heaps; x; x = x->next)
		if (x->h == h)
			return x;
	return NULL;
}

/* Index of the first chunk with va > a. */
static inline size_t chunk_ub(const struct xmodel *m, uintptr_t a)
{
	size_t lo = 0, hi = m->n_chunks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->chunks[mid]->va <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline struct mchunk *chunk_at(const struct xmodel *m, uintptr_t a)
{
	size_t i = chunk_ub(m, a);
	if (i == 0)
		return NULL;
	struct mchunk *c = m->chunks[i - 1];
	return a - c->va < c->len ? c : NULL;
}

/* Index of the chunk starting exactly at va, or SIZE_MAX. */
static inline size_t chunk_index(const struct xmodel *m, uintptr_t va)
{
	size_t i = chunk_ub(m, va);
	if (i == 0 || m->chunks[i - 1]->va != va)
		return SIZE_MAX;
	return i - 1;
}

/* Does [a, b) overlap any chunk? */
static inline struct mchunk *chunk_overlap(const struct xmodel *m, uintptr_t a,
				    uintptr_t b)
{
	size_t i = chunk_ub(m, b - 1);
	if (i == 0)
		return NULL;
	struct mchunk *c = m->chunks[i - 1];
	return c->va + c->len > a ? c : NULL;
}

static inline void chunk_free(struct mchunk *c)
{
	if (!c)
		return;
	free(c->iova);
	free(c->run);
	free(c);
}

static inline uint64_t chunk_iova(const struct mchunk *c, uintptr_t a)
{
	if (!c->iova)
		return XMEM_BAD_IOVA;
	size_t off = a - c->va;
	uint64_t t = c->iova[off / c->ps];
	return t == XMEM_BAD_IOVA ? t : t + off % c->ps;
}

static inline const char *chunk_owner(const struct mchunk *c)
{
	return c->heap ? c->heap->name : "(translation only)";
}

/* model_check.c */
int mi_probe_locked(struct xmodel *m, uintptr_t a, uint64_t got,
		    uint64_t want, void *back, char *err);

#endif /* XMEM_TESTS_MODEL_IMPL_H */
