/* sizeclass.c - builds the class tables once, before main. */
#include <errno.h>

#include "depot.h"
#include "sizeclass.h"

uint32_t xm_class_bytes[XMEM_NUM_CLASSES];
uint16_t xm_class_units[XMEM_NUM_CLASSES];
uint16_t xm_class_min_units[XMEM_NUM_CLASSES];
uint16_t xm_class_mag[XMEM_NUM_CLASSES];
uint8_t  xm_class_table[(XMEM_MAX_CLASS_SIZE >> 4) + 1];

/* Spans are at least 64 KiB and hold at least 128 objects, up to the
 * 64-unit (256 KiB) limit (so classes of 2 KiB and up get 256 KiB spans):
 * few carves per burst, a span's bitmap stays a few words, and the span
 * descriptor (128 bytes) is at most 0.05 % of the memory of classes from
 * 2 KiB (0.1 % from 640 B), which keeps a heap's metadata under 0.5 % with
 * 2 KiB objects even over 4 KiB pages (an IOVA and a page-map entry per
 * page are 0.4 % already). */
#define XM_SPAN_MIN_UNITS 16
#define XM_SPAN_MIN_OBJS  128
#define XM_SPAN_MAX_UNITS 64

static uint16_t xm_pow2_units(size_t u)
{
	size_t p = 1;
	while (p < u)
		p *= 2;
	return (uint16_t)p;
}

__attribute__((constructor)) static void xm_sizeclass_init(void)
{
	int n = 0;
	for (uint32_t s = 16; s <= 48; s += 16)
		xm_class_bytes[n++] = s;
	for (uint32_t s = 64; s <= 512; s += 64)
		xm_class_bytes[n++] = s;
	for (uint32_t base = 512; base < XMEM_MAX_CLASS_SIZE; base *= 2)
		for (uint32_t k = 5; k <= 8; k++)
			xm_class_bytes[n++] = base / 4 * k;
	/* n == XMEM_NUM_CLASSES here; the header's constant must match. */
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		size_t u = xm_div_ceil((size_t)xm_class_bytes[c] * XM_SPAN_MIN_OBJS,
				       XM_UNIT);
		u = xm_pow2_units(u < XM_SPAN_MIN_UNITS ? XM_SPAN_MIN_UNITS : u);
		xm_class_units[c] = (uint16_t)(u > XM_SPAN_MAX_UNITS ? XM_SPAN_MAX_UNITS : u);
		xm_class_min_units[c] = xm_pow2_units(xm_div_ceil(xm_class_bytes[c], XM_UNIT));
		uint32_t m = XM_MAG_BYTES / xm_class_bytes[c];
		xm_class_mag[c] = (uint16_t)(m > XM_MAG_MAX ? XM_MAG_MAX :
					     m < XM_MAG_MIN ? XM_MAG_MIN : m);
	}
	int c = 0;
	for (size_t i = 0; i <= (XMEM_MAX_CLASS_SIZE >> 4); i++) {
		while ((size_t)xm_class_bytes[c] < i * 16)
			c++;
		xm_class_table[i] = (uint8_t)c;
	}
}

_Static_assert(3 + 8 + 4 * 6 == XMEM_NUM_CLASSES, "class count");

int xm_class_for(size_t size, size_t align)
{
	if (size > XMEM_MAX_CLASS_SIZE || align > XM_UNIT)
		return -1;
	if (align == 0)
		return xm_class_of(size);
	int c = xm_class_of(size < align ? align : size);
	while (c < XMEM_NUM_CLASSES && xm_class_bytes[c] % align)
		c++;
	return c < XMEM_NUM_CLASSES ? c : -1;
}

int xmem_size_class(size_t size)
{
	if (size == 0 || size > XMEM_MAX_CLASS_SIZE) {
		errno = EINVAL;
		return -1;
	}
	return xm_class_of(size);
}

size_t xmem_class_size(int cls)
{
	if (cls < 0 || cls >= XMEM_NUM_CLASSES) {
		errno = EINVAL;
		return 0;
	}
	return xm_class_bytes[cls];
}
