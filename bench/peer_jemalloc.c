/* peer_jemalloc.c - jemalloc 5.3 (Debian libjemalloc2), dlopen'ed with
 * RTLD_LOCAL|RTLD_DEEPBIND and called through malloc/free/malloc_usable_size
 * looked up in its own handle.  It is never linked (-ljemalloc would replace
 * malloc for the whole process: glibc would not be glibc and DPDK's own
 * mallocs would change).  init checks with dladdr that the functions are in
 * libjemalloc and that a 2049-byte request gets jemalloc's 2560-byte class
 * (glibc would say 2056).
 *
 * libjemalloc uses initial-exec TLS, which a late dlopen can only get from
 * the static TLS surplus; xb_reexec_for_static_tls raises the surplus with a
 * glibc tunable before anything runs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/loops.h"

#define XB_TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

void xb_reexec_for_static_tls(char **argv)
{
	const char *cur = getenv("GLIBC_TUNABLES");
	char buf[1024];

	if (getenv("XB_REEXECED") != NULL ||
	    (cur != NULL && strstr(cur, "optional_static_tls") != NULL))
		return;
	if (cur != NULL && *cur)
		snprintf(buf, sizeof buf, "%s:%s", cur, XB_TLS_TUNABLE);
	else
		snprintf(buf, sizeof buf, "%s", XB_TLS_TUNABLE);
	setenv("GLIBC_TUNABLES", buf, 1);
	setenv("XB_REEXECED", "1", 1);
	execv("/proc/self/exe", argv);
	/* Could not re-exec: carry on; jemalloc will report itself unavailable. */
}

static void *(*g_malloc)(size_t);
static void (*g_free)(void *);
static size_t (*g_usable)(void *);

static void *je_alloc(size_t size) { return g_malloc(size); }
static void je_free(void *p) { g_free(p); }

static int je_alloc_bulk(size_t size, void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, size, objs, n);
}

static void je_free_bulk(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

static inline int je_get(void **objs, unsigned n)
{
	return xb_loop_alloc_bulk(g_malloc, g_free, XB_OBJ_SIZE, objs, n);
}

static inline void je_put(void **objs, unsigned n)
{
	xb_loop_free_bulk(g_free, objs, n);
}

XB_DEFINE_LOOPS(je, je_get, je_put);

static size_t je_usable(const void *p) { return g_usable((void *)p); }

/* No header in front of a block: a block takes its size class, which is
 * what the usable size reports (slab/page metadata is out of band). */
static size_t je_footprint(const void *p) { return g_usable((void *)p); }

static int je_init(struct xb_peer *p)
{
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (h == NULL) {
		snprintf(p->about, sizeof p->about, "dlopen: %s", dlerror());
		return -1;
	}
	g_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	g_free = (void (*)(void *))dlsym(h, "free");
	g_usable = (size_t (*)(void *))dlsym(h, "malloc_usable_size");
	int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(h, "mallctl");
	if (g_malloc == NULL || g_free == NULL || g_usable == NULL || mallctl == NULL) {
		snprintf(p->about, sizeof p->about, "dlsym in libjemalloc failed");
		return -1;
	}
	Dl_info di;
	if (dladdr((void *)g_malloc, &di) == 0 || di.dli_fname == NULL ||
	    strstr(di.dli_fname, "jemalloc") == NULL) {
		snprintf(p->about, sizeof p->about, "malloc from the handle is not jemalloc's");
		return -1;
	}
	const char *ver = "?";
	size_t len = sizeof ver;
	mallctl("version", &ver, &len, NULL, 0);
	void *o = g_malloc(2049);
	size_t us = g_usable(o);
	g_free(o);
	if (us != 2560) {
		snprintf(p->about, sizeof p->about,
		         "malloc(2049) usable %zu: not jemalloc's 2560 size class", us);
		return -1;
	}
	snprintf(p->about, sizeof p->about,
	         "jemalloc %.16s: malloc/free via dlopen(RTLD_LOCAL|RTLD_DEEPBIND) "
	         "of %s; malloc(2049) usable %zu (jemalloc class)",
	         ver, di.dli_fname, us);
	return 0;
}

struct xb_peer xb_peer_jemalloc = {
	.name = "jemalloc",
	.loops = &je_loops,
	.init = je_init,
	.alloc_bulk = je_alloc_bulk,
	.free_bulk = je_free_bulk,
	.alloc = je_alloc,
	.free = je_free,
	.usable = je_usable,
	.footprint = je_footprint,
};
