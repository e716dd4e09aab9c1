/* isa.c - which instruction set the fast paths use on this CPU (isa.h). */
#include <stdlib.h>
#include <string.h>

#include "isa.h"

enum xm_isa xm_isa_pick(void)
{
	__builtin_cpu_init();
	const char *cap = getenv("XMEM_ISA");   /* sse2 | avx2: a ceiling */
	if (__builtin_cpu_supports("avx512f") && !cap)
		return XM_AVX512;
	if (__builtin_cpu_supports("avx2") && !(cap && !strcmp(cap, "sse2")))
		return XM_AVX2;
	return XM_SSE2;
}
