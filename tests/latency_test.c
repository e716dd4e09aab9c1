/* latency_test.c - the burst-latency measurement of bench/latency.h works:
 * quiet (one thread) and busy (a control thread doing xmem_heap_stats at
 * 1 kHz and adding and removing a 2 MiB chunk of the same heap at 100 Hz).
 *
 * It checks the measurement, never the timings: the count of timed bursts,
 * no failed burst, percentiles p50 <= p99 <= p99.9 <= p99.99 <= max and all
 * above zero, a clock rate, that the control thread really ran its stats,
 * adds and removes while bursts were timed (and failed none of them except
 * removes refused with EBUSY), that it left the chunk removed, and that the
 * heap is whole afterwards.  The figures are printed; the benchmark's
 * latency workload (./scripts/bench.sh --only=latency) reports and judges
 * them. */
#include "bench/latency.h"
#include "xt_util.h"

#define HEAP_BYTES ((size_t)32 << 20)
#define CHUNK      ((size_t)2 << 20)

static struct xmem_heap *g_heap;
static char *g_mem, *g_chunk;
static uint64_t *g_chunk_iova;

static void print(const char *what, const struct xmem_lat_result *r)
{
	printf("  %s: %llu bursts in %.2f s (%s, %.3f ticks/ns):", what,
	       (unsigned long long)r->bursts, r->seconds, r->clock, r->ticks_per_ns);
	for (int k = 0; k < XMEM_LAT_NPCT; k++)
		printf(" %s %.0f ns", xmem_lat_pct_name[k], r->ns[k]);
	printf("; control: %llu stats, %llu adds, %llu removes (%llu EBUSY), %llu errors\n",
	       (unsigned long long)r->stats_ops, (unsigned long long)r->adds,
	       (unsigned long long)r->removes, (unsigned long long)r->removes_busy,
	       (unsigned long long)r->ctl_errors);
}

static void check_measurement(const struct xmem_lat_result *r, uint64_t min_bursts)
{
	CHECK_GE(r->bursts, min_bursts);
	CHECK_EQ(r->samples, r->bursts);
	CHECK_EQ(r->failed, 0);
	CHECK(r->seconds > 0);
	CHECK(r->ticks_per_ns > 0);
	CHECK_GT(r->ticks[XMEM_LAT_P50], 0);
	for (int k = 1; k < XMEM_LAT_NPCT; k++)
		if (!CHECK_LE(r->ticks[k - 1], r->ticks[k]) || !CHECK(r->ns[k - 1] <= r->ns[k]))
			fprintf(stderr, "  %s > %s\n", xmem_lat_pct_name[k - 1],
				xmem_lat_pct_name[k]);
}

/* Nothing live, one region: the heap is as the test set it up. */
static void check_heap(void)
{
	struct xmem_heap_stats st;
	if (xt_stats(g_heap, &st)) {
		CHECK_EQ(st.alloc_count, 0);
		CHECK_EQ(st.n_regions, 1);
		CHECK_EQ(st.total_bytes, HEAP_BYTES);
	}
	CHECK_FAILS_INT(xmem_heap_remove_memory(g_heap, g_chunk, CHUNK), ENOENT);
}

static void case_quiet(void)
{
	struct xmem_lat_opts o = {.heap = g_heap, .min_bursts = 20000};
	struct xmem_lat_result r;
	if (!CHECK_OK(xmem_lat_run(&o, &r)))
		return;
	print("quiet", &r);
	check_measurement(&r, o.min_bursts);
	CHECK_EQ(r.stats_ops + r.adds + r.removes + r.removes_busy + r.ctl_errors, 0);
	check_heap();
}

static void case_busy(void)
{
	struct xmem_lat_opts o = {
		.heap = g_heap, .busy = 1, .chunk = g_chunk, .chunk_len = CHUNK,
		.chunk_iova = g_chunk_iova, .stats_hz = 1000, .addrm_hz = 100,
		.min_bursts = 20000, .min_ctl_ops = 5, .max_seconds = 60,
	};
	struct xmem_lat_result r;
	if (!CHECK_OK(xmem_lat_run(&o, &r)))
		return;
	print("busy", &r);
	check_measurement(&r, o.min_bursts);
	/* The control thread really worked on the heap while bursts ran. */
	CHECK_GE(r.stats_ops, 5);
	CHECK_GE(r.adds, 5);
	CHECK_GE(r.removes, 5);
	CHECK_EQ(r.ctl_errors, 0);
	CHECK_EQ(r.chunk_left_added, 0);
	check_heap();
}

/* Bad options are refused. */
static void case_bad_options(void)
{
	struct xmem_lat_result r;
	struct xmem_lat_opts o = {.heap = NULL, .min_bursts = 1};
	CHECK_FAILS_INT(xmem_lat_run(&o, &r), EINVAL);
	o = (struct xmem_lat_opts){.heap = g_heap, .busy = 1};
	CHECK_FAILS_INT(xmem_lat_run(&o, &r), EINVAL);
}

int main(void)
{
	g_mem = xt_map(HEAP_BYTES, PAGE2M, PROT_READ | PROT_WRITE);
	g_chunk = xt_map(CHUNK, PAGE2M, PROT_READ | PROT_WRITE);
	uint64_t *t = xt_linear_table(1ull << 36, HEAP_BYTES / PAGE4K, PAGE4K);
	g_chunk_iova = xt_linear_table(1ull << 37, CHUNK / PAGE4K, PAGE4K);
	g_heap = xmem_heap_create(xt_name("latency"));
	if (!g_heap || xmem_heap_add_memory(g_heap, g_mem, HEAP_BYTES, t,
					    HEAP_BYTES / PAGE4K, PAGE4K))
		XT_FATAL("setup: %s", strerror(errno));
	xt_run("quiet_measurement", case_quiet);
	xt_run("busy_measurement_with_control_thread", case_busy);
	xt_run("bad_options", case_bad_options);
	CHECK_OK(xmem_heap_remove_memory(g_heap, g_mem, HEAP_BYTES));
	CHECK_OK(xmem_heap_destroy(g_heap));
	free(t);
	free(g_chunk_iova);
	return xt_done();
}
