/* w_pairs.c - the 2-thread pipeline (scrambled TX order, no writes) of xmem
 * and rte_mempool in alternating rounds: each round runs one peer for
 * XB_PAIR_SECONDS and then the other (the order flips every round), so that
 * a slow spell of the shared machine, which lasts seconds, falls on both
 * peers of a round rather than on one workload's whole measurement.  The
 * figure is the median over the rounds of xmem / rte_mempool throughput,
 * as the plain loop interleaves its rounds.  The pipeline workload of
 * w_pipeline.c measures every peer once, one after the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define XB_PAIR_SECONDS 0.2

static struct xb_pairs g_pairs;

const struct xb_pairs *xb_pairs_result(void)
{
	return &g_pairs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void xb_w_pairs_run(const struct xb_cfg *cfg)
{
	struct xb_pairs *r = &g_pairs;
	const struct xb_peer *x = xb_peers[XB_XMEM], *m = xb_peers[XB_RTE_MEMPOOL];
	double ratio[XB_PAIR_ROUNDS_MAX];

	memset(r, 0, sizeof *r);
	r->rounds = cfg->quick ? 3 : 11;
	r->seconds = cfg->quick ? 0.02 : XB_PAIR_SECONDS;
	struct xb_pipe_limits lim = {r->seconds, r->seconds, 0};
	if (!xb_peer_in(x, 1) || !xb_peer_in(m, 1)) {
		printf("  not run: xmem or rte_mempool not ready\n");
		return;
	}
	xb_tx_perms_init();
	for (int i = 0; i < r->rounds; i++) {
		const struct xb_peer *first = i % 2 ? m : x, *second = i % 2 ? x : m;
		double a = 0, b = 0;
		if (xb_pipe_run(first, &lim, NULL, NULL, NULL, &a) != 0 ||
		    xb_pipe_run(second, &lim, NULL, NULL, NULL, &b) != 0) {
			printf("  round %d: a pipeline run failed; no figure\n", i + 1);
			return;
		}
		r->xmem[i] = i % 2 ? b : a;
		r->mempool[i] = i % 2 ? a : b;
		ratio[i] = r->xmem[i] / r->mempool[i];
		printf("  round %2d: xmem %7.1f Mobj/s, rte_mempool %7.1f Mobj/s, ratio %.3f\n",
		       i + 1, r->xmem[i] / 1e6, r->mempool[i] / 1e6, ratio[i]);
		fflush(stdout);
	}
	qsort(ratio, (size_t)r->rounds, sizeof ratio[0], cmp_double);
	r->min = ratio[0];
	r->max = ratio[r->rounds - 1];
	r->median = ratio[r->rounds / 2];
	r->valid = 1;
	printf("  xmem / rte_mempool over %d rounds: median %.3f (min %.3f, max %.3f)\n",
	       r->rounds, r->median, r->min, r->max);
}
