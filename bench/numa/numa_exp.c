/* numa_exp.c - the NUMA placement experiment: discovers the topology
 * (nodes, CPUs, distances, free hugepages), builds one heap per node with
 * xmem_numa_map plus an interleaved one, and runs the matrix:
 *   - burst: memory node x CPU node, allocate a burst, write the payload
 *     into every object, free it (ns/object, GB/s of payload);
 *   - pipeline: RX on one node allocates and writes, TX on another reads
 *     and frees, buffers placed local (RX's node), remote (another node),
 *     interleaved, or by first touch (untouched memory; RX's writes place
 *     the pages, xmem_heap_numa_refresh reads where they went).
 * Then the table, JSON and an SVG heat map (numa_report.c).
 *
 *   numa_exp [--nodes=0,1] [--size=2048] [--seconds=0.5] [--burst=32]
 *            [--page-size=auto|4096|2M|1G] [--heap-mb=16]
 *            [--json=numa_exp.json] [--svg=numa_exp.svg]
 * or ./scripts/numa_exp.sh with the same options.  docs/numa.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xmem/xmem.h>

#include "bench/numa/numa_exp.h"
#include "bench/ring.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

const char *const nx_place_names[NX_N_PLACES] = {"local", "remote", "interleaved",
						  "first-touch"};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* ---- topology ------------------------------------------------------------ */

static bool detect_hypervisor(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool hv = false;
	while (f && !hv && fgets(line, sizeof line, f))
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor"))
			hv = true;
	if (f)
		fclose(f);
	return hv;
}

static void node_info(struct nx_node *n, int id)
{
	char p[256];
	n->id = id;
	n->n_cpus = 0;
	struct bitmask *cpus = numa_allocate_cpumask();
	if (numa_node_to_cpus(id, cpus) == 0)
		for (unsigned c = 0; c < cpus->size && n->n_cpus < 256; c++)
			if (numa_bitmask_isbitset(cpus, c))
				n->cpus[n->n_cpus++] = (int)c;
	numa_free_cpumask(cpus);
	snprintf(p, sizeof p, "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/free_hugepages", id);
	n->free_2m = read_long(p);
	snprintf(p, sizeof p, "/sys/devices/system/node/node%d/hugepages/hugepages-1048576kB/free_hugepages", id);
	n->free_1g = read_long(p);
}

static int parse_nodes(const char *s, int *ids)
{
	int n = 0;
	while (*s && n < NX_MAX_NODES) {
		char *e;
		long v = strtol(s, &e, 10);
		if (e == s)
			return -1;
		ids[n++] = (int)v;
		s = *e == ',' ? e + 1 : e;
	}
	return n;
}

static int discover(struct nx_run *r, const char *want)
{
	int ids[NX_MAX_NODES], n = 0;
	if (numa_available() < 0) {
		ids[n++] = 0;   /* no NUMA in the kernel: one node */
	} else if (want) {
		n = parse_nodes(want, ids);
		if (n <= 0) {
			fprintf(stderr, "numa_exp: bad --nodes=%s\n", want);
			return -1;
		}
	} else {
		for (int i = 0; i <= numa_max_node() && n < NX_MAX_NODES; i++)
			if (numa_bitmask_isbitset(numa_all_nodes_ptr, i))
				ids[n++] = i;
	}
	for (int i = 0; i < n; i++) {
		node_info(&r->nodes[i], ids[i]);
		if (r->nodes[i].n_cpus == 0 && numa_available() >= 0) {
			fprintf(stderr, "numa_exp: node %d has no CPUs (or does not exist)\n", ids[i]);
			return -1;
		}
		if (numa_available() < 0) {
			r->nodes[i].n_cpus = 1;
			r->nodes[i].cpus[0] = 0;
		}
	}
	r->n_nodes = n;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			r->nodes[i].dist[j] = numa_available() >= 0 ?
				numa_distance(ids[i], ids[j]) : 10;
	r->hypervisor = detect_hypervisor();
	return 0;
}

static void print_topology(const struct nx_run *r)
{
	printf("topology: %d node(s)%s\n", r->n_nodes,
	       r->hypervisor ? ", running under a hypervisor" : "");
	for (int i = 0; i < r->n_nodes; i++) {
		const struct nx_node *n = &r->nodes[i];
		printf("  node %d: cpus", n->id);
		for (int c = 0; c < n->n_cpus && c < 16; c++)
			printf(" %d", n->cpus[c]);
		if (n->n_cpus > 16)
			printf(" ... (%d)", n->n_cpus);
		printf("; free hugepages 2M %ld, 1G %ld; distances", n->free_2m, n->free_1g);
		for (int j = 0; j < r->n_nodes; j++)
			printf(" %d", n->dist[j]);
		printf("\n");
	}
	if (r->n_nodes == 1)
		printf("NOTE: this machine has one NUMA node: remote placements cannot be "
		       "measured (cells marked n/a)\n");
	if (r->hypervisor)
		printf("NOTE: running in a virtual machine (the cpuinfo \"hypervisor\" flag): "
		       "its nodes are emulated and the timings do not model real NUMA "
		       "(an emulated guest has one memory under every node)\n");
}

/* ---- heaps ---------------------------------------------------------------- */

static struct xmem_heap *g_node_heap[NX_MAX_NODES], *g_il_heap;
static void *g_node_va[NX_MAX_NODES], *g_il_va;

static int build_heaps(struct nx_run *r)
{
	char name[32];
	for (int i = 0; i < r->n_nodes; i++) {
		g_node_va[i] = xmem_numa_map(r->heap_bytes, r->page_size, r->nodes[i].id);
		if (!g_node_va[i]) {
			fprintf(stderr, "numa_exp: xmem_numa_map(%zu, %zu, node %d): %s\n",
				r->heap_bytes, r->page_size, r->nodes[i].id, strerror(errno));
			return -1;
		}
		snprintf(name, sizeof name, "numa_exp-node%d", r->nodes[i].id);
		g_node_heap[i] = xmem_heap_create(name);
		if (!g_node_heap[i] ||
		    xmem_heap_add_memory(g_node_heap[i], g_node_va[i], r->heap_bytes, NULL, 0,
					 r->page_size)) {
			fprintf(stderr, "numa_exp: heap on node %d: %s\n", r->nodes[i].id,
				strerror(errno));
			return -1;
		}
		struct xmem_heap_stats s;
		xmem_heap_stats(g_node_heap[i], &s);
		printf("heap %s: %zu of %zu bytes verified on node %d (move_pages, every page)\n",
		       name, s.numa_bytes[r->nodes[i].id], s.total_bytes, r->nodes[i].id);
	}
	/* Interleaved over the selected nodes: mbind MPOL_INTERLEAVE, then
	 * populate.  Not xmem_numa_map, which binds to one node. */
	int fl = MAP_PRIVATE | MAP_ANONYMOUS;
	if (r->page_size == ((size_t)2 << 20))
		fl |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	else if (r->page_size == ((size_t)1 << 30))
		fl |= MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);
	g_il_va = mmap(NULL, r->heap_bytes, PROT_READ | PROT_WRITE, fl, -1, 0);
	unsigned long mask[NX_MAX_NODES / 64 + 1] = {0};
	for (int i = 0; i < r->n_nodes; i++)
		mask[r->nodes[i].id / 64] |= 1ul << (r->nodes[i].id % 64);
	if (g_il_va == MAP_FAILED ||
	    (numa_available() >= 0 &&
	     mbind(g_il_va, r->heap_bytes, MPOL_INTERLEAVE, mask, NX_MAX_NODES + 1, 0)) ||
	    madvise(g_il_va, r->heap_bytes, MADV_POPULATE_WRITE)) {
		fprintf(stderr, "numa_exp: interleaved memory: %s\n", strerror(errno));
		return -1;
	}
	g_il_heap = xmem_heap_create("numa_exp-interleaved");
	if (!g_il_heap ||
	    xmem_heap_add_memory(g_il_heap, g_il_va, r->heap_bytes, NULL, 0, r->page_size)) {
		fprintf(stderr, "numa_exp: interleaved heap: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void destroy_heaps(struct nx_run *r)
{
	for (int i = 0; i < r->n_nodes; i++) {
		if (g_node_heap[i]) {
			xmem_heap_trim(g_node_heap[i]);
			xmem_heap_remove_memory(g_node_heap[i], g_node_va[i], r->heap_bytes);
			xmem_heap_destroy(g_node_heap[i]);
		}
		if (g_node_va[i])
			xmem_numa_unmap(g_node_va[i], r->heap_bytes);
	}
	if (g_il_heap) {
		xmem_heap_trim(g_il_heap);
		xmem_heap_remove_memory(g_il_heap, g_il_va, r->heap_bytes);
		xmem_heap_destroy(g_il_heap);
	}
	if (g_il_va && g_il_va != MAP_FAILED)
		munmap(g_il_va, r->heap_bytes);
}

/* ---- the cells ------------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

struct burst_arg {
	struct xmem_heap *h;
	int cpu;
	const struct nx_run *r;
	double ns, gbps;
	bool ok;
};

static void *burst_thread(void *p)
{
	struct burst_arg *a = p;
	pin(a->cpu);
	void *objs[256];
	unsigned b = a->r->burst;
	uint64_t n = 0;
	double t0 = now_s(), t;
	do {
		for (int k = 0; k < 16; k++) {
			if (xmem_alloc_bulk(a->h, a->r->obj_size, objs, b)) {
				a->ok = false;
				return NULL;
			}
			for (unsigned i = 0; i < b; i++)
				memset(objs[i], (int)i, a->r->obj_size);
			xmem_free_bulk(objs, b);
			n += b;
		}
		t = now_s() - t0;
	} while (t < a->r->seconds);
	a->ns = t * 1e9 / (double)n;
	a->gbps = (double)n * (double)a->r->obj_size / t / 1e9;
	a->ok = true;
	return NULL;
}

struct pipe_arg {
	struct xmem_heap *h;
	struct xb_ring *ring;
	const struct nx_run *r;
	int rx_cpu, tx_cpu;
	uint64_t n;
	double t;
	bool rx_ok;
	uint64_t sink;
};

static void *rx_thread(void *p)
{
	struct pipe_arg *a = p;
	pin(a->rx_cpu);
	void *objs[256];
	unsigned b = a->r->burst;
	double t0 = now_s();
	a->rx_ok = true;
	while (now_s() - t0 < a->r->seconds) {
		if (xmem_alloc_bulk(a->h, a->r->obj_size, objs, b)) {
			a->rx_ok = false;
			break;
		}
		for (unsigned i = 0; i < b; i++)
			memset(objs[i], (int)i + 1, a->r->obj_size);
		if (xb_ring_push(a->ring, objs, b))
			break;
	}
	for (unsigned i = 0; i < b; i++)
		objs[i] = NULL;   /* the end */
	xb_ring_push(a->ring, objs, b);
	return NULL;
}

static void *tx_thread(void *p)
{
	struct pipe_arg *a = p;
	pin(a->tx_cpu);
	void *objs[256];
	unsigned b = a->r->burst;
	uint64_t sum = 0, n = 0;
	double t0 = 0;
	for (;;) {
		if (xb_ring_pop(a->ring, objs, b) || !objs[0])
			break;
		if (!n)
			t0 = now_s();
		for (unsigned i = 0; i < b; i++) {
			const uint64_t *w = objs[i];
			for (size_t k = 0; k < a->r->obj_size / 8; k++)
				sum += w[k];
		}
		xmem_free_bulk(objs, b);
		n += b;
	}
	a->t = n ? now_s() - t0 : 0;
	a->n = n;
	a->sink = sum;
	return NULL;
}

static void run_burst(struct nx_run *r, int m, int c)
{
	struct nx_cell *cell = &r->burst_cell[m][c];
	struct burst_arg a = {.h = g_node_heap[m], .cpu = r->nodes[c].cpus[0], .r = r};
	pthread_t t;
	cell->mem_node = r->nodes[m].id;
	if (pthread_create(&t, NULL, burst_thread, &a) == 0)
		pthread_join(t, NULL);
	if (!a.ok) {
		snprintf(cell->note, sizeof cell->note, "allocation failed");
		return;
	}
	cell->ns_per_obj = a.ns;
	cell->gbps = a.gbps;
	cell->done = true;
}

static void run_pipe(struct nx_run *r, int rx, int tx, enum nx_place p)
{
	struct nx_cell *cell = &r->pipe[rx][tx][p];
	struct xmem_heap *h = NULL, *ft = NULL;
	void *ft_va = NULL;
	size_t ft_len = r->heap_bytes;
	switch (p) {
	case NX_LOCAL:
		h = g_node_heap[rx];
		cell->mem_node = r->nodes[rx].id;
		break;
	case NX_REMOTE:
		if (r->n_nodes < 2) {
			cell->na = true;
			snprintf(cell->note, sizeof cell->note, "n/a: one node");
			return;
		}
		h = g_node_heap[(rx + 1) % r->n_nodes];
		cell->mem_node = r->nodes[(rx + 1) % r->n_nodes].id;
		break;
	case NX_INTERLEAVED:
		h = g_il_heap;
		cell->mem_node = -1;
		break;
	default:
		/* Fresh untouched 4 KiB anonymous memory: RX's writes place it. */
		ft_va = mmap(NULL, ft_len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ft = xmem_heap_create("numa_exp-first-touch");
		if (ft_va == MAP_FAILED || !ft ||
		    xmem_heap_add_memory(ft, ft_va, ft_len, NULL, 0, 4096)) {
			snprintf(cell->note, sizeof cell->note, "first-touch heap: %s",
				 strerror(errno));
			return;
		}
		h = ft;
		cell->mem_node = -2;
	}
	struct xb_ring *ring = aligned_alloc(64, sizeof(*ring));
	if (!ring)
		return;
	memset(ring, 0, sizeof(*ring));
	struct pipe_arg a = {.h = h, .ring = ring, .r = r,
			     .rx_cpu = r->nodes[rx].cpus[0],
			     .tx_cpu = r->nodes[tx].cpus[r->nodes[tx].n_cpus - 1]};
	pthread_t trx, ttx;
	pthread_create(&ttx, NULL, tx_thread, &a);
	pthread_create(&trx, NULL, rx_thread, &a);
	pthread_join(trx, NULL);
	pthread_join(ttx, NULL);
	free(ring);
	if (a.rx_ok && a.n && a.t > 0) {
		cell->ns_per_obj = a.t * 1e9 / (double)a.n;
		cell->gbps = (double)a.n * (double)r->obj_size / a.t / 1e9;
		cell->done = true;
	} else {
		snprintf(cell->note, sizeof cell->note, "allocation failed");
	}
	if (ft) {
		struct xmem_heap_stats s;
		xmem_heap_numa_refresh(ft);
		xmem_heap_stats(ft, &s);
		int n = 0;
		char *o = cell->note;
		n += snprintf(o + n, sizeof cell->note - n, "pages on");
		for (int i = 0; i < r->n_nodes; i++) {
			size_t bb = s.numa_bytes[r->nodes[i].id];
			r->ft_bytes[i] += bb;
			if (bb && n < (int)sizeof cell->note)
				n += snprintf(o + n, sizeof cell->note - n, " node%d:%zuKiB",
					      r->nodes[i].id, bb >> 10);
		}
		r->ft_unknown += s.numa_unknown_bytes;
		xmem_heap_trim(ft);
		xmem_heap_remove_memory(ft, ft_va, ft_len);
		xmem_heap_destroy(ft);
	}
	if (ft_va && ft_va != MAP_FAILED)
		munmap(ft_va, ft_len);
}

/* ---- main ------------------------------------------------------------------- */

static size_t parse_size(const char *s)
{
	char *e;
	double v = strtod(s, &e);
	if (*e == 'K' || *e == 'k')
		v *= 1024;
	else if (*e == 'M' || *e == 'm')
		v *= 1024 * 1024;
	else if (*e == 'G' || *e == 'g')
		v *= 1024 * 1024 * 1024;
	return (size_t)v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: numa_exp [--nodes=0,1] [--size=2048] [--seconds=0.5] [--burst=32]\n"
		"                [--page-size=auto|4096|2M|1G] [--heap-mb=16]\n"
		"                [--json=numa_exp.json] [--svg=numa_exp.svg]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct nx_run r;
	const char *nodes = NULL, *json = "numa_exp.json", *svg = "numa_exp.svg";
	const char *ps = "auto";
	r.obj_size = 2048;
	r.seconds = 0.5;
	r.burst = 32;
	r.heap_bytes = 16u << 20;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "--nodes=", 8))
			nodes = a + 8;
		else if (!strncmp(a, "--size=", 7))
			r.obj_size = parse_size(a + 7);
		else if (!strncmp(a, "--seconds=", 10))
			r.seconds = atof(a + 10);
		else if (!strncmp(a, "--burst=", 8))
			r.burst = (unsigned)atoi(a + 8);
		else if (!strncmp(a, "--page-size=", 12))
			ps = a + 12;
		else if (!strncmp(a, "--heap-mb=", 10))
			r.heap_bytes = (size_t)atoi(a + 10) << 20;
		else if (!strncmp(a, "--json=", 7))
			json = a + 7;
		else if (!strncmp(a, "--svg=", 6))
			svg = a + 6;
		else
			usage();
	}
	if (r.obj_size < 8 || r.obj_size > XMEM_MAX_CLASS_SIZE || r.burst < 1 ||
	    r.burst > 256 || r.seconds <= 0 || r.heap_bytes == 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (discover(&r, nodes))
		return 1;
	print_topology(&r);

	if (strcmp(ps, "auto") == 0) {
		/* 2 MiB pages when every node has room for its heap and its
		 * share of the interleaved one, else 4 KiB. */
		long need = (long)(r.heap_bytes >> 21) + (long)(r.heap_bytes >> 21) / r.n_nodes + 1;
		r.page_size = (size_t)2 << 20;
		for (int i = 0; i < r.n_nodes; i++)
			if (r.nodes[i].free_2m < need)
				r.page_size = 4096;
	} else {
		r.page_size = parse_size(ps);
	}
	if (r.heap_bytes % r.page_size)
		r.heap_bytes = (r.heap_bytes / r.page_size + 1) * r.page_size;
	printf("settings: object %zu B, burst %u, %.3f s per cell, heaps of %zu KiB on %zu KiB "
	       "pages\n", r.obj_size, r.burst, r.seconds, r.heap_bytes >> 10, r.page_size >> 10);
	if (xmem_thread_register() < 0 || build_heaps(&r)) {
		destroy_heaps(&r);
		return 1;
	}

	int total = r.n_nodes * r.n_nodes * (1 + NX_N_PLACES), k = 0, done = 0, na = 0;
	for (int m = 0; m < r.n_nodes; m++)
		for (int c = 0; c < r.n_nodes; c++) {
			fprintf(stderr, "[%d/%d] burst: memory node %d, cpu node %d\n", ++k, total,
				r.nodes[m].id, r.nodes[c].id);
			run_burst(&r, m, c);
			done += r.burst_cell[m][c].done;
		}
	for (int rx = 0; rx < r.n_nodes; rx++)
		for (int tx = 0; tx < r.n_nodes; tx++)
			for (int p = 0; p < NX_N_PLACES; p++) {
				fprintf(stderr, "[%d/%d] pipeline: rx node %d, tx node %d, %s\n", ++k,
					total, r.nodes[rx].id, r.nodes[tx].id, nx_place_names[p]);
				run_pipe(&r, rx, tx, p);
				done += r.pipe[rx][tx][p].done;
				na += r.pipe[rx][tx][p].na;
			}
	destroy_heaps(&r);

	nx_print_table(&r);
	int rc = 0;
	if (nx_write_json(&r, json) == 0)
		printf("wrote %s\n", json);
	else
		rc = 1;
	if (nx_write_svg(&r, svg) == 0)
		printf("wrote %s\n", svg);
	else
		rc = 1;
	printf("numa_exp: cells: %d of %d completed (%d n/a)\n", done, total - na, na);
	return rc || done != total - na;
}
