/** @file xmem_numa.h
 * xmem_numa.h - NUMA placement: the node of every page of a heap, node-aware
 * allocation, memory bound to a node, and the node of a PCI device.
 * Included by xmem.h; docs/numa.md explains it.
 *
 * Conventions are those of xmem.h: -1 or NULL on failure with errno set to
 * one of the codes listed for the function; a failed call changes nothing.
 *
 * How a page's node is read: move_pages(2) in query mode (no target nodes),
 * one entry per page of the chunk's page size, over every page.  The query
 * never faults a page in: pages not yet touched, PROT_NONE memory and
 * device memory count as unknown, and stay untouched. */
#ifndef XMEM_XMEM_NUMA_H
#define XMEM_XMEM_NUMA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

struct xmem_heap;

/** Nodes 0 .. XMEM_NUMA_MAX_NODES - 1 are counted per node; pages on a
 * higher node count as unknown. */
#define XMEM_NUMA_MAX_NODES 64

/** Node of a heap or region none of whose pages is resident (not touched
 * yet, PROT_NONE, device memory, or a kernel without NUMA). */
#define XMEM_NUMA_NODE_UNKNOWN (-1)
/** Node of a heap whose resident pages lie on more than one node. */
#define XMEM_NUMA_NODE_MIXED (-2)
/** For xmem_alloc_node / xmem_alloc_bulk_node: the node of the CPU the
 * calling thread runs on now (xmem_lcore_numa_node). */
#define XMEM_NUMA_LOCAL (-3)

/* ------------------------------------------------------------------------ */
/* The node of a heap                                                       */
/* ------------------------------------------------------------------------ */

/** The node that holds every resident page of the heap: a node number,
 * XMEM_NUMA_NODE_UNKNOWN (no page resident) or XMEM_NUMA_NODE_MIXED.
 * Pages not resident do not count.  Figures are those recorded when each
 * chunk was added, or at the last xmem_heap_numa_refresh.  Never blocks.
 * EINVAL: heap NULL or dead (returns -1, which is also
 *         XMEM_NUMA_NODE_UNKNOWN: clear errno first to tell them apart). */
int xmem_heap_numa_node(const struct xmem_heap *heap);

/** Read the node of every page of every chunk of the heap again (memory
 * first touched after it was added).  Takes the control mutex; costs one
 * move_pages query per page (docs/numa.md has figures: about 0.1 s per GiB
 * of 4 KiB pages here, far less for hugepages).  Faults nothing in.
 * EINVAL: heap NULL or dead. */
int xmem_heap_numa_refresh(struct xmem_heap *heap);

/* ------------------------------------------------------------------------ */
/* Node-aware allocation                                                    */
/* ------------------------------------------------------------------------ */

/** The heap chosen for a node, by this rule:
 *  1. the node's default heap (xmem_heap_set_node_default), while it lives
 *     and its resident memory is all on that node;
 *  2. otherwise the first created (oldest) live heap whose resident memory
 *     is all on that node (xmem_heap_numa_node(heap) == node).
 * Then xmem_alloc / xmem_alloc_bulk on it.  The choice is cached per thread
 * and made again only after a heap is created, destroyed, memory is added
 * or removed, a default is set or a heap refreshed; XMEM_NUMA_LOCAL reads
 * the thread's CPU on every call (sched_getcpu), so it follows a thread
 * that moves to another node.
 * EINVAL: node is not XMEM_NUMA_LOCAL and not in [0, XMEM_NUMA_MAX_NODES);
 *         size 0; align not 0 and not a power of two.
 * ENOENT: no heap lives on that node (nor on the local node, for
 *         XMEM_NUMA_LOCAL: also when the CPU cannot be read).
 * ENOMEM: as for xmem_alloc, on the chosen heap (no other heap is tried). */
void *xmem_alloc_node(int node, size_t size, size_t align);

/** xmem_alloc_bulk on the heap chosen for node (see xmem_alloc_node).
 * EINVAL: node as for xmem_alloc_node; objs NULL; size 0; n 0.
 * ENOENT: no heap lives on that node.
 * ENOMEM: fewer than n blocks could be allocated from the chosen heap. */
int xmem_alloc_bulk_node(int node, size_t size, void **objs, unsigned n);

/** Make heap the first choice for node; heap NULL clears the node's
 * default.  The heap's resident memory must be all on node now; while it
 * is not (memory added elsewhere later), the default is passed over.
 * EINVAL: node not in [0, XMEM_NUMA_MAX_NODES); heap not NULL and dead, or
 *         xmem_heap_numa_node(heap) != node. */
int xmem_heap_set_node_default(int node, struct xmem_heap *heap);

/** The node of the CPU the calling thread runs on now (sched_getcpu, then
 * the CPU's node; 0 on a kernel without NUMA).  A few ns: docs/numa.md.
 * ENOENT: the CPU cannot be read (returns -1). */
int xmem_lcore_numa_node(void);

/* ------------------------------------------------------------------------ */
/* Memory on a node                                                         */
/* ------------------------------------------------------------------------ */

/** Map len bytes of private memory bound to node (mbind MPOL_BIND, strict)
 * and populate it (MADV_POPULATE_WRITE): anonymous memory for page_size
 * 4096, hugetlb memory for 2 MiB or 1 GiB.  Every page is then checked
 * with move_pages; the memory is returned only when every page is resident
 * on node.  Nothing is left mapped on failure.  Add it to a heap with
 * page_size, give it back with xmem_numa_unmap.
 * EINVAL: len 0 or not a multiple of page_size; page_size not 4096,
 *         2 MiB or 1 GiB; node not a node of this machine with memory.
 * ENOMEM: no memory on that node: the mapping failed, or populating it
 *         (no free hugepages of that size on node, or not enough memory).
 * EXDEV:  some page was populated on another node than node.
 * ENOSYS: the kernel lacks mbind, move_pages or MADV_POPULATE_WRITE. */
void *xmem_numa_map(size_t len, size_t page_size, int node);

/** Unmap memory that xmem_numa_map returned, exactly (va, len).
 * EINVAL: va NULL or len 0.
 * ENOENT: (va, len) is not exactly one mapping of xmem_numa_map.
 * EBUSY:  part of it is still added to a heap or registered. */
int xmem_numa_unmap(void *va, size_t len);

/* ------------------------------------------------------------------------ */
/* Devices                                                                  */
/* ------------------------------------------------------------------------ */

/** The node of a PCI device, from `/sys/bus/pci/devices/<bdf>/numa_node`:
 * a node, or XMEM_NUMA_NODE_UNKNOWN when the platform does not say (-1 in
 * sysfs).  xmem_vfio_set_numa_strict (xmem_vfio.h) says what happens when
 * memory is mapped for a device on another node.
 * EINVAL: bdf NULL, empty, longer than 31 characters or containing '/'.
 * ENOENT: no such device (returns -1). */
int xmem_pci_numa_node(const char *bdf);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_NUMA_H */
