/* errors_cases_vfio.c - the cases of docs/errors.md for xmem_vfio.h and
 * xmem_devmem.h: those that need no container (part host) and those on an
 * open container without groups (--part=vfio, e->vc).  errors_test.c
 * drives them. */
#include "errors_test.h"

#include <xmem/xmem_devmem.h>

/* ----------------------------------------------------------- xmem_vfio.h */

static bool have_vfio(void)
{
	return access("/dev/vfio/vfio", F_OK) == 0;
}

static void c_vfio_container_open_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_container_open());
}
static void c_vfio_container_close_null(struct env *e) { EXPECT(e, xmem_vfio_container_close(NULL)); }
static void c_vfio_container_fd_null(struct env *e) { EXPECT(e, xmem_vfio_container_fd(NULL)); }
static void c_vfio_group_of_bad_bdf(struct env *e)
{
	EXPECT(e, xmem_vfio_group_of(NULL));
	EXPECT(e, xmem_vfio_group_of(""));
	EXPECT(e, xmem_vfio_group_of(long_name(32)));
	EXPECT(e, xmem_vfio_group_of("../../../../etc"));
	EXPECT(e, xmem_vfio_group_of("0000:00:01.0/x"));
}
static void c_vfio_group_of_no_device(struct env *e)
{
	EXPECT(e, xmem_vfio_group_of("ffff:ff:1f.7"));
	EXPECT(e, xmem_vfio_group_of("not-a-device"));
}
static void c_vfio_group_add_null(struct env *e) { EXPECT(e, xmem_vfio_group_add(NULL, 0)); }
static void c_vfio_group_remove_null(struct env *e) { EXPECT(e, xmem_vfio_group_remove(NULL, 0)); }
static void c_vfio_get_info_null(struct env *e)
{
	struct xmem_vfio_info in;
	EXPECT(e, xmem_vfio_get_info(NULL, &in));
	EXPECT(e, xmem_vfio_get_info(NULL, NULL));
}
static void c_vfio_dma_map_null(struct env *e) { EXPECT(e, xmem_vfio_dma_map(NULL, e->spare, TD_IOVA, PAGE4K)); }
static void c_vfio_dma_unmap_null(struct env *e)
{
	uint64_t done = 12345;
	EXPECT(e, xmem_vfio_dma_unmap(NULL, TD_IOVA, PAGE4K, &done));
	CHECK_EQ(done, 0);
	EXPECT(e, xmem_vfio_dma_unmap(NULL, TD_IOVA, PAGE4K, NULL));
}
static void c_vfio_map_table_null(struct env *e)
{
	size_t calls = 12345;
	EXPECT(e, xmem_vfio_map_table(NULL, e->spare, e->spare_tab, SPARE_PAGES, PAGE4K, &calls));
	CHECK_EQ(calls, 0);
}
static void c_vfio_unmap_table_null(struct env *e)
{
	size_t calls = 12345;
	EXPECT(e, xmem_vfio_unmap_table(NULL, e->spare, e->spare_tab, SPARE_PAGES, PAGE4K, &calls));
	CHECK_EQ(calls, 0);
}
static void c_vfio_get_stats_null(struct env *e)
{
	struct xmem_vfio_stats st;
	EXPECT(e, xmem_vfio_get_stats(NULL, &st));
}
static void c_vfio_device_open_null(struct env *e) { EXPECT(e, xmem_vfio_device_open(NULL, 0, "0000:00:03.0")); }
static void c_vfio_device_close_null(struct env *e) { EXPECT(e, xmem_vfio_device_close(NULL, 3)); }
static void c_vfio_region_info_bad_args(struct env *e)
{
	struct xmem_vfio_region r;
	EXPECT(e, xmem_vfio_region_info(-1, 0, &r));
	EXPECT(e, xmem_vfio_region_info(INT_MIN, 0, &r));
	int fd = open("/dev/null", O_RDONLY);
	if (CHECK(fd >= 0)) {
		EXPECT(e, xmem_vfio_region_info(fd, 0, NULL));
		close(fd);
	}
}
static void c_vfio_region_info_not_a_device(struct env *e)
{
	struct xmem_vfio_region r;
	int fd = open("/dev/null", O_RDONLY);
	if (!CHECK(fd >= 0))
		return;
	EXPECT(e, xmem_vfio_region_info(fd, 0, &r));
	close(fd);
}
static void c_vfio_region_info_closed_fd(struct env *e)
{
	struct xmem_vfio_region r;
	int fd = open("/dev/null", O_RDONLY);
	if (!CHECK(fd >= 0))
		return;
	close(fd);
	EXPECT(e, xmem_vfio_region_info(fd, 0, &r));
}
static void c_vfio_default_container_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_default_container());
}
static void c_vfio_attach_no_vfio(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists");
		return;
	}
	EXPECT(e, xmem_vfio_attach(NULL));
}
static void c_vfio_detach_no_default(struct env *e)
{
	if (have_vfio()) {
		not_here(e, "/dev/vfio/vfio exists (the default container may be open)");
		return;
	}
	EXPECT(e, xmem_vfio_detach(NULL));
}

/* --part=vfio: an open container without groups (e->vc). */

static void c_vfio_group_add_negative(struct env *e)
{
	EXPECT(e, xmem_vfio_group_add(e->vc, -1));
	EXPECT(e, xmem_vfio_group_add(e->vc, INT_MIN));
}
static void c_vfio_group_add_no_group(struct env *e) { EXPECT(e, xmem_vfio_group_add(e->vc, 999999)); }
static void c_vfio_group_remove_not_in_container(struct env *e)
{
	EXPECT(e, xmem_vfio_group_remove(e->vc, 0));
	EXPECT(e, xmem_vfio_group_remove(e->vc, 999999));
}
static void c_vfio_get_info_null_out(struct env *e) { EXPECT(e, xmem_vfio_get_info(e->vc, NULL)); }
static void c_vfio_get_info_no_group(struct env *e)
{
	struct xmem_vfio_info in;
	EXPECT(e, xmem_vfio_get_info(e->vc, &in));
}
static void c_vfio_dma_map_bad_args(struct env *e)
{
	EXPECT(e, xmem_vfio_dma_map(e->vc, NULL, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, 0));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare + 1, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA + 1, PAGE4K));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, PAGE4K + 1));
	EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, UINT64_MAX - PAGE4K + 1, 2 * PAGE4K));
}
static void c_vfio_dma_map_no_group(struct env *e) { EXPECT(e, xmem_vfio_dma_map(e->vc, e->spare, TD_IOVA, PAGE4K)); }
static void c_vfio_dma_unmap_bad_args(struct env *e)
{
	uint64_t done;
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, 0, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA + 1, PAGE4K, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, PAGE4K + 1, &done));
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, UINT64_MAX - PAGE4K + 1, 2 * PAGE4K, &done));
}
static void c_vfio_dma_unmap_no_group(struct env *e)
{
	uint64_t done;
	EXPECT(e, xmem_vfio_dma_unmap(e->vc, TD_IOVA, PAGE4K, &done));
}
static void table_bad_args(struct env *e,
			   int (*fn)(struct xmem_vfio_container *, void *, const uint64_t *,
				     size_t, size_t, size_t *))
{
	size_t calls;
	uint64_t *t = e->spare_tab;
	EXPECT(e, fn(e->vc, NULL, t, 4, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, NULL, 4, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 0, PAGE4K, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 0, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 2048, &calls));
	EXPECT(e, fn(e->vc, e->spare, t, 4, 12288, &calls));
	EXPECT(e, fn(e->vc, e->spare + 8, t, 4, PAGE4K, &calls));
	t[2] += 8;
	EXPECT(e, fn(e->vc, e->spare, t, 4, PAGE4K, &calls));
	t[2] -= 8;
}
static void c_vfio_map_table_bad_args(struct env *e) { table_bad_args(e, xmem_vfio_map_table); }
static void c_vfio_map_table_no_group(struct env *e)
{
	EXPECT(e, xmem_vfio_map_table(e->vc, e->spare, e->spare_tab, 4, PAGE4K, NULL));
}
static void c_vfio_unmap_table_bad_args(struct env *e) { table_bad_args(e, xmem_vfio_unmap_table); }
static void c_vfio_unmap_table_no_group(struct env *e)
{
	EXPECT(e, xmem_vfio_unmap_table(e->vc, e->spare, e->spare_tab, 4, PAGE4K, NULL));
}
static void c_vfio_get_stats_null_out(struct env *e) { EXPECT(e, xmem_vfio_get_stats(e->vc, NULL)); }
static void c_vfio_device_open_bad_name(struct env *e)
{
	EXPECT(e, xmem_vfio_device_open(e->vc, 0, NULL));
	EXPECT(e, xmem_vfio_device_open(e->vc, 0, ""));
}
static void c_vfio_device_open_no_group(struct env *e) { EXPECT(e, xmem_vfio_device_open(e->vc, 12345, "0000:00:03.0")); }
static void c_vfio_device_close_unknown_fd(struct env *e)
{
	EXPECT(e, xmem_vfio_device_close(e->vc, -1));
	EXPECT(e, xmem_vfio_device_close(e->vc, 0));
	EXPECT(e, xmem_vfio_device_close(e->vc, 12345));
}
static void c_vfio_attach_no_group(struct env *e) { EXPECT(e, xmem_vfio_attach(e->vc)); }
static void c_vfio_detach_not_attached(struct env *e) { EXPECT(e, xmem_vfio_detach(e->vc)); }

/* ------------------------------------------------------------ the cases */

/* ------------------------------------- backends and device memory (devmem) */

static void c_vfio_open_backend_bad(struct env *e)
{
	EXPECT(e, xmem_vfio_container_open_backend((enum xmem_vfio_backend)3));
	EXPECT(e, xmem_vfio_container_open_backend((enum xmem_vfio_backend)-1));
}
static void c_vfio_open_backend_no_iommufd(struct env *e)
{
	if (access("/dev/iommu", F_OK) == 0) {
		not_here(e, "/dev/iommu exists");
		return;
	}
	EXPECT(e, xmem_vfio_container_open_backend(XMEM_VFIO_BACKEND_IOMMUFD));
}
static void c_vfio_container_backend_null(struct env *e) { EXPECT(e, xmem_vfio_container_backend(NULL)); }
static void c_vfio_bar_map_bad_args(struct env *e)
{
	struct xmem_vfio_bar b;
	EXPECT(e, xmem_vfio_bar_map(-1, 0, &b));
	EXPECT(e, xmem_vfio_bar_map(0, 6, &b));
	EXPECT(e, xmem_vfio_bar_map(0, 0, NULL));
}
static void c_vfio_bar_map_not_a_device(struct env *e)
{
	int fd = open("/dev/null", O_RDWR);
	struct xmem_vfio_bar b;
	EXPECT(e, xmem_vfio_bar_map(fd, 0, &b));
	close(fd);
}
static void c_vfio_bar_unmap_null(struct env *e)
{
	struct xmem_vfio_bar b = {0};
	EXPECT(e, xmem_vfio_bar_unmap(NULL));
	EXPECT(e, xmem_vfio_bar_unmap(&b));
}
static void c_heap_add_bar_bad_args(struct env *e)
{
	/* A "BAR" over the spare memory: one area of 4 KiB. */
	struct xmem_vfio_bar b = {.base = e->spare, .size = PAGE4K, .n_areas = 1,
				  .areas = {{0, PAGE4K}}};
	struct xmem_vfio_bar unmapped = b;
	unmapped.base = NULL;
	EXPECT(e, xmem_heap_add_bar(NULL, &b, PAGE4K));
	EXPECT(e, xmem_heap_add_bar(e->h, NULL, PAGE4K));
	EXPECT(e, xmem_heap_add_bar(e->h, &unmapped, PAGE4K));
	EXPECT(e, xmem_heap_add_bar(e->h, &b, 2 * PAGE4K));
	EXPECT(e, xmem_heap_add_bar(e->h, &b, 0));
}
static void c_heap_remove_bar_null(struct env *e)
{
	struct xmem_vfio_bar b = {0};
	EXPECT(e, xmem_heap_remove_bar(NULL, &b));
	EXPECT(e, xmem_heap_remove_bar(e->h, NULL));
}
static void c_heap_add_dmabuf_bad_args(struct env *e)
{
	int fd = open("/dev/null", O_RDWR);
	EXPECT(e, xmem_heap_add_dmabuf(NULL, fd, 0, PAGE4K, PAGE4K));
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 100, PAGE4K, PAGE4K));
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, PAGE4K + 1, PAGE4K));
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, PAGE4K, 12288));
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, PAGE4K, 2048));
	close(fd);
}
static void c_heap_add_dmabuf_not_a_dmabuf(struct env *e)
{
	int fd = open("/dev/null", O_RDWR);
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, PAGE4K, PAGE4K));
	close(fd);
}
static void c_heap_add_dmabuf_closed_fd(struct env *e)
{
	int fd = open("/dev/null", O_RDWR);
	close(fd);
	EXPECT(e, xmem_heap_add_dmabuf(e->h, fd, 0, PAGE4K, PAGE4K));
}
static void c_heap_remove_dmabuf_unknown(struct env *e)
{
	EXPECT(e, xmem_heap_remove_dmabuf(NULL, e->va));
	EXPECT(e, xmem_heap_remove_dmabuf(e->h, NULL));
	EXPECT(e, xmem_heap_remove_dmabuf(e->h, e->va)); /* memory, but no dma-buf */
}
static void c_vfio_bar_dmabuf_bad_args(struct env *e)
{
	EXPECT(e, xmem_vfio_bar_dmabuf(-1, 0, 0, PAGE4K));
	EXPECT(e, xmem_vfio_bar_dmabuf(0, 6, 0, PAGE4K));
	EXPECT(e, xmem_vfio_bar_dmabuf(0, 0, 0, 0));
}
static void c_vfio_bar_dmabuf_not_a_device(struct env *e)
{
	int fd = open("/dev/null", O_RDWR);
	EXPECT(e, xmem_vfio_bar_dmabuf(fd, 0, 0, PAGE4K));
	close(fd);
}

const struct xcase cases_vfio[] = {
	C("vfio_container_open.no_vfio", xmem_vfio_container_open, c_vfio_container_open_no_vfio),
	C("vfio_container_close.null", xmem_vfio_container_close, c_vfio_container_close_null),
	C("vfio_container_fd.null", xmem_vfio_container_fd, c_vfio_container_fd_null),
	C("vfio_group_of.bad_bdf", xmem_vfio_group_of, c_vfio_group_of_bad_bdf),
	C("vfio_group_of.no_device", xmem_vfio_group_of, c_vfio_group_of_no_device),
	C("vfio_group_add.null", xmem_vfio_group_add, c_vfio_group_add_null),
	C("vfio_group_add.negative", xmem_vfio_group_add, c_vfio_group_add_negative),
	C("vfio_group_add.no_group", xmem_vfio_group_add, c_vfio_group_add_no_group),
	C("vfio_group_remove.null", xmem_vfio_group_remove, c_vfio_group_remove_null),
	C("vfio_group_remove.not_in_container", xmem_vfio_group_remove, c_vfio_group_remove_not_in_container),
	C("vfio_get_info.null", xmem_vfio_get_info, c_vfio_get_info_null),
	C("vfio_get_info.null_out", xmem_vfio_get_info, c_vfio_get_info_null_out),
	C("vfio_get_info.no_group", xmem_vfio_get_info, c_vfio_get_info_no_group),
	C("vfio_dma_map.null", xmem_vfio_dma_map, c_vfio_dma_map_null),
	C("vfio_dma_map.bad_args", xmem_vfio_dma_map, c_vfio_dma_map_bad_args),
	C("vfio_dma_map.no_group", xmem_vfio_dma_map, c_vfio_dma_map_no_group),
	C("vfio_dma_unmap.null", xmem_vfio_dma_unmap, c_vfio_dma_unmap_null),
	C("vfio_dma_unmap.bad_args", xmem_vfio_dma_unmap, c_vfio_dma_unmap_bad_args),
	C("vfio_dma_unmap.no_group", xmem_vfio_dma_unmap, c_vfio_dma_unmap_no_group),
	C("vfio_map_table.null", xmem_vfio_map_table, c_vfio_map_table_null),
	C("vfio_map_table.bad_args", xmem_vfio_map_table, c_vfio_map_table_bad_args),
	C("vfio_map_table.no_group", xmem_vfio_map_table, c_vfio_map_table_no_group),
	C("vfio_unmap_table.null", xmem_vfio_unmap_table, c_vfio_unmap_table_null),
	C("vfio_unmap_table.bad_args", xmem_vfio_unmap_table, c_vfio_unmap_table_bad_args),
	C("vfio_unmap_table.no_group", xmem_vfio_unmap_table, c_vfio_unmap_table_no_group),
	C("vfio_get_stats.null", xmem_vfio_get_stats, c_vfio_get_stats_null),
	C("vfio_get_stats.null_out", xmem_vfio_get_stats, c_vfio_get_stats_null_out),
	C("vfio_device_open.null", xmem_vfio_device_open, c_vfio_device_open_null),
	C("vfio_device_open.bad_name", xmem_vfio_device_open, c_vfio_device_open_bad_name),
	C("vfio_device_open.no_group", xmem_vfio_device_open, c_vfio_device_open_no_group),
	C("vfio_device_close.null", xmem_vfio_device_close, c_vfio_device_close_null),
	C("vfio_device_close.unknown_fd", xmem_vfio_device_close, c_vfio_device_close_unknown_fd),
	C("vfio_region_info.bad_args", xmem_vfio_region_info, c_vfio_region_info_bad_args),
	C("vfio_region_info.not_a_device", xmem_vfio_region_info, c_vfio_region_info_not_a_device),
	C("vfio_region_info.closed_fd", xmem_vfio_region_info, c_vfio_region_info_closed_fd),
	C("vfio_default_container.no_vfio", xmem_vfio_default_container, c_vfio_default_container_no_vfio),
	C("vfio_attach.no_vfio", xmem_vfio_attach, c_vfio_attach_no_vfio),
	C("vfio_attach.no_group", xmem_vfio_attach, c_vfio_attach_no_group),
	C("vfio_detach.no_default", xmem_vfio_detach, c_vfio_detach_no_default),
	C("vfio_detach.not_attached", xmem_vfio_detach, c_vfio_detach_not_attached),
	C("vfio_container_open_backend.bad_backend", xmem_vfio_container_open_backend, c_vfio_open_backend_bad),
	C("vfio_container_open_backend.no_iommufd", xmem_vfio_container_open_backend, c_vfio_open_backend_no_iommufd),
	C("vfio_container_backend.null", xmem_vfio_container_backend, c_vfio_container_backend_null),
	C("vfio_bar_map.bad_args", xmem_vfio_bar_map, c_vfio_bar_map_bad_args),
	C("vfio_bar_map.not_a_device", xmem_vfio_bar_map, c_vfio_bar_map_not_a_device),
	C("vfio_bar_unmap.null", xmem_vfio_bar_unmap, c_vfio_bar_unmap_null),
	C("heap_add_bar.bad_args", xmem_heap_add_bar, c_heap_add_bar_bad_args),
	C("heap_remove_bar.null", xmem_heap_remove_bar, c_heap_remove_bar_null),
	C("heap_add_dmabuf.bad_args", xmem_heap_add_dmabuf, c_heap_add_dmabuf_bad_args),
	C("heap_add_dmabuf.not_a_dmabuf", xmem_heap_add_dmabuf, c_heap_add_dmabuf_not_a_dmabuf),
	C("heap_add_dmabuf.closed_fd", xmem_heap_add_dmabuf, c_heap_add_dmabuf_closed_fd),
	C("heap_remove_dmabuf.unknown", xmem_heap_remove_dmabuf, c_heap_remove_dmabuf_unknown),
	C("vfio_bar_dmabuf.bad_args", xmem_vfio_bar_dmabuf, c_vfio_bar_dmabuf_bad_args),
	C("vfio_bar_dmabuf.not_a_device", xmem_vfio_bar_dmabuf, c_vfio_bar_dmabuf_not_a_device),
};

const size_t n_cases_vfio = sizeof cases_vfio / sizeof cases_vfio[0];
