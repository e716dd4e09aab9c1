/* w_pipeline.c - workload 3: a producer thread allocates bursts of 32 x
 * 2 KiB and pushes them through an SPSC ring (ring.h, the same for every
 * peer) to a consumer thread on the other CPU that frees them: every free is
 * a cross-core free.  Reports objects per second.  With 1 thread the same
 * thread produces and consumes (the ring without the cross-core part); with
 * 2k threads, k producer/consumer pairs run at once, each with its own ring
 * (scaling). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"
#include "bench/ring.h"

static struct xb_ring g_rings[XB_MAX_THREADS / 2];

static void produce(struct xb_state *st, const struct xb_peer *p, struct xb_ring *r)
{
	void *objs[XB_BURST];
	int64_t n = 0;

	atomic_store(&r->abort, 0);
	while (xb_keep_running(st)) {
		if (p->alloc_bulk(XB_OBJ_SIZE, objs, XB_BURST) != 0) {
			atomic_store(&r->abort, 1);
			xb_skip(st, "burst allocation failed");
			break;
		}
		if (xb_ring_push(r, objs, XB_BURST) != 0) {
			p->free_bulk(objs, XB_BURST);
			xb_skip(st, "consumer gave up");
			break;
		}
		n += XB_BURST;
	}
	xb_set_items(st, n);
}

static void consume(struct xb_state *st, const struct xb_peer *p, struct xb_ring *r)
{
	void *objs[XB_BURST];

	while (xb_keep_running(st)) {
		if (xb_ring_pop(r, objs, XB_BURST) != 0) {
			xb_skip(st, "producer failed");
			break;
		}
		p->free_bulk(objs, XB_BURST);
	}
	if (atomic_load(&r->abort)) {
		/* The producer stopped early: free what it left behind. */
		unsigned k;
		while ((k = xb_ring_drain(r, objs, XB_BURST)) > 0)
			p->free_bulk(objs, k);
	}
	xb_set_items(st, 0);
}

static void same_thread(struct xb_state *st, const struct xb_peer *p, struct xb_ring *r)
{
	void *objs[XB_BURST];
	int64_t n = 0;

	atomic_store(&r->abort, 0);
	while (xb_keep_running(st)) {
		if (p->alloc_bulk(XB_OBJ_SIZE, objs, XB_BURST) != 0) {
			xb_skip(st, "burst allocation failed");
			break;
		}
		xb_ring_push(r, objs, XB_BURST);
		xb_ring_pop(r, objs, XB_BURST);
		p->free_bulk(objs, XB_BURST);
		n += XB_BURST;
	}
	xb_set_items(st, n);
}

static void bm_pipeline(struct xb_state *st)
{
	const struct xb_peer *p = xb_ctx(st);
	int t = xb_thread_index(st), nt = xb_threads(st);
	cpu_set_t saved;
	struct rusage ru0, ru1;

	getrusage(RUSAGE_THREAD, &ru0);
	if (nt == 1) {
		xb_peer_enter(p);
		same_thread(st, p, &g_rings[0]);
		xb_peer_leave(p);
		getrusage(RUSAGE_THREAD, &ru1);
		xb_counter(st, "minor_faults", (double)(ru1.ru_minflt - ru0.ru_minflt));
		return;
	}
	/* Pair k = threads 2k (producer) and 2k+1 (consumer) on CPUs 2k, 2k+1
	 * (modulo the CPU count). */
	xb_pin_self(t, &saved);
	xb_peer_enter(p);
	if (t / 2 >= XB_MAX_THREADS / 2)
		xb_skip(st, "too many threads");
	else if (t % 2 == 0)
		produce(st, p, &g_rings[t / 2]);
	else
		consume(st, p, &g_rings[t / 2]);
	xb_peer_leave(p);
	xb_unpin_self(&saved);
	getrusage(RUSAGE_THREAD, &ru1);
	xb_counter(st, "minor_faults", (double)(ru1.ru_minflt - ru0.ru_minflt));
}

void xb_w_pipeline_register(const struct xb_cfg *cfg)
{
	int tl[32];
	int n = xb_thread_list(cfg->max_threads < 2 ? 2 : cfg->max_threads, 1, tl, 32);

	for (int k = 0; k < n; k++) {
		for (int i = 0; i < XB_N_PEERS; i++) {
			struct xb_peer *p = xb_peers[i];
			struct xb_opts o = {.ctx = p, .threads = tl[k]};
			char name[64];
			if (!p->ready)
				continue;
			snprintf(name, sizeof name, "pipeline/%s", p->name);
			xb_register(name, bm_pipeline, &o);
		}
	}
}
