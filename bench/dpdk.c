/* dpdk.c - DPDK in this process: EAL start-up (flags from facts.md) and the
 * two external heaps the DPDK peers use.  "xb_ext" holds XB_HEAP_BYTES of the
 * same kind of memory the xmem peer gets and serves rte_malloc; "xb_pool"
 * holds the rte_mempool so that the rte_malloc heap is not shared. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "bench/bench.h"

static int g_ready;
static int g_socket = -1;
static int g_pool_socket = -1;
static struct xb_mem g_mem, g_pool_mem;

int xb_dpdk_ready(void) { return g_ready; }
int xb_dpdk_socket(void) { return g_socket; }
int xb_dpdk_pool_socket(void) { return g_pool_socket; }
const char *xb_dpdk_heap_name(void) { return "xb_ext"; }

static int add_heap(const char *name, struct xb_mem *m, size_t len, int *socket,
                    char *err, size_t errlen)
{
	if (xb_mem_map(m, len, 0, 0) != 0) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -1;
	}
	if (rte_malloc_heap_create(name) != 0) {
		snprintf(err, errlen, "rte_malloc_heap_create: %s", rte_strerror(rte_errno));
		return -1;
	}
	if (rte_malloc_heap_memory_add(name, m->va, m->len, m->iova, m->n_pages,
	                               XB_PAGE) != 0) {
		snprintf(err, errlen, "rte_malloc_heap_memory_add: %s",
		         rte_strerror(rte_errno));
		return -1;
	}
	*socket = rte_malloc_heap_get_socket(name);
	if (*socket < 0) {
		snprintf(err, errlen, "rte_malloc_heap_get_socket: %s",
		         rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int xb_dpdk_init(char *err, size_t errlen)
{
	char *argv[] = {"xb_bench", "--no-huge", "--no-pci", "--no-shconf",
	                "--no-telemetry", "-l", "0", "-m", "64",
	                "--log-level=lib.eal:error", NULL};
	int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
	cpu_set_t saved;

	if (g_ready)
		return 0;
	/* rte_eal_init pins the calling thread to lcore 0's CPU; benchmark
	 * threads are created from this thread and would inherit that.  Put
	 * the mask back afterwards; multi-thread benchmarks pin explicitly. */
	pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rte_errno));
		return -1;
	}
	pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
	if (add_heap("xb_ext", &g_mem, XB_HEAP_BYTES, &g_socket, err, errlen) != 0)
		return -1;
	if (add_heap("xb_pool", &g_pool_mem, (size_t)256 << 20, &g_pool_socket,
	             err, errlen) != 0)
		return -1;
	g_ready = 1;
	return 0;
}

/* Benchmark threads other than the main one (lcore 0) are not EAL threads:
 * register them so rte_lcore_id() is valid and rte_mempool uses a per-lcore
 * cache; unregister when the body ends so the lcore ids are reused. */
static __thread int t_registered;

void xb_dpdk_thread_enter(void)
{
	if (!g_ready || rte_lcore_id() != LCORE_ID_ANY)
		return;
	if (rte_thread_register() == 0)
		t_registered = 1;
}

void xb_dpdk_thread_leave(void)
{
	if (t_registered) {
		rte_thread_unregister();
		t_registered = 0;
	}
}
