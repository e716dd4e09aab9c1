/* driver.c - one benchmark run from start to end: start DPDK, bring up
 * every peer (and print what each one really calls), register the
 * workloads, run them one after the other with a progress line each,
 * measure memory overhead, then hand everything to the reporter.  main.c
 * (the binary) and bench_smoke_test.c both call xb_bench_main. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static int selected(const struct xb_cfg *cfg, const char *w)
{
	if (cfg->only == NULL || *cfg->only == '\0')
		return 1;
	size_t n = strlen(w);
	for (const char *s = cfg->only; (s = strstr(s, w)) != NULL; s += n)
		if ((s == cfg->only || s[-1] == ',') && (s[n] == '\0' || s[n] == ','))
			return 1;
	return 0;
}

int xb_bench_main(struct xb_cfg *cfg, struct xb_overhead *ov_out)
{
	char err[256] = "";
	double t0 = xb_now();
	struct xb_overhead ov;
	int ready = 0;

	xb_init(&cfg->argc, cfg->argv);
	if (cfg->min_time <= 0)
		cfg->min_time = cfg->quick ? 0.01 : 0.5;
	cfg->load_start = xb_loadavg();
	xb_set_default_min_time(cfg->min_time);

	printf("xmem benchmark: %s mode, threads up to %d, %.2f s per benchmark, "
	       "load average %.2f\n", cfg->quick ? "quick" : "full", cfg->max_threads,
	       cfg->min_time, cfg->load_start);
	if (cfg->load_start > 0.5)
		printf("note: the machine is busy; numbers will be noisy, "
		       "the 2-thread ones most of all\n");
	if (xb_dpdk_init(err, sizeof err) != 0)
		printf("DPDK did not start: %s\n", err);
	printf("peers:\n");
	for (int i = 0; i < XB_N_PEERS; i++) {
		struct xb_peer *p = xb_peers[i];
		p->ready = p->init(p) == 0;
		ready += p->ready;
		printf("  %-12s %s%s\n", p->name, p->ready ? "" : "UNAVAILABLE: ", p->about);
	}
	fflush(stdout);

	if (cfg->plain != NULL) {
		if (xb_plain_load(cfg->plain) == 0)
			printf("plain loop: figures from %s\n", cfg->plain);
		else
			printf("plain loop: %s\n", xb_plain_result()->note);
	}

	struct {
		const char *key, *title, *pattern;
		void (*reg)(const struct xb_cfg *);
	} w[] = {
		{"burst", "burst: alloc 32 x 2 KiB then free them, 1..N threads; the harness "
		 "check; the peer interface", "^(burst|harness|interface)/", xb_w_burst_register},
		{"mixed", "mixed: burst of 32 mixed sizes, 16 B .. 16 KiB",
		 "^mixed/", xb_w_mixed_register},
		{"pipeline", "pipeline: RX allocates -> SPSC ring -> TX frees (scrambled, "
		 "with writes, in allocation order)", "^pipeline", xb_w_pipeline_register},
		{"translate", "translate: virt -> IOVA at random addresses over 1 GiB",
		 "^translate/", xb_w_translate_register},
		{"numa", "workload 8: by node, xmem_alloc_bulk_node(XMEM_NUMA_LOCAL) against "
		 "xmem_alloc_bulk on the same heap", "^numa/", xb_w_numa_register},
	};
	int nw = (int)(sizeof w / sizeof w[0]);
	/* overhead, and latency, tail, curves when selected */
	int total = 1 + selected(cfg, "latency") + selected(cfg, "tail") + selected(cfg, "curves") +
		    selected(cfg, "pipeline");
	for (int k = 0; k < nw; k++)
		total += selected(cfg, w[k].key);
	if (selected(cfg, "translate") && xb_w_translate_setup(cfg, err, sizeof err) != 0)
		printf("translation setup failed: %s\n", err);
	int step = 0;
	for (int k = 0; k < nw; k++) {
		if (!selected(cfg, w[k].key))
			continue;
		/* mixed needs its sizes even when only overhead runs: registering
		 * generates them, so register it whatever. */
		w[k].reg(cfg);
		printf("\n[%d/%d] %s\n", ++step, total, w[k].title);
		fflush(stdout);
		xb_run(w[k].pattern);
	}
	if (selected(cfg, "numa"))
		xb_w_numa_print(stdout);
	if (selected(cfg, "pipeline")) {
		printf("\n[%d/%d] pipeline in alternating rounds: xmem and rte_mempool, 2 threads, "
		       "scrambled, no writes\n", ++step, total);
		fflush(stdout);
		xb_w_pairs_run(cfg);
	}
	if (!selected(cfg, "mixed"))
		xb_w_mixed_register(cfg); /* generates the size sequence; never run */
	if (selected(cfg, "latency")) {
		printf("\n[%d/%d] latency: one 32 x 2 KiB xmem burst, quiet and with a busy "
		       "control plane (stats 1 kHz, add/remove 2 MiB at 100 Hz)\n", ++step, total);
		fflush(stdout);
		xb_w_latency_run(cfg);
	}
	if (selected(cfg, "tail")) {
		printf("\n[%d/%d] tail: per-burst latency of every peer (burst, pipeline)\n",
		       ++step, total);
		fflush(stdout);
		xb_w_tail_run(cfg);
	}
	if (selected(cfg, "curves")) {
		printf("\n[%d/%d] curves: cost over GiB registered, heaps in use; translation "
		       "memory\n", ++step, total);
		fflush(stdout);
		xb_w_curves_run(cfg);
	}
	printf("\n[%d/%d] overhead: memory overhead (fragmentation, metadata)\n",
	       ++step, total);
	fflush(stdout);
	xb_w_overhead_run(cfg, &ov);
	xb_report(cfg, &ov, xb_now() - t0);
	if (ov_out != NULL)
		*ov_out = ov;
	return ready == XB_N_PEERS ? 0 : 1;
}
