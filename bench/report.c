/* report.c - what the three outputs share: looking a run up, the targets
 * stated against this run, the harness check, and the entry point that
 * writes table.md (report_table.c), results.json (report_json.c),
 * results.svg (report_svg.c) and ratios.txt (the key ratios as "name value"
 * lines, which scripts/bench_spread.sh collects over several runs). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/report.h"

const char *const xb_colors[XB_N_PEERS] = {
	[XB_XMEM] = "#d62728",
	[XB_RTE_MALLOC] = "#1f77b4",
	[XB_RTE_MEMPOOL] = "#8fbfe6",
	[XB_RTE_MEMPOOL_STACK] = "#17becf",
	[XB_GLIBC] = "#7f7f7f",
	[XB_JEMALLOC] = "#2ca02c",
	[XB_MIMALLOC] = "#9467bd",
	[XB_XMEM_CHECKED] = "#ff9896",
};

const char *const xb_pipe_wl[XB_N_PIPE] = {"pipeline", "pipeline_write", "pipeline_inorder"};
const char *const xb_pipe_label[XB_N_PIPE] = {
	"scrambled TX order, no writes", "scrambled TX order, RX writes 64 B",
	"allocation order, no writes"};

/* ---- looking results up ------------------------------------------------ */

const char *xb_run_peer_name(const char *workload, int peer)
{
	if (strcmp(workload, "translate") == 0 && peer == XB_RTE_MALLOC)
		return "rte_memseg";
	return xb_peers[peer]->name;
}

static const struct xb_result *find(const char *name, int threads)
{
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (strcmp(r->name, name) == 0 && r->threads == threads)
			return r;
	}
	return NULL;
}

struct cell xb_lookup(const char *workload, int peer, int threads, int kind)
{
	struct cell c = {0};
	char name[96];

	snprintf(name, sizeof name, "%s/%s", workload, xb_run_peer_name(workload, peer));
	const struct xb_result *r = find(name, threads);
	if (r == NULL)
		return c;
	c.have = 1;
	if (r->error || r->items_per_sec <= 0) {
		c.err = 1;
		c.msg = r->error ? r->error_msg : "no objects counted";
		return c;
	}
	if (kind == K_NS_PER_OBJ) {
		c.v = 1e9 * threads / r->items_per_sec;
		c.ns = c.v;
	} else {
		c.v = r->items_per_sec;
		c.ns = 1e9 / r->items_per_sec;
	}
	return c;
}

/* Distinct thread counts measured for a workload, ascending. */
int xb_threads_of(const char *workload, int *out, int cap)
{
	size_t wl = strlen(workload);
	int n = 0;
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (strncmp(r->name, workload, wl) != 0 || r->name[wl] != '/')
			continue;
		int seen = 0;
		for (int k = 0; k < n; k++)
			seen |= out[k] == r->threads;
		if (!seen && n < cap)
			out[n++] = r->threads;
	}
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (out[b] < out[a]) {
				int t = out[a];
				out[a] = out[b];
				out[b] = t;
			}
	return n;
}

void xb_fmt_num(char *b, size_t n, double v)
{
	if (v >= 1000)
		snprintf(b, n, "%.0f", v);
	else if (v >= 100)
		snprintf(b, n, "%.1f", v);
	else if (v >= 10)
		snprintf(b, n, "%.2f", v);
	else
		snprintf(b, n, "%.3f", v);
}

double xb_ring_alone(void)
{
	const struct xb_result *r = find("pipeline_ring/alone", 2);
	return r != NULL && !r->error && r->items_per_sec > 0 ? r->items_per_sec : 0;
}

/* ---- the harness check -------------------------------------------------- */

void xb_harness_check(struct xb_harness *h)
{
	static const int via[2] = {XB_XMEM, XB_RTE_MEMPOOL};
	const struct xb_result *r = find("harness/keeprunning", 1);
	int tl[32];

	memset(h, 0, sizeof *h);
	for (int i = 0; i < 2; i++) {
		h->via[i] = xb_lookup("interface", via[i], 1, K_NS_PER_OBJ);
		h->loop[i] = xb_lookup("burst", via[i], 1, K_NS_PER_OBJ);
	}
	if (r == NULL || r->error || r->items_per_sec <= 0)
		return;
	h->iter_ns = 1e9 / r->items_per_sec;
	h->fastest_burst = h->fastest_pipe = INFINITY;
	int nt = xb_threads_of("burst", tl, 32);
	for (int k = 0; k < nt; k++)
		for (int p = 0; p < XB_N_PEERS; p++) {
			struct cell c = xb_lookup("burst", p, tl[k], K_NS_PER_OBJ);
			if (c.have && !c.err)
				h->fastest_burst = fmin(h->fastest_burst, c.ns);
		}
	for (int w = 0; w < XB_N_PIPE; w++) {
		nt = xb_threads_of(xb_pipe_wl[w], tl, 32);
		for (int k = 0; k < nt; k++)
			for (int p = 0; p < XB_N_PEERS; p++) {
				struct cell c = xb_lookup(xb_pipe_wl[w], p, tl[k], K_OBJ_PER_SEC);
				/* per thread: a pair's iteration moves 16 bursts */
				if (c.have && !c.err)
					h->fastest_pipe = fmin(h->fastest_pipe, c.ns * tl[k] /
							       (tl[k] > 1 ? 2 : 1));
			}
	}
	h->have = isfinite(h->fastest_burst);
	h->pct_burst = 100 * h->iter_ns /
		       (h->fastest_burst * XB_BURSTS_PER_ITER * XB_BURST);
	h->pct_pipe = isfinite(h->fastest_pipe) ?
		      100 * h->iter_ns / (h->fastest_pipe * XB_PIPE_BURSTS_PER_ITER * XB_BURST) : 0;
	h->ok = h->pct_burst <= XB_HARNESS_MAX_PCT && h->pct_pipe <= XB_HARNESS_MAX_PCT;
}

/* ---- the targets, stated against this run ------------------------------ */

int xb_targets(struct target *t, int cap, const struct xb_overhead *ov)
{
	struct cell bx = xb_lookup("burst", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell bp = xb_lookup("burst", XB_RTE_MEMPOOL, 1, K_NS_PER_OBJ);
	struct cell bm = xb_lookup("burst", XB_RTE_MALLOC, 1, K_NS_PER_OBJ);
	struct cell mx = xb_lookup("mixed", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell mm = xb_lookup("mixed", XB_MIMALLOC, 1, K_NS_PER_OBJ);
	struct cell mj = xb_lookup("mixed", XB_JEMALLOC, 1, K_NS_PER_OBJ);
	struct cell tx = xb_lookup("translate", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell td = xb_lookup("translate", XB_RTE_MALLOC, 1, K_NS_PER_OBJ);
	const struct xb_plain *pl = xb_plain_result();
	const struct xb_curves *cv = xb_curves_result();
	int n = 0;
#define OK(c) ((c).have && !(c).err)
#define ADD(have, cond, ...) do { \
		if (n >= cap) break; \
		t[n].status = !(have) ? -1 : (cond) ? 1 : 0; \
		snprintf(t[n].what, sizeof t[n].what, "%s", what); \
		t[n].detail[0] = 0; \
		if (t[n].status >= 0) snprintf(t[n].detail, sizeof t[n].detail, __VA_ARGS__); \
		n++; \
	} while (0)
	const char *what;
	what = "plain loop: xmem <= 1.25x rte_mempool ns/obj (the bar)";
	ADD(pl->valid, pl->burst_ratio <= 1.25, " (%.3fx)", pl->burst_ratio);
	what = "plain loop: xmem <= 1.0x rte_mempool ns/obj (the goal)";
	ADD(pl->valid, pl->burst_ratio <= 1.0, " (%.3fx)", pl->burst_ratio);
	{
		/* The worst size of bench/plain/burst_sizes.c. */
		int w = 0;
		for (int i = 1; i < pl->n_sizes; i++)
			if (pl->size_ratio[i] > pl->size_ratio[w])
				w = i;
		what = "plain loop by burst size (1 to 64): xmem <= 1.25x rte_mempool at each";
		ADD(pl->valid && pl->n_sizes > 0, pl->size_ratio[w] <= 1.25,
		    " (worst: %.3fx with bursts of %u)", pl->size_ratio[w], pl->size[w]);
	}
	what = "plain loop: translation >= 8x DPDK memseg";
	ADD(pl->valid, pl->tr_ratio >= 8, " (%.1fx)", pl->tr_ratio);
	what = "plain loop: translation <= 1.5 ns per lookup";
	ADD(pl->valid, pl->tr_xmem_median <= 1.5, " (%.2f ns)", pl->tr_xmem_median);
	what = "burst loop: xmem <= 1.25x rte_mempool ns/obj";
	ADD(OK(bx) && OK(bp), bx.ns <= 1.25 * bp.ns, " (%.3fx)", bx.ns / bp.ns);
	what = "burst: xmem >= 50x faster than rte_malloc";
	ADD(OK(bx) && OK(bm), bm.ns >= 50 * bx.ns, " (%.1fx)", bm.ns / bx.ns);
	what = "mixed: xmem faster than mimalloc";
	ADD(OK(mx) && OK(mm), mx.ns < mm.ns, " (%.2fx)", mm.ns / mx.ns);
	what = "mixed: xmem faster than jemalloc";
	ADD(OK(mx) && OK(mj), mx.ns < mj.ns, " (%.2fx)", mj.ns / mx.ns);
	for (int w = 0; w < 2; w++) {
		struct cell px = xb_lookup(xb_pipe_wl[w], XB_XMEM, 2, K_OBJ_PER_SEC);
		struct cell pp = xb_lookup(xb_pipe_wl[w], XB_RTE_MEMPOOL, 2, K_OBJ_PER_SEC);
		char buf[120];
		snprintf(buf, sizeof buf, "pipeline (%s): xmem >= 1.0x rte_mempool throughput",
			 xb_pipe_label[w]);
		what = buf;
		ADD(OK(px) && OK(pp), px.v >= pp.v, " (%.2fx)", px.v / pp.v);
	}
	const struct xb_pairs *pr = xb_pairs_result();
	what = "pipeline (scrambled, no writes), alternating rounds: median xmem >= 1.0x "
	       "rte_mempool";
	ADD(pr->valid, pr->median >= 1.0, " (%.3fx over %d rounds)", pr->median, pr->rounds);
	what = "translation, 1 GiB of 4 KiB pages: xmem <= 1.5 ns per lookup";
	ADD(OK(tx), tx.ns <= 1.5, " (%.2f ns)", tx.ns);
	what = "translation, 1 GiB of 4 KiB pages: xmem >= 8x DPDK memseg";
	ADD(OK(tx) && OK(td), td.ns >= 8 * tx.ns, " (%.1fx)", td.ns / tx.ns);
	what = "translation stays flat: 64 GiB <= 1.5x the 1 GiB lookup";
	ADD(cv->n_sizes >= 4 && cv->tr_ns[0] > 0, cv->tr_ns[3] <= 1.5 * cv->tr_ns[0], " (%.2fx)",
	    cv->tr_ns[3] / cv->tr_ns[0]);
	what = "2 MiB pages: translation memory per GiB <= 1/64 of 4 KiB pages'";
	ADD(cv->pm_rss_2m >= 0 && cv->pm_rss_4k > 0, cv->pm_rss_2m * 64 <= cv->pm_rss_4k,
	    " (%.0f vs %.0f KiB)", cv->pm_rss_2m / 1024, cv->pm_rss_4k / 1024);
	/* The control plane's cost on the data path's tail. */
	const struct xb_latency *lat = xb_latency_result();
	static const int lat_pct[2] = {XB_P999, XB_P9999};
	static const double lat_max[2] = {XB_LAT_TARGET_P999, XB_LAT_TARGET_P9999};
	for (int k = 0; k < 2 && n < cap; k++) {
		int pc = lat_pct[k];
		char buf[120];
		snprintf(buf, sizeof buf, "latency: busy control plane <= %.0fx quiet at %s",
			 lat_max[k], xb_pct_name[pc]);
		what = buf;
		double r = lat->quiet.ns[pc] > 0 ? lat->busy.ns[pc] / lat->quiet.ns[pc] : NAN;
		ADD(lat->valid && lat->quiet.ns[pc] > 0, r <= lat_max[k], " (%.2fx)", r);
	}
	for (int m = 0; m < 2; m++) {
		what = m ? "metadata <= 0.5% of memory, 2 KiB objects, 2 MiB pages" :
			   "metadata <= 0.5% of memory, 2 KiB objects, 4 KiB pages";
		ADD(ov->meta[m].valid, ov->meta[m].full <= 0.005 * (double)XB_GIB, " (%.3f%%)",
		    100.0 * ov->meta[m].full / (double)XB_GIB);
	}
#undef ADD
#undef OK
	return n;
}

/* ---- ratios.txt: the key figures of this run, one per line -------------- */

static void write_ratios(FILE *f)
{
	const struct xb_plain *pl = xb_plain_result();
	struct xb_harness h;
	struct cell a, b;

	if (pl->valid)
		fprintf(f, "plain_burst_xmem_per_mempool %.4f\nplain_translate_memseg_per_xmem "
			"%.4f\nplain_translate_xmem_ns %.4f\n", pl->burst_ratio, pl->tr_ratio,
			pl->tr_xmem_median);
	for (int i = 0; pl->valid && i < pl->n_sizes; i++)
		fprintf(f, "plain_burst%u_xmem_per_mempool %.4f\n", pl->size[i],
			pl->size_ratio[i]);
	a = xb_lookup("burst", XB_XMEM, 1, K_NS_PER_OBJ);
	b = xb_lookup("burst", XB_RTE_MEMPOOL, 1, K_NS_PER_OBJ);
	if (a.have && !a.err && b.have && !b.err)
		fprintf(f, "burst_xmem_per_mempool %.4f\n", a.ns / b.ns);
	for (int w = 0; w < XB_N_PIPE; w++) {
		a = xb_lookup(xb_pipe_wl[w], XB_XMEM, 2, K_OBJ_PER_SEC);
		b = xb_lookup(xb_pipe_wl[w], XB_RTE_MEMPOOL, 2, K_OBJ_PER_SEC);
		if (a.have && !a.err && b.have && !b.err)
			fprintf(f, "%s_xmem_per_mempool_throughput %.4f\n", xb_pipe_wl[w], a.v / b.v);
		b = xb_lookup(xb_pipe_wl[w], XB_RTE_MEMPOOL_STACK, 2, K_OBJ_PER_SEC);
		if (a.have && !a.err && b.have && !b.err)
			fprintf(f, "%s_xmem_per_mempool_stack_throughput %.4f\n", xb_pipe_wl[w],
				a.v / b.v);
	}
	const struct xb_pairs *pr = xb_pairs_result();
	if (pr->valid)
		fprintf(f, "pipeline_pairs_xmem_per_mempool_median %.4f\n", pr->median);
	if (xb_ring_alone() > 0)
		fprintf(f, "pipeline_ring_alone_mobj_per_s %.1f\n", xb_ring_alone() / 1e6);
	a = xb_lookup("translate", XB_XMEM, 1, K_NS_PER_OBJ);
	b = xb_lookup("translate", XB_RTE_MALLOC, 1, K_NS_PER_OBJ);
	if (a.have && !a.err && b.have && !b.err)
		fprintf(f, "translate_memseg_per_xmem %.4f\ntranslate_xmem_ns %.4f\n", b.ns / a.ns,
			a.ns);
	xb_harness_check(&h);
	if (h.have)
		fprintf(f, "harness_pct_of_fastest_burst %.4f\n", h.pct_burst);
	const struct xb_latency *lat = xb_latency_result();
	if (lat->valid)
		fprintf(f, "latency_busy_per_quiet_p999 %.4f\nlatency_busy_per_quiet_p9999 %.4f\n",
			lat->busy.ns[XB_P999] / lat->quiet.ns[XB_P999],
			lat->busy.ns[XB_P9999] / lat->quiet.ns[XB_P9999]);
	fprintf(f, "load_average %.2f\n", xb_loadavg());
}

/* ---- entry ------------------------------------------------------------- */

static FILE *open_out(const struct xb_cfg *cfg, const char *file, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", cfg->out_dir, file);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

void xb_report(const struct xb_cfg *cfg, const struct xb_overhead *ov, double seconds)
{
	char path[4][4096];
	FILE *f;

	printf("\n");
	xb_print_table(stdout, cfg, ov, seconds);
	if (cfg->out_dir == NULL)
		return;
	if (mkdir(cfg->out_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench: cannot create %s: %s\n", cfg->out_dir, strerror(errno));
		return;
	}
	if ((f = open_out(cfg, "table.md", path[0], sizeof path[0])) != NULL) {
		xb_print_table(f, cfg, ov, seconds);
		fprintf(f, "\nPeers (what each one really calls):\n\n");
		for (int i = 0; i < XB_N_PEERS; i++)
			fprintf(f, "- %s: %s%s\n", xb_peers[i]->name,
			        xb_peers[i]->ready ? "" : "UNAVAILABLE: ", xb_peers[i]->about);
		fclose(f);
	}
	if ((f = open_out(cfg, "results.json", path[1], sizeof path[1])) != NULL) {
		xb_write_json(f, cfg, ov, seconds);
		fclose(f);
	}
	if ((f = open_out(cfg, "results.svg", path[2], sizeof path[2])) != NULL) {
		xb_write_svg(f, cfg, ov);
		fclose(f);
	}
	if ((f = open_out(cfg, "ratios.txt", path[3], sizeof path[3])) != NULL) {
		write_ratios(f);
		fclose(f);
	}
	printf("\nwrote %s\n      %s\n      %s\n      %s\n", path[0], path[1], path[2],
	       path[3]);
}
