/* xm_common.h - small definitions every part of the core shares: branch
 * hints, the 4 KiB allocation unit, bit tricks and the RCU wrappers. */
#ifndef XM_COMMON_H
#define XM_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xmem/xmem.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* On the exported calls whose common case is inline in them (xmem_alloc,
 * xmem_alloc_bulk, xmem_free, xmem_free_bulk): that case's instructions
 * (under 256 bytes from the entry) then never straddle a 4 KiB page.
 * Where the free path's did, a loop of bursts of one ran at 1.32-1.37x
 * rte_mempool's time instead of 1.22-1.26x (docs/benchmarks.md). */
#define XM_ENTRY_ALIGN __attribute__((aligned(256)))

/* The allocation unit: spans and large blocks are whole units.  Every region
 * page size is a multiple of it, so units never straddle pages. */
#define XM_UNIT_SHIFT 12
#define XM_UNIT       ((size_t)1 << XM_UNIT_SHIFT)

static inline bool xm_is_pow2(size_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static inline uintptr_t xm_align_up(uintptr_t x, size_t a)
{
	return (x + a - 1) & ~(uintptr_t)(a - 1);
}

static inline size_t xm_div_ceil(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/* RCU (liburcu-memb) read side.  Threads are registered with liburcu on
 * their first read section and unregistered when they exit. */
void xm_rcu_read_lock(void);
void xm_rcu_read_unlock(void);
void xm_rcu_synchronize(void);

/* Publish and read RCU-protected pointers.  The semantics of liburcu's
 * rcu_assign_pointer (release) and rcu_dereference (dependency-ordered; we
 * use acquire, free on x86-64), written as C11 atomics so that
 * ThreadSanitizer sees them. */
#define xm_rcu_publish(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define xm_rcu_deref(p)      __atomic_load_n(&(p), __ATOMIC_ACQUIRE)

/* The control mutex: every writer of heaps, regions and the translation
 * tables holds it.  Lock order: control -> heap -> metadata allocator. */
void xm_ctl_lock(void);
void xm_ctl_unlock(void);

/* Log one line through the user's hook (stderr by default). */
void xm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a pointer handed to a free-like call that is not a live block:
 * counts it, logs it and sets errno to EINVAL. */
void xm_report_invalid(const char *fn, const void *p, const char *why);

/* Control-plane failure reports: every failed control-plane call logs one
 * line, "xmem: <call>: <cause> (<ERRNO>)".  A public control-plane function
 * brackets its work with xm_ctl_enter() and xm_ctl_exit(failed, call); the
 * code that finds the cause (a bad argument, the heap a range overlaps)
 * records it with xm_cause() and sets errno as before.  Only the outermost
 * call of a thread logs (a public function calling another logs once,
 * under its own name), with the first cause recorded, or strerror(errno)
 * when none was.  The state is per thread.  Never on the data path. */
void xm_ctl_enter(void);
void xm_ctl_exit(bool failed, const char *call);
void xm_cause(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
