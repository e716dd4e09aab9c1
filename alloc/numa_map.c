/* numa_map.c - memory bound to one node for users and experiments
 * (xmem_numa_map / xmem_numa_unmap): map, mbind MPOL_BIND, populate, check
 * every page with move_pages, and the list of live mappings that unmap
 * accepts. */
#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "numa.h"
#include "region.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* Live mappings, so that unmap takes back exactly what map gave.  Under
 * xm_nm_lock; control plane only. */
struct xm_nm {
	struct xm_nm *next;
	uintptr_t va;
	size_t len;
};
static struct xm_nm *xm_nms;
static pthread_mutex_t xm_nm_lock = PTHREAD_MUTEX_INITIALIZER;

/* True when node is a node of this machine that has memory. */
static bool xm_node_has_memory(int node)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/devices/system/node/has_memory",
		 xm_sysfs_root());
	FILE *f = fopen(path, "re");
	if (!f)   /* a kernel without NUMA: node 0 only */
		return node == 0;
	char buf[256];
	bool found = false;
	if (fgets(buf, sizeof(buf), f)) {
		/* A list like "0-1,3". */
		for (char *p = buf; *p && *p != '\n';) {
			char *e;
			long a = strtol(p, &e, 10), b = a;
			if (e == p)
				break;
			if (*e == '-')
				b = strtol(e + 1, &e, 10);
			if (node >= a && node <= b)
				found = true;
			p = *e == ',' ? e + 1 : e;
		}
	}
	fclose(f);
	return found;
}

void *xmem_numa_map(size_t len, size_t page_size, int node)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (page_size == ((size_t)2 << 20))
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	else if (page_size == ((size_t)1 << 30))
		flags |= MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);
	else if (page_size != 4096)
		goto inval;
	if (len == 0 || len % page_size || node < 0 ||
	    node >= XMEM_NUMA_MAX_NODES || !xm_node_has_memory(node))
		goto inval;

	struct xm_nm *rec = malloc(sizeof(*rec));
	if (!rec)
		return NULL;   /* ENOMEM */
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (va == MAP_FAILED) {
		free(rec);
		errno = ENOMEM;
		return NULL;
	}
	unsigned long mask[2] = {0, 0};
	mask[node / 64] = 1ul << (node % 64);
	int e = 0;
	/* MPOL_MF_STRICT: pages already elsewhere fail the call (there are
	 * none yet: the mapping is fresh). */
	if (syscall(SYS_mbind, va, len, MPOL_BIND, mask, 2 * 64, MPOL_MF_STRICT))
		e = errno == ENOSYS ? ENOSYS : EINVAL;
	/* Populate under the bound policy.  Failure is an error, not a
	 * signal: ENOMEM, or EFAULT where a fault would have raised SIGBUS
	 * (no free hugepage on node); EINVAL before Linux 5.14. */
	else if (madvise(va, len, MADV_POPULATE_WRITE))
		e = errno == EINVAL ? ENOSYS : ENOMEM;
	if (!e) {
		struct xm_numa_bytes b;
		xm_numa_scan((uintptr_t)va, len, page_size, &b);
		if (b.node[node] != len)
			e = b.unknown ? ENOMEM : EXDEV;
	}
	if (e) {
		munmap(va, len);
		free(rec);
		errno = e;
		return NULL;
	}
	rec->va = (uintptr_t)va;
	rec->len = len;
	pthread_mutex_lock(&xm_nm_lock);
	rec->next = xm_nms;
	xm_nms = rec;
	pthread_mutex_unlock(&xm_nm_lock);
	return va;
inval:
	errno = EINVAL;
	return NULL;
}

int xmem_numa_unmap(void *va, size_t len)
{
	if (!va || len == 0) {
		errno = EINVAL;
		return -1;
	}
	/* Control mutex first (lock order: control -> xm_nm_lock), so no
	 * add or register of this range can start until it is gone. */
	xm_ctl_lock();
	pthread_mutex_lock(&xm_nm_lock);
	struct xm_nm **pp = &xm_nms;
	while (*pp && !((*pp)->va == (uintptr_t)va && (*pp)->len == len))
		pp = &(*pp)->next;
	int rc = -1;
	if (!*pp) {
		errno = ENOENT;
	} else if (xm_region_overlaps((uintptr_t)va, len)) {
		errno = EBUSY;
	} else {
		struct xm_nm *rec = *pp;
		*pp = rec->next;
		munmap(va, len);
		free(rec);
		rc = 0;
	}
	pthread_mutex_unlock(&xm_nm_lock);
	xm_ctl_unlock();
	return rc;
}
