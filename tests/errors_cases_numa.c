/* errors_cases_numa.c - the cases of the rows of docs/errors.md for
 * xmem_numa.h, and xmem_vfio_set_numa_strict (xmem_vfio.h). */
#include "errors_test.h"

#define NO_HEAP_NODE (XMEM_NUMA_MAX_NODES - 1)   /* no heap lives there */

static void c_heap_numa_node_null(struct env *e) { EXPECT(e, xmem_heap_numa_node(NULL)); }
static void c_heap_numa_node_dead(struct env *e) { EXPECT(e, xmem_heap_numa_node(dead_heap())); }
static void c_heap_numa_refresh_null(struct env *e) { EXPECT(e, xmem_heap_numa_refresh(NULL)); }
static void c_heap_numa_refresh_dead(struct env *e)
{
	EXPECT(e, xmem_heap_numa_refresh(dead_heap()));
	EXPECT(e, xmem_heap_numa_refresh(foreign_heap()));
}

static void c_alloc_node_bad_node(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc_node(XMEM_NUMA_MAX_NODES, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(INT_MAX, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(XMEM_NUMA_NODE_MIXED, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(-4, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(INT_MIN, 64, 0));
}
static void c_alloc_node_bad_args(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc_node(0, 0, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(XMEM_NUMA_LOCAL, 64, 3));
	EXPECT_ALLOC(e, xmem_alloc_node(NO_HEAP_NODE, 0, 64));
}
static void c_alloc_node_no_heap(struct env *e)
{
	EXPECT_ALLOC(e, xmem_alloc_node(NO_HEAP_NODE, 64, 0));
	EXPECT_ALLOC(e, xmem_alloc_node(NO_HEAP_NODE, 100000, 4096));
}

/* A node-0 heap of 64 KiB made the node's default, for ENOMEM. */
struct small_node0 {
	struct xmem_heap *h;
	void *va;
};
static bool small_node0(struct small_node0 *s)
{
	s->va = xmem_numa_map(64 * KiB, PAGE4K, 0);
	s->h = xmem_heap_create("numa-small");
	if (!CHECK(s->va && s->h))
		return false;
	CHECK_OK(xmem_heap_add_memory(s->h, s->va, 64 * KiB, NULL, 0, PAGE4K));
	CHECK_OK(xmem_heap_set_node_default(0, s->h));
	return true;
}
static void small_node0_done(struct small_node0 *s)
{
	CHECK_OK(xmem_heap_set_node_default(0, NULL));
	CHECK_OK(xmem_heap_remove_memory(s->h, s->va, 64 * KiB));
	CHECK_OK(xmem_heap_destroy(s->h));
	CHECK_OK(xmem_numa_unmap(s->va, 64 * KiB));
}
static void c_alloc_node_no_memory(struct env *e)
{
	struct small_node0 s;
	if (!small_node0(&s))
		return;
	e->x = s.h;
	EXPECT_ALLOC(e, xmem_alloc_node(0, 1 * MiB, 0));
	e->x = NULL;
	small_node0_done(&s);
}

static void c_alloc_bulk_node_bad_node(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk_node(XMEM_NUMA_MAX_NODES, 64, objs, 4));
	EXPECT(e, xmem_alloc_bulk_node(-4, 64, objs, 4));
	EXPECT(e, xmem_alloc_bulk_node(XMEM_NUMA_NODE_UNKNOWN, 64, objs, 4));
}
static void c_alloc_bulk_node_bad_args(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk_node(0, 64, NULL, 4));
	EXPECT(e, xmem_alloc_bulk_node(0, 64, objs, 0));
	EXPECT(e, xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, 0, objs, 4));
}
static void c_alloc_bulk_node_no_heap(struct env *e)
{
	void *objs[4];
	EXPECT(e, xmem_alloc_bulk_node(NO_HEAP_NODE, 64, objs, 4));
}
static void c_alloc_bulk_node_no_memory(struct env *e)
{
	struct small_node0 s;
	if (!small_node0(&s))
		return;
	e->x = s.h;
	void *objs[64];
	EXPECT(e, xmem_alloc_bulk_node(0, 4096, objs, 64));
	e->x = NULL;
	small_node0_done(&s);
}

static void c_set_node_default_bad_node(struct env *e)
{
	EXPECT(e, xmem_heap_set_node_default(-1, NULL));
	EXPECT(e, xmem_heap_set_node_default(XMEM_NUMA_LOCAL, e->h));
	EXPECT(e, xmem_heap_set_node_default(XMEM_NUMA_MAX_NODES, NULL));
}
static void c_set_node_default_bad_heap(struct env *e)
{
	EXPECT(e, xmem_heap_set_node_default(0, dead_heap()));
	EXPECT(e, xmem_heap_set_node_default(0, foreign_heap()));
	EXPECT(e, xmem_heap_set_node_default(NO_HEAP_NODE, e->h));   /* not there */
}

static void c_lcore_numa_node_ok(struct env *e)
{
	int n = xmem_lcore_numa_node();
	EXPECT_OK(e, n >= 0 && n < XMEM_NUMA_MAX_NODES);
}

static void c_numa_map_bad_args(struct env *e)
{
	EXPECT(e, xmem_numa_map(0, PAGE4K, 0));
	EXPECT(e, xmem_numa_map(PAGE4K + 1, PAGE4K, 0));
	EXPECT(e, xmem_numa_map(MiB, PAGE2M, 0));
	EXPECT(e, xmem_numa_map(4 * MiB, 8192, 0));
	EXPECT(e, xmem_numa_map(4 * MiB, 0, 0));
}
static void c_numa_map_bad_node(struct env *e)
{
	EXPECT(e, xmem_numa_map(MiB, PAGE4K, -1));
	EXPECT(e, xmem_numa_map(MiB, PAGE4K, XMEM_NUMA_LOCAL));
	EXPECT(e, xmem_numa_map(MiB, PAGE4K, NO_HEAP_NODE));   /* no such node */
	EXPECT(e, xmem_numa_map(MiB, PAGE4K, XMEM_NUMA_MAX_NODES));
}
static void c_numa_map_no_hugepages(struct env *e)
{
	FILE *f = fopen("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/"
			"free_hugepages", "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	if (n != 0) {
		not_here(e, "node 0 has free 1 GiB hugepages (or none are supported)");
		return;
	}
	EXPECT(e, xmem_numa_map((size_t)1 << 30, (size_t)1 << 30, 0));
}

static void c_numa_unmap_null(struct env *e)
{
	EXPECT(e, xmem_numa_unmap(NULL, PAGE4K));
	EXPECT(e, xmem_numa_unmap(e->va, 0));
}
static void c_numa_unmap_unknown(struct env *e)
{
	EXPECT(e, xmem_numa_unmap(e->va, e->len));   /* not from xmem_numa_map */
	EXPECT(e, xmem_numa_unmap(junk, PAGE4K));
	void *p = xmem_numa_map(2 * MiB, PAGE4K, 0);
	if (!CHECK(p))
		return;
	EXPECT(e, xmem_numa_unmap(p, MiB));           /* a part */
	EXPECT(e, xmem_numa_unmap((char *)p + MiB, MiB));
	CHECK_OK(xmem_numa_unmap(p, 2 * MiB));
	EXPECT(e, xmem_numa_unmap(p, 2 * MiB));       /* twice */
}
static void c_numa_unmap_added(struct env *e)
{
	void *p = xmem_numa_map(MiB, PAGE4K, 0);
	struct xmem_heap *h = xmem_heap_create("numa-added");
	if (!CHECK(p && h))
		return;
	CHECK_OK(xmem_heap_add_memory(h, p, MiB, NULL, 0, PAGE4K));
	e->x = h;
	EXPECT(e, xmem_numa_unmap(p, MiB));
	e->x = NULL;
	CHECK_OK(xmem_heap_remove_memory(h, p, MiB));
	CHECK_OK(xmem_register(p, MiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_numa_unmap(p, MiB));
	CHECK_OK(xmem_unregister(p, MiB));
	CHECK_OK(xmem_heap_destroy(h));
	CHECK_OK(xmem_numa_unmap(p, MiB));
}

static void c_pci_numa_node_bad_bdf(struct env *e)
{
	EXPECT(e, xmem_pci_numa_node(NULL));
	EXPECT(e, xmem_pci_numa_node(""));
	EXPECT(e, xmem_pci_numa_node(long_name(32)));
	EXPECT(e, xmem_pci_numa_node("../../../../etc"));
}
static void c_pci_numa_node_no_device(struct env *e)
{
	EXPECT(e, xmem_pci_numa_node("ffff:ff:1f.7"));
}

static void c_vfio_set_numa_strict_null(struct env *e)
{
	EXPECT(e, xmem_vfio_set_numa_strict(NULL, 1));
}

const struct xcase cases_numa[] = {
	C("heap_numa_node.null", xmem_heap_numa_node, c_heap_numa_node_null),
	C("heap_numa_node.dead", xmem_heap_numa_node, c_heap_numa_node_dead),
	C("heap_numa_refresh.null", xmem_heap_numa_refresh, c_heap_numa_refresh_null),
	C("heap_numa_refresh.dead", xmem_heap_numa_refresh, c_heap_numa_refresh_dead),
	C("alloc_node.bad_node", xmem_alloc_node, c_alloc_node_bad_node),
	C("alloc_node.bad_args", xmem_alloc_node, c_alloc_node_bad_args),
	C("alloc_node.no_heap", xmem_alloc_node, c_alloc_node_no_heap),
	C("alloc_node.no_memory", xmem_alloc_node, c_alloc_node_no_memory),
	C("alloc_bulk_node.bad_node", xmem_alloc_bulk_node, c_alloc_bulk_node_bad_node),
	C("alloc_bulk_node.bad_args", xmem_alloc_bulk_node, c_alloc_bulk_node_bad_args),
	C("alloc_bulk_node.no_heap", xmem_alloc_bulk_node, c_alloc_bulk_node_no_heap),
	C("alloc_bulk_node.no_memory", xmem_alloc_bulk_node, c_alloc_bulk_node_no_memory),
	C("heap_set_node_default.bad_node", xmem_heap_set_node_default, c_set_node_default_bad_node),
	C("heap_set_node_default.bad_heap", xmem_heap_set_node_default, c_set_node_default_bad_heap),
	C("lcore_numa_node.ok", xmem_lcore_numa_node, c_lcore_numa_node_ok),
	C("numa_map.bad_args", xmem_numa_map, c_numa_map_bad_args),
	C("numa_map.bad_node", xmem_numa_map, c_numa_map_bad_node),
	C("numa_map.no_hugepages", xmem_numa_map, c_numa_map_no_hugepages),
	C("numa_unmap.null", xmem_numa_unmap, c_numa_unmap_null),
	C("numa_unmap.unknown", xmem_numa_unmap, c_numa_unmap_unknown),
	C("numa_unmap.added", xmem_numa_unmap, c_numa_unmap_added),
	C("pci_numa_node.bad_bdf", xmem_pci_numa_node, c_pci_numa_node_bad_bdf),
	C("pci_numa_node.no_device", xmem_pci_numa_node, c_pci_numa_node_no_device),
	C("vfio_set_numa_strict.null", xmem_vfio_set_numa_strict, c_vfio_set_numa_strict_null),
};

const size_t n_cases_numa = sizeof cases_numa / sizeof cases_numa[0];
