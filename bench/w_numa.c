/* w_numa.c - workload 8: the cost of allocating by node.  The burst of
 * workload 1 (32 x 2 KiB, then free them) on one heap over memory bound to
 * the calling thread's node (xmem_numa_map), once through xmem_alloc_bulk
 * and once through xmem_alloc_bulk_node(XMEM_NUMA_LOCAL), which reads the
 * CPU (sched_getcpu) and the cached heap choice on every call; plus the
 * lookup alone (xmem_lcore_numa_node).  xb_w_numa_print gives the ratio. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "xmem/xmem.h"

#define XB_NUMA_HEAP ((size_t)64 << 20)

static struct xmem_heap *g_heap;
static void *g_va;

static void bm_bulk(struct xb_state *st)
{
	void *objs[XB_BURST];
	int64_t n = 0;
	while (xb_keep_running(st)) {
		if (xmem_alloc_bulk(g_heap, XB_OBJ_SIZE, objs, XB_BURST) != 0) {
			xb_skip(st, "xmem_alloc_bulk failed");
			break;
		}
		xb_escape(objs);
		xmem_free_bulk(objs, XB_BURST);
		n += XB_BURST;
	}
	xb_set_items(st, n);
}

static void bm_bulk_node_local(struct xb_state *st)
{
	void *objs[XB_BURST];
	int64_t n = 0;
	while (xb_keep_running(st)) {
		if (xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, XB_OBJ_SIZE, objs, XB_BURST) != 0) {
			xb_skip(st, "xmem_alloc_bulk_node failed");
			break;
		}
		xb_escape(objs);
		xmem_free_bulk(objs, XB_BURST);
		n += XB_BURST;
	}
	xb_set_items(st, n);
}

static void bm_lcore_node(struct xb_state *st)
{
	int64_t n = 0;
	while (xb_keep_running(st)) {
		int v = xmem_lcore_numa_node();
		xb_escape(&v);
		n++;
	}
	xb_set_items(st, n);
}

void xb_w_numa_register(const struct xb_cfg *cfg)
{
	(void)cfg;
	int node = xmem_lcore_numa_node();
	if (node < 0)
		node = 0;
	g_va = xmem_numa_map(XB_NUMA_HEAP, XB_PAGE, node);
	g_heap = g_va ? xmem_heap_create("xb_numa") : NULL;
	if (!g_heap || xmem_heap_add_memory(g_heap, g_va, XB_NUMA_HEAP, NULL, 0, XB_PAGE)) {
		printf("numa: no heap on node %d: %s\n", node, strerror(errno));
		return;
	}
	/* The benchmark threads must allocate from this heap by node: make it
	 * the node's default, so another heap there cannot be chosen. */
	xmem_heap_set_node_default(node, g_heap);
	struct xb_opts o = {0};
	xb_register("numa/xmem_alloc_bulk", bm_bulk, &o);
	xb_register("numa/xmem_alloc_bulk_node_local", bm_bulk_node_local, &o);
	xb_register("numa/xmem_lcore_numa_node", bm_lcore_node, &o);
}

static double ns_per_item(const char *name)
{
	for (size_t i = 0; i < xb_result_count(); i++) {
		const struct xb_result *r = xb_result_get(i);
		if (strcmp(r->name, name) == 0 && !r->error && r->items_per_sec > 0)
			return 1e9 / r->items_per_sec;
	}
	return NAN;
}

void xb_w_numa_print(FILE *f)
{
	double a = ns_per_item("numa/xmem_alloc_bulk");
	double b = ns_per_item("numa/xmem_alloc_bulk_node_local");
	double c = ns_per_item("numa/xmem_lcore_numa_node");
	fprintf(f, "numa: xmem_alloc_bulk %.2f ns/object, xmem_alloc_bulk_node(XMEM_NUMA_LOCAL) "
		"%.2f ns/object: ratio %.3fx; xmem_lcore_numa_node %.2f ns/call\n", a, b, b / a, c);
}
