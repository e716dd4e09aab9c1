/* plain_burst.c - xmem against rte_mempool the way a DPDK application calls
 * them: one plain C program, built with
 * `cc -O2 $(pkg-config --cflags --libs xmem libdpdk)` against xmem as
 * scripts/install.sh installs it (public headers, libxmem.so), no extra
 * defines (scripts/bench.sh installs, builds and runs it).  rte_mempool_get_bulk/put_bulk are
 * static inline and compile into this loop; xmem_alloc_bulk/xmem_free_bulk
 * are whatever the public header makes of them.
 *
 * 1. Burst: BURST x 2 KiB allocated then freed (32; scripts/bench.sh also
 *    builds plain_burst64 with -DBURST=64), ITERS bursts per round, the two
 *    peers in interleaved rounds (ABBA order so neither always runs first);
 *    min and median ns/object of each, and xmem / rte_mempool.
 * 2. Translation: one 1 GiB range (anonymous, MAP_NORESERVE, never touched),
 *    registered with both under one scattered table of 2 MiB pages:
 *    rte_extmem_register + rte_mem_virt2memseg and ms->iova (with --no-huge
 *    rte_mem_virt2iova ignores the table), xmem_register + xmem_virt2iova.
 *    Both are checked against the table first; then 65536 random addresses,
 *    interleaved rounds, min and median ns/lookup, memseg / xmem.  In the
 *    same rounds, the memseg path over DPDK's own memory (64 MiB from
 *    rte_malloc: with --no-huge, 4 KiB pages): what the ratio would be
 *    against that instead.
 *
 *   plain_burst [--quick] [--rounds=N] [--out=FILE]
 * FILE gets "key value" lines the benchmark's report reads (--plain=FILE). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <xmem/xmem.h>

#include "plain.h"

#ifndef BURST
#define BURST     32   /* objects per burst, at most 64 */
#endif
#define OBJ_SIZE  2048
#define MAX_ROUNDS 101
#define TR_LEN    ((size_t)1 << 30)
#define TR_PAGE   ((size_t)2 << 20)
#define TR_ADDRS  65536
#define OWN_LEN   ((size_t)64 << 20)

static uint64_t rnd(uint64_t *s)   /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ns per object of `iters` bursts; -1 when an allocation failed. */
static double mempool_round(struct rte_mempool *mp, long iters)
{
	void *o[BURST];
	return mempool_burst_ns(mp, o, BURST, iters);
}

static double xmem_round(struct xmem_heap *h, long iters)
{
	void *o[BURST];
	return xmem_burst_ns(h, OBJ_SIZE, o, BURST, iters);
}

static uint64_t memseg_iova(const void *a)
{
	const struct rte_memseg *ms = rte_mem_virt2memseg(a, NULL);
	if (ms == NULL || ms->iova == RTE_BAD_IOVA)
		return (uint64_t)-1;
	return ms->iova + (uint64_t)((const char *)a - (const char *)ms->addr);
}

static double memseg_round(const void *const *addr, int reps)
{
	uint64_t acc = 0;
	double t0 = now_ns();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < TR_ADDRS; i++)
			acc += memseg_iova(addr[i]);
	keep(acc);
	return (now_ns() - t0) / ((double)reps * TR_ADDRS);
}

static double xmem_tr_round(const void *const *addr, int reps)
{
	uint64_t acc = 0;
	double t0 = now_ns();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < TR_ADDRS; i++)
			acc += xmem_virt2iova(addr[i]);
	keep(acc);
	return (now_ns() - t0) / ((double)reps * TR_ADDRS);
}

struct figures {
	double mp_min, mp_med, xm_min, xm_med;       /* burst ns/object */
	double ms_min, ms_med, xt_min, xt_med;       /* translation ns/lookup */
	double own_med;                              /* memseg, DPDK's memory */
	int rounds, tr_ok;
	long iters;
};

static int run_burst(struct figures *f, int rounds, long iters)
{
	static double mp[MAX_ROUNDS], xm[MAX_ROUNDS];
	struct rte_mempool *pool = rte_mempool_create("plain", 16383, OBJ_SIZE, 256, 0,
						      NULL, NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	if (pool == NULL) {
		fprintf(stderr, "rte_mempool_create: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	size_t len = (size_t)64 << 20;
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct xmem_heap *h = xmem_heap_create("plain");
	if (va == MAP_FAILED || h == NULL ||
	    xmem_heap_add_memory(h, va, len, NULL, 0, 4096) != 0) {
		fprintf(stderr, "xmem heap: %s\n", strerror(errno));
		return -1;
	}
	/* Warm both (caches filled, code paged in). */
	if (mempool_round(pool, iters / 4) < 0 || xmem_round(h, iters / 4) < 0) {
		fprintf(stderr, "warm-up allocation failed\n");
		return -1;
	}
	for (int r = 0; r < rounds; r++) {
		if (r % 2 == 0) {
			mp[r] = mempool_round(pool, iters);
			xm[r] = xmem_round(h, iters);
		} else {
			xm[r] = xmem_round(h, iters);
			mp[r] = mempool_round(pool, iters);
		}
		if (mp[r] < 0 || xm[r] < 0) {
			fprintf(stderr, "burst allocation failed in round %d\n", r);
			return -1;
		}
	}
	f->mp_med = median(mp, rounds);
	f->xm_med = median(xm, rounds);
	f->mp_min = mp[0];
	f->xm_min = xm[0];
	f->rounds = rounds;
	f->iters = iters;
	return 0;
}

static int run_translate(struct figures *f, int rounds)
{
	static double ms[MAX_ROUNDS], xt[MAX_ROUNDS], own[MAX_ROUNDS];
	size_t n = TR_LEN / TR_PAGE;
	uint64_t s = 0x7a5e, *iova = malloc(n * sizeof *iova);
	const void **addr = malloc(TR_ADDRS * sizeof *addr);
	const void **own_addr = malloc(TR_ADDRS * sizeof *own_addr);
	char *own_mem = rte_malloc("plain_own", OWN_LEN, 4096);
	char *raw = mmap(NULL, TR_LEN + TR_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (iova == NULL || addr == NULL || own_addr == NULL || raw == MAP_FAILED) {
		fprintf(stderr, "translation setup: %s\n", strerror(errno));
		return -1;
	}
	char *va = (char *)(((uintptr_t)raw + TR_PAGE - 1) & ~(uintptr_t)(TR_PAGE - 1));
	/* Scattered: page i gets frame (i * 7919) mod n, far above 4 GiB. */
	for (size_t i = 0; i < n; i++)
		iova[i] = ((uint64_t)1 << 36) + ((i * 7919) % n) * TR_PAGE;
	for (int i = 0; i < TR_ADDRS; i++)
		addr[i] = va + rnd(&s) % TR_LEN;
	if (own_mem == NULL) {
		fprintf(stderr, "rte_malloc(%zu MiB): %s\n", OWN_LEN >> 20,
			rte_strerror(rte_errno));
		return -1;
	}
	for (int i = 0; i < TR_ADDRS; i++) {
		own_addr[i] = own_mem + rnd(&s) % OWN_LEN;
		if (memseg_iova(own_addr[i]) != rte_mem_virt2iova(own_addr[i])) {
			fprintf(stderr, "memseg of DPDK's own %p disagrees with "
				"rte_mem_virt2iova\n", own_addr[i]);
			return -1;
		}
	}
	if (rte_extmem_register(va, TR_LEN, (rte_iova_t *)iova, (unsigned)n, TR_PAGE) != 0) {
		fprintf(stderr, "rte_extmem_register: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (xmem_register(va, TR_LEN, iova, n, TR_PAGE) != 0) {
		fprintf(stderr, "xmem_register: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < TR_ADDRS; i++) {
		size_t off = (size_t)((const char *)addr[i] - va);
		uint64_t want = iova[off / TR_PAGE] + off % TR_PAGE;
		uint64_t a = memseg_iova(addr[i]), b = xmem_virt2iova(addr[i]);
		if (a != want || b != want) {
			fprintf(stderr, "translation of %p: memseg %#llx, xmem %#llx, table %#llx\n",
				addr[i], (unsigned long long)a, (unsigned long long)b,
				(unsigned long long)want);
			return -1;
		}
	}
	memseg_round(addr, 1);
	xmem_tr_round(addr, 1);
	for (int r = 0; r < rounds; r++) {
		if (r % 2 == 0) {
			ms[r] = memseg_round(addr, 4);
			xt[r] = xmem_tr_round(addr, 4);
			own[r] = memseg_round(own_addr, 4);
		} else {
			own[r] = memseg_round(own_addr, 4);
			xt[r] = xmem_tr_round(addr, 4);
			ms[r] = memseg_round(addr, 4);
		}
	}
	f->own_med = median(own, rounds);
	f->ms_med = median(ms, rounds);
	f->xt_med = median(xt, rounds);
	f->ms_min = ms[0];
	f->xt_min = xt[0];
	f->tr_ok = 1;
	return 0;
}

int main(int argc, char **argv)
{
	int quick = 0, rounds = 21;
	const char *out = NULL;
	if (plain_options(argc, argv, 5, MAX_ROUNDS, &quick, &rounds, &out) != 0)
		return 2;
	if (plain_eal_init("plain_burst") != 0)
		return 1;
	struct figures f = {0};
	if (run_burst(&f, rounds, quick ? 20000 : 200000) != 0 || run_translate(&f, rounds) != 0)
		return 1;
	double br = f.xm_med / f.mp_med, tr = f.ms_med / f.xt_med;
	printf("plain loop (cc -O2, public header, libxmem.so; %d interleaved rounds of "
	       "%ld bursts of %d x 2 KiB):\n", f.rounds, f.iters, BURST);
	printf("  burst  rte_mempool min %.3f median %.3f ns/object; xmem min %.3f median "
	       "%.3f ns/object; xmem / rte_mempool %.2fx (median; bar <= 1.25x %s, "
	       "goal <= 1.0x %s)\n", f.mp_min, f.mp_med, f.xm_min, f.xm_med, br,
	       br <= 1.25 ? "met" : "NOT met", br <= 1.0 ? "met" : "NOT met");
	printf("  translate over 1 GiB of 2 MiB pages, random: memseg min %.2f median %.2f "
	       "ns; xmem min %.2f median %.2f ns; memseg / xmem %.1fx (target >= 8x %s, "
	       "xmem <= 1.5 ns %s)\n", f.ms_min, f.ms_med, f.xt_min, f.xt_med, tr,
	       tr >= 8 ? "met" : "NOT met", f.xt_med <= 1.5 ? "met" : "NOT met");
	printf("  the memseg path over DPDK's own memory (rte_malloc, 4 KiB pages): median "
	       "%.2f ns = %.1fx xmem's lookup above\n", f.own_med, f.own_med / f.xt_med);
	if (out != NULL) {
		FILE *o = fopen(out, "w");
		if (o == NULL) {
			fprintf(stderr, "%s: %s\n", out, strerror(errno));
			return 1;
		}
		fprintf(o, "rounds %d\nbursts_per_round %ld\n"
			"burst_mempool_min %.4f\nburst_mempool_median %.4f\n"
			"burst_xmem_min %.4f\nburst_xmem_median %.4f\nburst_ratio %.4f\n"
			"tr_memseg_min %.4f\ntr_memseg_median %.4f\n"
			"tr_xmem_min %.4f\ntr_xmem_median %.4f\ntr_ratio %.4f\n"
			"tr_memseg_own_median %.4f\n",
			f.rounds, f.iters, f.mp_min, f.mp_med, f.xm_min, f.xm_med, br,
			f.ms_min, f.ms_med, f.xt_min, f.xt_med, tr, f.own_med);
		fclose(o);
	}
	return 0;
}
