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
#define XB_OBJ_SIZE  2048             /* workload 1 and 3 object size */
#define XB_MIN_SIZE  16               /* workload 2 size range */
#define XB_MAX_SIZE  16384
#define XB_MIXED_LEN 4096             /* pre-generated sizes (multiple of XB_BURST) */
#define XB_HEAP_BYTES ((size_t)256 << 20) /* managed memory per DMA-heap peer */
#define XB_PAGE      ((size_t)4096)
#define XB_GIB       ((size_t)1 << 30)
#define XB_MAX_THREADS 64

/* One allocator under test.  Bulk calls are the peer's native burst API
 * where it has one (xmem, rte_mempool), a loop over the single-object
 * calls otherwise. */
struct xb_peer {
	const char *name;          /* short name used in tables and benchmark names */
	int    ready;              /* set by init when the peer can be measured */
	char   about[256];         /* what is really called; filled by init */
	size_t fixed_size;         /* nonzero: only objects up to this size (a pool) */
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

enum { XB_XMEM, XB_RTE_MALLOC, XB_RTE_MEMPOOL, XB_GLIBC, XB_JEMALLOC,
       XB_MIMALLOC, XB_XMEM_CHECKED, XB_N_PEERS };

extern struct xb_peer *xb_peers[XB_N_PEERS];
extern struct xb_peer xb_peer_xmem, xb_peer_rte_malloc, xb_peer_rte_mempool,
	xb_peer_glibc, xb_peer_jemalloc, xb_peer_mimalloc, xb_peer_xmem_checked;

/* Bulk calls for peers that only have single-object calls (through
 * function pointers, as dlsym gives them): all or nothing. */
int  xb_loop_alloc_bulk(void *(*alloc)(size_t), void (*release)(void *),
                        size_t size, void **objs, unsigned n);
void xb_loop_free_bulk(void (*release)(void *), void **objs, unsigned n);

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

/* Workload 5 is not timed: it measures and fills this. */
struct xb_frag {
	int    valid;           /* the peer could serve the whole request set */
	double requested;       /* bytes asked for */
	double usable;          /* bytes the peer says are usable (0: unknown) */
	double in_use;          /* growth of the allocator's in-use stat (-1: none) */
	char   note[96];
};
struct xb_overhead {
	struct xb_frag frag[2][XB_N_PEERS];  /* [0]: 32 x 2 KiB, [1]: mixed */
	int    xmem_meta_valid;
	double xmem_meta_empty;    /* metadata bytes of a 1 GiB heap, nothing allocated */
	double xmem_meta_full;     /* ... filled with 2 KiB objects */
	double xmem_meta_objects;  /* objects the fill got */
	double dpdk_hdr_per_obj;   /* rte_malloc in-band bytes per 2 KiB object */
	char   xmem_meta_note[128];
};
void xb_w_overhead_run(const struct xb_cfg *cfg, struct xb_overhead *out);

/* Workload 7 is not a Google Benchmark either: it times every burst
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

/* The whole run (driver.c): peers, workloads, overhead, report.  Returns 0
 * when every peer came up.  ov_out, when not NULL, gets workload 5. */
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
