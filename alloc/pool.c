/* pool.c - xmem_pool (include/xmem/xmem_pool.h): a lock-free store of
 * object pointers in depot magazines (depot.h).
 *
 * Three lock-free stacks of magazines (stack.h):
 *  - full:  magazines holding exactly XM_MAG_MAX pointers;
 *  - part:  magazines holding 1 .. XM_MAG_MAX - 1 pointers;
 *  - empty: the pool's own empty magazines, taken at creation so that a
 *           pool within its capacity never allocates.
 * A put packs whole magazines onto full and tops up one partial magazine
 * with the remainder; a get pops full magazines for whole multiples and
 * partial (else full) ones for the remainder, and pushes what it did not
 * use back onto part.  A call owns every magazine it has popped until it
 * pushes it: nobody else can see it, so filling and emptying it needs no
 * atomics.  The pushes release a magazine's contents and the pops acquire
 * them (stack.h).  No call ever waits: a get that finds too few pointers
 * pushes back what it popped and fails.
 *
 * So that partial magazines do not multiply, a put creates a new partial
 * magazine only when it finds none on part, or when topping one up
 * overflows it (then one fills up and one is new: their number is
 * unchanged).  Their number stays at most about the number of threads in a
 * put at once, plus one.
 *
 * There is no shared counter (one more locked instruction per call, on a
 * line every lcore writes): xmem_pool_count walks the two stacks and adds
 * up their magazines' fill counts.  Each magazine's n is written with
 * relaxed atomic stores by the call that owns it, so the walk may read it
 * at any time; the walk follows links of magazines that other calls may be
 * popping and pushing meanwhile, which is safe because magazines are never
 * unmapped (depot.h), and bounded because such a walk may loop. */
#include <emmintrin.h>
#include <errno.h>

#include <xmem/xmem_pool.h>

#include "depot.h"
#include "meta.h"

#define XM_POOL_CAP_MAX (1u << 31)

struct xmem_pool {
	/* One cache line each: every put and get moves these heads. */
	struct xm_stack full  __attribute__((aligned(64)));
	struct xm_stack part  __attribute__((aligned(64)));
	struct xm_stack empty __attribute__((aligned(64)));
	unsigned capacity;
};

/* Copy n pointers, two per SSE2 move.  Bursts are short (DPDK's are 32):
 * inline moves beat memcpy's call and rep movs start-up (a plain loop is
 * turned back into a memcpy call by the compiler). */
static inline void xm_copy_ptrs(void **dst, void *const *src, unsigned n)
{
	unsigned i = 0;
	for (; i + 2 <= n; i += 2)
		_mm_storeu_si128((__m128i *)&dst[i],
				 _mm_loadu_si128((const __m128i *)&src[i]));
	if (i < n)
		dst[i] = src[i];
}

/* A magazine's fill count, as the pool writes it: for xmem_pool_count's
 * walk (relaxed: a figure on its own). */
static inline void xm_mag_set_n(struct xm_mag *m, uint32_t n)
{
	__atomic_store_n(&m->n, n, __ATOMIC_RELAXED);
}

/* A local chain of popped magazines, through their (now unused) links.
 * Relaxed atomic store: xmem_pool_count's walk may still be reading it. */
static inline void xm_chain_push(struct xm_mag **head, struct xm_mag *m)
{
	__atomic_store_n(&m->link.next, (ck_stack_entry_t *)*head, __ATOMIC_RELAXED);
	*head = m;
}

static inline struct xm_mag *xm_chain_pop(struct xm_mag **head)
{
	struct xm_mag *m = *head;
	if (m)
		*head = (struct xm_mag *)m->link.next;
	return m;
}

static struct xm_mag *xm_pool_mag_empty(struct xmem_pool *p)
{
	struct xm_mag *m = xm_stack_pop(&p->empty);
	return m ? m : xm_mag_get();
}

/* Back where its contents say it belongs. */
static void xm_pool_mag_home(struct xmem_pool *p, struct xm_mag *m)
{
	if (m->n == 0)
		xm_stack_push(&p->empty, m);
	else if (m->n == XM_MAG_MAX)
		xm_stack_push(&p->full, m);
	else
		xm_stack_push(&p->part, m);
}

static void xm_pool_drain(struct xm_stack *st)
{
	struct xm_mag *m;
	while ((m = xm_stack_pop(st)))
		xm_mag_put(m);
}

struct xmem_pool *xmem_pool_create(unsigned capacity)
{
	if (capacity == 0 || capacity > XM_POOL_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct xmem_pool *p = xm_meta_zalloc(sizeof(*p));
	if (!p)
		return NULL;
	xm_stack_init(&p->full);
	xm_stack_init(&p->part);
	xm_stack_init(&p->empty);
	p->capacity = capacity;
	/* Full magazines for the capacity, and two partial ones. */
	size_t n_mags = xm_div_ceil(capacity, XM_MAG_MAX) + 2;
	for (size_t i = 0; i < n_mags; i++) {
		struct xm_mag *m = xm_mag_get();
		if (!m) {
			xmem_pool_destroy(p);
			errno = ENOMEM;
			return NULL;
		}
		xm_stack_push(&p->empty, m);
	}
	return p;
}

void xmem_pool_destroy(struct xmem_pool *p)
{
	if (!p)
		return;
	xm_pool_drain(&p->full);
	xm_pool_drain(&p->part);
	xm_pool_drain(&p->empty);
	xm_meta_free(p, sizeof(*p));
}

int xmem_pool_put_bulk(struct xmem_pool *p, void *const *objs, unsigned n)
{
	if (unlikely(!p || (!objs && n))) {
		errno = EINVAL;
		return -1;
	}
	if (unlikely(n == 0))
		return 0;
	unsigned n_full = n / XM_MAG_MAX, rem = n % XM_MAG_MAX;

	/* Take every magazine the put needs first, so that it can still give
	 * up without a trace. */
	struct xm_mag *fresh = NULL, *top = NULL, *extra = NULL;
	for (unsigned i = 0; i < n_full; i++) {
		struct xm_mag *m = xm_pool_mag_empty(p);
		if (unlikely(!m))
			goto nobufs;
		xm_chain_push(&fresh, m);
	}
	if (rem) {
		top = xm_stack_pop(&p->part);
		if (!top || top->n + rem > XM_MAG_MAX) {
			extra = xm_pool_mag_empty(p);
			if (unlikely(!extra))
				goto nobufs;
		}
	}

	/* Commit. */
	const unsigned M = XM_MAG_MAX;
	void *const *src = objs;
	struct xm_mag *m;
	while ((m = xm_chain_pop(&fresh))) {
		xm_copy_ptrs(m->objs, src, M);
		xm_mag_set_n(m, M);
		src += M;
		xm_stack_push(&p->full, m);
	}
	if (top) {
		unsigned t = M - top->n < rem ? M - top->n : rem;
		xm_copy_ptrs(&top->objs[top->n], src, t);
		xm_mag_set_n(top, top->n + t);
		src += t;
		rem -= t;
		xm_pool_mag_home(p, top);
	}
	if (extra) {
		xm_copy_ptrs(extra->objs, src, rem);
		xm_mag_set_n(extra, rem);
		xm_pool_mag_home(p, extra);
	}
	return 0;

nobufs:
	if (top)
		xm_pool_mag_home(p, top);
	while ((m = xm_chain_pop(&fresh)))
		xm_stack_push(&p->empty, m);
	errno = ENOBUFS;
	return -1;
}

int xmem_pool_get_bulk(struct xmem_pool *p, void **objs, unsigned n)
{
	if (unlikely(!p || (!objs && n))) {
		errno = EINVAL;
		return -1;
	}
	if (unlikely(n == 0))
		return 0;

	/* Collect magazines until they hold n pointers: full ones while a
	 * whole one is wanted, then partial ones (else full) for the rest.
	 * Every magazine collected contributes at least one pointer. */
	struct xm_mag *got = NULL, *m;
	size_t have = 0;
	while (n - have >= XM_MAG_MAX && (m = xm_stack_pop(&p->full))) {
		xm_chain_push(&got, m);
		have += m->n;
	}
	while (have < n) {
		m = xm_stack_pop(&p->part);
		if (!m)
			m = xm_stack_pop(&p->full);
		if (!m)
			break;
		xm_chain_push(&got, m);
		have += m->n;
	}
	if (unlikely(have < n)) {
		while ((m = xm_chain_pop(&got)))
			xm_pool_mag_home(p, m);
		errno = ENOENT;
		return -1;
	}

	/* Take from the top of each magazine (the most recently put). */
	unsigned i = 0;
	while ((m = xm_chain_pop(&got))) {
		unsigned t = m->n < n - i ? m->n : n - i;
		xm_mag_set_n(m, m->n - t);
		xm_copy_ptrs(&objs[i], &m->objs[m->n], t);
		i += t;
		xm_pool_mag_home(p, m);
	}
	return 0;
}

/* Sum of the fill counts of the magazines on st, walking at most max of
 * them (a walk racing pops and pushes can come round in a loop). */
static uint64_t xm_pool_walk(const struct xm_stack *st, uint64_t max)
{
	uint64_t sum = 0;
	const ck_stack_entry_t *e = __atomic_load_n(&st->s.head, __ATOMIC_ACQUIRE);
	for (uint64_t i = 0; e && i < max; i++) {
		xm_stack_node_acquire(e);
		sum += __atomic_load_n(&((const struct xm_mag *)e)->n, __ATOMIC_RELAXED);
		e = __atomic_load_n(&e->next, __ATOMIC_RELAXED);
	}
	return sum;
}

unsigned xmem_pool_count(const struct xmem_pool *p)
{
	if (!p)
		return 0;
	/* Enough for every magazine a pool of twice its capacity holds, in
	 * the worst case of one pointer each. */
	uint64_t max = 2 * (uint64_t)p->capacity + 64;
	uint64_t c = xm_pool_walk(&p->full, max) + xm_pool_walk(&p->part, max);
	return c > UINT32_MAX ? UINT32_MAX : (unsigned)c;
}
