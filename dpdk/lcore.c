/* lcore.c - xmem's lcore id follows DPDK's in EAL threads
 * (xmem_dpdk_lcore_bind), explicitly or on a thread's first dequeue from an
 * "xmem" pool. */
#include <string.h>

#include <rte_lcore.h>
#include <rte_log.h>

#include <xmem/xmem_dpdk.h>

#include "xm_dpdk.h"

__thread int xm_dpdk_lcore_seen __attribute__((tls_model("initial-exec")));

int xmem_dpdk_lcore_bind(void)
{
	unsigned id = rte_lcore_id();
	if (id == LCORE_ID_ANY || id >= XMEM_MAX_LCORES) {
		xm_dpdk_err(EINVAL);
		return -1;
	}
	int rc = xmem_thread_register_id(id);
	if (rc < 0) {
		xm_dpdk_err(errno);
		return -1;
	}
	return rc;
}

void xm_dpdk_lcore_follow_slow(void)
{
	xm_dpdk_lcore_seen = 1;
	if (rte_lcore_id() == LCORE_ID_ANY)
		return;   /* not an EAL thread: xmem assigns an id itself */
	if (xmem_lcore_id() == (int)rte_lcore_id())
		return;
	int e = rte_errno, e2 = errno;
	if (xmem_dpdk_lcore_bind() < 0)
		RTE_LOG(WARNING, MEMPOOL,
			"xmem: lcore %u keeps xmem lcore id %d: %s\n",
			rte_lcore_id(), xmem_lcore_id(), strerror(errno));
	rte_errno = e;
	errno = e2;
}
