/* w_tail.c - per-burst latency of every peer (not a Google Benchmark: each
 * burst is timed on its own with the clock of bench/hist.h, inside the
 * peer's own loop, loops.h):
 *   burst     one thread, alloc 32 x 2 KiB + free them, timed together;
 *   pipeline  RX and TX on two CPUs as in the pipeline workload (scrambled
 *             TX order, no writes); RX times each alloc burst, TX each free
 *             burst of 32.
 * Each runs at least MIN_BURSTS bursts and MIN_SECONDS per peer, but stops
 * after MAX_SECONDS (the slow peers: their p99.99 then rests on fewer
 * samples, which the table shows).  Reports p50, p99, p99.9, p99.99 and
 * max in ns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/hist.h"

#define CHUNK 64   /* bursts per loop call */
#define MIN_BURSTS(cfg)  ((cfg)->quick ? 2048u : 200000u)
#define MIN_SECONDS(cfg) ((cfg)->quick ? 0.01 : 0.3)
#define MAX_SECONDS(cfg) ((cfg)->quick ? 0.2 : 1.5)

/* Go on after n bursts, t seconds? */
static int more(const struct xb_cfg *cfg, uint64_t n, double t)
{
	return t < MAX_SECONDS(cfg) && (n < MIN_BURSTS(cfg) || t < MIN_SECONDS(cfg));
}

const char *const xb_tail_name[XB_TAIL_N] = {"burst", "pipeline alloc", "pipeline free"};

static struct xb_tail g_tail;

const struct xb_tail *xb_tail_result(void)
{
	return &g_tail;
}

static int run_burst(const struct xb_peer *p, const struct xb_cfg *cfg, struct xb_hist *h,
		     double *tpn)
{
	uint64_t n = 0;
	uint64_t ns0 = xb_mono_ns(), tk0 = xb_ticks(), ns1;
	int rc = 0;

	xb_peer_enter(p);
	do {
		if (p->loops->burst_lat(CHUNK, h) != 0) {
			rc = -1;
			break;
		}
		n += CHUNK;
		ns1 = xb_mono_ns();
	} while (more(cfg, n, (double)(ns1 - ns0) * 1e-9));
	xb_peer_leave(p);
	*tpn = xb_ticks_per_ns(tk0, xb_ticks(), ns0, xb_mono_ns());
	return rc;
}

static void fill(struct xb_tail_row *row, const struct xb_hist *h, double tpn, int ok)
{
	uint64_t ticks[XB_NPCT];
	row->valid = ok && h->n > 0;
	row->samples = h->n;
	row->mean_ns = h->n ? (double)h->sum / (double)h->n / tpn : 0;
	xb_hist_pcts(h, tpn, ticks, row->ns);
}

void xb_w_tail_run(const struct xb_cfg *cfg)
{
	struct xb_hist *h = malloc(3 * sizeof *h);
	if (h == NULL)
		return;
	memset(&g_tail, 0, sizeof g_tail);
	g_tail.ran = 1;
	xb_tx_perms_init();
	for (int i = 0; i < XB_N_PEERS; i++) {
		const struct xb_peer *p = xb_peers[i];
		double tpn = 1;
		if (xb_peer_in(p, 0)) {
			memset(h, 0, sizeof *h);
			int ok = run_burst(p, cfg, h, &tpn) == 0;
			fill(&g_tail.row[XB_TAIL_BURST][i], h, tpn, ok);
		}
		if (xb_peer_in(p, 1)) {
			memset(h, 0, 2 * sizeof *h);
			struct xb_pipe_limits lim = {MIN_SECONDS(cfg), MAX_SECONDS(cfg),
						     MIN_BURSTS(cfg)};
			int ok = xb_pipe_run(p, &lim, &h[0], &h[1], &tpn, NULL) == 0;
			fill(&g_tail.row[XB_TAIL_PIPE_ALLOC][i], &h[0], tpn, ok);
			fill(&g_tail.row[XB_TAIL_PIPE_FREE][i], &h[1], tpn, ok);
		}
		printf("  %-18s", p->name);
		for (int w = 0; w < XB_TAIL_N; w++) {
			const struct xb_tail_row *r = &g_tail.row[w][i];
			if (r->valid)
				printf(" %s p50 %.0f p99.99 %.0f ns;", xb_tail_name[w],
				       r->ns[XB_P50], r->ns[XB_P9999]);
		}
		printf("\n");
		fflush(stdout);
	}
	free(h);
}
