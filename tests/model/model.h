/* model.h - a reference model (shadow) of xmem's state as seen through the
 * public API, for the stress test (tests/stress) and fuzz targets.
 *
 * The model holds what the caller did: heaps (handle, name, id), memory
 * added to heaps and translation-only registrations ("chunks": va, len, page
 * size, a copy of the per-page IOVA table or none), and every live
 * allocation (ptr, size, align, heap).  It checks what the library answers
 * against that.  It has no global state, never exits and never prints: each
 * function returns XMODEL_OK or the kind of violation found, and writes one
 * line describing it into err (XMODEL_ERR_MAX bytes; err may be NULL).  A
 * call that reports a violation leaves the model consistent (a refused
 * allocation is not recorded, a removal that should have failed keeps its
 * chunk), so a caller may carry on.  All functions are thread-safe (one
 * mutex per model).  Bazel: //tests/model (testonly; a fuzz target that
 * uses it is testonly too).
 *
 * Protocol (why the order matters: the library may hand an address out again
 * the moment it is freed, and may hand out memory the moment it is added):
 *
 *   heap     xmem_heap_create, then xmodel_heap_created.
 *            xmem_heap_destroy, then xmodel_heap_destroyed (rc, errno).
 *            A destroyed heap's handle may be reused at once by another
 *            create: callers that create/destroy from several threads hold
 *            one lock of their own across each call and its record.
 *   add      xmodel_add_begin, xmem_heap_add_memory / xmem_register,
 *            xmodel_add_end (rc, errno).  Between the two the chunk is
 *            "pending": allocations may already come from it.
 *   remove   xmodel_remove_begin, xmem_heap_remove_memory / xmem_unregister,
 *            xmodel_remove_end (rc, errno).  Between the two the chunk is
 *            "removing": allocations may still come from it (the removal
 *            must then fail with EBUSY).  remove_end with success checks that
 *            no allocation the model knows is live in the chunk.
 *   alloc    xmem_alloc / xmem_alloc_bulk / xmem_zalloc, then xmodel_alloc
 *            for each block (bulk: align 0).  Checks, in this order:
 *              XMODEL_OUTSIDE   [p, p + usable) lies inside one chunk added
 *                               to this heap (not removed, not another
 *                               heap's, not translation-only);
 *              XMODEL_REMOVED   (instead of OUTSIDE) it lies in memory that
 *                               was removed and not added again;
 *              XMODEL_OVERLAP   no byte overlaps another live allocation;
 *              XMODEL_ALIGN     p is aligned to align, or for align 0 to
 *                               XMEM_ALIGN_MIN / XMEM_ALIGN_DEFAULT as
 *                               xmem.h defines;
 *              XMODEL_USABLE    xmem_usable_size(p) >= size, and for a block
 *                               of a size class it is that class's size;
 *              XMODEL_IOVA      with an IOVA table: the model's table has no
 *                               discontinuity inside [p, p + usable), and
 *                               xmem_virt2iova of the first and the last
 *                               byte equal the table's values (so they
 *                               differ by usable - 1); without a table both
 *                               are XMEM_BAD_IOVA.
 *            The usable extent is what is checked (and recorded): a block
 *            owns every byte xmem_usable_size says it may use.
 *   free     xmodel_free BEFORE xmem_free / xmem_free_bulk (afterwards the
 *            address may already be handed out again, to another thread).
 *            A pointer the model does not hold live is XMODEL_STATE.
 *   invalid  a deliberate invalid free (xmem_free of memory that is not a
 *            live block): xmodel_note_invalid_free, before or after.
 *
 * With this order every allocation the model holds live is live in the
 * library too, so "live in the model" always implies "live in the library"
 * even while threads run; the converse holds only when no thread is between
 * a library call and its record ("quiescent").
 *
 * Full check (xmodel_check) - quiescent only (no other thread inside xmem
 * or between a call and its record; no chunk pending or removing):
 *   - for every heap: xmem_heap_stats against the model (XMODEL_STATS):
 *     name, id, n_regions, total_bytes, alloc_count (live blocks),
 *     large_count, alloc_bytes (sum of usable sizes), free_bytes
 *     (total - alloc), classes[c].live and .size, and the consistency of
 *     largest_free (<= free_bytes, 4 KiB granular) and of span_bytes
 *     (>= live * size per class; all spans and large blocks fit in
 *     total_bytes).  Objects freed into lcore caches count as given back
 *     (live is "handed out minus given back"), whether or not stats drains
 *     the caches; exact only when quiescent.  Heaps marked
 *     xmodel_heap_inexact are not compared;
 *   - xmem_heap_lookup(name), xmem_heap_from_id(id), xmem_heap_id and
 *     xmem_heap_name agree with the model (XMODEL_HEAP);
 *   - xmem_usable_size of every live block is what was recorded (USABLE);
 *   - xmem_invalid_free_count grew by exactly the noted invalid frees since
 *     xmodel_new, plus at most the possible ones
 *     (xmodel_note_possible_invalid_free) (XMODEL_INVALID_FREE): a valid
 *     free reported as invalid shows up here;
 *   - n_probes random addresses of registered memory: xmem_virt2iova equals
 *     the model's table, and xmem_iova2virt of that IOVA gives an address
 *     that translates back to it; random addresses of recently removed
 *     memory (not added again) translate to XMEM_BAD_IOVA (XMODEL_TRANSLATE).
 *
 * Which blocks count as "large" (stats.large_count): size above
 * XMEM_MAX_CLASS_SIZE, or an alignment above 4 KiB (docs/design.md: "an
 * explicit alignment up to 4 KiB picks the first class that is a multiple
 * of it; anything else is a large block").  Every other block belongs to the
 * class whose object size is its usable size.
 *
 * API stable since the first commit; additions only.
 */
#ifndef XMEM_TESTS_MODEL_H
#define XMEM_TESTS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <xmem/xmem.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XMODEL_ERR_MAX 512

enum xmodel_verdict {
	XMODEL_OK = 0,
	XMODEL_OVERLAP,      /* allocation overlaps a live one */
	XMODEL_OUTSIDE,      /* allocation not inside memory of its heap */
	XMODEL_REMOVED,      /* allocation in memory that was removed */
	XMODEL_ALIGN,        /* alignment not honoured */
	XMODEL_USABLE,       /* usable size wrong */
	XMODEL_IOVA,         /* allocation not IOVA-contiguous / wrong IOVA */
	XMODEL_STATS,        /* xmem_heap_stats disagrees */
	XMODEL_HEAP,         /* heap lookup / id / name / create / destroy wrong */
	XMODEL_BUSY,         /* remove succeeded with live allocations, or a
	                        destroy's result contradicts the model */
	XMODEL_TRANSLATE,    /* xmem_virt2iova / xmem_iova2virt wrong */
	XMODEL_INVALID_FREE, /* invalid-free count differs */
	XMODEL_ERRNO,        /* a failing call set an undocumented errno */
	XMODEL_STATE,        /* the caller broke the protocol (unknown heap,
	                        chunk or pointer; model out of memory) */
};

struct xmodel;

/* A new, empty model; NULL when out of memory.  Notes the library's current
 * invalid-free count as the base for XMODEL_INVALID_FREE. */
struct xmodel *xmodel_new(void);
void xmodel_free_model(struct xmodel *m);

/* The verdict's name, e.g. "OVERLAP". */
const char *xmodel_verdict_name(int v);

/* ---- heaps ----------------------------------------------------------- */

/* After xmem_heap_create(name) returned h (non-NULL). */
int xmodel_heap_created(struct xmodel *m, struct xmem_heap *h,
			const char *name, char *err);

/* After xmem_heap_destroy(h) returned rc (errno err_no).  Checks the
 * result against the model: 0 only for a heap without chunks, -1 EBUSY only
 * for a heap with chunks.  On success the heap leaves the model. */
int xmodel_heap_destroyed(struct xmodel *m, struct xmem_heap *h, int rc,
			  int err_no, char *err);

/* Number of chunks (any state) the model holds for h; -1 for an unknown
 * heap. */
long xmodel_heap_chunks(struct xmodel *m, struct xmem_heap *h);

/* ---- memory ---------------------------------------------------------- */

/* Before xmem_heap_add_memory(h, ...) or, with h NULL, xmem_register(...).
 * iova: the table passed to the library (copied), or NULL.  The arguments
 * must be valid (the model is not an argument checker). */
int xmodel_add_begin(struct xmodel *m, struct xmem_heap *h, void *va,
		     size_t len, const uint64_t *iova, size_t page_size,
		     char *err);
/* After the call returned rc (errno err_no).  Failure drops the chunk;
 * ENOMEM is accepted, any other errno is XMODEL_ERRNO, and an allocation
 * recorded in the chunk meanwhile is XMODEL_OUTSIDE. */
int xmodel_add_end(struct xmodel *m, void *va, int rc, int err_no,
		   char *err);

/* Before xmem_heap_remove_memory(h, va, len) or, with h NULL,
 * xmem_unregister(va, len); (va, len) must be exactly a live chunk of h.
 * *live_out (may be NULL) gets the model's live allocations in it. */
int xmodel_remove_begin(struct xmodel *m, struct xmem_heap *h, void *va,
			size_t len, size_t *live_out, char *err);
/* After the call returned rc (errno err_no).  Success: the chunk goes (and
 * any live allocation in it is XMODEL_BUSY).  Failure: the chunk is live
 * again; EBUSY is accepted for heap memory (the one documented errno a
 * valid removal may get), any other errno is XMODEL_ERRNO.  Whether EBUSY was *required* (the caller's own live
 * block in the chunk) is the caller's judgement: see xmodel_chunk_live. */
int xmodel_remove_end(struct xmodel *m, void *va, int rc, int err_no,
		      char *err);

/* Live allocations the model holds in the chunk starting at va (-1: no
 * such chunk). */
long xmodel_chunk_live(struct xmodel *m, void *va);

/* The IOVA the model expects for address a (XMEM_BAD_IOVA outside chunks
 * or without a table); *known (may be NULL) says whether a is in a chunk. */
uint64_t xmodel_expected_iova(struct xmodel *m, const void *a, int *known);

/* xmem_virt2iova(a) against the model, for an address the caller knows
 * stays registered during the call (its own live block, or a chunk no
 * other thread removes); also xmem_iova2virt round trip. */
int xmodel_probe(struct xmodel *m, const void *a, char *err);

/* ---- allocations ----------------------------------------------------- */

/* After the library returned p for (h, size, align). */
int xmodel_alloc(struct xmodel *m, struct xmem_heap *h, void *p, size_t size,
		 size_t align, char *err);

/* Before xmem_free(p).  *heap_out / *usable_out (may be NULL) get the
 * block's heap and usable size. */
int xmodel_free(struct xmodel *m, void *p, struct xmem_heap **heap_out,
		size_t *usable_out, char *err);

/* A deliberate invalid free that the library must report (count it). */
void xmodel_note_invalid_free(struct xmodel *m, unsigned n);

/* Reports the library may or may not make (e.g. duplicates of a double
 * free outside checked mode, reported when the caches are drained): the
 * full check then accepts an invalid-free count from the noted number up to
 * n more.  (Addition: the V2 fuzz ops.) */
void xmodel_note_possible_invalid_free(struct xmodel *m, unsigned n);

/* The caller broke h's accounting on purpose (a double free outside checked
 * mode): from now on the full check calls xmem_heap_stats(h) but does not
 * compare its counts.  XMODEL_STATE for an unknown heap.  (Addition.) */
int xmodel_heap_inexact(struct xmodel *m, struct xmem_heap *h);

/* One more errno a failed removal (heap memory or registration) may give,
 * 0 for none: EIO while a DMA subscriber's unmap fails.  Whether it was
 * required is the caller's judgement.  (Addition.) */
void xmodel_set_remove_errno_ok(struct xmodel *m, int err_no);

/* Live allocations / chunks in the model. */
size_t xmodel_live_count(struct xmodel *m);
size_t xmodel_chunk_count(struct xmodel *m);

/* ---- full check (quiescent) ------------------------------------------ */

/* Everything listed at the top.  rng: the caller's PRNG state (splitmix64
 * is used on it), so a seeded run stays reproducible. */
int xmodel_check(struct xmodel *m, uint64_t *rng, unsigned n_probes,
		 char *err);

/* Stats of one heap against the model: what xmodel_check does per heap,
 * for stats obtained by the caller (or fabricated, to test the model). */
int xmodel_compare_stats(struct xmodel *m, struct xmem_heap *h,
			 const struct xmem_heap_stats *got, char *err);

/* What the model expects xmem_heap_stats(h) to report in the accounting
 * fields (name, id, n_regions, total_bytes, alloc_bytes, free_bytes,
 * alloc_count, large_count, classes[].size/.live; the rest zero).
 * XMODEL_STATE for an unknown heap. */
int xmodel_expected_stats(struct xmodel *m, struct xmem_heap *h,
			  struct xmem_heap_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_TESTS_MODEL_H */
