/* iommu/vfio_numa.c - owns device locality for VFIO containers: the node of
 * the devices in a container's groups (sysfs), and the check, when a region
 * is mapped for them, that its resident pages are on that node: a warning
 * through the log hook naming both nodes, or EXDEV in strict mode
 * (xmem_vfio_set_numa_strict). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc/numa.h"
#include "iommu/dma.h"
#include "iommu/vfio.h"

/* Node of the devices of one IOMMU group, folded into *node (UNKNOWN
 * until a device says; MIXED once two disagree); the first device with a
 * node goes to bdf. */
void xm_vfio_group_node(int group, int *node, char *bdf)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices",
		 xm_sysfs_root(), group);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int n = xmem_pci_numa_node(e->d_name);
		if (n < 0)
			continue;
		if (*node == XMEM_NUMA_NODE_UNKNOWN) {
			*node = n;
			snprintf(bdf, 32, "%.31s", e->d_name);
		} else if (*node != n) {
			*node = XMEM_NUMA_NODE_MIXED;
		}
	}
	closedir(d);
}

int xm_vfio_devices_node(struct xmem_vfio_container *c, char *bdf)
{
	int ids[XMEM_VFIO_MAX_GROUPS];
	size_t n = xm_vfio_group_ids(c, ids, XMEM_VFIO_MAX_GROUPS);
	int node = XMEM_NUMA_NODE_UNKNOWN;
	snprintf(bdf, 32, "?");
	for (size_t i = 0; i < n && i < XMEM_VFIO_MAX_GROUPS; i++)
		xm_vfio_group_node(ids[i], &node, bdf);
	return node;
}

int xm_numa_locality_check(const struct xmem_dma_region_info *info,
			   int dev, const char *bdf, bool strict)
{
	if (dev < 0)   /* the platform does not say, or mixed devices */
		return 0;
	/* The region is not published yet, so the core's counts are out of
	 * reach: query again (move_pages, every page, nothing faulted in).
	 * Only when the device's node is known. */
	struct xm_numa_bytes b;
	xm_numa_scan((uintptr_t)info->va, info->len, info->page_size, &b);
	int mem = xm_numa_node_of(&b);
	if (mem == XMEM_NUMA_NODE_UNKNOWN || mem == dev)
		return 0;
	size_t off = 0;
	for (int i = 0; i < XMEM_NUMA_MAX_NODES; i++)
		if (i != dev)
			off += b.node[i];
	xm_log("xmem: %s: memory %p-%p on node %d%s (%zu of %zu resident "
	       "bytes off the device's node) mapped for device %s on node %d%s",
	       strict ? "error" : "warning", info->va,
	       (void *)((char *)info->va + info->len), mem,
	       mem == XMEM_NUMA_NODE_MIXED ? " (mixed)" : "", off,
	       info->len - b.unknown, bdf, dev,
	       strict ? ": refused (strict)" : "");
	if (strict) {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

int xm_vfio_numa_event(void *ctx, enum xmem_mem_event ev,
		       const struct xmem_dma_region_info *info)
{
	if (ev != XMEM_MEM_EVENT_ADD || info->n_runs == 0)   /* not mapped */
		return 0;
	char bdf[32];
	int dev = xm_vfio_devices_node(ctx, bdf);
	return xm_numa_locality_check(info, dev, bdf, xm_vfio_numa_strict(ctx));
}
