/* errors_test.h - what the driver of the bad-input table (errors_test.c)
 * shares with its case files (errors_cases_*.c): the env a case runs in,
 * the EXPECT checks of a call against its row, the fault-injection loop,
 * the common helpers and the case tables.  Internal to errors_test. */
#ifndef XMEM_TESTS_ERRORS_TEST_H
#define XMEM_TESTS_ERRORS_TEST_H

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include <xmem/xmem_dma.h>
#include <xmem/xmem_vfio.h>

#include "testing/xmem_test.h"
#include "testing/xmem_testdev.h"

/* One test in several files: xt.h's counters are shared (errors_test.c
 * defines them), so that a check failing in a case file fails the run. */
#ifdef XMEM_TESTS_XT_H
#error "include errors_test.h before xt.h"
#endif
#define XT_EXTERN_STATE
#include "errors_table.h"
#include "xt_util.h"

/* IOVA bases, outside the assigner's default ranges [2^32, 2^39). */
#define WITNESS_IOVA ((uint64_t)1 << 45)
#define SCRATCH_IOVA ((uint64_t)1 << 44)
#define SPARE_IOVA   (((uint64_t)1 << 44) + ((uint64_t)1 << 36))

#define CHUNK_LEN (8 * MiB)
#define SPARE_LEN (8 * MiB)

/* The spare's pages, and a VA and an IOVA no one maps (test devices, VFIO). */
#define SPARE_PAGES (SPARE_LEN / PAGE4K)
#define TD_VA ((void *)(uintptr_t)0x10000000)
#define TD_IOVA ((uint64_t)1 << 41)

/* ------------------------------------------------------------- the env */

struct witness {
	struct xmem_heap *h;
	char *va;
	uint64_t *tab;
	void *blocks[3];
	struct xmem_heap_stats base;
};

struct env {
	const struct et_row *row;
	struct xmem_heap *h;          /* scratch heap, with one chunk */
	char *map;                    /* guard | chunk | guard | spare | guard */
	size_t map_len;
	char *va;                     /* the chunk */
	size_t len;
	char *spare;                  /* memory no one registered */
	uint64_t *tab;                /* the chunk's IOVA table */
	uint64_t *spare_tab;          /* a table for the spare */
	void *small, *mid, *large;    /* live blocks of the scratch heap */
	struct xmem_heap *x;          /* extra heap to watch (set by a case) */
	struct xmem_heap_stats setup; /* scratch stats after setup */
	unsigned checks;              /* expectations checked */
	unsigned reports;             /* invalid frees expected */
	unsigned logged;              /* log lines expected */
	struct xmem_vfio_container *vc; /* --part=vfio */
};

extern struct witness W;

struct snap {
	struct xmem_heap_stats s, w, x;
	bool has_x;
	uint64_t inv;
	unsigned logs;
	unsigned fails;   /* control-plane failure lines (fail_lines) */
};

/* ------------------------------------------------- checks (errors_test.c) */

/* The log hook: bad-pointer reports counted in log_lines, the one line of
 * each failed control-plane call in fail_lines (and checked per row). */
extern _Atomic unsigned log_lines;
extern _Atomic unsigned fail_lines;
void capture(const char *line);
/* The hook while an unmap is made to fail: its lines, counted apart. */
extern unsigned unmap_log_lines;
void capture_unmap(const char *line);

/* Trimmed stats of h; whether two are the same (failing the check if not). */
void stats_of(struct xmem_heap *h, struct xmem_heap_stats *s);
bool stats_same(const char *file, int line, const char *what,
		const struct xmem_heap_stats *a, const struct xmem_heap_stats *b);
void snap_take(struct env *e, struct snap *sn);
/* A call's result against the row; then nothing changed since sn. */
void expect_value(struct env *e, const struct snap *sn, const char *file, int line,
		  const char *what, uint64_t v, int err);
void expect_void(struct env *e, const struct snap *sn, const char *file, int line,
		 const char *what, unsigned n, int err, bool heaps_same);
/* The row cannot be checked on this machine (said, not hidden). */
void not_here(struct env *e, const char *why);

/* The value is converted through uintptr_t: ints (-1 stays all ones),
 * pointers and uint64_t alike. */
#define EXPECT(e, expr)                                                          \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		uint64_t v_ = (uint64_t)(uintptr_t)(expr);                       \
		int er_ = errno;                                                 \
		expect_value((e), &sn_, __FILE__, __LINE__, #expr, v_, er_);     \
	} while (0)

/* EXPECT for xmem_alloc / xmem_zalloc: a block returned anyway is freed
 * again, so that one failure does not cascade into the next rows. */
#define EXPECT_ALLOC(e, expr)                                                    \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		void *p_ = (expr);                                               \
		int er_ = errno;                                                 \
		expect_value((e), &sn_, __FILE__, __LINE__, #expr, (uintptr_t)p_, er_); \
		if (p_)                                                          \
			xmem_free(p_);                                           \
	} while (0)

#define EXPECT_VOID_N(e, n, same, stmt)                                          \
	do {                                                                     \
		struct snap sn_;                                                 \
		snap_take((e), &sn_);                                            \
		errno = 0;                                                       \
		stmt;                                                            \
		int er_ = errno;                                                 \
		expect_void((e), &sn_, __FILE__, __LINE__, #stmt, (n), er_, (same)); \
	} while (0)
#define EXPECT_VOID(e, stmt) EXPECT_VOID_N(e, 1, true, stmt)

/* A row that is not an error: the case checks what the call does. */
#define EXPECT_OK(e, cond)                                                       \
	do {                                                                     \
		(e)->checks++;                                                   \
		if ((e)->row->ret != ET_OK)                                      \
			xt_fail_at(__FILE__, __LINE__, "EXPECT_OK on row %s, which returns %s", \
				   (e)->row->id, et_ret_names[(e)->row->ret]);   \
		CHECK(cond);                                                     \
	} while (0)

/* ------------------------------------------------- fault injection loop */

/* One attempt at the call: true when it succeeded; on failure *v and *err
 * hold the result.  The attempt disarms the fault right after the call (an
 * armed fault the call did not reach would hit the undo), then undoes a
 * success. */
typedef bool (*attempt_fn)(struct env *e, uint64_t *v, int *err);

void fault_loop(struct env *e, const char *what, attempt_fn attempt);

/* ------------------------------------------------------------- helpers */

/* Readable memory that is not a heap, a subscriber or a test device. */
extern uint64_t junk[1024];
struct xmem_heap *dead_heap(void);      /* created and destroyed */
struct xmem_heap *foreign_heap(void);   /* junk */
const char *long_name(size_t n);        /* n characters (one static buffer) */
/* A mapping walk that counts into *(long *)arg. */
int walk_count(const char *s, const struct xmem_dma_mapping *m, void *arg);
/* A memory-event subscriber that accepts every event. */
int ev_ok(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r);
/* The assigner's default IOVA range, to put back. */
extern const struct xmem_iova_range default_range;

/* ------------------------------------------------------------ the cases */

/* A generator produces bad pointers of one kind and hands each to use(),
 * which makes the call of the row's function (free, free_bulk with the
 * pointer between two NULLs, or usable_size). */
typedef void (*use_fn)(struct env *e, void *p);
typedef void (*gen_fn)(struct env *e, use_fn use);

struct xcase {
	const char *id;
	const char *fn;            /* the row's function, cross-checked */
	void (*run)(struct env *e);
	gen_fn gen;                /* or: a generator of bad pointers ... */
	use_fn use;                /* ... and the call to make with each */
};

#define C(id, fn, f) {id, #fn, f, NULL, NULL}
#define P(id, fn, g, u) {id, #fn, NULL, g, u}

/* The case tables, one a file; errors_test.c joins them in this order. */
extern const struct xcase cases_heap[], cases_alloc[], cases_dma[], cases_vfio[],
	cases_numa[], cases_shared[];
extern const size_t n_cases_heap, n_cases_alloc, n_cases_dma, n_cases_vfio, n_cases_numa,
	n_cases_shared;

#endif /* XMEM_TESTS_ERRORS_TEST_H */
