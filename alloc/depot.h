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

#define XM_MAG 32               /* objects per magazine: one burst */

struct xm_mag {
	ck_stack_entry_t link;  /* first: the stack links through it */
	uint32_t n;
	void *objs[XM_MAG];
};

/* ck_stack_t needs 16-byte alignment for its double-width CAS but does not
 * declare it. */
struct xm_stack {
	ck_stack_t s;
} __attribute__((aligned(16)));

/* One CAS each. */
void           xm_stack_push(struct xm_stack *st, struct xm_mag *m);
struct xm_mag *xm_stack_pop(struct xm_stack *st);

/* An empty magazine from empties, else a new one; NULL on ENOMEM. */
struct xm_mag *xm_mag_get(struct xm_stack *empties);

#endif
