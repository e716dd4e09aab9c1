/* model_check.c - the reference model's judgement of what the library
 * reports as a whole (see model.h): xmem_heap_stats against the model's
 * counts, the full quiescent check (stats, lookups, usable sizes, the
 * invalid-free count, translations), and the translation probe they share
 * with xmodel_probe. */
#include "model_impl.h"

#include <errno.h>

/* virt2iova(a) == want (already probed as got); iova2virt round trip
 * judged against the model's own tables.  Lock held. */
int mi_probe_locked(struct xmodel *m, uintptr_t a, uint64_t got,
		    uint64_t want, void *back, char *err)
{
	if (got != want)
		return fail(err, XMODEL_TRANSLATE, "virt2iova(%#lx) = %#" PRIx64
			    ", model says %#" PRIx64, (unsigned long)a, got, want);
	if (want == XMEM_BAD_IOVA)
		return XMODEL_OK;
	struct mchunk *bc = back ? chunk_at(m, (uintptr_t)back) : NULL;
	if (!bc || chunk_iova(bc, (uintptr_t)back) != want)
		return fail(err, XMODEL_TRANSLATE, "iova2virt(%#" PRIx64 ") = %p "
			    "(model: that address has IOVA %#" PRIx64 "), for "
			    "va %#lx", want, back,
			    bc ? chunk_iova(bc, (uintptr_t)back) : XMEM_BAD_IOVA,
			    (unsigned long)a);
	return XMODEL_OK;
}

/* ---- stats and the full check ---------------------------------------- */

static void expected_stats_locked(const struct xmodel *m,
				  const struct mheap *x,
				  struct xmem_heap_stats *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->name, x->name, sizeof(o->name));
	o->id = x->id;
	for (size_t i = 0; i < m->n_chunks; i++) {
		const struct mchunk *c = m->chunks[i];
		if (c->heap == x && c->state != CH_PENDING) {
			o->n_regions++;
			o->total_bytes += c->len;
		}
	}
	o->alloc_bytes = x->live_bytes;
	o->free_bytes = o->total_bytes - o->alloc_bytes;
	o->alloc_count = x->live;
	o->large_count = x->large;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		o->classes[c].size = m->class_size[c];
		o->classes[c].live = x->cls_live[c];
	}
}

int xmodel_expected_stats(struct xmodel *m, struct xmem_heap *h,
			  struct xmem_heap_stats *out)
{
	pthread_mutex_lock(&m->mu);
	struct mheap *x = find_heap(m, h);
	if (x)
		expected_stats_locked(m, x, out);
	pthread_mutex_unlock(&m->mu);
	return x ? XMODEL_OK : XMODEL_STATE;
}

/* Append "field got X want Y" for each mismatch. */
#define CMP_FIELD(f)                                                         \
	do {                                                                 \
		if ((uint64_t)got->f != (uint64_t)want.f) {                  \
			bad++;                                               \
			if (pos < sizeof(buf))                               \
				pos += snprintf(buf + pos, sizeof(buf) - pos,\
						" " #f " %" PRIu64 " (model %" \
						PRIu64 ")",                  \
						(uint64_t)got->f,            \
						(uint64_t)want.f);           \
		}                                                            \
	} while (0)

static int compare_stats_locked(const struct xmodel *m, const struct mheap *x,
				const struct xmem_heap_stats *got, char *err)
{
	struct xmem_heap_stats want;
	char buf[XMODEL_ERR_MAX];
	size_t pos = 0;
	unsigned bad = 0;
	expected_stats_locked(m, x, &want);
	buf[0] = 0;
	if (strncmp(got->name, want.name, sizeof(want.name))) {
		bad++;
		pos += snprintf(buf + pos, sizeof(buf) - pos, " name \"%.31s\"",
				got->name);
	}
	CMP_FIELD(id);
	CMP_FIELD(n_regions);
	CMP_FIELD(total_bytes);
	CMP_FIELD(alloc_bytes);
	CMP_FIELD(free_bytes);
	CMP_FIELD(alloc_count);
	CMP_FIELD(large_count);
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		if (got->classes[c].size != want.classes[c].size ||
		    got->classes[c].live != want.classes[c].live) {
			bad++;
			if (pos < sizeof(buf))
				pos += snprintf(buf + pos, sizeof(buf) - pos,
						" class %d (%zu B) live %" PRIu64
						" (model %" PRIu64 ")", c,
						got->classes[c].size,
						got->classes[c].live,
						want.classes[c].live);
		}
	}
	/* Consistency of the fields the model cannot predict exactly. */
	if (got->largest_free > got->free_bytes || got->largest_free % UNIT) {
		bad++;
		if (pos < sizeof(buf))
			pos += snprintf(buf + pos, sizeof(buf) - pos,
					" largest_free %zu (free_bytes %zu)",
					got->largest_free, got->free_bytes);
	}
	size_t held = x->large_bytes;
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		held += got->classes[c].span_bytes;
		if (got->classes[c].span_bytes <
		    x->cls_live[c] * m->class_size[c]) {
			bad++;
			if (pos < sizeof(buf))
				pos += snprintf(buf + pos, sizeof(buf) - pos,
						" class %d span_bytes %" PRIu64
						" < %" PRIu64 " live x %zu", c,
						got->classes[c].span_bytes,
						x->cls_live[c], m->class_size[c]);
		}
	}
	if (held > want.total_bytes) {
		bad++;
		if (pos < sizeof(buf))
			pos += snprintf(buf + pos, sizeof(buf) - pos,
					" spans + large blocks hold %zu > total %zu",
					held, want.total_bytes);
	}
	if (bad)
		return fail(err, XMODEL_STATS, "heap \"%s\" stats differ in %u "
			    "field(s):%s", x->name, bad, buf);
	return XMODEL_OK;
}

int xmodel_compare_stats(struct xmodel *m, struct xmem_heap *h,
			 const struct xmem_heap_stats *got, char *err)
{
	pthread_mutex_lock(&m->mu);
	struct mheap *x = find_heap(m, h);
	int v = x ? compare_stats_locked(m, x, got, err)
		  : fail(err, XMODEL_STATE, "stats of unknown heap %p", (void *)h);
	pthread_mutex_unlock(&m->mu);
	return v;
}

static int check_blocks_locked(struct mblock *t, char *err)
{
	if (!t)
		return XMODEL_OK;
	int v = check_blocks_locked(t->l, err);
	if (v)
		return v;
	size_t us = xmem_usable_size((void *)t->s);
	if (us != t->e - t->s)
		return fail(err, XMODEL_USABLE, "live block %#lx (size %zu, heap "
			    "\"%s\"): usable size now %zu, was %zu",
			    (unsigned long)t->s, t->size, t->heap->name, us,
			    (size_t)(t->e - t->s));
	return check_blocks_locked(t->r, err);
}

/* The full check holds the model's mutex while it calls the library: it is
 * meant for quiescent moments, and no other thread then holds anything of
 * the library's while it waits for the model. */
int xmodel_check(struct xmodel *m, uint64_t *rng, unsigned n_probes,
		 char *err)
{
	pthread_mutex_lock(&m->mu);
	int v = XMODEL_OK;
	for (size_t i = 0; i < m->n_chunks && !v; i++)
		if (m->chunks[i]->state != CH_LIVE)
			v = fail(err, XMODEL_STATE, "full check while chunk %#lx is "
				 "%s", (unsigned long)m->chunks[i]->va,
				 m->chunks[i]->state == CH_PENDING ? "being added"
								   : "being removed");
	for (struct mheap *x = m->heaps; x && !v; x = x->next) {
		struct xmem_heap *by_name = xmem_heap_lookup(x->name);
		struct xmem_heap *by_id = xmem_heap_from_id(x->id);
		int id = xmem_heap_id(x->h);
		const char *nm = xmem_heap_name(x->h);
		if (by_name != x->h || by_id != x->h || id != x->id || !nm ||
		    strcmp(nm, x->name)) {
			v = fail(err, XMODEL_HEAP, "heap \"%s\" %p id %d: lookup %p, "
				 "from_id %p, id %d, name \"%s\"", x->name,
				 (void *)x->h, x->id, (void *)by_name,
				 (void *)by_id, id, nm ? nm : "(null)");
			break;
		}
		struct xmem_heap_stats st;
		memset(&st, 0, sizeof(st));
		if (xmem_heap_stats(x->h, &st)) {
			v = fail(err, XMODEL_STATS, "xmem_heap_stats(\"%s\") failed: %s",
				 x->name, strerror(errno));
			break;
		}
		if (!x->inexact)
			v = compare_stats_locked(m, x, &st, err);
	}
	if (!v)
		v = check_blocks_locked(m->root, err);
	if (!v) {
		uint64_t now = xmem_invalid_free_count() - m->inv_base;
		if (now < m->inv_noted || now > m->inv_noted + m->inv_possible)
			v = fail(err, XMODEL_INVALID_FREE, "%" PRIu64 " invalid frees "
				 "reported since the model started, %" PRIu64
				 " expected (%" PRIu64 " more possible)", now,
				 m->inv_noted, m->inv_possible);
	}
	for (unsigned k = 0; k < n_probes && !v && m->n_chunks; k++) {
		struct mchunk *c = m->chunks[rnd(rng) % m->n_chunks];
		uintptr_t a = c->va + rnd(rng) % c->len;
		uint64_t got = xmem_virt2iova((void *)a);
		void *back = got == XMEM_BAD_IOVA ? NULL : xmem_iova2virt(got);
		v = mi_probe_locked(m, a, got, chunk_iova(c, a), back, err);
	}
	unsigned nr = m->n_removed < N_REMOVED ? m->n_removed : N_REMOVED;
	for (unsigned k = 0; k < nr && k < n_probes && !v; k++) {
		uintptr_t s = m->removed[k].va;
		size_t len = m->removed[k].len;
		if (chunk_overlap(m, s, s + len))
			continue;
		uintptr_t a = s + rnd(rng) % len;
		uint64_t got = xmem_virt2iova((void *)a);
		if (got != XMEM_BAD_IOVA)
			v = fail(err, XMODEL_TRANSLATE, "virt2iova(%#lx) = %#" PRIx64
				 " in removed memory [%#lx,+%zu)",
				 (unsigned long)a, got, (unsigned long)s, len);
	}
	pthread_mutex_unlock(&m->mu);
	return v;
}
