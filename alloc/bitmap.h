/* bitmap.h - word-at-a-time bit ranges, used for the free-unit map of a
 * region, the run-start map of its IOVA table and the free map of a span.
 * Plain (non-atomic) words: for maps that are immutable once published (the
 * run starts) or not published yet; the live maps are atomic (carve.c,
 * span.c). */
#ifndef XM_BITMAP_H
#define XM_BITMAP_H

#include <stddef.h>
#include <stdint.h>

#define XM_BM_WORDS(nbits) (((nbits) + 63) / 64)

static inline int xm_bm_test(const uint64_t *m, size_t i)
{
	return (int)((m[i / 64] >> (i % 64)) & 1);
}

static inline void xm_bm_set(uint64_t *m, size_t i)
{
	m[i / 64] |= (uint64_t)1 << (i % 64);
}

/* Mask of bits [lo, hi) of one word, 0 <= lo < hi <= 64. */
static inline uint64_t xm_bm_mask(unsigned lo, unsigned hi)
{
	uint64_t m = hi == 64 ? ~(uint64_t)0 : (((uint64_t)1 << hi) - 1);
	return m & ~(((uint64_t)1 << lo) - 1);
}

/* Set (val 1) or clear (val 0) bits [from, to). */
static inline void xm_bm_fill(uint64_t *m, size_t from, size_t to, int val)
{
	while (from < to) {
		size_t w = from / 64;
		unsigned lo = from % 64;
		unsigned hi = (to - w * 64) >= 64 ? 64 : (unsigned)(to - w * 64);
		uint64_t mask = xm_bm_mask(lo, hi);
		if (val)
			m[w] |= mask;
		else
			m[w] &= ~mask;
		from = w * 64 + hi;
	}
}

/* First index in [from, limit) whose bit equals val, or limit. */
static inline size_t xm_bm_next(const uint64_t *m, size_t from, size_t limit,
				int val)
{
	while (from < limit) {
		size_t w = from / 64;
		uint64_t word = val ? m[w] : ~m[w];
		word &= ~(((uint64_t)1 << (from % 64)) - 1);
		if (word) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(word);
			return i < limit ? i : limit;
		}
		from = (w + 1) * 64;
	}
	return limit;
}

#endif
