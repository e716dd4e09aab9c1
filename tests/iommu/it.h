/* tests/iommu/it.h - helpers shared by the DMA-layer unit tests: checks that
 * count and report, anonymous PROT_NONE reservations, and snapshots of the
 * heap and the mapping registry for before/after equality. */
#ifndef XMEM_TESTS_IOMMU_IT_H
#define XMEM_TESTS_IOMMU_IT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#include "testing/xmem_testdev.h"

static int it_pass, it_fail;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			it_pass++;                                             \
		} else {                                                       \
			it_fail++;                                             \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                        \
		}                                                              \
	} while (0)

/* call returns -1 (or NULL) with errno e. */
#define CHECK_ERR(call, e)                                                     \
	do {                                                                   \
		errno = 0;                                                     \
		long rc_ = (long)(intptr_t)(call);                             \
		int got_ = errno;                                              \
		if ((rc_ == -1 || rc_ == 0) && got_ == (e)) {                  \
			it_pass++;                                             \
		} else {                                                       \
			it_fail++;                                             \
			fprintf(stderr, "FAIL %s:%d: %s: rc %ld errno %d (%s), want %s\n", \
				__FILE__, __LINE__, #call, rc_, got_,          \
				strerror(got_), #e);                           \
		}                                                              \
	} while (0)

static inline int it_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, it_pass, it_fail);
	return it_fail ? 1 : 0;
}

/* Address space nothing touches: PROT_NONE, no reserve. */
static inline void *it_reserve(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

static inline double it_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- snapshots for before/after equality ---- */

struct it_snap {
	struct xmem_heap_stats hs;
	size_t n;
	struct xmem_dma_mapping m[4096];
	char who[4096][XMEM_DMA_NAME_MAX];
	int truncated;
};

static int it_snap_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	struct it_snap *s = arg;
	if (s->n == 4096) {
		s->truncated = 1;
		return 1;
	}
	s->m[s->n] = *m;
	snprintf(s->who[s->n], XMEM_DMA_NAME_MAX, "%s", sub);
	s->n++;
	return 0;
}

static inline void it_snap(struct xmem_heap *h, struct it_snap *s)
{
	memset(s, 0, sizeof(*s));
	if (h)
		xmem_heap_stats(h, &s->hs);
	xmem_dma_mapping_walk(NULL, it_snap_fn, s);
}

/* Heap counters and the registry equal. */
static inline int it_snap_equal(const struct it_snap *a, const struct it_snap *b)
{
	const struct xmem_heap_stats *x = &a->hs, *y = &b->hs;
	if (x->n_regions != y->n_regions || x->total_bytes != y->total_bytes ||
	    x->alloc_bytes != y->alloc_bytes || x->free_bytes != y->free_bytes ||
	    x->largest_free != y->largest_free || x->alloc_count != y->alloc_count ||
	    x->metadata_bytes != y->metadata_bytes)
		return 0;
	if (a->n != b->n || a->truncated || b->truncated)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(&a->m[i], &b->m[i], sizeof(a->m[i])) ||
		    strcmp(a->who[i], b->who[i]))
			return 0;
	return 1;
}

static inline uint64_t it_entries(struct xmem_dma_testdev *t)
{
	struct xmem_dma_testdev_stats st;
	xmem_dma_testdev_get_stats(t, &st);
	return st.entries;
}

static inline uint64_t it_map_calls(struct xmem_dma_testdev *t)
{
	struct xmem_dma_testdev_stats st;
	xmem_dma_testdev_get_stats(t, &st);
	return st.map_calls;
}

#endif
