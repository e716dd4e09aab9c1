/* fuzz.h - what the files of the fuzz target share: the per-process and
 * per-input state, the failure macros, the helpers of api_fuzz.c and every
 * op's entry point.  Who owns what:
 *
 *   api_fuzz.c   state, helpers (live set, frees, reports), the op table,
 *                reset and LLVMFuzzerTestOneInput
 *   ops_mem.c    heaps and memory: create, destroy, add, remove, lookup
 *   ops_alloc.c  alloc, free, free_bulk, wild frees, usable_size, probes,
 *                the full check, checked mode, trim
 *   ops_v2.c     the second release's contract (XMEM_FUZZ_V2=1): bad frees
 *                in every mode (interiors, span slack, large middles),
 *                double frees outside checked mode, stats that do not drain
 *                and trim
 *   ops_dma.c    the target's own DMA subscriber (whose unmap can fail or
 *                report a short size) and its op (XMEM_FUZZ_V2=1)
 */
#ifndef XMEM_TESTS_FUZZ_FUZZ_H
#define XMEM_TESTS_FUZZ_FUZZ_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#include "tests/model/model.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define PAGE4K ((size_t)4096)
#define PAGE2M (2 * MiB)

#define N_CHUNKS 4
#define CHUNK (4 * MiB)
#define GAP PAGE2M
#define MAX_OPS 96
#define MAX_LIVE 512
#define MAX_RECS 16
#define N_FREED 32
#define N_DUPS 16

/* IOVA space of chunk c's tables: disjoint for every chunk (2^38 each). */
#define IOVA_BASE(c) (((uint64_t)1 << 40) + (uint64_t)(c) * ((uint64_t)1 << 38))

struct live {
	void *p;
	size_t size, align, usable;
	int slot;
	bool alias;     /* a double-freed address handed out again (outside
	                   checked mode): not in the model, and its memory may
	                   belong to other blocks too, so no interior pointer
	                   of it is a sure bad free */
};

struct rec {           /* memory added (slot 0/1) or registered (slot -1) */
	char *va;
	size_t len;
	int slot;
	size_t ps;
	uint64_t *iova;     /* copy of the table the region got, or NULL */
};

struct fz_global {
	char *arena;                    /* N_CHUNKS x (GAP + CHUNK) + GAP */
	int bug_double_free;
	int trace;                      /* XMEM_FUZZ_TRACE=1: print each op */
	int iova_overlap;               /* unless XMEM_FUZZ_IOVA_DISJOINT=1 */
	int v2;                         /* XMEM_FUZZ_V2=1: the V2 ops */
	unsigned long inputs;
};

struct fz_state {
	struct xmodel *m;
	struct xmem_heap *heap[2];
	char name[2][XMEM_HEAP_NAME_MAX];
	struct xmem_heap *dead;         /* a destroyed handle, or NULL */
	struct rec recs[MAX_RECS];
	int n_recs;
	struct live live[MAX_LIVE];
	int n_live;
	void *freed[N_FREED];           /* recently freed pointers (ring) */
	unsigned n_freed;
	int checked;
	uint64_t rng;
	unsigned names;
	unsigned invalid;               /* invalid frees made by this input */
	/* Double frees outside checked mode (V2): the addresses, how many
	 * frees of them may have been duplicates, the heaps whose counts
	 * are no longer exact. */
	void *dups[N_DUPS];
	int n_dups;
	unsigned dup_frees;
	bool tainted[2];
	const uint8_t *in;
	size_t in_len, pos;
	unsigned op_no;
};

extern struct fz_global FZG;
extern struct fz_state FZS;
#define G FZG
#define S FZS

extern unsigned long fz_log_lines;      /* lines through xmem_set_log */
extern char merr[XMODEL_ERR_MAX];

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define MODEL(call)                                                              \
	do {                                                                     \
		merr[0] = '\0';                                                  \
		int v_ = (call);                                                 \
		if (v_ != XMODEL_OK)                                             \
			die("model %s: %s (%s)", xmodel_verdict_name(v_), merr, #call); \
	} while (0)

/* A call that must fail with exactly errno e (pointer or int result). */
#define MUST_FAIL(failed_expr, e, what)                                          \
	do {                                                                     \
		errno = 0;                                                       \
		bool f_ = (failed_expr);                                         \
		int er_ = errno;                                                 \
		if (!f_ || er_ != (e))                                           \
			die("%s: %s, errno %d (%s), expected %s", (what),        \
			    f_ ? "failed" : "succeeded", er_, strerror(er_), #e); \
	} while (0)

/* ---- api_fuzz.c ---- */
uint8_t byte(void);
char *chunk_va(int c);
bool overlaps_rec(const char *va, size_t len);
int rec_at(const char *a);
int live_find(const void *p);
bool is_large(const struct live *l);
struct xmem_heap *bad_heap(uint8_t sel);
void free_live(int i, bool bulk);
void record_alloc(struct xmem_heap *h, int slot, void *p, size_t size, size_t align);
/* Take live entry i out of the live set (and the model): the caller frees
 * it in the library right after.  Returns it. */
struct live take_live(int i);
bool is_dup(const void *p);
/* Around a call that must report n invalid frees: snapshot, then check (a
 * tainted input allows up to S.dup_frees more reports). */
struct reports { uint64_t count; unsigned long lines; };
struct reports reports_now(void);
void expect_reports(struct reports before, unsigned n, const char *what);
/* A bad pointer handed to free / free_bulk (with live blocks around it) /
 * usable_size, by how % 3; it must be reported and change nothing. */
void bad_pointer(void *p, unsigned how, uint8_t sel, const char *what);
void reset_heaps_and_memory(void);

/* ---- ops ---- */
void op_create(void);
void op_destroy(void);
void op_add(void);
void op_remove(void);
void op_lookup(void);
void op_alloc(void);
void op_free(void);
void op_free_bulk(void);
void op_wild(void);
void op_usable(void);
void op_probe(void);
void op_check(void);
void op_checked(void);
void op_trim(void);
void op_bad_free(void);
void op_double_free(void);
void op_stats_trim(void);
void op_dma(void);
/* ops_mem.c: remove / unregister rec i with every check (EBUSY, EIO). */
void remove_rec(int i, uint8_t b);

/* ---- ops_dma.c: the subscriber, as removal sees it ---- */
/* Will removing rec i fail with EIO (the subscriber fails an unmap the
 * removal makes)?  Advances nothing. */
bool dma_remove_fails(int i);
/* Snapshot of the subscriber (mappings, events) / the check that a failed
 * call changed nothing; dma_check: the subscriber against the records. */
void dma_snapshot(void);
void dma_same_as_snapshot(const char *what);
void dma_check(const char *what);
void dma_disarm(void);
void dma_reset(void);
/* Records rec i's table (copied) for the subscriber's expectations. */
void rec_set_table(struct rec *r, const uint64_t *t);

#endif /* XMEM_TESTS_FUZZ_FUZZ_H */
