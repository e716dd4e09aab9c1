/* report.h - what the reporter's files share (report.c: looking results up,
 * the targets and the harness check, the entry point; report_table.c,
 * report_json.c, report_svg.c: the three outputs).  Internal to bench/. */
#ifndef XB_REPORT_H
#define XB_REPORT_H

#include <stdio.h>

#include "bench/bench.h"

extern const char *const xb_colors[XB_N_PEERS];

enum { K_NS_PER_OBJ, K_OBJ_PER_SEC };

struct cell {
	int    have;   /* a run exists */
	int    err;    /* it failed */
	double v;      /* ns per object per thread, or objects per second */
	double ns;     /* cost per object, the ratio's basis */
	const char *msg;
};

const char *xb_run_peer_name(const char *workload, int peer);
struct cell xb_lookup(const char *workload, int peer, int threads, int kind);
int  xb_threads_of(const char *workload, int *out, int cap);
/* The 2-thread pipeline's ring with no allocator (pipeline_ring/alone),
 * objects per second; 0 when it did not run or failed. */
double xb_ring_alone(void);
void xb_fmt_num(char *b, size_t n, double v);

/* The pipeline workloads, their labels, the thread count their ratio uses. */
#define XB_N_PIPE 3
extern const char *const xb_pipe_wl[XB_N_PIPE];
extern const char *const xb_pipe_label[XB_N_PIPE];

/* The harness check (bench/w_burst.c's harness/keeprunning against the
 * fastest figures) and the peer-interface comparison. */
struct xb_harness {
	int    have;
	double iter_ns;          /* harness cost per iteration */
	double fastest_burst;    /* ns/obj, fastest burst figure */
	double pct_burst;        /* harness cost / one iteration of that figure */
	double fastest_pipe;     /* ns/obj, fastest pipeline figure */
	double pct_pipe;
	int    ok;               /* both below 2 % */
	struct cell via[2], loop[2];   /* xmem, rte_mempool: interface and loop */
};
void xb_harness_check(struct xb_harness *h);
#define XB_HARNESS_MAX_PCT 2.0

struct target {
	char what[120];
	int  status;      /* 1 met, 0 not met, -1 not measured */
	char detail[80];
};
#define XB_MAX_TARGETS 24
int xb_targets(struct target *t, int cap, const struct xb_overhead *ov);

void xb_print_table(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
		    double seconds);
void xb_write_json(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov,
		   double seconds);
void xb_write_svg(FILE *f, const struct xb_cfg *cfg, const struct xb_overhead *ov);

#endif /* XB_REPORT_H */
