/* iommu/iova_alloc.c - owns the IOVA assigner: a first-fit allocator of IOVA
 * extents over a container's valid IOVA ranges (VFIO's IOVA_RANGE
 * capability), so that xmem can give a whole region one contiguous IOVA
 * extent, and so one map call.  Extents in use are a sorted array; a region
 * is added rarely, so a linear first-fit scan is enough. */
#include "iommu/iova.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/meta.h"

/* The assigner's state is malloc'd; each allocation is one counted
 * allocation of the metadata allocator's fault injection (tests), so a
 * failing assign or reserve is exercised like any other ENOMEM. */
static void *xm_iova_realloc(void *p, size_t n)
{
    if (xm_meta_fault()) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

static int cmp_range(const void *a, const void *b)
{
    const struct xm_iova_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int xm_iova_space_init(struct xm_iova_space *s, const struct xm_iova_range *ranges, size_t n)
{
    if (!s || !ranges || n == 0 || n > SIZE_MAX / sizeof(*ranges)) {
        errno = EINVAL;
        return -1;
    }
    struct xm_iova_range *r = xm_iova_realloc(NULL, n * sizeof(*r));
    if (!r) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(r, ranges, n * sizeof(*r));
    qsort(r, n, sizeof(*r), cmp_range);
    for (size_t i = 0; i < n; i++) {
        if (r[i].start > r[i].end || (i > 0 && r[i].start <= r[i - 1].end)) {
            free(r);
            errno = EINVAL;
            return -1;
        }
    }
    memset(s, 0, sizeof(*s));
    s->ranges = r;
    s->n_ranges = n;
    return 0;
}

void xm_iova_space_fini(struct xm_iova_space *s)
{
    if (!s)
        return;
    free(s->ranges);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

/* Index of the first used extent whose end is beyond iova (binary search). */
static size_t first_ending_after(const struct xm_iova_space *s, uint64_t iova)
{
    size_t lo = 0, hi = s->n_used;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct xm_iova_extent *e = &s->used[mid];
        if (e->iova + (e->len - 1) < iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int insert_used(struct xm_iova_space *s, size_t at, uint64_t iova, uint64_t len)
{
    if (s->n_used == s->cap_used) {
        size_t cap = s->cap_used ? s->cap_used * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*s->used)) {
            errno = ENOMEM;
            return -1;
        }
        struct xm_iova_extent *u = xm_iova_realloc(s->used, cap * sizeof(*u));
        if (!u) {
            errno = ENOMEM;
            return -1;
        }
        s->used = u;
        s->cap_used = cap;
    }
    memmove(&s->used[at + 1], &s->used[at], (s->n_used - at) * sizeof(*s->used));
    s->used[at].iova = iova;
    s->used[at].len = len;
    s->n_used++;
    return 0;
}

/* Round v up to align (a power of two); 0 if it wraps (0 is never valid). */
static uint64_t align_up(uint64_t v, uint64_t align)
{
    uint64_t r = (v + (align - 1)) & ~(align - 1);
    return r < v ? 0 : r;
}

int xm_iova_assign(struct xm_iova_space *s, uint64_t len, uint64_t align, uint64_t *iova_out)
{
    if (!s || !iova_out || len == 0 || align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return -1;
    }
    for (size_t r = 0; r < s->n_ranges; r++) {
        uint64_t lo = s->ranges[r].start ? s->ranges[r].start : 1; /* never IOVA 0 */
        uint64_t hi = s->ranges[r].end;                            /* inclusive */
        uint64_t cand = align_up(lo, align);
        size_t u = first_ending_after(s, cand);
        for (;;) {
            if (cand == 0 || cand > hi || len - 1 > hi - cand)
                break; /* does not fit in the rest of this range */
            uint64_t last = cand + (len - 1);
            if (u >= s->n_used || s->used[u].iova > last) {
                if (insert_used(s, u, cand, len) != 0)
                    return -1;
                *iova_out = cand;
                return 0;
            }
            /* Collides with used[u]: try just past it. */
            uint64_t after = s->used[u].iova + (s->used[u].len - 1);
            if (after == UINT64_MAX)
                break;
            cand = align_up(after + 1, align);
            u++;
            while (cand != 0 && u < s->n_used && s->used[u].iova + (s->used[u].len - 1) < cand)
                u++;
        }
    }
    errno = ENOSPC;
    return -1;
}

int xm_iova_reserve(struct xm_iova_space *s, uint64_t iova, uint64_t len)
{
    if (!s || len == 0 || len - 1 > UINT64_MAX - iova) {
        errno = EINVAL;
        return -1;
    }
    size_t u = first_ending_after(s, iova);
    if (u < s->n_used && s->used[u].iova <= iova + (len - 1)) {
        errno = EEXIST;
        return -1;
    }
    return insert_used(s, u, iova, len);
}

int xm_iova_release(struct xm_iova_space *s, uint64_t iova, uint64_t len)
{
    if (!s || len == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t u = first_ending_after(s, iova);
    if (u >= s->n_used || s->used[u].iova != iova || s->used[u].len != len) {
        errno = ENOENT;
        return -1;
    }
    memmove(&s->used[u], &s->used[u + 1], (s->n_used - u - 1) * sizeof(*s->used));
    s->n_used--;
    return 0;
}

int xm_iova_fill_linear(uint64_t *iova_out, size_t n_pages, size_t page_size, uint64_t base)
{
    if (!iova_out || n_pages == 0 || page_size == 0 ||
        (uint64_t)(n_pages - 1) > (UINT64_MAX - base) / page_size) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < n_pages; i++)
        iova_out[i] = base + (uint64_t)i * page_size;
    return 0;
}
