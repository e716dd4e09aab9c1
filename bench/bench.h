/* bench.h - what the benchmark files share: the peer interface (one
 * allocator under test), the memory every peer gets, the workload entry
 * points and the result summary the reporter prints. */
#ifndef XB_BENCH_H
#define XB_BENCH_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "bench/xb.h"

#define XB_BURST     32               /* objects per burst */
#define XB_OBJ_SIZE  2048             /* burst and pipeline object size */
#define XB_MIN_SIZE  16               /* mixed burst size range */
#define XB_MAX_SIZE  16384
#define XB_MIXED_LEN 4096             /* pre-generated sizes (multiple of XB_BURST) */
#define XB_HEAP_BYTES ((size_t)256 << 20) /* managed memory per DMA-heap peer */
#define XB_PAGE      ((size_t)4096)
#define XB_GIB       ((size_t)1 << 30)
#define XB_MAX_THREADS 64
#define XB_BURSTS_PER_ITER 256        /* bursts per harness iteration (burst) */
#define XB_PIPE_BURSTS_PER_ITER 16    /* ... (pipeline; a multiple of the window) */
#define XB_TX_WINDOW 4                /* bursts TX completes together */
#define XB_TX_PERMS  64               /* scrambled completion orders, cycled */
#define XB_RX_WRITE  64               /* bytes RX writes into each buffer */

struct xb_ring;
struct xb_hist;

/* The order TX frees a window in: perm NULL is allocation order, else
 * perm[next++ % XB_TX_PERMS] is a permutation of the window's objects. */
struct xb_tx_order {
	const uint8_t (*perm)[XB_TX_WINDOW * XB_BURST];
	unsigned next;
};

/* A peer's loops, compiled in its own file (bench/loops.h). */
struct xb_loops {
	int (*burst)(unsigned n_bursts);
	int (*burst_lat)(unsigned n_bursts, struct xb_hist *h);
	int (*rx)(struct xb_ring *r, unsigned n_bursts, int write, struct xb_hist *h);
	int (*tx)(struct xb_ring *r, unsigned n_bursts, struct xb_tx_order *o,
		  struct xb_hist *h);
};

/* One allocator under test.  Bulk calls are the peer's native burst API
 * where it has one (xmem, rte_mempool), a loop over the single-object
 * calls otherwise.  The timed loops are in loops; the function pointers
 * below serve setup, the mixed-size workload, the overhead measurement and
 * the "peer interface" comparison (one indirect call per burst). */
struct xb_peer {
	const char *name;          /* short name used in tables and benchmark names */
	int    ready;              /* set by init when the peer can be measured */
	char   about[256];         /* what is really called; filled by init */
	size_t fixed_size;         /* nonzero: only objects up to this size (a pool) */
	int    pipeline_only;      /* measured on the pipeline workloads only */
	const struct xb_loops *loops;
	int    (*init)(struct xb_peer *p);
	int    (*alloc_bulk)(size_t size, void **objs, unsigned n); /* 0 or -1 */
	void   (*free_bulk)(void **objs, unsigned n);
	void  *(*alloc)(size_t size);
	void   (*free)(void *ptr);
	size_t (*usable)(const void *ptr);      /* 0: cannot tell */
	long long (*in_use)(void);              /* bytes the allocator accounts as
	                                           in use (headers included where
	                                           it counts them); -1: no such stat */
	size_t (*footprint)(const void *ptr);   /* else: bytes one block takes,
	                                           in-band header included */
	void   (*thread_enter)(void);           /* on benchmark threads */
	void   (*thread_leave)(void);
};

enum { XB_XMEM, XB_RTE_MALLOC, XB_RTE_MEMPOOL, XB_RTE_MEMPOOL_STACK, XB_GLIBC,
       XB_JEMALLOC, XB_MIMALLOC, XB_XMEM_CHECKED, XB_N_PEERS };

extern struct xb_peer *xb_peers[XB_N_PEERS];
extern struct xb_peer xb_peer_xmem, xb_peer_rte_malloc, xb_peer_rte_mempool,
	xb_peer_rte_mempool_stack, xb_peer_glibc, xb_peer_jemalloc, xb_peer_mimalloc,
	xb_peer_xmem_checked;

/* The peer measured in a workload: ready, and not pipeline-only unless the
 * workload is a pipeline. */
int xb_peer_in(const struct xb_peer *p, int pipeline);

void xb_peer_enter(const struct xb_peer *p);
void xb_peer_leave(const struct xb_peer *p);

/* Memory: anonymous, 4 KiB pages, populated, with a per-page IOVA table. */
struct xb_mem {
	void     *va;
	size_t    len;
	uint64_t *iova;   /* len / XB_PAGE entries */
	size_t    n_pages;
};
int  xb_mem_map(struct xb_mem *m, size_t len, int prot_none, uint64_t iova_base);
void xb_mem_unmap(struct xb_mem *m);

/* DPDK: EAL, the external heap, its socket.  dpdk.c. */
int  xb_dpdk_init(char *err, size_t errlen);
int  xb_dpdk_ready(void);
int  xb_dpdk_socket(void);
const char *xb_dpdk_heap_name(void);
int  xb_dpdk_pool_socket(void);
void xb_dpdk_thread_enter(void);  /* rte_thread_register on non-EAL threads */
void xb_dpdk_thread_leave(void);

/* jemalloc needs static TLS that a late dlopen cannot get; this re-executes
 * the program once with GLIBC_TUNABLES raising glibc.rtld.optional_static_tls.
 * Returns only when no re-exec was needed or it failed. */
void xb_reexec_for_static_tls(char **argv);

/* Configuration of a run. */
struct xb_cfg {
	int    quick;        /* smoke mode: tiny min_time, short fills */
	int    max_threads;  /* scaling goes 1, 2, 4 .. max_threads */
	double min_time;     /* seconds per benchmark, 0: harness default */
	const char *out_dir; /* NULL: no files */
	const char *only;    /* comma list of workloads, NULL: all */
	double load_start;   /* 1-minute load average when the run started */
	const char *plain;   /* the plain loop's figures (bench/plain), or NULL */
	int    argc;         /* left-over argv for Google Benchmark */
	char **argv;
};

/* Workloads: each registers its benchmarks (register_*) and is run by the
 * driver with the pattern it returns. */
void xb_w_burst_register(const struct xb_cfg *cfg);
void xb_w_mixed_register(const struct xb_cfg *cfg);
void xb_w_pipeline_register(const struct xb_cfg *cfg);
int  xb_w_translate_setup(const struct xb_cfg *cfg, char *err, size_t errlen);
void xb_w_translate_register(const struct xb_cfg *cfg);
void xb_w_numa_register(const struct xb_cfg *cfg);    /* workload 8 (w_numa.c) */
void xb_w_numa_print(FILE *f);                        /* its ratio line */
const uint32_t *xb_mixed_sizes(void); /* XB_MIXED_LEN sizes, same for every peer */

/* The memory overhead is not timed: it measures and fills this. */
struct xb_frag {
	int    valid;           /* the peer could serve the whole request set */
	double requested;       /* bytes asked for */
	double usable;          /* bytes the peer says are usable (0: unknown) */
	double in_use;          /* growth of the allocator's in-use stat (-1: none) */
	char   note[96];
};
struct xb_meta {
	int    valid;
	double empty;    /* metadata bytes of a 1 GiB heap, nothing allocated */
	double full;     /* ... filled with 2 KiB objects */
	double objects;  /* objects the fill got */
	char   note[128];
};
struct xb_overhead {
	struct xb_frag frag[2][XB_N_PEERS];  /* [0]: 32 x 2 KiB, [1]: mixed */
	struct xb_meta meta[2];    /* xmem metadata: [0] 4 KiB pages, [1] 2 MiB pages */
	double dpdk_hdr_per_obj;   /* rte_malloc in-band bytes per 2 KiB object */
};
void xb_w_overhead_run(const struct xb_cfg *cfg, struct xb_overhead *out);

/* The control-plane latency run is not a Google Benchmark either: it times every burst
 * (bench/latency.h), quiet and with a control thread busy on the same heap. */
#include "bench/latency.h"
struct xb_latency {
	int    ran;             /* the workload was selected and ran */
	int    valid;           /* both runs measured, the control thread did its ops */
	char   note[160];       /* why not */
	struct xmem_lat_result quiet, busy;
};
void xb_w_latency_run(const struct xb_cfg *cfg);
const struct xb_latency *xb_latency_result(void);
void xb_latency_print(FILE *f);   /* its section of the table (nothing if it did not run) */
#define XB_LAT_TARGET_P999  2.0  /* busy / quiet at p99.9, at most */
#define XB_LAT_TARGET_P9999 3.0  /* and at p99.99 */

/* Per-burst latency of every peer (w_tail.c). */
#include "bench/hist.h"
enum { XB_TAIL_BURST, XB_TAIL_PIPE_ALLOC, XB_TAIL_PIPE_FREE, XB_TAIL_N };
extern const char *const xb_tail_name[XB_TAIL_N]; /* "burst", "pipeline alloc", .. */
struct xb_tail_row {
	int      valid;
	uint64_t samples;
	double   mean_ns;
	double   ns[XB_NPCT];
};
struct xb_tail {
	int ran;
	struct xb_tail_row row[XB_TAIL_N][XB_N_PEERS];
};
void xb_w_tail_run(const struct xb_cfg *cfg);
const struct xb_tail *xb_tail_result(void);

/* One 2-thread pipeline run (pipe_run.c): scrambled TX order, no writes; RX
 * runs at least min_s and min_bursts, at most max_s.  hr, ht: histograms of
 * RX's and TX's bursts, or NULL; tpn: ticks per ns of the run; obj_per_s:
 * objects through the whole pipeline per second.  -1 when the peer failed. */
struct xb_pipe_limits {
	double   min_s, max_s;
	uint64_t min_bursts;
};
int xb_pipe_run(const struct xb_peer *p, const struct xb_pipe_limits *lim,
		struct xb_hist *hr, struct xb_hist *ht, double *tpn, double *obj_per_s);

/* The same pipeline for xmem and rte_mempool in alternating rounds
 * (w_pairs.c): the ratio of each round, and their median. */
#define XB_PAIR_ROUNDS_MAX 15
struct xb_pairs {
	int    valid;
	int    rounds;
	double seconds;                      /* per peer per round */
	double xmem[XB_PAIR_ROUNDS_MAX];     /* objects per second */
	double mempool[XB_PAIR_ROUNDS_MAX];
	double median, min, max;             /* of xmem / rte_mempool per round */
};
void xb_w_pairs_run(const struct xb_cfg *cfg);
const struct xb_pairs *xb_pairs_result(void);

/* How xmem's costs grow (w_curves.c). */
struct xb_curves {
	int    ran, valid;
	char   note[160];
	int    n_sizes;                 /* points of the size curve */
	double gib[4];                  /* 1, 4, 16, 64 */
	double add_ms_per_gib[4], meta_per_gib[4], tr_ns[4], burst_ns[4], free_ns[4];
	int    n_heaps;
	int    heaps[4];                /* 1, 8, 32, 128 */
	double heaps_ns[4];
	double pm_rss_4k, pm_rss_2m;    /* RSS growth per GiB registered */
	double pm_meta_4k, pm_meta_2m;  /* empty heap metadata per GiB */
};
void xb_w_curves_run(const struct xb_cfg *cfg);
const struct xb_curves *xb_curves_result(void);

/* The scrambled TX orders (w_pipeline.c), fixed seed. */
void xb_tx_perms_init(void);
const uint8_t (*xb_tx_perms(void))[XB_TX_WINDOW * XB_BURST];

/* The plain loop's figures (bench/plain/plain_burst.c --out=FILE), read by
 * the driver from cfg->plain.  Keys as in that file. */
struct xb_plain {
	int    valid;
	char   note[160];
	double rounds, bursts_per_round;
	double burst_mempool_min, burst_mempool_median, burst_xmem_min, burst_xmem_median,
	       burst_ratio;
	double tr_memseg_min, tr_memseg_median, tr_xmem_min, tr_xmem_median, tr_ratio;
	/* By burst size (bench/plain/burst_sizes.c, optional): the sizes
	 * the file has all three figures of, in the file's order (at most
	 * XB_PLAIN_MAX_SIZES). */
#define XB_PLAIN_MAX_SIZES 8
	int    n_sizes;
	unsigned size[XB_PLAIN_MAX_SIZES];
	double size_mempool[XB_PLAIN_MAX_SIZES], size_xmem[XB_PLAIN_MAX_SIZES],
	       size_ratio[XB_PLAIN_MAX_SIZES];
};
int xb_plain_load(const char *path);   /* 0, or -1 with the reason in note */
const struct xb_plain *xb_plain_result(void);

/* The whole run (driver.c): peers, workloads, overhead, report.  Returns 0
 * when every peer came up.  ov_out, when not NULL, gets the overhead figures. */
int xb_bench_main(struct xb_cfg *cfg, struct xb_overhead *ov_out);

/* Output. report.c */
void xb_report(const struct xb_cfg *cfg, const struct xb_overhead *ov,
               double seconds);

/* Small helpers. */
double xb_now(void);
double xb_loadavg(void); /* 1-minute load average, -1 unknown */
void   xb_pin_self(int cpu, void *saved_mask_or_null); /* saved: cpu_set_t * */
void   xb_unpin_self(const void *saved_mask);
uint64_t xb_rand64(uint64_t *s);
/* Thread counts to measure: 1, 2, 4, ... below max, then max.  even_only:
 * 1 and even counts only (pipeline pairs).  Returns how many. */
int xb_thread_list(int max, int even_only, int *out, int cap);

#endif /* XB_BENCH_H */
