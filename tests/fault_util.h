/* fault_util.h - the fault-injection harness of tests/fault_*_test.c
 * (header-only):
 *   - the metadata fault hooks of the test library (testing/xmem_test.h),
 *     and xm_meta_in_use, declared here because the tests link the static
 *     library and see its xm_ symbols;
 *   - ft_state: a snapshot of everything a failed call must leave as it
 *     was (metadata in use, every heap's stats, xmem_heap_dump, the DMA
 *     registry, the test devices' mapped extents, a memory-event ledger);
 *   - ft_sweep: fail an operation at its 1st, 2nd, 3rd ... fault point
 *     until it runs to the end without meeting the fault, checking after
 *     each attempt the errno, the state, and that the identical call then
 *     succeeds; it prints "fault: <op> <mode> points=K ...";
 *   - ftdev: a DMA subscriber with its own extent set and a map fault on
 *     its k-th call (xmem_dma_testdev cannot be armed before it subscribes,
 *     so its replay cannot be failed; this one can);
 *   - a memory-event ledger: every REMOVE must name a region (id, va, len,
 *     heap) that an ADD announced.
 */
#ifndef XMEM_TESTS_FAULT_UTIL_H
#define XMEM_TESTS_FAULT_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#include "testing/xmem_test.h"
#include "testing/xmem_testdev.h"
#include "xt.h"

/* ---- internal (alloc/meta.h) -------------------------------------------- */

extern size_t xm_meta_in_use(void);

#define FT_PG ((size_t)4096)

/* Faults the run just checked by after_ok met (0: a fault-free run). */
static long ft_last_fired;

/* What the attempt under way is, for failure messages. */
static char ft_ctx[160] = "(setup)";

/* A failed check, prefixed with the attempt under way. */
static inline void ft_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void ft_fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xt_fail_at(file, line, "%s: %s", ft_ctx, msg);
}
#define FT_FAIL(...) ft_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* PROT_NONE address space nobody touches (the library never does). */
static inline char *ft_reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		XT_FATAL("mmap(%zu): %s", len, strerror(errno));
	return p;
}

/* One 1 GiB-aligned reservation for every range a test adds: one page-map
 * leaf, created by the first registration, so no later attempt allocates
 * one (leaves are never freed, by design). */
static char *ft_arena_raw, *ft_arena;
static size_t ft_arena_off;

static inline void ft_arena_init(void)
{
	ft_arena_raw = ft_reserve((size_t)2 << 30);
	ft_arena = (char *)(((uintptr_t)ft_arena_raw + ((size_t)1 << 30) - 1) &
			    ~(((uintptr_t)1 << 30) - 1));
}

static inline void ft_arena_fini(void)
{
	munmap(ft_arena_raw, (size_t)2 << 30);
}

/* The next len bytes of the arena, with a gap after them. */
static inline char *ft_carve(size_t len)
{
	char *p = ft_arena + ft_arena_off;
	ft_arena_off += (len + 16 * FT_PG) & ~(16 * FT_PG - 1);
	if (ft_arena_off > ((size_t)1 << 30))
		XT_FATAL("arena exhausted");
	return p;
}

/* ---- memory-event ledger ------------------------------------------------ */

#define FT_LEDGER_MAX 1024

struct ft_ledger_ent {
	uint64_t id;
	void *va;
	size_t len;
	int heap_id;
};

struct ft_ledger {
	struct xmem_dma_subscriber *sub;
	size_t n;                        /* regions announced and not removed */
	long errors;                     /* REMOVEs that matched no ADD */
	struct ft_ledger_ent e[FT_LEDGER_MAX];
};

/* Runs under xmem's control mutex: record only. */
static inline int ft_ledger_fn(void *ctx, enum xmem_mem_event ev,
			const struct xmem_dma_region_info *r)
{
	struct ft_ledger *l = ctx;
	struct ft_ledger_ent x = {r->region_id, r->va, r->len, r->heap_id};
	if (ev == XMEM_MEM_EVENT_ADD) {
		if (l->n == FT_LEDGER_MAX) {
			l->errors++;
			return 0;
		}
		l->e[l->n++] = x;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (l->e[i].id == x.id && l->e[i].va == x.va &&
		    l->e[i].len == x.len && l->e[i].heap_id == x.heap_id) {
			l->e[i] = l->e[--l->n];
			return 0;
		}
	}
	l->errors++;
	fprintf(stderr, "%s: ledger: REMOVE of region id %llu va %p len %zu heap %d "
		"that no ADD announced\n", ft_ctx, (unsigned long long)x.id, x.va,
		x.len, x.heap_id);
	return 0;
}

static inline bool ft_ledger_attach(struct ft_ledger *l, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->sub = xmem_mem_event_register(name, ft_ledger_fn, l);
	return l->sub != NULL;
}

/* ---- ftdev: a DMA subscriber with a countable map fault ----------------- */

#define FTDEV_MAX 4096

struct ftdev {
	struct xmem_dma_subscriber *sub;
	pthread_mutex_t lock;            /* map calls come under xmem's mutex,
					    tests read without it */
	size_t n;
	struct { void *va; uint64_t iova, len; } ext[FTDEV_MAX];
	long fail_at;                    /* the fail_at-th map call fails */
	int fail_errno;
	long unmap_fail_at;              /* the unmap_fail_at-th unmap call
					    fails: EIO, nothing unmapped */
	long map_calls, unmap_calls;
	long fired, map_fired, unmap_fired;  /* faults that fired */
};

static inline int ftdev_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	struct ftdev *d = ctx;
	int e = 0;
	pthread_mutex_lock(&d->lock);
	d->map_calls++;
	if (d->fail_at > 0 && --d->fail_at == 0) {
		d->fired++;
		d->map_fired++;
		e = d->fail_errno;
	} else {
		for (size_t i = 0; i < d->n && !e; i++)
			if (iova < d->ext[i].iova + d->ext[i].len &&
			    d->ext[i].iova < iova + len)
				e = EEXIST;
		if (!e && d->n == FTDEV_MAX)
			e = ENOSPC;
		if (!e) {
			d->ext[d->n].va = va;
			d->ext[d->n].iova = iova;
			d->ext[d->n].len = len;
			d->n++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	errno = e;
	return e ? -1 : 0;
}

static inline int ftdev_unmap(void *ctx, void *va, uint64_t iova, uint64_t len,
		       uint64_t *done)
{
	struct ftdev *d = ctx;
	(void)va;
	pthread_mutex_lock(&d->lock);
	d->unmap_calls++;
	*done = 0;
	if (d->unmap_fail_at > 0 && --d->unmap_fail_at == 0) {
		d->fired++;
		d->unmap_fired++;
		pthread_mutex_unlock(&d->lock);
		errno = EIO;
		return -1;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (d->ext[i].iova == iova && d->ext[i].len == len) {
			*done = len;
			d->ext[i] = d->ext[--d->n];
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (*done != len) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static inline int ftdev_lookup(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	struct ftdev *d = ctx;
	int same = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n; i++)
		same |= d->ext[i].iova == iova && d->ext[i].len == len &&
			d->ext[i].va == va;
	pthread_mutex_unlock(&d->lock);
	return same;
}

static inline size_t ftdev_entries(struct ftdev *d)
{
	pthread_mutex_lock(&d->lock);
	size_t n = d->n;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Subscribe d (replaying every region).  fail_at > 0 arms a map fault
 * first. */
static inline int ftdev_subscribe(struct ftdev *d, const char *name)
{
	struct xmem_dma_ops ops = {
		.dma_map = ftdev_map,
		.dma_unmap = ftdev_unmap,
		.dma_lookup = ftdev_lookup,
	};
	d->sub = xmem_dma_subscribe(name, &ops, d);
	return d->sub ? 0 : -1;
}

/* ---- state snapshot ----------------------------------------------------- */

#define FT_MAX_DEVS 8

struct ft_map {
	char sub[XMEM_DMA_NAME_MAX];
	void *va;
	uint64_t iova, len;
	int owned;
};

struct ft_state {
	size_t meta;
	uint64_t invalid;
	int n_heaps;
	int ids[XMEM_MAX_HEAPS];
	struct xmem_heap_stats hs[XMEM_MAX_HEAPS];
	char *dump;
	size_t dump_len;
	struct ft_map *maps;
	size_t n_maps, cap_maps;
	uint64_t dev_entries[FT_MAX_DEVS], dev_bytes[FT_MAX_DEVS];
	size_t ftdev_entries[FT_MAX_DEVS];
	size_t ledger_n[FT_MAX_DEVS];
	long ledger_errors[FT_MAX_DEVS];
};

/* What the snapshot includes besides heaps and the registry. */
static struct xmem_dma_testdev *ft_devs[FT_MAX_DEVS];
static struct ftdev *ft_ftdevs[FT_MAX_DEVS];
static struct ft_ledger *ft_ledgers[FT_MAX_DEVS];

static inline int ft_map_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	struct ft_state *s = arg;
	if (s->n_maps == s->cap_maps) {
		s->cap_maps = s->cap_maps ? 2 * s->cap_maps : 256;
		s->maps = realloc(s->maps, s->cap_maps * sizeof(*s->maps));
		if (!s->maps)
			XT_FATAL("realloc");
	}
	struct ft_map *x = &s->maps[s->n_maps++];
	memset(x, 0, sizeof(*x));
	snprintf(x->sub, sizeof(x->sub), "%s", sub);
	/* Not the region id: a region removed and added again gets a new one. */
	x->va = m->va;
	x->iova = m->iova;
	x->len = m->len;
	x->owned = m->owned;
	return 0;
}

static inline int ft_map_cmp(const void *a, const void *b)
{
	const struct ft_map *x = a, *y = b;
	int c = strcmp(x->sub, y->sub);
	if (c)
		return c;
	if (x->iova != y->iova)
		return x->iova < y->iova ? -1 : 1;
	if (x->va != y->va)
		return (uintptr_t)x->va < (uintptr_t)y->va ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->owned - y->owned;
}

static inline void ft_state_free(struct ft_state *s)
{
	if (!s)
		return;
	free(s->dump);
	free(s->maps);
	free(s);
}

static inline struct ft_state *ft_state_take(void)
{
	struct ft_state *s = calloc(1, sizeof(*s));
	if (!s)
		XT_FATAL("calloc");
	/* Stats and dump drain nothing: trim each heap first, so that
	 * cached objects and the spans they keep do not show; then the
	 * metadata figure, which trimming does not change. */
	for (int id = 0; id < XMEM_MAX_HEAPS; id++) {
		struct xmem_heap *h = xmem_heap_from_id(id);
		if (!h)
			continue;
		s->ids[s->n_heaps] = id;
		if (xmem_heap_trim(h))
			FT_FAIL("xmem_heap_trim(heap %d): %s", id, strerror(errno));
		if (xmem_heap_stats(h, &s->hs[s->n_heaps]))
			FT_FAIL("xmem_heap_stats(heap %d): %s", id, strerror(errno));
		s->n_heaps++;
	}
	FILE *f = open_memstream(&s->dump, &s->dump_len);
	if (!f)
		XT_FATAL("open_memstream");
	xmem_heap_dump(f);
	fclose(f);
	xmem_dma_mapping_walk(NULL, ft_map_fn, s);
	if (s->n_maps)
		qsort(s->maps, s->n_maps, sizeof(*s->maps), ft_map_cmp);
	for (int i = 0; i < FT_MAX_DEVS; i++) {
		struct xmem_dma_testdev_stats st;
		if (ft_devs[i] && xmem_dma_testdev_get_stats(ft_devs[i], &st) == 0) {
			s->dev_entries[i] = st.entries;
			s->dev_bytes[i] = st.mapped_bytes;
		}
		if (ft_ftdevs[i])
			s->ftdev_entries[i] = ftdev_entries(ft_ftdevs[i]);
		if (ft_ledgers[i]) {
			s->ledger_n[i] = ft_ledgers[i]->n;
			s->ledger_errors[i] = ft_ledgers[i]->errors;
		}
	}
	s->invalid = xmem_invalid_free_count();
	s->meta = xm_meta_in_use();
	return s;
}

/* Print both dumps (they are a few lines each). */
static inline void ft_dump_diff(const char *a, const char *b)
{
	fprintf(stderr, "  dump before:\n%s  dump after:\n%s", a, b);
}

/* a == b; report each difference.  with_meta: compare xm_meta_in_use too. */
static inline bool ft_state_equal(const struct ft_state *a,
				  const struct ft_state *b, bool with_meta,
				  const char *when)
{
	bool ok = true;
	if (with_meta && a->meta != b->meta) {
		FT_FAIL("%s: metadata in use %zu -> %zu (%+lld bytes)", when,
			a->meta, b->meta, (long long)b->meta - (long long)a->meta);
		ok = false;
	}
	if (a->invalid != b->invalid) {
		FT_FAIL("%s: invalid frees %llu -> %llu", when,
			(unsigned long long)a->invalid, (unsigned long long)b->invalid);
		ok = false;
	}
	if (a->n_heaps != b->n_heaps ||
	    memcmp(a->ids, b->ids, sizeof(a->ids[0]) * (size_t)a->n_heaps)) {
		FT_FAIL("%s: heaps %d -> %d", when, a->n_heaps, b->n_heaps);
		ok = false;
	} else {
		for (int i = 0; i < a->n_heaps; i++) {
			const struct xmem_heap_stats *x = &a->hs[i], *y = &b->hs[i];
			if (memcmp(x, y, sizeof(*x)) == 0)
				continue;
			FT_FAIL("%s: heap \"%s\" stats differ: regions %zu -> %zu, "
				"total %zu -> %zu, alloc %llu/%zu -> %llu/%zu, "
				"largest_free %zu -> %zu, metadata %zu -> %zu",
				when, x->name, x->n_regions, y->n_regions,
				x->total_bytes, y->total_bytes,
				(unsigned long long)x->alloc_count, x->alloc_bytes,
				(unsigned long long)y->alloc_count, y->alloc_bytes,
				x->largest_free, y->largest_free,
				x->metadata_bytes, y->metadata_bytes);
			for (int c = 0; c < XMEM_NUM_CLASSES; c++)
				if (memcmp(&x->classes[c], &y->classes[c],
					   sizeof(x->classes[c])))
					fprintf(stderr, "  class %d (%zu B): live %llu -> %llu, "
						"spans %llu -> %llu\n", c, x->classes[c].size,
						(unsigned long long)x->classes[c].live,
						(unsigned long long)y->classes[c].live,
						(unsigned long long)x->classes[c].spans,
						(unsigned long long)y->classes[c].spans);
			ok = false;
		}
	}
	if (a->dump_len != b->dump_len || memcmp(a->dump, b->dump, a->dump_len)) {
		FT_FAIL("%s: xmem_heap_dump differs", when);
		ft_dump_diff(a->dump, b->dump);
		ok = false;
	}
	if (a->n_maps != b->n_maps ||
	    (a->n_maps && memcmp(a->maps, b->maps, a->n_maps * sizeof(*a->maps)))) {
		FT_FAIL("%s: DMA registry: %zu -> %zu mappings (or contents differ)",
			when, a->n_maps, b->n_maps);
		ok = false;
	}
	for (int i = 0; i < FT_MAX_DEVS; i++) {
		if (a->dev_entries[i] != b->dev_entries[i] ||
		    a->dev_bytes[i] != b->dev_bytes[i]) {
			FT_FAIL("%s: test device %d: %llu entries / %llu bytes mapped -> "
				"%llu / %llu", when, i,
				(unsigned long long)a->dev_entries[i],
				(unsigned long long)a->dev_bytes[i],
				(unsigned long long)b->dev_entries[i],
				(unsigned long long)b->dev_bytes[i]);
			ok = false;
		}
		if (a->ftdev_entries[i] != b->ftdev_entries[i]) {
			FT_FAIL("%s: ftdev %d: %zu extents mapped -> %zu", when, i,
				a->ftdev_entries[i], b->ftdev_entries[i]);
			ok = false;
		}
		if (a->ledger_n[i] != b->ledger_n[i] ||
		    a->ledger_errors[i] != b->ledger_errors[i]) {
			FT_FAIL("%s: event ledger %d: %zu regions / %ld errors -> %zu / %ld",
				when, i, a->ledger_n[i], a->ledger_errors[i],
				b->ledger_n[i], b->ledger_errors[i]);
			ok = false;
		}
	}
	return ok;
}

/* ---- injectors ---------------------------------------------------------- */

/* How a fault is armed at point n (1 = the first), how many fired, and how
 * it is disarmed. */
struct ft_injector {
	const char *mode;
	void (*arm)(void *ctx, long n);
	long (*fired)(void *ctx);
	void (*disarm)(void *ctx);
	void *ctx;
};

static inline void ft_meta_arm_once(void *ctx, long n)   { (void)ctx; xm_meta_fail_nth(n); }
static inline void ft_meta_arm_sticky(void *ctx, long n) { (void)ctx; xm_meta_fail_from(n); }
static inline long ft_meta_fired(void *ctx)              { (void)ctx; return xm_meta_fail_fired(); }
static inline void ft_meta_disarm(void *ctx)             { (void)ctx; xm_meta_fail_nth(0); }

/* The n-th counted metadata allocation fails, once. */
static const struct ft_injector ft_meta_once = {
	"meta-once", ft_meta_arm_once, ft_meta_fired, ft_meta_disarm, NULL};
/* The n-th and every later one fail. */
static const struct ft_injector ft_meta_sticky = {
	"meta-from", ft_meta_arm_sticky, ft_meta_fired, ft_meta_disarm, NULL};

/* Regions published now (heap chunks and registrations), from the dump. */
static inline size_t ft_count_regions(void)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		XT_FATAL("open_memstream");
	xmem_heap_dump(f);
	fclose(f);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, "  region ", 9) == 0 || strncmp(l, "registration ", 13) == 0;
	free(buf);
	return n;
}

/* ---- the sweep ---------------------------------------------------------- */

struct ft_op {
	const char *name;
	int expect;                  /* errno of a failed attempt */
	void (*setup)(void *arg);    /* unarmed, before each attempt (optional) */
	int  (*run)(void *arg);      /* the operation: 0, or -1 with errno */
	void (*after_ok)(void *arg); /* checks after a success (optional) */
	void (*undo)(void *arg);     /* after a success: the state before run */
	void (*absent)(void *arg);   /* checks after a failure (optional) */
	void (*teardown)(void *arg); /* unarmed, after each attempt (optional) */
	void *arg;
	/* xm_meta_in_use compared around setup..teardown only, not right
	 * after run: the fast path keeps what a half-done first allocation
	 * created (the lcore's cache) with the heap, by design. */
	bool meta_outer_only;
	/* Skip the unarmed dry run that otherwise comes first (it makes
	 * allocations that persist by design, such as page-map leaves, happen
	 * before the first snapshot). */
	bool no_dry_run;
	/* A success may grow what persists by design (an array's capacity):
	 * metadata is compared exactly after failures only. */
	bool success_may_grow;
	/* The injector arms a second, unswept fault that always fails the
	 * operation (with expect): the attempt that meets no swept fault
	 * then fails too, is checked as a failed call (without absent), and
	 * ends the sweep. */
	bool base_fails;
};

struct ft_result {
	long points;     /* attempts that met the fault */
	long failed;     /* ... and failed with op->expect */
	long recovered;  /* ... and still succeeded (a fallback absorbed it) */
};

#define FT_MAX_POINTS 5000

static inline struct ft_result ft_sweep(const struct ft_op *op,
					const struct ft_injector *inj)
{
	struct ft_result res = {0, 0, 0};
	void *arg = op->arg;
	snprintf(ft_ctx, sizeof(ft_ctx), "%s [%s] dry run", op->name, inj->mode);
	if (!op->no_dry_run) {
		if (op->setup)
			op->setup(arg);
		errno = 0;
		if (op->run(arg) != 0) {
			FT_FAIL("the operation fails without any fault: %s",
				strerror(errno));
			if (op->teardown)
				op->teardown(arg);
			return res;
		}
		ft_last_fired = 0;
		if (op->after_ok)
			op->after_ok(arg);
		op->undo(arg);
		if (op->teardown)
			op->teardown(arg);
	}
	long n;
	for (n = 1; n <= FT_MAX_POINTS; n++) {
		snprintf(ft_ctx, sizeof(ft_ctx), "%s [%s] point %ld", op->name,
			 inj->mode, n);
		struct ft_state *outer = ft_state_take();
		if (op->setup)
			op->setup(arg);
		struct ft_state *s0 = ft_state_take();
		inj->arm(inj->ctx, n);
		errno = 0;
		int rc = op->run(arg);
		int e = errno;
		long fired = inj->fired(inj->ctx);
		inj->disarm(inj->ctx);
		ft_last_fired = fired;
		bool strict_meta = !op->meta_outer_only;
		if (fired == 0 && op->base_fails) {
			/* Only the unswept fault: every point has been tried. */
			if (rc == 0 || e != op->expect)
				FT_FAIL("with only the base fault: rc %d, errno %d (%s)",
					rc, e, strerror(e));
			struct ft_state *s1 = ft_state_take();
			ft_state_equal(s0, s1, strict_meta, "after the base fault alone");
			ft_state_free(s1);
		} else if (fired == 0) {
			/* The operation ran to its end without meeting point n:
			 * every point has been tried. */
			if (rc != 0)
				FT_FAIL("failed without meeting the fault: %s", strerror(e));
			else {
				if (op->after_ok)
					op->after_ok(arg);
				op->undo(arg);
			}
			struct ft_state *s1 = ft_state_take();
			ft_state_equal(s0, s1, strict_meta && !op->success_may_grow,
				       "after the fault-free run and its undo");
			ft_state_free(s1);
		} else if (rc == 0) {
			res.points++;
			res.recovered++;
			if (op->after_ok)
				op->after_ok(arg);
			op->undo(arg);
			struct ft_state *s1 = ft_state_take();
			ft_state_equal(s0, s1, strict_meta && !op->success_may_grow,
				       "after a success despite the fault, and its undo");
			ft_state_free(s1);
		} else {
			res.points++;
			res.failed++;
			if (e != op->expect)
				FT_FAIL("failed with errno %d (%s), documented: %d (%s)",
					e, strerror(e), op->expect, strerror(op->expect));
			struct ft_state *s1 = ft_state_take();
			ft_state_equal(s0, s1, strict_meta, "after the failed call");
			ft_state_free(s1);
			if (op->absent)
				op->absent(arg);
			/* The library is still usable: the identical call works
			 * (with the base fault, if any, gone too). */
			errno = 0;
			ft_last_fired = 0;
			if (op->run(arg) != 0) {
				FT_FAIL("the identical call after the failure fails: %s",
					strerror(errno));
			} else {
				if (op->after_ok)
					op->after_ok(arg);
				op->undo(arg);
				struct ft_state *s2 = ft_state_take();
				ft_state_equal(s0, s2, strict_meta && !op->success_may_grow,
					       "after the identical call and its undo");
				ft_state_free(s2);
			}
		}
		if (op->teardown)
			op->teardown(arg);
		struct ft_state *s3 = ft_state_take();
		ft_state_equal(outer, s3, !op->success_may_grow,
			       "around the whole attempt (setup .. teardown)");
		ft_state_free(s3);
		ft_state_free(s0);
		ft_state_free(outer);
		if (fired == 0)
			break;
	}
	if (n > FT_MAX_POINTS)
		FT_FAIL("still meeting faults after %d points", FT_MAX_POINTS);
	printf("fault: %-40s %-10s points=%ld failed=%ld recovered=%ld\n",
	       op->name, inj->mode, res.points, res.failed, res.recovered);
	fflush(stdout);
	snprintf(ft_ctx, sizeof(ft_ctx), "(between sweeps)");
	return res;
}

/* ---- running an operation on a thread of its own ------------------------ */

struct ft_thread_call {
	int (*fn)(void *);
	void *arg;
	int rc, err;
};

static void *ft_thread_main(void *p)
{
	struct ft_thread_call *c = p;
	errno = 0;
	c->rc = c->fn(c->arg);
	c->err = errno;
	return NULL;
}

/* fn(arg) on a new thread (a new lcore), joined: its rc, errno set. */
static inline int ft_in_thread(int (*fn)(void *), void *arg)
{
	struct ft_thread_call c = {fn, arg, -1, 0};
	pthread_t t;
	if (pthread_create(&t, NULL, ft_thread_main, &c))
		XT_FATAL("pthread_create");
	pthread_join(t, NULL);
	errno = c.err;
	return c.rc;
}

/* A caller's table of n pages in runs of run pages, at base. */
static inline uint64_t *ft_table(size_t n, size_t run, uint64_t base)
{
	uint64_t *t = malloc(n * sizeof(*t));
	if (!t)
		XT_FATAL("malloc");
	for (size_t i = 0; i < n; i++)
		t[i] = base + (i / run) * ((uint64_t)1 << 24) + (i % run) * FT_PG;
	return t;
}

/* ---- add / register, remove / unregister as sweep ops -------------------- */

struct ft_add {
	struct xmem_heap *h;     /* NULL: xmem_register */
	char *va;
	size_t len;
	const uint64_t *iova;
	enum xmem_iova_mode mode;
	uint64_t iova0;          /* remove ops: the IOVA of va while added */
	uint64_t assigned;       /* ASSIGN mode: the IOVA the first success
				    got; every later one must get it too
				    (first fit: a failed add gave it back) */
};

static inline int ft_add_run(void *p)
{
	struct ft_add *a = p;
	xmem_dma_set_iova_mode(a->mode);
	size_t n = a->iova ? a->len / FT_PG : 0;
	errno = 0;
	int rc = a->h ? xmem_heap_add_memory(a->h, a->va, a->len, a->iova, n, FT_PG)
		      : xmem_register(a->va, a->len, a->iova, n, FT_PG);
	int e = errno;
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	errno = e;
	return rc;
}

static inline int ft_remove_run(void *p)
{
	struct ft_add *a = p;
	return a->h ? xmem_heap_remove_memory(a->h, a->va, a->len)
		    : xmem_unregister(a->va, a->len);
}

static inline void ft_add_undo(void *p)
{
	if (!CHECK_OK(ft_remove_run(p)))
		FT_FAIL("undo (remove) failed");
}

static inline void ft_remove_undo(void *p)
{
	if (!CHECK_OK(ft_add_run(p)))
		FT_FAIL("undo (add again) failed");
}

/* The region is in place and translates. */
static inline void ft_add_present(void *p)
{
	struct ft_add *a = p;
	uint64_t i0 = xmem_virt2iova(a->va);
	if (a->iova && i0 != a->iova[0])
		FT_FAIL("virt2iova(va) %#llx, table says %#llx",
			(unsigned long long)i0, (unsigned long long)a->iova[0]);
	if (a->mode == XMEM_IOVA_MODE_VA && i0 != (uint64_t)(uintptr_t)a->va)
		FT_FAIL("IOVA=VA: virt2iova(va) %#llx", (unsigned long long)i0);
	if (a->mode == XMEM_IOVA_MODE_ASSIGN && !a->iova) {
		if (i0 == XMEM_BAD_IOVA)
			FT_FAIL("assigned mode: no IOVA");
		else if (!a->assigned)
			a->assigned = i0;
		else if (i0 != a->assigned)
			FT_FAIL("assigned IOVA %#llx, the first add got %#llx: an "
				"extent of a failed add was not given back",
				(unsigned long long)i0, (unsigned long long)a->assigned);
	}
	if (i0 != XMEM_BAD_IOVA && xmem_iova2virt(i0) != a->va)
		FT_FAIL("iova2virt(virt2iova(va)) != va");
}

/* Nothing of a failed add is visible. */
static inline void ft_add_absent(void *p)
{
	struct ft_add *a = p;
	if (xmem_virt2iova(a->va) != XMEM_BAD_IOVA ||
	    xmem_virt2iova(a->va + a->len - 1) != XMEM_BAD_IOVA)
		FT_FAIL("a failed add left the range translatable");
	if (a->iova && xmem_iova2virt(a->iova[0]) != NULL)
		FT_FAIL("a failed add left its IOVA in the IOVA -> VA table");
	if (a->mode == XMEM_IOVA_MODE_VA && xmem_iova2virt((uintptr_t)a->va))
		FT_FAIL("a failed IOVA=VA add left its IOVA in the table");
	/* Not a heap's memory either (the heap's stats are compared by the
	 * sweep; this is the page map). */
	errno = 0;
	if (xmem_usable_size(a->va) != 0 || errno != EINVAL)
		FT_FAIL("a failed add left the range in the page map");
}

/* A failed remove leaves the region as it was. */
static inline void ft_remove_absent(void *p)
{
	struct ft_add *a = p;
	if (xmem_virt2iova(a->va) != a->iova0)
		FT_FAIL("after a failed remove virt2iova(va) %#llx, was %#llx",
			(unsigned long long)xmem_virt2iova(a->va),
			(unsigned long long)a->iova0);
}

static inline void ft_removed_check(void *p)
{
	struct ft_add *a = p;
	if (xmem_virt2iova(a->va) != XMEM_BAD_IOVA)
		FT_FAIL("removed, yet virt2iova(va) answers");
}

#endif /* XMEM_TESTS_FAULT_UTIL_H */
