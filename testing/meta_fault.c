/* meta_fault.c - owns the metadata fault injection of the test library: a
 * countdown to the counted metadata allocation (alloc/meta.h) that fails
 * with ENOMEM, once or from then on.  It drives the core through the one
 * hook the core exposes (xm_meta_fault_hook); the core never calls in here.
 * API in testing/xmem_test.h. */
#include <stdatomic.h>
#include <stdbool.h>

#include "alloc/meta.h"
#include "testing/xmem_test.h"

/* The countdown to the allocation that fails, whether every later one fails
 * too, and how many have failed since the fault was armed.  Arming is not
 * meant to race with allocation; the countdown itself is a CAS loop so that
 * concurrent allocations consume it exactly once each.  Relaxed: no other
 * memory is published through them. */
static _Atomic long xm_fail_at;
static _Atomic bool xm_fail_sticky;
static _Atomic long xm_fail_count;

/* The hook: one counted allocation, true when it must fail. */
static bool xm_fail_check(void)
{
	long at = atomic_load_explicit(&xm_fail_at, memory_order_relaxed);
	while (at > 0) {
		long next = at > 1 ? at - 1 :
			atomic_load_explicit(&xm_fail_sticky,
					     memory_order_relaxed) ? 1 : 0;
		if (at > 1 && next == at - 1) {
			if (atomic_compare_exchange_weak_explicit(
				    &xm_fail_at, &at, next,
				    memory_order_relaxed, memory_order_relaxed))
				return false;
			continue;
		}
		/* at == 1: this one fails; a one-shot fault disarms. */
		if (next == 1 || atomic_compare_exchange_weak_explicit(
					 &xm_fail_at, &at, 0,
					 memory_order_relaxed, memory_order_relaxed)) {
			atomic_fetch_add_explicit(&xm_fail_count, 1,
						  memory_order_relaxed);
			return true;
		}
	}
	return false;
}

static void xm_fail_arm(long n, bool sticky)
{
	atomic_store_explicit(&xm_fail_count, 0, memory_order_relaxed);
	atomic_store_explicit(&xm_fail_sticky, sticky && n > 0,
			      memory_order_relaxed);
	atomic_store_explicit(&xm_fail_at, n > 0 ? n : 0, memory_order_relaxed);
	/* Disarmed, the core's check is one load of a NULL hook.  A thread
	 * that still calls the old hook finds xm_fail_at 0: nothing fails. */
	atomic_store_explicit(&xm_meta_fault_hook, n > 0 ? xm_fail_check : NULL,
			      memory_order_relaxed);
}

void xm_meta_fail_nth(long n)  { xm_fail_arm(n, false); }
void xm_meta_fail_from(long n) { xm_fail_arm(n, true); }

long xm_meta_fail_fired(void)
{
	return atomic_load_explicit(&xm_fail_count, memory_order_relaxed);
}

bool xm_meta_fail_pending(void)
{
	return atomic_load_explicit(&xm_fail_at, memory_order_relaxed) > 0 &&
	       atomic_load_explicit(&xm_fail_count, memory_order_relaxed) == 0;
}
