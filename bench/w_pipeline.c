/* w_pipeline.c - the pipeline: an RX thread allocates bursts of 32 x 2 KiB
 * and pushes them through an SPSC ring (ring.h, the same for every peer) to
 * a TX thread on the other CPU that frees them: every free is a cross-core
 * free.  Reports objects per second.  Both sides run the peer's own loops
 * (loops.h), XB_PIPE_BURSTS_PER_ITER bursts per harness iteration.
 *
 * TX completion order.  TX takes a window of XB_TX_WINDOW bursts (128
 * objects) from the ring and frees them 32 at a time, in one of
 * XB_TX_PERMS fixed random permutations of the window (the model: a TX
 * thread spreading packets over several queues or ports, whose completions
 * come back interleaved, not in the order RX allocated them).  Three
 * workloads:
 *   pipeline          scrambled order, RX does not touch the buffers: the
 *                     allocator's own cost (1 thread: RX and TX on one
 *                     thread, no cross-core part; 2..N: pairs);
 *   pipeline_write    scrambled order, RX writes the first XB_RX_WRITE
 *                     bytes (a packet header) of each buffer: the order in
 *                     which freed buffers come back decides whether those
 *                     lines are still in cache (LIFO) or not (FIFO);
 *   pipeline_inorder  freed in allocation order, no writes: xmem's best
 *                     case.
 * And pipeline_ring/alone (2 threads): the same RX and TX loops with no
 * allocator in them -- RX hands out pointers from a fixed array, TX takes
 * them in the scrambled order and drops them -- the cost of the ring and the
 * harness that every peer's 2-thread figure stands on. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"
#include "bench/loops.h"
#include "bench/ring.h"

static struct xb_ring g_rings[XB_MAX_THREADS / 2];
static uint8_t g_perm[XB_TX_PERMS][XB_TX_WINDOW * XB_BURST];

enum { V_SCRAMBLED, V_WRITE, V_INORDER };
static const char *const g_vname[] = {"pipeline", "pipeline_write", "pipeline_inorder"};

const uint8_t (*xb_tx_perms(void))[XB_TX_WINDOW * XB_BURST]
{
	return g_perm;
}

void xb_tx_perms_init(void)
{
	uint64_t s = 0x7c0de;
	for (int k = 0; k < XB_TX_PERMS; k++) {
		uint8_t *p = g_perm[k];
		for (int i = 0; i < XB_TX_WINDOW * XB_BURST; i++)
			p[i] = (uint8_t)i;
		for (int i = XB_TX_WINDOW * XB_BURST - 1; i > 0; i--) {
			int j = (int)(xb_rand64(&s) % (uint64_t)(i + 1));
			uint8_t t = p[i];
			p[i] = p[j];
			p[j] = t;
		}
	}
}

static void produce(struct xb_state *st, const struct xb_loops *lp, struct xb_ring *r, int write)
{
	int64_t n = 0;

	while (xb_keep_running(st)) {
		if (lp->rx(r, XB_PIPE_BURSTS_PER_ITER, write, NULL) != 0) {
			atomic_store(&r->abort, 1);
			xb_skip(st, "burst allocation failed or TX gave up");
			break;
		}
		n += XB_PIPE_BURSTS_PER_ITER * XB_BURST;
	}
	xb_set_items(st, n);
}

/* free_bulk: what to do with objects RX left in the ring when it stopped
 * early (NULL: nothing, they are not objects). */
static void consume(struct xb_state *st, const struct xb_loops *lp,
		    void (*free_bulk)(void **objs, unsigned n), struct xb_ring *r,
		    struct xb_tx_order *ord)
{
	void *objs[XB_BURST];

	while (xb_keep_running(st)) {
		if (lp->tx(r, XB_PIPE_BURSTS_PER_ITER, ord, NULL) != 0) {
			atomic_store(&r->abort, 1);
			xb_skip(st, "RX failed");
			break;
		}
	}
	if (atomic_load(&r->abort)) {
		/* RX stopped early: free what it left behind. */
		unsigned k;
		while ((k = xb_ring_drain(r, objs, XB_BURST)) > 0)
			if (free_bulk != NULL)
				free_bulk(objs, k);
	}
	xb_set_items(st, 0);
}

static void same_thread(struct xb_state *st, const struct xb_peer *p, struct xb_ring *r,
			int write, struct xb_tx_order *ord)
{
	int64_t n = 0;

	while (xb_keep_running(st)) {
		if (p->loops->rx(r, XB_PIPE_BURSTS_PER_ITER, write, NULL) != 0 ||
		    p->loops->tx(r, XB_PIPE_BURSTS_PER_ITER, ord, NULL) != 0) {
			xb_skip(st, "burst allocation failed");
			break;
		}
		n += XB_PIPE_BURSTS_PER_ITER * XB_BURST;
	}
	xb_set_items(st, n);
}

static void bm_pipeline(struct xb_state *st)
{
	const struct xb_peer *p = xb_ctx(st);
	int v = (int)xb_arg(st);
	int t = xb_thread_index(st), nt = xb_threads(st);
	struct xb_tx_order ord = {.perm = v == V_INORDER ? NULL : g_perm, .next = (unsigned)t};
	cpu_set_t saved;
	struct rusage ru0, ru1;

	getrusage(RUSAGE_THREAD, &ru0);
	if (nt == 1) {
		struct xb_ring *r = &g_rings[0];
		atomic_store(&r->abort, 0);
		xb_peer_enter(p);
		same_thread(st, p, r, v == V_WRITE, &ord);
		xb_peer_leave(p);
	} else {
		/* Pair k = threads 2k (RX) and 2k+1 (TX) on CPUs 2k, 2k+1 (modulo
		 * the CPU count).  RX clears the abort flag before its first push;
		 * TX cannot see a stale one: it only looks when the ring is empty. */
		xb_pin_self(t, &saved);
		xb_peer_enter(p);
		if (t / 2 >= XB_MAX_THREADS / 2) {
			xb_skip(st, "too many threads");
		} else if (t % 2 == 0) {
			atomic_store(&g_rings[t / 2].abort, 0);
			produce(st, p->loops, &g_rings[t / 2], v == V_WRITE);
		} else {
			consume(st, p->loops, p->free_bulk, &g_rings[t / 2], &ord);
		}
		xb_peer_leave(p);
		xb_unpin_self(&saved);
	}
	getrusage(RUSAGE_THREAD, &ru1);
	xb_counter(st, "minor_faults", (double)(ru1.ru_minflt - ru0.ru_minflt));
}

/* ---- the ring alone ------------------------------------------------------ */

/* Pointer values RX hands out (never dereferenced: RX does not write), as
 * many as the peers' pools hold, so TX's gather touches as many distinct
 * values. */
#define XB_RING_ALONE_OBJS 16384
static void *g_alone[XB_RING_ALONE_OBJS];
static _Thread_local unsigned g_alone_next;

static inline int alone_get(void **objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		objs[i] = g_alone[g_alone_next++ & (XB_RING_ALONE_OBJS - 1)];
	return 0;
}

static inline void alone_put(void **objs, unsigned n)
{
	(void)n;
	xb_escape(objs);
}

XB_DEFINE_LOOPS(xb_alone, alone_get, alone_put);

static void bm_ring_alone(struct xb_state *st)
{
	int t = xb_thread_index(st);
	struct xb_tx_order ord = {.perm = g_perm, .next = (unsigned)t};
	struct xb_ring *r = &g_rings[0];
	cpu_set_t saved;

	xb_pin_self(t, &saved);
	if (t == 0) {
		atomic_store(&r->abort, 0);
		produce(st, &xb_alone_loops, r, 0);
	} else {
		consume(st, &xb_alone_loops, NULL, r, &ord);
	}
	xb_unpin_self(&saved);
}

static void reg(const char *wl, int v, int threads)
{
	for (int i = 0; i < XB_N_PEERS; i++) {
		struct xb_peer *p = xb_peers[i];
		struct xb_opts o = {.ctx = p, .threads = threads, .arg = v};
		char name[64];
		if (!xb_peer_in(p, 1))
			continue;
		snprintf(name, sizeof name, "%s/%s", wl, p->name);
		xb_register(name, bm_pipeline, &o);
	}
}

void xb_w_pipeline_register(const struct xb_cfg *cfg)
{
	int tl[32];
	int n = xb_thread_list(cfg->max_threads < 2 ? 2 : cfg->max_threads, 1, tl, 32);

	xb_tx_perms_init();
	for (int k = 0; k < n; k++)
		reg(g_vname[V_SCRAMBLED], V_SCRAMBLED, tl[k]);
	reg(g_vname[V_WRITE], V_WRITE, 2);
	reg(g_vname[V_INORDER], V_INORDER, 2);
	for (size_t i = 0; i < XB_RING_ALONE_OBJS; i++)
		g_alone[i] = (void *)(uintptr_t)(0x100000 + i * 2048);
	struct xb_opts o = {.threads = 2};
	xb_register("pipeline_ring/alone", bm_ring_alone, &o);
}
