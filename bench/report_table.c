/* report_table.c - the side-by-side table people read (stdout and
 * table.md): every workload for every peer with its ratio to xmem, the
 * harness check, the plain loop, the pipeline's LIFO/FIFO comparison, the
 * tail latency of every peer, the curves, memory, and the targets. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report.h"

struct row {
	const char *workload;
	int threads;
	int kind;
	char label[96];
	char unit[24];
};

static int build_rows(struct row *rows, int cap)
{
	int n = 0, tl[32], nt;

	nt = xb_threads_of("burst", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"burst", tl[k], K_NS_PER_OBJ, "", "ns/obj"};
		snprintf(rows[n].label, sizeof rows[n].label, "burst 32 x 2 KiB, %d thread%s",
		         tl[k], tl[k] > 1 ? "s" : "");
	}
	nt = xb_threads_of("mixed", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"mixed", tl[k], K_NS_PER_OBJ, "", "ns/obj"};
		snprintf(rows[n].label, sizeof rows[n].label, "mixed 16 B..16 KiB, %d thread%s",
		         tl[k], tl[k] > 1 ? "s" : "");
	}
	for (int w = 0; w < XB_N_PIPE; w++) {
		nt = xb_threads_of(xb_pipe_wl[w], tl, 32);
		for (int k = 0; k < nt && n < cap; k++, n++) {
			rows[n] = (struct row){xb_pipe_wl[w], tl[k], K_OBJ_PER_SEC, "", "Mobj/s"};
			if (tl[k] == 1)
				snprintf(rows[n].label, sizeof rows[n].label,
				         "pipeline, %s, 1 thread (no cross-core)", xb_pipe_label[w]);
			else
				snprintf(rows[n].label, sizeof rows[n].label,
				         "pipeline, %s, %d threads", xb_pipe_label[w], tl[k]);
		}
	}
	nt = xb_threads_of("translate", tl, 32);
	for (int k = 0; k < nt && n < cap; k++, n++) {
		rows[n] = (struct row){"translate", tl[k], K_NS_PER_OBJ, "", "ns/lookup"};
		snprintf(rows[n].label, sizeof rows[n].label,
			 "virt->IOVA, 1 GiB of 4 KiB pages, random");
	}
	return n;
}

static void fmt_cell(char *b, size_t n, const struct row *r, int peer)
{
	struct cell c = xb_lookup(r->workload, peer, r->threads, r->kind);
	struct cell x = xb_lookup(r->workload, XB_XMEM, r->threads, r->kind);
	char num[32];

	if (!c.have) {
		snprintf(b, n, "n/a");
		return;
	}
	if (c.err) {
		snprintf(b, n, "failed");
		return;
	}
	xb_fmt_num(num, sizeof num, r->kind == K_OBJ_PER_SEC ? c.v / 1e6 : c.v);
	if (peer != XB_XMEM && x.have && !x.err && x.ns > 0)
		snprintf(b, n, "%s (%.2fx)", num, c.ns / x.ns);
	else
		snprintf(b, n, "%s", num);
}

/* A table header: two label columns, then one column per peer. */
static void peer_header(FILE *f, const char *c1, const char *c2)
{
	fprintf(f, "| %s | %s |", c1, c2);
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, " %s |", xb_peers[i]->name);
	fprintf(f, "\n|---|---|");
	for (int i = 0; i < XB_N_PEERS; i++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
}

static void print_main(FILE *f)
{
	struct row rows[64];
	int nr = build_rows(rows, 64);
	char b[64];

	fprintf(f, "Cells: value (ratio). Ratio = the peer's cost per object / xmem's "
	        "cost per object in this run; above 1 means xmem is faster. "
	        "ns/obj is per thread (wall time per object on one thread); "
	        "Mobj/s is all pairs together. Every peer runs its own loop, compiled "
	        "in its own file with its calls inlined where its headers inline them; "
	        "%d bursts per harness iteration (pipeline: %d).\n\n",
	        XB_BURSTS_PER_ITER, XB_PIPE_BURSTS_PER_ITER);
	peer_header(f, "workload", "unit");
	for (int k = 0; k < nr; k++) {
		fprintf(f, "| %s | %s |", rows[k].label, rows[k].unit);
		for (int i = 0; i < XB_N_PEERS; i++) {
			fmt_cell(b, sizeof b, &rows[k], i);
			fprintf(f, " %s |", b);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\nn/a: the peer does not do this workload (the pools have one element "
	        "size; rte_mempool stack is measured on the pipelines only). The "
	        "translation row's rte_malloc column is DPDK's rte_mem_virt2memseg + "
	        "ms->iova on the same range (rte_extmem_register).\n");
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (r->error)
			fprintf(f, "\n- %s failed: %s", r->full_name, r->error_msg);
	}
	fprintf(f, "\n");
}

static void print_harness(FILE *f)
{
	struct xb_harness h;
	xb_harness_check(&h);
	fprintf(f, "\n### Harness check\n\n");
	if (!h.have) {
		fprintf(f, "harness cost: not measured in this run.\n");
	} else {
		fprintf(f, "harness cost: %.2f ns per iteration = %.3f%% of the fastest burst "
		        "figure (%.3f ns/obj x %d x %d objects per iteration)",
		        h.iter_ns, h.pct_burst, h.fastest_burst, XB_BURSTS_PER_ITER, XB_BURST);
		if (h.pct_pipe > 0)
			fprintf(f, ", %.3f%% of the fastest pipeline figure (%d x %d objects "
			        "per iteration)", h.pct_pipe, XB_PIPE_BURSTS_PER_ITER, XB_BURST);
		fprintf(f, ". Limit %.0f%%: %s\n", XB_HARNESS_MAX_PCT, h.ok ? "below." :
		        "**WARNING: ABOVE THE LIMIT, the figures carry the harness.**");
	}
	const char *nm[2] = {"xmem", "rte_mempool"};
	int both = 1;
	fprintf(f, "\nThrough the peer interface (the old path: a function pointer per "
	        "alloc and per free burst, one burst per iteration):");
	for (int i = 0; i < 2; i++) {
		if (!(h.via[i].have && !h.via[i].err && h.loop[i].have && !h.loop[i].err)) {
			both = 0;
			continue;
		}
		fprintf(f, " %s %.3f ns/obj (%.2fx its own loop's %.3f);", nm[i], h.via[i].ns,
		        h.via[i].ns / h.loop[i].ns, h.loop[i].ns);
	}
	if (both)
		fprintf(f, " xmem / rte_mempool %.2fx through the interface, %.2fx in the "
		        "loops.\n", h.via[0].ns / h.via[1].ns, h.loop[0].ns / h.loop[1].ns);
	else
		fprintf(f, " not measured.\n");
}

static void print_plain(FILE *f)
{
	const struct xb_plain *p = xb_plain_result();
	fprintf(f, "\n### Plain loop (cc -O2, public header, libxmem.so)\n\n");
	if (!p->valid) {
		fprintf(f, "Not run%s%s (scripts/bench.sh builds and runs bench/plain/"
		        "plain_burst.c and passes --plain=FILE).\n", p->note[0] ? ": " : "",
		        p->note);
		return;
	}
	fprintf(f, "One program calls rte_mempool_get_bulk/put_bulk and xmem_alloc_bulk/"
	        "xmem_free_bulk in one plain loop, %.0f interleaved rounds of %.0f bursts "
	        "of 32 x 2 KiB.\n\n", p->rounds, p->bursts_per_round);
	fprintf(f, "| figure | rte_mempool / DPDK memseg | xmem | ratio | target |\n"
	        "|---|---:|---:|---:|---|\n");
	fprintf(f, "| burst ns/obj, median (min) | %.3f (%.3f) | %.3f (%.3f) | xmem / "
	        "rte_mempool %.3fx | bar <= 1.25x: %s; goal <= 1.0x: %s |\n",
	        p->burst_mempool_median, p->burst_mempool_min, p->burst_xmem_median,
	        p->burst_xmem_min, p->burst_ratio, p->burst_ratio <= 1.25 ? "met" : "NOT met",
	        p->burst_ratio <= 1.0 ? "met" : "NOT met");
	fprintf(f, "| virt->IOVA ns, 1 GiB of 2 MiB pages, random, median (min) | %.2f "
	        "(%.2f) | %.2f (%.2f) | memseg / xmem %.1fx | >= 8x: %s; <= 1.5 ns: %s |\n",
	        p->tr_memseg_median, p->tr_memseg_min, p->tr_xmem_median, p->tr_xmem_min,
	        p->tr_ratio, p->tr_ratio >= 8 ? "met" : "NOT met",
	        p->tr_xmem_median <= 1.5 ? "met" : "NOT met");
	if (p->n_sizes == 0) {
		fprintf(f, "\nBy burst size: not run (bench/plain/burst_sizes.c).\n");
		return;
	}
	fprintf(f, "\nBy burst size (bench/plain/burst_sizes.c: the same loop with each "
	        "size a constant, interleaved rounds, medians):\n\n"
	        "| burst | rte_mempool ns/obj | xmem ns/obj | xmem / rte_mempool | bar <= "
	        "1.25x |\n|---:|---:|---:|---:|---|\n");
	for (int i = 0; i < p->n_sizes; i++)
		fprintf(f, "| %u | %.3f | %.3f | %.2fx | %s |\n", p->size[i],
		        p->size_mempool[i], p->size_xmem[i], p->size_ratio[i],
		        p->size_ratio[i] <= 1.25 ? "met" : "NOT met");
}

static void print_lifo(FILE *f)
{
	struct cell c[2][3];
	static const int peers[3] = {XB_XMEM, XB_RTE_MEMPOOL, XB_RTE_MEMPOOL_STACK};
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < 3; k++)
			c[w][k] = xb_lookup(xb_pipe_wl[w], peers[k], 2, K_OBJ_PER_SEC);
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < 3; k++)
			if (!c[w][k].have || c[w][k].err)
				return;
	fprintf(f, "\n### The order freed buffers come back (2-thread pipeline, Mobj/s)\n\n"
	        "| | xmem (LIFO caches, LIFO depot) | rte_mempool ring_mp_mc (FIFO ring) | "
	        "rte_mempool stack (LIFO) |\n|---|---:|---:|---:|\n");
	for (int w = 0; w < 2; w++)
		fprintf(f, "| %s | %.1f | %.1f | %.1f |\n", xb_pipe_label[w], c[w][0].v / 1e6,
		        c[w][1].v / 1e6, c[w][2].v / 1e6);
	fprintf(f, "| with writes / without | %.2fx | %.2fx | %.2fx |\n",
	        c[1][0].v / c[0][0].v, c[1][1].v / c[0][1].v, c[1][2].v / c[0][2].v);
}

/* The floor under every 2-thread pipeline figure: the ring and the loops
 * with no allocator. */
static void print_ring_alone(FILE *f)
{
	double ring = xb_ring_alone();
	struct cell x = xb_lookup(xb_pipe_wl[0], XB_XMEM, 2, K_OBJ_PER_SEC);
	struct cell m = xb_lookup(xb_pipe_wl[0], XB_RTE_MEMPOOL, 2, K_OBJ_PER_SEC);
	if (!(ring > 0))
		return;
	fprintf(f, "\nThe ring alone (the same RX and TX loops with no allocator: RX hands out "
	        "pointers from a fixed array, TX takes them in the scrambled order and drops "
	        "them; 2 threads): %.1f Mobj/s.", ring / 1e6);
	if (x.have && !x.err && m.have && !m.err)
		fprintf(f, " The scrambled pipeline without writes runs at %.0f%% of that rate "
		        "with xmem and %.0f%% with rte_mempool; the allocator adds the rest of "
		        "each object's time.",
		        100 * x.v / ring, 100 * m.v / ring);
	fprintf(f, "\n");
}

static void print_pairs(FILE *f)
{
	const struct xb_pairs *p = xb_pairs_result();
	if (!p->valid)
		return;
	fprintf(f, "\n### The pipeline in alternating rounds (2 threads, scrambled, no writes)\n\n"
	        "%d rounds, each running xmem and rte_mempool for %.2f s in turn (the order flips "
	        "every round), so that a slow spell of the machine falls on both.\n\n"
	        "| | median | min | max |\n|---|---:|---:|---:|\n"
	        "| xmem / rte_mempool throughput | **%.3fx** | %.3fx | %.3fx |\n",
	        p->rounds, p->seconds, p->median, p->min, p->max);
}

static void print_tail(FILE *f)
{
	const struct xb_tail *t = xb_tail_result();
	if (!t->ran)
		return;
	fprintf(f, "\n### Tail latency of every peer (ns per burst of 32)\n\n"
	        "Each burst timed on its own (%s) inside the peer's own loop: burst = "
	        "alloc 32 x 2 KiB + free them on one thread; pipeline alloc / free = "
	        "RX's alloc burst and TX's free burst of the 2-thread pipeline (scrambled "
	        "order, no writes). Percentiles within 1.6 %%, mean and max exact. In the "
	        "pipeline, nearly all of a mean above its p50 is the bursts that go to "
	        "the shared pool (xmem's depot, rte_mempool's ring).\n\n",
	        XB_CLOCK_NAME);
	fprintf(f, "| workload | peer | bursts | mean |");
	for (int k = 0; k < XB_NPCT; k++)
		fprintf(f, " %s |", xb_pct_name[k]);
	fprintf(f, "\n|---|---|---:|---:|");
	for (int k = 0; k < XB_NPCT; k++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (int w = 0; w < XB_TAIL_N; w++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			const struct xb_tail_row *r = &t->row[w][i];
			if (!r->valid)
				continue;
			fprintf(f, "| %s | %s | %llu | %.0f |", xb_tail_name[w], xb_peers[i]->name,
			        (unsigned long long)r->samples, r->mean_ns);
			for (int k = 0; k < XB_NPCT; k++)
				fprintf(f, " %.0f |", r->ns[k]);
			fprintf(f, "\n");
		}
}

static void print_curves(FILE *f)
{
	const struct xb_curves *c = xb_curves_result();
	if (!c->ran)
		return;
	fprintf(f, "\n### How xmem's cost grows\n\n");
	if (c->note[0])
		fprintf(f, "Note: %s.\n\n", c->note);
	fprintf(f, "One heap over N GiB (MAP_NORESERVE, never touched; 2 MiB pages, "
	        "scattered IOVA table):\n\n| GiB added | add ms/GiB | metadata KiB/GiB | "
	        "virt->IOVA ns (random over all) | burst ns/obj | shuffled free ns/obj |\n"
	        "|---:|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < c->n_sizes; k++)
		fprintf(f, "| %.0f | %.2f | %.0f | %.2f | %.3f | %.2f |\n", c->gib[k],
		        c->add_ms_per_gib[k], c->meta_per_gib[k] / 1024, c->tr_ns[k],
		        c->burst_ns[k], c->free_ns[k]);
	fprintf(f, "\nBurst with H heaps in use by one thread (round-robin):");
	for (int k = 0; k < c->n_heaps; k++)
		fprintf(f, " %d heap%s %.3f ns/obj%s", c->heaps[k], c->heaps[k] > 1 ? "s" : "",
		        c->heaps_ns[k], k + 1 < c->n_heaps ? ";" : ".\n");
	if (c->n_heaps == 0)
		fprintf(f, " not measured.\n");
	fprintf(f, "\nTranslation memory per GiB registered (xmem_register, process RSS "
	        "growth): 4 KiB pages %.0f KiB, 2 MiB pages %.0f KiB. Empty heap "
	        "metadata per GiB (xmem_heap_stats): 4 KiB pages %.0f KiB, 2 MiB pages "
	        "%.0f KiB.\n", c->pm_rss_4k / 1024, c->pm_rss_2m / 1024, c->pm_meta_4k / 1024,
	        c->pm_meta_2m / 1024);
	fprintf(f, "Threads 1..N: the burst and pipeline rows above (and the plot).\n");
}

static void print_memory(FILE *f, const struct xb_overhead *ov)
{
	fprintf(f, "\n### Memory overhead\n\n");
	fprintf(f, "usable = bytes the peer says each block may hold / bytes asked for. "
	        "in-use = bytes the blocks take / bytes asked for: the allocator's own "
	        "in-use count where it has one (xmem alloc_bytes; rte_malloc "
	        "heap_allocsz_bytes, in-band headers included; rte_mempool objects x "
	        "(header + element + trailer)), else per block: glibc usable + 8 B "
	        "chunk header, jemalloc and mimalloc the size class (no in-band header). "
	        "xmem's metadata is out of band and shown below.\n\n");
	peer_header(f, "request set", "ratio");
	const char *set_name[2] = {"4096 x 2 KiB", "4096 mixed 16 B..16 KiB"};
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
	for (int m = 0; m < 2; m++) {
		const struct xb_meta *x = &ov->meta[m];
		if (x->valid)
			fprintf(f, "\nxmem metadata per GiB of managed memory, %s pages: %.1f KiB "
			        "empty, %.1f KiB filled with 2 KiB objects = %.3f%% (%s).",
			        m ? "2 MiB" : "4 KiB", x->empty / 1024, x->full / 1024,
			        100.0 * x->full / (double)XB_GIB, x->note);
		else
			fprintf(f, "\nxmem metadata per GiB, %s pages: not measured (%s).",
			        m ? "2 MiB" : "4 KiB", x->note[0] ? x->note : "xmem unavailable");
	}
	if (ov->dpdk_hdr_per_obj > 0)
		fprintf(f, " rte_malloc keeps %.0f B in band per 2 KiB object "
		        "(%.1f%% of the memory it manages).",
		        ov->dpdk_hdr_per_obj,
		        100.0 * ov->dpdk_hdr_per_obj / (XB_OBJ_SIZE + ov->dpdk_hdr_per_obj));
	fprintf(f, "\n");
}

void xb_print_table(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
		    double seconds)
{
	fprintf(f, "## xmem benchmark: every peer in one process, same memory\n\n");
	print_main(f);
	print_harness(f);
	print_plain(f);
	print_lifo(f);
	print_pairs(f);
	print_ring_alone(f);
	print_tail(f);
	print_curves(f);
	print_memory(f, ov);
	xb_latency_print(f);

	struct target t[XB_MAX_TARGETS];
	int nt = xb_targets(t, XB_MAX_TARGETS, ov);
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
