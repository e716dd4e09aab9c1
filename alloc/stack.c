/* stack.c - push and pop on ck stacks (stack.h).
 *
 * ThreadSanitizer cannot see ck's atomics (inline assembly on x86-64).  In
 * TSan builds the accesses ck makes inside push and pop are ignored, and the
 * ordering its CAS chain really provides is declared instead: every push
 * releases the stack, every pop acquires it.  That is exact: pushes and pops
 * are read-modify-writes of the same head word, so each pop reads from the
 * release sequence of every earlier push.  Accesses outside ck (the nodes'
 * contents) stay fully checked. */
#include <ck_pr.h>

#include "stack.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
void AnnotateIgnoreReadsBegin(const char *f, int l);
void AnnotateIgnoreReadsEnd(const char *f, int l);
void AnnotateIgnoreWritesBegin(const char *f, int l);
void AnnotateIgnoreWritesEnd(const char *f, int l);
#define XM_CK_BEGIN(st)                                                    \
	do {                                                               \
		__tsan_release(st);                                        \
		AnnotateIgnoreReadsBegin(__FILE__, __LINE__);              \
		AnnotateIgnoreWritesBegin(__FILE__, __LINE__);             \
	} while (0)
#define XM_CK_END(st)                                                      \
	do {                                                               \
		AnnotateIgnoreWritesEnd(__FILE__, __LINE__);               \
		AnnotateIgnoreReadsEnd(__FILE__, __LINE__);                \
		__tsan_acquire(st);                                        \
	} while (0)
#else
#define XM_CK_BEGIN(st) ((void)(st))
#define XM_CK_END(st)   ((void)(st))
#endif

void xm_stack_init(struct xm_stack *st)
{
	st->s.head = NULL;
	st->s.generation = (char *)(uintptr_t)1;
}

void xm_stack_push(struct xm_stack *st, void *node)
{
#if defined(__SANITIZE_THREAD__)
	__tsan_release(node);   /* for walkers: xm_stack_node_acquire */
#endif
	XM_CK_BEGIN(st);
	ck_stack_push_mpmc(&st->s, node);   /* release: the node's contents */
	XM_CK_END(st);
}

void *xm_stack_pop(struct xm_stack *st)
{
	XM_CK_BEGIN(st);
	ck_stack_entry_t *e = ck_stack_pop_mpmc(&st->s);   /* acquire */
	XM_CK_END(st);
	return e;
}
