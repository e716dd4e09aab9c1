/* loops.h - the timed loops, written once and compiled into each peer's own
 * file.  A peer defines its burst calls as two static inline functions (get
 * XB_BURST objects of XB_OBJ_SIZE, put them back) and expands
 * XB_DEFINE_LOOPS with them: the templates below are always inlined into
 * the peer's file, so the peer's calls are direct calls there, and inlined
 * where the peer's own headers inline them (rte_mempool_get_bulk and
 * rte_mempool_put_bulk are static inline).  Nothing on the timed path goes
 * through a function pointer except what the peer itself is (a dlsym'ed
 * malloc).
 *
 * Every loop runs n bursts per call, so the harness (Google Benchmark's
 * KeepRunning, one indirect call per call of a loop) is paid once per many
 * bursts; bench/w_burst.c measures that cost and the report checks it.
 * The _lat variants time every burst (or every alloc and every free burst
 * of the pipeline) into a histogram (bench/hist.h). */
#ifndef XB_LOOPS_H
#define XB_LOOPS_H

#include <string.h>

#include "bench/bench.h"
#include "bench/hist.h"
#include "bench/ring.h"

#define XB_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Bulk calls for peers that only have single-object calls: all or nothing. */
XB_ALWAYS_INLINE int xb_loop_alloc_bulk(void *(*alloc)(size_t), void (*release)(void *),
					size_t size, void **objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		objs[i] = alloc(size);
		if (objs[i] == NULL) {
			while (i > 0)
				release(objs[--i]);
			return -1;
		}
	}
	return 0;
}

XB_ALWAYS_INLINE void xb_loop_free_bulk(void (*release)(void *), void **objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		release(objs[i]);
}

typedef int  (*xb_get_fn)(void **objs, unsigned n);   /* 0, or -1: nothing taken */
typedef void (*xb_put_fn)(void **objs, unsigned n);

/* n bursts: get XB_BURST, put them back. */
XB_ALWAYS_INLINE int xb_t_burst(xb_get_fn get, xb_put_fn put, unsigned n, struct xb_hist *h)
{
	void *o[XB_BURST];
	for (unsigned b = 0; b < n; b++) {
		uint64_t t0 = h ? xb_ticks() : 0;
		if (get(o, XB_BURST) != 0)
			return -1;
		xb_escape(o);
		put(o, XB_BURST);
		if (h)
			xb_hist_add(h, xb_ticks() - t0);
	}
	return 0;
}

/* RX: n bursts allocated (each alloc burst timed into h), written when
 * write is set (XB_RX_WRITE bytes at the start of each buffer, a packet
 * header), pushed to the ring.  -1: allocation failed or TX gave up; the
 * ring's abort flag is then set. */
XB_ALWAYS_INLINE int xb_t_rx(xb_get_fn get, xb_put_fn put, struct xb_ring *r, unsigned n,
			     int write, struct xb_hist *h)
{
	void *o[XB_BURST];
	for (unsigned b = 0; b < n; b++) {
		uint64_t t0 = h ? xb_ticks() : 0;
		if (get(o, XB_BURST) != 0) {
			atomic_store(&r->abort, 1);
			return -1;
		}
		if (h)
			xb_hist_add(h, xb_ticks() - t0);
		if (write)
			for (unsigned i = 0; i < XB_BURST; i++)
				memset(o[i], (int)b, XB_RX_WRITE);
		if (xb_ring_push(r, o, XB_BURST) != 0) {
			put(o, XB_BURST);
			return -1;
		}
	}
	return 0;
}

/* TX: n bursts (a multiple of XB_TX_WINDOW) taken from the ring a window at
 * a time and freed XB_BURST at a time, in the window's order (ord->perm
 * NULL: allocation order) or in the next of ord's permutations (the
 * scrambled order of TX completion); each free burst timed into h. */
XB_ALWAYS_INLINE int xb_t_tx(xb_put_fn put, struct xb_ring *r, unsigned n,
			     struct xb_tx_order *ord, struct xb_hist *h)
{
	void *w[XB_TX_WINDOW * XB_BURST], *o[XB_BURST];
	for (unsigned b = 0; b < n; b += XB_TX_WINDOW) {
		if (xb_ring_pop(r, w, XB_TX_WINDOW * XB_BURST) != 0)
			return -1;
		const uint8_t *p = ord->perm ? ord->perm[ord->next++ & (XB_TX_PERMS - 1)] : NULL;
		for (unsigned k = 0; k < XB_TX_WINDOW; k++) {
			for (unsigned i = 0; i < XB_BURST; i++)
				o[i] = w[p ? p[k * XB_BURST + i] : k * XB_BURST + i];
			uint64_t t0 = h ? xb_ticks() : 0;
			put(o, XB_BURST);
			if (h)
				xb_hist_add(h, xb_ticks() - t0);
		}
	}
	return 0;
}

#define XB_DEFINE_LOOPS(pfx, GET, PUT)                                                  \
	static int pfx##_burst(unsigned n) { return xb_t_burst(GET, PUT, n, NULL); }     \
	static int pfx##_burst_lat(unsigned n, struct xb_hist *h)                        \
	{ return xb_t_burst(GET, PUT, n, h); }                                           \
	static int pfx##_rx(struct xb_ring *r, unsigned n, int write, struct xb_hist *h) \
	{ return h ? xb_t_rx(GET, PUT, r, n, write, h) :                                 \
		     xb_t_rx(GET, PUT, r, n, write, NULL); }                             \
	static int pfx##_tx(struct xb_ring *r, unsigned n, struct xb_tx_order *o,       \
			    struct xb_hist *h)                                            \
	{ return h ? xb_t_tx(PUT, r, n, o, h) : xb_t_tx(PUT, r, n, o, NULL); }          \
	static const struct xb_loops pfx##_loops = {                                     \
		.burst = pfx##_burst, .burst_lat = pfx##_burst_lat,                       \
		.rx = pfx##_rx, .tx = pfx##_tx,                                           \
	}

#endif /* XB_LOOPS_H */
