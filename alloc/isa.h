/* isa.h - the instruction sets the fast paths are compiled for, and the one
 * this CPU gets.  alloc.c and free.c build their hot loops once per set and
 * pick an instance at load time with xm_isa_pick, so both always run the
 * same set: free's vector loads of the caller's array are never wider than
 * the stores with which xmem_alloc_bulk filled it (with AVX2 and AVX-512,
 * 32 bytes into a 32-byte aligned array and 16 into any other; 16 with
 * SSE2).  A load wider than the store that wrote its
 * bytes cannot take them from the store buffer and waits until the stores
 * reach the cache; a loop that allocates and frees at once then pays that
 * wait on every burst. */
#ifndef XM_ISA_H
#define XM_ISA_H

enum xm_isa { XM_SSE2, XM_AVX2, XM_AVX512 };

/* From CPUID, capped by the environment variable XMEM_ISA (sse2 or avx2),
 * with which the tests run the loops of the narrower sets too.  Called by
 * constructors, before main. */
enum xm_isa xm_isa_pick(void);

#endif
