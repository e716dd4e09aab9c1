/* depot.h - magazines and the per-heap, per-class depot: lock-free stacks of
 * full magazines (ck_stack, ABA-safe mpmc pop with a generation counter),
 * plus one stack of empty magazines per heap for reuse.
 *
 * Magazines come from the metadata allocator and are never unmapped, which
 * is what makes ck's pop safe: it may read the next pointer of a magazine
 * another thread has just popped; the generation check then fails its CAS. */
#ifndef XM_DEPOT_H
#define XM_DEPOT_H

#include <ck_stack.h>

#include "xm_common.h"

/* Objects per magazine, per class (xm_class_mag): 128 for classes up to
 * 2 KiB, then as many as fit 256 KiB, but never fewer than 32 (one burst).
 * One depot operation per magazine, so the larger the magazine, the rarer
 * the shared cache line moves between cores: a cross-core pipeline pays
 * two CAS per 128 objects per side. */
#define XM_MAG_MIN   32
#define XM_MAG_MAX   128
#define XM_MAG_BYTES (256u << 10)

struct xm_mag {
	ck_stack_entry_t link;  /* first: the stack links through it */
	uint32_t n;
	void *objs[XM_MAG_MAX];
};

/* ck_stack_t needs 16-byte alignment for its double-width CAS but does not
 * declare it. */
struct xm_stack {
	ck_stack_t s;
} __attribute__((aligned(16)));

/* An empty stack.  ck's ABA generation counter is a char pointer that pop
 * bumps with `+ 1`; ck_stack_init starts it at NULL, and NULL + 1 is
 * undefined behaviour (clang's UBSan reports it).  It starts at 1 here: the
 * counter is never dereferenced, and 2^64 pops never wrap it. */
void xm_stack_init(struct xm_stack *st);

/* One CAS each. */
void           xm_stack_push(struct xm_stack *st, struct xm_mag *m);
struct xm_mag *xm_stack_pop(struct xm_stack *st);

/* An empty magazine from empties, else a new one; NULL on ENOMEM. */
struct xm_mag *xm_mag_get(struct xm_stack *empties);

#endif
