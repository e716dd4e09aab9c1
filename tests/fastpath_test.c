/* fastpath_test.c - the per-lcore cache layer: lcore ids (explicit, on
 * first use, recycled on exit and unregister, threads beyond the limit),
 * caches flushed when their thread exits, memory reclaimed from idle
 * caches on ENOMEM and on removal, and checked mode. */
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <xmem/xmem.h>

#include "xt.h"

#define MiB ((size_t)1 << 20)

struct env {
	struct xmem_heap *h;
	char *va;
	size_t len;
};

static void env_init(struct env *e, const char *name, size_t len)
{
	e->len = len;
	e->va = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e->va == MAP_FAILED)
		XT_FATAL("mmap");
	e->h = xmem_heap_create(name);
	if (!e->h || xmem_heap_add_memory(e->h, e->va, len, NULL, 0, 4096))
		XT_FATAL("heap setup");
}

static void env_fini(struct env *e)
{
	CHECK_OK(xmem_heap_remove_memory(e->h, e->va, e->len));
	CHECK_OK(xmem_heap_destroy(e->h));
	munmap(e->va, e->len);
}

static uint64_t live(struct xmem_heap *h)
{
	struct xmem_heap_stats st;
	if (!CHECK_OK(xmem_heap_stats(h, &st)))
		return UINT64_MAX;
	return st.alloc_count;
}

/* ---- lcore ids ---------------------------------------------------------- */

static void *id_thread(void *arg)
{
	int *out = arg;
	out[0] = xmem_lcore_id();            /* none before the first call */
	out[1] = xmem_thread_register();
	out[2] = xmem_thread_register();     /* same id again */
	out[3] = xmem_lcore_id();
	return NULL;
}

static void case_ids(void)
{
	int r[4];
	pthread_t t;
	pthread_create(&t, NULL, id_thread, r);
	pthread_join(t, NULL);
	CHECK_EQ(r[0], -1);
	CHECK(r[1] >= 0 && r[1] < XMEM_MAX_LCORES);
	CHECK_EQ(r[2], r[1]);
	CHECK_EQ(r[3], r[1]);

	int me = xmem_thread_register();
	CHECK(me >= 0);
	CHECK_OK(xmem_thread_unregister());
	CHECK_EQ(xmem_lcore_id(), -1);
	CHECK_FAILS_INT(xmem_thread_unregister(), ENOENT);
	CHECK(xmem_thread_register() >= 0);
}

/* Many more threads than ids over time: ids are recycled at thread exit,
 * and every cache is flushed then (stats show nothing live, removal works). */
static void *churn_thread(void *arg)
{
	struct xmem_heap *h = arg;
	void *o[32];
	if (xmem_alloc_bulk(h, 512, o, 32) == 0)
		xmem_free_bulk(o, 32);
	return (void *)(intptr_t)xmem_lcore_id();
}

static void case_recycle_on_exit(void)
{
	struct env e;
	env_init(&e, "fp_recycle", 8 * MiB);
	int max_id = -1;
	for (int i = 0; i < 3 * XMEM_MAX_LCORES; i++) {
		pthread_t t;
		void *ret;
		pthread_create(&t, NULL, churn_thread, e.h);
		pthread_join(t, &ret);
		int id = (int)(intptr_t)ret;
		CHECK(id >= 0);
		if (id > max_id)
			max_id = id;
	}
	/* This thread holds one id; exited threads gave theirs back. */
	CHECK_LT(max_id, 4);
	CHECK_EQ(live(e.h), 0);
	env_fini(&e);
}

/* ---- over the limit ------------------------------------------------------ */

struct over {
	struct xmem_heap *h;
	pthread_barrier_t *all_registered, *done;
	int id, err, alloc_ok;
};

static void *over_thread(void *arg)
{
	struct over *o = arg;
	errno = 0;
	o->id = xmem_thread_register();
	o->err = errno;
	pthread_barrier_wait(o->all_registered);
	/* Every thread allocates and frees, with or without an id. */
	void *b[8];
	o->alloc_ok = xmem_alloc_bulk(o->h, 256, b, 8) == 0;
	if (o->alloc_ok)
		xmem_free_bulk(b, 8);
	pthread_barrier_wait(o->done);
	return NULL;
}

static void case_over_limit(void)
{
	enum { N = XMEM_MAX_LCORES + 8 };
	struct env e;
	env_init(&e, "fp_over", 16 * MiB);
	static struct over o[N];
	pthread_t t[N];
	pthread_barrier_t b1, b2;
	pthread_barrier_init(&b1, NULL, N);
	pthread_barrier_init(&b2, NULL, N);
	xmem_thread_unregister();      /* leave every id to the threads */
	for (int i = 0; i < N; i++) {
		o[i] = (struct over){ .h = e.h, .all_registered = &b1, .done = &b2 };
		pthread_create(&t[i], NULL, over_thread, &o[i]);
	}
	int with_id = 0, without = 0, ok = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (o[i].id >= 0)
			with_id++;
		else if (o[i].err == ENOSPC)
			without++;
		ok += o[i].alloc_ok;
	}
	CHECK_EQ(with_id, XMEM_MAX_LCORES);
	CHECK_EQ(without, N - XMEM_MAX_LCORES);
	CHECK_EQ(ok, N);
	CHECK_EQ(live(e.h), 0);
	pthread_barrier_destroy(&b1);
	pthread_barrier_destroy(&b2);
	env_fini(&e);
}

/* ---- memory held in idle caches ------------------------------------------ */

struct idle {
	struct xmem_heap *h;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;      /* 1: objects freed into the cache, 2: may exit */
	size_t got;
};

static void *hoarder(void *arg)
{
	struct idle *d = arg;
	enum { MAX = 4096 };
	static void *o[MAX];
	size_t n = 0;
	while (n < MAX && (o[n] = xmem_alloc(d->h, 2048, 0)))
		n++;
	d->got = n;
	xmem_free_bulk(o, (unsigned)n);   /* into this lcore's cache and depot */
	pthread_mutex_lock(&d->mu);
	d->state = 1;
	pthread_cond_broadcast(&d->cv);
	while (d->state != 2)             /* idle, holding its cache */
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void run_with_idle_hoarder(struct env *e, void (*body)(struct env *, size_t))
{
	struct idle d = { .h = e->h };
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	pthread_t t;
	pthread_create(&t, NULL, hoarder, &d);
	pthread_mutex_lock(&d.mu);
	while (d.state != 1)
		pthread_cond_wait(&d.cv, &d.mu);
	pthread_mutex_unlock(&d.mu);
	body(e, d.got);
	pthread_mutex_lock(&d.mu);
	d.state = 2;
	pthread_cond_broadcast(&d.cv);
	pthread_mutex_unlock(&d.mu);
	pthread_join(t, NULL);
}

static void whole_heap_block(struct env *e, size_t got)
{
	CHECK_EQ(got, e->len / 2048);
	/* Everything is free, but sits in the idle thread's cache: one block
	 * of the whole heap must still be served. */
	void *p = xmem_alloc(e->h, e->len, 0);
	CHECK_EQ((char *)p, e->va);
	xmem_free(p);
}

static void remove_while_cached(struct env *e, size_t got)
{
	CHECK(got > 0);
	CHECK_OK(xmem_heap_remove_memory(e->h, e->va, e->len));
	CHECK_FAILS_PTR(xmem_alloc(e->h, 64, 0), ENOMEM);
	CHECK_OK(xmem_heap_add_memory(e->h, e->va, e->len, NULL, 0, 4096));
}

static void case_reclaim_from_idle_cache(void)
{
	struct env e;
	env_init(&e, "fp_reclaim", 2 * MiB);
	run_with_idle_hoarder(&e, whole_heap_block);
	CHECK_EQ(live(e.h), 0);
	env_fini(&e);
}

static void case_remove_with_idle_cache(void)
{
	struct env e;
	env_init(&e, "fp_remove", 2 * MiB);
	run_with_idle_hoarder(&e, remove_while_cached);
	env_fini(&e);
}

/* ---- checked mode ------------------------------------------------------- */

static int log_lines;
static void count_log(const char *line) { (void)line; log_lines++; }

static void case_checked_mode(void)
{
	struct env e;
	env_init(&e, "fp_checked", 4 * MiB);
	xmem_set_log(count_log);
	void *a = xmem_alloc(e.h, 100, 0), *b = xmem_alloc(e.h, 100, 0);
	void *big = xmem_alloc(e.h, 100000, 0);
	CHECK(a && b && big);
	xmem_free(a);                      /* a now sits in this lcore's cache */
	CHECK_EQ(xmem_set_checked(1), 0);
	CHECK_EQ(xmem_checked(), 1);

	struct xmem_heap_stats s0, s1;
	CHECK_OK(xmem_heap_stats(e.h, &s0));
	uint64_t inv = xmem_invalid_free_count();
	log_lines = 0;
	errno = 0;
	xmem_free(a);                      /* double free, cached before the switch */
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	xmem_free((char *)b + 16);         /* interior of a small block */
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	void *pair[2] = { (char *)big + 4096, a };
	xmem_free_bulk(pair, 2);           /* interior of a large block, double */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(xmem_usable_size(a), 0);
	CHECK_EQ(xmem_invalid_free_count(), inv + 4);
	CHECK_EQ(log_lines, 4);
	CHECK_OK(xmem_heap_stats(e.h, &s1));
	CHECK_EQ(s1.alloc_count, s0.alloc_count);
	CHECK_EQ(s1.alloc_bytes, s0.alloc_bytes);

	/* Allocations in checked mode are exact too. */
	void *c = xmem_alloc(e.h, 100, 0);
	CHECK(c != NULL && c != b);
	xmem_free(c);
	errno = 0;
	xmem_free(c);
	CHECK_EQ(errno, EINVAL);

	CHECK_EQ(xmem_set_checked(0), 1);
	xmem_free(b);
	xmem_free(big);
	CHECK_EQ(live(e.h), 0);
	xmem_set_log(NULL);
	env_fini(&e);
}

/* ---- the free path's guess ---------------------------------------------- */

/* Every pointer of objs[0..n) lies in e's memory. */
static bool all_in(const struct env *e, void *const *objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if ((uintptr_t)objs[i] - (uintptr_t)e->va >= e->len)
			return false;
	return true;
}

/* Bursts freed on one thread switch between heaps with the same class,
 * between classes, and to a heap created after another was destroyed.  A
 * burst freed into the cache array of the previous burst's heap or class
 * (the free path guesses it) would come back out of that heap: every burst
 * allocated must lie in its own heap's memory, and every heap must end with
 * nothing live and its memory removable. */
static void case_free_guess(void)
{
	struct env a, b, c;
	env_init(&a, "guess_a", 16 * MiB);
	env_init(&b, "guess_b", 16 * MiB);
	void *o[32];
	for (int round = 0; round < 200; round++) {
		const struct env *e = round % 3 == 1 ? &b : &a;
		size_t size = round % 5 == 4 ? 64 : 2048;
		if (!CHECK_OK(xmem_alloc_bulk(e->h, size, o, 32)))
			break;
		if (!CHECK(all_in(e, o, 32)))
			break;
		xmem_free_bulk(o, 32);
	}
	CHECK_EQ(live(a.h), 0);
	CHECK_EQ(live(b.h), 0);

	/* A heap destroyed and another created (it may take the same id, and
	 * this thread's cache of that id is then re-initialised for it). */
	CHECK_OK(xmem_alloc_bulk(b.h, 2048, o, 32));
	xmem_free_bulk(o, 32);
	env_fini(&b);
	env_init(&c, "guess_c", 16 * MiB);
	for (int round = 0; round < 20; round++) {
		const struct env *e = round % 2 ? &c : &a;
		if (!CHECK_OK(xmem_alloc_bulk(e->h, 2048, o, 32)))
			break;
		if (!CHECK(all_in(e, o, 32)))
			break;
		xmem_free_bulk(o, 32);
		/* And one at a time, one of each heap (the single pointer's own
		 * first try, whose guess is then the other heap's every time). */
		const struct env *f = e == &a ? &c : &a;
		if (!CHECK_OK(xmem_alloc_bulk(e->h, 2048, &o[0], 1)) ||
		    !CHECK_OK(xmem_alloc_bulk(f->h, 2048, &o[1], 1)) ||
		    !CHECK(all_in(e, &o[0], 1)) || !CHECK(all_in(f, &o[1], 1)))
			break;
		xmem_free_bulk(&o[0], 1);
		xmem_free_bulk(&o[1], 1);
	}
	CHECK_EQ(live(c.h), 0);
	env_fini(&c);
	env_fini(&a);
}

int main(void)
{
	xt_run("lcore ids", case_ids);
	xt_run("ids recycled at thread exit, caches flushed", case_recycle_on_exit);
	xt_run("threads beyond XMEM_MAX_LCORES", case_over_limit);
	xt_run("ENOMEM reclaims an idle thread's cache", case_reclaim_from_idle_cache);
	xt_run("remove drains an idle thread's cache", case_remove_with_idle_cache);
	xt_run("checked mode", case_checked_mode);
	xt_run("bursts freed across heaps and classes on one thread", case_free_guess);
	return xt_done();
}
