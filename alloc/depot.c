/* depot.c - the pool of empty magazines (depot.h).  Full magazines live in
 * each heap's depot stacks (heap.h); this file only hands out and takes back
 * empty ones. */
#include <errno.h>

#include "depot.h"
#include "state.h"
#include "meta.h"

struct xm_mag *xm_mag_get(void)
{
	/* A pooled magazine counts as a metadata allocation (meta.h). */
	if (unlikely(xm_meta_fault())) {
		errno = ENOMEM;
		return NULL;
	}
	struct xm_mag *m = xm_stack_pop(&xm_st.mag_pool);
	if (likely(m))
		return m;
	return xm_meta_zalloc(sizeof(struct xm_mag));
}

void xm_mag_put(struct xm_mag *m)
{
	m->n = 0;
	xm_stack_push(&xm_st.mag_pool, m);
}
