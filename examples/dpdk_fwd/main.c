/* dpdk_fwd - DPDK forwarding whose mbufs live in an xmem heap.
 *
 * An xmem heap over anonymous memory (IOVA = VA), an mbuf pool carved from
 * it by xmem_dpdk_pktmbuf_pool_create (the "xmem" mempool ops), two ports
 * (e.g. --vdev=net_null0 --vdev=net_null1, or net_ring vdevs), and a worker
 * lcore that forwards port 0 <-> port 1 for a number of seconds.  Prints
 * the packets forwarded and exits non-zero if none were, or on any error.
 *
 *   dpdk_fwd --no-huge --no-pci --no-shconf -l 0,1 -m 256 \
 *            --vdev=net_null0 --vdev=net_null1 -- [seconds]
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>
#include <xmem/xmem_dpdk.h>

#define HEAP_BYTES ((size_t)64 << 20)
#define NB_MBUF    8191
#define BURST      32

static volatile int stop;
static uint64_t forwarded[2], dropped[2];

static int port_init(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof conf);
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port), NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0)
		fprintf(stderr, "dpdk_fwd: port %u: %s\n", port, rte_strerror(-rc));
	return rc;
}

static int fwd_loop(void *arg)
{
	(void)arg;
	struct rte_mbuf *b[BURST];
	while (!stop) {
		for (uint16_t p = 0; p < 2; p++) {
			uint16_t n = rte_eth_rx_burst(p, 0, b, BURST);
			if (!n)
				continue;
			uint16_t sent = rte_eth_tx_burst(p ^ 1, 0, b, n);
			forwarded[p] += sent;
			if (sent < n) {
				dropped[p] += n - sent;
				rte_pktmbuf_free_bulk(&b[sent], n - sent);
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	if (used < 0) {
		fprintf(stderr, "dpdk_fwd: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= used;
	argv += used;
	unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
	int rc = 1;

	if (rte_eth_dev_count_avail() < 2) {
		fprintf(stderr, "dpdk_fwd: need two ports (--vdev=net_null0 --vdev=net_null1)\n");
		goto out;
	}
	unsigned worker = rte_get_next_lcore(-1, 1, 0);
	if (worker >= RTE_MAX_LCORE) {
		fprintf(stderr, "dpdk_fwd: need a worker lcore (-l 0,1)\n");
		goto out;
	}

	/* The heap: anonymous memory, IOVA = VA (xmem_dma.h). */
	void *va = mmap(NULL, HEAP_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xmem_heap *heap = xmem_heap_create("dpdk_fwd");
	if (va == MAP_FAILED || !heap ||
	    xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA) != 0 ||
	    xmem_heap_add_memory(heap, va, HEAP_BYTES, NULL, 0, 4096) != 0) {
		perror("dpdk_fwd: heap");
		goto out;
	}
	struct rte_mempool *mp = xmem_dpdk_pktmbuf_pool_create(
		"fwd_pool", NB_MBUF, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, heap, rte_socket_id());
	if (!mp) {
		fprintf(stderr, "dpdk_fwd: pool: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (!m || m->buf_iova != xmem_virt2iova(m->buf_addr)) {
		fprintf(stderr, "dpdk_fwd: mbuf buf_iova is not xmem's IOVA\n");
		goto out;
	}
	printf("dpdk_fwd: pool %s, ops %s, %u mbufs, sample buf_addr %p buf_iova 0x%" PRIx64 "\n",
	       mp->name, rte_mempool_get_ops(mp->ops_index)->name, mp->size, m->buf_addr,
	       m->buf_iova);
	rte_pktmbuf_free(m);

	if (port_init(0, mp) != 0 || port_init(1, mp) != 0)
		goto out;
	rte_eal_remote_launch(fwd_loop, NULL, worker);
	sleep(seconds);
	stop = 1;
	rte_eal_wait_lcore(worker);
	for (uint16_t p = 0; p < 2; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	uint64_t total = forwarded[0] + forwarded[1];
	printf("dpdk_fwd: forwarded %" PRIu64 " packets in %u s (%.2f Mpps), dropped %" PRIu64 "\n",
	       total, seconds, total / 1e6 / seconds, dropped[0] + dropped[1]);
	rte_mempool_free(mp);
	struct xmem_heap_stats st;
	xmem_heap_trim(heap);
	if (xmem_heap_stats(heap, &st) != 0 || st.alloc_count != 0) {
		fprintf(stderr, "dpdk_fwd: the heap still holds %" PRIu64 " blocks\n", st.alloc_count);
		goto out;
	}
	if (xmem_heap_remove_memory(heap, va, HEAP_BYTES) != 0 || xmem_heap_destroy(heap) != 0) {
		perror("dpdk_fwd: heap teardown");
		goto out;
	}
	rc = total > 0 ? 0 : 1;
	if (!total)
		fprintf(stderr, "dpdk_fwd: no packet was forwarded\n");
out:
	rte_eal_cleanup();
	return rc;
}
