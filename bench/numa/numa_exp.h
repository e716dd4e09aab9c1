/* numa_exp.h - the NUMA placement experiment (docs/numa.md): what the runner
 * (numa_exp.c: topology, heaps, the matrix) hands the reporter
 * (numa_report.c: table, JSON, SVG heat map). */
#ifndef NX_NUMA_EXP_H
#define NX_NUMA_EXP_H

#include <stdbool.h>
#include <stddef.h>

#define NX_MAX_NODES 16

enum nx_place { NX_LOCAL, NX_REMOTE, NX_INTERLEAVED, NX_FIRST_TOUCH, NX_N_PLACES };

struct nx_node {
	int id;
	int cpus[256];
	int n_cpus;
	long free_2m, free_1g;           /* free hugepages */
	int dist[NX_MAX_NODES];          /* to the other selected nodes */
};

struct nx_cell {
	bool done;                       /* ran to the end */
	bool na;                         /* cannot exist here (one node) */
	int mem_node;                    /* -1: interleaved, -2: first touch */
	double ns_per_obj, gbps;
	char note[96];
};

struct nx_run {
	struct nx_node nodes[NX_MAX_NODES];
	int n_nodes;
	bool hypervisor;
	size_t obj_size, page_size, heap_bytes;
	double seconds;
	unsigned burst;
	/* burst[m][c]: memory on node m, CPU on node c (indices into nodes) */
	struct nx_cell burst_cell[NX_MAX_NODES][NX_MAX_NODES];
	/* pipe[r][t][p]: RX on node r, TX on node t, buffers placed by p */
	struct nx_cell pipe[NX_MAX_NODES][NX_MAX_NODES][NX_N_PLACES];
	/* Where the first-touch heap's pages landed (bytes per node), after. */
	size_t ft_bytes[NX_MAX_NODES];
	size_t ft_unknown;
};

extern const char *const nx_place_names[NX_N_PLACES];

void nx_print_table(const struct nx_run *r);
int  nx_write_json(const struct nx_run *r, const char *path);
int  nx_write_svg(const struct nx_run *r, const char *path);

#endif
