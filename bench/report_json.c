/* report_json.c - the raw record, results.json: the context, what each
 * peer really calls, every Google Benchmark run with its iterations, times
 * and counters, the overhead measurements, the plain loop, the harness
 * check, the tail latency of every peer, the curves and the latency run
 * under control-plane load. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/report.h"

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

/* ", \"key\": value" */
static void json_kv(FILE *f, const char *key, double v)
{
	fprintf(f, ", \"%s\": ", key);
	json_num(f, v);
}

static void json_pcts(FILE *f, const double ns[XB_NPCT])
{
	for (int k = 0; k < XB_NPCT; k++) {
		fprintf(f, "%s\"%s_ns\": ", k ? ", " : "", xb_pct_name[k]);
		json_num(f, ns[k]);
	}
}

static void json_arr(FILE *f, const char *key, const double *v, int n)
{
	fprintf(f, ", \"%s\": [", key);
	for (int i = 0; i < n; i++) {
		if (i)
			fprintf(f, ", ");
		json_num(f, v[i]);
	}
	fprintf(f, "]");
}

/* The sections that are not Google Benchmark runs. */
static void write_extra(FILE *f)
{
	const struct xb_plain *p = xb_plain_result();
	fprintf(f, ",\n  \"plain_loop\": {\"valid\": %s", p->valid ? "true" : "false");
	if (p->valid) {
		const struct { const char *k; double v; } kv[] = {
			{"rounds", p->rounds}, {"bursts_per_round", p->bursts_per_round},
			{"burst_mempool_ns_min", p->burst_mempool_min},
			{"burst_mempool_ns_median", p->burst_mempool_median},
			{"burst_xmem_ns_min", p->burst_xmem_min},
			{"burst_xmem_ns_median", p->burst_xmem_median},
			{"burst_xmem_per_mempool", p->burst_ratio}, {"burst_bar", 1.25},
			{"burst_goal", 1.0}, {"translate_memseg_ns_min", p->tr_memseg_min},
			{"translate_memseg_ns_median", p->tr_memseg_median},
			{"translate_xmem_ns_min", p->tr_xmem_min},
			{"translate_xmem_ns_median", p->tr_xmem_median},
			{"translate_memseg_per_xmem", p->tr_ratio}, {"translate_target_ratio", 8},
			{"translate_target_ns", 1.5}};
		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
			json_kv(f, kv[i].k, kv[i].v);
		fprintf(f, ", \"by_burst_size\": [");
		for (int i = 0; i < p->n_sizes; i++) {
			fprintf(f, "%s{\"burst\": %u", i ? ", " : "", p->size[i]);
			json_kv(f, "mempool_ns_median", p->size_mempool[i]);
			json_kv(f, "xmem_ns_median", p->size_xmem[i]);
			json_kv(f, "xmem_per_mempool", p->size_ratio[i]);
			fprintf(f, "}");
		}
		fprintf(f, "]");
	} else {
		fprintf(f, ", \"note\": ");
		json_str(f, p->note);
	}
	fprintf(f, "}");

	struct xb_harness h;
	xb_harness_check(&h);
	fprintf(f, ",\n  \"harness\": {\"measured\": %s, \"ns_per_iteration\": ",
		h.have ? "true" : "false");
	json_num(f, h.iter_ns);
	fprintf(f, ", \"bursts_per_iteration\": %d, \"pipeline_bursts_per_iteration\": %d, "
		"\"pct_of_fastest_burst\": ", XB_BURSTS_PER_ITER, XB_PIPE_BURSTS_PER_ITER);
	json_num(f, h.pct_burst);
	fprintf(f, ", \"pct_of_fastest_pipeline\": ");
	json_num(f, h.pct_pipe);
	fprintf(f, ", \"limit_pct\": %.1f, \"ok\": %s", XB_HARNESS_MAX_PCT,
		h.ok ? "true" : "false");
	const char *nm[2] = {"xmem", "rte_mempool"};
	for (int i = 0; i < 2; i++) {
		fprintf(f, ", \"interface_%s_ns_per_obj\": ", nm[i]);
		json_num(f, h.via[i].have && !h.via[i].err ? h.via[i].ns : NAN);
		fprintf(f, ", \"loop_%s_ns_per_obj\": ", nm[i]);
		json_num(f, h.loop[i].have && !h.loop[i].err ? h.loop[i].ns : NAN);
	}
	fprintf(f, "}");

	const struct xb_tail *t = xb_tail_result();
	fprintf(f, ",\n  \"tail\": [");
	int first = 1;
	for (int w = 0; t->ran && w < XB_TAIL_N; w++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			const struct xb_tail_row *r = &t->row[w][i];
			if (!r->valid)
				continue;
			fprintf(f, "%s\n    {\"workload\": ", first ? "" : ",");
			first = 0;
			json_str(f, xb_tail_name[w]);
			fprintf(f, ", \"peer\": ");
			json_str(f, xb_peers[i]->name);
			fprintf(f, ", \"bursts\": %llu, \"mean_ns\": ", (unsigned long long)r->samples);
			json_num(f, r->mean_ns);
			fprintf(f, ", ");
			json_pcts(f, r->ns);
			fprintf(f, "}");
		}
	fprintf(f, "]");

	const struct xb_pairs *pr = xb_pairs_result();
	fprintf(f, ",\n  \"pipeline_pairs\": {\"valid\": %s, \"rounds\": %d, \"seconds\": ",
		pr->valid ? "true" : "false", pr->rounds);
	json_num(f, pr->seconds);
	json_arr(f, "xmem_obj_per_s", pr->xmem, pr->valid ? pr->rounds : 0);
	json_arr(f, "rte_mempool_obj_per_s", pr->mempool, pr->valid ? pr->rounds : 0);
	fprintf(f, ", \"median_ratio\": ");
	json_num(f, pr->valid ? pr->median : NAN);
	fprintf(f, "}");
	fprintf(f, ",\n  \"pipeline_ring_alone_obj_per_s\": ");
	json_num(f, xb_ring_alone() > 0 ? xb_ring_alone() : NAN);

	const struct xb_curves *c = xb_curves_result();
	fprintf(f, ",\n  \"curves\": {\"ran\": %s, \"note\": ", c->ran ? "true" : "false");
	json_str(f, c->note);
	json_arr(f, "gib", c->gib, c->n_sizes);
	json_arr(f, "add_ms_per_gib", c->add_ms_per_gib, c->n_sizes);
	json_arr(f, "metadata_bytes_per_gib", c->meta_per_gib, c->n_sizes);
	json_arr(f, "virt2iova_ns", c->tr_ns, c->n_sizes);
	json_arr(f, "burst_ns_per_obj", c->burst_ns, c->n_sizes);
	json_arr(f, "shuffled_free_ns_per_obj", c->free_ns, c->n_sizes);
	double hv[4];
	for (int k = 0; k < c->n_heaps; k++)
		hv[k] = c->heaps[k];
	json_arr(f, "heaps", hv, c->n_heaps);
	json_arr(f, "heaps_burst_ns_per_obj", c->heaps_ns, c->n_heaps);
	json_kv(f, "translation_rss_bytes_per_gib_4k", c->pm_rss_4k);
	json_kv(f, "translation_rss_bytes_per_gib_2m", c->pm_rss_2m);
	json_kv(f, "heap_metadata_bytes_per_gib_4k", c->pm_meta_4k);
	json_kv(f, "heap_metadata_bytes_per_gib_2m", c->pm_meta_2m);
	fprintf(f, "}");
}

void xb_write_json(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
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
	fprintf(f, "\n    ],\n    \"xmem_metadata_per_gib\": [");
	for (int m = 0; m < 2; m++) {
		const struct xb_meta *x = &ov->meta[m];
		fprintf(f, "%s{\"page_size\": %d, \"valid\": %s", m ? ", " : "",
			m ? 2097152 : 4096, x->valid ? "true" : "false");
		json_kv(f, "empty_bytes", x->empty);
		json_kv(f, "full_2k_bytes", x->full);
		json_kv(f, "objects", x->objects);
		fprintf(f, ", \"note\": ");
		json_str(f, x->note);
		fprintf(f, "}");
	}
	fprintf(f, "],\n    \"rte_malloc_inband_bytes_per_2k_object\": ");
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
			for (int k = 0; k < XB_NPCT; k++) {
				fprintf(f, ", \"%s_ns\": ", xb_pct_name[k]);
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
	write_extra(f);
	struct target tg[XB_MAX_TARGETS];
	int nt = xb_targets(tg, XB_MAX_TARGETS, ov);
	fprintf(f, ",\n  \"targets\": [");
	for (int k = 0; k < nt; k++) {
		fprintf(f, "%s\n    {\"target\": ", k ? "," : "");
		json_str(f, tg[k].what);
		fprintf(f, ", \"status\": \"%s\", \"detail\": ", tg[k].status == 1 ? "met" :
			tg[k].status == 0 ? "not met" : "not measured");
		json_str(f, tg[k].detail);
		fprintf(f, "}");
	}
	fprintf(f, "]");
	fprintf(f, "\n}\n");
}
