/* numa_guest.c - NUMA placement checked in a two-node QEMU guest,
 * run as /bin/guest_test by tests/numa_guest/run.sh.  One line per check,
 * "NUMA CHECK PASS|FAIL <name>: <detail>", then "NUMA RESULT: PASS|FAIL":
 *   topology          two nodes with memory, CPU 0 on node 0, CPU 1 on node 1
 *   heap_node<N>_<ps> a heap per node from xmem_numa_map (4 KiB and 2 MiB
 *                     pages): 100% of its pages verified on node N
 *   alloc_node<N>     xmem_alloc_node / xmem_alloc_bulk_node(N) blocks, each
 *                     page on node N (move_pages)
 *   local_follows     XMEM_NUMA_LOCAL follows the thread moved from CPU 0 to
 *                     CPU 1 and back (sched_setaffinity)
 *   edu_node          the edu behind the pxb-pcie bridge reads numa_node 1
 *   locality_warning  node-0 memory mapped for it logs a warning naming
 *                     node 0 and node 1
 *   locality_quiet    node-1 memory mapped for it logs nothing
 *   locality_strict   with strict on, node-0 memory is refused with EXDEV
 *   numa_exp          /bin/numa_exp completes every cell of its matrix */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xmem/xmem.h>
#include <xmem/xmem_vfio.h>

#include "tests/numa/page_node.h"

#define MiB ((size_t)1 << 20)
static int failed;

static void check(int ok, const char *name, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	printf("NUMA CHECK %s %s: %s\n", ok ? "PASS" : "FAIL", name, buf);
	fflush(stdout);
	if (!ok)
		failed = 1;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof s, &s);
}

static int read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -100;
	if (f) {
		if (fscanf(f, "%i", &v) != 1)
			v = -100;
		fclose(f);
	}
	return v;
}

/* ---- per-node heaps ------------------------------------------------------- */

struct nheap {
	struct xmem_heap *h;
	void *va;
	size_t len;
};
static struct nheap g_heap[2][2];   /* [node][0: 4 KiB, 1: 2 MiB] */

static void check_heaps(void)
{
	for (int n = 0; n < 2; n++)
		for (int k = 0; k < 2; k++) {
			size_t ps = k ? 2 * MiB : 4096, len = 8 * MiB;
			char name[32];
			snprintf(name, sizeof name, "heap_node%d_%s", n, k ? "2M" : "4K");
			struct nheap *x = &g_heap[n][k];
			x->len = len;
			x->va = xmem_numa_map(len, ps, n);
			x->h = xmem_heap_create(name);
			if (!x->va || !x->h ||
			    xmem_heap_add_memory(x->h, x->va, len, NULL, 0, ps)) {
				check(0, name, "xmem_numa_map/add: %s", strerror(errno));
				continue;
			}
			struct xmem_heap_stats s;
			xmem_heap_stats(x->h, &s);
			size_t pages = len / ps, on = s.numa_bytes[n] / ps;
			check(on == pages && s.numa_unknown_bytes == 0 &&
			      xmem_heap_numa_node(x->h) == n && s.numa_node == n, name,
			      "%zu of %zu pages (%zu KiB each) verified on node %d, unknown %zu B, "
			      "heap node %d", on, pages, ps >> 10, n, s.numa_unknown_bytes,
			      xmem_heap_numa_node(x->h));
		}
}

static void check_alloc_node(void)
{
	for (int n = 0; n < 2; n++) {
		char name[32];
		snprintf(name, sizeof name, "alloc_node%d", n);
		void *objs[64];
		int bad = 0, total = 0;
		if (xmem_alloc_bulk_node(n, 2048, objs, 64)) {
			check(0, name, "xmem_alloc_bulk_node: %s", strerror(errno));
			continue;
		}
		for (int i = 0; i < 64; i++, total++)
			bad += page_node(objs[i]) != n;
		xmem_free_bulk(objs, 64);
		void *big = xmem_alloc_node(n, 1 * MiB, 4096);
		void *one = xmem_alloc_node(n, 100, 0);
		total += 2;
		bad += !big || page_node(big) != n || page_node((char *)big + MiB - 1) != n;
		bad += !one || page_node(one) != n;
		xmem_free(big);
		xmem_free(one);
		check(!bad, name, "%d of %d blocks on node %d (move_pages)", total - bad, total, n);
	}
}

static void check_local_follows(void)
{
	int ok = 1;
	char trail[128] = "";
	size_t o = 0;
	const int cpus[3] = {0, 1, 0};
	for (int i = 0; i < 3; i++) {
		pin(cpus[i]);
		int node = xmem_lcore_numa_node();
		void *p = xmem_alloc_node(XMEM_NUMA_LOCAL, 2048, 0);
		void *objs[32];
		int bulk = xmem_alloc_bulk_node(XMEM_NUMA_LOCAL, 2048, objs, 32);
		int pn = p ? page_node(p) : -100, bn = bulk ? -100 : page_node(objs[31]);
		o += (size_t)snprintf(trail + o, sizeof trail - o, "%scpu %d: node %d, block on %d",
				      i ? "; " : "", sched_getcpu(), node, pn);
		ok &= node == cpus[i] && pn == cpus[i] && bn == cpus[i];
		xmem_free(p);
		if (!bulk)
			xmem_free_bulk(objs, 32);
	}
	pin(0);
	check(ok, "local_follows", "%s", trail);
}

/* ---- device locality ------------------------------------------------------------ */

static char g_log[16][400];
static int g_logs;
static void capture(const char *line)
{
	if (g_logs < 16)
		snprintf(g_log[g_logs], sizeof g_log[0], "%s", line);
	g_logs++;
}

/* The edu with numa_node 1 (behind the pxb-pcie bridge). */
static int find_edu_node1(char *bdf)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = -1;
	while (d && (e = readdir(d))) {
		char p[320];
		if (e->d_name[0] == '.' || strlen(e->d_name) > 31)
			continue;
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/vendor", e->d_name);
		int v = read_int(p);
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/device", e->d_name);
		int dv = read_int(p);
		if (v == 0x1234 && dv == 0x11e8 && xmem_pci_numa_node(e->d_name) == 1) {
			strcpy(bdf, e->d_name);
			found = 0;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static int add_chunk(struct xmem_heap *h, int node, void **va)
{
	*va = xmem_numa_map(2 * MiB, 4096, node);
	if (!*va)
		return -1;
	return xmem_heap_add_memory(h, *va, 2 * MiB, NULL, 0, 4096);
}

static void check_locality(void)
{
	char bdf[32];
	FILE *f = fopen("/sys/bus/pci/drivers/vfio-pci/new_id", "w");
	if (f) {
		fputs("1234 11e8", f);
		fclose(f);
	}
	usleep(200000);
	if (find_edu_node1(bdf)) {
		check(0, "edu_node", "no edu device with numa_node 1 in sysfs");
		return;
	}
	check(1, "edu_node", "edu %s reads numa_node %d", bdf, xmem_pci_numa_node(bdf));
	int group = xmem_vfio_group_of(bdf);
	struct xmem_vfio_container *c = xmem_vfio_container_open();
	if (group < 0 || !c || xmem_vfio_group_add(c, group) ||
	    xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN) || !xmem_vfio_attach(c)) {
		check(0, "locality_warning", "VFIO setup for %s (group %d): %s", bdf, group,
		      strerror(errno));
		return;
	}
	struct xmem_heap *h = xmem_heap_create("locality");
	void *va0, *va1, *va2 = NULL;
	xmem_set_log(capture);
	g_logs = 0;
	int rc0 = add_chunk(h, 0, &va0);
	int warned = g_logs == 1 && strstr(g_log[0], "on node 0") &&
		     strstr(g_log[0], "on node 1") && strstr(g_log[0], bdf);
	check(rc0 == 0 && warned, "locality_warning", "add of node-0 memory: rc %d, %d line(s): %s",
	      rc0, g_logs, g_logs ? g_log[0] : "(none)");
	g_logs = 0;
	int rc1 = add_chunk(h, 1, &va1);
	check(rc1 == 0 && g_logs == 0, "locality_quiet", "add of node-1 memory: rc %d, %d line(s)%s%s",
	      rc1, g_logs, g_logs ? ": " : "", g_logs ? g_log[0] : "");
	xmem_vfio_set_numa_strict(c, 1);
	struct xmem_heap_stats before, after;
	xmem_heap_stats(h, &before);
	g_logs = 0;
	errno = 0;
	int rc2 = add_chunk(h, 0, &va2);
	int e2 = errno;
	xmem_heap_stats(h, &after);
	check(rc2 == -1 && e2 == EXDEV && after.total_bytes == before.total_bytes &&
	      xmem_virt2iova(va2) == XMEM_BAD_IOVA, "locality_strict",
	      "strict add of node-0 memory: rc %d errno %s, heap unchanged %s, %d line(s): %s",
	      rc2, strerror(e2), after.total_bytes == before.total_bytes ? "yes" : "no", g_logs,
	      g_logs ? g_log[0] : "(none)");
	xmem_set_log(NULL);
	xmem_vfio_set_numa_strict(c, 0);
	if (rc0 == 0)
		xmem_heap_remove_memory(h, va0, 2 * MiB);
	if (rc1 == 0)
		xmem_heap_remove_memory(h, va1, 2 * MiB);
	xmem_numa_unmap(va0, 2 * MiB);
	xmem_numa_unmap(va1, 2 * MiB);
	if (va2)
		xmem_numa_unmap(va2, 2 * MiB);
	xmem_heap_destroy(h);
	xmem_vfio_detach(c);
	xmem_vfio_container_close(c);
}

/* ---- the experiment tool ------------------------------------------------------- */

static void check_numa_exp(void)
{
	/* The heaps above hold hugepages: give them back first. */
	for (int n = 0; n < 2; n++)
		for (int k = 0; k < 2; k++) {
			struct nheap *x = &g_heap[n][k];
			if (!x->h)
				continue;
			xmem_heap_trim(x->h);
			xmem_heap_remove_memory(x->h, x->va, x->len);
			xmem_heap_destroy(x->h);
			xmem_numa_unmap(x->va, x->len);
		}
	fflush(stdout);
	int st = system("/bin/numa_exp --seconds=0.03 --heap-mb=8 --json=/tmp/numa_exp.json "
			"--svg=/tmp/numa_exp.svg > /tmp/numa_exp.out 2>&1");
	FILE *f = fopen("/tmp/numa_exp.out", "r");
	char line[512], last[512] = "";
	while (f && fgets(line, sizeof line, f)) {
		printf("  numa_exp| %s", line);
		if (strncmp(line, "numa_exp: cells:", 16) == 0)
			snprintf(last, sizeof last, "%s", line);
	}
	if (f)
		fclose(f);
	int done = -1, total = -2, na = -1;
	sscanf(last, "numa_exp: cells: %d of %d completed (%d n/a)", &done, &total, &na);
	/* 2 nodes: 4 burst cells + 2 x 2 x 4 pipeline cells, none n/a. */
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && done == 20 && total == 20 && na == 0,
	      "numa_exp", "exit %d, %d of %d cells completed, %d n/a", WEXITSTATUS(st), done,
	      total, na);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xmem_thread_register();
	int two = access("/sys/devices/system/node/node0", F_OK) == 0 &&
		  access("/sys/devices/system/node/node1", F_OK) == 0 &&
		  access("/sys/devices/system/node/node2", F_OK) != 0;
	pin(0);
	int c0 = xmem_lcore_numa_node();
	pin(1);
	int c1 = xmem_lcore_numa_node();
	pin(0);
	check(two && c0 == 0 && c1 == 1, "topology", "nodes 0 and 1 %s; cpu 0 on node %d, cpu 1 on node %d; "
	      "free 2M hugepages node0 %d node1 %d", two ? "present" : "MISSING", c0, c1,
	      read_int("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"),
	      read_int("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/free_hugepages"));
	check_heaps();
	check_alloc_node();
	check_local_follows();
	check_locality();
	check_numa_exp();
	printf("NUMA RESULT: %s\n", failed ? "FAIL" : "PASS");
	return failed;
}
