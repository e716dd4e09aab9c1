/* stack.h - the one lock-free stack of the core: ck_stack's ABA-safe mpmc
 * push and pop (a generation counter beside the head, one double-width CAS
 * each), wrapped so that every user shares the ThreadSanitizer annotations
 * and the 16-byte alignment ck does not declare.
 *
 * Users: the depot (full magazines per heap and class), the pool of empty
 * magazines, the metadata allocator's free lists, the span descriptor pool
 * and each class's stack of spans with free objects.
 *
 * Safety of pop: it may read the link of a node that another thread has just
 * popped and is reusing; the generation check then fails the CAS.  That read
 * must not fault, so every node lives in metadata memory, which is never
 * unmapped (meta.h). */
#ifndef XM_STACK_H
#define XM_STACK_H

#include <ck_stack.h>

#include "xm_common.h"

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

/* One CAS each.  A node is any metadata object whose first member is a
 * ck_stack_entry_t.  Push releases the node's contents; pop acquires them. */
void  xm_stack_push(struct xm_stack *st, void *node);
void *xm_stack_pop(struct xm_stack *st);

/* For a reader that walks a stack's links without popping (xmem_pool_count)
 * and may follow a link into a node pushed after the walk began, on this
 * or another stack: call it on each node reached, before reading the node.
 * On x86-64 the hardware already orders the link's load before the node's
 * loads; this says so to ThreadSanitizer, pairing with the release of the
 * node that every push makes in TSan builds (stack.c).  Nothing elsewhere. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
static inline void xm_stack_node_acquire(const void *node)
{
	__tsan_acquire((void *)node);
}
#else
static inline void xm_stack_node_acquire(const void *node)
{
	(void)node;
}
#endif

#endif
