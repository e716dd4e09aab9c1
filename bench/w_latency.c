/* w_latency.c - xmem's tail latency under control-plane load (not a
 * Google Benchmark: every burst is timed on its own, bench/latency.h).
 *
 * One xmem heap of its own ("xb_latency", 64 MiB of populated 4 KiB pages
 * with an IOVA table).  One thread times 32 x 2 KiB xmem_alloc_bulk +
 * xmem_free_bulk bursts, first quiet, then busy: a control thread on the
 * other CPU calls xmem_heap_stats on the same heap at 1 kHz and adds and
 * removes a 2 MiB chunk of it at 100 Hz each.  The report gives p50, p99,
 * p99.9, p99.99 and max of both, and the busy/quiet ratios at p99.9 and
 * p99.99 against the targets (<= 2x, <= 3x). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/latency.h"

#define LAT_HEAP_BYTES ((size_t)64 << 20)
#define LAT_CHUNK      ((size_t)2 << 20)

static struct xb_latency g_lat;

const struct xb_latency *xb_latency_result(void)
{
	return &g_lat;
}

static void print_one(const char *what, const struct xmem_lat_result *r)
{
	printf("  %-5s %9llu bursts %5.2f s:", what, (unsigned long long)r->bursts, r->seconds);
	for (int k = 0; k < XMEM_LAT_NPCT; k++)
		printf(" %s %.0f", xmem_lat_pct_name[k], r->ns[k]);
	printf(" ns\n");
}

void xb_w_latency_run(const struct xb_cfg *cfg)
{
	struct xb_mem mem, chunk;
	struct xmem_heap *h = NULL;

	memset(&g_lat, 0, sizeof g_lat);
	g_lat.ran = 1;
	if (xb_mem_map(&mem, LAT_HEAP_BYTES, 0, (uint64_t)1 << 40) != 0 ||
	    xb_mem_map(&chunk, LAT_CHUNK, 0, (uint64_t)1 << 41) != 0) {
		snprintf(g_lat.note, sizeof g_lat.note, "mmap: %s", strerror(errno));
		return;
	}
	h = xmem_heap_create("xb_latency");
	if (h == NULL || xmem_heap_add_memory(h, mem.va, mem.len, mem.iova, mem.n_pages,
	                                      XB_PAGE) != 0) {
		snprintf(g_lat.note, sizeof g_lat.note, "heap setup: %s", strerror(errno));
		goto out;
	}
	struct xmem_lat_opts o = {
		.heap = h, .chunk = chunk.va, .chunk_len = chunk.len, .chunk_iova = chunk.iova,
		.stats_hz = 1000, .addrm_hz = 100, .pin = 1,
		.min_bursts = cfg->quick ? 20000 : 1000000,
		.min_seconds = cfg->quick ? 0.05 : 3.0,
		.min_ctl_ops = cfg->quick ? 3 : 100,
		.max_seconds = cfg->quick ? 10 : 20,
	};
	if (xmem_lat_run(&o, &g_lat.quiet) != 0) {
		snprintf(g_lat.note, sizeof g_lat.note, "quiet run: %s", strerror(errno));
		goto out;
	}
	print_one("quiet", &g_lat.quiet);
	o.busy = 1;
	if (xmem_lat_run(&o, &g_lat.busy) != 0) {
		snprintf(g_lat.note, sizeof g_lat.note, "busy run: %s", strerror(errno));
		goto out;
	}
	print_one("busy", &g_lat.busy);
	const struct xmem_lat_result *b = &g_lat.busy;
	g_lat.valid = g_lat.quiet.bursts > 0 && b->bursts > 0 && b->stats_ops > 0 &&
	              b->adds > 0 && b->removes > 0 && b->ctl_errors == 0;
	if (!g_lat.valid)
		snprintf(g_lat.note, sizeof g_lat.note, "control thread did not run its ops "
		         "(%llu stats, %llu adds, %llu removes, %llu errors)",
		         (unsigned long long)b->stats_ops, (unsigned long long)b->adds,
		         (unsigned long long)b->removes, (unsigned long long)b->ctl_errors);
out:
	if (h != NULL) {
		xmem_heap_remove_memory(h, mem.va, mem.len);
		xmem_heap_destroy(h);
	}
	xb_mem_unmap(&chunk);
	xb_mem_unmap(&mem);
}

/* Quiet and busy percentiles, and the ratios the targets judge. */
void xb_latency_print(FILE *f)
{
	const struct xb_latency *lat = xb_latency_result();
	if (!lat->ran)
		return;
	fprintf(f, "\n### xmem's tail latency under a busy control plane\n\n");
	if (!lat->valid) {
		fprintf(f, "Not measured: %s.\n", lat->note);
		return;
	}
	const struct xmem_lat_result *q = &lat->quiet, *b = &lat->busy;
	fprintf(f, "One thread times each 32 x 2 KiB xmem_alloc_bulk + xmem_free_bulk burst "
	        "(%s, %.2f ticks/ns; percentiles within 1.6 %%, max exact). Busy: a "
	        "control thread on another CPU runs xmem_heap_stats at 1 kHz and adds and "
	        "removes a 2 MiB chunk of the same heap at 100 Hz each.\n\n", q->clock,
	        q->ticks_per_ns);
	fprintf(f, "| run | bursts |");
	for (int k = 0; k < XMEM_LAT_NPCT; k++)
		fprintf(f, " %s ns |", xmem_lat_pct_name[k]);
	fprintf(f, "\n|---|---:|");
	for (int k = 0; k < XMEM_LAT_NPCT; k++)
		fprintf(f, "---:|");
	const struct xmem_lat_result *runs[2] = {q, b};
	for (int i = 0; i < 2; i++) {
		fprintf(f, "\n| %s | %llu |", i ? "busy" : "quiet",
		        (unsigned long long)runs[i]->bursts);
		for (int k = 0; k < XMEM_LAT_NPCT; k++)
			fprintf(f, " %.0f |", runs[i]->ns[k]);
	}
	fprintf(f, "\n| busy / quiet | |");
	for (int k = 0; k < XMEM_LAT_NPCT; k++)
		fprintf(f, " %.2fx |", q->ns[k] > 0 ? b->ns[k] / q->ns[k] : NAN);
	fprintf(f, "\n\nControl thread during the busy run (%.1f s): %llu stats, %llu adds, "
	        "%llu removes, %llu removes refused with EBUSY, %llu errors.\n", b->seconds,
	        (unsigned long long)b->stats_ops, (unsigned long long)b->adds,
	        (unsigned long long)b->removes, (unsigned long long)b->removes_busy,
	        (unsigned long long)b->ctl_errors);
	fprintf(f, "Targets: busy <= %.0fx quiet at p99.9: %s (%.2fx); <= %.0fx at p99.99: "
	        "%s (%.2fx).\n", XB_LAT_TARGET_P999,
	        b->ns[XMEM_LAT_P999] <= XB_LAT_TARGET_P999 * q->ns[XMEM_LAT_P999] ? "met" : "NOT met",
	        b->ns[XMEM_LAT_P999] / q->ns[XMEM_LAT_P999], XB_LAT_TARGET_P9999,
	        b->ns[XMEM_LAT_P9999] <= XB_LAT_TARGET_P9999 * q->ns[XMEM_LAT_P9999] ? "met" : "NOT met",
	        b->ns[XMEM_LAT_P9999] / q->ns[XMEM_LAT_P9999]);
}
