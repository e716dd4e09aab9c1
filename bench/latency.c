/* latency.c - see latency.h. */
#define _GNU_SOURCE
#include "bench/latency.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	return xb_mono_ns();
}

/* ---- the control thread ------------------------------------------------ */

struct ctl {
	const struct xmem_lat_opts *o;
	atomic_int go, stop;     /* go: bursts are timed; stop: leave */
	int added;
	uint64_t stats_ops, adds, removes, removes_busy, errors;   /* while go */
	_Atomic uint64_t done;   /* min(stats, adds, removes), for the loop */
};

static void pin_to(pthread_t t, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof set, &set);
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void ctl_addrm(struct ctl *c, int counting)
{
	const struct xmem_lat_opts *o = c->o;
	if (!c->added) {
		int rc = xmem_heap_add_memory(o->heap, o->chunk, o->chunk_len, o->chunk_iova,
					      o->chunk_iova ? o->chunk_len / 4096 : 0, 4096);
		c->added = rc == 0;
		if (counting)
			rc == 0 ? c->adds++ : c->errors++;
		return;
	}
	int rc = xmem_heap_remove_memory(o->heap, o->chunk, o->chunk_len);
	int err = errno;
	c->added = rc != 0;
	if (counting)
		rc == 0 ? c->removes++ : err == EBUSY ? c->removes_busy++ : c->errors++;
}

static void *ctl_main(void *arg)
{
	struct ctl *c = arg;
	const struct xmem_lat_opts *o = c->o;
	uint64_t stats_period = 1000000000u / (o->stats_hz ? o->stats_hz : 1000);
	uint64_t addrm_period = 1000000000u / (2 * (o->addrm_hz ? o->addrm_hz : 100));
	uint64_t t = now_ns(), next_stats = t, next_addrm = t;
	struct xmem_heap_stats st;

	while (!atomic_load_explicit(&c->stop, memory_order_acquire)) {
		int counting = atomic_load_explicit(&c->go, memory_order_acquire);
		t = now_ns();
		if (t >= next_stats) {
			int rc = xmem_heap_stats(o->heap, &st);
			if (counting)
				rc == 0 ? c->stats_ops++ : c->errors++;
			next_stats += stats_period;
			if (next_stats < t)   /* fell behind: no catching up in a burst */
				next_stats = t + stats_period;
		}
		if (t >= next_addrm) {
			ctl_addrm(c, counting);
			next_addrm += addrm_period;
			if (next_addrm < t)
				next_addrm = t + addrm_period;
		}
		uint64_t m = c->stats_ops < c->adds ? c->stats_ops : c->adds;
		atomic_store_explicit(&c->done, m < c->removes ? m : c->removes,
				      memory_order_relaxed);
		sleep_until(next_stats < next_addrm ? next_stats : next_addrm);
	}
	/* Leave the heap as it was: take the chunk back (a block of it may sit
	 * in a cache until the remove drains it; EBUSY only while one is live). */
	for (int i = 0; c->added && i < 1000; i++) {
		ctl_addrm(c, 0);
		if (c->added)
			usleep(1000);
	}
	return NULL;
}

/* ---- the measurement --------------------------------------------------- */

int xmem_lat_run(const struct xmem_lat_opts *o, struct xmem_lat_result *r)
{
	memset(r, 0, sizeof *r);
	if (!o || !o->heap || (o->busy && (!o->chunk || !o->chunk_len))) {
		errno = EINVAL;
		return -1;
	}
	struct xb_hist *hist = calloc(1, sizeof *hist);
	if (!hist) {
		errno = ENOMEM;
		return -1;
	}
	struct ctl c = {.o = o};
	pthread_t tid;
	cpu_set_t saved;
	int two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	if (o->pin && two_cpus) {
		pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
		pin_to(pthread_self(), 0);
	}
	if (o->busy) {
		int rc = pthread_create(&tid, NULL, ctl_main, &c);
		if (rc) {
			free(hist);
			errno = rc;
			return -1;
		}
		if (o->pin && two_cpus)
			pin_to(tid, 1);
		usleep(20000);   /* let it settle into its rhythm */
	}

	void *objs[XMEM_LAT_BURST];
	double max_s = o->max_seconds > 0 ? o->max_seconds : 60;
	uint64_t n = 0;
	atomic_store_explicit(&c.go, 1, memory_order_release);
	uint64_t ns0 = now_ns(), tk0 = xb_ticks(), ns1 = ns0;
	for (;;) {
		uint64_t t0 = xb_ticks();
		int rc = xmem_alloc_bulk(o->heap, XMEM_LAT_OBJ_SIZE, objs, XMEM_LAT_BURST);
		if (rc == 0)
			xmem_free_bulk(objs, XMEM_LAT_BURST);
		uint64_t t1 = xb_ticks();
		if (rc != 0) {
			r->failed++;
		} else {
			xb_hist_add(hist, t1 - t0);
			n++;
		}
		if (((n + r->failed) & 1023) == 0) {
			ns1 = now_ns();
			double s = (double)(ns1 - ns0) * 1e-9;
			if (s >= max_s)
				break;
			if (n >= o->min_bursts && s >= o->min_seconds &&
			    (!o->busy || atomic_load_explicit(&c.done, memory_order_relaxed) >=
			     o->min_ctl_ops))
				break;
		}
	}
	uint64_t tk1 = xb_ticks();
	ns1 = now_ns();
	atomic_store_explicit(&c.go, 0, memory_order_release);
	if (o->busy) {
		atomic_store_explicit(&c.stop, 1, memory_order_release);
		pthread_join(tid, NULL);
	}
	if (o->pin && two_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);

	r->bursts = r->samples = n;
	r->seconds = (double)(ns1 - ns0) * 1e-9;
	r->ticks_per_ns = xb_ticks_per_ns(tk0, tk1, ns0, ns1);
	r->clock = XB_CLOCK_NAME;
	r->stats_ops = c.stats_ops;
	r->adds = c.adds;
	r->removes = c.removes;
	r->removes_busy = c.removes_busy;
	r->ctl_errors = c.errors;
	r->chunk_left_added = c.added;

	xb_hist_pcts(hist, r->ticks_per_ns, r->ticks, r->ns);
	free(hist);
	return 0;
}
