/* xt_util.h - shared helpers for the xmem tests (header-only):
 *   - a seeded PRNG (XT_SEED=<n> in the environment reproduces a run),
 *   - anonymous mappings aligned to any power of two (MAP_NORESERVE),
 *   - region bookkeeping: the expected IOVA of any address,
 *   - a shadow interval set of live blocks ([start, end), sorted array) that
 *     reports overlaps,
 *   - a per-block checker (alignment, usable size, inside the heap's memory,
 *     IOVA-contiguous over the whole usable extent, exact IOVA),
 *   - a random alloc/free workload over one or more heaps,
 *   - stats comparison of the accounting fields.
 */
#ifndef XMEM_TESTS_XT_UTIL_H
#define XMEM_TESTS_XT_UTIL_H

#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xmem/xmem.h>

#include "xt.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define PAGE4K ((size_t)4096)
#define PAGE2M ((size_t)2 * 1024 * 1024)

/* ---------------------------------------------------------------- PRNG */

static uint64_t xt_rng_state;

static inline void xt_seed(void)
{
	const char *s = getenv("XT_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0)
			  : ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20));
	if (!seed)
		seed = 1;
	xt_rng_state = seed;
	printf("seed %" PRIu64 " (set XT_SEED to reproduce)\n", seed);
}

/* splitmix64; one state per caller (threads pass their own). */
static inline uint64_t xt_rand_r(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static inline uint64_t xt_rand(void) { return xt_rand_r(&xt_rng_state); }
/* uniform in [lo, hi] */
static inline uint64_t xt_range_r(uint64_t *st, uint64_t lo, uint64_t hi)
{
	return lo + xt_rand_r(st) % (hi - lo + 1);
}
static inline uint64_t xt_range(uint64_t lo, uint64_t hi)
{
	return xt_range_r(&xt_rng_state, lo, hi);
}

/* ------------------------------------------------------------- mappings */

/* An anonymous private mapping of len bytes whose start is aligned to align
 * (a power of two), MAP_NORESERVE.  Exits the test on failure. */
static inline void *xt_map(size_t len, size_t align, int prot)
{
	if (align < PAGE4K)
		align = PAGE4K;
	size_t over = len + align;
	char *p = mmap(NULL, over, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		XT_FATAL("mmap(%zu) failed: %s", over, strerror(errno));
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	size_t head = a - (uintptr_t)p, tail = over - head - len;
	if (head)
		munmap(p, head);
	if (tail)
		munmap((char *)a + len, tail);
	return (void *)a;
}

static inline void xt_unmap(void *p, size_t len) { munmap(p, len); }

/* A fresh heap name for this process: "<prefix>-<n>". */
static inline const char *xt_name(const char *prefix)
{
	static char buf[8][XMEM_HEAP_NAME_MAX];
	static unsigned n;
	char *b = buf[n % 8];
	snprintf(b, XMEM_HEAP_NAME_MAX, "%.20s-%u", prefix, n);
	n++;
	return b;
}

/* -------------------------------------------------------------- regions */

struct xt_region {
	char *va;
	size_t len;
	size_t page_size;
	uint64_t *iova;   /* NULL: no table */
	int heap;         /* index of the heap it belongs to (workload) */
};

/* table[i] = base + i * page_size (the DPDK tests' IOVA layout) */
static inline uint64_t *xt_linear_table(uint64_t base, size_t n, size_t ps)
{
	uint64_t *t = malloc(n * sizeof *t);
	if (!t)
		XT_FATAL("malloc");
	for (size_t i = 0; i < n; i++)
		t[i] = base + i * ps;
	return t;
}

static inline bool xt_in_region(const struct xt_region *r, uintptr_t a)
{
	return a >= (uintptr_t)r->va && a < (uintptr_t)r->va + r->len;
}

static inline uint64_t xt_expected_iova(const struct xt_region *r, uintptr_t a)
{
	if (!r->iova)
		return XMEM_BAD_IOVA;
	size_t off = a - (uintptr_t)r->va;
	return r->iova[off / r->page_size] + off % r->page_size;
}

/* --------------------------------------------------- shadow interval set */

struct xt_iv {
	uintptr_t s, e;   /* [s, e): the usable extent */
	size_t size;      /* requested size */
	int heap;
};

struct xt_shadow {
	struct xt_iv *v;
	size_t n, cap;
	size_t bytes;     /* sum of (e - s) */
};

/* index of the first interval with s >= key */
static inline size_t xt_shadow_lb(const struct xt_shadow *sh, uintptr_t key)
{
	size_t lo = 0, hi = sh->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sh->v[mid].s < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert; returns false (and inserts nothing) when it overlaps a live one. */
static inline bool xt_shadow_insert(struct xt_shadow *sh, struct xt_iv iv)
{
	size_t i = xt_shadow_lb(sh, iv.s);
	if (i > 0 && sh->v[i - 1].e > iv.s) {
		xt_fail_at(__FILE__, __LINE__,
			   "overlap: new [%#lx,%#lx) with live [%#lx,%#lx)",
			   (unsigned long)iv.s, (unsigned long)iv.e,
			   (unsigned long)sh->v[i - 1].s,
			   (unsigned long)sh->v[i - 1].e);
		return false;
	}
	if (i < sh->n && sh->v[i].s < iv.e) {
		xt_fail_at(__FILE__, __LINE__,
			   "overlap: new [%#lx,%#lx) with live [%#lx,%#lx)",
			   (unsigned long)iv.s, (unsigned long)iv.e,
			   (unsigned long)sh->v[i].s, (unsigned long)sh->v[i].e);
		return false;
	}
	if (sh->n == sh->cap) {
		sh->cap = sh->cap ? sh->cap * 2 : 1024;
		sh->v = realloc(sh->v, sh->cap * sizeof *sh->v);
		if (!sh->v)
			XT_FATAL("realloc");
	}
	memmove(&sh->v[i + 1], &sh->v[i], (sh->n - i) * sizeof *sh->v);
	sh->v[i] = iv;
	sh->n++;
	sh->bytes += iv.e - iv.s;
	return true;
}

static inline struct xt_iv xt_shadow_remove_at(struct xt_shadow *sh, size_t i)
{
	struct xt_iv iv = sh->v[i];
	memmove(&sh->v[i], &sh->v[i + 1], (sh->n - i - 1) * sizeof *sh->v);
	sh->n--;
	sh->bytes -= iv.e - iv.s;
	return iv;
}

static inline void xt_shadow_free(struct xt_shadow *sh)
{
	free(sh->v);
	memset(sh, 0, sizeof *sh);
}

/* ------------------------------------------------------- block checking */

/* The alignment a block must have for (size, align). */
static inline size_t xt_eff_align(size_t size, size_t align)
{
	if (align)
		return align;
	return size < XMEM_ALIGN_DEFAULT ? XMEM_ALIGN_MIN : XMEM_ALIGN_DEFAULT;
}

/* Check a block that xmem_alloc returned for heap index `heap` (regions
 * carry the heap index).  Returns the usable size (0 when broken).
 *  - aligned to xt_eff_align(size, align);
 *  - usable_size >= size;
 *  - [p, p + usable) inside one region of that heap;
 *  - translation: with a table, virt2iova(p) is exactly the table's value and
 *    virt2iova(p + k) == virt2iova(p) + k at every 4 KiB boundary and at the
 *    last usable byte; without one, virt2iova gives XMEM_BAD_IOVA. */
static inline size_t xt_check_block(const struct xt_region *regs, int nreg,
				    int heap, void *ptr, size_t size,
				    size_t align)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t al = xt_eff_align(size, align);
	if (p & (al - 1)) {
		xt_fail_at(__FILE__, __LINE__,
			   "block %p (size %zu align %zu) not aligned to %zu",
			   ptr, size, align, al);
		return 0;
	}
	errno = 0;
	size_t us = xmem_usable_size(ptr);
	if (us < size) {
		xt_fail_at(__FILE__, __LINE__,
			   "usable_size(%p) = %zu < size %zu (errno %d)", ptr,
			   us, size, errno);
		return 0;
	}
	const struct xt_region *r = NULL;
	for (int i = 0; i < nreg; i++)
		if (xt_in_region(&regs[i], p)) {
			r = &regs[i];
			break;
		}
	if (!r || r->heap != heap || p + us > (uintptr_t)r->va + r->len) {
		xt_fail_at(__FILE__, __LINE__,
			   "block [%p,+%zu) (size %zu) not inside memory of "
			   "heap %d (region %p heap %d)",
			   ptr, us, size, heap, r ? (void *)r->va : NULL,
			   r ? r->heap : -1);
		return 0;
	}
	uint64_t io = xmem_virt2iova(ptr);
	if (io != xt_expected_iova(r, p)) {
		xt_fail_at(__FILE__, __LINE__,
			   "virt2iova(%p) = %#" PRIx64 ", expected %#" PRIx64,
			   ptr, io, xt_expected_iova(r, p));
		return 0;
	}
	if (r->iova) {
		uintptr_t k = (p + PAGE4K) & ~(uintptr_t)(PAGE4K - 1);
		for (;; k += PAGE4K) {
			uintptr_t a = k < p + us ? k : p + us - 1;
			uint64_t got = xmem_virt2iova((void *)a);
			if (got != io + (a - p)) {
				xt_fail_at(__FILE__, __LINE__,
					   "block [%p,+%zu) crosses an IOVA "
					   "jump: virt2iova(%p) = %#" PRIx64
					   ", start %#" PRIx64 " + %#lx",
					   ptr, us, (void *)a, got, io,
					   (unsigned long)(a - p));
				return 0;
			}
			if (a == p + us - 1)
				break;
		}
	}
	return us;
}

/* xmem_alloc must fail with errno e; a block it returns anyway is freed so
 * that one failure does not cascade into EBUSY later. */
#define CHECK_ALLOC_FAILS(h, size, align, e)                                 \
	({                                                                   \
		void *xt_p_;                                                 \
		CHECK_ERRNO((xt_p_ = xmem_alloc((h), (size), (align))) == NULL, e); \
		if (xt_p_)                                                   \
			xmem_free(xt_p_);                                    \
		xt_p_ == NULL;                                               \
	})

/* ---------------------------------------------------------------- stats */

/* The heap's figures after a trim: stats themselves drain nothing, so
 * without it cached objects and the spans they keep would show. */
static inline bool xt_stats(struct xmem_heap *h, struct xmem_heap_stats *s)
{
	memset(s, 0, sizeof *s);
	return CHECK_OK(xmem_heap_trim(h)) && CHECK_OK(xmem_heap_stats(h, s));
}

/* The accounting fields must be identical. */
#define XT_CHECK_STATS_SAME(a, b)                                            \
	do {                                                                 \
		CHECK_EQ((a)->n_regions, (b)->n_regions);                    \
		CHECK_EQ((a)->total_bytes, (b)->total_bytes);                \
		CHECK_EQ((a)->alloc_bytes, (b)->alloc_bytes);                \
		CHECK_EQ((a)->free_bytes, (b)->free_bytes);                  \
		CHECK_EQ((a)->alloc_count, (b)->alloc_count);                \
		CHECK_EQ((a)->large_count, (b)->large_count);                \
		CHECK_EQ((a)->id, (b)->id);                                  \
		CHECK(strcmp((a)->name, (b)->name) == 0);                    \
		for (int xt_c_ = 0; xt_c_ < XMEM_NUM_CLASSES; xt_c_++) {     \
			if (!CHECK_EQ((a)->classes[xt_c_].live,              \
				      (b)->classes[xt_c_].live))             \
				fprintf(stderr, "  class %d\n", xt_c_);      \
		}                                                            \
	} while (0)

/* ------------------------------------------------------ random workload */

struct xt_workload {
	struct xmem_heap **heaps;
	int n_heaps;
	const struct xt_region *regs;  /* every region, tagged with its heap */
	int n_regs;
	unsigned ops;          /* alloc/free operations */
	unsigned max_live;     /* free when this many blocks are live */
	size_t max_size;       /* sizes 1 .. max_size (mixed distribution) */
	size_t max_align;      /* random alignments 1 .. max_align (0: none) */
	bool keep;             /* leave the live blocks in *shadow */
	/* results */
	unsigned allocs, enomem, frees;
};

static inline size_t xt_rand_size(size_t max_size)
{
	unsigned r = xt_range(0, 99);
	size_t hi;
	if (r < 55)
		hi = 512;
	else if (r < 85)
		hi = XMEM_MAX_CLASS_SIZE;
	else
		hi = max_size;
	if (hi > max_size)
		hi = max_size;
	return xt_range(1, hi);
}

static inline size_t xt_rand_align(size_t max_align)
{
	if (!max_align || xt_range(0, 1))
		return 0;
	unsigned lg = 0;
	while (((size_t)1 << (lg + 1)) <= max_align)
		lg++;
	return (size_t)1 << xt_range(0, lg);
}

/* Random alloc/free; every block is checked with xt_check_block and
 * against the shadow set.  Returns with the blocks freed unless w->keep. */
static inline void xt_run_workload(struct xt_workload *w,
				   struct xt_shadow *sh)
{
	uint64_t inv0 = xmem_invalid_free_count();
	for (unsigned op = 0; op < w->ops; op++) {
		bool do_free = sh->n && (sh->n >= w->max_live ||
					 xt_range(0, 99) < 45);
		if (do_free) {
			struct xt_iv iv =
				xt_shadow_remove_at(sh, xt_range(0, sh->n - 1));
			errno = 0;
			xmem_free((void *)iv.s);
			w->frees++;
			continue;
		}
		int hi = (int)xt_range(0, w->n_heaps - 1);
		size_t size = xt_rand_size(w->max_size);
		size_t align = xt_rand_align(w->max_align);
		errno = 0;
		void *p = xmem_alloc(w->heaps[hi], size, align);
		if (!p) {
			if (!CHECK_EQ(errno, ENOMEM))
				fprintf(stderr, "  alloc(%zu, %zu)\n", size,
					align);
			w->enomem++;
			continue;
		}
		w->allocs++;
		size_t us = xt_check_block(w->regs, w->n_regs, hi, p, size,
					   align);
		if (!us)
			us = size;
		struct xt_iv iv = {(uintptr_t)p, (uintptr_t)p + us, size, hi};
		if (!xt_shadow_insert(sh, iv))
			fprintf(stderr, "  alloc(%zu, %zu) = %p\n", size, align,
				p);
	}
	if (!w->keep) {
		while (sh->n) {
			struct xt_iv iv = xt_shadow_remove_at(sh, sh->n - 1);
			xmem_free((void *)iv.s);
			w->frees++;
		}
	}
	/* none of those frees may have been reported as invalid */
	CHECK_EQ(xmem_invalid_free_count(), inv0);
}

#endif /* XMEM_TESTS_XT_UTIL_H */
