/* xb.h - the C face of the benchmark harness.  bench/shim.cc implements it
 * on top of Google Benchmark; every benchmark body in bench/ is C and only
 * sees this header.
 *
 * Life cycle: xb_init(argc, argv) once, xb_register(...) any number of times,
 * then xb_run(pattern) as often as wanted (each call runs the registered
 * benchmarks whose name matches the regular expression and appends their
 * results to the result list read with xb_result_count/xb_result_get). */
#ifndef XB_XB_H
#define XB_XB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xb_state; /* one per benchmark thread (a benchmark::State) */

typedef void (*xb_fn)(struct xb_state *st);

struct xb_opts {
	void    *ctx;      /* handed back by xb_ctx(st) */
	int      threads;  /* threads running fn at once; 0 means 1 */
	double   min_time; /* seconds; 0 means the global default */
	int64_t  arg;      /* handed back by xb_arg(st); also in the name when
	                      has_arg is set */
	int      has_arg;
};

/* Initialise (parses and removes Google Benchmark's --benchmark_* flags from
 * argv).  Returns 0. */
int xb_init(int *argc, char **argv);

/* Register fn under name.  Names look like "workload/peer"; Google Benchmark
 * appends "/real_time" and "/threads:N".  Every benchmark measures wall-clock
 * time.  Returns 0, or -1 when name or fn is NULL. */
int xb_register(const char *name, xb_fn fn, const struct xb_opts *opts);

/* The default minimum time of benchmarks registered after this call. */
void xb_set_default_min_time(double seconds);

/* Inside a benchmark body. */
int     xb_keep_running(struct xb_state *st);  /* nonzero: run one more iteration */
int     xb_thread_index(const struct xb_state *st);
int     xb_threads(const struct xb_state *st);
void   *xb_ctx(const struct xb_state *st);
int64_t xb_arg(const struct xb_state *st);
int64_t xb_iterations(const struct xb_state *st); /* iterations done so far */
void    xb_set_items(struct xb_state *st, int64_t items); /* objects handled by this thread */
void    xb_counter(struct xb_state *st, const char *name, double value); /* summed over threads */
void    xb_skip(struct xb_state *st, const char *why); /* marks the run failed; returns */
int     xb_failed(const struct xb_state *st);
void    xb_pause(struct xb_state *st);   /* stop the clock */
void    xb_resume(struct xb_state *st);  /* restart the clock */

/* Keep the compiler from deleting a computation whose result is unused. */
static inline void xb_escape(const void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}

/* The same for a value, which may stay in a register: a sum that a timed
 * loop builds up goes here, not to xb_escape (its address taken, the sum
 * lived in memory, and each step waited for the last one's store: a
 * store-to-load chain of about 1 ns a step, longer than the lookup it
 * was summing, and shorter only when the CPU happened to rename the stack
 * slot). */
static inline void xb_keep(uint64_t v)
{
	__asm__ volatile("" : : "r"(v));
}

/* Run the benchmarks whose full name matches the extended regular expression
 * (NULL or "" means all) and print them as Google Benchmark does.  Returns
 * the number of benchmark instances run. */
size_t xb_run(const char *pattern);

/* One reported run (the mean when --benchmark_repetitions is used). */
struct xb_result {
	char    name[160];       /* the registered name ("burst/xmem") */
	char    full_name[200];  /* Google Benchmark's name */
	int     threads;
	int64_t iterations;      /* per thread */
	double  real_ns;         /* wall ns per iteration */
	double  cpu_ns;          /* cpu ns per iteration (main thread) */
	double  items_per_sec;   /* objects per second, all threads together;
	                            0 when the body set no items */
	int     error;           /* nonzero: the body called xb_skip */
	char    error_msg[160];
	int     n_counters;
	char    counter_name[8][32];
	double  counter_value[8];
};

size_t xb_result_count(void);
const struct xb_result *xb_result_get(size_t i);

/* Counter value of a result by name; NAN when absent. */
double xb_result_counter(const struct xb_result *r, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* XB_XB_H */
