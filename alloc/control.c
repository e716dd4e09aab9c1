/* control.c - process-wide plumbing: the control mutex (in state.h's
 * struct, so shared in a domain), liburcu thread registration for the RCU
 * read side (plus the domain's read sections, shared_rcu.c), the log hook,
 * invalid-pointer reports and the one-line reports of failed control-plane
 * calls. */
/* No _LGPL_SOURCE: read sections call into liburcu-memb rather than inline
 * it.  They are on control-plane lookups only, and ThreadSanitizer builds
 * then see none of liburcu's internal accesses (see below). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "shared.h"
#include "state.h"
#include "xm_common.h"

/* In a domain, also map the files other members added (cheap when none:
 * one load of their generation), and reap when the last holder died. */
void xm_ctl_lock(void)
{
	bool holder_died = xm_mutex_lock(&xm_st.ctl_mu);
	if (unlikely(xm_dom)) {
		if (holder_died)
			xm_dom_reap_locked();
		xm_dom_sync_files();
	}
}
void xm_ctl_unlock(void) { pthread_mutex_unlock(&xm_st.ctl_mu); }

/* liburcu-memb readers must be registered.  A thread registers on its first
 * read section; the key's destructor unregisters it when the thread exits. */
static pthread_key_t  xm_rcu_key;
static pthread_once_t xm_rcu_once = PTHREAD_ONCE_INIT;
static __thread bool  xm_rcu_registered;

static void xm_rcu_thread_exit(void *arg)
{
	(void)arg;
	xm_dom_reader_exit();
	urcu_memb_unregister_thread();
	xm_rcu_registered = false;
}

static void xm_rcu_init(void)
{
	pthread_key_create(&xm_rcu_key, xm_rcu_thread_exit);
}

void xm_rcu_read_lock(void)
{
	if (unlikely(!xm_rcu_registered)) {
		pthread_once(&xm_rcu_once, xm_rcu_init);
		urcu_memb_register_thread();
		pthread_setspecific(xm_rcu_key, (void *)1);
		xm_rcu_registered = true;
	}
	urcu_memb_read_lock();
	if (unlikely(xm_dom))
		xm_dom_read_lock();   /* readers of other members (shared_rcu.c) */
}

/* ThreadSanitizer cannot see how liburcu-memb orders a grace period after
 * the read sections it waits for (membarrier and per-thread counters).  In
 * TSan builds that guarantee is declared: every read section releases a
 * token on exit and a grace period acquires it, so whatever a reader did
 * happens before the writer frees what it read. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
static char xm_rcu_tsan_token;
#define XM_RCU_TSAN_RELEASE() __tsan_release(&xm_rcu_tsan_token)
#define XM_RCU_TSAN_ACQUIRE() __tsan_acquire(&xm_rcu_tsan_token)
#else
#define XM_RCU_TSAN_RELEASE() ((void)0)
#define XM_RCU_TSAN_ACQUIRE() ((void)0)
#endif

void xm_rcu_read_unlock(void)
{
	if (unlikely(xm_dom))
		xm_dom_read_unlock();
	XM_RCU_TSAN_RELEASE();
	urcu_memb_read_unlock();
}

void xm_rcu_synchronize(void)
{
	/* liburcu's grace period may leave errno set (its futex wait);
	 * callers wait on their way out, failures included, and keep theirs. */
	int e = errno;
	urcu_memb_synchronize_rcu();
	if (unlikely(xm_dom))
		xm_dom_synchronize();
	errno = e;
	XM_RCU_TSAN_ACQUIRE();
}

/* The hook is read on every report and written by xmem_set_log: relaxed is
 * enough, a report uses whichever hook it sees. */
static _Atomic(xmem_log_fn) xm_log_hook;
static _Atomic uint64_t xm_invalid_frees;

void xmem_set_log(xmem_log_fn fn)
{
	atomic_store_explicit(&xm_log_hook, fn, memory_order_relaxed);
}

void xm_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	xmem_log_fn fn = atomic_load_explicit(&xm_log_hook, memory_order_relaxed);
	if (fn)
		fn(line);
	else
		fprintf(stderr, "%s\n", line);
}

/* This thread's control-plane call: nesting depth and the first cause
 * recorded (empty: none).  Thread-local, so no ordering to speak of. */
static __thread unsigned xm_ctl_depth;
static __thread char xm_ctl_cause[192];

void xm_ctl_enter(void)
{
	if (xm_ctl_depth++ == 0)
		xm_ctl_cause[0] = '\0';
}

void xm_cause(const char *fmt, ...)
{
	if (xm_ctl_cause[0])
		return;   /* the first cause found is the one reported */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(xm_ctl_cause, sizeof(xm_ctl_cause), fmt, ap);
	va_end(ap);
}

static const char *xm_errno_name(int e)
{
	switch (e) {
	case EINVAL:  return "EINVAL";
	case EEXIST:  return "EEXIST";
	case ENOENT:  return "ENOENT";
	case ENOMEM:  return "ENOMEM";
	case ENOSPC:  return "ENOSPC";
	case EBUSY:   return "EBUSY";
	case EIO:     return "EIO";
	case EPERM:   return "EPERM";
	case EFAULT:  return "EFAULT";
	case EACCES:  return "EACCES";
	case ENODEV:  return "ENODEV";
	case EPROTO:  return "EPROTO";
	case ENOTSUP: return "ENOTSUP";
	case EXDEV:   return "EXDEV";
	case EBADF:   return "EBADF";  /* device memory: a closed fd */
	case ENOTTY:  return "ENOTTY"; /* device memory: not a VFIO device */
	case E2BIG:   return "E2BIG";  /* iommufd: a group with too many devices */
	case ENXIO:   return "ENXIO";  /* device memory: past the end of a dma-buf */
	case EADDRINUSE: return "EADDRINUSE";
	default:      return "errno";
	}
}

void xm_ctl_exit(bool failed, const char *call)
{
	if (--xm_ctl_depth != 0)
		return;
	if (failed) {
		int e = errno;
		if (xm_ctl_cause[0])
			xm_log("xmem: %s: %s (%s)", call, xm_ctl_cause,
			       xm_errno_name(e));
		else
			xm_log("xmem: %s: %s (%s)", call, strerror(e),
			       xm_errno_name(e));
		errno = e;
	}
	xm_ctl_cause[0] = '\0';
}

void xm_report_invalid(const char *fn, const void *p, const char *why)
{
	atomic_fetch_add_explicit(&xm_invalid_frees, 1, memory_order_relaxed);
	xm_log("xmem: %s(%p): %s; ignored", fn, p, why);
	errno = EINVAL;
}

uint64_t xmem_invalid_free_count(void)
{
	return atomic_load_explicit(&xm_invalid_frees, memory_order_relaxed);
}
