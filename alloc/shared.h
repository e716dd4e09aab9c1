/* shared.h - the domain (heaps shared by processes) as the rest of the core
 * sees it: whether this process is a member, the metadata arena, the
 * cross-process read sections and the layout of the domain file.
 * docs/multiprocess.md has the design. */
#ifndef XM_SHARED_H
#define XM_SHARED_H

#include <pthread.h>
#include <sys/types.h>

#include "lcore.h"
#include "xm_common.h"

#define XM_DOM_MAGIC   0x316d6f646d656d78ull   /* "xmemdom1" */
/* The file layout's version, in the top byte of xm_domain.version (2: the
 * translation map after the window's part; 3: an lcore's row of caches
 * first, and its free guess with the class array). */
#define XM_DOM_LAYOUT  3u
#define XM_DOM_READERS 1024

/* A member slot.  state: 0 free, 1 being claimed or reaped, 2 live;
 * claimed and freed with CAS, published with release.  tag: what the
 * member's lcore ids and reader slots are owned by, unique per join (a
 * slot is reused, a tag never), so a slot can be freed before what its
 * member held is reclaimed: those become orphans that the next reap finds
 * (an owner tag no member has). */
struct xm_member {
	_Atomic uint32_t state;
	int32_t  pid;
	uint64_t start_time;   /* /proc/<pid>/stat field 22, against pid reuse */
	_Atomic uint32_t tag;
	/* Objects it allocated and freed: through lcores it gave back, and
	 * on paths without a cache (relaxed, statistics). */
	_Atomic uint64_t allocs, frees;
	/* A reaped member's pid, kept with its counts until the slot is
	 * claimed again (member stats). */
	int32_t  reaped_pid;
};

/* A reader slot of the cross-process read sections: owner is a member tag
 * (0: free), epoch the domain epoch the reader entered with (0: outside). */
struct xm_reader {
	_Atomic uint32_t owner;
	_Atomic uint64_t epoch;
} __attribute__((aligned(64)));

/* A file mapped into every member (xmem_heap_add_file); written under the
 * control mutex, live set last with release. */
struct xm_file_rec {
	_Atomic uint32_t live;
	char      path[256];
	off_t     offset;
	size_t    len;
	uintptr_t va;
};

/* The domain file's header, at the window's base. */
struct xm_domain {
	_Atomic uint64_t magic;        /* written last by the creator, release */
	uint32_t version;              /* XM_DOM_LAYOUT << 24 | sizeof(struct
	                                  xm_state), as a check */
	uint32_t fenced;               /* 1: owners use fenced cache sections */
	uintptr_t base;
	size_t   window, file_size;
	size_t   state_off, root_off, map_off, arena_off;
	/* Bytes of the file handed out; one fetch_add (or a CAS giving back
	 * the last piece) each, relaxed: the pieces are disjoint. */
	_Atomic size_t arena_cur;
	size_t   files_cur;            /* window bytes of files, control mutex */
	/* Read sections: the epoch a writer bumps (seq_cst) and waits past. */
	_Atomic uint64_t epoch;
	/* Incremented (release) each time a file record changes. */
	_Atomic uint64_t files_gen;
	_Atomic uint64_t reaped_members, reaped_lcores, reaped_busy;
	/* Member tags are handed out by one fetch_add each. */
	_Atomic uint32_t next_tag;
	/* Dead members whose slot a joiner freed (all slots taken) and that
	 * no reap has counted yet. */
	_Atomic uint64_t unreaped;
	struct xm_member   members[XMEM_SHARED_MEMBERS];
	struct xm_file_rec files[XMEM_SHARED_FILES];
	struct xm_reader   readers[XM_DOM_READERS];
};

/* The domain header, or NULL when this process is not a member.  Set once
 * at create/attach, before the process uses heaps (the calls' contract). */
extern struct xm_domain *xm_dom;

/* len bytes (a multiple of 4096) of the domain file, zero-filled, page
 * aligned; NULL when the file is full. */
void *xm_arena_take(size_t len);
/* Give back a piece just taken, if nothing was taken after it (else it is
 * lost); zero-filled again by the caller first. */
void  xm_arena_give(void *p, size_t len);

/* Cross-process read sections (shared_rcu.c), inside liburcu's own. */
void xm_dom_read_lock(void);
void xm_dom_read_unlock(void);
void xm_dom_synchronize(void);
void xm_dom_reader_exit(void);       /* thread exit: give the slot back */
void xm_dom_readers_reap(uint32_t tag);

/* Member liveness: its process exists and is the one that joined. */
bool xm_member_alive(const struct xm_member *m);
/* The member slot holding tag (not free), or NULL. */
struct xm_member *xm_member_of_tag(uint32_t tag);

/* Per-member counts of objects: an lcore claimed (its totals become the
 * base) and given back (what it did since goes to its holder); objects
 * allocated or freed by this process without a cache. */
void xm_member_lcore_got(struct xm_lcore *l);
void xm_member_lcore_put(struct xm_lcore *l);
void xm_member_count(uint64_t allocs, uint64_t frees);

/* Reap dead members (xmem_shared_reap), control mutex held: how many. */
int  xm_dom_reap_locked(void);

/* Map the files recorded since this process last looked; -1 with EIO
 * when one failed.  Control mutex held or not (reads records only). */
int  xm_dom_sync_files(void);

#endif
