/* report_svg.c - the plot, results.svg, drawn here as plain SVG: a panel
 * per workload (grouped bars, log scale for times and rates), a percentile
 * chart per tail-latency workload, the curves (cost over GiB registered,
 * heaps in use, threads), and the targets of this run. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/report.h"

#define SVG_W      1280
#define PANEL_W    620
#define PANEL_H    330
#define TOP        90
#define MAX_GROUPS 8
#define MAX_SERIES XB_N_PEERS
#define MAX_LINES  XB_MAX_TARGETS

struct panel {
	const char *title;
	const char *ylabel;
	int logscale;
	int lines;                        /* a line chart over the groups, not bars */
	int n_groups;
	char group[MAX_GROUPS][48];
	int series[MAX_SERIES];           /* which series appear (peers by default) */
	const char *series_name[MAX_SERIES];
	const char *series_color[MAX_SERIES]; /* NULL: the peer's colour */
	int own_legend;                   /* series are not peers: draw a legend */
	double v[MAX_GROUPS][MAX_SERIES]; /* NAN: no bar; -1: failed */
	const char *note;
	int n_lines;                      /* > 0: a text panel */
	char line[MAX_LINES][200];
	int line_status[MAX_LINES];       /* 1 green, 0 red, -1 grey */
};

static const char *color_of(const struct panel *p, int s)
{
	return p->series_color[s] ? p->series_color[s] : xb_colors[s];
}

static double ypos(const struct panel *p, double val, double T, double ph, double a, double b)
{
	return T + ph - ph * ((p->logscale ? log10(val) : val) - a) / (b - a);
}

#define YPOS(val) ypos(p, val, T, ph, a, b)

static void svg_text(FILE *f, double x, double y, const char *anchor, int size,
                     const char *extra, const char *s);

/* Series as lines over the groups (x), points marked, each value labelled
 * at the last point; a legend when the series are not peers. */
static void draw_lines(FILE *f, const struct panel *p, double L, double pw, double T,
		       double ph, double a, double b)
{
	double gw = pw / p->n_groups;
	char buf[64];
	int k = 0;
	for (int g = 0; g < p->n_groups; g++)
		svg_text(f, L + g * gw + gw / 2, T + ph + 16, "middle", 12, NULL, p->group[g]);
	for (int s = 0; s < MAX_SERIES; s++) {
		if (!p->series[s])
			continue;
		int started = 0;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			color_of(p, s));
		for (int g = 0; g < p->n_groups; g++) {
			double v = p->v[g][s];
			if (!isfinite(v) || v <= 0)
				continue;
			fprintf(f, "%s%.1f,%.1f", started ? " " : "", L + g * gw + gw / 2,
				YPOS(v));
			started = 1;
		}
		fprintf(f, "\"/>\n");
		for (int g = 0; g < p->n_groups; g++) {
			double v = p->v[g][s];
			if (!isfinite(v) || v <= 0)
				continue;
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\">"
				"<title>%s: %g</title></circle>\n", L + g * gw + gw / 2, YPOS(v),
				color_of(p, s), p->series_name[s], v);
		}
		if (p->own_legend) {
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
				"fill=\"%s\"/>\n", L + 8, T + 6 + k * 15, color_of(p, s));
			svg_text(f, L + 22, T + 15 + k * 15, "start", 11, NULL, p->series_name[s]);
		}
		k++;
	}
	(void)buf;
	if (p->note)
		svg_text(f, L + pw / 2, PANEL_H - 12, "middle", 11, "fill=\"#555\"", p->note);
}

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
		double step = fmin(24, (PANEL_H - 80) / (double)p->n_lines);
		svg_text(f, 16, 50 + i * step, "start", step < 16 ? 11 : 13, attr, p->line[i]);
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

	for (int s = 0; s < MAX_SERIES; s++)
		n_series += p->series[s];
	for (int g = 0; g < p->n_groups; g++)
		for (int s = 0; s < MAX_SERIES; s++)
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

	if (p->lines) {
		draw_lines(f, p, L, pw, T, ph, a, b);
		fprintf(f, "</g>\n");
		return;
	}
	/* bars */
	double gw = pw / p->n_groups;
	double bw = fmin(48, (gw * 0.84) / (n_series ? n_series : 1));
	for (int g = 0; g < p->n_groups; g++) {
		double gx = L + g * gw + (gw - bw * n_series) / 2;
		int k = 0;
		for (int s = 0; s < MAX_SERIES; s++) {
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
			        x + 1, y, bw - 2, base - y, color_of(p, s), p->series_name[s], v);
			xb_fmt_num(buf, sizeof buf, v);
			svg_text(f, x + bw / 2, y - 3, "middle", bw < 24 ? 8 : 9, NULL, buf);
		}
		svg_text(f, L + g * gw + gw / 2, T + ph + 16, "middle", 12, NULL, p->group[g]);
	}
	if (p->note)
		svg_text(f, L + pw / 2, PANEL_H - 12, "middle", 11, "fill=\"#555\"", p->note);
	fprintf(f, "</g>\n");
}


/* Groups = the thread counts of one workload, series = the peers. */
static void fill_threads(struct panel *p, const char *workload, int kind, double scale)
{
	int tl[MAX_GROUPS];
	int nt = xb_threads_of(workload, tl, MAX_GROUPS);

	p->n_groups = nt;
	for (int g = 0; g < nt; g++) {
		snprintf(p->group[g], sizeof p->group[g], "%d thread%s", tl[g], tl[g] > 1 ? "s" : "");
		for (int s = 0; s < XB_N_PEERS; s++) {
			struct cell c = xb_lookup(workload, s, tl[g], kind);
			p->v[g][s] = !c.have ? NAN : c.err ? -1 : c.v * scale;
			if (c.have)
				p->series[s] = 1;
		}
	}
	for (int s = 0; s < XB_N_PEERS; s++)
		p->series_name[s] = xb_run_peer_name(workload, s);
}

static void fill_pipes(struct panel *p)
{
	static const char *const short_label[XB_N_PIPE] = {"scrambled", "scrambled + write",
							    "allocation order"};
	p->n_groups = XB_N_PIPE;
	for (int g = 0; g < XB_N_PIPE; g++) {
		snprintf(p->group[g], sizeof p->group[g], "%s", short_label[g]);
		for (int s = 0; s < XB_N_PEERS; s++) {
			struct cell c = xb_lookup(xb_pipe_wl[g], s, 2, K_OBJ_PER_SEC);
			p->v[g][s] = !c.have ? NAN : c.err ? -1 : c.v * 1e-6;
			if (c.have)
				p->series[s] = 1;
		}
	}
	for (int s = 0; s < XB_N_PEERS; s++)
		p->series_name[s] = xb_peers[s]->name;
}

static void fill_tail(struct panel *p, int w)
{
	const struct xb_tail *t = xb_tail_result();
	p->n_groups = XB_NPCT;
	for (int g = 0; g < XB_NPCT; g++) {
		snprintf(p->group[g], sizeof p->group[g], "%s", xb_pct_name[g]);
		for (int s = 0; s < XB_N_PEERS; s++) {
			const struct xb_tail_row *r = &t->row[w][s];
			p->v[g][s] = r->valid ? r->ns[g] : NAN;
			p->series[s] |= r->valid;
		}
	}
	for (int s = 0; s < XB_N_PEERS; s++)
		p->series_name[s] = xb_peers[s]->name;
}

/* Custom series over custom x values. */
static void fill_curve(struct panel *p, const double *x, const char *xfmt, int n, int ns,
		       const char *const *names, const char *const *colors,
		       const double *const *v)
{
	static const char *const pal[3] = {"#d62728", "#1f77b4", "#2ca02c"};
	p->n_groups = n;
	p->own_legend = 1;
	for (int g = 0; g < n; g++) {
		snprintf(p->group[g], sizeof p->group[g], xfmt, x[g]);
		for (int s = 0; s < ns; s++)
			p->v[g][s] = v[s][g] > 0 ? v[s][g] : NAN;
	}
	for (int s = 0; s < ns; s++) {
		p->series[s] = 1;
		p->series_name[s] = names[s];
		p->series_color[s] = colors ? colors[s] : pal[s % 3];
	}
}

static void fill_overhead(struct panel *o, const struct xb_overhead *ov, char *note, size_t nn)
{
	o->n_groups = 2;
	snprintf(o->group[0], sizeof o->group[0], "4096 x 2 KiB");
	snprintf(o->group[1], sizeof o->group[1], "4096 mixed 16 B..16 KiB");
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < XB_N_PEERS; i++) {
			const struct xb_frag *fr = &ov->frag[s][i];
			double v = fr->in_use > 0 ? fr->in_use : fr->usable;
			o->v[s][i] = fr->valid && v > 0 ? 100.0 * (v / fr->requested - 1) : NAN;
			o->series[i] = xb_peer_in(xb_peers[i], 0);
			o->series_name[i] = xb_peers[i]->name;
		}
	if (ov->meta[0].valid) {
		snprintf(note, nn, "+ xmem out-of-band metadata, 1 GiB of 2 KiB objects: "
			 "%.2f%% (4 KiB pages), %.2f%% (2 MiB pages)",
			 100.0 * ov->meta[0].full / (double)XB_GIB,
			 100.0 * ov->meta[1].full / (double)XB_GIB);
		o->note = note;
	}
}

void xb_write_svg(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov)
{
	static struct panel ps[16];
	int np = 0;
	char note_meta[200];
	const struct xb_curves *cv = xb_curves_result();

	memset(ps, 0, sizeof ps);
	ps[np] = (struct panel){.title = "Burst: alloc 32 x 2 KiB, then free (per thread)",
	                        .ylabel = "ns per object (log, lower is better)", .logscale = 1};
	fill_threads(&ps[np++], "burst", K_NS_PER_OBJ, 1);
	ps[np] = (struct panel){.title = "Burst of 32 mixed sizes, 16 B .. 16 KiB",
	                        .ylabel = "ns per object (log, lower is better)", .logscale = 1,
	                        .note = "the pools: fixed 2 KiB elements, not applicable"};
	fill_threads(&ps[np++], "mixed", K_NS_PER_OBJ, 1);
	ps[np] = (struct panel){.title = "Pipeline, 2 threads: RX alloc -> ring -> TX frees",
	                        .ylabel = "million objects/s (log, higher is better)",
	                        .logscale = 1, .note = "TX frees windows of 128 in a "
	                        "scrambled order, or in allocation order; write: RX writes 64 B"};
	fill_pipes(&ps[np++]);
	ps[np] = (struct panel){.title = "virt -> IOVA, random addresses over 1 GiB",
	                        .ylabel = "ns per lookup (log, lower is better)", .logscale = 1,
	                        .note = "DPDK: rte_mem_virt2memseg + ms->iova (rte_extmem_register)"};
	fill_threads(&ps[np++], "translate", K_NS_PER_OBJ, 1);
	for (int g = 0; g < ps[np - 1].n_groups; g++)
		snprintf(ps[np - 1].group[g], sizeof ps[np - 1].group[g], "xmem vs DPDK memseg");
	ps[np] = (struct panel){.title = "Memory overhead: bytes used beyond those requested",
	                        .ylabel = "% over requested (lower is better)", .logscale = 0};
	fill_overhead(&ps[np++], ov, note_meta, sizeof note_meta);
	static const char *const tail_title[XB_TAIL_N] = {
		"Tail: burst latency percentiles (alloc + free 32)",
		"Tail: pipeline RX alloc burst percentiles",
		"Tail: pipeline TX free burst percentiles"};
	for (int w = 0; w < XB_TAIL_N && xb_tail_result()->ran; w++) {
		ps[np] = (struct panel){.title = tail_title[w], .lines = 1, .logscale = 1,
		                        .ylabel = "ns per burst of 32 (log)"};
		fill_tail(&ps[np++], w);
	}
	if (cv->ran && cv->n_sizes > 0) {
		const char *const n1[3] = {"virt->IOVA ns", "burst ns/obj", "shuffled free ns/obj"};
		const double *const v1[3] = {cv->tr_ns, cv->burst_ns, cv->free_ns};
		ps[np] = (struct panel){.title = "Cost over memory registered (one heap)",
		                        .lines = 1, .logscale = 1, .ylabel = "ns (log)",
		                        .note = "should stay flat"};
		fill_curve(&ps[np++], cv->gib, "%.0f GiB", cv->n_sizes, 3, n1, NULL, v1);
		const char *const n2[2] = {"add ms per GiB", "metadata KiB per GiB / 100"};
		double meta_k[4];
		for (int k = 0; k < cv->n_sizes; k++)
			meta_k[k] = cv->meta_per_gib[k] / 1024 / 100;
		const double *const v2[2] = {cv->add_ms_per_gib, meta_k};
		ps[np] = (struct panel){.title = "Adding memory: time and metadata per GiB",
		                        .lines = 1, .logscale = 1, .ylabel = "per GiB (log)"};
		fill_curve(&ps[np++], cv->gib, "%.0f GiB", cv->n_sizes, 2, n2, NULL, v2);
	}
	if (cv->ran && cv->n_heaps > 0) {
		double hx[4];
		for (int k = 0; k < cv->n_heaps; k++)
			hx[k] = cv->heaps[k];
		const char *const n3[1] = {"xmem burst ns/obj"};
		const double *const v3[1] = {cv->heaps_ns};
		ps[np] = (struct panel){.title = "Burst with N heaps in use by one thread",
		                        .lines = 1, .logscale = 1, .ylabel = "ns per object (log)",
		                        .note = "bursts round-robin over the heaps"};
		fill_curve(&ps[np++], hx, "%.0f heaps", cv->n_heaps, 1, n3, NULL, v3);
	}
	ps[np] = (struct panel){.title = "Burst over threads (per thread)", .lines = 1,
	                        .logscale = 1, .ylabel = "ns per object (log)"};
	fill_threads(&ps[np++], "burst", K_NS_PER_OBJ, 1);
	ps[np] = (struct panel){.title = "Pipeline (scrambled) over threads, all pairs",
	                        .lines = 1, .logscale = 1, .ylabel = "million objects/s (log)",
	                        .note = "1 thread: RX and TX on one thread"};
	fill_threads(&ps[np++], "pipeline", K_OBJ_PER_SEC, 1e-6);

	struct panel *tp = &ps[np++];
	struct target tg[XB_MAX_TARGETS];
	int ntg = xb_targets(tg, XB_MAX_TARGETS, ov);
	*tp = (struct panel){.title = "Targets in this run",
	                     .note = "ratios from this run only; rerun on a quiet machine"};
	for (int k = 0; k < ntg && k < MAX_LINES; k++) {
		snprintf(tp->line[k], sizeof tp->line[k], "[%s]  %.110s%.70s",
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
		lname[i] = i == XB_RTE_MALLOC ? "rte_malloc / DPDK memseg" :
		           i == XB_RTE_MEMPOOL ? "rte_mempool (ring)" : xb_peers[i]->name;
		lw[i] = 20 + 6.6 * (double)strlen(lname[i]) + 18;
		total += lw[i];
	}
	double lx = (SVG_W - total) / 2.0;
	for (int i = 0; i < XB_N_PEERS; i++) {
		fprintf(f, "<rect x=\"%.1f\" y=\"62\" width=\"14\" height=\"14\" fill=\"%s\"/>\n",
		        lx, xb_colors[i]);
		svg_text(f, lx + 20, 74, "start", 12, NULL, lname[i]);
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
