/* handshake_test.c - the owner's side of the cache handshake (alloc/cache.h)
 * in both of its modes, white-box: with membarrier(2) a cache's stop word
 * is 0 and the fast paths' entry takes it; without (XMEM_NO_MEMBARRIER=1, a
 * child process) every cache carries XM_STOP_FENCE from its creation, so
 * the fast paths' entry turns away and the fenced entry takes it, and
 * bursts still go through the cache.  A drainer's bit turns both entries
 * away.  Also: the stand-in lcores a thread's xm_self points at before it
 * has an id have an empty row and a guess no span matches, which the fast
 * paths rely on instead of testing for them. */
#include <stdlib.h>
#include <sys/mman.h>

#include "alloc/cache.h"
#include "tests/xt.h"

#define LEN ((size_t)8 << 20)

static void case_owner_entry(void)
{
	void *va = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!CHECK(va != MAP_FAILED))
		return;
	struct xmem_heap *h = xmem_heap_create("handshake");
	if (!CHECK(h != NULL) || !CHECK_OK(xmem_heap_add_memory(h, va, LEN, NULL, 0, 4096)))
		return;
	void *p, *q;
	CHECK_OK(xmem_alloc_bulk(h, 2048, &p, 1));
	struct xm_lcore *l = (struct xm_lcore *)xm_self;
	if (!CHECK(xm_self_is_lcore(xm_self)))
		return;
	struct xm_lcache *lc = atomic_load(&l->lc[xmem_heap_id(h)]);
	if (!CHECK(lc != NULL))
		return;
	uint32_t want = xm_membarrier_ok ? 0 : XM_STOP_FENCE;
	CHECK_EQ(atomic_load(&lc->stop), want);

	/* A burst of one goes into the class array and comes back from it,
	 * in either mode (the fenced one by the slower entry). */
	struct xm_cache *k = &lc->cls[xmem_size_class(2048)];
	uint32_t n0 = k->n;
	xmem_free_bulk(&p, 1);
	CHECK_EQ(k->n, n0 + 1);
	CHECK(k->objs[n0] == p);
	CHECK_OK(xmem_alloc_bulk(h, 2048, &q, 1));
	CHECK(q == p);
	CHECK_EQ(k->n, n0);
	CHECK_EQ(atomic_load(&lc->busy), 0);

	/* The two entries, idle. */
	bool fast = xm_lc_try_enter(lc);
	CHECK_EQ(fast, (bool)xm_membarrier_ok);
	CHECK_EQ(atomic_load(&lc->busy), fast ? 1u : 0u);
	if (fast)
		xm_lc_exit(lc);
	CHECK(xm_lc_enter(lc));
	CHECK_EQ(atomic_load(&lc->busy), 1);
	xm_lc_exit(lc);
	CHECK_EQ(atomic_load(&lc->busy), 0);

	/* Held by a drainer: both turn away and leave busy 0. */
	atomic_fetch_or(&lc->stop, XM_STOP_DRAIN);
	CHECK(!xm_lc_try_enter(lc));
	CHECK_EQ(atomic_load(&lc->busy), 0);
	CHECK(!xm_lc_enter(lc));
	CHECK_EQ(atomic_load(&lc->busy), 0);
	atomic_fetch_and(&lc->stop, ~XM_STOP_DRAIN);
	CHECK_EQ(atomic_load(&lc->stop), want);

	/* Checked mode, switched on and off, keeps the mode's bit. */
	CHECK_EQ(xmem_set_checked(1), 0);   /* returns the previous setting */
	CHECK_EQ(atomic_load(&lc->stop), want | XM_STOP_CHECKED);
	CHECK(!xm_lc_enter(lc));
	CHECK_EQ(xmem_set_checked(0), 1);
	CHECK_EQ(atomic_load(&lc->stop), want);

	xmem_free(q);
	CHECK_OK(xmem_heap_trim(h));
	CHECK_OK(xmem_heap_remove_memory(h, va, LEN));
	CHECK_OK(xmem_heap_destroy(h));
	munmap(va, LEN);
}

static void *stand_in_thread(void *arg)
{
	int *ok = arg;
	const struct xm_lcore *l = (const struct xm_lcore *)xm_self;
	*ok = xm_self == XM_SELF_UNSET && !xm_self_is_lcore(xm_self) &&
	      l->free_lc == NULL && l->free_key == 0;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		*ok = *ok && atomic_load(&l->lc[i]) == NULL;
	l = &xm_lcore_none;
	*ok = *ok && l->free_lc == NULL && l->free_key == 0;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		*ok = *ok && atomic_load(&l->lc[i]) == NULL;
	return NULL;
}

static void case_stand_ins(void)
{
	pthread_t t;
	int ok = 0;
	pthread_create(&t, NULL, stand_in_thread, &ok);
	pthread_join(t, NULL);
	CHECK(ok);
}

/* The same owner's entry in a child process without membarrier. */
static void case_without_membarrier(void)
{
	char *envp[] = { "XMEM_NO_MEMBARRIER=1", "XT_CHILD=1", NULL };
	xt_rerun_self("handshake_test", envp);
}

int main(void)
{
	const char *nm = getenv("XMEM_NO_MEMBARRIER");
	if (getenv("XT_CHILD") && !(nm && nm[0] == '1'))
		XT_FATAL("child without XMEM_NO_MEMBARRIER=1");
	if (getenv("XT_CHILD") && !CHECK_EQ(xm_membarrier_ok, 0))
		return xt_done();
	xt_run("the owner's entry, this process's mode", case_owner_entry);
	xt_run("the stand-in lcores are empty", case_stand_ins);
	if (!getenv("XT_CHILD"))
		xt_run("the owner's entry without membarrier", case_without_membarrier);
	return xt_done();
}
