/** @file xmem_dpdk.h
 * xmem_dpdk.h - libxmem_dpdk: xmem inside a DPDK application.
 *
 *  - The "xmem" mempool ops: the common pool behind DPDK's per-lcore
 *    mempool caches is an xmem_pool (xmem_pool.h), lock-free, so a thread
 *    preempted inside a put or get never blocks the others.  Registered
 *    when the library is loaded (linked, or `-d libxmem_dpdk.so`); select
 *    them with rte_mempool_set_ops_byname(mp, "xmem", NULL) or the EAL
 *    option --mbuf-pool-ops-name=xmem.
 *  - mbuf pools whose buffers live in an xmem heap.
 *  - lcore binding: xmem's lcore id follows rte_lcore_id() in EAL threads.
 *  - DMA subscribers (xmem_dma.h) that register xmem memory with DPDK
 *    (rte_extmem_register) and map it through DPDK's VFIO container or a
 *    DPDK device.
 *
 * Functions set rte_errno (and errno, to the same value) on failure, as
 * DPDK does.  EAL must be initialised before any of them is called, except
 * where said. */
#ifndef XMEM_XMEM_DPDK_H
#define XMEM_XMEM_DPDK_H

#include <stdint.h>

#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mempool; /**< DPDK's */
struct rte_device;  /**< DPDK's */

/** The name of the mempool ops (rte_mempool_set_ops_byname,
 * --mbuf-pool-ops-name). */
#define XMEM_DPDK_OPS_NAME "xmem"

/* ------------------------------------------------------------------------ */
/* mbuf pools over an xmem heap                                             */
/* ------------------------------------------------------------------------ */

/** rte_pktmbuf_pool_create, with the objects (mbuf headers, private areas
 * and data rooms) carved from heap instead of DPDK memory, and the "xmem"
 * ops.  The memory is taken as a few IOVA-contiguous chunks (xmem_alloc: as
 * large as the heap can give, halving down to one object), each given to
 * rte_mempool_populate_iova with iova = xmem_virt2iova(chunk): every mbuf's
 * buf_iova is xmem_virt2iova(buf_addr).  rte_mempool_free gives the chunks
 * back to the heap.  socket_id places only the pool's header (DPDK memory).
 * Returns the pool, or NULL with rte_errno:
 * EINVAL: name NULL; n 0; heap NULL or dead; priv_size not a multiple of
 *         RTE_MBUF_PRIV_ALIGN; the heap's memory has no IOVA.
 * ENOMEM: the heap cannot give n objects (not even one chunk of one object,
 *         e.g. data_room_size too large for any free run), or no DPDK
 *         memory for the pool header.
 * ENOENT: the "xmem" ops are not registered (all 16 ops slots were taken).
 * Other:  rte_mempool_create_empty's errors (EEXIST: a pool of that name
 *         exists; ENAMETOOLONG ...).
 * On failure nothing is left behind: no pool, and the heap as before. */
struct rte_mempool *xmem_dpdk_pktmbuf_pool_create(const char *name, unsigned n,
                                                  unsigned cache_size,
                                                  uint16_t priv_size,
                                                  uint16_t data_room_size,
                                                  struct xmem_heap *heap,
                                                  int socket_id);

/* ------------------------------------------------------------------------ */
/* lcore binding                                                            */
/* ------------------------------------------------------------------------ */

/** Give the calling EAL thread xmem's lcore id rte_lcore_id(), so that the
 * per-lcore caches of both libraries belong to the same thread
 * (xmem_thread_register_id).  The "xmem" ops do it on their first dequeue
 * in each EAL thread; call it yourself in a thread that allocates from xmem
 * before it touches a pool.  Returns the id.
 * EINVAL: not an EAL or registered thread (rte_lcore_id() is LCORE_ID_ANY),
 *         or its id is XMEM_MAX_LCORES or more.
 * EBUSY:  another thread holds that xmem id (a thread that took it before
 *         EAL started); the calling thread keeps its id. */
int xmem_dpdk_lcore_bind(void);

/* ------------------------------------------------------------------------ */
/* DMA subscribers (xmem_dma.h): xmem memory for DPDK's drivers             */
/* ------------------------------------------------------------------------ */

/** Register every xmem region (heap memory and xmem_register memory, those
 * that exist now and every later one) with DPDK as external memory:
 * rte_extmem_register with the region's IOVA table when it is added,
 * rte_extmem_unregister once it is removed.  Then rte_mem_virt2memseg finds it
 * (its iova from the table), and rte_dev_dma_map accepts it.  Unsubscribe with xmem_dma_unsubscribe (every region is
 * unregistered).
 * Errors: those of xmem_dma_subscribe (EINVAL name, EEXIST name, ENOMEM),
 * and rte_extmem_register's for a region of the replay (EEXIST: DPDK knows
 * the range already), passed through.  Later, a region DPDK refuses makes
 * its xmem_heap_add_memory / xmem_register fail with that errno. */
struct xmem_dma_subscriber *xmem_dpdk_extmem_subscribe(const char *name);

/** Map every xmem region for DMA through DPDK's VFIO container container_fd
 * (RTE_VFIO_DEFAULT_CONTAINER_FD, -1, for the one DPDK's devices use):
 * rte_vfio_container_dma_map / _unmap, one call per IOVA run, with xmem's
 * batching and unmap checks (xmem_dma.h): a failing unmap fails the
 * removal with EIO and changes nothing.
 * Errors: those of xmem_dma_subscribe, and the replay's map failures:
 * rte_errno of rte_vfio_container_dma_map (ENODEV when DPDK has no VFIO
 * container, e.g. no /dev/vfio), passed through; nothing is left
 * subscribed. */
struct xmem_dma_subscriber *xmem_dpdk_vfio_subscribe(const char *name,
                                                     int container_fd);

/** The same through rte_dev_dma_map / rte_dev_dma_unmap for one device.
 * DPDK maps only memory it knows: subscribe xmem_dpdk_extmem_subscribe
 * first and unsubscribe it last (rte_dev_dma_map and _unmap of memory DPDK
 * does not know fail with EINVAL: the subscribe, an add or a removal then
 * fails).
 * EINVAL: dev NULL; a PCI device no DPDK driver has probed, from the first
 * region to map (DPDK's PCI bus maps only for a probed device: for another
 * one use xmem_dpdk_vfio_subscribe with the container holding its group);
 * otherwise as xmem_dpdk_vfio_subscribe (ENOTSUP: the device's bus cannot
 * map).  A vdev whose driver has no dma_map maps nothing and succeeds
 * (DPDK's vdev bus). */
struct xmem_dma_subscriber *xmem_dpdk_dev_dma_subscribe(const char *name,
                                                        struct rte_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_DPDK_H */
