/* errors_cases_dma.c - the cases of docs/errors.md for xmem_dma.h: the IOVA
 * mode and ranges, subscribers and memory events, mapping walks, stats,
 * and the test devices.  errors_test.c drives them. */
#include "errors_test.h"

/* ------------------------------------------------------------ xmem_dma.h */

static void c_dma_set_iova_mode_unknown(struct env *e)
{
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)-1));
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)4));
	EXPECT(e, xmem_dma_set_iova_mode((enum xmem_iova_mode)100));
	CHECK_EQ(xmem_dma_get_iova_mode(), XMEM_IOVA_MODE_TABLE);
}
static void c_dma_get_iova_mode_no_input(struct env *e)
{
	EXPECT_OK(e, xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_TABLE);
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_VA));
	EXPECT_OK(e, xmem_dma_get_iova_mode() == XMEM_IOVA_MODE_VA);
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}
static void c_dma_set_iova_ranges_null(struct env *e) { EXPECT(e, xmem_dma_set_iova_ranges(NULL, 1)); }
static void c_dma_set_iova_ranges_zero_n(struct env *e) { EXPECT(e, xmem_dma_set_iova_ranges(&default_range, 0)); }
static void c_dma_set_iova_ranges_too_many(struct env *e)
{
	static struct xmem_iova_range r[65];
	for (int i = 0; i < 65; i++)
		r[i] = (struct xmem_iova_range){((uint64_t)i + 1) << 32, (((uint64_t)i + 1) << 32) + 0xfffff};
	EXPECT(e, xmem_dma_set_iova_ranges(r, 65));
	EXPECT(e, xmem_dma_set_iova_ranges(r, SIZE_MAX));
}
static void c_dma_set_iova_ranges_reversed(struct env *e)
{
	struct xmem_iova_range r = {0x20000000, 0x1fffffff};
	EXPECT(e, xmem_dma_set_iova_ranges(&r, 1));
}
static void c_dma_set_iova_ranges_overlap(struct env *e)
{
	struct xmem_iova_range r[2] = {{0x100000000, 0x1ffffffff}, {0x180000000, 0x2ffffffff}};
	EXPECT(e, xmem_dma_set_iova_ranges(r, 2));
	r[1] = r[0];
	EXPECT(e, xmem_dma_set_iova_ranges(r, 2));
}
static void c_dma_set_iova_ranges_in_use(struct env *e)
{
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_dma_set_iova_ranges(&default_range, 1));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
	CHECK_OK(xmem_dma_set_iova_ranges(&default_range, 1));
}

/* A device-level subscriber that counts what it has mapped; map call
 * number fail_at (1-based; 0 never) fails with fail_errno. */
struct fake_dev {
	long mapped, calls, fail_at;
	int fail_errno;
	uint64_t avail;      /* reported by dma_avail */
};
static int fd_map(void *ctx, void *va, uint64_t iova, uint64_t len)
{
	(void)va, (void)iova, (void)len;
	struct fake_dev *d = ctx;
	if (++d->calls == d->fail_at) {
		errno = d->fail_errno;
		return -1;
	}
	d->mapped++;
	return 0;
}
static int fd_unmap(void *ctx, void *va, uint64_t iova, uint64_t len, uint64_t *done)
{
	(void)va, (void)iova;
	struct fake_dev *d = ctx;
	d->mapped--;
	*done = len;
	return 0;
}
static int fd_avail(void *ctx, uint64_t *avail)
{
	*avail = ((struct fake_dev *)ctx)->avail;
	return 0;
}

static const struct xmem_dma_ops ops_dev = {.dma_map = fd_map, .dma_unmap = fd_unmap};
static const struct xmem_dma_ops ops_ev = {.mem_event = ev_ok};

static void gone(const char *name)
{
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup(name), ENOENT);
}

static void c_dma_subscribe_null_name(struct env *e) { EXPECT(e, xmem_dma_subscribe(NULL, &ops_ev, NULL)); }
static void c_dma_subscribe_empty_name(struct env *e) { EXPECT(e, xmem_dma_subscribe("", &ops_ev, NULL)); }
static void c_dma_subscribe_long_name(struct env *e)
{
	EXPECT(e, xmem_dma_subscribe(long_name(XMEM_DMA_NAME_MAX), &ops_ev, NULL));
	EXPECT(e, xmem_dma_subscribe(long_name(100), &ops_ev, NULL));
}
static void c_dma_subscribe_null_ops(struct env *e) { EXPECT(e, xmem_dma_subscribe("err-s", NULL, NULL)); }
static void c_dma_subscribe_no_callback(struct env *e)
{
	struct xmem_dma_ops none = {0}, avail_only = {.dma_avail = fd_avail};
	EXPECT(e, xmem_dma_subscribe("err-s", &none, NULL));
	EXPECT(e, xmem_dma_subscribe("err-s", &avail_only, NULL));
	gone("err-s");
}
static void c_dma_subscribe_map_without_unmap(struct env *e)
{
	struct xmem_dma_ops map_only = {.mem_event = ev_ok, .dma_map = fd_map};
	struct xmem_dma_ops unmap_only = {.mem_event = ev_ok, .dma_unmap = fd_unmap};
	EXPECT(e, xmem_dma_subscribe("err-s", &map_only, NULL));
	EXPECT(e, xmem_dma_subscribe("err-s", &unmap_only, NULL));
	gone("err-s");
}
static void c_dma_subscribe_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_dma_subscribe("err-s", &ops_ev, NULL);
	if (!CHECK(s))
		return;
	struct fake_dev d = {0};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops_dev, &d));
	CHECK_EQ(d.calls, 0);
	CHECK(xmem_dma_subscriber_lookup("err-s") == s);
	CHECK_OK(xmem_dma_unsubscribe(s));
}
static void c_dma_subscribe_no_entries(struct env *e)
{
	struct fake_dev d = {.avail = 0};
	struct xmem_dma_ops ops = {.dma_map = fd_map, .dma_unmap = fd_unmap, .dma_avail = fd_avail};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops, &d));
	CHECK_EQ(d.calls, 0);
	gone("err-s");
}
static int ev_fail_efault(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	(void)r;
	(*(int *)ctx)++;
	if (ev == XMEM_MEM_EVENT_ADD && *(int *)ctx == 2) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}
static void c_dma_subscribe_replay_veto(struct env *e)
{
	int calls = 0;    /* the second region's ADD fails */
	struct xmem_dma_ops ops = {.mem_event = ev_fail_efault};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops, &calls));
	CHECK_GE(calls, 2);
	gone("err-s");
}
static void c_dma_subscribe_replay_map_fails(struct env *e)
{
	struct fake_dev d = {.fail_at = 2, .fail_errno = EIO};
	EXPECT(e, xmem_dma_subscribe("err-s", &ops_dev, &d));
	CHECK_EQ(d.calls, 2);
	CHECK_EQ(d.mapped, 0);     /* the first region was unmapped again */
	gone("err-s");
}
static bool try_subscribe(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	static struct fake_dev d;
	memset(&d, 0, sizeof d);
	struct xmem_dma_subscriber *s = xmem_dma_subscribe("err-s", &ops_dev, &d);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)s;
	if (s) {
		CHECK_GE(d.mapped, 2);
		CHECK_OK(xmem_dma_unsubscribe(s));
		CHECK_EQ(d.mapped, 0);
		return true;
	}
	CHECK_EQ(d.mapped, 0);
	gone("err-s");
	return false;
}
static void c_dma_subscribe_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_dma_subscribe", try_subscribe);
}

static void c_mem_event_register_null_fn(struct env *e) { EXPECT(e, xmem_mem_event_register("err-s", NULL, NULL)); }
static void c_mem_event_register_bad_name(struct env *e)
{
	EXPECT(e, xmem_mem_event_register(NULL, ev_ok, NULL));
	EXPECT(e, xmem_mem_event_register("", ev_ok, NULL));
	EXPECT(e, xmem_mem_event_register(long_name(XMEM_DMA_NAME_MAX), ev_ok, NULL));
}
static void c_mem_event_register_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_mem_event_register("err-s", ev_ok, NULL));
	CHECK_OK(xmem_dma_unsubscribe(s));
}

static struct xmem_dma_subscriber *dead_sub(void)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-dead", ev_ok, NULL);
	if (!s || xmem_dma_unsubscribe(s))
		XT_FATAL("dead subscriber: %s", strerror(errno));
	return s;
}

static void c_dma_unsubscribe_null(struct env *e) { EXPECT(e, xmem_dma_unsubscribe(NULL)); }
static void c_dma_unsubscribe_dead(struct env *e) { EXPECT(e, xmem_dma_unsubscribe(dead_sub())); }
static void c_dma_unsubscribe_foreign(struct env *e)
{
	EXPECT(e, xmem_dma_unsubscribe((struct xmem_dma_subscriber *)junk));
	EXPECT(e, xmem_dma_unsubscribe((struct xmem_dma_subscriber *)(uintptr_t)8));
}
static void c_dma_subscriber_lookup_null(struct env *e) { EXPECT(e, xmem_dma_subscriber_lookup(NULL)); }
static void c_dma_subscriber_lookup_empty(struct env *e) { EXPECT(e, xmem_dma_subscriber_lookup("")); }
static void c_dma_subscriber_lookup_unknown(struct env *e)
{
	EXPECT(e, xmem_dma_subscriber_lookup("err-nobody"));
	EXPECT(e, xmem_dma_subscriber_lookup(long_name(XMEM_DMA_NAME_MAX)));
	EXPECT(e, xmem_dma_subscriber_lookup(long_name(100)));
}
static void c_dma_subscriber_lookup_unsubscribed(struct env *e)
{
	dead_sub();
	EXPECT(e, xmem_dma_subscriber_lookup("err-dead"));
}
static void c_dma_mapping_walk_null_fn(struct env *e)
{
	EXPECT(e, xmem_dma_mapping_walk(NULL, NULL, NULL));
}
static void c_dma_mapping_walk_dead(struct env *e)
{
	long n = 0;
	EXPECT(e, xmem_dma_mapping_walk(dead_sub(), walk_count, &n));
	EXPECT(e, xmem_dma_mapping_walk((struct xmem_dma_subscriber *)junk, walk_count, &n));
	CHECK_EQ(n, 0);
}
static void c_dma_get_stats_null(struct env *e)
{
	struct xmem_dma_stats st;
	EXPECT(e, xmem_dma_get_stats(NULL, &st));
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (CHECK(s)) {
		EXPECT(e, xmem_dma_get_stats(s, NULL));
		CHECK_OK(xmem_dma_unsubscribe(s));
	}
}
static void c_dma_get_stats_dead(struct env *e)
{
	struct xmem_dma_stats st;
	EXPECT(e, xmem_dma_get_stats(dead_sub(), &st));
	EXPECT(e, xmem_dma_get_stats((struct xmem_dma_subscriber *)junk, &st));
}

/* test devices */

static struct xmem_dma_testdev *dead_td(void)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-dead-td", 0);
	if (!t || xmem_dma_testdev_destroy(t))
		XT_FATAL("dead test device: %s", strerror(errno));
	return t;
}

static void c_td_create_bad_name(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_create(NULL, 0));
	EXPECT(e, xmem_dma_testdev_create("", 0));
	EXPECT(e, xmem_dma_testdev_create(long_name(XMEM_DMA_NAME_MAX), 0));
}
static void c_td_create_duplicate(struct env *e)
{
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-s", ev_ok, NULL);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_dma_testdev_create("err-s", 0));
	CHECK_OK(xmem_dma_unsubscribe(s));
}
static void c_td_create_no_entries(struct env *e)
{
	/* scratch and witness need one entry each */
	EXPECT(e, xmem_dma_testdev_create("err-td", 1));
	gone("err-td");
}
static bool try_td_create(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)t;
	if (t) {
		CHECK_OK(xmem_dma_testdev_destroy(t));
		return true;
	}
	gone("err-td");
	return false;
}
static void c_td_create_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_dma_testdev_create", try_td_create);
}
static void c_td_destroy_null(struct env *e) { EXPECT(e, xmem_dma_testdev_destroy(NULL)); }
static void c_td_destroy_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_destroy(dead_td()));
	EXPECT(e, xmem_dma_testdev_destroy((struct xmem_dma_testdev *)junk));
}
static void c_td_subscriber_null(struct env *e) { EXPECT(e, xmem_dma_testdev_subscriber(NULL)); }
static void c_td_subscriber_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_subscriber(dead_td()));
	EXPECT(e, xmem_dma_testdev_subscriber((struct xmem_dma_testdev *)junk));
}
static void c_td_inject_null(struct env *e) { EXPECT(e, xmem_dma_testdev_inject(NULL, XMEM_TESTDEV_FAULT_NONE, 0)); }
static void c_td_inject_unknown_fault(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)5, 0));
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)-1, 0));
	EXPECT(e, xmem_dma_testdev_inject(t, (enum xmem_testdev_fault)1000, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_inject_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_inject(dead_td(), XMEM_TESTDEV_FAULT_MAP_ENOSPC, 0));
}

static void c_td_map_direct_null(struct env *e) { EXPECT(e, xmem_dma_testdev_map_direct(NULL, TD_VA, TD_IOVA, PAGE4K)); }

static struct xmem_dma_testdev *live_td(void)
{
	return xmem_dma_testdev_create("err-td", 0);
}

static void c_td_map_direct_zero_len(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_map_direct_misaligned(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_map_direct(t, (char *)TD_VA + 1, TD_IOVA, PAGE4K));
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA + 512, PAGE4K));
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, PAGE4K + 1));
	struct xmem_dma_testdev_stats st;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, 2);       /* scratch and witness only */
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_map_direct_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_map_direct(dead_td(), TD_VA, TD_IOVA, PAGE4K));
}
static void c_td_map_direct_overlap(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	/* xmem's own mapping of the scratch chunk */
	EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, SCRATCH_IOVA + PAGE4K, PAGE4K));
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA - PAGE4K, 2 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA + 3 * PAGE4K, 2 * PAGE4K));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, 4 * PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_null(struct env *e) { EXPECT(e, xmem_dma_testdev_unmap_direct(NULL, TD_IOVA, PAGE4K)); }
static void c_td_unmap_direct_zero_len(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, 0));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_misaligned(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA + 1, PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K - 1));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_unmap_direct_dead(struct env *e)
{
	EXPECT(e, xmem_dma_testdev_unmap_direct(dead_td(), TD_IOVA, PAGE4K));
}
static void c_td_unmap_direct_not_exact(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
	if (CHECK_OK(xmem_dma_testdev_map_direct(t, TD_VA, TD_IOVA, 4 * PAGE4K))) {
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA + PAGE4K, 3 * PAGE4K));
		EXPECT(e, xmem_dma_testdev_unmap_direct(t, TD_IOVA, 8 * PAGE4K));
		CHECK_OK(xmem_dma_testdev_unmap_direct(t, TD_IOVA, 4 * PAGE4K));
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_get_stats_null(struct env *e)
{
	struct xmem_dma_testdev_stats st;
	EXPECT(e, xmem_dma_testdev_get_stats(NULL, &st));
	struct xmem_dma_testdev *t = live_td();
	if (CHECK(t)) {
		EXPECT(e, xmem_dma_testdev_get_stats(t, NULL));
		CHECK_OK(xmem_dma_testdev_destroy(t));
	}
}
static void c_td_get_stats_dead(struct env *e)
{
	struct xmem_dma_testdev_stats st;
	EXPECT(e, xmem_dma_testdev_get_stats(dead_td(), &st));
}
static void c_td_call_null(struct env *e)
{
	struct xmem_dma_testdev_call c;
	EXPECT(e, xmem_dma_testdev_call(NULL, 0, &c));
	struct xmem_dma_testdev *t = live_td();
	if (CHECK(t)) {
		EXPECT(e, xmem_dma_testdev_call(t, 0, NULL));
		CHECK_OK(xmem_dma_testdev_destroy(t));
	}
}
static void c_td_call_dead(struct env *e)
{
	struct xmem_dma_testdev_call c;
	EXPECT(e, xmem_dma_testdev_call(dead_td(), 0, &c));
}
static void c_td_call_out_of_range(struct env *e)
{
	struct xmem_dma_testdev *t = live_td();
	if (!CHECK(t))
		return;
	struct xmem_dma_testdev_stats st;
	struct xmem_dma_testdev_call c;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.map_calls, 2);              /* the replay mapped two regions */
	CHECK_OK(xmem_dma_testdev_call(t, 1, &c));
	EXPECT(e, xmem_dma_testdev_call(t, 2, &c));
	EXPECT(e, xmem_dma_testdev_call(t, UINT64_MAX, &c));
	CHECK_OK(xmem_dma_testdev_clear_log(t));
	EXPECT(e, xmem_dma_testdev_call(t, 0, &c));
	CHECK_OK(xmem_dma_testdev_destroy(t));
}
static void c_td_clear_log_null(struct env *e) { EXPECT(e, xmem_dma_testdev_clear_log(NULL)); }
static void c_td_clear_log_dead(struct env *e) { EXPECT(e, xmem_dma_testdev_clear_log(dead_td())); }

static long count_of_sub;
static int count_sub_fn(const char *sub, const struct xmem_dma_mapping *m, void *arg)
{
	(void)sub, (void)m, (void)arg;
	count_of_sub++;
	return 0;
}

static void c_dma_unsubscribe_unmap_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	struct xmem_dma_subscriber *s = xmem_dma_testdev_subscriber(t);
	struct xmem_dma_testdev_stats st;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	uint64_t before = st.entries;
	CHECK_OK(xmem_dma_testdev_inject(t, XMEM_TESTDEV_FAULT_SHORT_UNMAP, 0));
	unmap_log_lines = 0;
	xmem_set_log(capture_unmap);
	EXPECT(e, xmem_dma_unsubscribe(s));
	xmem_set_log(capture);
	CHECK_GE(unmap_log_lines, 1);
	/* Still subscribed, nothing changed: the device maps what it mapped
	 * before, and the registry says so. */
	CHECK(xmem_dma_subscriber_lookup("err-td") == s);
	count_of_sub = 0;
	xmem_dma_mapping_walk(s, count_sub_fn, NULL);
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, before);
	CHECK_EQ((uint64_t)count_of_sub, st.entries);
	CHECK_OK(xmem_dma_unsubscribe(s));   /* the retry */
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st));
	CHECK_EQ(st.entries, 0);
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

/* ------------------------------------------------------------ the cases */

const struct xcase cases_dma[] = {
	C("dma_set_iova_mode.unknown", xmem_dma_set_iova_mode, c_dma_set_iova_mode_unknown),
	C("dma_get_iova_mode.no_input", xmem_dma_get_iova_mode, c_dma_get_iova_mode_no_input),
	C("dma_set_iova_ranges.null", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_null),
	C("dma_set_iova_ranges.zero_n", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_zero_n),
	C("dma_set_iova_ranges.too_many", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_too_many),
	C("dma_set_iova_ranges.reversed", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_reversed),
	C("dma_set_iova_ranges.overlap", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_overlap),
	C("dma_set_iova_ranges.in_use", xmem_dma_set_iova_ranges, c_dma_set_iova_ranges_in_use),
	C("dma_subscribe.null_name", xmem_dma_subscribe, c_dma_subscribe_null_name),
	C("dma_subscribe.empty_name", xmem_dma_subscribe, c_dma_subscribe_empty_name),
	C("dma_subscribe.long_name", xmem_dma_subscribe, c_dma_subscribe_long_name),
	C("dma_subscribe.null_ops", xmem_dma_subscribe, c_dma_subscribe_null_ops),
	C("dma_subscribe.no_callback", xmem_dma_subscribe, c_dma_subscribe_no_callback),
	C("dma_subscribe.map_without_unmap", xmem_dma_subscribe, c_dma_subscribe_map_without_unmap),
	C("dma_subscribe.duplicate", xmem_dma_subscribe, c_dma_subscribe_duplicate),
	C("dma_subscribe.no_entries", xmem_dma_subscribe, c_dma_subscribe_no_entries),
	C("dma_subscribe.replay_veto", xmem_dma_subscribe, c_dma_subscribe_replay_veto),
	C("dma_subscribe.replay_map_fails", xmem_dma_subscribe, c_dma_subscribe_replay_map_fails),
	C("dma_subscribe.no_metadata", xmem_dma_subscribe, c_dma_subscribe_no_metadata),
	C("mem_event_register.null_fn", xmem_mem_event_register, c_mem_event_register_null_fn),
	C("mem_event_register.bad_name", xmem_mem_event_register, c_mem_event_register_bad_name),
	C("mem_event_register.duplicate", xmem_mem_event_register, c_mem_event_register_duplicate),
	C("dma_unsubscribe.null", xmem_dma_unsubscribe, c_dma_unsubscribe_null),
	C("dma_unsubscribe.dead", xmem_dma_unsubscribe, c_dma_unsubscribe_dead),
	C("dma_unsubscribe.foreign", xmem_dma_unsubscribe, c_dma_unsubscribe_foreign),
	C("dma_unsubscribe.unmap_fails", xmem_dma_unsubscribe, c_dma_unsubscribe_unmap_fails),
	C("dma_subscriber_lookup.null", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_null),
	C("dma_subscriber_lookup.empty", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_empty),
	C("dma_subscriber_lookup.unknown", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_unknown),
	C("dma_subscriber_lookup.unsubscribed", xmem_dma_subscriber_lookup, c_dma_subscriber_lookup_unsubscribed),
	C("dma_mapping_walk.null_fn", xmem_dma_mapping_walk, c_dma_mapping_walk_null_fn),
	C("dma_mapping_walk.dead", xmem_dma_mapping_walk, c_dma_mapping_walk_dead),
	C("dma_get_stats.null", xmem_dma_get_stats, c_dma_get_stats_null),
	C("dma_get_stats.dead", xmem_dma_get_stats, c_dma_get_stats_dead),
	C("dma_testdev_create.bad_name", xmem_dma_testdev_create, c_td_create_bad_name),
	C("dma_testdev_create.duplicate", xmem_dma_testdev_create, c_td_create_duplicate),
	C("dma_testdev_create.no_entries", xmem_dma_testdev_create, c_td_create_no_entries),
	C("dma_testdev_create.no_metadata", xmem_dma_testdev_create, c_td_create_no_metadata),
	C("dma_testdev_destroy.null", xmem_dma_testdev_destroy, c_td_destroy_null),
	C("dma_testdev_destroy.dead", xmem_dma_testdev_destroy, c_td_destroy_dead),
	C("dma_testdev_subscriber.null", xmem_dma_testdev_subscriber, c_td_subscriber_null),
	C("dma_testdev_subscriber.dead", xmem_dma_testdev_subscriber, c_td_subscriber_dead),
	C("dma_testdev_inject.null", xmem_dma_testdev_inject, c_td_inject_null),
	C("dma_testdev_inject.unknown_fault", xmem_dma_testdev_inject, c_td_inject_unknown_fault),
	C("dma_testdev_inject.dead", xmem_dma_testdev_inject, c_td_inject_dead),
	C("dma_testdev_map_direct.null", xmem_dma_testdev_map_direct, c_td_map_direct_null),
	C("dma_testdev_map_direct.zero_len", xmem_dma_testdev_map_direct, c_td_map_direct_zero_len),
	C("dma_testdev_map_direct.misaligned", xmem_dma_testdev_map_direct, c_td_map_direct_misaligned),
	C("dma_testdev_map_direct.dead", xmem_dma_testdev_map_direct, c_td_map_direct_dead),
	C("dma_testdev_map_direct.overlap", xmem_dma_testdev_map_direct, c_td_map_direct_overlap),
	C("dma_testdev_unmap_direct.null", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_null),
	C("dma_testdev_unmap_direct.zero_len", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_zero_len),
	C("dma_testdev_unmap_direct.misaligned", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_misaligned),
	C("dma_testdev_unmap_direct.dead", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_dead),
	C("dma_testdev_unmap_direct.not_exact", xmem_dma_testdev_unmap_direct, c_td_unmap_direct_not_exact),
	C("dma_testdev_get_stats.null", xmem_dma_testdev_get_stats, c_td_get_stats_null),
	C("dma_testdev_get_stats.dead", xmem_dma_testdev_get_stats, c_td_get_stats_dead),
	C("dma_testdev_call.null", xmem_dma_testdev_call, c_td_call_null),
	C("dma_testdev_call.dead", xmem_dma_testdev_call, c_td_call_dead),
	C("dma_testdev_call.out_of_range", xmem_dma_testdev_call, c_td_call_out_of_range),
	C("dma_testdev_clear_log.null", xmem_dma_testdev_clear_log, c_td_clear_log_null),
	C("dma_testdev_clear_log.dead", xmem_dma_testdev_clear_log, c_td_clear_log_dead),
};

const size_t n_cases_dma = sizeof cases_dma / sizeof cases_dma[0];
