/* mp_area.h - what the multi-process tests share besides the domain: a test
 * area in its own shm file (mapped anywhere in each process), holding a
 * single-producer/single-consumer ring of object pointers, a shadow byte per
 * 64-byte slot of the heap's file (1: handed out), and per-worker lists of
 * objects held, for the kill loop.  Only the tests touch it. */
#ifndef MP_AREA_H
#define MP_AREA_H

#include <stdatomic.h>
#include <stdint.h>

#define MP_FILE_LEN    ((size_t)64 << 20)   /* the heap's file */
#define MP_OBJ         256                  /* object size of the tests */
#define MP_RING        4096
#define MP_HELD        4096
#define MP_BURST       32

struct mp_area {
	uintptr_t file_va;                 /* the heap's file, every member */
	uintptr_t x_va;                    /* heap "x"'s file (mkheap) */
	_Atomic uint64_t ring_head, ring_tail;
	void *ring[MP_RING];
	_Atomic uint64_t overlaps;         /* shadow said "already out" */
	_Atomic uint64_t bad_data;         /* consumer saw a wrong pattern */
	/* Kill loop: the worker's held objects; n is updated after an alloc
	 * and before a free, so entries below n are live for sure and up to
	 * MP_BURST beyond it may or may not be. */
	_Atomic uint64_t held_n;
	void *held[MP_HELD + MP_BURST];
	_Atomic uint64_t rounds;           /* the worker's progress */
	/* ctlchurn members' own chunks (application memory outside the
	 * window, docs/multiprocess.md "Memory"): their objects' addresses
	 * are values the application put in the heap, which the invariant-7
	 * scan must not take for pointers into private memory. */
	_Atomic uint64_t churn_n;
	uintptr_t churn_va[256];
	/* And each one's thread descriptor (pthread_self(): glibc's struct
	 * pthread, which holds the robust-mutex list head), private to it:
	 * the scan reports a word that points there whether or not the
	 * scanning process has something mapped at that address. */
	uintptr_t churn_tcb[256];
	_Atomic uint8_t shadow[MP_FILE_LEN / 64];
};

#endif
