/* vg.c - the valgrind side table: which blocks memcheck has been told about
 * (MALLOCLIKE'd and not yet FREELIKE'd), and the size it was told.  Built
 * only with -DXMEM_VALGRIND=1; see vg.h for what memcheck is told and why.
 *
 * The table is an open-addressing hash (linear probing, backward-shift
 * deletion) in its own anonymous mapping, under one mutex: under valgrind
 * threads run one at a time anyway, so the lock costs nothing that matters.
 *
 * Keys are stored inverted (~p).  Memcheck's leak checker scans every
 * writable mapping for words that point at a block; a table of plain block
 * addresses would make every leaked block "still reachable".  Nothing here
 * is ever stored in managed memory (invariant 1). */
#if defined(XMEM_VALGRIND) && XMEM_VALGRIND

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "vg.h"

/* -1 until known; a constructor settles it before main, and the slow paths
 * settle it themselves if an allocation comes first (another constructor). */
int xm_vg_active = -1;

struct xm_vg_slot {
	uintptr_t key;   /* ~address of the block; 0: empty */
	size_t    size;  /* the size memcheck knows the block by */
};

static pthread_mutex_t xm_vg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xm_vg_slot *xm_vg_tab;  /* xm_vg_cap slots, a power of two */
static size_t xm_vg_cap, xm_vg_n;

#define XM_VG_CAP0 ((size_t)4096)

static int xm_vg_running(void)
{
	int a = __atomic_load_n(&xm_vg_active, __ATOMIC_RELAXED);
	if (a < 0) {
		a = RUNNING_ON_VALGRIND ? 1 : 0;
		__atomic_store_n(&xm_vg_active, a, __ATOMIC_RELAXED);
	}
	return a;
}

__attribute__((constructor)) static void xm_vg_init(void)
{
	(void)xm_vg_running();
}

static size_t xm_vg_hash(uintptr_t key)
{
	/* Blocks are at least 16-byte aligned; Fibonacci hashing spreads the
	 * rest over the table. */
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ULL) >> 20) &
	       (xm_vg_cap - 1);
}

static struct xm_vg_slot *xm_vg_map(size_t cap)
{
	void *t = mmap(NULL, cap * sizeof(struct xm_vg_slot),
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	return t == MAP_FAILED ? NULL : t;
}

/* Slot of key, or the empty slot where it would go.  Lock held, table
 * never full (kept at most half full). */
static struct xm_vg_slot *xm_vg_find(uintptr_t key)
{
	size_t i = xm_vg_hash(key);
	while (xm_vg_tab[i].key && xm_vg_tab[i].key != key)
		i = (i + 1) & (xm_vg_cap - 1);
	return &xm_vg_tab[i];
}

/* Room for one more entry, growing at half full.  False when the table is
 * full and cannot grow.  Lock held. */
static bool xm_vg_reserve(void)
{
	if (xm_vg_tab && 2 * (xm_vg_n + 1) <= xm_vg_cap)
		return true;
	size_t cap = xm_vg_tab ? 2 * xm_vg_cap : XM_VG_CAP0;
	struct xm_vg_slot *t = xm_vg_map(cap), *old = xm_vg_tab;
	size_t old_cap = xm_vg_cap;
	if (!t)
		return xm_vg_tab && xm_vg_n + 1 < xm_vg_cap;
	xm_vg_tab = t;
	xm_vg_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*xm_vg_find(old[i].key) = old[i];
	if (old)
		munmap(old, old_cap * sizeof(*old));
	return true;
}

/* Remove slot s, shifting back the entries of its probe run.  Lock held. */
static void xm_vg_erase(struct xm_vg_slot *s)
{
	size_t mask = xm_vg_cap - 1;
	size_t i = (size_t)(s - xm_vg_tab), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!xm_vg_tab[j].key)
			break;
		size_t home = xm_vg_hash(xm_vg_tab[j].key);
		/* Entry j may move to the hole at i unless its home lies in
		 * (i, j] (cyclically): then it would become unreachable. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			xm_vg_tab[i] = xm_vg_tab[j];
			i = j;
		}
	}
	xm_vg_tab[i].key = 0;
	xm_vg_tab[i].size = 0;
	xm_vg_n--;
}

void xm_vg_track(void *const *objs, unsigned n, size_t size)
{
	if (!xm_vg_running())
		return;
	pthread_mutex_lock(&xm_vg_mu);
	for (unsigned k = 0; k < n; k++) {
		void *p = objs[k];
		if (!xm_vg_reserve()) {
			VALGRIND_PRINTF("xmem: valgrind table full; %p is "
					"not tracked\n", p);
			VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
			continue;
		}
		struct xm_vg_slot *s = xm_vg_find(~(uintptr_t)p);
		if (s->key) {
			/* The allocator handed out a block that is still
			 * live: only an earlier double free (not caught
			 * outside checked mode) does that.  Memcheck keeps
			 * one block: the new one. */
			VALGRIND_PRINTF_BACKTRACE(
				"xmem: %p handed out again while still live "
				"(an earlier double free?)\n", p);
			VALGRIND_FREELIKE_BLOCK(p, 0);
		} else {
			s->key = ~(uintptr_t)p;
			xm_vg_n++;
		}
		s->size = size;
		VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
	}
	pthread_mutex_unlock(&xm_vg_mu);
}

void xm_vg_untrack(void *const *objs, unsigned n, const char *fn)
{
	if (!xm_vg_running())
		return;
	pthread_mutex_lock(&xm_vg_mu);
	for (unsigned k = 0; k < n; k++) {
		void *p = objs[k];
		if (!p)
			continue;
		struct xm_vg_slot *s = xm_vg_tab ? xm_vg_find(~(uintptr_t)p)
						 : NULL;
		if (s && s->key) {
			xm_vg_erase(s);
			VALGRIND_FREELIKE_BLOCK(p, 0);
			continue;
		}
		/* Not a live block: never FREELIKE it.  If it is xmem memory
		 * that is not handed out (already freed, or never a block),
		 * it is NOACCESS and this check makes memcheck report it as
		 * an error, naming the freed block if there was one.  The
		 * library reports what it can tell itself. */
		VALGRIND_PRINTF_BACKTRACE("xmem: %s(%p): not a live xmem "
					  "block\n", fn, p);
		(void)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, 1);
	}
	pthread_mutex_unlock(&xm_vg_mu);
}

/* ---- usable size ------------------------------------------------------ */

size_t xm_vg_usable(const void *p, size_t usable)
{
	if (!usable || !xm_vg_running())
		return usable;
	pthread_mutex_lock(&xm_vg_mu);
	struct xm_vg_slot *s = xm_vg_tab ? xm_vg_find(~(uintptr_t)p) : NULL;
	if (s && s->key) {
		if (s->size < usable) {
			/* The caller may use every usable byte now. */
			VALGRIND_RESIZEINPLACE_BLOCK(p, s->size, usable, 0);
			s->size = usable;
		}
	} else {
		/* The library took p for live (a freed block waiting in a
		 * cache looks live outside checked mode): a use after free. */
		(void)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, 1);
	}
	pthread_mutex_unlock(&xm_vg_mu);
	return usable;
}

#endif /* XMEM_VALGRIND */
