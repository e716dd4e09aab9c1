/** @file xmem_shared.h
 * xmem_shared.h - heaps shared by several processes (a domain).  Included
 * by xmem.h; docs/multiprocess.md explains the model.
 *
 * A domain is a file, /dev/shm/xmem.NAME, that holds the library's whole
 * heap state (heap table, lcore table, depots, spans, region descriptors,
 * page map) and a metadata arena.  Every member maps it at one fixed
 * address, inside an address window the library reserves when it is loaded
 * (PROT_NONE, no memory), so pointers in the metadata mean the same in every
 * member.  After xmem_shared_create or xmem_shared_attach every heap call
 * of the process works on the domain: a heap created, memory added or
 * removed in one member is seen by the others, an object allocated in one
 * member may be freed in another, and lcore ids are unique across members.
 *
 * Conventions are those of xmem.h: -1 or NULL on failure with errno set to
 * one of the codes listed for the function; a failed call changes nothing.
 *
 * Environment, read when the library is loaded:
 *  - XMEM_SHARED_BASE: the window's address (hex or decimal, a multiple of
 *    2 MiB), default 0x7e9000000000;
 *  - XMEM_SHARED_SIZE: its size in bytes (a multiple of 2 MiB, at least
 *    256 MiB), default 64 GiB.  The first sixteenth holds the domain file
 *    (metadata, committed only where touched), the rest is for files added
 *    with xmem_heap_add_file.
 * Every member of a domain must use the same values. */
#ifndef XMEM_XMEM_SHARED_H
#define XMEM_XMEM_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

struct xmem_heap;

/** Longest domain name, in bytes, without the NUL.  Names are made of
 * letters, digits, '_', '-' and '.', and do not start with '.'. */
#define XMEM_SHARED_NAME_MAX 64
/** Members a domain holds at once (member ids 0 .. XMEM_SHARED_MEMBERS-1). */
#define XMEM_SHARED_MEMBERS 64
/** Files xmem_heap_add_file can record in one domain. */
#define XMEM_SHARED_FILES 64

/** Create domain `name` and make this process its first member.  Must come
 * before this process creates a heap, registers memory or gets an lcore id
 * (heaps are then all shared), and before other threads use the library.
 * EINVAL: a bad name.  EEXIST: the domain exists and has a member that is
 * alive (a domain file whose members are all gone, left by an earlier run,
 * is replaced).  EBUSY: this process already uses the library
 * (heaps, registrations or lcore ids) or is already a member.
 * EADDRINUSE: the window is taken (see xmem_shared_attach).  ENOMEM: no
 * memory for the domain file.  ENOTSUP: the kernel lacks
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) and memfd/tmpfs support. */
int xmem_shared_create(const char *name);

/** Join domain `name`: every shared heap becomes visible to
 * xmem_heap_lookup, memory added with xmem_heap_add_file is mapped at the
 * same address as in the creator, and translations work.  The same
 * preconditions as xmem_shared_create (checked once the domain is found).
 * ENOENT: no such domain (or its creator is still initialising it after
 * 1 s).  EADDRINUSE: something else
 * is mapped in this process's window: set XMEM_SHARED_BASE (the same in
 * every member) to a free range, or load libxmem earlier (its constructor
 * reserves the window before the program maps anything).  EINVAL: a bad
 * name, or a domain made with another window or library version.  ENOSPC:
 * XMEM_SHARED_MEMBERS members are attached already.  EBUSY, ENOTSUP: as
 * for xmem_shared_create. */
int xmem_shared_attach(const char *name);

/** Leave the domain: every lcore id of this process is given back with the
 * objects its caches hold.  Other threads of the process must have stopped
 * using the library; afterwards the process may only exit (the mappings
 * stay, so a stray pointer does not fault).  ENOENT: not a member. */
int xmem_shared_detach(void);

/** Reclaim what dead members held: members whose process is gone (also a
 * pid reused by another process) give back their lcore ids and the
 * objects their caches held; objects they had allocated stay allocated
 * (the application owns them).  Returns how many members were reaped, or
 * -1 with ENOENT when this process is not a member. */
int xmem_shared_reap(void);

/** Remove the domain's file name (members keep their mappings; the memory
 * goes when the last one exits).  ENOENT: no such domain.  EINVAL: a bad
 * name. */
int xmem_shared_unlink(const char *name);

/** Map the files that other members added with xmem_heap_add_file since
 * this member last looked.  Every control call (create, add, remove,
 * lookup, stats, reap) does it too; a member that receives a buffer of a
 * file added since its last call calls this first.  ENOENT: not a member.
 * EIO: a file could not be opened or mapped (the error is logged; the
 * others are mapped). */
int xmem_shared_sync(void);

/** This process's member id, or -1 (not a member). */
int xmem_shared_member_id(void);

/** One member, as xmem_shared_member_stats reports it. */
struct xmem_shared_member_stats {
	int      pid;          /**< 0: the slot is free */
	int      alive;        /**< 1 when its process exists */
	unsigned lcores;       /**< lcore ids it holds */
	/** Objects it allocated and freed since it joined, all heaps (its
	 * lcores' counts since it got them, and its calls without a cache).
	 * For a member that frees only what it allocated, allocs - frees is
	 * what it holds; in a pipeline one member allocates and another
	 * frees.  A reaped member's slot keeps pid and these (alive 0,
	 * lcores 0) until another member joins into it. */
	uint64_t allocs, frees;
};

/** The domain as a whole. */
struct xmem_shared_stats {
	unsigned members;         /**< attached now */
	uint64_t reaped_members;  /**< members reaped so far */
	uint64_t reaped_lcores;   /**< lcore ids reclaimed from them */
	/** Caches whose owner died inside an alloc or free of the cache: the
	 * burst it was moving (at most 64 objects) is lost to the heap and
	 * counted as cached.  Nothing is ever handed out twice. */
	uint64_t reaped_busy_caches;
	size_t   meta_bytes;      /**< of the domain file in use */
	size_t   meta_capacity;   /**< domain file size */
};

/** Member `member` (0 .. XMEM_SHARED_MEMBERS-1).  EINVAL: a bad member or
 * NULL out.  ENOENT: this process is not a member.  A free slot reads as
 * all zero, but for a reaped member's figures (above). */
int xmem_shared_member_stats(int member, struct xmem_shared_member_stats *out);

/** The domain's figures.  EINVAL: NULL out.  ENOENT: not a member. */
int xmem_shared_stats(struct xmem_shared_stats *out);

/** Map `len` bytes of the file at `path` (hugetlbfs or tmpfs, e.g.
 * /dev/hugepages/x or /dev/shm/x) from `offset`, shared, at one address in
 * every member, and add it to `heap` as xmem_heap_add_memory does (the
 * same iova, n_pages and page_size rules).  Returns that address.  Outside
 * a domain the file is mapped at an address the kernel picks.  Other
 * members map it at attach or at their next control call
 * (xmem_shared_sync).  EINVAL: NULL heap or path, len 0, a bad offset or
 * the xmem_heap_add_memory rules.  ENOENT/EACCES: the file cannot be
 * opened (errno of open).  ENOSPC: the window's file area or the file
 * table (XMEM_SHARED_FILES) is full.  ENOMEM: mmap failed.  EEXIST, EIO:
 * as xmem_heap_add_memory. */
void *xmem_heap_add_file(struct xmem_heap *heap, const char *path, off_t offset,
			 size_t len, const uint64_t *iova, size_t n_pages,
			 size_t page_size);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
