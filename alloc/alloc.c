/* alloc.c - xmem_alloc / xmem_free and their bulk, zeroing and sizing
 * variants: class objects from spans, large blocks page-granular, all under
 * the heap lock.  Frees find their heap and span through the page map, so a
 * pointer xmem does not own is caught by a miss and reported. */
#include <errno.h>
#include <string.h>

#include "bitmap.h"
#include "heap.h"
#include "pagemap.h"

static void xm_partial_push(struct xm_class *c, struct xm_span *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
}

static void xm_partial_unlink(struct xm_class *c, struct xm_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void xm_account(struct xmem_heap *h, struct xm_span *s, int sign)
{
	s->region->live += (uint64_t)(int64_t)sign;
	h->alloc_count += (uint64_t)(int64_t)sign;
	h->alloc_bytes += (size_t)(ptrdiff_t)sign * s->obj_size;
	if (s->cls == XM_CLS_LARGE)
		h->large_count += (uint64_t)(int64_t)sign;
	else
		h->cls[s->cls].live += (uint64_t)(int64_t)sign;
}

/* Give back the empty spans of region r (every span of r must be empty),
 * or with r NULL the empty spans each class keeps.  Returns how many. */
static unsigned xm_release_empty(struct xmem_heap *h, struct xm_region *r)
{
	unsigned n = 0;
	for (int k = 0; k < XMEM_NUM_CLASSES; k++) {
		struct xm_class *c = &h->cls[k];
		for (struct xm_span *s = c->partial, *next; s && (r || c->n_empty); s = next) {
			next = s->next;
			if (r ? s->region != r : s->n_free != s->n_objs)
				continue;
			xm_partial_unlink(c, s);
			c->n_empty--;
			xm_span_release(h, s);
			n++;
		}
	}
	return n;
}

void xm_heap_release_region_spans(struct xmem_heap *h, struct xm_region *r)
{
	xm_release_empty(h, r);
}

/* Carve, and when nothing fits, retry once after giving back the empty spans
 * the classes keep: they are free memory too. */
static struct xm_span *xm_carve(struct xmem_heap *h, int cls, size_t units,
				size_t align)
{
	struct xm_span *s = xm_span_carve(h, cls, units, align);
	if (unlikely(!s) && errno == ENOMEM && xm_release_empty(h, NULL))
		s = xm_span_carve(h, cls, units, align);
	return s;
}

static void *xm_alloc_class(struct xmem_heap *h, int cls)
{
	struct xm_class *c = &h->cls[cls];
	struct xm_span *s = c->partial;
	if (unlikely(!s)) {
		s = xm_carve(h, cls, 0, XM_UNIT);
		if (!s)
			return NULL;
		xm_partial_push(c, s);
		c->n_empty++;
	}
	if (s->n_free == s->n_objs)
		c->n_empty--;
	size_t i = xm_bm_next(s->free_bits, (size_t)s->hint * 64, s->n_objs, 1);
	xm_bm_clear(s->free_bits, i);
	s->hint = (uint32_t)(i / 64);
	if (--s->n_free == 0)
		xm_partial_unlink(c, s);
	xm_account(h, s, +1);
	return (void *)(s->base + i * s->obj_size);
}

static void *xm_alloc_large(struct xmem_heap *h, size_t size, size_t align)
{
	if (size > ((size_t)1 << XMEM_VA_BITS)) {
		errno = ENOMEM;
		return NULL;
	}
	struct xm_span *s = xm_carve(h, XM_CLS_LARGE,
					  xm_div_ceil(size, XM_UNIT), align);
	if (!s)
		return NULL;
	s->n_free = 0;
	xm_account(h, s, +1);
	return (void *)s->base;
}

static void *xm_alloc_locked(struct xmem_heap *h, size_t size, size_t align)
{
	int cls = xm_class_for(size, align);
	if (likely(cls >= 0))
		return xm_alloc_class(h, cls);
	return xm_alloc_large(h, size, align);
}

/* The span of p if p is the start of a live block of h, else NULL and *why
 * says what is wrong.  Heap lock held. */
static struct xm_span *xm_block_of(struct xm_region *r, uintptr_t p,
				   size_t *idx, const char **why)
{
	struct xm_span *s = r->span_map[(p - r->va) >> XM_UNIT_SHIFT];
	*why = "not the start of a live block";
	if (!s)
		return NULL;
	if (s->cls == XM_CLS_LARGE) {
		if (p != s->base)
			return NULL;
		*idx = 0;
		return s;
	}
	size_t off = p - s->base;
	if (off % s->obj_size || off / s->obj_size >= s->n_objs)
		return NULL;
	*idx = off / s->obj_size;
	if (xm_bm_test(s->free_bits, *idx)) {
		*why = "block is already free (double free)";
		return NULL;
	}
	return s;
}

static void xm_free_block(struct xmem_heap *h, struct xm_span *s, size_t i)
{
	xm_account(h, s, -1);
	if (s->cls == XM_CLS_LARGE) {
		xm_span_release(h, s);
		return;
	}
	struct xm_class *c = &h->cls[s->cls];
	xm_bm_set(s->free_bits, i);
	if (i / 64 < s->hint)
		s->hint = (uint32_t)(i / 64);
	if (++s->n_free == 1)
		xm_partial_push(c, s);
	if (s->n_free == s->n_objs) {
		/* Keep one empty span per class to absorb alloc/free churn;
		 * give the rest back to the region. */
		if (c->n_empty >= 1) {
			xm_partial_unlink(c, s);
			xm_span_release(h, s);
		} else {
			c->n_empty++;
		}
	}
}


static int xm_alloc_check(struct xmem_heap *h, size_t size, size_t align)
{
	if (unlikely(!xm_heap_live(h) || size == 0 ||
		     (align && !xm_is_pow2(align)))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void *xmem_alloc(struct xmem_heap *h, size_t size, size_t align)
{
	if (xm_alloc_check(h, size, align))
		return NULL;
	pthread_mutex_lock(&h->lock);
	void *p = xm_alloc_locked(h, size, align);
	pthread_mutex_unlock(&h->lock);
	return p;
}

void *xmem_zalloc(struct xmem_heap *h, size_t size, size_t align)
{
	void *p = xmem_alloc(h, size, align);
	if (p)
		memset(p, 0, size);
	return p;
}

int xmem_alloc_bulk(struct xmem_heap *h, size_t size, void **objs, unsigned n)
{
	if (!objs || n == 0 || xm_alloc_check(h, size, 0)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < n; i++) {
		objs[i] = xm_alloc_locked(h, size, 0);
		if (unlikely(!objs[i])) {
			/* All or nothing: give back what this call took. */
			while (i--) {
				struct xm_region *r = xm_pagemap_get((uintptr_t)objs[i]);
				size_t idx;
				const char *why;
				struct xm_span *s = xm_block_of(r, (uintptr_t)objs[i], &idx, &why);
				xm_free_block(h, s, idx);
			}
			pthread_mutex_unlock(&h->lock);
			errno = ENOMEM;
			return -1;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* Free objs[0..n) from fn, taking each heap's lock once per run of
 * pointers of that heap. */
static void xm_free_many(void *const *objs, unsigned n, const char *fn)
{
	struct xmem_heap *locked = NULL;
	for (unsigned k = 0; k < n; k++) {
		uintptr_t p = (uintptr_t)objs[k];
		if (!p)
			continue;
		struct xm_region *r = xm_pagemap_get(p);
		const char *why = "not memory of any heap";
		struct xm_span *s = NULL;
		size_t idx = 0;
		if (likely(r && r->heap)) {
			if (r->heap != locked) {
				if (locked)
					pthread_mutex_unlock(&locked->lock);
				locked = r->heap;
				pthread_mutex_lock(&locked->lock);
			}
			s = xm_block_of(r, p, &idx, &why);
		}
		if (likely(s)) {
			xm_free_block(locked, s, idx);
		} else {
			if (locked) {
				pthread_mutex_unlock(&locked->lock);
				locked = NULL;
			}
			xm_report_invalid(fn, (void *)p, why);
		}
	}
	if (locked)
		pthread_mutex_unlock(&locked->lock);
}

void xmem_free(void *ptr)
{
	if (ptr)
		xm_free_many(&ptr, 1, "xmem_free");
}

void xmem_free_bulk(void *const *objs, unsigned n)
{
	if (unlikely(!objs)) {
		if (n)
			errno = EINVAL;
		return;
	}
	xm_free_many(objs, n, "xmem_free_bulk");
}

size_t xmem_usable_size(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct xm_region *r = p ? xm_pagemap_get(p) : NULL;
	size_t size = 0;
	if (r && r->heap) {
		size_t idx;
		const char *why;
		pthread_mutex_lock(&r->heap->lock);
		struct xm_span *s = xm_block_of(r, p, &idx, &why);
		if (s)
			size = s->obj_size;
		pthread_mutex_unlock(&r->heap->lock);
	}
	if (!size)
		errno = EINVAL;
	return size;
}
