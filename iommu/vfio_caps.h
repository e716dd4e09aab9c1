/* iommu/vfio_caps.h - walking a VFIO capability chain (the one shape that
 * VFIO_IOMMU_GET_INFO and VFIO_DEVICE_GET_REGION_INFO share), written
 * once: only offsets inside the buffer are followed, each capability must
 * lie after the previous one (so a chain cannot loop), and at most 64 are
 * read.  Used by iommu/vfio_type1.c and iommu/vfio_bar.c. */
#ifndef XMEM_IOMMU_VFIO_CAPS_H
#define XMEM_IOMMU_VFIO_CAPS_H

#include <errno.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <string.h>

#define XM_VFIO_MAX_CAPS 64

struct xm_vfio_caps {
    const unsigned char *b;
    size_t size;    /* of the buffer */
    size_t off;     /* of the next capability; 0: the end */
    size_t min_off; /* the next one may not start below this */
    int n;          /* capabilities read */
};

/* Start at the chain whose first capability is at `first` (0: none) of a
 * buffer whose fixed header is hdr_size bytes. */
static inline void xm_vfio_caps_init(struct xm_vfio_caps *it, const void *buf, size_t size,
                                     size_t first, size_t hdr_size)
{
    *it = (struct xm_vfio_caps){buf, size, first, hdr_size, 0};
}

/* 1 with *h the next capability's header and *at its offset; 0 at the end;
 * -1 with EPROTO when the chain is malformed. */
static inline int xm_vfio_caps_next(struct xm_vfio_caps *it, struct vfio_info_cap_header *h,
                                    size_t *at)
{
    if (it->off == 0)
        return 0;
    if (it->n >= XM_VFIO_MAX_CAPS || it->off < it->min_off || it->off > it->size ||
        it->size - it->off < sizeof(*h)) {
        errno = EPROTO;
        return -1;
    }
    memcpy(h, it->b + it->off, sizeof(*h));
    if (h->next != 0 && h->next <= it->off) {
        errno = EPROTO;
        return -1;
    }
    *at = it->off;
    it->min_off = it->off + sizeof(*h);
    it->off = h->next;
    it->n++;
    return 1;
}

#endif /* XMEM_IOMMU_VFIO_CAPS_H */
