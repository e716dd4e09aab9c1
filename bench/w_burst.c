/* w_burst.c - the burst (allocate 32 x 2 KiB, then free the 32, the mbuf
 * pattern) and the mixed burst (the same with sizes from 16 B to 16 KiB
 * taken from one pre-generated sequence that every peer replays).  Both
 * report objects per second; the report turns that into ns per object.
 * The burst also runs with 2..N threads, each thread doing its own bursts
 * (scaling).
 *
 * The burst runs each peer's own loop (loops.h): XB_BURSTS_PER_ITER bursts
 * per harness iteration.  Two more benchmarks check the harness:
 *   harness/keeprunning   one KeepRunning iteration and one indirect call of
 *                         an empty loop: the harness's cost per iteration,
 *                         which the report compares with the figures;
 *   interface/<peer>      the old path, xmem and rte_mempool called through
 *                         the peer interface (a function pointer per alloc
 *                         and per free burst, one burst per iteration): what
 *                         calling through the interface costs.
 * The mixed burst goes through the peer interface (p->alloc, one indirect
 * call per object): its per-object costs are tens of ns. */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdio.h>

#include "bench/bench.h"

static uint32_t g_sizes[XB_MIXED_LEN];

const uint32_t *xb_mixed_sizes(void)
{
	return g_sizes;
}

/* Log-uniform between XB_MIN_SIZE and XB_MAX_SIZE: every power-of-two band
 * (16-32, 32-64, ... 8K-16K) is equally likely, the size is uniform within
 * its band.  Fixed seed: every peer, every run, the same sequence. */
static void gen_sizes(void)
{
	uint64_t s = 0x5eed0f1e55ull;
	int bands = 0;
	for (size_t v = XB_MIN_SIZE; v < XB_MAX_SIZE; v <<= 1)
		bands++;
	for (size_t i = 0; i < XB_MIXED_LEN; i++) {
		uint64_t r = xb_rand64(&s);
		size_t lo = (size_t)XB_MIN_SIZE << (r % (uint64_t)bands);
		size_t sz = lo + (size_t)((r >> 16) % (lo + 1));
		g_sizes[i] = (uint32_t)(sz > XB_MAX_SIZE ? XB_MAX_SIZE : sz);
	}
}

static void bm_burst(struct xb_state *st)
{
	const struct xb_peer *p = xb_ctx(st);
	int nt = xb_threads(st);
	cpu_set_t saved;
	int64_t n = 0;

	if (nt > 1)
		xb_pin_self(xb_thread_index(st), &saved);
	xb_peer_enter(p);
	while (xb_keep_running(st)) {
		if (p->loops->burst(XB_BURSTS_PER_ITER) != 0) {
			xb_skip(st, "burst allocation failed");
			break;
		}
		n += XB_BURSTS_PER_ITER * XB_BURST;
	}
	xb_set_items(st, n);
	xb_peer_leave(p);
	if (nt > 1)
		xb_unpin_self(&saved);
}

/* The old path: one burst per iteration through the interface pointers. */
static void bm_interface(struct xb_state *st)
{
	const struct xb_peer *p = xb_ctx(st);
	void *objs[XB_BURST];
	int64_t n = 0;

	xb_peer_enter(p);
	while (xb_keep_running(st)) {
		if (p->alloc_bulk(XB_OBJ_SIZE, objs, XB_BURST) != 0) {
			xb_skip(st, "burst allocation failed");
			break;
		}
		xb_escape(objs);
		p->free_bulk(objs, XB_BURST);
		n += XB_BURST;
	}
	xb_set_items(st, n);
	xb_peer_leave(p);
}

static int empty_loop(unsigned n)
{
	xb_escape(&n);
	return 0;
}

static int (*volatile g_empty)(unsigned) = empty_loop;

static void bm_harness(struct xb_state *st)
{
	int64_t n = 0;
	int (*fn)(unsigned) = g_empty;
	while (xb_keep_running(st)) {
		fn(XB_BURSTS_PER_ITER);
		n++;
	}
	xb_set_items(st, n);   /* items = iterations: ns per item = ns per iteration */
}

static void bm_mixed(struct xb_state *st)
{
	const struct xb_peer *p = xb_ctx(st);
	void *objs[XB_BURST];
	size_t pos = 0;
	int64_t n = 0;

	xb_peer_enter(p);
	while (xb_keep_running(st)) {
		const uint32_t *sz = &g_sizes[pos];
		unsigned i;
		for (i = 0; i < XB_BURST; i++) {
			objs[i] = p->alloc(sz[i]);
			if (objs[i] == NULL)
				break;
		}
		if (i < XB_BURST) {
			p->free_bulk(objs, i);
			xb_skip(st, "allocation failed");
			break;
		}
		xb_escape(objs);
		p->free_bulk(objs, XB_BURST);
		pos = (pos + XB_BURST) % XB_MIXED_LEN;
		n += XB_BURST;
	}
	xb_set_items(st, n);
	xb_peer_leave(p);
}

void xb_w_burst_register(const struct xb_cfg *cfg)
{
	int tl[32];
	int nt = xb_thread_list(cfg->max_threads, 0, tl, 32);
	for (int k = 0; k < nt; k++) {
		int t = tl[k];
		for (int i = 0; i < XB_N_PEERS; i++) {
			struct xb_peer *p = xb_peers[i];
			struct xb_opts o = {.ctx = p, .threads = t};
			char name[64];
			if (!xb_peer_in(p, 0))
				continue;
			snprintf(name, sizeof name, "burst/%s", p->name);
			xb_register(name, bm_burst, &o);
		}
	}
	struct xb_opts h = {.threads = 1};
	xb_register("harness/keeprunning", bm_harness, &h);
	static const int via[] = {XB_XMEM, XB_RTE_MEMPOOL};
	for (int i = 0; i < 2; i++) {
		struct xb_peer *p = xb_peers[via[i]];
		struct xb_opts o = {.ctx = p, .threads = 1};
		char name[64];
		if (!p->ready)
			continue;
		snprintf(name, sizeof name, "interface/%s", p->name);
		xb_register(name, bm_interface, &o);
	}
}

void xb_w_mixed_register(const struct xb_cfg *cfg)
{
	(void)cfg;
	gen_sizes();
	for (int i = 0; i < XB_N_PEERS; i++) {
		struct xb_peer *p = xb_peers[i];
		struct xb_opts o = {.ctx = p, .threads = 1};
		char name[64];
		if (!xb_peer_in(p, 0) || (p->fixed_size && p->fixed_size < XB_MAX_SIZE))
			continue;
		snprintf(name, sizeof name, "mixed/%s", p->name);
		xb_register(name, bm_mixed, &o);
	}
}
