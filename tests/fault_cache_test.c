/* fault_cache_test.c - metadata allocation failing at every point of the
 * fast path's slow parts: the first allocation on a new thread (lcore cache
 * creation, span carving with its descriptor and bitmap), bursts that need
 * two spans, large blocks, frees that flush full caches to the depot
 * (magazine allocation), and the flush when a thread exits or unregisters.
 *
 * Each attempt runs on a fresh heap (tests/fault_util.h, ft_sweep with
 * setup/teardown), so the cache of the new lcore has to be created again.
 * After a failed allocation: ENOMEM, the heap's stats as before, and the
 * identical call then succeeds.  After every attempt, with the heap
 * destroyed, the metadata in use is what it was before the heap was
 * created: nothing leaked, wherever the fault hit.  A fault the fast path
 * absorbs (an allocation that falls back to the locked path, a flush that
 * puts objects straight back into their spans) is counted as "recovered". */
#include "fault_util.h"

#define PG FT_PG
#define HEAP_LEN ((size_t)8 << 20)
#define MAX_OBJS 128

struct fx {
	const char *what;
	struct xmem_heap *h;
	char *va;
	size_t size;             /* object size */
	unsigned n;              /* objects per call */
	bool single;             /* xmem_alloc instead of xmem_alloc_bulk */
	unsigned pre;            /* objects setup allocates on the main thread */
	void *objs[MAX_OBJS];
	void *pre_objs[MAX_OBJS];
	bool unregister;         /* flush ops: xmem_thread_unregister, not exit */
};

static char *heap_va;

static void fx_setup(void *p)
{
	struct fx *f = p;
	f->h = xmem_heap_create("fault-cache");
	f->va = heap_va;
	if (!f->h || xmem_heap_add_memory(f->h, f->va, HEAP_LEN, NULL, 0, PG))
		XT_FATAL("heap setup: %s", strerror(errno));
	for (unsigned i = 0; i < f->pre; i += 32) {
		unsigned k = f->pre - i < 32 ? f->pre - i : 32;
		if (xmem_alloc_bulk(f->h, f->size, &f->pre_objs[i], k))
			XT_FATAL("pre-allocation: %s", strerror(errno));
	}
}

static void fx_teardown(void *p)
{
	struct fx *f = p;
	xmem_free_bulk(f->pre_objs, f->pre);
	struct xmem_heap_stats st;
	if (CHECK_OK(xmem_heap_stats(f->h, &st)) && st.alloc_count != 0)
		FT_FAIL("%llu blocks live at teardown", (unsigned long long)st.alloc_count);
	CHECK_OK(xmem_heap_remove_memory(f->h, f->va, HEAP_LEN));
	CHECK_OK(xmem_heap_destroy(f->h));
}

/* ---- allocation ops ----------------------------------------------------- */

static int fx_alloc(void *p)
{
	struct fx *f = p;
	if (f->single) {
		for (unsigned i = 0; i < f->n; i++) {
			f->objs[i] = xmem_alloc(f->h, f->size, 0);
			if (!f->objs[i]) {
				int e = errno;
				xmem_free_bulk(f->objs, i);
				errno = e;
				return -1;
			}
		}
		return 0;
	}
	return xmem_alloc_bulk(f->h, f->size, f->objs, f->n);
}

static int fx_alloc_thread(void *p)
{
	return ft_in_thread(fx_alloc, p);
}

/* Distinct blocks inside the heap, of the size asked, all counted. */
static void fx_alloc_ok(void *p)
{
	struct fx *f = p;
	for (unsigned i = 0; i < f->n; i++) {
		char *o = f->objs[i];
		if (o < f->va || o + f->size > f->va + HEAP_LEN)
			FT_FAIL("block %u at %p outside the heap", i, (void *)o);
		if (xmem_usable_size(o) < f->size)
			FT_FAIL("block %u: usable size %zu < %zu", i,
				xmem_usable_size(o), f->size);
		for (unsigned j = 0; j < i; j++)
			if (f->objs[j] == o)
				FT_FAIL("block %p handed out twice", (void *)o);
	}
	struct xmem_heap_stats st;
	if (CHECK_OK(xmem_heap_stats(f->h, &st)) && st.alloc_count != f->n + f->pre)
		FT_FAIL("stats count %llu live blocks, want %u",
			(unsigned long long)st.alloc_count, f->n + f->pre);
}

static void fx_alloc_undo(void *p)
{
	struct fx *f = p;
	xmem_free_bulk(f->objs, f->n);   /* another thread: a cross-lcore free */
}

static void case_alloc(const char *name, struct fx *f, bool thread)
{
	struct ft_op op = {
		.name = name, .expect = ENOMEM, .setup = fx_setup,
		.run = thread ? fx_alloc_thread : fx_alloc,
		.after_ok = fx_alloc_ok, .undo = fx_alloc_undo,
		.teardown = fx_teardown, .arg = f,
		/* A failed first allocation may leave the lcore's cache
		 * created (and objects in it): that belongs to the heap and
		 * goes with it; the metadata is compared around the heap's
		 * whole life. */
		.meta_outer_only = true,
		/* An lcache, once created, stays in its (lcore, heap id)
		 * slot for good (cache.h). */
		.success_may_grow = true,
	};
	struct ft_result r1 = ft_sweep(&op, &ft_meta_once);
	struct ft_result r2 = ft_sweep(&op, &ft_meta_sticky);
	CHECK_GE(r1.points, 1);
	CHECK_GE(r2.failed, 1);   /* with every allocation failing, ENOMEM */
}

/* ---- free and flush ops ------------------------------------------------- */

/* Free the blocks setup allocated, on a new thread: its cache is created,
 * fills, and full magazines go to the depot; at exit (or unregister) the
 * rest is flushed. */
static int fx_free(void *p)
{
	struct fx *f = p;
	xmem_free_bulk(f->pre_objs, f->pre);
	if (f->unregister && xmem_thread_unregister())
		return -1;
	return 0;
}

static int fx_free_thread(void *p)
{
	return ft_in_thread(fx_free, p);
}

static void fx_free_ok(void *p)
{
	struct fx *f = p;
	struct xmem_heap_stats st;
	/* Stats drain nothing: trim, then every object is in its span. */
	if (!CHECK_OK(xmem_heap_trim(f->h)) || !CHECK_OK(xmem_heap_stats(f->h, &st)))
		return;
	if (st.alloc_count != 0)
		FT_FAIL("after freeing everything %llu blocks are live",
			(unsigned long long)st.alloc_count);
	/* Every object is back: the whole chunk is one free run again. */
	if (st.largest_free != HEAP_LEN)
		FT_FAIL("largest free run %zu, want %zu", st.largest_free, HEAP_LEN);
	if (xmem_invalid_free_count() != 0)
		FT_FAIL("frees reported invalid");
}

/* Allocate the same number again, so the state is that of the setup. */
static void fx_free_undo(void *p)
{
	struct fx *f = p;
	for (unsigned i = 0; i < f->pre; i += 32) {
		unsigned k = f->pre - i < 32 ? f->pre - i : 32;
		CHECK_OK(xmem_alloc_bulk(f->h, f->size, &f->pre_objs[i], k));
	}
}

static void case_free(const char *name, struct fx *f)
{
	struct ft_op op = {
		.name = name, .setup = fx_setup, .run = fx_free_thread,
		.after_ok = fx_free_ok, .undo = fx_free_undo,
		.teardown = fx_teardown, .arg = f, .meta_outer_only = true,
	};
	struct ft_result r1 = ft_sweep(&op, &ft_meta_once);
	struct ft_result r2 = ft_sweep(&op, &ft_meta_sticky);
	/* A free never fails: every point is absorbed.  The points: the
	 * magazines of the flush (the thread's lcache stays in its slot from
	 * the dry run on, cache.h). */
	CHECK_GE(r1.points, 1);
	CHECK_EQ(r1.failed, 0);
	CHECK_EQ(r2.failed, 0);
}

/* ---- cases -------------------------------------------------------------- */

static void case_first_burst(void)
{
	struct fx f = {.size = 2048, .n = 32};
	case_alloc("alloc_bulk 32 x 2 KiB, new lcore", &f, true);
}

static void case_two_spans(void)
{
	/* 8 KiB objects: 16 per span, so the burst carves two spans. */
	struct fx f = {.size = 8192, .n = 32};
	case_alloc("alloc_bulk 32 x 8 KiB (2 spans), new lcore", &f, true);
}

static void case_full_cache(void)
{
	/* 64 objects: the whole cache in one call. */
	struct fx f = {.size = 256, .n = 64};
	case_alloc("alloc_bulk 64 x 256 B, new lcore", &f, true);
}

static void case_singles(void)
{
	struct fx f = {.size = 64, .n = 40, .single = true};
	case_alloc("xmem_alloc 40 x 64 B, new lcore", &f, true);
}

static void case_large(void)
{
	struct fx f = {.size = 256 << 10, .n = 3, .single = true};
	case_alloc("xmem_alloc 3 x 256 KiB (large)", &f, false);
}

static void case_bulk_past_cache(void)
{
	/* More than a cache holds: the locked path, all or nothing. */
	struct fx f = {.size = 1024, .n = 100};
	case_alloc("alloc_bulk 100 x 1 KiB (locked path)", &f, false);
}

static void case_flush_on_free(void)
{
	/* 128 frees on one lcore: the cache fills (64) and flushes magazines
	 * to the depot; at exit the rest is flushed. */
	struct fx f = {.size = 512, .pre = 128};
	case_free("free_bulk 128, new lcore (flush, exit)", &f);
}

static void case_flush_on_unregister(void)
{
	struct fx f = {.size = 512, .pre = 40, .unregister = true};
	case_free("free_bulk 40, then thread_unregister", &f);
}

static void case_flush_on_exit(void)
{
	struct fx f = {.size = 4096, .pre = 40};
	case_free("free_bulk 40 x 4 KiB, thread exit", &f);
}

int main(void)
{
	heap_va = ft_reserve(HEAP_LEN);
	/* A first heap on this range: page-map leaves, the registry's array. */
	struct fx warm = {.size = 64};
	fx_setup(&warm);
	fx_teardown(&warm);

	xt_run("first burst on a new lcore", case_first_burst);
	xt_run("burst carving two spans", case_two_spans);
	xt_run("burst filling the cache", case_full_cache);
	xt_run("single allocations on a new lcore", case_singles);
	xt_run("large blocks", case_large);
	xt_run("burst beyond the cache", case_bulk_past_cache);
	xt_run("frees flushing magazines", case_flush_on_free);
	xt_run("flush on thread_unregister", case_flush_on_unregister);
	xt_run("flush on thread exit", case_flush_on_exit);
	munmap(heap_va, HEAP_LEN);
	return xt_done();
}
