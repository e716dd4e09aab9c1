/* peer_glibc.c - glibc malloc/free.  The entry points are taken with dlsym
 * from libc.so.6's own handle, so even if some library in the process
 * interposed malloc, this peer still calls glibc's allocator; init checks
 * with dladdr that the functions live in libc.so.6 and records whether the
 * process-wide malloc symbol is glibc's too (it is: jemalloc and mimalloc
 * are only ever dlopen'ed RTLD_LOCAL|RTLD_DEEPBIND, never linked). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/loops.h"

static void *(*g_malloc)(size_t);
static void (*g_free)(void *);
static size_t (*g_usable)(void *);

static void *gl_alloc(size_t size) { return g_malloc(size); }
static void gl_free(void *p) { g_free(p); }

static int gl_alloc_bulk(size_t size, void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, size, objs, n);
}

static void gl_free_bulk(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

static inline int gl_get(void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, XB_OBJ_SIZE, objs, n);
}

static inline void gl_put(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

XB_DEFINE_LOOPS(gl, gl_get, gl_put);

static size_t gl_usable(const void *p) { return g_usable((void *)p); }

/* A glibc chunk in use is its usable size plus the 8-byte size field in
 * front of it (mallinfo2's uordblks would also count what sits in the
 * per-thread tcache, so its deltas are not the blocks' cost). */
static size_t gl_footprint(const void *p) { return g_usable((void *)p) + sizeof(size_t); }

static const char *lib_of(const void *fn)
{
	Dl_info di;
	if (fn == NULL || dladdr(fn, &di) == 0 || di.dli_fname == NULL)
		return "?";
	const char *s = strrchr(di.dli_fname, '/');
	return s ? s + 1 : di.dli_fname;
}

static int gl_init(struct xb_peer *p)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) {
		snprintf(p->about, sizeof p->about, "dlopen libc.so.6: %s", dlerror());
		return -1;
	}
	g_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	g_free = (void (*)(void *))dlsym(h, "free");
	g_usable = (size_t (*)(void *))dlsym(h, "malloc_usable_size");
	if (g_malloc == NULL || g_free == NULL || g_usable == NULL) {
		snprintf(p->about, sizeof p->about, "dlsym in libc.so.6 failed");
		return -1;
	}
	if (strncmp(lib_of((void *)g_malloc), "libc.so", 7) != 0) {
		snprintf(p->about, sizeof p->about, "malloc resolved to %s, not libc",
		         lib_of((void *)g_malloc));
		return -1;
	}
	void *o = g_malloc(2049);
	snprintf(p->about, sizeof p->about,
	         "malloc/free from libc.so.6 (dladdr: %s; process-wide malloc "
	         "symbol: %s); malloc(2049) usable %zu",
	         lib_of((void *)g_malloc), lib_of((void *)&malloc), g_usable(o));
	g_free(o);
	return 0;
}

struct xb_peer xb_peer_glibc = {
	.name = "glibc",
	.loops = &gl_loops,
	.init = gl_init,
	.alloc_bulk = gl_alloc_bulk,
	.free_bulk = gl_free_bulk,
	.alloc = gl_alloc,
	.free = gl_free,
	.usable = gl_usable,
	.footprint = gl_footprint,
};
