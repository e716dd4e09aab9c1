/* report.c - turns the runs into what people read: the side-by-side table
 * (stdout and table.md), the raw record (results.json: every Google
 * Benchmark run with its iterations, times and counters, plus the overhead
 * measurements and what each peer really called) and the plot (results.svg:
 * one panel per workload, grouped bars, log scale for times and rates,
 * drawn here as plain SVG). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

static const char *g_colors[XB_N_PEERS] = {
	"#d62728", /* xmem */
	"#1f77b4", /* rte_malloc */
	"#8fbfe6", /* rte_mempool */
	"#7f7f7f", /* glibc */
	"#2ca02c", /* jemalloc */
	"#9467bd", /* mimalloc */
	"#ff9896", /* xmem checked */
};

/* ---- looking results up ------------------------------------------------ */

enum { K_NS_PER_OBJ, K_OBJ_PER_SEC };

struct cell {
	int    have;   /* a run exists */
	int    err;    /* it failed */
	double v;      /* ns per object per thread, or objects per second */
	double ns;     /* cost per object, the ratio's basis */
	const char *msg;
};

static const char *peer_run_name(const char *workload, int peer)
{
	if (strcmp(workload, "translate") == 0 && peer == XB_RTE_MALLOC)
		return "rte_memseg";
	return xb_peers[peer]->name;
}

static struct cell lookup(const char *workload, int peer, int threads, int kind)
{
	struct cell c = {0};
	char name[96];

	snprintf(name, sizeof name, "%s/%s", workload, peer_run_name(workload, peer));
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (strcmp(r->name, name) != 0 || r->threads != threads)
			continue;
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
	return c;
}

/* Distinct thread counts measured for a workload, ascending. */
static int threads_of(const char *workload, int *out, int cap)
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

/* ---- rows of the table ------------------------------------------------- */

struct row {
	const char *workload;
	int threads;
	int kind;
	char label[80];
	char unit[24];
};

static int build_rows(struct row *rows, int cap)
{
	int n = 0, tl[32], nt;

	nt = threads_of("burst", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"burst", tl[k], K_NS_PER_OBJ, "", "ns/obj"};
		snprintf(rows[n].label, sizeof rows[n].label, "1 burst 32 x 2 KiB, %d thread%s",
		         tl[k], tl[k] > 1 ? "s" : "");
	}
	nt = threads_of("mixed", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"mixed", tl[k], K_NS_PER_OBJ, "", "ns/obj"};
		snprintf(rows[n].label, sizeof rows[n].label, "2 mixed 16 B..16 KiB, %d thread%s",
		         tl[k], tl[k] > 1 ? "s" : "");
	}
	nt = threads_of("pipeline", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"pipeline", tl[k], K_OBJ_PER_SEC, "", "Mobj/s"};
		if (tl[k] == 1)
			snprintf(rows[n].label, sizeof rows[n].label,
			         "3 pipeline, 1 thread (ring, no cross-core)");
		else
			snprintf(rows[n].label, sizeof rows[n].label,
			         "3 pipeline, %d threads (%d pair%s)", tl[k], tl[k] / 2,
			         tl[k] > 2 ? "s" : "");
	}
	nt = threads_of("translate", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"translate", tl[k], K_NS_PER_OBJ, "", "ns/lookup"};
		snprintf(rows[n].label, sizeof rows[n].label, "4 virt->IOVA, 1 GiB, random");
	}
	return n;
}

static void fmt_num(char *b, size_t n, double v)
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

static void fmt_cell(char *b, size_t n, const struct row *r, int peer)
{
	struct cell c = lookup(r->workload, peer, r->threads, r->kind);
	struct cell x = lookup(r->workload, XB_XMEM, r->threads, r->kind);
	char num[32];

	if (!c.have) {
		snprintf(b, n, "n/a");
		return;
	}
	if (c.err) {
		snprintf(b, n, "failed");
		return;
	}
	fmt_num(num, sizeof num, r->kind == K_OBJ_PER_SEC ? c.v / 1e6 : c.v);
	if (peer != XB_XMEM && x.have && !x.err && x.ns > 0)
		snprintf(b, n, "%s (%.2fx)", num, c.ns / x.ns);
	else
		snprintf(b, n, "%s", num);
}

/* ---- the targets, stated against this run ----------------------- */

struct target {
	char what[96];
	int  status;      /* 1 met, 0 not met, -1 not measured */
	char detail[64];
};

static int targets(struct target *t, int cap, const struct xb_overhead *ov)
{
	struct cell bx = lookup("burst", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell bp = lookup("burst", XB_RTE_MEMPOOL, 1, K_NS_PER_OBJ);
	struct cell bm = lookup("burst", XB_RTE_MALLOC, 1, K_NS_PER_OBJ);
	struct cell bx2 = lookup("burst", XB_XMEM, 2, K_NS_PER_OBJ);
	struct cell bp2 = lookup("burst", XB_RTE_MEMPOOL, 2, K_NS_PER_OBJ);
	struct cell mx = lookup("mixed", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell mm = lookup("mixed", XB_MIMALLOC, 1, K_NS_PER_OBJ);
	struct cell mj = lookup("mixed", XB_JEMALLOC, 1, K_NS_PER_OBJ);
	struct cell px = lookup("pipeline", XB_XMEM, 2, K_OBJ_PER_SEC);
	struct cell pm = lookup("pipeline", XB_RTE_MALLOC, 2, K_OBJ_PER_SEC);
	struct cell pp = lookup("pipeline", XB_RTE_MEMPOOL, 2, K_OBJ_PER_SEC);
	struct cell tx = lookup("translate", XB_XMEM, 1, K_NS_PER_OBJ);
	struct cell td = lookup("translate", XB_RTE_MALLOC, 1, K_NS_PER_OBJ);
	int n = 0;
#define OK(c) ((c).have && !(c).err)
#define ADD(cond, a, b, ...) do { \
		if (n >= cap) break; \
		t[n].status = !(OK(a) && OK(b)) ? -1 : (cond) ? 1 : 0; \
		snprintf(t[n].what, sizeof t[n].what, "%s", what); \
		if (t[n].status >= 0) snprintf(t[n].detail, sizeof t[n].detail, __VA_ARGS__); \
		else t[n].detail[0] = 0; \
		n++; \
	} while (0)
	const char *what;
	what = "burst: xmem <= 1.5x rte_mempool ns/obj";
	ADD(bx.ns <= 1.5 * bp.ns, bx, bp, " (%.2fx)", bx.ns / bp.ns);
	what = "burst, 2 threads: xmem <= 1.5x rte_mempool ns/obj";
	ADD(bx2.ns <= 1.5 * bp2.ns, bx2, bp2, " (%.2fx)", bx2.ns / bp2.ns);
	what = "burst: xmem >= 50x faster than rte_malloc";
	ADD(bm.ns >= 50 * bx.ns, bx, bm, " (%.1fx)", bm.ns / bx.ns);
	what = "mixed: xmem faster than mimalloc";
	ADD(mx.ns < mm.ns, mx, mm, " (%.2fx)", mm.ns / mx.ns);
	what = "mixed: xmem faster than jemalloc";
	ADD(mx.ns < mj.ns, mx, mj, " (%.2fx)", mj.ns / mx.ns);
	what = "pipeline: xmem >= 2x rte_malloc throughput";
	ADD(px.v >= 2 * pm.v, px, pm, " (%.2fx)", px.v / pm.v);
	what = "pipeline: xmem within 2x of rte_mempool";
	ADD(px.v * 2 >= pp.v, px, pp, " (%.2fx)", px.v / pp.v);
	what = "translation: xmem <= 3 ns per lookup";
	ADD(tx.ns <= 3, tx, tx, " (%.2f ns)", tx.ns);
	what = "translation: xmem >= 5x faster than DPDK memseg";
	ADD(td.ns >= 5 * tx.ns, tx, td, " (%.1fx)", td.ns / tx.ns);
	/* Workload 7: the control plane's cost on the data path's tail. */
	const struct xb_latency *lat = xb_latency_result();
	static const int lat_pct[2] = {XMEM_LAT_P999, XMEM_LAT_P9999};
	static const double lat_max[2] = {XB_LAT_TARGET_P999, XB_LAT_TARGET_P9999};
	for (int k = 0; k < 2 && n < cap; k++, n++) {
		int pc = lat_pct[k];
		snprintf(t[n].what, sizeof t[n].what, "latency: busy control plane <= %.0fx quiet at %s",
		         lat_max[k], xmem_lat_pct_name[pc]);
		t[n].status = -1;
		t[n].detail[0] = 0;
		if (lat->valid && lat->quiet.ns[pc] > 0) {
			double r = lat->busy.ns[pc] / lat->quiet.ns[pc];
			t[n].status = r <= lat_max[k];
			snprintf(t[n].detail, sizeof t[n].detail, " (%.2fx)", r);
		}
	}
	if (n < cap) {
		snprintf(t[n].what, sizeof t[n].what, "metadata <= 1%% of memory, 2 KiB objects");
		t[n].status = ov->xmem_meta_valid ?
			ov->xmem_meta_full <= 0.01 * (double)XB_GIB : -1;
		if (ov->xmem_meta_valid)
			snprintf(t[n].detail, sizeof t[n].detail, " (%.2f%%)",
			         100.0 * ov->xmem_meta_full / (double)XB_GIB);
		else
			t[n].detail[0] = 0;
		n++;
	}
#undef ADD
#undef OK
	return n;
}

/* ---- the table --------------------------------------------------------- */

static void print_table(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
                        double seconds)
{
	struct row rows[64];
	int nr = build_rows(rows, 64);
	char b[64];

	fprintf(f, "## xmem benchmark: every peer in one process, same memory\n\n");
	fprintf(f, "Cells: value (ratio). Ratio = the peer's cost per object / xmem's "
	        "cost per object in this run; above 1 means xmem is faster. "
	        "ns/obj is per thread (wall time per object on one thread); "
	        "Mobj/s is all pairs together.\n\n");
	fprintf(f, "| workload | unit |");
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, " %s |", xb_peers[i]->name);
	fprintf(f, "\n|---|---|");
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (int k = 0; k < nr; k++) {
		fprintf(f, "| %s | %s |", rows[k].label, rows[k].unit);
		for (int i = 0; i < XB_N_PEERS; i++) {
			fmt_cell(b, sizeof b, &rows[k], i);
			fprintf(f, " %s |", b);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\nn/a: the peer does not do this workload (rte_mempool has one "
	        "element size). Row 4: the rte_malloc column is DPDK's "
	        "rte_mem_virt2memseg + ms->iova on the same range "
	        "(rte_extmem_register).\n");

	/* Failures, with the reason. */
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (r->error)
			fprintf(f, "\n- %s failed: %s", r->full_name, r->error_msg);
	}

	fprintf(f, "\n\n### Memory overhead (workload 5)\n\n");
	fprintf(f, "usable = bytes the peer says each block may hold / bytes asked for. "
	        "in-use = bytes the blocks take / bytes asked for: the allocator's own "
	        "in-use count where it has one (xmem alloc_bytes; rte_malloc "
	        "heap_allocsz_bytes, in-band headers included; rte_mempool objects x "
	        "(header + element + trailer)), else per block: glibc usable + 8 B "
	        "chunk header, jemalloc and mimalloc the size class (no in-band header). "
	        "xmem's metadata is out of band and shown below.\n\n");
	fprintf(f, "| request set | ratio |");
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, " %s |", xb_peers[i]->name);
	fprintf(f, "\n|---|---|");
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	const char *set_name[2] = {"4096 x 2 KiB (workloads 1, 3)",
	                           "4096 mixed 16 B..16 KiB (workload 2)"};
	for (int s = 0; s < 2; s++)
		for (int m = 0; m < 2; m++) {
			fprintf(f, "| %s | %s |", set_name[s], m ? "in-use" : "usable");
			for (int i = 0; i < XB_N_PEERS; i++) {
				const struct xb_frag *fr = &ov->frag[s][i];
				double v = m ? fr->in_use : fr->usable;
				if (!fr->valid || v <= 0)
					fprintf(f, " n/a |");
				else
					fprintf(f, " %.3f |", v / fr->requested);
			}
			fprintf(f, "\n");
		}
	if (ov->xmem_meta_valid) {
		fprintf(f, "\nxmem metadata per GiB of managed memory: %.1f KiB empty, "
		        "%.1f KiB filled with 2 KiB objects = %.3f%% (%s).",
		        ov->xmem_meta_empty / 1024, ov->xmem_meta_full / 1024,
		        100.0 * ov->xmem_meta_full / (double)XB_GIB, ov->xmem_meta_note);
	} else {
		fprintf(f, "\nxmem metadata per GiB: not measured (%s).",
		        ov->xmem_meta_note[0] ? ov->xmem_meta_note : "xmem unavailable");
	}
	if (ov->dpdk_hdr_per_obj > 0)
		fprintf(f, " rte_malloc keeps %.0f B in band per 2 KiB object "
		        "(%.1f%% of the memory it manages).",
		        ov->dpdk_hdr_per_obj,
		        100.0 * ov->dpdk_hdr_per_obj / (XB_OBJ_SIZE + ov->dpdk_hdr_per_obj));
	fprintf(f, "\n");

	xb_latency_print(f);

	struct target t[12];
	int nt = targets(t, 12, ov);
	fprintf(f, "\n### Targets in this run\n\n");
	for (int k = 0; k < nt; k++)
		fprintf(f, "- %s: %s%s\n", t[k].what, t[k].status == 1 ? "met" :
		        t[k].status == 0 ? "NOT met" : "not measured", t[k].detail);
	fprintf(f, "\n%s mode, %.2f s per benchmark, threads up to %d, %.0f s in all; "
	        "load average %.2f at the start, %.2f at the end%s.\n",
	        cfg->quick ? "quick" : "full", cfg->min_time, cfg->max_threads, seconds,
	        cfg->load_start, xb_loadavg(),
	        cfg->load_start > 0.5 ? " (a busy machine: treat the numbers as noisy)" : "");
}

/* ---- JSON -------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fprintf(f, "null");
}

static void write_json(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
                       double seconds)
{
	struct utsname u;
	char host[128] = "?";
	time_t now = time(NULL);
	char when[64];

	uname(&u);
	gethostname(host, sizeof host);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "{\n  \"context\": {\"date\": ");
	json_str(f, when);
	fprintf(f, ", \"host\": ");
	json_str(f, host);
	fprintf(f, ", \"kernel\": ");
	json_str(f, u.release);
	fprintf(f, ", \"cpus\": %ld, \"quick\": %d, \"max_threads\": %d, "
	        "\"min_time_s\": %g, \"seconds\": %.1f, \"load_avg_start\": %.2f, "
	        "\"load_avg_end\": %.2f,\n",
	        sysconf(_SC_NPROCESSORS_ONLN), cfg->quick, cfg->max_threads,
	        cfg->min_time, seconds, cfg->load_start, xb_loadavg());
	fprintf(f, "    \"memory\": \"anonymous mmap, 4 KiB pages, populated, per-page "
	        "IOVA table; %zu MiB per DMA-heap peer\", \"burst\": %d, "
	        "\"object_size\": %d, \"mixed_sizes\": [%d, %d]},\n",
	        XB_HEAP_BYTES >> 20, XB_BURST, XB_OBJ_SIZE, XB_MIN_SIZE, XB_MAX_SIZE);
	fprintf(f, "  \"peers\": [\n");
	for (int i = 0; i < XB_N_PEERS; i++) {
		fprintf(f, "    {\"name\": ");
		json_str(f, xb_peers[i]->name);
		fprintf(f, ", \"ready\": %s, \"calls\": ", xb_peers[i]->ready ? "true" : "false");
		json_str(f, xb_peers[i]->about);
		fprintf(f, "}%s\n", i + 1 < XB_N_PEERS ? "," : "");
	}
	fprintf(f, "  ],\n  \"runs\": [\n");
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		char wl[64] = "", peer[64] = "";
		const char *slash = strchr(r->name, '/');
		if (slash) {
			snprintf(wl, sizeof wl, "%.*s", (int)(slash - r->name), r->name);
			snprintf(peer, sizeof peer, "%s", slash + 1);
		}
		fprintf(f, "    {\"name\": ");
		json_str(f, r->full_name);
		fprintf(f, ", \"workload\": ");
		json_str(f, wl);
		fprintf(f, ", \"peer\": ");
		json_str(f, peer);
		fprintf(f, ", \"threads\": %d, \"iterations\": %lld, \"real_ns_per_iter\": ",
		        r->threads, (long long)r->iterations);
		json_num(f, r->real_ns);
		fprintf(f, ", \"cpu_ns_per_iter\": ");
		json_num(f, r->cpu_ns);
		fprintf(f, ", \"objects_per_second\": ");
		json_num(f, r->items_per_sec);
		fprintf(f, ", \"ns_per_object_per_thread\": ");
		json_num(f, r->items_per_sec > 0 ? 1e9 * r->threads / r->items_per_sec : NAN);
		fprintf(f, ", \"error\": ");
		if (r->error)
			json_str(f, r->error_msg);
		else
			fprintf(f, "null");
		fprintf(f, ", \"counters\": {");
		for (int c = 0; c < r->n_counters; c++) {
			json_str(f, r->counter_name[c]);
			fprintf(f, ": ");
			json_num(f, r->counter_value[c]);
			if (c + 1 < r->n_counters)
				fprintf(f, ", ");
		}
		fprintf(f, "}}%s\n", i + 1 < xb_result_count() ? "," : "");
	}
	fprintf(f, "  ],\n  \"overhead\": {\n    \"fragmentation\": [\n");
	const char *set_name[2] = {"2KiB", "mixed"};
	int first = 1;
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			const struct xb_frag *fr = &ov->frag[s][i];
			fprintf(f, "%s      {\"set\": \"%s\", \"peer\": ", first ? "" : ",\n",
			        set_name[s]);
			first = 0;
			json_str(f, xb_peers[i]->name);
			fprintf(f, ", \"valid\": %s, \"requested_bytes\": ", fr->valid ? "true" : "false");
			json_num(f, fr->requested);
			fprintf(f, ", \"usable_bytes\": ");
			json_num(f, fr->usable > 0 ? fr->usable : NAN);
			fprintf(f, ", \"in_use_bytes\": ");
			json_num(f, fr->in_use >= 0 ? fr->in_use : NAN);
			fprintf(f, ", \"note\": ");
			json_str(f, fr->note);
			fprintf(f, "}");
		}
	fprintf(f, "\n    ],\n    \"xmem_metadata_per_gib\": {\"valid\": %s, "
	        "\"empty_bytes\": ", ov->xmem_meta_valid ? "true" : "false");
	json_num(f, ov->xmem_meta_empty);
	fprintf(f, ", \"full_2k_bytes\": ");
	json_num(f, ov->xmem_meta_full);
	fprintf(f, ", \"objects\": ");
	json_num(f, ov->xmem_meta_objects);
	fprintf(f, ", \"note\": ");
	json_str(f, ov->xmem_meta_note);
	fprintf(f, "},\n    \"rte_malloc_inband_bytes_per_2k_object\": ");
	json_num(f, ov->dpdk_hdr_per_obj > 0 ? ov->dpdk_hdr_per_obj : NAN);
	fprintf(f, "\n  }");
	const struct xb_latency *lat = xb_latency_result();
	if (lat->ran) {
		fprintf(f, ",\n  \"latency\": {\"valid\": %s, \"note\": ",
		        lat->valid ? "true" : "false");
		json_str(f, lat->note);
		const struct xmem_lat_result *runs[2] = {&lat->quiet, &lat->busy};
		for (int i = 0; i < 2; i++) {
			const struct xmem_lat_result *r = runs[i];
			fprintf(f, ", \"%s\": {\"bursts\": %llu, \"seconds\": ", i ? "busy" : "quiet",
			        (unsigned long long)r->bursts);
			json_num(f, r->seconds);
			fprintf(f, ", \"clock\": ");
			json_str(f, r->clock ? r->clock : "");
			fprintf(f, ", \"ticks_per_ns\": ");
			json_num(f, r->ticks_per_ns);
			for (int k = 0; k < XMEM_LAT_NPCT; k++) {
				fprintf(f, ", \"%s_ns\": ", xmem_lat_pct_name[k]);
				json_num(f, r->ns[k]);
			}
			fprintf(f, ", \"stats_ops\": %llu, \"adds\": %llu, \"removes\": %llu, "
			        "\"removes_ebusy\": %llu, \"control_errors\": %llu}",
			        (unsigned long long)r->stats_ops, (unsigned long long)r->adds,
			        (unsigned long long)r->removes, (unsigned long long)r->removes_busy,
			        (unsigned long long)r->ctl_errors);
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n}\n");
}

/* ---- SVG --------------------------------------------------------------- */

#define SVG_W      1280
#define PANEL_W    620
#define PANEL_H    330
#define TOP        90
#define MAX_GROUPS 8

struct panel {
	const char *title;
	const char *ylabel;
	int logscale;
	int n_groups;
	char group[MAX_GROUPS][48];
	int series[XB_N_PEERS];      /* which peers appear */
	const char *series_name[XB_N_PEERS];
	double v[MAX_GROUPS][XB_N_PEERS]; /* NAN: no bar; -1: failed */
	const char *note;
	int n_lines;                      /* > 0: a text panel */
	char line[12][200];
	int line_status[12];              /* 1 green, 0 red, -1 grey */
};

static void svg_text(FILE *f, double x, double y, const char *anchor, int size,
                     const char *extra, const char *s);

static void svg_text_panel(FILE *f, const struct panel *p, double ox, double oy)
{
	static const char *col[3] = {"#888", "#c62828", "#2e7d32"};
	fprintf(f, "<g transform=\"translate(%.0f,%.0f)\">\n", ox, oy);
	fprintf(f, "<rect x=\"0.5\" y=\"0.5\" width=\"%d\" height=\"%d\" fill=\"#fff\" "
	        "stroke=\"#ccc\"/>\n", PANEL_W - 1, PANEL_H - 1);
	svg_text(f, PANEL_W / 2.0, 22, "middle", 15, "font-weight=\"bold\"", p->title);
	for (int i = 0; i < p->n_lines; i++) {
		char attr[64];
		snprintf(attr, sizeof attr, "fill=\"%s\"", col[p->line_status[i] + 1]);
		svg_text(f, 24, 56 + i * (p->n_lines > 10 ? 21 : 24), "start", 13, attr,
		         p->line[i]);
	}
	if (p->note)
		svg_text(f, PANEL_W / 2.0, PANEL_H - 12, "middle", 11, "fill=\"#555\"", p->note);
	fprintf(f, "</g>\n");
}

static void svg_text(FILE *f, double x, double y, const char *anchor, int size,
                     const char *extra, const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s%s>",
	        x, y, anchor, size, extra ? " " : "", extra ? extra : "");
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
	fputs("</text>\n", f);
}

static void svg_panel(FILE *f, const struct panel *p, double ox, double oy)
{
	const double L = 70, R = 12, T = 34, B = 58;
	const double pw = PANEL_W - L - R, ph = PANEL_H - T - B;
	double lo = INFINITY, hi = -INFINITY;
	int n_series = 0;
	char buf[64];

	for (int s = 0; s < XB_N_PEERS; s++)
		n_series += p->series[s];
	for (int g = 0; g < p->n_groups; g++)
		for (int s = 0; s < XB_N_PEERS; s++)
			if (p->series[s] && isfinite(p->v[g][s]) &&
			    (p->v[g][s] > 0 || (!p->logscale && p->v[g][s] == 0))) {
				lo = fmin(lo, p->v[g][s]);
				hi = fmax(hi, p->v[g][s]);
			}
	fprintf(f, "<g transform=\"translate(%.0f,%.0f)\">\n", ox, oy);
	fprintf(f, "<rect x=\"0.5\" y=\"0.5\" width=\"%d\" height=\"%d\" fill=\"#fff\" "
	        "stroke=\"#ccc\"/>\n", PANEL_W - 1, PANEL_H - 1);
	svg_text(f, PANEL_W / 2.0, 22, "middle", 15, "font-weight=\"bold\"", p->title);
	if (!isfinite(lo)) {
		svg_text(f, PANEL_W / 2.0, PANEL_H / 2.0, "middle", 13, "fill=\"#888\"",
		         "no data in this run");
		fprintf(f, "</g>\n");
		return;
	}
	double a, b; /* axis range (log10 when logscale) */
	if (p->logscale) {
		a = floor(log10(lo));
		b = ceil(log10(hi));
		if (b - a < 1)
			b = a + 1;
	} else {
		a = 0;
		b = hi > 0 ? hi * 1.15 : 1;
	}
#define YPOS(val) (T + ph - ph * ((p->logscale ? log10(val) : (val)) - a) / (b - a))
	/* grid and y labels */
	if (p->logscale) {
		for (double d = a; d <= b + 1e-9; d += 1) {
			double val = pow(10, d), y = YPOS(val);
			fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"#ddd\"/>\n", L, L + pw, y, y);
			if (val >= 1e6 || val < 1e-2)
				snprintf(buf, sizeof buf, "1e%.0f", d);
			else
				snprintf(buf, sizeof buf, "%g", val);
			svg_text(f, L - 6, y + 4, "end", 11, NULL, buf);
			for (int m = 2; m < 10 && d < b; m++) {
				double ym = YPOS(val * m);
				fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
				        "stroke=\"#f2f2f2\"/>\n", L, L + pw, ym, ym);
			}
		}
	} else {
		double step = pow(10, floor(log10(b / 4)));
		if (b / step > 8)
			step *= 2;
		for (double val = 0; val <= b; val += step) {
			double y = YPOS(val);
			fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"#ddd\"/>\n", L, L + pw, y, y);
			snprintf(buf, sizeof buf, "%g", val);
			svg_text(f, L - 6, y + 4, "end", 11, NULL, buf);
		}
	}
	fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
	        L, L, T, T + ph);
	fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
	        L, L + pw, T + ph, T + ph);
	fprintf(f, "<text transform=\"translate(16,%.1f) rotate(-90)\" text-anchor=\"middle\" "
	        "font-size=\"12\">%s</text>\n", T + ph / 2, p->ylabel);

	/* bars */
	double gw = pw / p->n_groups;
	double bw = fmin(48, (gw * 0.84) / (n_series ? n_series : 1));
	for (int g = 0; g < p->n_groups; g++) {
		double gx = L + g * gw + (gw - bw * n_series) / 2;
		int k = 0;
		for (int s = 0; s < XB_N_PEERS; s++) {
			if (!p->series[s])
				continue;
			double x = gx + k * bw, v = p->v[g][s];
			k++;
			if (!isfinite(v)) {
				svg_text(f, x + bw / 2, T + ph - 4, "middle", 9, "fill=\"#999\"", "n/a");
				continue;
			}
			if (v < 0 || (v == 0 && p->logscale)) {
				svg_text(f, x + bw / 2, T + ph - 4, "middle", 9, "fill=\"#c00\"", "fail");
				continue;
			}
			double y = YPOS(v);
			double base = p->logscale ? T + ph : YPOS(0);
			if (y > base - 1)
				y = base - 1;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			        "fill=\"%s\"><title>%s: %g</title></rect>\n",
			        x + 1, y, bw - 2, base - y, g_colors[s], p->series_name[s], v);
			fmt_num(buf, sizeof buf, v);
			svg_text(f, x + bw / 2, y - 3, "middle", bw < 24 ? 8 : 9, NULL, buf);
		}
		svg_text(f, L + g * gw + gw / 2, T + ph + 16, "middle", 12, NULL, p->group[g]);
	}
	if (p->note)
		svg_text(f, L + pw / 2, PANEL_H - 12, "middle", 11, "fill=\"#555\"", p->note);
#undef YPOS
	fprintf(f, "</g>\n");
}

static void fill_panel(struct panel *p, const char *workload, int kind, double scale)
{
	int tl[MAX_GROUPS];
	int nt = threads_of(workload, tl, MAX_GROUPS);

	p->n_groups = nt;
	for (int g = 0; g < nt; g++) {
		if (strcmp(workload, "pipeline") == 0)
			snprintf(p->group[g], sizeof p->group[g],
			         tl[g] == 1 ? "1 thread (no cross-core)" : "%d threads (%d pair%s)",
			         tl[g], tl[g] / 2, tl[g] > 2 ? "s" : "");
		else
			snprintf(p->group[g], sizeof p->group[g], "%d thread%s", tl[g],
			         tl[g] > 1 ? "s" : "");
		for (int s = 0; s < XB_N_PEERS; s++) {
			struct cell c = lookup(workload, s, tl[g], kind);
			p->v[g][s] = !c.have ? NAN : c.err ? -1 : c.v * scale;
			if (c.have)
				p->series[s] = 1;
		}
	}
	for (int s = 0; s < XB_N_PEERS; s++)
		p->series_name[s] = peer_run_name(workload, s);
}

static void write_svg(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov)
{
	struct panel ps[8];
	int np = 0;
	char note_meta[160];

	memset(ps, 0, sizeof ps);
	ps[np] = (struct panel){.title = "1  Burst: alloc 32 x 2 KiB, then free (per thread)",
	                        .ylabel = "ns per object (log, lower is better)", .logscale = 1};
	fill_panel(&ps[np++], "burst", K_NS_PER_OBJ, 1);
	ps[np] = (struct panel){.title = "2  Burst of 32 mixed sizes, 16 B .. 16 KiB",
	                        .ylabel = "ns per object (log, lower is better)", .logscale = 1,
	                        .note = "rte_mempool: fixed 2 KiB elements, not applicable"};
	fill_panel(&ps[np++], "mixed", K_NS_PER_OBJ, 1);
	ps[np] = (struct panel){.title = "3  Pipeline: alloc -> SPSC ring -> free on other CPU",
	                        .ylabel = "million objects/s (log, higher is better)",
	                        .logscale = 1};
	fill_panel(&ps[np++], "pipeline", K_OBJ_PER_SEC, 1e-6);
	ps[np] = (struct panel){.title = "4  virt -> IOVA, random addresses over 1 GiB",
	                        .ylabel = "ns per lookup (log, lower is better)", .logscale = 1,
	                        .note = "DPDK: rte_mem_virt2memseg + ms->iova (rte_extmem_register)"};
	fill_panel(&ps[np++], "translate", K_NS_PER_OBJ, 1);
	for (int g = 0; g < ps[np - 1].n_groups; g++)
		snprintf(ps[np - 1].group[g], sizeof ps[np - 1].group[g], "xmem vs DPDK memseg");

	/* 5: bytes the allocator accounts per byte asked for */
	struct panel *o = &ps[np++];
	*o = (struct panel){.title = "5  Memory overhead: bytes used beyond those requested",
	                    .ylabel = "% over requested (lower is better)", .logscale = 0};
	o->n_groups = 2;
	snprintf(o->group[0], sizeof o->group[0], "4096 x 2 KiB");
	snprintf(o->group[1], sizeof o->group[1], "4096 mixed 16 B..16 KiB");
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			const struct xb_frag *fr = &ov->frag[s][i];
			double v = fr->in_use > 0 ? fr->in_use : fr->usable;
			o->v[s][i] = fr->valid && v > 0 ? 100.0 * (v / fr->requested - 1) : NAN;
			o->series[i] = xb_peers[i]->ready;
			o->series_name[i] = xb_peers[i]->name;
		}
	if (ov->xmem_meta_valid) {
		snprintf(note_meta, sizeof note_meta,
		         "+ xmem out-of-band metadata, 1 GiB of 2 KiB objects: %.2f%%",
		         100.0 * ov->xmem_meta_full / (double)XB_GIB);
		o->note = note_meta;
	}

	struct panel *tp = &ps[np++];
	struct target tg[12];
	int ntg = targets(tg, 12, ov);
	*tp = (struct panel){.title = "Targets in this run",
	                     .note = "ratios from this run only; rerun on a quiet machine"};
	for (int k = 0; k < ntg && k < 12; k++) {
		snprintf(tp->line[k], sizeof tp->line[k], "[%s]  %.96s%.64s",
		         tg[k].status == 1 ? "met" : tg[k].status == 0 ? "NOT met" : "n/a",
		         tg[k].what, tg[k].detail);
		tp->line_status[k] = tg[k].status;
	}
	tp->n_lines = ntg;

	int rows = (np + 1) / 2;
	int h = TOP + rows * (PANEL_H + 16) + 30;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
	        SVG_W, h, SVG_W, h);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
	svg_text(f, SVG_W / 2.0, 30, "middle", 20, "font-weight=\"bold\"",
	         "xmem vs DPDK and general-purpose allocators (one process, same memory)");
	char sub[240], when[32];
	time_t now = time(NULL);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	snprintf(sub, sizeof sub, "%s; %s run, %ld CPUs (load %.1f), %.2f s per benchmark; "
	         "DMA heaps: anonymous 4 KiB pages with an IOVA table; ns/obj per thread",
	         when, cfg->quick ? "quick (smoke)" : "full", sysconf(_SC_NPROCESSORS_ONLN),
	         cfg->load_start, cfg->min_time);
	svg_text(f, SVG_W / 2.0, 50, "middle", 12, "fill=\"#555\"", sub);
	/* legend */
	const char *lname[XB_N_PEERS];
	double lw[XB_N_PEERS], total = 0;
	for (int i = 0; i < XB_N_PEERS; i++) {
		lname[i] = i == XB_RTE_MALLOC ? "rte_malloc (external heap) / DPDK memseg" :
		           i == XB_RTE_MEMPOOL ? "rte_mempool (cache 256)" : xb_peers[i]->name;
		lw[i] = 20 + 7.2 * (double)strlen(lname[i]) + 26;
		total += lw[i];
	}
	double lx = (SVG_W - total) / 2.0;
	for (int i = 0; i < XB_N_PEERS; i++) {
		fprintf(f, "<rect x=\"%.1f\" y=\"62\" width=\"14\" height=\"14\" fill=\"%s\"/>\n",
		        lx, g_colors[i]);
		svg_text(f, lx + 20, 74, "start", 13, NULL, lname[i]);
		lx += lw[i];
	}
	for (int k = 0; k < np; k++) {
		double x = 14 + (k % 2) * (PANEL_W + 14), y = TOP + (k / 2) * (PANEL_H + 16);
		if (ps[k].n_lines > 0)
			svg_text_panel(f, &ps[k], x, y);
		else
			svg_panel(f, &ps[k], x, y);
	}
	fprintf(f, "</svg>\n");
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
	char path[3][4096];
	FILE *f;

	printf("\n");
	print_table(stdout, cfg, ov, seconds);
	if (cfg->out_dir == NULL)
		return;
	if (mkdir(cfg->out_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench: cannot create %s: %s\n", cfg->out_dir, strerror(errno));
		return;
	}
	if ((f = open_out(cfg, "table.md", path[0], sizeof path[0])) != NULL) {
		print_table(f, cfg, ov, seconds);
		fprintf(f, "\nPeers (what each one really calls):\n\n");
		for (int i = 0; i < XB_N_PEERS; i++)
			fprintf(f, "- %s: %s%s\n", xb_peers[i]->name,
			        xb_peers[i]->ready ? "" : "UNAVAILABLE: ", xb_peers[i]->about);
		fclose(f);
	}
	if ((f = open_out(cfg, "results.json", path[1], sizeof path[1])) != NULL) {
		write_json(f, cfg, ov, seconds);
		fclose(f);
	}
	if ((f = open_out(cfg, "results.svg", path[2], sizeof path[2])) != NULL) {
		write_svg(f, cfg, ov);
		fclose(f);
	}
	printf("\nwrote %s\n      %s\n      %s\n", path[0], path[1], path[2]);
}
