/* numa_report.c - the experiment's results: a table on stdout, JSON, and
 * an SVG heat map (burst: memory node x CPU node; pipeline: RX -> TX pair x
 * placement), each cell coloured by ns per object from the fastest (green)
 * to the slowest (red) cell of its panel. */
#include <stdio.h>

#include "bench/numa/numa_exp.h"

static void mem_name(const struct nx_cell *c, char *buf, size_t n)
{
	if (c->mem_node == -1)
		snprintf(buf, n, "interleaved");
	else if (c->mem_node == -2)
		snprintf(buf, n, "first-touch");
	else
		snprintf(buf, n, "node %d", c->mem_node);
}

void nx_print_table(const struct nx_run *r)
{
	printf("\nburst (allocate %u x %zu B, write every byte, free), ns per object / GB/s:\n",
	       r->burst, r->obj_size);
	printf("  %-14s", "memory \\ cpu");
	for (int c = 0; c < r->n_nodes; c++)
		printf("  node %-14d", r->nodes[c].id);
	printf("\n");
	for (int m = 0; m < r->n_nodes; m++) {
		printf("  node %-9d", r->nodes[m].id);
		for (int c = 0; c < r->n_nodes; c++) {
			const struct nx_cell *x = &r->burst_cell[m][c];
			if (x->done)
				printf("  %7.1f ns %6.2f GB/s", x->ns_per_obj, x->gbps);
			else
				printf("  %-20s", "failed");
		}
		printf("\n");
	}
	printf("\npipeline (RX allocates and writes, TX reads and frees), ns per object / GB/s:\n");
	for (int rx = 0; rx < r->n_nodes; rx++)
		for (int tx = 0; tx < r->n_nodes; tx++)
			for (int p = 0; p < NX_N_PLACES; p++) {
				const struct nx_cell *x = &r->pipe[rx][tx][p];
				char mem[32];
				mem_name(x, mem, sizeof mem);
				printf("  rx node %d -> tx node %d  %-12s", r->nodes[rx].id,
				       r->nodes[tx].id, nx_place_names[p]);
				if (x->done)
					printf(" (buffers %-11s) %8.1f ns %6.2f GB/s", mem,
					       x->ns_per_obj, x->gbps);
				else
					printf(" %s", x->na ? "n/a" : "failed");
				printf("%s%s\n", x->note[0] ? "  " : "", x->note);
			}
	if (r->n_nodes == 1)
		printf("NOTE: one NUMA node: remote cells are n/a\n");
	if (r->hypervisor)
		printf("NOTE: emulated guest: these timings do not model real NUMA\n");
}

static void json_cell(FILE *f, const struct nx_cell *c)
{
	fprintf(f, "\"done\": %s, \"na\": %s, \"mem_node\": %d, \"ns_per_obj\": %.3f, "
		"\"gbps\": %.4f, \"note\": \"%s\"", c->done ? "true" : "false",
		c->na ? "true" : "false", c->mem_node, c->ns_per_obj, c->gbps, c->note);
}

int nx_write_json(const struct nx_run *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\n  \"hypervisor\": %s,\n  \"one_node\": %s,\n  \"object_size\": %zu,\n"
		"  \"burst\": %u,\n  \"seconds_per_cell\": %.3f,\n  \"page_size\": %zu,\n"
		"  \"heap_bytes\": %zu,\n  \"nodes\": [",
		r->hypervisor ? "true" : "false", r->n_nodes == 1 ? "true" : "false",
		r->obj_size, r->burst, r->seconds, r->page_size, r->heap_bytes);
	for (int i = 0; i < r->n_nodes; i++) {
		const struct nx_node *n = &r->nodes[i];
		fprintf(f, "%s\n    {\"id\": %d, \"cpus\": [", i ? "," : "", n->id);
		for (int c = 0; c < n->n_cpus; c++)
			fprintf(f, "%s%d", c ? ", " : "", n->cpus[c]);
		fprintf(f, "], \"free_hugepages_2m\": %ld, \"free_hugepages_1g\": %ld, "
			"\"distances\": [", n->free_2m, n->free_1g);
		for (int j = 0; j < r->n_nodes; j++)
			fprintf(f, "%s%d", j ? ", " : "", n->dist[j]);
		fprintf(f, "]}");
	}
	fprintf(f, "\n  ],\n  \"burst\": [");
	int k = 0;
	for (int m = 0; m < r->n_nodes; m++)
		for (int c = 0; c < r->n_nodes; c++) {
			fprintf(f, "%s\n    {\"cpu_node\": %d, ", k++ ? "," : "", r->nodes[c].id);
			json_cell(f, &r->burst_cell[m][c]);
			fprintf(f, "}");
		}
	fprintf(f, "\n  ],\n  \"pipeline\": [");
	k = 0;
	for (int rx = 0; rx < r->n_nodes; rx++)
		for (int tx = 0; tx < r->n_nodes; tx++)
			for (int p = 0; p < NX_N_PLACES; p++) {
				fprintf(f, "%s\n    {\"rx_node\": %d, \"tx_node\": %d, \"placement\": "
					"\"%s\", ", k++ ? "," : "", r->nodes[rx].id,
					r->nodes[tx].id, nx_place_names[p]);
				json_cell(f, &r->pipe[rx][tx][p]);
				fprintf(f, "}");
			}
	fprintf(f, "\n  ]\n}\n");
	return fclose(f) ? -1 : 0;
}

/* Green (fast) to red (slow). */
static void colour(double v, double lo, double hi, char *buf, size_t n)
{
	double t = hi > lo ? (v - lo) / (hi - lo) : 0;
	int red = (int)(60 + 195 * t), green = (int)(200 - 140 * t);
	snprintf(buf, n, "rgb(%d,%d,80)", red, green);
}

static void svg_cell(FILE *f, int x, int y, int w, int h, const struct nx_cell *c,
		     double lo, double hi)
{
	char fill[32] = "rgb(200,200,200)";
	if (c->done)
		colour(c->ns_per_obj, lo, hi, fill, sizeof fill);
	fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='%s' stroke='white'/>\n",
		x, y, w, h, fill);
	if (c->done)
		fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>%.1f ns</text>"
			"<text x='%d' y='%d' text-anchor='middle' font-size='10'>%.2f GB/s</text>\n",
			x + w / 2, y + h / 2 - 2, c->ns_per_obj, x + w / 2, y + h / 2 + 12, c->gbps);
	else
		fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>%s</text>\n", x + w / 2,
			y + h / 2 + 4, c->na ? "n/a" : "failed");
}

int nx_write_svg(const struct nx_run *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	const int cw = 110, ch = 40, left = 150, top = 70;
	int n = r->n_nodes, pairs = n * n;
	int w = left + cw * (n > NX_N_PLACES ? n : NX_N_PLACES) + 20;
	int y2 = top + ch * n + 80;
	int h = y2 + ch * pairs + 60;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		"font-family='sans-serif' font-size='12'>\n<rect width='100%%' height='100%%' "
		"fill='white'/>\n", w, h);
	fprintf(f, "<text x='10' y='20' font-size='15'>xmem NUMA placement: %zu B objects, "
		"burst %u (ns per object; green fast, red slow)</text>\n", r->obj_size, r->burst);
	if (r->n_nodes == 1 || r->hypervisor)
		fprintf(f, "<text x='10' y='38' fill='darkred'>%s%s</text>\n",
			r->n_nodes == 1 ? "One NUMA node: remote cells n/a. " : "",
			r->hypervisor ? "Emulated guest: timings do not model real NUMA." : "");
	/* Burst panel. */
	double lo = 1e300, hi = 0;
	for (int m = 0; m < n; m++)
		for (int c = 0; c < n; c++)
			if (r->burst_cell[m][c].done) {
				double v = r->burst_cell[m][c].ns_per_obj;
				lo = v < lo ? v : lo;
				hi = v > hi ? v : hi;
			}
	fprintf(f, "<text x='10' y='%d' font-weight='bold'>burst: rows memory node, "
		"columns CPU node</text>\n", top - 10);
	for (int c = 0; c < n; c++)
		fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>cpu node %d</text>\n",
			left + c * cw + cw / 2, top + ch * n + 16, r->nodes[c].id);
	for (int m = 0; m < n; m++) {
		fprintf(f, "<text x='10' y='%d'>memory node %d</text>\n", top + m * ch + ch / 2 + 4,
			r->nodes[m].id);
		for (int c = 0; c < n; c++)
			svg_cell(f, left + c * cw, top + m * ch, cw, ch, &r->burst_cell[m][c], lo, hi);
	}
	/* Pipeline panel. */
	lo = 1e300;
	hi = 0;
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++)
			for (int p = 0; p < NX_N_PLACES; p++)
				if (r->pipe[a][b][p].done) {
					double v = r->pipe[a][b][p].ns_per_obj;
					lo = v < lo ? v : lo;
					hi = v > hi ? v : hi;
				}
	fprintf(f, "<text x='10' y='%d' font-weight='bold'>pipeline: rows RX node -&gt; TX "
		"node, columns buffer placement</text>\n", y2 - 26);
	for (int p = 0; p < NX_N_PLACES; p++)
		fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>%s</text>\n",
			left + p * cw + cw / 2, y2 - 6, nx_place_names[p]);
	int row = 0;
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++, row++) {
			fprintf(f, "<text x='10' y='%d'>rx %d -&gt; tx %d</text>\n",
				y2 + row * ch + ch / 2 + 4, r->nodes[a].id, r->nodes[b].id);
			for (int p = 0; p < NX_N_PLACES; p++)
				svg_cell(f, left + p * cw, y2 + row * ch, cw, ch, &r->pipe[a][b][p],
					 lo, hi);
		}
	fprintf(f, "</svg>\n");
	return fclose(f) ? -1 : 0;
}
