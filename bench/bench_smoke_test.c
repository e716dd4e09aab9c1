/* bench_smoke_test.c - runs every workload of the benchmark once in quick
 * mode, in this process, for every peer, and checks that each produced a
 * number: the Google Benchmark runs (burst, harness, interface, mixed, the
 * three pipelines, translation), the tail latency of every peer, the
 * curves, the overhead of every peer and the control-plane latency run.  It
 * never looks at how fast anything was: timing is not asserted in tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static int g_fail;

static void expect_run(const char *workload, const char *peer, int threads)
{
	char name[96];
	snprintf(name, sizeof name, "%s/%s", workload, peer);
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (strcmp(r->name, name) != 0 || r->threads != threads)
			continue;
		if (r->error) {
			printf("FAIL %s threads:%d: %s\n", name, threads, r->error_msg);
			g_fail++;
		} else if (!(r->items_per_sec > 0) || !isfinite(r->items_per_sec)) {
			printf("FAIL %s threads:%d: no objects per second\n", name, threads);
			g_fail++;
		} else {
			printf("ok   %s threads:%d: %.4g objects/s\n", name, threads,
			       r->items_per_sec);
		}
		return;
	}
	printf("FAIL %s threads:%d: no result\n", name, threads);
	g_fail++;
}

static void expect_tail(const struct xb_tail *t, int w, int peer)
{
	const struct xb_tail_row *r = &t->row[w][peer];
	if (!t->ran || !r->valid || r->samples == 0 || !(r->ns[XB_PMAX] > 0) ||
	    r->ns[XB_P50] > r->ns[XB_PMAX]) {
		printf("FAIL tail %s/%s: %s\n", xb_tail_name[w], xb_peers[peer]->name,
		       t->ran ? "no samples" : "did not run");
		g_fail++;
	} else {
		printf("ok   tail %s/%s: %llu bursts, p50 %.0f ns\n", xb_tail_name[w],
		       xb_peers[peer]->name, (unsigned long long)r->samples, r->ns[XB_P50]);
	}
}

int main(int argc, char **argv)
{
	struct xb_cfg cfg;
	struct xb_overhead ov;
	char *gb_argv[] = {argv[0], NULL};
	(void)argc;

	xb_reexec_for_static_tls(argv);
	memset(&cfg, 0, sizeof cfg);
	cfg.quick = 1;
	cfg.max_threads = 2;
	cfg.out_dir = getenv("TEST_UNDECLARED_OUTPUTS_DIR"); /* NULL: no files */
	cfg.argc = 1;
	cfg.argv = gb_argv;
	int rc = xb_bench_main(&cfg, &ov);

	printf("\n== smoke checks ==\n");
	for (int i = 0; i < XB_N_PEERS; i++) {
		const struct xb_peer *p = xb_peers[i];
		if (!p->ready) {
			printf("FAIL peer %s unavailable: %s\n", p->name, p->about);
			g_fail++;
			continue;
		}
		const struct xb_tail *tail = xb_tail_result();
		expect_run("pipeline", p->name, 1);
		expect_run("pipeline", p->name, 2);
		expect_run("pipeline_write", p->name, 2);
		expect_run("pipeline_inorder", p->name, 2);
		for (int w = XB_TAIL_PIPE_ALLOC; w <= XB_TAIL_PIPE_FREE; w++)
			expect_tail(tail, w, i);
		if (p->pipeline_only)
			continue;
		expect_run("burst", p->name, 1);
		expect_run("burst", p->name, 2);
		expect_tail(tail, XB_TAIL_BURST, i);
		if (!p->fixed_size)
			expect_run("mixed", p->name, 1);
		for (int s = 0; s < 2; s++) {
			if (s == 1 && p->fixed_size)
				continue;
			if (!ov.frag[s][i].valid || !(ov.frag[s][i].usable > 0)) {
				printf("FAIL overhead %s set %d: %s\n", p->name, s, ov.frag[s][i].note);
				g_fail++;
			}
		}
	}
	expect_run("harness", "keeprunning", 1);
	expect_run("pipeline_ring", "alone", 2);
	expect_run("interface", "xmem", 1);
	expect_run("interface", "rte_mempool", 1);
	expect_run("translate", "xmem", 1);
	expect_run("translate", "rte_memseg", 1);
	const struct xb_curves *cv = xb_curves_result();
	if (!cv->valid || !(cv->tr_ns[1] > 0) || !(cv->heaps_ns[1] > 0) || !(cv->pm_rss_4k > 0)) {
		printf("FAIL curves: %d sizes, %d heap counts, page map %.0f B/GiB: %s\n",
		       cv->n_sizes, cv->n_heaps, cv->pm_rss_4k, cv->note);
		g_fail++;
	} else {
		printf("ok   curves: %d sizes, %d heap counts\n", cv->n_sizes, cv->n_heaps);
	}
	/* The control-plane run: both runs measured, the control thread did its ops. */
	const struct xb_latency *lat = xb_latency_result();
	if (!lat->ran || !lat->valid || lat->quiet.bursts == 0 || lat->busy.bursts == 0) {
		printf("FAIL latency: %s\n", lat->ran ? lat->note : "did not run");
		g_fail++;
	} else {
		printf("ok   latency: %llu quiet, %llu busy bursts; %llu stats, %llu adds, "
		       "%llu removes\n", (unsigned long long)lat->quiet.bursts,
		       (unsigned long long)lat->busy.bursts,
		       (unsigned long long)lat->busy.stats_ops,
		       (unsigned long long)lat->busy.adds, (unsigned long long)lat->busy.removes);
	}
	for (int m = 0; m < 2; m++)
		if (!ov.meta[m].valid) {
			printf("FAIL xmem metadata (%s pages) not measured: %s\n",
			       m ? "2 MiB" : "4 KiB", ov.meta[m].note);
			g_fail++;
		}
	printf("%s: %d failure%s (bench_main returned %d)\n", g_fail ? "FAILED" : "PASSED",
	       g_fail, g_fail == 1 ? "" : "s", rc);
	return g_fail ? 1 : 0;
}
