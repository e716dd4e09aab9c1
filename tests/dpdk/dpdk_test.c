/* dpdk_test.c - libxmem_dpdk inside a real DPDK EAL (in-process,
 * --no-huge --no-pci --no-shconf, two lcores): the "xmem" mempool ops, mbuf
 * pools over an xmem heap whose IOVA table is not the identity, lcore
 * binding in EAL workers, the extmem subscriber (rte_mem_virt2memseg finds
 * xmem memory with its IOVAs) and the VFIO/device subscribers' error paths
 * (no /dev/vfio on the test machine: see the NOTE lines). */
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <rte_vfio.h>

#include <pthread.h>
#include <unistd.h>

#include <xmem/xmem_dpdk.h>
#include <xmem/xmem_pool.h>

#include "tests/xt_util.h"

#define PG     PAGE4K
#define RUN    256              /* pages per IOVA-contiguous run: 1 MiB */
#define NRUNS  32               /* 32 MiB of heap */

/* A heap over anonymous memory whose IOVA table is runs of RUN pages, the
 * runs in reverse order at a base far from the VA: nothing is identity. */
struct theap {
	struct xmem_heap *h;
	char *va;
	size_t len;
	uint64_t *iova;
};

static void theap_make(struct theap *t, const char *name, size_t runs,
		       size_t run_pages, int with_table)
{
	t->len = runs * run_pages * PG;
	t->va = xt_map(t->len, PG, PROT_READ | PROT_WRITE);
	t->iova = NULL;
	if (with_table) {
		t->iova = malloc(runs * run_pages * sizeof(uint64_t));
		for (size_t r = 0; r < runs; r++)
			for (size_t i = 0; i < run_pages; i++)
				t->iova[r * run_pages + i] = 0x7000000000ull +
					((runs - 1 - r) * 2 * run_pages + i) * PG;
	}
	t->h = xmem_heap_create(name);
	if (!t->h || xmem_heap_add_memory(t->h, t->va, t->len, t->iova,
					  t->len / PG, PG) != 0)
		XT_FATAL("heap %s: %s", name, strerror(errno));
}

static void theap_drop(struct theap *t)
{
	CHECK_OK(xmem_heap_trim(t->h));
	CHECK_OK(xmem_heap_remove_memory(t->h, t->va, t->len));
	CHECK_OK(xmem_heap_destroy(t->h));
	xt_unmap(t->va, t->len);
	free(t->iova);
}

static size_t heap_alloc_bytes(struct xmem_heap *h)
{
	struct xmem_heap_stats st;
	xmem_heap_trim(h);
	if (xmem_heap_stats(h, &st) != 0)
		return (size_t)-1;
	return st.alloc_bytes;
}

/* ------------------------------------------------------------ ops */

static void t_ops_registered(void)
{
	struct rte_mempool *mp = rte_mempool_create_empty("xt-ops", 1000, 64, 32, 0,
							  SOCKET_ID_ANY, 0);
	if (!CHECK(mp))
		return;
	CHECK_EQ(rte_mempool_set_ops_byname(mp, XMEM_DPDK_OPS_NAME, NULL), 0);
	CHECK_EQ(strcmp(rte_mempool_get_ops(mp->ops_index)->name, "xmem"), 0);
	rte_mempool_free(mp);
	int n = 0;
	for (unsigned i = 0; i < rte_mempool_ops_table.num_ops; i++)
		n += strcmp(rte_mempool_ops_table.ops[i].name, "xmem") == 0;
	CHECK_EQ(n, 1);
	printf("  %u of %d mempool ops slots used\n", rte_mempool_ops_table.num_ops,
	       RTE_MEMPOOL_MAX_OPS_IDX);
}

/* A plain (non-mbuf) mempool with the xmem ops: get/put through the
 * per-lcore cache and past it. */
static void t_ops_mempool(void)
{
	enum { N = 4000 };
	struct rte_mempool *mp = rte_mempool_create("xt-plain", N, 64, 64, 0, NULL,
						    NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	if (!CHECK(mp))
		return;
	/* rte_mempool_create uses the default ops: switch on an empty pool */
	rte_mempool_free(mp);
	mp = rte_mempool_create_empty("xt-plain", N, 64, 64, 0, SOCKET_ID_ANY, 0);
	if (!CHECK(mp))
		return;
	CHECK_EQ(rte_mempool_set_ops_byname(mp, "xmem", NULL), 0);
	CHECK_EQ(rte_mempool_populate_default(mp), N);
	CHECK_EQ(rte_mempool_avail_count(mp), N);
	static void *objs[N];
	CHECK_EQ(rte_mempool_get_bulk(mp, objs, N), 0);
	CHECK_EQ(rte_mempool_avail_count(mp), 0);
	void *one;
	CHECK_NE(rte_mempool_get(mp, &one), 0);
	rte_mempool_put_bulk(mp, objs, N);
	CHECK_EQ(rte_mempool_avail_count(mp), N);
	rte_mempool_free(mp);
}

/* ---------------------------------------------------------- mbufs */

struct iova_check {
	unsigned n, bad;
};

static void check_mbuf(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	(void)mp;
	(void)i;
	struct iova_check *c = arg;
	struct rte_mbuf *m = obj;
	char *b = m->buf_addr;
	c->n++;
	if (m->buf_iova != xmem_virt2iova(b) ||
	    m->buf_iova + m->buf_len - 1 != xmem_virt2iova(b + m->buf_len - 1))
		c->bad++;
}

static void t_mbuf_pool(void)
{
	enum { N = 4096 };
	struct theap t;
	theap_make(&t, "xt-mbuf", NRUNS, RUN, 1);
	struct rte_mempool *mp = xmem_dpdk_pktmbuf_pool_create(
		"xt-mbufs", N, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, t.h, SOCKET_ID_ANY);
	if (!CHECK(mp)) {
		printf("  rte_errno %d (%s)\n", rte_errno, rte_strerror(rte_errno));
		theap_drop(&t);
		return;
	}
	CHECK_EQ(strcmp(rte_mempool_get_ops(mp->ops_index)->name, "xmem"), 0);
	CHECK_EQ(mp->size, N);
	CHECK_EQ(mp->populated_size, N);
	CHECK_EQ(rte_mempool_avail_count(mp), N);
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
	printf("  %u memory chunks from the heap\n", mp->nb_mem_chunks);
	CHECK_GT(mp->nb_mem_chunks, 1u);   /* runs of 1 MiB: several chunks */
	CHECK_GT(heap_alloc_bytes(t.h), 0);

	/* Every buffer is IOVA-contiguous, at xmem's IOVA. */
	struct iova_check c = {0};
	rte_mempool_obj_iter(mp, check_mbuf, &c);
	CHECK_EQ(c.n, N);
	CHECK_EQ(c.bad, 0u);
	/* And the IOVA is not the VA (the table is not the identity). */
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (CHECK(m)) {
		CHECK_NE(m->buf_iova, (uint64_t)(uintptr_t)m->buf_addr);
		CHECK_EQ(m->buf_iova, xmem_virt2iova(m->buf_addr));
		CHECK_EQ(rte_pktmbuf_data_room_size(mp), RTE_MBUF_DEFAULT_BUF_SIZE);
		rte_pktmbuf_free(m);
	}

	/* All of them, then none left, then all back. */
	static struct rte_mbuf *ms[N];
	CHECK_EQ(rte_pktmbuf_alloc_bulk(mp, ms, N), 0);
	CHECK_EQ(rte_mempool_avail_count(mp), 0);
	CHECK_EQ(rte_pktmbuf_alloc(mp), NULL);
	unsigned dup = 0;
	for (unsigned i = 1; i < N; i++)
		dup += ms[i] == ms[i - 1];
	CHECK_EQ(dup, 0u);
	rte_pktmbuf_free_bulk(ms, N);
	CHECK_EQ(rte_mempool_avail_count(mp), N);

	/* Freeing the pool gives the chunks back to the heap. */
	rte_mempool_free(mp);
	CHECK_EQ(heap_alloc_bytes(t.h), 0);
	CHECK_EQ(rte_mempool_lookup("xt-mbufs"), NULL);
	theap_drop(&t);
}

/* Each bad input: NULL, rte_errno as documented, nothing left behind. */
#define EXPECT_FAIL(call, e)                                                 \
	do {                                                                 \
		rte_errno = 0;                                               \
		struct rte_mempool *mp_ = (call);                            \
		CHECK_EQ(mp_, NULL);                                         \
		if (!CHECK_EQ(rte_errno, (e)))                               \
			printf("  %s: rte_errno %d (%s)\n", #call, rte_errno, \
			       rte_strerror(rte_errno));                     \
		CHECK_EQ(errno, (e));                                        \
		if (mp_)                                                     \
			rte_mempool_free(mp_);                               \
	} while (0)

static void t_mbuf_pool_bad_input(void)
{
	struct theap t, tiny, none;
	theap_make(&t, "xt-bad", 4, RUN, 1);
	theap_make(&tiny, "xt-tiny", 64, 1, 1);   /* every page an IOVA jump */
	theap_make(&none, "xt-noiova", 4, RUN, 0);
	size_t before = heap_alloc_bytes(t.h);

	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 64, 0, 0, 2048, NULL, 0), EINVAL);
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create(NULL, 64, 0, 0, 2048, t.h, 0), EINVAL);
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 0, 0, 0, 2048, t.h, 0), EINVAL);
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 64, 0, 3, 2048, t.h, 0), EINVAL);
	/* A heap with no IOVA. */
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 64, 0, 0, 2048, none.h, 0), EINVAL);
	/* A data room no run of the heap can hold (4 KiB runs). */
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 64, 0, 0, 8192, tiny.h, 0), ENOMEM);
	/* More objects than the heap has room for. */
	EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-b", 100000, 0, 0, 2048, t.h, 0), ENOMEM);
	/* A name that exists. */
	struct rte_mempool *mp = xmem_dpdk_pktmbuf_pool_create("xt-dup", 64, 0, 0, 2048, t.h, 0);
	if (CHECK(mp)) {
		size_t with = heap_alloc_bytes(t.h);
		EXPECT_FAIL(xmem_dpdk_pktmbuf_pool_create("xt-dup", 64, 0, 0, 2048, t.h, 0), EEXIST);
		CHECK_EQ(heap_alloc_bytes(t.h), with);
		rte_mempool_free(mp);
	}
	CHECK_EQ(rte_mempool_lookup("xt-b"), NULL);
	CHECK_EQ(heap_alloc_bytes(t.h), before);
	CHECK_EQ(heap_alloc_bytes(tiny.h), 0);
	CHECK_EQ(heap_alloc_bytes(none.h), 0);
	theap_drop(&t);
	theap_drop(&tiny);
	theap_drop(&none);
}

/* ----------------------------------------------------------- lcores */

static struct rte_mempool *lc_pool;
static int lc_before, lc_after, lc_explicit;

static int lcore_worker(void *arg)
{
	(void)arg;
	lc_before = xmem_lcore_id();
	/* The first dequeue from an "xmem" pool binds the thread. */
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc_pool);
	lc_after = xmem_lcore_id();
	rte_pktmbuf_free(m);
	lc_explicit = xmem_dpdk_lcore_bind();
	return m ? 0 : -1;
}

static void *non_eal(void *arg)
{
	int *rc = arg;
	rte_errno = 0;
	rc[0] = xmem_dpdk_lcore_bind();
	rc[1] = rte_errno;
	return NULL;
}

static void t_lcore_binding(void)
{
	struct theap t;
	theap_make(&t, "xt-lcore", 4, RUN, 1);
	lc_pool = xmem_dpdk_pktmbuf_pool_create("xt-lc", 512, 32, 0, 2048, t.h, 0);
	if (!CHECK(lc_pool)) {
		theap_drop(&t);
		return;
	}
	CHECK_EQ(xmem_dpdk_lcore_bind(), (int)rte_lcore_id());
	CHECK_EQ(xmem_lcore_id(), (int)rte_lcore_id());
	unsigned w = rte_get_next_lcore(-1, 1, 0);
	if (w >= RTE_MAX_LCORE) {
		CHECK(!"no worker lcore: EAL runs with -l 0,1");
	} else {
		CHECK_EQ(rte_eal_remote_launch(lcore_worker, NULL, w), 0);
		CHECK_EQ(rte_eal_wait_lcore(w), 0);
		printf("  worker lcore %u: xmem id %d before, %d after its first dequeue\n",
		       w, lc_before, lc_after);
		CHECK_EQ(lc_after, (int)w);
		CHECK_EQ(lc_explicit, (int)w);
	}
	/* A thread EAL does not know. */
	int rc[2];
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, non_eal, rc), 0);
	pthread_join(th, NULL);
	CHECK_EQ(rc[0], -1);
	CHECK_EQ(rc[1], EINVAL);
	rte_mempool_free(lc_pool);
	theap_drop(&t);
}

/* ---------------------------------------------------------- extmem */

static int in_dpdk(void *va, uint64_t want_iova)
{
	struct rte_memseg *ms = rte_mem_virt2memseg(va, NULL);
	if (!ms)
		return 0;
	return ms->iova + ((char *)va - (char *)ms->addr) == want_iova ? 1 : -1;
}

static void t_extmem(void)
{
	struct theap a, b;
	theap_make(&a, "xt-ext-a", 2, RUN, 1);
	char *pa = a.va + 300 * PG + 5;
	CHECK_EQ(in_dpdk(pa, xmem_virt2iova(pa)), 0);
	struct xmem_dma_subscriber *s = xmem_dpdk_extmem_subscribe("xt-extmem");
	if (!CHECK(s)) {
		printf("  rte_errno %d (%s)\n", rte_errno, rte_strerror(rte_errno));
		theap_drop(&a);
		return;
	}
	/* The region that existed was replayed. */
	CHECK_EQ(in_dpdk(pa, xmem_virt2iova(pa)), 1);
	CHECK_NE(xmem_virt2iova(pa), (uint64_t)(uintptr_t)pa);
	/* A later one is registered as it is added... */
	theap_make(&b, "xt-ext-b", 1, RUN, 1);
	char *pb = b.va + 7 * PG;
	CHECK_EQ(in_dpdk(pb, xmem_virt2iova(pb)), 1);
	/* ...and unregistered when it is removed. */
	theap_drop(&b);
	CHECK_EQ(in_dpdk(pb, 0), 0);

	/* DPDK refuses a range it knows: the add fails with its errno and
	 * changes nothing. */
	size_t len = RUN * PG;
	char *va = xt_map(len, PG, PROT_READ | PROT_WRITE);
	CHECK_EQ(rte_extmem_register(va, len, NULL, 0, PG), 0);
	errno = 0;
	CHECK_EQ(xmem_heap_add_memory(a.h, va, len, NULL, 0, PG), -1);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(xmem_virt2iova(va), XMEM_BAD_IOVA);
	CHECK_EQ(rte_extmem_unregister(va, len), 0);
	xt_unmap(va, len);

	CHECK_OK(xmem_dma_unsubscribe(s));
	CHECK_EQ(in_dpdk(pa, 0), 0);   /* unsubscribing unregisters */
	theap_drop(&a);
	CHECK_EQ(xmem_dpdk_extmem_subscribe(NULL), NULL);
	CHECK_EQ(rte_errno, EINVAL);
}

/* ------------------------------------------------------- VFIO, device */

static void t_vfio_error_path(void)
{
	int have_vfio = access("/dev/vfio/vfio", F_OK) == 0;
	struct theap t;
	theap_make(&t, "xt-vfio", 2, RUN, 1);
	size_t before = heap_alloc_bytes(t.h);

	/* Subscribing replays the heap's region through DPDK's container. */
	rte_errno = 0;
	struct xmem_dma_subscriber *s =
		xmem_dpdk_vfio_subscribe("xt-vfio", RTE_VFIO_DEFAULT_CONTAINER_FD);
	int e = rte_errno;
	if (s) {
		/* A machine where DPDK has a container: the mapping worked. */
		struct xmem_dma_stats st;
		CHECK_OK(xmem_dma_get_stats(s, &st));
		CHECK_GT(st.entries, 0u);
		CHECK_OK(xmem_dma_unsubscribe(s));
		printf("  VFIO: mapped through DPDK's container and unmapped\n");
	} else {
		printf("  VFIO: subscribe failed as expected here: rte_errno %d (%s)\n", e,
		       rte_strerror(e));
		CHECK_NE(e, 0);
		CHECK_EQ(errno, e);
		/* Nothing is left: no subscriber, the heap as before. */
		CHECK_EQ(xmem_dma_subscriber_lookup("xt-vfio"), NULL);
		CHECK_EQ(heap_alloc_bytes(t.h), before);
		CHECK_NE(xmem_virt2iova(t.va), XMEM_BAD_IOVA);
		/* Subscribed with no region, an add fails and changes nothing. */
		theap_drop(&t);
		s = xmem_dpdk_vfio_subscribe("xt-vfio", RTE_VFIO_DEFAULT_CONTAINER_FD);
		if (CHECK(s)) {
			theap_make(&t, "xt-vfio2", 0 + 1, 0 + 1, 0);   /* no table: nothing mapped */
			size_t len = RUN * PG;
			char *va = xt_map(len, PG, PROT_READ | PROT_WRITE);
			uint64_t *tab = xt_linear_table(0x100000000ull, RUN, PG);
			errno = 0;
			CHECK_EQ(xmem_heap_add_memory(t.h, va, len, tab, RUN, PG), -1);
			CHECK_EQ(errno, e);
			CHECK_EQ(xmem_virt2iova(va), XMEM_BAD_IOVA);
			free(tab);
			xt_unmap(va, len);
			CHECK_OK(xmem_dma_unsubscribe(s));
		}
		if (!have_vfio)
			printf("NOTE: no /dev/vfio on this machine: mapping xmem memory through "
			       "DPDK's VFIO container for real is not tested here, only its "
			       "failure path\n");
	}
	theap_drop(&t);

	/* Through rte_dev_dma_map, for a vdev (net_null0: the vdev bus maps
	 * nothing for a driver without dma_map, and says yes). */
	CHECK_EQ(xmem_dpdk_dev_dma_subscribe("xt-dev", NULL), NULL);
	CHECK_EQ(rte_errno, EINVAL);
	struct rte_device *dev = NULL, *it_dev;
	struct rte_dev_iterator it;
	RTE_DEV_FOREACH(it_dev, "bus=vdev", &it)
		if (strcmp(rte_dev_name(it_dev), "net_null0") == 0)
			dev = it_dev;
	if (!CHECK(dev))
		return;
	struct theap d;
	theap_make(&d, "xt-dev", 1, RUN, 1);
	/* DPDK maps only memory it knows: without the extmem subscriber the
	 * replay fails, and nothing is left. */
	rte_errno = 0;
	CHECK_EQ(xmem_dpdk_dev_dma_subscribe("xt-dev", dev), NULL);
	printf("  rte_dev_dma_map of memory DPDK does not know: rte_errno %d (%s)\n",
	       rte_errno, rte_strerror(rte_errno));
	CHECK_EQ(rte_errno, EINVAL);
	CHECK_EQ(xmem_dma_subscriber_lookup("xt-dev"), NULL);
	/* With it (subscribed first, unsubscribed last), the device maps. */
	struct xmem_dma_subscriber *ext = xmem_dpdk_extmem_subscribe("xt-dev-ext");
	struct xmem_dma_subscriber *ds = ext ? xmem_dpdk_dev_dma_subscribe("xt-dev", dev) : NULL;
	if (CHECK(ds)) {
		struct xmem_dma_stats st;
		CHECK_OK(xmem_dma_get_stats(ds, &st));
		CHECK_EQ(st.entries, 1u);   /* one IOVA run */
		CHECK_OK(xmem_heap_trim(d.h));
		CHECK_OK(xmem_heap_remove_memory(d.h, d.va, d.len));
		CHECK_OK(xmem_dma_get_stats(ds, &st));
		CHECK_EQ(st.entries, 0u);
		CHECK_EQ(st.unmap_calls, 1u);
		CHECK_EQ(st.unmap_errors, 0u);
		CHECK_OK(xmem_heap_add_memory(d.h, d.va, d.len, d.iova, d.len / PG, PG));
		CHECK_OK(xmem_dma_unsubscribe(ds));
	}
	if (ext)
		CHECK_OK(xmem_dma_unsubscribe(ext));
	theap_drop(&d);
}

int main(int argc, char **argv)
{
	(void)argc;
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0,1",
		       "-m", "256", "--vdev=net_null0", "--log-level=lib.eal:error"};
	if (rte_eal_init(sizeof eal / sizeof eal[0], eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	xt_run("ops_registered", t_ops_registered);
	xt_run("ops_mempool", t_ops_mempool);
	xt_run("mbuf_pool", t_mbuf_pool);
	xt_run("mbuf_pool_bad_input", t_mbuf_pool_bad_input);
	xt_run("lcore_binding", t_lcore_binding);
	xt_run("extmem", t_extmem);
	xt_run("vfio_error_path", t_vfio_error_path);
	int rc = xt_done();
	rte_eal_cleanup();
	return rc;
}
