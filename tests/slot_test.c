/* slot_test.c - the slot test of the free path (alloc/heap.h) is exact:
 * for every class size and every offset a span can have, "(off * c) mod
 * 2^33 < c" holds exactly for multiples of the size, and (off * c) >> 33 is
 * the object index.  Exhaustive: 35 classes x 2^18 offsets. */
#include <stdio.h>

#include "alloc/heap.h"
#include "tests/xt.h"

int main(void)
{
	unsigned long bad = 0, checked = 0;
	for (int cls = 0; cls < XMEM_NUM_CLASSES; cls++) {
		size_t d = xmem_class_size(cls);
		struct xm_span s = {.slot_c = (((uint64_t)1 << XM_SLOT_SHIFT) + d - 1) / d};
		for (uintptr_t off = 0; off < ((uintptr_t)1 << 18); off++) {
			bool want = off % d == 0;
			bool got = xm_span_slot_ok(&s, off);
			checked++;
			if (got != want ||
			    (want && (off * s.slot_c) >> XM_SLOT_SHIFT != off / d)) {
				if (bad++ < 5)
					fprintf(stderr, "class %d size %zu offset %lu: "
						"slot test says %d\n", cls, d,
						(unsigned long)off, got);
			}
		}
	}
	printf("%lu offsets checked, %lu wrong\n", checked, bad);
	if (!CHECK_EQ(bad, 0))
		return 1;
	printf("PASS slot_test\n");
	return xt_failures ? 1 : 0;
}
