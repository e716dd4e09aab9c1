/* depot.h - magazines: fixed arrays of object pointers that move between an
 * lcore's cache and its heap's depot (one lock-free stack of full magazines
 * per heap and class) with one CAS each, and the process-wide pool of empty
 * magazines.
 *
 * Magazines are type-stable: they come from the metadata allocator and are
 * never given back to it, only to the pool, so a racing pop that reads a
 * stale magazine reads a magazine. */
#ifndef XM_DEPOT_H
#define XM_DEPOT_H

#include "stack.h"

/* Objects per magazine, per class (xm_class_mag): 128 for classes up to
 * 2 KiB, then as many as fit 256 KiB, but never fewer than 32 (one burst).
 * One depot operation per magazine, so the larger the magazine, the rarer
 * the shared cache line moves between cores: a cross-core pipeline pays
 * two CAS per 128 objects per side.  A magazine in a depot may hold fewer
 * objects than its class's size (never more). */
#define XM_MAG_MIN   32
#define XM_MAG_MAX   128
#define XM_MAG_BYTES (256u << 10)

struct xm_mag {
	ck_stack_entry_t link;  /* first: the stacks link through it */
	uint32_t n;
	void *objs[XM_MAG_MAX];
};

/* An empty magazine from the pool, else a new one; NULL on ENOMEM. */
struct xm_mag *xm_mag_get(void);
/* Back to the pool (its n is reset). */
void xm_mag_put(struct xm_mag *m);

#endif
