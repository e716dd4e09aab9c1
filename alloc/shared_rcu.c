/* shared_rcu.c - read sections that a writer in another process can wait
 * for.  liburcu's grace periods see only the threads of their own process,
 * so in a domain every read section also publishes, in a reader slot of the
 * domain header, the domain epoch it entered with, and every grace period
 * also waits until each slot is outside (0) or entered after it began.
 *
 * Ordering (Dekker's pattern, fences on both sides):
 *  - reader: slot = epoch (relaxed), seq_cst fence, then its reads; the
 *    epoch is loaded with acquire, so a reader that sees the bumped epoch
 *    sees what the writer unpublished before bumping it;
 *  - writer: its unpublishing stores, a seq_cst fetch_add of the epoch and
 *    a seq_cst fence, then the slot loads.  Either the writer sees the
 *    slot (and waits for it), or the reader's reads come after the fence
 *    and see the unpublished state;
 *  - reader exit stores 0 with release; the writer's acquire load of 0 puts
 *    every read of the section before what the writer does next.
 * Slots of members that are gone are skipped (their process cannot read
 * any more) and freed by xmem_shared_reap.  Readers never wait for a
 * writer; a thread waits only to get a slot when all XM_DOM_READERS are
 * taken (yielding until one is freed). */
#include <sched.h>
#include <time.h>

#include "shared.h"
#include "state.h"

/* This thread's slot (index + 1, 0: none yet) and nesting depth. */
static __thread unsigned xm_rd_slot;
static __thread unsigned xm_rd_depth;

static struct xm_reader *xm_rd_claim(void)
{
	for (;;) {
		for (unsigned i = 0; i < XM_DOM_READERS; i++) {
			uint32_t z = 0;
			if (atomic_compare_exchange_strong_explicit(
				    &xm_dom->readers[i].owner, &z, xm_member_tag,
				    memory_order_relaxed, memory_order_relaxed)) {
				xm_rd_slot = i + 1;
				return &xm_dom->readers[i];
			}
		}
		sched_yield();
	}
}

void xm_dom_read_lock(void)
{
	if (xm_rd_depth++)
		return;
	struct xm_reader *r = xm_rd_slot ? &xm_dom->readers[xm_rd_slot - 1] :
					   xm_rd_claim();
	uint64_t e = atomic_load_explicit(&xm_dom->epoch, memory_order_acquire);
	atomic_store_explicit(&r->epoch, e, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
}

void xm_dom_read_unlock(void)
{
	if (--xm_rd_depth)
		return;
	atomic_store_explicit(&xm_dom->readers[xm_rd_slot - 1].epoch, 0,
			      memory_order_release);
}

void xm_dom_reader_exit(void)
{
	if (!xm_dom || !xm_rd_slot)
		return;
	atomic_store_explicit(&xm_dom->readers[xm_rd_slot - 1].owner, 0,
			      memory_order_release);
	xm_rd_slot = 0;
}

void xm_dom_readers_reap(uint32_t tag)
{
	for (unsigned i = 0; i < XM_DOM_READERS; i++) {
		struct xm_reader *r = &xm_dom->readers[i];
		uint32_t t = atomic_load_explicit(&r->owner, memory_order_relaxed);
		/* tag 0: every orphan (its member's slot is gone). */
		if (t && (t == tag || (tag == 0 && !xm_member_of_tag(t)))) {
			atomic_store_explicit(&r->epoch, 0, memory_order_relaxed);
			atomic_store_explicit(&r->owner, 0, memory_order_release);
		}
	}
}

/* Is the member that holds reader slot r gone?  Checked only after a
 * reader has kept a writer waiting for a while. */
static bool xm_rd_owner_gone(const struct xm_reader *r)
{
	const struct xm_member *m = xm_member_of_tag(
		atomic_load_explicit(&r->owner, memory_order_relaxed));
	return !m || !xm_member_alive(m);
}

void xm_dom_synchronize(void)
{
	uint64_t next = atomic_fetch_add(&xm_dom->epoch, 1) + 1;
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < XM_DOM_READERS; i++) {
		struct xm_reader *r = &xm_dom->readers[i];
		for (unsigned spins = 0;; spins++) {
			uint64_t e = atomic_load_explicit(&r->epoch,
							  memory_order_acquire);
			if (e == 0 || e >= next)
				break;
			if (spins >= 1000 && spins % 1000 == 0 &&
			    xm_rd_owner_gone(r))
				break;
			sched_yield();
		}
	}
}
