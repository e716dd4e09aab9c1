/* peer_mimalloc.c - mimalloc 2.0 (Debian libmimalloc2.0), dlopen'ed with
 * RTLD_LOCAL|RTLD_DEEPBIND and called through mi_malloc/mi_free/
 * mi_usable_size from its own handle.  Never linked: libmimalloc also
 * exports malloc and would take over the whole process.  init checks with
 * dladdr that mi_malloc lives in libmimalloc and that mi_usable_size agrees
 * with mimalloc's size classes (2049 -> 2560). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/loops.h"

static void *(*g_malloc)(size_t);
static void (*g_free)(void *);
static size_t (*g_usable)(const void *);

static void *mi_alloc(size_t size) { return g_malloc(size); }
static void mi_free_one(void *p) { g_free(p); }

static int mi_alloc_bulk(size_t size, void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, size, objs, n);
}

static void mi_free_bulk(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

static inline int mi_get(void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, XB_OBJ_SIZE, objs, n);
}

static inline void mi_put(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

XB_DEFINE_LOOPS(mi, mi_get, mi_put);

static size_t mi_usable(const void *p) { return g_usable(p); }

/* No header in front of a block: a block takes its size class, which is
 * what the usable size reports (slab/page metadata is out of band). */
static size_t mi_footprint(const void *p) { return g_usable(p); }

static int mi_init(struct xb_peer *p)
{
	void *h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (h == NULL) {
		snprintf(p->about, sizeof p->about, "dlopen: %s", dlerror());
		return -1;
	}
	g_malloc = (void *(*)(size_t))dlsym(h, "mi_malloc");
	g_free = (void (*)(void *))dlsym(h, "mi_free");
	g_usable = (size_t (*)(const void *))dlsym(h, "mi_usable_size");
	int (*version)(void) = (int (*)(void))dlsym(h, "mi_version");
	if (g_malloc == NULL || g_free == NULL || g_usable == NULL) {
		snprintf(p->about, sizeof p->about, "dlsym in libmimalloc failed");
		return -1;
	}
	Dl_info di;
	if (dladdr((void *)g_malloc, &di) == 0 || di.dli_fname == NULL ||
	    strstr(di.dli_fname, "mimalloc") == NULL) {
		snprintf(p->about, sizeof p->about, "mi_malloc is not in libmimalloc");
		return -1;
	}
	void *o = g_malloc(2049);
	size_t us = g_usable(o);
	g_free(o);
	snprintf(p->about, sizeof p->about,
	         "mimalloc %d: mi_malloc/mi_free via dlopen(RTLD_LOCAL|RTLD_DEEPBIND) "
	         "of %s; mi_malloc(2049) usable %zu",
	         version ? version() : -1, di.dli_fname, us);
	return 0;
}

struct xb_peer xb_peer_mimalloc = {
	.name = "mimalloc",
	.loops = &mi_loops,
	.init = mi_init,
	.alloc_bulk = mi_alloc_bulk,
	.free_bulk = mi_free_bulk,
	.alloc = mi_alloc,
	.free = mi_free_one,
	.usable = mi_usable,
	.footprint = mi_footprint,
};
