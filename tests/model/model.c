/* model.c - the reference model of xmem's public state (see model.h): heaps,
 * chunks (sorted array), live allocations (a treap keyed by address), and
 * the checks of every recorded allocation.  The stats comparison and the
 * full, quiescent check are in model_check.c; the shared structures in
 * model_impl.h.
 *
 * Library calls that probe a block (xmem_usable_size, xmem_virt2iova) are
 * made before the model's mutex is taken, so a thread never waits for the
 * model while it holds anything of the library's. */
#include "model_impl.h"

#include <errno.h>
static const char *const verdict_names[] = {
	"OK", "OVERLAP", "OUTSIDE", "REMOVED", "ALIGN", "USABLE", "IOVA",
	"STATS", "HEAP", "BUSY", "TRANSLATE", "INVALID_FREE", "ERRNO", "STATE",
};

const char *xmodel_verdict_name(int v)
{
	if (v < 0 || v >= (int)(sizeof(verdict_names) / sizeof(*verdict_names)))
		return "?";
	return verdict_names[v];
}

/* ---- treap of live blocks -------------------------------------------- */

/* Split t into keys < k (*a) and keys >= k (*b). */
static void tr_split(struct mblock *t, uintptr_t k, struct mblock **a,
		     struct mblock **b)
{
	if (!t) {
		*a = *b = NULL;
	} else if (t->s < k) {
		tr_split(t->r, k, &t->r, b);
		*a = t;
	} else {
		tr_split(t->l, k, a, &t->l);
		*b = t;
	}
}

static struct mblock *tr_merge(struct mblock *a, struct mblock *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = tr_merge(a->r, b);
		return a;
	}
	b->l = tr_merge(a, b->l);
	return b;
}

static void tr_insert(struct xmodel *m, struct mblock *n)
{
	struct mblock *a, *b;
	n->l = n->r = NULL;
	n->prio = mix64(n->s);
	tr_split(m->root, n->s, &a, &b);
	m->root = tr_merge(tr_merge(a, n), b);
}

/* Unlink and return the block starting exactly at k, or NULL. */
static struct mblock *tr_remove(struct xmodel *m, uintptr_t k)
{
	struct mblock **pp = &m->root;
	while (*pp && (*pp)->s != k)
		pp = k < (*pp)->s ? &(*pp)->l : &(*pp)->r;
	struct mblock *n = *pp;
	if (n)
		*pp = tr_merge(n->l, n->r);
	return n;
}

/* The block with the greatest start < k, or NULL. */
static struct mblock *tr_below(const struct xmodel *m, uintptr_t k)
{
	struct mblock *t = m->root, *best = NULL;
	while (t) {
		if (t->s < k) {
			best = t;
			t = t->r;
		} else {
			t = t->l;
		}
	}
	return best;
}

/* The block with the smallest start >= k, or NULL. */
static struct mblock *tr_at_or_above(const struct xmodel *m, uintptr_t k)
{
	struct mblock *t = m->root, *best = NULL;
	while (t) {
		if (t->s >= k) {
			best = t;
			t = t->l;
		} else {
			t = t->r;
		}
	}
	return best;
}

static void tr_free_all(struct mblock *t)
{
	if (!t)
		return;
	tr_free_all(t->l);
	tr_free_all(t->r);
	free(t);
}

/* ---- lifecycle ------------------------------------------------------- */

struct xmodel *xmodel_new(void)
{
	struct xmodel *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->inv_base = xmem_invalid_free_count();
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		m->class_size[c] = xmem_class_size(c);
	return m;
}

void xmodel_free_model(struct xmodel *m)
{
	if (!m)
		return;
	tr_free_all(m->root);
	for (size_t i = 0; i < m->n_chunks; i++)
		chunk_free(m->chunks[i]);
	free(m->chunks);
	for (struct mheap *x = m->heaps, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

size_t xmodel_live_count(struct xmodel *m)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->n_live;
	pthread_mutex_unlock(&m->mu);
	return n;
}

size_t xmodel_chunk_count(struct xmodel *m)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->n_chunks;
	pthread_mutex_unlock(&m->mu);
	return n;
}

/* ---- heaps ----------------------------------------------------------- */

int xmodel_heap_created(struct xmodel *m, struct xmem_heap *h,
			const char *name, char *err)
{
	if (!h || !name || strlen(name) >= XMEM_HEAP_NAME_MAX)
		return fail(err, XMODEL_STATE, "heap_created(%p, %s): bad arguments",
			    (void *)h, name ? name : "NULL");
	int id = xmem_heap_id(h);
	struct xmem_heap *by_name = xmem_heap_lookup(name);
	struct xmem_heap *by_id = xmem_heap_from_id(id);
	const char *nm = xmem_heap_name(h);
	struct mheap *x = calloc(1, sizeof(*x));
	if (!x)
		return fail(err, XMODEL_STATE, "model out of memory");
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	for (struct mheap *o = m->heaps; o && !v; o = o->next) {
		if (o->h == h)
			v = fail(err, XMODEL_HEAP, "create(\"%s\") returned %p, the "
				 "handle of live heap \"%s\"", name, (void *)h, o->name);
		else if (!strcmp(o->name, name))
			v = fail(err, XMODEL_HEAP, "create(\"%s\") succeeded while a "
				 "heap of that name lives", name);
		else if (o->id == id)
			v = fail(err, XMODEL_HEAP, "create(\"%s\") got id %d, the id "
				 "of live heap \"%s\"", name, id, o->name);
	}
	if (!v && (id < 0 || id >= XMEM_MAX_HEAPS))
		v = fail(err, XMODEL_HEAP, "heap \"%s\": id %d out of range", name, id);
	if (!v && (by_name != h || by_id != h || !nm || strcmp(nm, name)))
		v = fail(err, XMODEL_HEAP, "new heap \"%s\" %p id %d: lookup gives %p, "
			 "from_id gives %p, name \"%s\"", name, (void *)h, id,
			 (void *)by_name, (void *)by_id, nm ? nm : "(null)");
	if (!v) {
		x->h = h;
		x->id = id;
		snprintf(x->name, sizeof(x->name), "%s", name);
		x->next = m->heaps;
		m->heaps = x;
	}
	pthread_mutex_unlock(&m->mu);
	if (v)
		free(x);
	return v;
}

static long heap_chunks_locked(const struct xmodel *m, const struct mheap *x)
{
	long n = 0;
	for (size_t i = 0; i < m->n_chunks; i++)
		n += m->chunks[i]->heap == x;
	return n;
}

long xmodel_heap_chunks(struct xmodel *m, struct xmem_heap *h)
{
	pthread_mutex_lock(&m->mu);
	struct mheap *x = find_heap(m, h);
	long n = x ? heap_chunks_locked(m, x) : -1;
	pthread_mutex_unlock(&m->mu);
	return n;
}

int xmodel_heap_destroyed(struct xmodel *m, struct xmem_heap *h, int rc,
			  int err_no, char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	struct mheap **pp = &m->heaps;
	while (*pp && (*pp)->h != h)
		pp = &(*pp)->next;
	struct mheap *x = *pp;
	if (!x) {
		v = fail(err, XMODEL_STATE, "heap_destroyed(%p): unknown heap",
			 (void *)h);
	} else {
		long n = heap_chunks_locked(m, x);
		if (rc == 0 && n > 0)
			v = fail(err, XMODEL_BUSY, "destroy(\"%s\") succeeded with %ld "
				 "chunks added", x->name, n);
		else if (rc == 0)
			*pp = x->next;
		else if (rc != -1 || err_no != EBUSY)
			v = fail(err, XMODEL_ERRNO, "destroy(\"%s\") returned %d errno "
				 "%d (%s)", x->name, rc, err_no, strerror(err_no));
		else if (n == 0)
			v = fail(err, XMODEL_BUSY, "destroy(\"%s\") failed with EBUSY "
				 "but no memory is added", x->name);
	}
	pthread_mutex_unlock(&m->mu);
	if (x && rc == 0 && !v)
		free(x);
	return v;
}

/* ---- memory ---------------------------------------------------------- */

int xmodel_add_begin(struct xmodel *m, struct xmem_heap *h, void *va,
		     size_t len, const uint64_t *iova, size_t page_size,
		     char *err)
{
	uintptr_t a = (uintptr_t)va;
	if (!va || !len || !page_size || (page_size & (page_size - 1)) ||
	    len % page_size || a % page_size)
		return fail(err, XMODEL_STATE, "add_begin(%p, %zu, page %zu): "
			    "invalid arguments", va, len, page_size);
	struct mchunk *c = calloc(1, sizeof(*c));
	if (!c)
		return fail(err, XMODEL_STATE, "model out of memory");
	c->va = a;
	c->len = len;
	c->ps = page_size;
	c->n_pages = len / page_size;
	c->state = CH_PENDING;
	if (iova) {
		c->iova = malloc(c->n_pages * sizeof(*c->iova));
		c->run = malloc(c->n_pages * sizeof(*c->run));
		if (!c->iova || !c->run) {
			chunk_free(c);
			return fail(err, XMODEL_STATE, "model out of memory");
		}
		memcpy(c->iova, iova, c->n_pages * sizeof(*c->iova));
		uint32_t run = 0;
		for (size_t i = 0; i < c->n_pages; i++) {
			/* Two pages without an IOVA continue each other. */
			if (i && !(iova[i] == XMEM_BAD_IOVA
					   ? iova[i - 1] == XMEM_BAD_IOVA
					   : iova[i - 1] != XMEM_BAD_IOVA &&
						     iova[i] == iova[i - 1] + page_size))
				run++;
			c->run[i] = run;
		}
	}
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	if (h && !(c->heap = find_heap(m, h)))
		v = fail(err, XMODEL_STATE, "add_begin: unknown heap %p", (void *)h);
	struct mchunk *o = v ? NULL : chunk_overlap(m, a, a + len);
	if (o)
		v = fail(err, XMODEL_STATE, "add_begin [%#lx,+%zu) overlaps chunk "
			 "[%#lx,+%zu) of %s", (unsigned long)a, len,
			 (unsigned long)o->va, o->len, chunk_owner(o));
	if (!v && m->n_chunks == m->cap_chunks) {
		size_t cap = m->cap_chunks ? m->cap_chunks * 2 : 64;
		struct mchunk **nc = realloc(m->chunks, cap * sizeof(*nc));
		if (!nc)
			v = fail(err, XMODEL_STATE, "model out of memory");
		else {
			m->chunks = nc;
			m->cap_chunks = cap;
		}
	}
	if (!v) {
		size_t i = chunk_ub(m, a);
		memmove(&m->chunks[i + 1], &m->chunks[i],
			(m->n_chunks - i) * sizeof(*m->chunks));
		m->chunks[i] = c;
		m->n_chunks++;
	}
	pthread_mutex_unlock(&m->mu);
	if (v)
		chunk_free(c);
	return v;
}

static void chunk_delete_locked(struct xmodel *m, size_t i)
{
	struct mchunk *c = m->chunks[i];
	memmove(&m->chunks[i], &m->chunks[i + 1],
		(m->n_chunks - i - 1) * sizeof(*m->chunks));
	m->n_chunks--;
	chunk_free(c);
}

int xmodel_add_end(struct xmodel *m, void *va, int rc, int err_no, char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	size_t i = chunk_index(m, (uintptr_t)va);
	struct mchunk *c = i == SIZE_MAX ? NULL : m->chunks[i];
	if (!c || c->state != CH_PENDING) {
		v = fail(err, XMODEL_STATE, "add_end(%p): no pending chunk there", va);
	} else if (rc == 0) {
		c->state = CH_LIVE;
	} else if (c->live) {
		/* Keep it (as live) so the blocks stay consistent. */
		c->state = CH_LIVE;
		v = fail(err, XMODEL_OUTSIDE, "adding [%p,+%zu) to %s failed "
			 "(errno %d) but %zu allocations came from it", va,
			 c->len, chunk_owner(c), err_no, c->live);
	} else {
		if (rc != -1 || err_no != ENOMEM)
			v = fail(err, XMODEL_ERRNO, "adding [%p,+%zu) to %s returned "
				 "%d errno %d (%s)", va, c->len, chunk_owner(c),
				 rc, err_no, strerror(err_no));
		chunk_delete_locked(m, i);
	}
	pthread_mutex_unlock(&m->mu);
	return v;
}

int xmodel_remove_begin(struct xmodel *m, struct xmem_heap *h, void *va,
			size_t len, size_t *live_out, char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	size_t i = chunk_index(m, (uintptr_t)va);
	struct mchunk *c = i == SIZE_MAX ? NULL : m->chunks[i];
	struct mheap *x = h ? find_heap(m, h) : NULL;
	if (!c || c->len != len || c->state != CH_LIVE || (h && !x) ||
	    c->heap != x) {
		v = fail(err, XMODEL_STATE, "remove_begin(%p, %p, %zu): not a live "
			 "chunk of that heap", (void *)h, va, len);
	} else {
		c->state = CH_REMOVING;
		if (live_out)
			*live_out = c->live;
	}
	pthread_mutex_unlock(&m->mu);
	return v;
}

int xmodel_remove_end(struct xmodel *m, void *va, int rc, int err_no,
		      char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	size_t i = chunk_index(m, (uintptr_t)va);
	struct mchunk *c = i == SIZE_MAX ? NULL : m->chunks[i];
	if (!c || c->state != CH_REMOVING) {
		v = fail(err, XMODEL_STATE, "remove_end(%p): no chunk being removed "
			 "there", va);
	} else if (rc == 0 && c->live) {
		struct mblock *b = tr_at_or_above(m, c->va);
		c->state = CH_LIVE;
		v = fail(err, XMODEL_BUSY, "removing [%p,+%zu) of %s succeeded with "
			 "%zu live allocations in it, e.g. %#lx size %zu", va,
			 c->len, chunk_owner(c), c->live,
			 b ? (unsigned long)b->s : 0UL, b ? b->size : 0);
	} else if (rc == 0) {
		unsigned k = m->n_removed++ % N_REMOVED;
		m->removed[k].va = c->va;
		m->removed[k].len = c->len;
		chunk_delete_locked(m, i);
	} else {
		c->state = CH_LIVE;
		bool ok = rc == -1 && ((c->heap && err_no == EBUSY) ||
				       (m->remove_errno_ok && err_no == m->remove_errno_ok));
		if (!ok)
			v = fail(err, XMODEL_ERRNO, "removing [%p,+%zu) of %s returned "
				 "%d errno %d (%s)", va, c->len, chunk_owner(c),
				 rc, err_no, strerror(err_no));
	}
	pthread_mutex_unlock(&m->mu);
	return v;
}

long xmodel_chunk_live(struct xmodel *m, void *va)
{
	pthread_mutex_lock(&m->mu);
	size_t i = chunk_index(m, (uintptr_t)va);
	long n = i == SIZE_MAX ? -1 : (long)m->chunks[i]->live;
	pthread_mutex_unlock(&m->mu);
	return n;
}

uint64_t xmodel_expected_iova(struct xmodel *m, const void *a, int *known)
{
	pthread_mutex_lock(&m->mu);
	struct mchunk *c = chunk_at(m, (uintptr_t)a);
	uint64_t io = c ? chunk_iova(c, (uintptr_t)a) : XMEM_BAD_IOVA;
	pthread_mutex_unlock(&m->mu);
	if (known)
		*known = c != NULL;
	return io;
}

int xmodel_probe(struct xmodel *m, const void *a, char *err)
{
	uint64_t got = xmem_virt2iova(a);
	void *back = got == XMEM_BAD_IOVA ? NULL : xmem_iova2virt(got);
	pthread_mutex_lock(&m->mu);
	struct mchunk *c = chunk_at(m, (uintptr_t)a);
	uint64_t want = c ? chunk_iova(c, (uintptr_t)a) : XMEM_BAD_IOVA;
	int v = mi_probe_locked(m, (uintptr_t)a, got, want, back, err);
	pthread_mutex_unlock(&m->mu);
	return v;
}

/* ---- allocations ----------------------------------------------------- */

static int removed_overlap_locked(const struct xmodel *m, uintptr_t a,
				  uintptr_t b, uintptr_t *rva, size_t *rlen)
{
	unsigned n = m->n_removed < N_REMOVED ? m->n_removed : N_REMOVED;
	for (unsigned k = 0; k < n; k++) {
		uintptr_t s = m->removed[k].va, e = s + m->removed[k].len;
		if (s < b && a < e) {
			*rva = s;
			*rlen = m->removed[k].len;
			return 1;
		}
	}
	return 0;
}

static int class_of_usable(const struct xmodel *m, size_t us)
{
	for (int c = 0; c < XMEM_NUM_CLASSES; c++)
		if (m->class_size[c] == us)
			return c;
	return -1;
}

int xmodel_alloc(struct xmodel *m, struct xmem_heap *h, void *p, size_t size,
		 size_t align, char *err)
{
	uintptr_t a = (uintptr_t)p;
	if (!size)
		return fail(err, XMODEL_STATE, "alloc record of %p with size 0", p);
	if (!p)
		return fail(err, XMODEL_OUTSIDE, "a block of size %zu recorded as "
			    "NULL (e.g. a NULL entry from a successful bulk "
			    "allocation)", size);
	int saved = errno;
	size_t us = xmem_usable_size(p);
	size_t ext = us >= size ? us : size;
	uint64_t io0 = xmem_virt2iova(p);
	uint64_t io1 = xmem_virt2iova((char *)p + ext - 1);
	errno = saved;

	struct mblock *n = calloc(1, sizeof(*n));
	if (!n)
		return fail(err, XMODEL_STATE, "model out of memory");
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	struct mheap *x = find_heap(m, h);
	struct mchunk *c = chunk_at(m, a);
	uintptr_t end = a + ext;
	uintptr_t rva;
	size_t rlen;
	bool large = size > XMEM_MAX_CLASS_SIZE || align > UNIT;
	int cls = -1;
	struct mblock *pred;

	if (!x) {
		v = fail(err, XMODEL_STATE, "alloc record for unknown heap %p",
			 (void *)h);
	} else if (!c || end < a || end > c->va + c->len || c->heap != x) {
		if (!chunk_overlap(m, a, end > a ? end : UINTPTR_MAX) &&
		    removed_overlap_locked(m, a, end > a ? end : UINTPTR_MAX,
					   &rva, &rlen))
			v = fail(err, XMODEL_REMOVED, "alloc(\"%s\", %zu, %zu) = %p "
				 "(usable %zu) lies in removed memory [%#lx,+%zu)",
				 x->name, size, align, p, us,
				 (unsigned long)rva, rlen);
		else
			v = fail(err, XMODEL_OUTSIDE, "alloc(\"%s\", %zu, %zu) = %p "
				 "(usable %zu) is not inside memory of that heap "
				 "(it starts in %s%s%s)", x->name, size, align, p,
				 us, c ? "a chunk of " : "no chunk",
				 c ? chunk_owner(c) : "",
				 c && c->heap == x ? ", and runs past its end" : "");
	} else if ((pred = tr_below(m, end)) && pred->e > a) {
		v = fail(err, XMODEL_OVERLAP, "alloc(\"%s\", %zu, %zu) = [%p,+%zu) "
			 "overlaps live block [%#lx,+%zu) (size %zu align %zu, "
			 "heap \"%s\")", x->name, size, align, p, ext,
			 (unsigned long)pred->s, (size_t)(pred->e - pred->s),
			 pred->size, pred->align, pred->heap->name);
	} else if (a % (align ? align
			      : size < XMEM_ALIGN_DEFAULT ? XMEM_ALIGN_MIN
							  : XMEM_ALIGN_DEFAULT)) {
		v = fail(err, XMODEL_ALIGN, "alloc(\"%s\", %zu, %zu) = %p is not "
			 "aligned to %zu", x->name, size, align, p,
			 (size_t)(align ? align
				  : size < XMEM_ALIGN_DEFAULT ? XMEM_ALIGN_MIN
							      : XMEM_ALIGN_DEFAULT));
	} else if (us < size) {
		v = fail(err, XMODEL_USABLE, "alloc(\"%s\", %zu, %zu) = %p has "
			 "usable size %zu", x->name, size, align, p, us);
	} else if (!large && (cls = class_of_usable(m, us)) < 0) {
		v = fail(err, XMODEL_USABLE, "alloc(\"%s\", %zu, %zu) = %p: usable "
			 "size %zu is no class size", x->name, size, align, p, us);
	} else if (!c->iova) {
		if (io0 != XMEM_BAD_IOVA || io1 != XMEM_BAD_IOVA)
			v = fail(err, XMODEL_IOVA, "alloc %p (usable %zu) in a chunk "
				 "without IOVAs translates to %#" PRIx64 " .. %#"
				 PRIx64, p, us, io0, io1);
	} else {
		size_t pg0 = (a - c->va) / c->ps, pg1 = (end - 1 - c->va) / c->ps;
		uint64_t w0 = chunk_iova(c, a), w1 = chunk_iova(c, end - 1);
		if (c->run[pg0] != c->run[pg1]) {
			size_t k = pg0 + 1;
			while (c->run[k] == c->run[pg0])
				k++;
			v = fail(err, XMODEL_IOVA, "alloc(\"%s\", %zu, %zu) = [%p,+%zu) "
				 "straddles an IOVA discontinuity at %#lx (page %zu "
				 "of its chunk: %#" PRIx64 " after %#" PRIx64 ")",
				 x->name, size, align, p, ext,
				 (unsigned long)(c->va + k * c->ps), k, c->iova[k],
				 c->iova[k - 1]);
		} else if (io0 != w0 || io1 != w1) {
			v = fail(err, XMODEL_IOVA, "alloc(\"%s\", %zu, %zu) = [%p,+%zu): "
				 "virt2iova first/last byte %#" PRIx64 "/%#" PRIx64
				 ", model says %#" PRIx64 "/%#" PRIx64, x->name, size,
				 align, p, ext, io0, io1, w0, w1);
		}
	}
	if (!v) {
		n->s = a;
		n->e = end;
		n->size = size;
		n->align = align;
		n->heap = x;
		n->chunk = c;
		n->cls = large ? -1 : cls;
		tr_insert(m, n);
		m->n_live++;
		c->live++;
		x->live++;
		x->live_bytes += ext;
		if (large) {
			x->large++;
			x->large_bytes += ext;
		} else {
			x->cls_live[cls]++;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (v)
		free(n);
	return v;
}

int xmodel_free(struct xmodel *m, void *p, struct xmem_heap **heap_out,
		size_t *usable_out, char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	struct mblock *n = tr_remove(m, (uintptr_t)p);
	if (!n) {
		struct mblock *in = tr_below(m, (uintptr_t)p + 1);
		if (in && in->e > (uintptr_t)p)
			v = fail(err, XMODEL_STATE, "free(%p): interior pointer of "
				 "live block %#lx", p, (unsigned long)in->s);
		else
			v = fail(err, XMODEL_STATE, "free(%p): not a live block", p);
	} else {
		struct mheap *x = n->heap;
		m->n_live--;
		n->chunk->live--;
		x->live--;
		x->live_bytes -= n->e - n->s;
		if (n->cls < 0) {
			x->large--;
			x->large_bytes -= n->e - n->s;
		} else {
			x->cls_live[n->cls]--;
		}
		if (heap_out)
			*heap_out = x->h;
		if (usable_out)
			*usable_out = n->e - n->s;
		free(n);
	}
	pthread_mutex_unlock(&m->mu);
	return v;
}

void xmodel_note_invalid_free(struct xmodel *m, unsigned n)
{
	pthread_mutex_lock(&m->mu);
	m->inv_noted += n;
	pthread_mutex_unlock(&m->mu);
}

void xmodel_note_possible_invalid_free(struct xmodel *m, unsigned n)
{
	pthread_mutex_lock(&m->mu);
	m->inv_possible += n;
	pthread_mutex_unlock(&m->mu);
}

int xmodel_heap_inexact(struct xmodel *m, struct xmem_heap *h)
{
	pthread_mutex_lock(&m->mu);
	struct mheap *x = find_heap(m, h);
	if (x)
		x->inexact = 1;
	pthread_mutex_unlock(&m->mu);
	return x ? XMODEL_OK : XMODEL_STATE;
}

void xmodel_set_remove_errno_ok(struct xmodel *m, int err_no)
{
	pthread_mutex_lock(&m->mu);
	m->remove_errno_ok = err_no;
	pthread_mutex_unlock(&m->mu);
}
