/* xm_dpdk.h - what the files of libxmem_dpdk share: the error convention
 * and the lazy lcore binding of EAL threads. */
#ifndef XM_DPDK_H
#define XM_DPDK_H

#include <errno.h>

#include <rte_errno.h>

/* Fail with e in both rte_errno and errno (xmem_dpdk.h). */
static inline void xm_dpdk_err(int e)
{
	rte_errno = e;
	errno = e;
}

/* Bind the calling EAL thread to xmem lcore rte_lcore_id() once (lcore.c);
 * one thread-local load after the first call.  Initial-exec TLS: no
 * __tls_get_addr call per dequeue; the library is loaded with dlopen (-d)
 * too, and glibc's static TLS surplus holds these 4 bytes. */
extern __thread int xm_dpdk_lcore_seen
	__attribute__((visibility("hidden"), tls_model("initial-exec")));
void xm_dpdk_lcore_follow_slow(void);

static inline void xm_dpdk_lcore_follow(void)
{
	if (__builtin_expect(!xm_dpdk_lcore_seen, 0))
		xm_dpdk_lcore_follow_slow();
}

#endif
