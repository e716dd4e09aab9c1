/* w_translate.c - translation: virtual address -> IOVA at random addresses
 * over 1 GiB of 4 KiB pages.  The same 1 GiB range (reserved PROT_NONE,
 * MAP_NORESERVE: translation never touches the memory) is registered with
 * both libraries under the same scattered IOVA table:
 *   xmem: xmem_register + xmem_virt2iova
 *   DPDK: rte_extmem_register + rte_mem_virt2memseg(va, NULL) and ms->iova
 *         (rte_mem_virt2iova would return the VA in this IOVA-as-VA mode).
 * Both are checked against the table before anything is timed; a peer that
 * translates wrongly is reported as failed, not timed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_memory.h>

#include "bench/bench.h"
#include "xmem/xmem.h"

#define XB_TR_ADDRS 65536 /* random addresses, replayed */
#define XB_TR_BATCH 256   /* lookups per benchmark iteration */

static struct xb_mem g_tr;
static const void **g_addrs;
static int g_xmem_ok, g_dpdk_ok;
static char g_xmem_err[128], g_dpdk_err[128];

static uint64_t expected(const void *a)
{
	size_t off = (size_t)((const char *)a - (const char *)g_tr.va);
	return g_tr.iova[off / XB_PAGE] + off % XB_PAGE;
}

static inline uint64_t dpdk_v2i(const void *a)
{
	const struct rte_memseg *ms = rte_mem_virt2memseg(a, NULL);
	if (ms == NULL || ms->iova == RTE_BAD_IOVA)
		return (uint64_t)-1;
	return ms->iova + (uint64_t)((const char *)a - (const char *)ms->addr);
}

int xb_w_translate_setup(const struct xb_cfg *cfg, char *err, size_t errlen)
{
	uint64_t s = 0x7a5eull;
	(void)cfg;

	if (xb_mem_map(&g_tr, XB_GIB, 1, (uint64_t)1 << 40) != 0) {
		snprintf(err, errlen, "mmap 1 GiB: %s", strerror(errno));
		return -1;
	}
	g_addrs = malloc(XB_TR_ADDRS * sizeof g_addrs[0]);
	if (g_addrs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < XB_TR_ADDRS; i++)
		g_addrs[i] = (const char *)g_tr.va + xb_rand64(&s) % g_tr.len;

	if (!xb_peers[XB_XMEM]->ready) {
		snprintf(g_xmem_err, sizeof g_xmem_err, "xmem peer not ready");
	} else if (xmem_register(g_tr.va, g_tr.len, g_tr.iova, g_tr.n_pages, XB_PAGE) != 0) {
		snprintf(g_xmem_err, sizeof g_xmem_err, "xmem_register: %s", strerror(errno));
	} else {
		g_xmem_ok = 1;
		for (size_t i = 0; i < 4096 && g_xmem_ok; i++) {
			uint64_t got = xmem_virt2iova(g_addrs[i]);
			if (got != expected(g_addrs[i])) {
				snprintf(g_xmem_err, sizeof g_xmem_err,
				         "xmem_virt2iova(%p) = %#llx, table says %#llx", g_addrs[i],
				         (unsigned long long)got,
				         (unsigned long long)expected(g_addrs[i]));
				g_xmem_ok = 0;
			}
		}
	}
	if (!xb_dpdk_ready()) {
		snprintf(g_dpdk_err, sizeof g_dpdk_err, "DPDK not started");
	} else if (rte_extmem_register(g_tr.va, g_tr.len, (rte_iova_t *)g_tr.iova,
	                               (unsigned)g_tr.n_pages, XB_PAGE) != 0) {
		snprintf(g_dpdk_err, sizeof g_dpdk_err, "rte_extmem_register: %s",
		         rte_strerror(rte_errno));
	} else {
		g_dpdk_ok = 1;
		for (size_t i = 0; i < 4096 && g_dpdk_ok; i++) {
			uint64_t got = dpdk_v2i(g_addrs[i]);
			if (got != expected(g_addrs[i])) {
				snprintf(g_dpdk_err, sizeof g_dpdk_err,
				         "memseg iova of %p = %#llx, table says %#llx", g_addrs[i],
				         (unsigned long long)got,
				         (unsigned long long)expected(g_addrs[i]));
				g_dpdk_ok = 0;
			}
		}
	}
	printf("translation over 1 GiB: xmem %s%s, DPDK memseg %s%s\n",
	       g_xmem_ok ? "checked OK" : "FAILED: ", g_xmem_ok ? "" : g_xmem_err,
	       g_dpdk_ok ? "checked OK" : "FAILED: ", g_dpdk_ok ? "" : g_dpdk_err);
	return 0;
}

static void bm_xmem(struct xb_state *st)
{
	size_t pos = 0;
	uint64_t acc = 0;
	int64_t n = 0;

	if (!g_xmem_ok) {
		xb_skip(st, g_xmem_err);
		return;
	}
	while (xb_keep_running(st)) {
		const void *const *a = &g_addrs[pos];
		for (int i = 0; i < XB_TR_BATCH; i++)
			acc += xmem_virt2iova(a[i]);
		pos = (pos + XB_TR_BATCH) % XB_TR_ADDRS;
		n += XB_TR_BATCH;
	}
	xb_keep(acc);
	xb_set_items(st, n);
}

static void bm_dpdk(struct xb_state *st)
{
	size_t pos = 0;
	uint64_t acc = 0;
	int64_t n = 0;

	if (!g_dpdk_ok) {
		xb_skip(st, g_dpdk_err);
		return;
	}
	while (xb_keep_running(st)) {
		const void *const *a = &g_addrs[pos];
		for (int i = 0; i < XB_TR_BATCH; i++)
			acc += dpdk_v2i(a[i]);
		pos = (pos + XB_TR_BATCH) % XB_TR_ADDRS;
		n += XB_TR_BATCH;
	}
	xb_keep(acc);
	xb_set_items(st, n);
}

void xb_w_translate_register(const struct xb_cfg *cfg)
{
	struct xb_opts o = {.threads = 1};
	(void)cfg;
	xb_register("translate/xmem", bm_xmem, &o);
	xb_register("translate/rte_memseg", bm_dpdk, &o);
}
