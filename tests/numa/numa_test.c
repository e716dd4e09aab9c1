/* numa_test.c - NUMA placement on a host with one node:
 *   - node-0 heaps from xmem_numa_map serve xmem_alloc_node(0) and
 *     XMEM_NUMA_LOCAL, and the blocks are on node 0 (move_pages);
 *   - ENOENT for a node without a heap, EINVAL for bad node numbers;
 *   - PROT_NONE memory is XMEM_NUMA_NODE_UNKNOWN and never faulted in;
 *     untouched memory becomes node 0 after first touch and a refresh;
 *   - MIXED is never reported for one-node heaps; per-node bytes plus
 *     unknown bytes equal total_bytes;
 *   - xmem_numa_map on an impossible node (or bad arguments) fails with
 *     nothing left mapped (/proc/self/maps the same before and after);
 *     xmem_numa_unmap takes back only its own mappings, not while added;
 *   - the heap-choice rule: oldest heap on the node, the node's default
 *     first, a removed chunk makes the choice move;
 *   - device locality: xmem_pci_numa_node and the VFIO check through a
 *     fake sysfs tree (the real device runs in the 2-node guest). */
#include <numa.h>
#include <numaif.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "tests/numa/page_node.h"
#include "tests/xt_util.h"
#include <xmem/xmem_dma.h>

/* Internal hooks (alloc/numa.h, iommu/vfio.h), not in the public headers. */
void xm_sysfs_root_set(const char *root);
void xm_vfio_group_node(int group, int *node, char *bdf);
int xm_numa_locality_check(const struct xmem_dma_region_info *info, int dev,
			   const char *bdf, bool strict);

static size_t sum_nodes(const struct xmem_heap_stats *s)
{
	size_t t = s->numa_unknown_bytes;
	for (int i = 0; i < XMEM_NUMA_MAX_NODES; i++)
		t += s->numa_bytes[i];
	return t;
}

static void case_alloc_node0(void)
{
	size_t len = 8 * MiB;
	char *va = xmem_numa_map(len, PAGE4K, 0);
	if (!CHECK(va))
		return;
	struct xmem_heap *h = xmem_heap_create(xt_name("n0"));
	CHECK_OK(xmem_heap_add_memory(h, va, len, NULL, 0, PAGE4K));
	CHECK_EQ(xmem_heap_numa_node(h), 0);
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_EQ(s.numa_node, 0);
	CHECK_EQ(s.numa_bytes[0], len);   /* every page, not a sample */
	CHECK_EQ(s.numa_unknown_bytes, 0);
	CHECK_EQ(sum_nodes(&s), s.total_bytes);

	char *p = xmem_alloc_node(0, 2048, 0);
	CHECK(p && p >= va && p < va + len);
	CHECK_EQ(page_node(p), 0);
	void *objs[32];
	CHECK_OK(xmem_alloc_bulk_node(0, 2048, objs, 32));
	for (int i = 0; i < 32; i++)
		CHECK((char *)objs[i] >= va && (char *)objs[i] < va + len);
	xmem_free_bulk(objs, 32);
	CHECK_EQ(xmem_lcore_numa_node(), 0);
	CHECK_OK(xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, 2048, objs, 32));
	CHECK(objs[0] >= (void *)va && (char *)objs[0] < va + len);
	xmem_free_bulk(objs, 32);
	char *q = xmem_alloc_node(XMEM_NUMA_LOCAL, 100 * KiB, 4096);  /* large */
	CHECK(q && q >= va && q < va + len);
	xmem_free(q);
	xmem_free(p);

	CHECK_FAILS_PTR(xmem_alloc_node(1, 64, 0), ENOENT);
	CHECK_FAILS_INT(xmem_alloc_bulk_node(7, 64, objs, 4), ENOENT);
	CHECK_FAILS_PTR(xmem_alloc_node(XMEM_NUMA_MAX_NODES, 64, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_alloc_node(-5, 64, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_alloc_node(XMEM_NUMA_NODE_MIXED, 64, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_alloc_node(0, 0, 0), EINVAL);
	CHECK_FAILS_INT(xmem_alloc_bulk_node(0, 64, NULL, 4), EINVAL);

	CHECK_FAILS_INT(xmem_numa_unmap(va, len), EBUSY);
	CHECK_OK(xmem_heap_remove_memory(h, va, len));
	/* Its only heap on node 0 lost its memory: no heap there now. */
	CHECK_FAILS_PTR(xmem_alloc_node(0, 64, 0), ENOENT);
	CHECK_OK(xmem_numa_unmap(va, len));
	CHECK_FAILS_INT(xmem_numa_unmap(va, len), ENOENT);
	CHECK_OK(xmem_heap_destroy(h));
}

static char *g_lo, *g_hi;
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char buf[160];
	char *a = si->si_addr;
	int n = snprintf(buf, sizeof buf, "FATAL: signal %d at %p (%s the PROT_NONE range)\n",
			 sig, (void *)a, a >= g_lo && a < g_hi ? "inside" : "outside");
	if (write(2, buf, n) < 0) {
	}
	_exit(1);
}

static void case_prot_none_unknown(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	size_t len = 16 * MiB;
	char *a = xt_map(len, PAGE4K, PROT_NONE);
	g_lo = a;
	g_hi = a + len;
	struct xmem_heap *h = xmem_heap_create(xt_name("pn"));
	CHECK_OK(xmem_heap_add_memory(h, a, len, NULL, 0, PAGE4K));
	CHECK_EQ(xmem_heap_numa_node(h), XMEM_NUMA_NODE_UNKNOWN);
	CHECK_OK(xmem_heap_numa_refresh(h));
	CHECK_EQ(xmem_heap_numa_node(h), XMEM_NUMA_NODE_UNKNOWN);
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_EQ(s.numa_node, XMEM_NUMA_NODE_UNKNOWN);
	CHECK_EQ(s.numa_unknown_bytes, len);
	CHECK_EQ(sum_nodes(&s), s.total_bytes);
	/* No heap is on a node: nothing to allocate by node from it. */
	CHECK_FAILS_PTR(xmem_alloc_node(0, 64, 0), ENOENT);
	/* Still not resident: nothing was faulted in by any query. */
	unsigned char vec[16];
	CHECK_OK(mincore(a, 16 * PAGE4K, vec));
	for (int i = 0; i < 16; i++)
		CHECK_EQ(vec[i] & 1, 0);
	CHECK_OK(xmem_heap_remove_memory(h, a, len));
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(a, len);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
}

static void case_first_touch_refresh(void)
{
	size_t len = 4 * MiB;
	char *a = xt_map(len, PAGE4K, PROT_READ | PROT_WRITE);
	struct xmem_heap *h = xmem_heap_create(xt_name("ft"));
	CHECK_OK(xmem_heap_add_memory(h, a, len, NULL, 0, PAGE4K));
	CHECK_EQ(xmem_heap_numa_node(h), XMEM_NUMA_NODE_UNKNOWN);
	memset(a, 1, len / 2);   /* the application touches half of it */
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_EQ(s.numa_unknown_bytes, len);   /* not re-read yet */
	CHECK_OK(xmem_heap_numa_refresh(h));
	xt_stats(h, &s);
	CHECK_EQ(s.numa_node, 0);
	CHECK_EQ(s.numa_bytes[0], len / 2);
	CHECK_EQ(s.numa_unknown_bytes, len / 2);
	CHECK_EQ(sum_nodes(&s), s.total_bytes);
	CHECK_FAILS_INT(xmem_heap_numa_refresh(NULL), EINVAL);
	errno = 0;
	CHECK_EQ(xmem_heap_numa_node(NULL), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_OK(xmem_heap_remove_memory(h, a, len));
	CHECK_OK(xmem_heap_destroy(h));
	xt_unmap(a, len);
}

static void case_never_mixed(void)
{
	/* Two chunks, one resident and one half resident, in one heap, and
	 * a heap over hugepage-sized chunks: one node, never MIXED. */
	size_t len = 4 * MiB;
	char *a = xmem_numa_map(len, PAGE4K, 0);
	char *b = xt_map(len, PAGE2M, PROT_READ | PROT_WRITE);
	if (!CHECK(a && b))
		return;
	memset(b, 2, len / 2);
	struct xmem_heap *h = xmem_heap_create(xt_name("nm"));
	CHECK_OK(xmem_heap_add_memory(h, a, len, NULL, 0, PAGE4K));
	CHECK_OK(xmem_heap_add_memory(h, b, len, NULL, 0, PAGE2M));
	CHECK_EQ(xmem_heap_numa_node(h), 0);
	struct xmem_heap_stats s;
	xt_stats(h, &s);
	CHECK_NE(s.numa_node, XMEM_NUMA_NODE_MIXED);
	CHECK_EQ(s.numa_bytes[0] + s.numa_unknown_bytes, 2 * len);
	CHECK_EQ(s.numa_bytes[0], len + len / 2);
	for (int i = 1; i < XMEM_NUMA_MAX_NODES; i++)
		CHECK_EQ(s.numa_bytes[i], 0);
	CHECK_OK(xmem_heap_remove_memory(h, a, len));
	CHECK_OK(xmem_heap_remove_memory(h, b, len));
	CHECK_OK(xmem_heap_destroy(h));
	CHECK_OK(xmem_numa_unmap(a, len));
	xt_unmap(b, len);
}

static void read_maps(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
}

static void case_map_fails_cleanly(void)
{
	static char before[1 << 16], after[1 << 16];
	int max = numa_available() >= 0 ? numa_max_node() : 0;
	read_maps(before, sizeof before);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE4K, max + 1), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE4K, XMEM_NUMA_MAX_NODES - 1), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE4K, XMEM_NUMA_MAX_NODES), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE4K, -1), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE4K, XMEM_NUMA_LOCAL), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(0, PAGE4K, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB + 1, PAGE4K, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, 8192, 0), EINVAL);
	CHECK_FAILS_PTR(xmem_numa_map(3 * MiB, PAGE2M, 0), EINVAL);
	/* Hugepages: none free on node 0 -> ENOMEM; some -> mapped there. */
	FILE *f = fopen("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "r");
	int free_hp = -1;
	if (f) {
		if (fscanf(f, "%d", &free_hp) != 1)
			free_hp = -1;
		fclose(f);
	}
	if (free_hp == 0) {
		CHECK_FAILS_PTR(xmem_numa_map(4 * MiB, PAGE2M, 0), ENOMEM);
	} else if (free_hp >= 2) {
		void *p = xmem_numa_map(4 * MiB, PAGE2M, 0);
		CHECK(p);
		CHECK_OK(xmem_numa_unmap(p, 4 * MiB));
	} else {
		printf("numa_test: free 2 MiB hugepages on node 0: %d, hugepage case not run\n",
		       free_hp);
	}
	read_maps(after, sizeof after);
	if (!CHECK(strcmp(before, after) == 0))
		fprintf(stderr, "maps before:\n%s\nafter:\n%s\n", before, after);
	int x;
	CHECK_FAILS_INT(xmem_numa_unmap(NULL, 4096), EINVAL);
	CHECK_FAILS_INT(xmem_numa_unmap(&x, 0), EINVAL);
	CHECK_FAILS_INT(xmem_numa_unmap(before, 4096), ENOENT);
	void *p = xmem_numa_map(4 * MiB, PAGE4K, 0);
	CHECK(p);
	CHECK_FAILS_INT(xmem_numa_unmap(p, 2 * MiB), ENOENT);   /* part */
	CHECK_OK(xmem_numa_unmap(p, 4 * MiB));
}

static void case_choice_rule(void)
{
	size_t len = 4 * MiB;
	char *a = xmem_numa_map(len, PAGE4K, 0), *b = xmem_numa_map(len, PAGE4K, 0);
	if (!CHECK(a && b))
		return;
	struct xmem_heap *ha = xmem_heap_create(xt_name("older"));
	struct xmem_heap *hb = xmem_heap_create(xt_name("newer"));
	CHECK_OK(xmem_heap_add_memory(hb, b, len, NULL, 0, PAGE4K));
	char *p = xmem_alloc_node(0, 64, 0);
	CHECK(p >= b && p < b + len);   /* the only heap on node 0 */
	xmem_free(p);
	CHECK_OK(xmem_heap_add_memory(ha, a, len, NULL, 0, PAGE4K));
	p = xmem_alloc_node(0, 64, 0);
	CHECK(p >= a && p < a + len);   /* the oldest heap on node 0 */
	xmem_free(p);
	CHECK_OK(xmem_heap_set_node_default(0, hb));
	p = xmem_alloc_node(0, 64, 0);
	CHECK(p >= b && p < b + len);   /* the default */
	xmem_free(p);
	CHECK_FAILS_INT(xmem_heap_set_node_default(1, ha), EINVAL);
	CHECK_FAILS_INT(xmem_heap_set_node_default(-1, ha), EINVAL);
	CHECK_FAILS_INT(xmem_heap_set_node_default(XMEM_NUMA_MAX_NODES, NULL), EINVAL);
	struct xmem_heap *empty = xmem_heap_create(xt_name("empty"));
	CHECK_FAILS_INT(xmem_heap_set_node_default(0, empty), EINVAL);
	CHECK_OK(xmem_heap_destroy(empty));
	CHECK_FAILS_INT(xmem_heap_set_node_default(0, empty), EINVAL);   /* dead */
	CHECK_OK(xmem_heap_set_node_default(0, NULL));
	p = xmem_alloc_node(0, 64, 0);
	CHECK(p >= a && p < a + len);   /* back to the oldest */
	xmem_free(p);
	/* The default loses its memory: passed over, and the oldest serves. */
	CHECK_OK(xmem_heap_set_node_default(0, hb));
	CHECK_OK(xmem_heap_remove_memory(hb, b, len));
	p = xmem_alloc_node(0, 64, 0);
	CHECK(p >= a && p < a + len);
	xmem_free(p);
	CHECK_OK(xmem_heap_remove_memory(ha, a, len));
	CHECK_OK(xmem_heap_destroy(ha));
	CHECK_OK(xmem_heap_destroy(hb));
	CHECK_OK(xmem_numa_unmap(a, len));
	CHECK_OK(xmem_numa_unmap(b, len));
}

/* ---- device locality through a fake sysfs ------------------------------ */

static char g_log[512];
static unsigned g_logs;
static void capture(const char *line)
{
	snprintf(g_log, sizeof g_log, "%s", line);
	g_logs++;
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], cmd[700];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
	CHECK_EQ(system(cmd), 0);
	if (text) {
		FILE *f = fopen(path, "w");
		if (CHECK(f)) {
			fputs(text, f);
			fclose(f);
		}
	} else {
		CHECK_OK(mkdir(path, 0755));
	}
}

static void case_device_locality(void)
{
	char root[] = "/tmp/xmem-sysfs.XXXXXX";
	if (!CHECK(mkdtemp(root)))
		return;
	put(root, "bus/pci/devices/0000:41:00.0/numa_node", "1\n");
	put(root, "bus/pci/devices/0000:00:03.0/numa_node", "-1\n");
	put(root, "bus/pci/devices/0000:00:04.0/numa_node", "0\n");
	put(root, "kernel/iommu_groups/7/devices/0000:41:00.0", NULL);
	put(root, "kernel/iommu_groups/8/devices/0000:00:03.0", NULL);
	put(root, "kernel/iommu_groups/9/devices/0000:00:04.0", NULL);
	xm_sysfs_root_set(root);
	CHECK_EQ(xmem_pci_numa_node("0000:41:00.0"), 1);
	errno = 0;
	CHECK_EQ(xmem_pci_numa_node("0000:00:03.0"), XMEM_NUMA_NODE_UNKNOWN);
	CHECK_EQ(errno, 0);
	CHECK_FAILS_INT(xmem_pci_numa_node("0000:99:00.0"), ENOENT);
	CHECK_FAILS_INT(xmem_pci_numa_node(NULL), EINVAL);
	CHECK_FAILS_INT(xmem_pci_numa_node(""), EINVAL);
	CHECK_FAILS_INT(xmem_pci_numa_node("../../etc"), EINVAL);
	CHECK_FAILS_INT(xmem_pci_numa_node("0000:00:00.0-0123456789012345678901234"), EINVAL);

	char bdf[32];
	int node = XMEM_NUMA_NODE_UNKNOWN;
	xm_vfio_group_node(7, &node, bdf);
	CHECK_EQ(node, 1);
	CHECK(strcmp(bdf, "0000:41:00.0") == 0);
	int unk = XMEM_NUMA_NODE_UNKNOWN;
	xm_vfio_group_node(8, &unk, bdf);
	CHECK_EQ(unk, XMEM_NUMA_NODE_UNKNOWN);
	xm_vfio_group_node(9, &node, bdf);   /* node 1 and node 0 devices */
	CHECK_EQ(node, XMEM_NUMA_NODE_MIXED);

	/* Node-0 memory for the node-1 device: a warning naming both; in
	 * strict mode EXDEV; for a node-0 device nothing. */
	size_t len = 2 * MiB;
	char *va = xmem_numa_map(len, PAGE4K, 0);
	if (!CHECK(va))
		return;
	struct xmem_dma_region_info info = {.va = va, .len = len, .page_size = PAGE4K,
					    .n_pages = len / PAGE4K, .n_runs = 1};
	xmem_set_log(capture);
	g_logs = 0;
	CHECK_EQ(xm_numa_locality_check(&info, 1, "0000:41:00.0", false), 0);
	CHECK_EQ(g_logs, 1);
	CHECK(strstr(g_log, "on node 0") && strstr(g_log, "0000:41:00.0 on node 1"));
	printf("numa_test: logged: %s\n", g_log);
	CHECK_ERRNO(xm_numa_locality_check(&info, 1, "0000:41:00.0", true) == -1, EXDEV);
	CHECK_EQ(g_logs, 2);
	CHECK_EQ(xm_numa_locality_check(&info, 0, "0000:00:04.0", true), 0);
	CHECK_EQ(xm_numa_locality_check(&info, XMEM_NUMA_NODE_UNKNOWN, "x", true), 0);
	CHECK_EQ(g_logs, 2);
	xmem_set_log(NULL);
	CHECK_OK(xmem_numa_unmap(va, len));
	xm_sysfs_root_set(NULL);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(xmem_thread_register() >= 0);
	xt_run("alloc_node0", case_alloc_node0);
	xt_run("prot_none_unknown", case_prot_none_unknown);
	xt_run("first_touch_refresh", case_first_touch_refresh);
	xt_run("never_mixed", case_never_mixed);
	xt_run("map_fails_cleanly", case_map_fails_cleanly);
	xt_run("choice_rule", case_choice_rule);
	xt_run("device_locality", case_device_locality);
	return xt_done();
}
