/** @file xmem.h
 * xmem.h - the public API of libxmem: regions, named heaps, allocation and
 * virt<->IOVA translation over memory the application brings itself.
 *
 * Conventions, for every function below:
 *  - A function returning int returns 0 (or a non-negative value) on success
 *    and -1 on failure with errno set to one of the codes listed for it.
 *  - A function returning a pointer returns NULL on failure with errno set.
 *  - A failed call leaves every heap and registration exactly as it was.
 *  - The library never reads or writes the memory it manages (the one
 *    exception is xmem_zalloc, which zeroes what it returns).  A range mapped
 *    PROT_NONE is a valid heap.
 *  - All functions are thread-safe.  Control-plane calls (create, destroy,
 *    add, remove, register, unregister) serialise on one internal mutex;
 *    lookups and translation never block.
 *
 * The library initialises itself on first use; no init call is needed.
 */
#ifndef XMEM_XMEM_H
#define XMEM_XMEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* NUMA: XMEM_NUMA_NODE_UNKNOWN, node-aware allocation (xmem_numa.h). */
#include <xmem/xmem_numa.h>
/* Heaps shared by several processes (xmem_shared.h). */
#include <xmem/xmem_shared.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is libxmem.so's ABI (docs/abi.md); the library
 * is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/** IOVA of a page that has none, and the result of a failed translation. */
#define XMEM_BAD_IOVA ((uint64_t)-1)

/** Heap names: 1 to XMEM_HEAP_NAME_MAX - 1 characters plus the NUL. */
#define XMEM_HEAP_NAME_MAX 32

/** How many heaps may exist at once.  Heap ids are 0 .. XMEM_MAX_HEAPS - 1. */
#define XMEM_MAX_HEAPS 128

/** Threads that get a per-lcore cache at once; more threads still work,
 * without a cache (lock-free, slower per object). */
#define XMEM_MAX_LCORES 128

/** Page sizes accepted by xmem_register / xmem_heap_add_memory: powers of two
 * from XMEM_PAGE_SIZE_MIN to XMEM_PAGE_SIZE_MAX. */
#define XMEM_PAGE_SIZE_MIN ((size_t)4096)
#define XMEM_PAGE_SIZE_MAX ((size_t)1 << 30) /**< 1 GiB */

/** Addresses handled by the page map: the x86-64 / arm64 48-bit user space. */
#define XMEM_VA_BITS 48

/** Allocation with align == 0 gets XMEM_ALIGN_MIN for sizes below
 * XMEM_ALIGN_DEFAULT bytes, XMEM_ALIGN_DEFAULT (a cache line) otherwise. */
#define XMEM_ALIGN_MIN     16
#define XMEM_ALIGN_DEFAULT 64 /**< a cache line */


/** Size classes: sizes up to XMEM_MAX_CLASS_SIZE are served from spans of
 * equal-sized objects; larger sizes are carved page-granular (4 KiB units). */
#define XMEM_NUM_CLASSES    35
#define XMEM_MAX_CLASS_SIZE ((size_t)32768) /**< the largest class */

struct xmem_heap; /* opaque */

/* ------------------------------------------------------------------------ */
/* Heaps                                                                    */
/* ------------------------------------------------------------------------ */

/** Create an empty heap.
 * EINVAL: name is NULL, empty, or XMEM_HEAP_NAME_MAX bytes or longer.
 * EEXIST: a heap of that name exists.
 * ENOSPC: XMEM_MAX_HEAPS heaps exist.
 * ENOMEM: no memory for the heap's metadata. */
struct xmem_heap *xmem_heap_create(const char *name);

/** Destroy a heap that has no memory added.
 * EINVAL: heap is NULL or not a live heap.
 * EBUSY:  memory is still added to it (remove it first). */
int xmem_heap_destroy(struct xmem_heap *heap);

/** Find a heap by name.  Never blocks (RCU read side).
 * EINVAL: name is NULL, empty or too long (as for xmem_heap_create).
 * ENOENT: no heap has that name. */
struct xmem_heap *xmem_heap_lookup(const char *name);

/** The heap's id: a small integer in [0, XMEM_MAX_HEAPS), stable for the
 * heap's lifetime.  Ids of destroyed heaps are reused.
 * EINVAL: heap is NULL or not a live heap (returns -1). */
int xmem_heap_id(const struct xmem_heap *heap);

/** The heap with that id.  Never blocks.
 * ENOENT: no live heap has that id (including ids out of range). */
struct xmem_heap *xmem_heap_from_id(int id);

/** The heap's name, or NULL with EINVAL for a NULL or dead heap. */
const char *xmem_heap_name(const struct xmem_heap *heap);

/** Add a chunk of memory to a heap.  The chunk becomes one region: it is
 * registered for translation and its pages are handed out by the heap.
 *
 * va, len     the chunk; both multiples of page_size.
 * iova        per-page IOVA table of n_pages == len / page_size entries, or
 *             NULL: every page then has XMEM_BAD_IOVA.  The table is copied.
 *             Each entry is XMEM_BAD_IOVA (no IOVA for that page) or a
 *             multiple of page_size whose page end (iova + page_size) does
 *             not pass 2^64: the rule of the DMA layer too, so any table
 *             the core accepts can be mapped.
 * n_pages     len / page_size.  With iova == NULL it may also be 0.
 * page_size   a power of two in [XMEM_PAGE_SIZE_MIN, XMEM_PAGE_SIZE_MAX].
 *
 * No allocation ever straddles a page boundary at which the IOVA is not
 * contiguous (iova[i + 1] != iova[i] + page_size), so each allocation is one
 * DMA segment.  The node of every page is read with move_pages (xmem_numa.h;
 * pages not yet touched are not faulted in).
 *
 * EINVAL: heap NULL or dead; va NULL; len 0; page_size not a power of two in
 *         range; va or len not a multiple of page_size; with a table, n_pages
 *         != len / page_size; without one, n_pages not 0 or len / page_size;
 *         the range leaves the 48-bit address space; a table entry that is
 *         not XMEM_BAD_IOVA and not a multiple of page_size, or whose page
 *         ends past 2^64.
 * EEXIST: the range overlaps memory already added or registered anywhere;
 *         or IOVA mode ASSIGN (xmem_dma.h) and the table's IOVAs overlap
 *         IOVAs the assigner handed out.
 * ENOMEM: no memory for the region's metadata.
 * Errors of the DMA layer (xmem_dma.h), which gives the region IOVAs and
 * maps it for every subscriber before it is published:
 * ENOSPC: IOVA mode ASSIGN and no free extent of the IOVA ranges is large
 *         enough; or a subscriber reports fewer free mapping entries than
 *         the region has IOVA runs.
 * EFAULT: IOVA mode PA and a page is not resident (EPERM: the physical
 *         addresses are not readable, as without CAP_SYS_ADMIN).
 * Other:  the errno of a subscriber's mem_event veto (EPERM if it set
 *         none) or of its failing dma_map, passed through; EXDEV from an
 *         attached VFIO container in NUMA strict mode when resident pages
 *         lie on another node than its devices (xmem_vfio_set_numa_strict). */
int xmem_heap_add_memory(struct xmem_heap *heap, void *va, size_t len,
                         const uint64_t *iova, size_t n_pages,
                         size_t page_size);

/** Take back exactly one chunk that xmem_heap_add_memory added to this heap.
 * Its device mappings are taken down first (xmem_dma.h), then it is
 * unpublished: afterwards no address in it is returned by an allocation or
 * translated, and no device maps it.
 * EINVAL: heap NULL or dead; va NULL; len 0.
 * ENOENT: (va, len) is not exactly a chunk of this heap.
 * EBUSY:  an allocation in the chunk is live; nothing changes.
 * ENOMEM: no memory for the smaller IOVA -> VA search table; nothing
 *         changes (the chunk stays added, in its place).
 * EIO:    a subscriber's dma_unmap failed or reported another size than
 *         asked.  Nothing changes: every mapping this call took down is
 *         mapped again, and the one that failed is put back as recorded
 *         (xmem_dma.h says how); the chunk stays added, allocatable,
 *         translated, and its IOVA extent reserved.  Counted (unmap_errors)
 *         and logged.  A retry succeeds once the device unmaps again. */
int xmem_heap_remove_memory(struct xmem_heap *heap, void *va, size_t len);

/* ------------------------------------------------------------------------ */
/* Translation-only registration (the counterpart of rte_extmem_register)   */
/* ------------------------------------------------------------------------ */

/** Register memory for translation only; no heap hands it out.  Arguments
 * and errors are those of xmem_heap_add_memory (without the heap). */
int xmem_register(void *va, size_t len, const uint64_t *iova, size_t n_pages,
                  size_t page_size);

/** Unregister memory registered with xmem_register: its device mappings are
 * taken down first, then it is no longer translated.
 * EINVAL: va NULL or len 0.
 * ENOENT: (va, len) is not exactly one xmem_register registration (memory
 *         added to a heap is removed with xmem_heap_remove_memory).
 * ENOMEM: no memory for the smaller IOVA -> VA search table; nothing
 *         changes.
 * EIO:    a subscriber's dma_unmap failed or reported another size; nothing
 *         changes, as for xmem_heap_remove_memory. */
int xmem_unregister(void *va, size_t len);

/* ------------------------------------------------------------------------ */
/* Allocation                                                               */
/* ------------------------------------------------------------------------ */

/** Allocate size bytes aligned to align from heap.  align 0 means the default
 * (see XMEM_ALIGN_DEFAULT); otherwise a power of two, any size: the address
 * is aligned to it, and so is the IOVA when the region's IOVAs are aligned
 * like its addresses (IOVA = VA; or a page-aligned table and align up to the
 * page size).  Alignments above 4 KiB are served page-granular, as large
 * blocks are.  The block is IOVA-contiguous.
 * EINVAL: heap NULL or dead; size 0; align not 0 and not a power of two.
 * ENOMEM: no free run is large enough (with that alignment and IOVA
 *         contiguity; an alignment no run of the heap meets is ENOMEM too),
 *         or no memory for metadata. */
void *xmem_alloc(struct xmem_heap *heap, size_t size, size_t align);

/** xmem_alloc, then zero the block.  The only function that writes to
 * managed memory; never use it on a heap over PROT_NONE or device memory. */
void *xmem_zalloc(struct xmem_heap *heap, size_t size, size_t align);

/** Free a block from any heap, from any thread.  NULL is a no-op.  A pointer
 * that is not the start of an object is reported, in every mode: the call
 * sets errno to EINVAL, counts it (xmem_invalid_free_count), logs one line
 * through the log function, and leaves every heap untouched.  That covers
 * pointers outside every heap (stack, malloc, translation-only memory,
 * removed memory), into a part of a heap that holds no block, interior
 * pointers of any block, slack past the last object of a span, and the
 * middle of a large block.  A double free of a real block is reported at
 * once in checked mode (xmem_set_checked).  In the default mode it may go
 * unnoticed at first (the block may be handed out twice, as in mimalloc's
 * default mode), but never crashes or corrupts the library: when the
 * duplicate reaches its span again (xmem_heap_trim, removal, the checked
 * switch, reclaim on ENOMEM) it is reported the same way and dropped. */
void xmem_free(void *ptr);

/** Allocate n blocks of size bytes (default alignment) from heap, all or
 * nothing: on failure no block is allocated and objs is not meaningful.
 * Returns 0 on success.
 * EINVAL: heap NULL or dead; objs NULL; size 0; n 0.
 * ENOMEM: fewer than n blocks could be allocated. */
int xmem_alloc_bulk(struct xmem_heap *heap, size_t size, void **objs,
                    unsigned n);

/** Free n blocks; each is handled as by xmem_free (NULL entries skipped,
 * invalid ones reported and skipped).  objs NULL with n > 0 sets EINVAL. */
void xmem_free_bulk(void *const *objs, unsigned n);

/** Usable size of a live block (at least what was asked for).
 * Returns 0 with errno EINVAL for NULL or a pointer that is not the start of
 * a block: outside every heap, into a part of a heap that holds no block, an
 * interior pointer of any block, a large block already freed.  A small
 * block (up to XMEM_MAX_CLASS_SIZE) already freed is reported in checked
 * mode only: outside it, a freed block that still sits in an lcore cache
 * reports its size. */
size_t xmem_usable_size(const void *ptr);

/** Number of invalid frees reported since the library started. */
uint64_t xmem_invalid_free_count(void);

/* ------------------------------------------------------------------------ */
/* Threads (lcores), caches and checked mode                                */
/* ------------------------------------------------------------------------ */

/** Give the calling thread an lcore id now (threads also get one on their
 * first allocator call).  Each lcore has its own cache per heap and size
 * class, used without locks or atomics.  Returns the id, in
 * [0, XMEM_MAX_LCORES); the same id if the thread already has one.
 * ENOSPC: every id is taken; the thread keeps working without a cache
 * (lock-free, slower per object). */
int xmem_thread_register(void);

/** Give the calling thread the lcore id `id` (for instance DPDK's
 * rte_lcore_id(), so that both libraries' per-lcore caches line up).  A
 * thread that had another id gives it back first (its caches flushed).
 * Returns id.
 * EINVAL: id >= XMEM_MAX_LCORES.
 * EBUSY:  another live thread holds that id; the calling thread keeps the
 *         id it had. */
int xmem_thread_register_id(unsigned id);

/** Flush the calling thread's caches and give its id back for reuse (this
 * also happens when a thread exits).  ENOENT: the thread has no id. */
int xmem_thread_unregister(void);

/** The calling thread's lcore id, or -1 when it has none. */
int xmem_lcore_id(void);

/** Give the objects held in every lcore's cache and in the heap's depot back
 * to their spans, one cache at a time, and the fully free spans back to the
 * heap's regions.  Safe while other threads allocate: an lcore whose cache
 * is being emptied is not made to wait (it bypasses its cache for that
 * call).  The cost is one membarrier(2) per cache plus the copying.  The
 * cache of a thread stalled inside an allocator call for more than 2 ms is
 * left alone.  xmem_heap_remove_memory drains the removed chunk's objects
 * itself.
 * EINVAL: heap NULL or dead. */
int xmem_heap_trim(struct xmem_heap *heap);

/** Checked mode, off by default (or on from the start with the environment
 * variable XMEM_CHECKED=1).  While it is on, calls bypass the lcore caches
 * (still lock-free for small blocks): frees go straight back into span
 * bitmaps, so xmem_free / xmem_free_bulk report double frees at once, and
 * xmem_usable_size reports freed small blocks.  Switching it on first drains
 * every cache.  Returns the previous setting. */
int xmem_set_checked(int on);
/** Whether checked mode is on: 1 or 0 (never fails). */
int xmem_checked(void);

/* ------------------------------------------------------------------------ */
/* Translation                                                              */
/* ------------------------------------------------------------------------ */

/** The translation map, read by the inline xmem_virt2iova below: one word
 * per 2 MiB block of address space, indexed by va >> 21 (bits 47..21):
 *  - 0 or 2: no IOVA (nothing registered there, or no IOVA given);
 *  - odd: the block is IOVA-linear, va's IOVA is va + (word - 1) (the word
 *    holds the block's IOVA minus its address, plus 1);
 *  - otherwise: a pointer to 512 IOVAs, one per 4 KiB unit (bits 20..12), where
 *    values of XMEM_BAD_IOVA - 1 and above mean no IOVA.
 * The library reserves the map's address space at load (before main, before
 * any constructor of the program) and never moves it; only the pages holding
 * words of registered blocks take memory.  Written by the library only
 * (release stores under its control mutex); unit arrays are never freed.
 * This layout is part of the ABI (docs/abi.md): a program compiled against
 * this header reads it directly. */
extern uint64_t *xmem_iova_map;

#if defined(XMEM_NO_INLINE)
/** IOVA of any byte of registered or added memory (out of line; the inline
 * version below is the same function). */
uint64_t xmem_virt2iova(const void *va);
#else
/** IOVA of any byte of registered or added memory: one load for memory of
 * 2 MiB or 1 GiB pages or IOVA-linear 4 KiB pages, two for 4 KiB pages in any
 * IOVA order; no lock, no RCU section, no call: inline, as translation sits
 * in every descriptor write of a poll loop.  XMEM_BAD_IOVA when the address
 * is not registered or its page has no IOVA.  Translating an address while
 * its own region is being removed is a caller race (as with any use of
 * memory being freed).  The library also exports it as a function (for dlsym
 * and other languages); define XMEM_NO_INLINE to call that instead. */
static inline uint64_t xmem_virt2iova(const void *va)
{
	uintptr_t a = (uintptr_t)va;
	/* A compare, not a shift: it fuses with its branch. */
	if (__builtin_expect(a >= ((uintptr_t)1 << XMEM_VA_BITS), 0))
		return XMEM_BAD_IOVA;
	/* Acquire, against the library's release stores: a reader that sees a
	 * unit-array pointer sees the array's entries (a plain load on
	 * x86-64). */
	uint64_t w = __atomic_load_n(&xmem_iova_map[a >> 21], __ATOMIC_ACQUIRE);
	if (__builtin_expect(w & 1, 1))
		return a + (w - 1);
	if (w <= 2)
		return XMEM_BAD_IOVA;
	uint64_t io = __atomic_load_n(&((const uint64_t *)(uintptr_t)w)[(a >> 12) & 511],
				      __ATOMIC_RELAXED);
	return io >= XMEM_BAD_IOVA - 1 ? XMEM_BAD_IOVA : io + (a & 4095);
}
#endif

/** Virtual address of an IOVA, searched in an RCU-published sorted table of
 * IOVA runs.  Lock-free.  NULL (errno ENOENT) when no region maps it.  When
 * the IOVA ranges of several regions hold it, the address in the one whose
 * run starts nearest below it. */
void *xmem_iova2virt(uint64_t iova);

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

/** Figures of one size class of a heap (xmem_heap_stats). */
struct xmem_class_stats {
	size_t   size;        /**< object size of the class */
	uint64_t live;        /**< objects allocated and not freed */
	uint64_t cached;      /**< free objects held in lcore caches and the
	                         depot (not in their spans) */
	uint64_t spans;       /**< spans carved for the class */
	uint64_t span_bytes;  /**< bytes held by those spans */
};

/** Figures of one heap, filled by xmem_heap_stats. */
struct xmem_heap_stats {
	char     name[XMEM_HEAP_NAME_MAX];
	int      id;
	int      numa_node;         /* xmem_heap_numa_node: the node of all
	                               resident pages, XMEM_NUMA_NODE_UNKNOWN
	                               or XMEM_NUMA_NODE_MIXED */
	size_t   n_regions;         /* chunks added */
	size_t   total_bytes;       /* sum of chunk lengths */
	size_t   alloc_bytes;       /* usable bytes of live blocks */
	size_t   free_bytes;        /* total_bytes - alloc_bytes */
	size_t   largest_free;      /* largest run of free units, IOVA-contiguous
	                               (4 KiB granular): what one large
	                               allocation could get now; fully free
	                               spans count once xmem_heap_trim gave them
	                               back */
	uint64_t alloc_count;       /**< live blocks */
	uint64_t large_count;       /**< live blocks above XMEM_MAX_CLASS_SIZE */
	uint64_t cached_count;      /**< free blocks held in lcore caches and the
	                               depot, ready for the fast path */
	size_t   cached_bytes;      /**< their usable bytes */
	size_t   metadata_bytes;    /**< metadata the heap and its regions hold */
	struct xmem_class_stats classes[XMEM_NUM_CLASSES];
	/* Bytes of the chunks resident on each node, and those whose node is
	 * unknown (not resident, or a node >= XMEM_NUMA_MAX_NODES), as read
	 * with move_pages over every page when each chunk was added or at the
	 * last xmem_heap_numa_refresh.  They add up to total_bytes. */
	size_t   numa_bytes[XMEM_NUMA_MAX_NODES];
	size_t   numa_unknown_bytes;
};

/** Fill *out with the heap's figures.  It drains nothing and takes no lock
 * that allocation or free takes: free objects held in lcore caches and the
 * depot are reported as cached (cached_count, classes[].cached); spans they
 * keep carved stay in classes[].spans until xmem_heap_trim.  While other
 * threads allocate, the figures are a close, not atomic, snapshot.  After
 * xmem_heap_trim with no other thread inside the allocator, every figure of
 * a heap with nothing allocated equals that of the fresh heap.
 * EINVAL: heap or out NULL, or heap dead. */
int xmem_heap_stats(const struct xmem_heap *heap, struct xmem_heap_stats *out);

/** Print every heap, its regions and its non-empty classes, readable by a
 * person.  f NULL means stdout.
 * EIO: writing to f failed. */
int xmem_heap_dump(FILE *f);

/** The class index that serves (size, align == 0), or -1 with EINVAL when
 * size is 0 or above XMEM_MAX_CLASS_SIZE; and the object size of a class
 * (0 with EINVAL for an index out of range). */
int    xmem_size_class(size_t size);
/** The object size of class cls; 0 with EINVAL for an index out of range. */
size_t xmem_class_size(int cls);

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                              */
/* ------------------------------------------------------------------------ */

/** A log hook: gets each report as one line, without a newline. */
typedef void (*xmem_log_fn)(const char *line);

/** Log hook for reports: invalid frees, and one line for every failed
 * control-plane call naming the argument or the cause (heap create, add and
 * remove memory, register, unregister, subscribe, VFIO calls; for EEXIST the
 * heap or registration the range overlaps).  Allocation and free log
 * nothing else.  NULL restores the default, which writes the line to
 * stderr. */
void xmem_set_log(xmem_log_fn fn);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* XMEM_XMEM_H */
