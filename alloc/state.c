/* state.c - the process-global state (state.h): its one definition, its
 * initialisation, and the mutexes that may live in shared state. */
#include <errno.h>
#include <string.h>

#include "state.h"

struct xm_state xm_st;
uint32_t xm_member_tag = 1;

void xm_state_init(struct xm_state *st, bool pshared)
{
	memset(st, 0, sizeof(*st));
	xm_mutex_init(&st->ctl_mu, pshared);
	for (int c = 0; c < XM_META_CLASSES; c++)
		xm_stack_init(&st->meta_lists[c]);
	for (int i = 0; i < XM_DESC_POOLS; i++)
		xm_stack_init(&st->desc_pool[i]);
	xm_stack_init(&st->limbo);
	xm_stack_init(&st->mag_pool);
	for (int i = 0; i < XMEM_MAX_LCORES; i++)
		st->lcores[i].id = i;
}

/* Before any other constructor of the library can allocate metadata. */
__attribute__((constructor(101))) static void xm_state_boot(void)
{
	xm_state_init(&xm_st, false);
}

int xm_mutex_init(pthread_mutex_t *m, bool pshared)
{
	if (!pshared)
		return pthread_mutex_init(m, NULL);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	int rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return rc;
}

bool xm_mutex_lock(pthread_mutex_t *m)
{
	if (__builtin_expect(pthread_mutex_lock(m) != EOWNERDEAD, 1))
		return false;
	/* The holder died inside; what it was doing is either not yet
	 * visible or complete (publish steps are ordered so), or leaked. */
	pthread_mutex_consistent(m);
	return true;
}

void xm_mutex_tidy(pthread_mutex_t *m)
{
	int rc = pthread_mutex_trylock(m);
	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(m);
	if (rc == 0 || rc == EOWNERDEAD)
		pthread_mutex_unlock(m);
}
