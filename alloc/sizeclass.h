/* sizeclass.h - the size classes and the size -> class table.
 *
 * Classes: 16, 32, 48 (16-byte aligned), then multiples of 64 up to 512,
 * then four steps per doubling up to XMEM_MAX_CLASS_SIZE.  Every class of 64
 * bytes or more is a multiple of 64, which gives the default cache-line
 * alignment for free: spans start on a 4 KiB unit. */
#ifndef XM_SIZECLASS_H
#define XM_SIZECLASS_H

#include "xm_common.h"

extern uint32_t xm_class_bytes[XMEM_NUM_CLASSES];
/* Span sizes in units, powers of two up to 64 (one word of a region's
 * free-unit map, carve.c): the preferred size, and the smallest that holds
 * one object, used when IOVA runs are short. */
extern uint16_t xm_class_units[XMEM_NUM_CLASSES];
extern uint16_t xm_class_min_units[XMEM_NUM_CLASSES];
extern uint16_t xm_class_mag[XMEM_NUM_CLASSES];     /* objects per magazine */
extern uint8_t  xm_class_table[(XMEM_MAX_CLASS_SIZE >> 4) + 1];

/* Class for (size, align == 0); size in [1, XMEM_MAX_CLASS_SIZE]. */
static inline int xm_class_of(size_t size)
{
	return xm_class_table[(size + 15) >> 4];
}

/* Class for a size and a power-of-two alignment, or -1 when the block must
 * come from the page-granular path. */
int xm_class_for(size_t size, size_t align);

#endif
