/* errors_cases_alloc.c - the cases of docs/errors.md for the rest of
 * xmem.h: alloc, zalloc, alloc_bulk, checked mode; free, free_bulk and
 * usable_size of bad pointers (the pointer generators); threads, trim,
 * translation, stats, dump, size classes and the log hook.  errors_test.c
 * drives them. */
#include "errors_test.h"

#include <xmem/xmem_pool.h>

/* ------------------------------------------------- xmem.h: allocation */

static void c_alloc_null_heap(struct env *e) { EXPECT_ALLOC(e, xmem_alloc(NULL, 64, 0)); }
static void c_alloc_dead_heap(struct env *e)
{
	struct xmem_heap *d = dead_heap();
	EXPECT_ALLOC(e, xmem_alloc(d, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc(d, 100000, 0));
}
static void c_alloc_foreign_heap(struct env *e) { EXPECT_ALLOC(e, xmem_alloc(foreign_heap(), 64, 0)); }
static void c_alloc_zero_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, 0, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 0, 64));
}

static const size_t bad_aligns[] = {3, 7, 24, 96, 1000, 4095, SIZE_MAX, ((size_t)1 << 63) + 1};

static void c_alloc_align_not_pow2(struct env *e)
{
	for (size_t i = 0; i < sizeof bad_aligns / sizeof bad_aligns[0]; i++) {
		EXPECT_ALLOC(e, xmem_alloc(e->h, 64, bad_aligns[i]));
		EXPECT_ALLOC(e, xmem_alloc(e->h, 100000, bad_aligns[i]));
	}
}
static void c_alloc_huge_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX, 64));
	EXPECT_ALLOC(e, xmem_alloc(e->h, (size_t)1 << 63, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, ((size_t)1 << 48) + 1, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, SIZE_MAX - PAGE4K + 2, 0));
}
static void c_alloc_larger_than_heap(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, e->len, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, e->len + 1, 0));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64 * MiB, 4096));
}
static void c_alloc_empty_heap(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-empty");
	if (!CHECK(o))
		return;
	e->x = o;
	EXPECT_ALLOC(e, xmem_alloc(o, 16, 0));
	EXPECT_ALLOC(e, xmem_alloc(o, 3000, 0));
	EXPECT_ALLOC(e, xmem_alloc(o, 100000, 0));
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}
static void c_alloc_huge_align(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64, (size_t)1 << 40));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 100000, (size_t)1 << 40));
	EXPECT_ALLOC(e, xmem_alloc(e->h, 64, (size_t)1 << 63));
}
static void c_alloc_iova_scattered(struct env *e)
{
	/* Every page of the spare jumps in IOVA. */
	for (size_t i = 0; i < SPARE_PAGES; i++)
		e->spare_tab[i] = SPARE_IOVA + 2 * i * PAGE4K;
	struct xmem_heap *o = xmem_heap_create("err-scattered");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		EXPECT_ALLOC(e, xmem_alloc(o, 5000, 0));
		EXPECT_ALLOC(e, xmem_alloc(o, 8192, 0));
		EXPECT_ALLOC(e, xmem_alloc(o, 100000, 0));
		e->x = NULL;
		void *p = xmem_alloc(o, 4096, 0);   /* one page still works */
		CHECK(p != NULL);
		xmem_free(p);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
	free(e->spare_tab);
	e->spare_tab = xt_linear_table(SPARE_IOVA, SPARE_PAGES, PAGE4K);
}

static size_t nomem_size;
static bool try_alloc(struct env *e, uint64_t *v, int *err)
{
	void *p = xmem_alloc(e->x, nomem_size, 0);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)p;
	if (p) {
		xmem_free(p);
		return true;
	}
	return false;
}
static void c_alloc_no_metadata(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-nomem");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		e->x = o;
		nomem_size = 100000;
		fault_loop(e, "xmem_alloc(100000)", try_alloc);
		/* A class span whose descriptor cannot be allocated is retried
		 * after a drain: one failing metadata allocation is absorbed.
		 * Whatever happens, a failure must be ENOMEM and change nothing. */
		static const size_t sizes[] = {20000, 64};
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			for (long k = 1; k <= 8; k++) {
				struct snap sn;
				snap_take(e, &sn);
				xm_meta_fail_nth(k);
				errno = 0;
				void *p = xmem_alloc(o, sizes[i], 0);
				int err = errno;
				xm_meta_fail_nth(0);
				if (p) {
					xmem_free(p);
				} else {
					char buf[80];
					snprintf(buf, sizeof buf, "xmem_alloc(%zu), allocation %ld fails",
						 sizes[i], k);
					expect_value(e, &sn, __FILE__, __LINE__, buf, 0, err);
				}
			}
		}
		e->x = NULL;
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
}

static void c_zalloc_null_heap(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(NULL, 64, 0)); }
static void c_zalloc_dead_heap(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(dead_heap(), 64, 0)); }
static void c_zalloc_zero_size(struct env *e) { EXPECT_ALLOC(e, xmem_zalloc(e->h, 0, 0)); }
static void c_zalloc_align_not_pow2(struct env *e)
{
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, 3));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, 1000));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, 64, SIZE_MAX));
}
static void c_zalloc_huge_size(struct env *e)
{
	EXPECT_ALLOC(e, xmem_zalloc(e->h, SIZE_MAX, 0));
	EXPECT_ALLOC(e, xmem_zalloc(e->h, e->len + 1, 0));
}

static void c_alloc_bulk_null_heap(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(NULL, 64, objs, 4));
}
static void c_alloc_bulk_dead_heap(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(dead_heap(), 64, objs, 4));
}
static void c_alloc_bulk_null_objs(struct env *e)
{
	EXPECT(e, xmem_alloc_bulk(e->h, 64, NULL, 4));
	EXPECT(e, xmem_alloc_bulk(e->h, 100000, NULL, 1));
}
static void c_alloc_bulk_zero_size(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, 0, objs, 4));
}
static void c_alloc_bulk_zero_n(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, 64, objs, 0));
}
static void c_alloc_bulk_too_many(struct env *e)
{
	/* 8 MiB chunk: 1000 x 1 MiB, 100 x 100000, 20000 x 2048 never fit. */
	static void *objs[20000];
	EXPECT(e, xmem_alloc_bulk(e->h, MiB, objs, 1000));
	EXPECT(e, xmem_alloc_bulk(e->h, 100000, objs, 100));
	EXPECT(e, xmem_alloc_bulk(e->h, 2048, objs, 20000));
}
static void c_alloc_bulk_huge_size(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk(e->h, SIZE_MAX, objs, 4));
	EXPECT(e, xmem_alloc_bulk(e->h, SIZE_MAX / 2, objs, 4));
}

static void c_set_checked_any_value(struct env *e)
{
	EXPECT_OK(e, xmem_set_checked(42) == 0);
	EXPECT_OK(e, xmem_checked() == 1);
	EXPECT_OK(e, xmem_set_checked(-1) == 1);
	EXPECT_OK(e, xmem_checked() == 1);
	EXPECT_OK(e, xmem_set_checked(0) == 1);
	EXPECT_OK(e, xmem_checked() == 0);
}
static void c_checked_no_input(struct env *e)
{
	EXPECT_OK(e, xmem_checked() == 0);
}
static void c_invalid_free_count_no_input(struct env *e)
{
	uint64_t a = xmem_invalid_free_count();
	EXPECT_OK(e, xmem_invalid_free_count() == a);
}

/* ----------------------- xmem.h: free, free_bulk, usable_size of bad pointers */

static void use_free(struct env *e, void *p)
{
	EXPECT_VOID(e, xmem_free(p));
}
static void use_free_bulk(struct env *e, void *p)
{
	void *objs[3] = {NULL, p, NULL};
	EXPECT_VOID(e, xmem_free_bulk(objs, 3));
}
static void use_usable(struct env *e, void *p)
{
	EXPECT(e, xmem_usable_size(p));
}

static void gen_null(struct env *e, use_fn use) { use(e, NULL); }
static void gen_stack(struct env *e, use_fn use)
{
	volatile int on_stack = 1;
	use(e, (void *)&on_stack);
}
static void gen_malloc(struct env *e, use_fn use)
{
	void *p = malloc(64);
	use(e, p);
	free(p);
}
static void gen_static(struct env *e, use_fn use)
{
	static int in_data;
	use(e, &in_data);
	use(e, (void *)&junk[7]);
}
static void gen_past_end(struct env *e, use_fn use) { use(e, e->va + e->len); }
static void gen_before_start(struct env *e, use_fn use) { use(e, e->va - 1); }

/* A block of a chunk that was removed: allocated, freed, chunk removed. */
static void *removed_block(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-removed");
	if (!CHECK(o))
		return NULL;
	void *q = NULL;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		q = xmem_alloc(o, 64, 0);
		CHECK(q && (char *)q >= e->spare && (char *)q < e->spare + SPARE_LEN);
		xmem_free(q);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_heap_destroy(o));
	return q;
}
static void gen_removed(struct env *e, use_fn use)
{
	void *q = removed_block(e);
	if (q)
		use(e, q);
}
static void gen_removed_start(struct env *e, use_fn use)
{
	if (removed_block(e))
		use(e, e->spare);
}
static void gen_registered(struct env *e, use_fn use)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K)))
		return;
	use(e, e->spare);
	use(e, e->spare + PAGE4K + 64);
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void gen_large_interior(struct env *e, use_fn use)
{
	char *l = e->large;
	size_t us = xmem_usable_size(l);
	use(e, l + 1);
	use(e, l + 64);
	use(e, l + PAGE4K);
	use(e, l + us - 1);
}
static void gen_no_block(struct env *e, use_fn use)
{
	/* The chunk is 8 MiB and holds three small spans and blocks at its
	 * start: its last pages were never carved. */
	use(e, e->va + e->len - 8);
	use(e, e->va + e->len - PAGE4K);
	use(e, e->va + e->len / 2);
}
static void gen_wild(struct env *e, use_fn use)
{
	static const uintptr_t a[] = {1, 4095, (uintptr_t)1 << 47, (uintptr_t)1 << 48,
				      (uintptr_t)1 << 63, UINTPTR_MAX - 63};
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		use(e, (void *)a[i]);
}
/* A large block that was freed (double free; usable size of a freed one). */
static void gen_freed_large(struct env *e, use_fn use)
{
	void *l = xmem_alloc(e->h, 100000, 0);
	if (!CHECK(l))
		return;
	xmem_free(l);
	use(e, l);
	void *l2 = xmem_alloc(e->h, 5 * MiB, 0);  /* may reuse l's space: freed too */
	if (CHECK(l2)) {
		xmem_free(l2);
		use(e, l2);
	}
}
/* Checked mode: small and class blocks freed, once through free_bulk. */
static void gen_freed_class_checked(struct env *e, use_fn use)
{
	CHECK_EQ(xmem_set_checked(1), 0);
	void *a = xmem_alloc(e->h, 64, 0), *b = xmem_alloc(e->h, 3000, 0);
	void *c = xmem_alloc(e->h, 16, 0);
	if (CHECK(a && b && c)) {
		xmem_free(a);
		xmem_free(b);
		xmem_free(c);
		use(e, a);
		use(e, b);
		use(e, c);
	}
	void *objs[40];
	if (CHECK_OK(xmem_alloc_bulk(e->h, 128, objs, 40))) {
		xmem_free_bulk(objs, 40);
		use(e, objs[7]);
		use(e, objs[39]);
	}
	CHECK_EQ(xmem_set_checked(0), 1);
}
/* Interior pointers of the live small and class blocks. */
static void interior_class(struct env *e, use_fn use)
{
	use(e, (char *)e->small + 1);
	use(e, (char *)e->small + 16);
	use(e, (char *)e->mid + 1);
	use(e, (char *)e->mid + 64);
}
static void gen_interior_class_checked(struct env *e, use_fn use)
{
	CHECK_EQ(xmem_set_checked(1), 0);
	interior_class(e, use);
	CHECK_EQ(xmem_set_checked(0), 1);
}
static void gen_interior_class_both(struct env *e, use_fn use)
{
	interior_class(e, use);
	gen_interior_class_checked(e, use);
}

static void c_free_bulk_null_array(struct env *e)
{
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, 3));
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, UINT_MAX));
}
static void c_free_bulk_null_array_zero(struct env *e)
{
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(NULL, 0));
	void *one[1] = {e->small};
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(one, 0));   /* n 0: nothing freed */
}
static void c_free_bulk_null(struct env *e)
{
	void *objs[5] = {NULL, NULL, NULL, NULL, NULL};
	EXPECT_VOID_N(e, 0, true, xmem_free_bulk(objs, 5));
}
static void c_free_bulk_mixed(struct env *e)
{
	volatile int on_stack;
	char *m = malloc(64);
	void *v[3] = {xmem_alloc(e->h, 10, 0), xmem_alloc(e->h, 5000, 0), xmem_alloc(e->h, 50000, 0)};
	if (CHECK(v[0] && v[1] && v[2])) {
		void *mix[7] = {v[0], (void *)&on_stack, NULL, v[1], (char *)v[2] + 8, v[2], m};
		/* three bad pointers; the three valid blocks are freed */
		EXPECT_VOID_N(e, 3, false, xmem_free_bulk(mix, 7));
		struct xmem_heap_stats s;
		stats_of(e->h, &s);
		stats_same(__FILE__, __LINE__, "scratch heap after the mixed free_bulk", &e->setup, &s);
	}
	free(m);
}

/* -------------------------------- xmem.h: threads, trim, translation, ... */

/* Threads that hold an lcore id until released. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static bool hold_release;

struct holder {
	pthread_t t;
	int rc, err;
	bool done;       /* registered (or failed) */
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	errno = 0;
	int rc = xmem_thread_register();
	int err = errno;
	pthread_mutex_lock(&hold_mu);
	h->rc = rc;
	h->err = err;
	h->done = true;
	pthread_cond_broadcast(&hold_cv);
	while (!hold_release && rc >= 0)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
	return NULL;
}

/* What a thread without an id sees. */
struct probe {
	struct env *e;
	int which;            /* 0 register, 1 unregister, 2 lcore_id */
	uint64_t v;
	int err;
	bool alloc_ok;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	errno = 0;
	if (p->which == 0)
		p->v = (uint64_t)(int64_t)xmem_thread_register();
	else if (p->which == 1)
		p->v = (uint64_t)(int64_t)xmem_thread_unregister();
	else
		p->v = (uint64_t)(int64_t)xmem_lcore_id();
	p->err = errno;
	/* The thread keeps working: through the locked path without an id. */
	void *q = xmem_alloc(p->e->h, 64, 0);
	p->alloc_ok = q != NULL;
	xmem_free(q);
	return NULL;
}

static void probe(struct env *e, int which, const char *what)
{
	struct probe p = {.e = e, .which = which};
	struct snap sn;
	snap_take(e, &sn);
	pthread_t t;
	if (!CHECK_EQ(pthread_create(&t, NULL, probe_main, &p), 0))
		return;
	pthread_join(t, NULL);
	expect_value(e, &sn, __FILE__, __LINE__, what, p.v, p.err);
	CHECK(p.alloc_ok);
}

static void c_thread_register_full(struct env *e)
{
	CHECK_GE(xmem_thread_register(), 0);    /* this thread holds one */
	enum { MAXT = XMEM_MAX_LCORES + 8 };
	static struct holder hs[MAXT];
	memset(hs, 0, sizeof hs);
	hold_release = false;
	int n = 0, full = 0;
	for (; n < MAXT && !full; n++) {
		if (!CHECK_EQ(pthread_create(&hs[n].t, NULL, holder_main, &hs[n]), 0))
			break;
		pthread_mutex_lock(&hold_mu);
		while (!hs[n].done)
			pthread_cond_wait(&hold_cv, &hold_mu);
		full = hs[n].rc < 0;
		pthread_mutex_unlock(&hold_mu);
	}
	CHECK(full);
	if (full) {
		CHECK_EQ(hs[n - 1].err, ENOSPC);
		probe(e, 0, "xmem_thread_register() with every id taken");
	}
	pthread_mutex_lock(&hold_mu);
	hold_release = true;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_mu);
	for (int i = 0; i < n; i++)
		pthread_join(hs[i].t, NULL);
	/* the ids came back */
	struct holder one = {0};
	hold_release = true;
	pthread_t t;
	if (CHECK_EQ(pthread_create(&t, NULL, holder_main, &one), 0)) {
		pthread_join(t, NULL);
		CHECK_GE(one.rc, 0);
	}
}
static void c_thread_register_id_out_of_range(struct env *e)
{
	int id = xmem_thread_register();
	CHECK_GE(id, 0);
	EXPECT(e, xmem_thread_register_id(XMEM_MAX_LCORES));
	EXPECT(e, xmem_thread_register_id(UINT_MAX));
	CHECK_EQ(xmem_lcore_id(), id);
}

/* A second thread asks for the id this thread holds. */
struct id_thief {
	struct env *e;
	unsigned want;
	int own, after;
};

static void *id_thief_main(void *arg)
{
	struct id_thief *t = arg;
	t->own = xmem_thread_register();
	EXPECT(t->e, xmem_thread_register_id(t->want));
	t->after = xmem_lcore_id();
	return NULL;
}

static void c_thread_register_id_taken(struct env *e)
{
	int id = xmem_thread_register();
	if (!CHECK_GE(id, 0))
		return;
	struct id_thief t = {.e = e, .want = (unsigned)id};
	pthread_t th;
	if (!CHECK_EQ(pthread_create(&th, NULL, id_thief_main, &t), 0))
		return;
	pthread_join(th, NULL);
	CHECK_GE(t.own, 0);
	CHECK_EQ(t.after, t.own);      /* kept its own id */
	CHECK_EQ(xmem_lcore_id(), id); /* and this thread its */
}
/* ----------------------------------------------------- xmem_pool.h */

static void c_pool_create_zero(struct env *e) { EXPECT(e, xmem_pool_create(0)); }

static void c_pool_create_too_large(struct env *e)
{
	EXPECT(e, xmem_pool_create((1u << 31) + 1));
	EXPECT(e, xmem_pool_create(UINT_MAX));
}

static void c_pool_destroy_null(struct env *e)
{
	EXPECT_VOID_N(e, 0, true, xmem_pool_destroy(NULL));
}

/* A pool holding three pointers; the case checks they are all still there
 * after the bad call. */
static void *pool_objs[3] = {(void *)0x1000, (void *)0x2000, (void *)0x3000};

static struct xmem_pool *pool_of_three(void)
{
	struct xmem_pool *p = xmem_pool_create(8);
	if (CHECK(p))
		CHECK_OK(xmem_pool_put_bulk(p, pool_objs, 3));
	return p;
}

static void pool_check_three(struct xmem_pool *p)
{
	void *out[3] = {0};
	CHECK_EQ(xmem_pool_count(p), 3u);
	if (CHECK_OK(xmem_pool_get_bulk(p, out, 3)))
		CHECK_EQ((uintptr_t)out[0] + (uintptr_t)out[1] + (uintptr_t)out[2], 0x6000u);
	xmem_pool_destroy(p);
}

static void c_pool_put_bulk_null_pool(struct env *e)
{
	EXPECT(e, xmem_pool_put_bulk(NULL, pool_objs, 1));
}

static void c_pool_put_bulk_null_objs(struct env *e)
{
	struct xmem_pool *p = pool_of_three();
	if (!p)
		return;
	EXPECT(e, xmem_pool_put_bulk(p, NULL, 1));
	pool_check_three(p);
}

static void c_pool_get_bulk_null_pool(struct env *e)
{
	void *out[1];
	EXPECT(e, xmem_pool_get_bulk(NULL, out, 1));
}

static void c_pool_get_bulk_null_objs(struct env *e)
{
	struct xmem_pool *p = pool_of_three();
	if (!p)
		return;
	EXPECT(e, xmem_pool_get_bulk(p, NULL, 1));
	pool_check_three(p);
}

static void c_pool_get_bulk_short(struct env *e)
{
	struct xmem_pool *p = pool_of_three();
	if (!p)
		return;
	void *out[4];
	EXPECT(e, xmem_pool_get_bulk(p, out, 4));
	pool_check_three(p);
}

static void c_pool_count_null(struct env *e) { EXPECT(e, xmem_pool_count(NULL)); }

static void c_thread_unregister_no_id(struct env *e)
{
	probe(e, 1, "xmem_thread_unregister() in a thread without an id");
	CHECK_GE(xmem_thread_register(), 0);
	CHECK_OK(xmem_thread_unregister());
	EXPECT(e, xmem_thread_unregister());
	CHECK_GE(xmem_thread_register(), 0);
}
static void c_lcore_id_no_id(struct env *e)
{
	probe(e, 2, "xmem_lcore_id() in a thread without an id");
	CHECK_OK(xmem_thread_unregister());
	EXPECT(e, xmem_lcore_id());
	CHECK_GE(xmem_thread_register(), 0);
}

static void c_heap_trim_null(struct env *e) { EXPECT(e, xmem_heap_trim(NULL)); }
static void c_heap_trim_dead(struct env *e) { EXPECT(e, xmem_heap_trim(dead_heap())); }

static void c_virt2iova_null(struct env *e) { EXPECT(e, xmem_virt2iova(NULL)); }
static void c_virt2iova_unknown(struct env *e)
{
	int x;
	char *m = malloc(64);
	EXPECT(e, xmem_virt2iova(&x));
	EXPECT(e, xmem_virt2iova(m));
	EXPECT(e, xmem_virt2iova(e->spare));
	EXPECT(e, xmem_virt2iova(e->va + e->len));
	EXPECT(e, xmem_virt2iova(e->va - 1));
	free(m);
	void *q = removed_block(e);
	if (q)
		EXPECT(e, xmem_virt2iova(q));
}
static void c_virt2iova_wild(struct env *e)
{
	EXPECT(e, xmem_virt2iova((void *)((uintptr_t)1 << 48)));
	EXPECT(e, xmem_virt2iova((void *)((uintptr_t)1 << 50)));
	EXPECT(e, xmem_virt2iova((void *)UINTPTR_MAX));
}
static void c_virt2iova_no_iova_page(struct env *e)
{
	e->spare_tab[1] = XMEM_BAD_IOVA;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
		EXPECT(e, xmem_virt2iova(e->spare + PAGE4K));
		EXPECT(e, xmem_virt2iova(e->spare + 2 * PAGE4K - 1));
		CHECK_EQ(xmem_virt2iova(e->spare + 2 * PAGE4K), SPARE_IOVA + 2 * PAGE4K);
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
	e->spare_tab[1] = SPARE_IOVA + PAGE4K;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_virt2iova(e->spare));
		EXPECT(e, xmem_virt2iova(e->spare + SPARE_LEN - 1));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
}
static void c_iova2virt_unknown(struct env *e)
{
	EXPECT(e, xmem_iova2virt(0));
	EXPECT(e, xmem_iova2virt(SCRATCH_IOVA - 1));
	EXPECT(e, xmem_iova2virt(SCRATCH_IOVA + e->len));
	EXPECT(e, xmem_iova2virt(XMEM_BAD_IOVA));
	CHECK(xmem_iova2virt(SCRATCH_IOVA + 5) == e->va + 5);
}
static void c_iova2virt_removed(struct env *e)
{
	if (removed_block(e))
		EXPECT(e, xmem_iova2virt(SPARE_IOVA));
}

static void c_heap_stats_null_heap(struct env *e)
{
	struct xmem_heap_stats s;
	EXPECT(e, xmem_heap_stats(NULL, &s));
}
static void c_heap_stats_null_out(struct env *e)
{
	EXPECT(e, xmem_heap_stats(e->h, NULL));
}
static void c_heap_stats_dead(struct env *e)
{
	struct xmem_heap_stats s;
	EXPECT(e, xmem_heap_stats(dead_heap(), &s));
}
static void c_heap_dump_write_fails(struct env *e)
{
	FILE *f = fopen("/dev/null", "r");
	if (!CHECK(f))
		return;
	EXPECT(e, xmem_heap_dump(f));
	fclose(f);
}
static void c_heap_dump_null(struct env *e)
{
	fflush(stdout);
	EXPECT(e, xmem_heap_dump(NULL));
}
static void c_size_class_zero(struct env *e) { EXPECT(e, xmem_size_class(0)); }
static void c_size_class_too_big(struct env *e)
{
	EXPECT(e, xmem_size_class(XMEM_MAX_CLASS_SIZE + 1));
	EXPECT(e, xmem_size_class(SIZE_MAX));
	CHECK_EQ(xmem_size_class(XMEM_MAX_CLASS_SIZE), XMEM_NUM_CLASSES - 1);
}
static void c_class_size_out_of_range(struct env *e)
{
	EXPECT(e, xmem_class_size(-1));
	EXPECT(e, xmem_class_size(XMEM_NUM_CLASSES));
	EXPECT(e, xmem_class_size(INT_MAX));
	EXPECT(e, xmem_class_size(INT_MIN));
}
static void c_set_log_null(struct env *e)
{
	xmem_set_log(NULL);
	fflush(stderr);
	int saved = dup(2);
	FILE *tf = tmpfile();
	if (!CHECK(saved >= 0 && tf)) {
		xmem_set_log(capture);
		return;
	}
	dup2(fileno(tf), 2);
	int x;
	unsigned l0 = atomic_load(&log_lines);
	xmem_free(&x);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	xmem_set_log(capture);
	e->reports++;                 /* counted, but not through the hook */
	EXPECT_OK(e, atomic_load(&log_lines) == l0);
	EXPECT_OK(e, ftell(tf) > 0);   /* the line went to stderr */
	fclose(tf);
}

#define PTR_ROWS(api, fn, use)                                                   \
	P(api ".stack", fn, gen_stack, use),                                     \
	P(api ".malloc", fn, gen_malloc, use),                                   \
	P(api ".static", fn, gen_static, use),                                   \
	P(api ".past_end", fn, gen_past_end, use),                               \
	P(api ".before_start", fn, gen_before_start, use),                       \
	P(api ".removed", fn, gen_removed, use),                                 \
	P(api ".removed_start", fn, gen_removed_start, use),                     \
	P(api ".registered", fn, gen_registered, use),                           \
	P(api ".large_interior", fn, gen_large_interior, use),                   \
	P(api ".no_block", fn, gen_no_block, use),                               \
	P(api ".wild", fn, gen_wild, use)

/* ------------------------------------------------------------ the cases */

const struct xcase cases_alloc[] = {
	C("alloc.null_heap", xmem_alloc, c_alloc_null_heap),
	C("alloc.dead_heap", xmem_alloc, c_alloc_dead_heap),
	C("alloc.foreign_heap", xmem_alloc, c_alloc_foreign_heap),
	C("alloc.zero_size", xmem_alloc, c_alloc_zero_size),
	C("alloc.align_not_pow2", xmem_alloc, c_alloc_align_not_pow2),
	C("alloc.huge_size", xmem_alloc, c_alloc_huge_size),
	C("alloc.larger_than_heap", xmem_alloc, c_alloc_larger_than_heap),
	C("alloc.empty_heap", xmem_alloc, c_alloc_empty_heap),
	C("alloc.huge_align", xmem_alloc, c_alloc_huge_align),
	C("alloc.iova_scattered", xmem_alloc, c_alloc_iova_scattered),
	C("alloc.no_metadata", xmem_alloc, c_alloc_no_metadata),
	C("zalloc.null_heap", xmem_zalloc, c_zalloc_null_heap),
	C("zalloc.dead_heap", xmem_zalloc, c_zalloc_dead_heap),
	C("zalloc.zero_size", xmem_zalloc, c_zalloc_zero_size),
	C("zalloc.align_not_pow2", xmem_zalloc, c_zalloc_align_not_pow2),
	C("zalloc.huge_size", xmem_zalloc, c_zalloc_huge_size),
	C("alloc_bulk.null_heap", xmem_alloc_bulk, c_alloc_bulk_null_heap),
	C("alloc_bulk.dead_heap", xmem_alloc_bulk, c_alloc_bulk_dead_heap),
	C("alloc_bulk.null_objs", xmem_alloc_bulk, c_alloc_bulk_null_objs),
	C("alloc_bulk.zero_size", xmem_alloc_bulk, c_alloc_bulk_zero_size),
	C("alloc_bulk.zero_n", xmem_alloc_bulk, c_alloc_bulk_zero_n),
	C("alloc_bulk.too_many", xmem_alloc_bulk, c_alloc_bulk_too_many),
	C("alloc_bulk.huge_size", xmem_alloc_bulk, c_alloc_bulk_huge_size),
	C("set_checked.any_value", xmem_set_checked, c_set_checked_any_value),
	C("checked.no_input", xmem_checked, c_checked_no_input),
	C("invalid_free_count.no_input", xmem_invalid_free_count, c_invalid_free_count_no_input),

	P("free.null", xmem_free, gen_null, use_free),
	PTR_ROWS("free", xmem_free, use_free),
	P("free.double_large", xmem_free, gen_freed_large, use_free),
	P("free.double_class_checked", xmem_free, gen_freed_class_checked, use_free),
	P("free.interior_class_checked", xmem_free, gen_interior_class_checked, use_free),
	P("free.interior_class_unchecked", xmem_free, interior_class, use_free),
	C("free_bulk.null_array", xmem_free_bulk, c_free_bulk_null_array),
	C("free_bulk.null_array_zero", xmem_free_bulk, c_free_bulk_null_array_zero),
	C("free_bulk.null", xmem_free_bulk, c_free_bulk_null),
	PTR_ROWS("free_bulk", xmem_free_bulk, use_free_bulk),
	P("free_bulk.double_large", xmem_free_bulk, gen_freed_large, use_free_bulk),
	P("free_bulk.double_class_checked", xmem_free_bulk, gen_freed_class_checked, use_free_bulk),
	P("free_bulk.interior_class_checked", xmem_free_bulk, gen_interior_class_checked, use_free_bulk),
	P("free_bulk.interior_class_unchecked", xmem_free_bulk, interior_class, use_free_bulk),
	C("free_bulk.mixed", xmem_free_bulk, c_free_bulk_mixed),
	P("usable_size.null", xmem_usable_size, gen_null, use_usable),
	PTR_ROWS("usable_size", xmem_usable_size, use_usable),
	P("usable_size.freed_large", xmem_usable_size, gen_freed_large, use_usable),
	P("usable_size.interior_class", xmem_usable_size, gen_interior_class_both, use_usable),
	P("usable_size.freed_class_checked", xmem_usable_size, gen_freed_class_checked, use_usable),

	C("pool_create.zero", xmem_pool_create, c_pool_create_zero),
	C("pool_create.too_large", xmem_pool_create, c_pool_create_too_large),
	C("pool_destroy.null", xmem_pool_destroy, c_pool_destroy_null),
	C("pool_put_bulk.null_pool", xmem_pool_put_bulk, c_pool_put_bulk_null_pool),
	C("pool_put_bulk.null_objs", xmem_pool_put_bulk, c_pool_put_bulk_null_objs),
	C("pool_get_bulk.null_pool", xmem_pool_get_bulk, c_pool_get_bulk_null_pool),
	C("pool_get_bulk.null_objs", xmem_pool_get_bulk, c_pool_get_bulk_null_objs),
	C("pool_get_bulk.short", xmem_pool_get_bulk, c_pool_get_bulk_short),
	C("pool_count.null", xmem_pool_count, c_pool_count_null),

	C("thread_register.full", xmem_thread_register, c_thread_register_full),
	C("thread_register_id.out_of_range", xmem_thread_register_id, c_thread_register_id_out_of_range),
	C("thread_register_id.taken", xmem_thread_register_id, c_thread_register_id_taken),
	C("thread_unregister.no_id", xmem_thread_unregister, c_thread_unregister_no_id),
	C("lcore_id.no_id", xmem_lcore_id, c_lcore_id_no_id),
	C("heap_trim.null", xmem_heap_trim, c_heap_trim_null),
	C("heap_trim.dead", xmem_heap_trim, c_heap_trim_dead),
	C("virt2iova.null", xmem_virt2iova, c_virt2iova_null),
	C("virt2iova.unknown", xmem_virt2iova, c_virt2iova_unknown),
	C("virt2iova.wild", xmem_virt2iova, c_virt2iova_wild),
	C("virt2iova.no_iova_page", xmem_virt2iova, c_virt2iova_no_iova_page),
	C("iova2virt.unknown", xmem_iova2virt, c_iova2virt_unknown),
	C("iova2virt.removed", xmem_iova2virt, c_iova2virt_removed),
	C("heap_stats.null_heap", xmem_heap_stats, c_heap_stats_null_heap),
	C("heap_stats.null_out", xmem_heap_stats, c_heap_stats_null_out),
	C("heap_stats.dead", xmem_heap_stats, c_heap_stats_dead),
	C("heap_dump.write_fails", xmem_heap_dump, c_heap_dump_write_fails),
	C("heap_dump.null", xmem_heap_dump, c_heap_dump_null),
	C("size_class.zero", xmem_size_class, c_size_class_zero),
	C("size_class.too_big", xmem_size_class, c_size_class_too_big),
	C("class_size.out_of_range", xmem_class_size, c_class_size_out_of_range),
	C("set_log.null", xmem_set_log, c_set_log_null),
};

const size_t n_cases_alloc = sizeof cases_alloc / sizeof cases_alloc[0];
