/* tests/iommu/bad_input_test.c - every public function of xmem_dma.h and the
 * attach part of xmem_vfio.h with bad arguments: -1 or NULL and the errno
 * its header documents, never a crash; stale handles included. */
#include "it.h"

#include <xmem/xmem_vfio.h>

static int ev(void *c, enum xmem_mem_event e, const struct xmem_dma_region_info *r)
{
	(void)c, (void)e, (void)r;
	return 0;
}
static int mp(void *c, void *va, uint64_t iova, uint64_t len)
{
	(void)c, (void)va, (void)iova, (void)len;
	return 0;
}
static int ump(void *c, void *va, uint64_t iova, uint64_t len, uint64_t *d)
{
	(void)c, (void)va, (void)iova;
	*d = len;
	return 0;
}
static int walk_fn(const char *s, const struct xmem_dma_mapping *m, void *a)
{
	(void)s, (void)m, (void)a;
	return 0;
}

int main(void)
{
	CHECK_ERR(xmem_dma_set_iova_mode((enum xmem_iova_mode)7), EINVAL);
	CHECK_ERR(xmem_dma_set_iova_mode((enum xmem_iova_mode)-1), EINVAL);
	CHECK(xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_TABLE);
	struct xmem_iova_range r[2] = {{0x1000, 0x1fff}, {0x1800, 0x3fff}};
	CHECK_ERR(xmem_dma_set_iova_ranges(NULL, 1), EINVAL);
	CHECK_ERR(xmem_dma_set_iova_ranges(r, 0), EINVAL);
	CHECK_ERR(xmem_dma_set_iova_ranges(r, 65), EINVAL);
	CHECK_ERR(xmem_dma_set_iova_ranges(r, 2), EINVAL); /* overlap */
	struct xmem_iova_range inv = {0x2000, 0x1000};
	CHECK_ERR(xmem_dma_set_iova_ranges(&inv, 1), EINVAL);

	struct xmem_dma_ops none = {0}, map_only = {.dma_map = mp}, unmap_only = {.dma_unmap = ump};
	struct xmem_dma_ops good = {.mem_event = ev, .dma_map = mp, .dma_unmap = ump};
	CHECK_ERR(xmem_dma_subscribe(NULL, &good, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("", &good, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("0123456789012345678901234567890123", &good, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("x", NULL, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("x", &none, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("x", &map_only, NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscribe("x", &unmap_only, NULL), EINVAL);
	CHECK_ERR(xmem_mem_event_register("x", NULL, NULL), EINVAL);
	struct xmem_dma_subscriber *s = xmem_dma_subscribe("x", &good, NULL);
	CHECK(s != NULL);
	CHECK_ERR(xmem_dma_subscribe("x", &good, NULL), EEXIST);
	CHECK_ERR(xmem_mem_event_register("x", ev, NULL), EEXIST);
	CHECK_ERR(xmem_dma_subscriber_lookup(NULL), EINVAL);
	CHECK_ERR(xmem_dma_subscriber_lookup(""), EINVAL);
	CHECK_ERR(xmem_dma_subscriber_lookup("nope"), ENOENT);
	struct xmem_dma_stats st;
	CHECK_ERR(xmem_dma_get_stats(NULL, &st), EINVAL);
	CHECK_ERR(xmem_dma_get_stats(s, NULL), EINVAL);
	CHECK_ERR(xmem_dma_mapping_walk(s, NULL, NULL), EINVAL);
	CHECK(xmem_dma_mapping_walk(s, walk_fn, NULL) == 0);
	CHECK_ERR(xmem_dma_unsubscribe(NULL), EINVAL);
	CHECK(xmem_dma_unsubscribe(s) == 0);
	/* A stale handle is detected, never dereferenced. */
	CHECK_ERR(xmem_dma_unsubscribe(s), EINVAL);
	CHECK_ERR(xmem_dma_get_stats(s, &st), EINVAL);
	CHECK_ERR(xmem_dma_mapping_walk(s, walk_fn, NULL), EINVAL);
	int junk[64] = {0};
	CHECK_ERR(xmem_dma_unsubscribe((struct xmem_dma_subscriber *)junk), EINVAL);

	/* Test device. */
	struct xmem_dma_testdev_stats ts;
	struct xmem_dma_testdev_call call;
	CHECK_ERR(xmem_dma_testdev_create(NULL, 0), EINVAL);
	CHECK_ERR(xmem_dma_testdev_destroy(NULL), EINVAL);
	CHECK_ERR(xmem_dma_testdev_destroy((struct xmem_dma_testdev *)junk), EINVAL);
	CHECK_ERR(xmem_dma_testdev_subscriber(NULL), EINVAL);
	CHECK_ERR(xmem_dma_testdev_inject(NULL, XMEM_TESTDEV_FAULT_NONE, 0), EINVAL);
	CHECK_ERR(xmem_dma_testdev_get_stats(NULL, &ts), EINVAL);
	CHECK_ERR(xmem_dma_testdev_call(NULL, 0, &call), EINVAL);
	CHECK_ERR(xmem_dma_testdev_clear_log(NULL), EINVAL);
	CHECK_ERR(xmem_dma_testdev_map_direct(NULL, (void *)4096, 4096, 4096), EINVAL);
	CHECK_ERR(xmem_dma_testdev_unmap_direct(NULL, 4096, 4096), EINVAL);
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("t", 0);
	CHECK(t != NULL);
	CHECK_ERR(xmem_dma_testdev_create("t", 0), EEXIST);
	CHECK_ERR(xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)9, 0), EINVAL);
	CHECK_ERR(xmem_dma_testdev_get_stats(t, NULL), EINVAL);
	CHECK_ERR(xmem_dma_testdev_call(t, 0, NULL), EINVAL);
	CHECK_ERR(xmem_dma_testdev_call(t, 0, &call), ENOENT);
	CHECK_ERR(xmem_dma_testdev_map_direct(t, (void *)4096, 4096, 0), EINVAL);
	CHECK_ERR(xmem_dma_testdev_map_direct(t, (void *)4097, 4096, 4096), EINVAL);
	CHECK(xmem_dma_testdev_map_direct(t, (void *)4096, 4096, 4096) == 0);
	CHECK_ERR(xmem_dma_testdev_map_direct(t, (void *)8192, 4096, 4096), EEXIST);
	CHECK_ERR(xmem_dma_testdev_unmap_direct(t, 4096, 8192), ENOENT);
	CHECK_ERR(xmem_dma_testdev_unmap_direct(t, 0, 0), EINVAL);
	CHECK(xmem_dma_testdev_unmap_direct(t, 4096, 4096) == 0);
	CHECK(xmem_dma_testdev_clear_log(t) == 0);
	CHECK(xmem_dma_testdev_destroy(t) == 0);
	CHECK_ERR(xmem_dma_testdev_destroy(t), EINVAL);
	CHECK_ERR(xmem_dma_testdev_get_stats(t, &ts), EINVAL);

	/* Modes fail cleanly: PA of untouched (PROT_NONE) pages is EFAULT (or
	 * EPERM without root), and the add changes nothing. */
	CHECK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_PA) == 0);
	char *va = it_reserve(4 * 4096, 4096);
	errno = 0;
	CHECK(xmem_register(va, 4 * 4096, NULL, 0, 4096) == -1 &&
	      (errno == EFAULT || errno == EPERM));
	CHECK(xmem_virt2iova(va) == XMEM_BAD_IOVA);
	/* ...and of touched pages works (as root). */
	char *rw = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(rw, 1, 4 * 4096);
	errno = 0;
	int rc = xmem_register(rw, 4 * 4096, NULL, 0, 4096);
	CHECK(rc == 0 || errno == EPERM);
	if (rc == 0) {
		CHECK(xmem_virt2iova(rw) != XMEM_BAD_IOVA);
		CHECK(xmem_unregister(rw, 4 * 4096) == 0);
	}
	/* ASSIGN: ranges can be set while no extent is in use, not after. */
	CHECK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN) == 0);
	struct xmem_iova_range small = {1ULL << 40, (1ULL << 40) + 6 * 4096 - 1};
	CHECK(xmem_dma_set_iova_ranges(&small, 1) == 0);
	CHECK(xmem_register(va, 4 * 4096, NULL, 0, 4096) == 0);
	CHECK(xmem_virt2iova(va) == 1ULL << 40);
	CHECK_ERR(xmem_dma_set_iova_ranges(&small, 1), EBUSY);
	/* The range is full: ENOSPC, nothing changes. */
	CHECK_ERR(xmem_register(rw, 4 * 4096, NULL, 0, 4096), ENOSPC);
	CHECK(xmem_virt2iova(rw) == XMEM_BAD_IOVA);
	CHECK(xmem_unregister(va, 4 * 4096) == 0);
	CHECK(xmem_dma_set_iova_ranges(&small, 1) == 0);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);

	/* VFIO attach on a machine without VFIO, and NULL/unknown containers. */
	errno = 0;
	struct xmem_vfio_container *c = xmem_vfio_default_container();
	if (!c) {
		CHECK(errno == ENODEV || errno == EACCES || errno == ENOTSUP);
		errno = 0;
		CHECK(xmem_vfio_attach(NULL) == NULL && errno != 0);
		CHECK_ERR(xmem_vfio_detach(NULL), ENOENT);
	} else {
		CHECK_ERR(xmem_vfio_attach(c), ENODEV); /* no group yet */
		CHECK_ERR(xmem_vfio_detach(c), ENOENT);
		xmem_vfio_container_close(c);
	}
	munmap(rw, 4 * 4096);
	return it_done("bad_input_test");
}
