/* pipe_run.c - one 2-thread pipeline run outside Google Benchmark's loop:
 * RX on CPU 0 allocates bursts and pushes them through one SPSC ring
 * (ring.h) to TX on CPU 1, which frees them in the scrambled order of TX
 * completion (w_pipeline.c's permutations), each side in the peer's own
 * loops (loops.h), each burst optionally timed into a histogram.  Shared by
 * the per-burst percentiles (w_tail.c) and the alternating rounds
 * (w_pairs.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "bench/bench.h"
#include "bench/hist.h"
#include "bench/ring.h"

#define CHUNK 64   /* bursts per loop call (a multiple of XB_TX_WINDOW) */

static struct xb_ring g_ring;

struct pipe_arg {
	const struct xb_peer *p;
	struct xb_hist *h;
	_Atomic uint64_t target;   /* bursts RX pushed in all; UINT64_MAX while running */
	int failed;
};

static void *tx_main(void *arg)
{
	struct pipe_arg *a = arg;
	struct xb_tx_order ord = {.perm = xb_tx_perms()};
	uint64_t done = 0;
	cpu_set_t saved;

	xb_pin_self(1, &saved);
	xb_peer_enter(a->p);
	for (;;) {
		/* RX publishes target before it sets abort (both seq_cst): once
		 * a pop fails, target is final. */
		if (done >= atomic_load(&a->target))
			break;
		if (a->p->loops->tx(&g_ring, XB_TX_WINDOW, &ord, a->h) != 0) {
			if (done >= atomic_load(&a->target))
				break;
			a->failed = 1;
			break;
		}
		done += XB_TX_WINDOW;
	}
	xb_peer_leave(a->p);
	return NULL;
}

/* Go on after n bursts, t seconds? */
static int more(const struct xb_pipe_limits *lim, uint64_t n, double t)
{
	return t < lim->max_s && (n < lim->min_bursts || t < lim->min_s);
}

int xb_pipe_run(const struct xb_peer *p, const struct xb_pipe_limits *lim,
		struct xb_hist *hr, struct xb_hist *ht, double *tpn, double *obj_per_s)
{
	struct pipe_arg a = {.p = p, .h = ht, .target = UINT64_MAX};
	uint64_t n = 0;
	pthread_t tid;
	cpu_set_t saved;
	int rc = 0;

	atomic_store(&g_ring.abort, 0);
	if (pthread_create(&tid, NULL, tx_main, &a) != 0)
		return -1;
	xb_pin_self(0, &saved);
	xb_peer_enter(p);
	uint64_t ns0 = xb_mono_ns(), tk0 = xb_ticks(), ns1;
	do {
		if (p->loops->rx(&g_ring, CHUNK, 0, hr) != 0) {
			rc = -1;
			break;
		}
		n += CHUNK;
		ns1 = xb_mono_ns();
	} while (more(lim, n, (double)(ns1 - ns0) * 1e-9));
	uint64_t tk1 = xb_ticks();
	ns1 = xb_mono_ns();
	atomic_store(&a.target, n);
	atomic_store(&g_ring.abort, 1);
	pthread_join(tid, NULL);
	/* After the join TX has freed every burst RX allocated: the rate
	 * counts their whole trip. */
	uint64_t ns2 = xb_mono_ns();
	xb_peer_leave(p);
	xb_unpin_self(&saved);
	/* Whatever is left after a failure goes back to the peer. */
	void *objs[XB_BURST];
	unsigned k;
	while ((k = xb_ring_drain(&g_ring, objs, XB_BURST)) > 0)
		p->free_bulk(objs, k);
	if (tpn != NULL)
		*tpn = xb_ticks_per_ns(tk0, tk1, ns0, ns1);
	if (obj_per_s != NULL)
		*obj_per_s = (double)n * XB_BURST / ((double)(ns2 - ns0) * 1e-9);
	return rc != 0 || a.failed ? -1 : 0;
}
