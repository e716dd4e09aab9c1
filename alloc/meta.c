/* meta.c - the metadata allocator.  Every descriptor, bitmap, IOVA table and
 * page-map leaf of the library comes from here, never from malloc, so that a
 * later multi-process mode can place all of it in one shared mapping
 * (invariant 7).
 *
 * Blocks are power-of-two sized.  Classes up to XM_META_SLAB are carved from
 * 1 MiB slabs; bigger ones get their own mapping.  Freed blocks go onto a
 * per-class free list and are reused, never unmapped: metadata memory is
 * type-stable, which is what lets lock-free readers (translation, free) look
 * at a descriptor that a writer has just retired without faulting.
 *
 * This is a control-path allocator (heap create, add memory, span carving):
 * one mutex is enough. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "meta.h"
#include "vg.h"
#include "xm_common.h"

#define XM_META_MIN_SHIFT 6                   /* 64-byte blocks */
#define XM_META_SLAB      ((size_t)1 << 20)   /* slab and slab-class limit */
#define XM_META_CLASSES   48

struct xm_meta_free { struct xm_meta_free *next; };

static pthread_mutex_t xm_meta_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xm_meta_free *xm_meta_lists[XM_META_CLASSES];
static char  *xm_meta_bump, *xm_meta_bump_end;    /* current slab */
static size_t xm_meta_used;                         /* under xm_meta_mu */
/* Fault injection (tests), all under xm_meta_mu: the countdown to the
 * allocation that fails, whether every later one fails too, and how many
 * have failed since the fault was armed. */
static long   xm_meta_fail_at;
static bool   xm_meta_fail_sticky;
static long   xm_meta_fail_count;

static unsigned xm_meta_class(size_t size)
{
	unsigned c = XM_META_MIN_SHIFT;
	while (((size_t)1 << c) < size)
		c++;
	return c;
}

static void *xm_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	xm_vg_on_meta_map(p, len);  /* hidden from the leak checker */
	return p;
}

/* One counted allocation: true when it must fail.  xm_meta_mu held. */
static bool xm_meta_fault_locked(void)
{
	if (xm_meta_fail_at == 0)
		return false;
	if (xm_meta_fail_at > 1) {
		xm_meta_fail_at--;
		return false;
	}
	/* This one fails; a one-shot fault disarms, a sticky one stays at 1. */
	if (!xm_meta_fail_sticky)
		xm_meta_fail_at = 0;
	xm_meta_fail_count++;
	return true;
}

void *xm_meta_zalloc(size_t size)
{
	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << (XM_META_CLASSES - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	unsigned c = xm_meta_class(size);
	size_t bsz = (size_t)1 << c;
	void *p = NULL;

	pthread_mutex_lock(&xm_meta_mu);
	if (unlikely(xm_meta_fail_at > 0) && xm_meta_fault_locked()) {
		pthread_mutex_unlock(&xm_meta_mu);
		errno = ENOMEM;
		return NULL;
	}
	if (xm_meta_lists[c]) {
		p = xm_meta_lists[c];
		xm_meta_lists[c] = xm_meta_lists[c]->next;
	} else if (bsz < XM_META_SLAB) {
		if ((size_t)(xm_meta_bump_end - xm_meta_bump) < bsz) {
			char *slab = xm_map(XM_META_SLAB);
			if (slab) {
				/* The tail of the old slab is lost; it is
				 * smaller than the block that did not fit. */
				xm_meta_bump = slab;
				xm_meta_bump_end = slab + XM_META_SLAB;
			}
		}
		if ((size_t)(xm_meta_bump_end - xm_meta_bump) >= bsz) {
			p = xm_meta_bump;
			xm_meta_bump += bsz;
		}
	} else {
		p = xm_map(bsz);
	}
	if (p)
		xm_meta_used += bsz;
	pthread_mutex_unlock(&xm_meta_mu);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	memset(p, 0, size);
	return p;
}

void xm_meta_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	unsigned c = xm_meta_class(size);
	struct xm_meta_free *f = p;

	pthread_mutex_lock(&xm_meta_mu);
	f->next = xm_meta_lists[c];
	xm_meta_lists[c] = f;
	xm_meta_used -= (size_t)1 << c;
	pthread_mutex_unlock(&xm_meta_mu);
}

void *xm_meta_pages(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size = xm_align_up(size, pg);
	void *p = xm_map(size);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&xm_meta_mu);
	xm_meta_used += size;
	pthread_mutex_unlock(&xm_meta_mu);
	return p;
}

size_t xm_meta_in_use(void)
{
	pthread_mutex_lock(&xm_meta_mu);
	size_t u = xm_meta_used;
	pthread_mutex_unlock(&xm_meta_mu);
	return u;
}

static void xm_meta_arm(long n, bool sticky)
{
	pthread_mutex_lock(&xm_meta_mu);
	xm_meta_fail_at = n > 0 ? n : 0;
	xm_meta_fail_sticky = sticky && n > 0;
	xm_meta_fail_count = 0;
	pthread_mutex_unlock(&xm_meta_mu);
}

void xm_meta_fail_nth(long n)  { xm_meta_arm(n, false); }
void xm_meta_fail_from(long n) { xm_meta_arm(n, true); }

long xm_meta_fail_fired(void)
{
	pthread_mutex_lock(&xm_meta_mu);
	long n = xm_meta_fail_count;
	pthread_mutex_unlock(&xm_meta_mu);
	return n;
}

bool xm_meta_fail_pending(void)
{
	pthread_mutex_lock(&xm_meta_mu);
	bool p = xm_meta_fail_at > 0 && xm_meta_fail_count == 0;
	pthread_mutex_unlock(&xm_meta_mu);
	return p;
}

bool xm_meta_fault(void)
{
	pthread_mutex_lock(&xm_meta_mu);
	bool f = unlikely(xm_meta_fail_at > 0) && xm_meta_fault_locked();
	pthread_mutex_unlock(&xm_meta_mu);
	return f;
}
