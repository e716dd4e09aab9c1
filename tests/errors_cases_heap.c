/* errors_cases_heap.c - the cases of docs/errors.md for xmem.h's heaps and
 * their memory: heap_create ... heap_name, heap_add_memory,
 * heap_remove_memory, register and unregister (with their failing unmaps
 * and bad IOVA tables).  errors_test.c drives them. */
#include "errors_test.h"

/* ------------------------------------------------------ xmem.h: heaps */

static void c_heap_create_null(struct env *e) { EXPECT(e, xmem_heap_create(NULL)); }
static void c_heap_create_empty(struct env *e) { EXPECT(e, xmem_heap_create("")); }

static void c_heap_create_too_long(struct env *e)
{
	EXPECT(e, xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX)));
	EXPECT(e, xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX + 40)));
	/* the longest valid name is fine */
	struct xmem_heap *h = xmem_heap_create(long_name(XMEM_HEAP_NAME_MAX - 1));
	if (CHECK(h))
		CHECK_OK(xmem_heap_destroy(h));
}

static void c_heap_create_duplicate(struct env *e)
{
	EXPECT(e, xmem_heap_create("err-scratch"));
	EXPECT(e, xmem_heap_create("err-witness"));
}

static void c_heap_create_full(struct env *e)
{
	struct xmem_heap *hs[XMEM_MAX_HEAPS];
	int n = 0;
	char name[XMEM_HEAP_NAME_MAX];
	for (; n < XMEM_MAX_HEAPS; n++) {
		snprintf(name, sizeof name, "err-full-%d", n);
		if (!(hs[n] = xmem_heap_create(name)))
			break;
	}
	CHECK_EQ(n, XMEM_MAX_HEAPS - 2);        /* scratch and witness exist */
	EXPECT(e, xmem_heap_create("err-one-more"));
	for (int i = 0; i < n; i++)
		CHECK_OK(xmem_heap_destroy(hs[i]));
}

static bool try_heap_create(struct env *e, uint64_t *v, int *err)
{
	(void)e;
	struct xmem_heap *h = xmem_heap_create("err-nomem");
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uintptr_t)h;
	if (h) {
		CHECK_OK(xmem_heap_destroy(h));
		return true;
	}
	CHECK_EQ(xmem_heap_lookup("err-nomem"), NULL);
	return false;
}

/* Test-only hook (alloc/heap.c): dead heap descriptors are reused by the
 * next create without a metadata allocation; give them back first. */
void xm_heap_descs_release(void);

static void c_heap_create_no_metadata(struct env *e)
{
	xm_heap_descs_release();
	fault_loop(e, "xmem_heap_create", try_heap_create);
}

static void c_heap_destroy_null(struct env *e) { EXPECT(e, xmem_heap_destroy(NULL)); }

static void c_heap_destroy_dead(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-twice");
	if (!CHECK(h))
		return;
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_destroy(h));
}

static void c_heap_destroy_foreign(struct env *e) { EXPECT(e, xmem_heap_destroy(foreign_heap())); }

static void c_heap_destroy_has_memory(struct env *e)
{
	EXPECT(e, xmem_heap_destroy(e->h));
	EXPECT(e, xmem_heap_destroy(W.h));
	CHECK(xmem_heap_lookup("err-scratch") == e->h);
}

static void c_heap_lookup_null(struct env *e) { EXPECT(e, xmem_heap_lookup(NULL)); }
static void c_heap_lookup_empty(struct env *e) { EXPECT(e, xmem_heap_lookup("")); }
static void c_heap_lookup_too_long(struct env *e)
{
	EXPECT(e, xmem_heap_lookup(long_name(XMEM_HEAP_NAME_MAX)));
}
static void c_heap_lookup_unknown(struct env *e) { EXPECT(e, xmem_heap_lookup("err-nobody")); }

static void c_heap_lookup_destroyed(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-gone");
	if (!CHECK(h))
		return;
	CHECK(xmem_heap_lookup("err-gone") == h);
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_lookup("err-gone"));
}

static void c_heap_id_null(struct env *e) { EXPECT(e, xmem_heap_id(NULL)); }
static void c_heap_id_dead(struct env *e) { EXPECT(e, xmem_heap_id(dead_heap())); }
static void c_heap_id_foreign(struct env *e) { EXPECT(e, xmem_heap_id(foreign_heap())); }

static void c_heap_from_id_negative(struct env *e)
{
	EXPECT(e, xmem_heap_from_id(-1));
	EXPECT(e, xmem_heap_from_id(INT_MIN));
}

static void c_heap_from_id_too_big(struct env *e)
{
	EXPECT(e, xmem_heap_from_id(XMEM_MAX_HEAPS));
	EXPECT(e, xmem_heap_from_id(INT_MAX));
}

static void c_heap_from_id_unused(struct env *e)
{
	int id = -1;
	int err = errno;
	for (int i = XMEM_MAX_HEAPS - 1; i >= 0 && id < 0; i--)
		if (!xmem_heap_from_id(i))
			id = i;
	errno = err;
	if (CHECK(id >= 0))
		EXPECT(e, xmem_heap_from_id(id));
}

static void c_heap_from_id_destroyed(struct env *e)
{
	struct xmem_heap *h = xmem_heap_create("err-gone");
	if (!CHECK(h))
		return;
	int id = xmem_heap_id(h);
	CHECK(xmem_heap_from_id(id) == h);
	CHECK_OK(xmem_heap_destroy(h));
	EXPECT(e, xmem_heap_from_id(id));
}

static void c_heap_name_null(struct env *e) { EXPECT(e, xmem_heap_name(NULL)); }
static void c_heap_name_dead(struct env *e) { EXPECT(e, xmem_heap_name(dead_heap())); }
static void c_heap_name_foreign(struct env *e) { EXPECT(e, xmem_heap_name(foreign_heap())); }

/* ------------------------------------------ xmem.h: add and remove memory */

static void c_add_null_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(NULL, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_dead_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(dead_heap(), e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_foreign_heap(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(foreign_heap(), e->spare, SPARE_LEN, NULL, 0, PAGE4K));
}
static void c_add_null_va(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, NULL, SPARE_LEN, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, NULL, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
}
static void c_add_zero_len(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, 0, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, 0, e->spare_tab, 0, PAGE4K));
}
static void c_add_page_size_not_pow2(struct env *e)
{
	static const size_t ps[] = {12288, 5000, SIZE_MAX, 3 * PAGE2M};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_add_page_size_small(struct env *e)
{
	static const size_t ps[] = {0, 1, 2048};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_add_page_size_big(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0,
				       XMEM_PAGE_SIZE_MAX * 2));
}
static void c_add_va_misaligned(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + 1, SPARE_LEN - PAGE4K, NULL, 0, PAGE4K));
	/* the spare is 2 MiB aligned: spare + 4 KiB is not, for 2 MiB pages */
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE2M));
}
static void c_add_len_misaligned(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN - 1, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, PAGE2M + PAGE4K, NULL, 0, PAGE2M));
}
static void c_add_n_pages_table(struct env *e)
{
	static const size_t n[] = {0, SPARE_PAGES - 1, SPARE_PAGES + 1};
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, n[i], PAGE4K));
}
static void c_add_n_pages_no_table(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 1, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, SPARE_PAGES + 1, PAGE4K));
}
static void c_add_beyond_va_bits(struct env *e)
{
	uintptr_t top = (uintptr_t)1 << XMEM_VA_BITS;
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)(top - PAGE4K), 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)top, PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)PAGE4K, top + PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, (void *)(uintptr_t)-PAGE4K, PAGE4K, NULL, 0, PAGE4K));
}
static void c_add_same_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_add_memory(e->h, e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va, e->len, e->tab, e->len / PAGE4K, PAGE4K));
}
static void c_add_overlap_partial(struct env *e)
{
	/* starts inside, ends inside, contains */
	EXPECT(e, xmem_heap_add_memory(e->h, e->va + e->len - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->map, e->len + 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->va + PAGE4K, PAGE4K, NULL, 0, PAGE4K));
}
static void c_add_overlap_other_heap(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-other");
	if (!CHECK(o))
		return;
	e->x = o;
	EXPECT(e, xmem_heap_add_memory(o, e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(o, e->va + PAGE2M, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(o, W.va, PAGE4K, NULL, 0, PAGE4K));
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}
static void c_add_overlap_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare + PAGE4K, SPARE_LEN - PAGE4K, NULL, 0, PAGE4K));
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}

static bool try_add(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
		CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_FAILS_PTR(xmem_iova2virt(SPARE_IOVA), ENOENT);
	return false;
}
/* Removal rebuilds the IOVA search table: ENOMEM before anything changed. */
static bool try_remove(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_heap_remove_memory(e->x, e->spare, SPARE_LEN);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
	CHECK(xmem_iova2virt(SPARE_IOVA) == e->spare);
	void *p = xmem_alloc(e->x, 100000, 0);   /* the chunk still serves */
	CHECK(p != NULL);
	xmem_free(p);
	return false;
}
static void c_remove_no_metadata(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-nomem");
	if (!CHECK(o))
		return;
	if (CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		fault_loop(e, "xmem_heap_remove_memory", try_remove);
		e->x = NULL;
	}
	CHECK_OK(xmem_heap_destroy(o));
}

static void c_add_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_heap_add_memory", try_add);
}

/* A memory-event subscriber that vetoes the ADD of the region at ctx with
 * veto_errno (0: a veto without a reason) and accepts every other one. */
static int veto_errno;
static int ev_veto(void *ctx, enum xmem_mem_event ev, const struct xmem_dma_region_info *r)
{
	if (ev != XMEM_MEM_EVENT_ADD || r->va != ctx)
		return 0;
	errno = veto_errno;
	return -1;
}

static void c_add_subscriber_veto(struct env *e)
{
	veto_errno = EPERM;
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-veto", ev_veto, e->spare);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	CHECK_OK(xmem_dma_unsubscribe(s));
}

/* A test device with room for the entries of the regions that exist (one
 * run each) and no more. */
static void c_add_subscriber_no_entries(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 2);
	if (!CHECK(t))
		return;
	struct xmem_dma_testdev_stats st0, st1;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st0));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st1));
	CHECK_EQ(st1.entries, st0.entries);
	CHECK_EQ(st1.map_calls, st0.map_calls);   /* failed before any map */
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

static void c_add_map_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	/* Scattered IOVAs: several runs; the second map call fails, the first
	 * must be unmapped again. */
	for (size_t i = 0; i < SPARE_PAGES; i++)
		e->spare_tab[i] = SPARE_IOVA + (i / 512) * 4 * PAGE2M + (i % 512) * PAGE4K;
	struct xmem_dma_testdev_stats st0, st1;
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st0));
	CHECK_OK(xmem_dma_testdev_inject(t, XMEM_TESTDEV_FAULT_MAP_EFAULT, 1));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_dma_testdev_get_stats(t, &st1));
	CHECK_EQ(st1.entries, st0.entries);
	CHECK_EQ(st1.mapped_bytes, st0.mapped_bytes);
	CHECK_EQ(st1.faults_fired, st0.faults_fired + 1);
	CHECK_OK(xmem_dma_testdev_destroy(t));
	free(e->spare_tab);
	e->spare_tab = xt_linear_table(SPARE_IOVA, SPARE_PAGES, PAGE4K);
}

static void c_add_assign_full(struct env *e)
{
	struct xmem_iova_range small = {(uint64_t)1 << 40, ((uint64_t)1 << 40) + 16 * PAGE4K - 1};
	CHECK_OK(xmem_dma_set_iova_ranges(&small, 1));
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	/* what fits still works */
	if (CHECK_OK(xmem_register(e->spare, 16 * PAGE4K, NULL, 0, PAGE4K))) {
		CHECK_EQ(xmem_virt2iova(e->spare), (uint64_t)1 << 40);
		CHECK_OK(xmem_unregister(e->spare, 16 * PAGE4K));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
	CHECK_OK(xmem_dma_set_iova_ranges(&default_range, 1));
}

static void c_add_assign_table_conflict(struct env *e)
{
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN));
	size_t half = SPARE_LEN / 2;
	if (CHECK_OK(xmem_register(e->spare, half, NULL, 0, PAGE4K))) {
		uint64_t base = xmem_virt2iova(e->spare);
		CHECK_NE(base, XMEM_BAD_IOVA);
		uint64_t *t = xt_linear_table(base + PAGE4K, half / PAGE4K, PAGE4K);
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare + half, half, t, half / PAGE4K, PAGE4K));
		free(t);
		CHECK_OK(xmem_unregister(e->spare, half));
	}
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}

static void c_add_pa_not_resident(struct env *e)
{
	/* The spare was never touched: no page is present. */
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_PA));
	EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K));
	CHECK_OK(xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE));
}

static void c_remove_null_heap(struct env *e) { EXPECT(e, xmem_heap_remove_memory(NULL, e->va, e->len)); }
static void c_remove_dead_heap(struct env *e) { EXPECT(e, xmem_heap_remove_memory(dead_heap(), e->va, e->len)); }
static void c_remove_null_va(struct env *e) { EXPECT(e, xmem_heap_remove_memory(e->h, NULL, e->len)); }
static void c_remove_zero_len(struct env *e) { EXPECT(e, xmem_heap_remove_memory(e->h, e->va, 0)); }
static void c_remove_not_a_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	int x;
	EXPECT(e, xmem_heap_remove_memory(e->h, &x, sizeof x));
}
static void c_remove_part_of_chunk(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len - PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va + PAGE4K, e->len - PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len + PAGE4K));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va - PAGE4K, e->len + PAGE4K));
}
static void c_remove_two_chunks(struct env *e)
{
	/* The spare's first half and second half as two chunks. */
	size_t half = SPARE_LEN / 2;
	if (!CHECK_OK(xmem_heap_add_memory(e->h, e->spare, half, NULL, 0, PAGE4K)))
		return;
	if (CHECK_OK(xmem_heap_add_memory(e->h, e->spare + half, half, NULL, 0, PAGE4K))) {
		EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
		CHECK_OK(xmem_heap_remove_memory(e->h, e->spare + half, half));
	}
	CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, half));
}
static void c_remove_other_heap(struct env *e)
{
	EXPECT(e, xmem_heap_remove_memory(e->h, W.va, 4 * MiB));
	EXPECT(e, xmem_heap_remove_memory(W.h, e->va, e->len));
}
static void c_remove_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void c_remove_removed(struct env *e)
{
	if (!CHECK_OK(xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	CHECK_OK(xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
	EXPECT(e, xmem_heap_remove_memory(e->h, e->spare, SPARE_LEN));
}
static void c_remove_in_use(struct env *e)
{
	/* The scratch chunk holds a small, a class and a large block. */
	EXPECT(e, xmem_heap_remove_memory(e->h, e->va, e->len));
	/* Each kind alone, in a chunk of its own. */
	struct xmem_heap *o = xmem_heap_create("err-busy");
	if (!CHECK(o))
		return;
	e->x = o;
	static const size_t sizes[] = {16, 64, 3000, XMEM_MAX_CLASS_SIZE, 200000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		if (!CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
			break;
		void *p = xmem_alloc(o, sizes[i], 0);
		CHECK(p != NULL);
		EXPECT(e, xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
		xmem_free(p);
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
	}
	e->x = NULL;
	CHECK_OK(xmem_heap_destroy(o));
}

/* ------------------------------------------ xmem.h: register, unregister */

static void c_register_null_va(struct env *e) { EXPECT(e, xmem_register(NULL, SPARE_LEN, NULL, 0, PAGE4K)); }
static void c_register_zero_len(struct env *e) { EXPECT(e, xmem_register(e->spare, 0, NULL, 0, PAGE4K)); }
static void c_register_page_size(struct env *e)
{
	static const size_t ps[] = {0, 2048, 12288, XMEM_PAGE_SIZE_MAX * 2};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		EXPECT(e, xmem_register(e->spare, SPARE_LEN, NULL, 0, ps[i]));
}
static void c_register_misaligned(struct env *e)
{
	EXPECT(e, xmem_register(e->spare + 8, PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, PAGE4K + 8, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE2M));
}
static void c_register_n_pages(struct env *e)
{
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES - 1, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, NULL, 7, PAGE4K));
}
static void c_register_beyond_va_bits(struct env *e)
{
	uintptr_t top = (uintptr_t)1 << XMEM_VA_BITS;
	EXPECT(e, xmem_register((void *)(top - PAGE4K), 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register((void *)(uintptr_t)-PAGE2M, PAGE2M, NULL, 0, PAGE2M));
}
static void c_register_overlap_heap(struct env *e)
{
	EXPECT(e, xmem_register(e->va, e->len, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->va + e->len - PAGE4K, 2 * PAGE4K, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(W.va, PAGE4K, NULL, 0, PAGE4K));
}
static void c_register_overlap_registered(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare + PAGE4K, PAGE2M, NULL, 0, PAGE4K));
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}

static bool try_register(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare + 5), SPARE_IOVA + 5);
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_FAILS_PTR(xmem_iova2virt(SPARE_IOVA), ENOENT);
	return false;
}
static void c_register_no_metadata(struct env *e)
{
	fault_loop(e, "xmem_register", try_register);
}
static bool try_unregister(struct env *e, uint64_t *v, int *err)
{
	int rc = xmem_unregister(e->spare, SPARE_LEN);
	*err = errno;
	xm_meta_fail_nth(0);
	*v = (uint64_t)(int64_t)rc;
	if (rc == 0) {
		CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
		return true;
	}
	CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);
	return false;
}

static void c_register_subscriber_veto(struct env *e)
{
	veto_errno = 0;
	struct xmem_dma_subscriber *s = xmem_mem_event_register("err-veto", ev_veto, e->spare);
	if (!CHECK(s))
		return;
	EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K));
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA);
	CHECK_OK(xmem_dma_unsubscribe(s));
}

static void c_unregister_null_va(struct env *e) { EXPECT(e, xmem_unregister(NULL, SPARE_LEN)); }
static void c_unregister_zero_len(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_unregister(e->spare, 0));
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
}
static void c_unregister_unknown(struct env *e)
{
	EXPECT(e, xmem_unregister(e->spare, SPARE_LEN));
	int x;
	EXPECT(e, xmem_unregister(&x, sizeof x));
}
static void c_unregister_part(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, PAGE2M, NULL, 0, PAGE4K)))
		return;
	EXPECT(e, xmem_unregister(e->spare, PAGE4K));
	EXPECT(e, xmem_unregister(e->spare + PAGE4K, PAGE2M - PAGE4K));
	EXPECT(e, xmem_unregister(e->spare, 2 * PAGE2M));
	CHECK_EQ(xmem_virt2iova(e->spare), XMEM_BAD_IOVA); /* still registered, no table */
	CHECK_OK(xmem_unregister(e->spare, PAGE2M));
}
static void c_unregister_heap_chunk(struct env *e)
{
	EXPECT(e, xmem_unregister(e->va, e->len));
	EXPECT(e, xmem_unregister(W.va, 4 * MiB));
	CHECK_EQ(xmem_virt2iova(e->va), SCRATCH_IOVA);
}
static void c_unregister_no_metadata(struct env *e)
{
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K)))
		fault_loop(e, "xmem_unregister", try_unregister);
}
static void c_unregister_twice(struct env *e)
{
	if (!CHECK_OK(xmem_register(e->spare, SPARE_LEN, NULL, 0, PAGE4K)))
		return;
	CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));
	EXPECT(e, xmem_unregister(e->spare, SPARE_LEN));
}

/* ------------------------------------- unmap failures, the IOVA rule */

/* One call with a short unmap armed on t: the row's result, nothing
 * changed (the harness compares the heaps; here the device), one line
 * logged, and the region still translated. */
#define EXPECT_UNMAP_FAILS(e, t, expr)                                           \
	do {                                                                     \
		struct xmem_dma_testdev_stats a_, b_;                            \
		CHECK_OK(xmem_dma_testdev_get_stats((t), &a_));                  \
		CHECK_OK(xmem_dma_testdev_inject((t), XMEM_TESTDEV_FAULT_SHORT_UNMAP, 0)); \
		unmap_log_lines = 0;                                             \
		xmem_set_log(capture_unmap);                                     \
		EXPECT(e, expr);                                                 \
		xmem_set_log(capture);                                           \
		CHECK_OK(xmem_dma_testdev_get_stats((t), &b_));                  \
		CHECK_EQ(b_.entries, a_.entries);                                \
		CHECK_EQ(b_.mapped_bytes, a_.mapped_bytes);                      \
		CHECK_GE(unmap_log_lines, 1);                                    \
		CHECK_EQ(xmem_virt2iova(e->spare), SPARE_IOVA);                  \
	} while (0)

static void c_remove_unmap_fails(struct env *e)
{
	struct xmem_heap *o = xmem_heap_create("err-eio");
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (CHECK(o) && CHECK(t) &&
	    CHECK_OK(xmem_heap_add_memory(o, e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		e->x = o;
		EXPECT_UNMAP_FAILS(e, t, xmem_heap_remove_memory(o, e->spare, SPARE_LEN));
		void *p = xmem_alloc(o, 100000, 0);   /* the chunk still serves */
		CHECK(p != NULL);
		xmem_free(p);
		e->x = NULL;
		CHECK_OK(xmem_heap_remove_memory(o, e->spare, SPARE_LEN));   /* the retry */
	}
	if (t)
		CHECK_OK(xmem_dma_testdev_destroy(t));
	if (o)
		CHECK_OK(xmem_heap_destroy(o));
}

static void c_unregister_unmap_fails(struct env *e)
{
	struct xmem_dma_testdev *t = xmem_dma_testdev_create("err-td", 0);
	if (!CHECK(t))
		return;
	if (CHECK_OK(xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES, PAGE4K))) {
		EXPECT_UNMAP_FAILS(e, t, xmem_unregister(e->spare, SPARE_LEN));
		CHECK_OK(xmem_unregister(e->spare, SPARE_LEN));   /* the retry */
	}
	CHECK_OK(xmem_dma_testdev_destroy(t));
}

/* Table entries the IOMMU layer could not map: EINVAL in the core. */
static void bad_iova_tables(struct env *e, bool heap)
{
	/* Off by 8 bytes; aligned but its page ends at 2^64; neither. */
	static const uint64_t bad[] = {SPARE_IOVA + 8, UINT64_MAX - PAGE4K + 1,
				       UINT64_MAX - 7};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		uint64_t keep = e->spare_tab[3];
		e->spare_tab[3] = bad[k];
		if (heap)
			EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, e->spare_tab,
						       SPARE_PAGES, PAGE4K));
		else
			EXPECT(e, xmem_register(e->spare, SPARE_LEN, e->spare_tab, SPARE_PAGES,
						PAGE4K));
		e->spare_tab[3] = keep;
	}
	/* 4 KiB-aligned but not 2 MiB-aligned, with 2 MiB pages. */
	uint64_t t2[SPARE_LEN / PAGE2M];
	for (size_t i = 0; i < SPARE_LEN / PAGE2M; i++)
		t2[i] = SPARE_IOVA + i * PAGE2M + PAGE4K;
	if (heap)
		EXPECT(e, xmem_heap_add_memory(e->h, e->spare, SPARE_LEN, t2, SPARE_LEN / PAGE2M, PAGE2M));
	else
		EXPECT(e, xmem_register(e->spare, SPARE_LEN, t2, SPARE_LEN / PAGE2M, PAGE2M));
}
static void c_add_bad_iova(struct env *e) { bad_iova_tables(e, true); }
static void c_register_bad_iova(struct env *e) { bad_iova_tables(e, false); }

/* ------------------------------------------------------------ the cases */

const struct xcase cases_heap[] = {
	C("heap_create.null", xmem_heap_create, c_heap_create_null),
	C("heap_create.empty", xmem_heap_create, c_heap_create_empty),
	C("heap_create.too_long", xmem_heap_create, c_heap_create_too_long),
	C("heap_create.duplicate", xmem_heap_create, c_heap_create_duplicate),
	C("heap_create.full", xmem_heap_create, c_heap_create_full),
	C("heap_create.no_metadata", xmem_heap_create, c_heap_create_no_metadata),
	C("heap_destroy.null", xmem_heap_destroy, c_heap_destroy_null),
	C("heap_destroy.dead", xmem_heap_destroy, c_heap_destroy_dead),
	C("heap_destroy.foreign", xmem_heap_destroy, c_heap_destroy_foreign),
	C("heap_destroy.has_memory", xmem_heap_destroy, c_heap_destroy_has_memory),
	C("heap_lookup.null", xmem_heap_lookup, c_heap_lookup_null),
	C("heap_lookup.empty", xmem_heap_lookup, c_heap_lookup_empty),
	C("heap_lookup.too_long", xmem_heap_lookup, c_heap_lookup_too_long),
	C("heap_lookup.unknown", xmem_heap_lookup, c_heap_lookup_unknown),
	C("heap_lookup.destroyed", xmem_heap_lookup, c_heap_lookup_destroyed),
	C("heap_id.null", xmem_heap_id, c_heap_id_null),
	C("heap_id.dead", xmem_heap_id, c_heap_id_dead),
	C("heap_id.foreign", xmem_heap_id, c_heap_id_foreign),
	C("heap_from_id.negative", xmem_heap_from_id, c_heap_from_id_negative),
	C("heap_from_id.too_big", xmem_heap_from_id, c_heap_from_id_too_big),
	C("heap_from_id.unused", xmem_heap_from_id, c_heap_from_id_unused),
	C("heap_from_id.destroyed", xmem_heap_from_id, c_heap_from_id_destroyed),
	C("heap_name.null", xmem_heap_name, c_heap_name_null),
	C("heap_name.dead", xmem_heap_name, c_heap_name_dead),
	C("heap_name.foreign", xmem_heap_name, c_heap_name_foreign),

	C("heap_add_memory.null_heap", xmem_heap_add_memory, c_add_null_heap),
	C("heap_add_memory.dead_heap", xmem_heap_add_memory, c_add_dead_heap),
	C("heap_add_memory.foreign_heap", xmem_heap_add_memory, c_add_foreign_heap),
	C("heap_add_memory.null_va", xmem_heap_add_memory, c_add_null_va),
	C("heap_add_memory.zero_len", xmem_heap_add_memory, c_add_zero_len),
	C("heap_add_memory.page_size_not_pow2", xmem_heap_add_memory, c_add_page_size_not_pow2),
	C("heap_add_memory.page_size_small", xmem_heap_add_memory, c_add_page_size_small),
	C("heap_add_memory.page_size_big", xmem_heap_add_memory, c_add_page_size_big),
	C("heap_add_memory.va_misaligned", xmem_heap_add_memory, c_add_va_misaligned),
	C("heap_add_memory.len_misaligned", xmem_heap_add_memory, c_add_len_misaligned),
	C("heap_add_memory.n_pages_table", xmem_heap_add_memory, c_add_n_pages_table),
	C("heap_add_memory.n_pages_no_table", xmem_heap_add_memory, c_add_n_pages_no_table),
	C("heap_add_memory.beyond_va_bits", xmem_heap_add_memory, c_add_beyond_va_bits),
	C("heap_add_memory.same_chunk", xmem_heap_add_memory, c_add_same_chunk),
	C("heap_add_memory.overlap_partial", xmem_heap_add_memory, c_add_overlap_partial),
	C("heap_add_memory.overlap_other_heap", xmem_heap_add_memory, c_add_overlap_other_heap),
	C("heap_add_memory.overlap_registered", xmem_heap_add_memory, c_add_overlap_registered),
	C("heap_add_memory.no_metadata", xmem_heap_add_memory, c_add_no_metadata),
	C("heap_add_memory.subscriber_veto", xmem_heap_add_memory, c_add_subscriber_veto),
	C("heap_add_memory.subscriber_no_entries", xmem_heap_add_memory, c_add_subscriber_no_entries),
	C("heap_add_memory.map_fails", xmem_heap_add_memory, c_add_map_fails),
	C("heap_add_memory.assign_full", xmem_heap_add_memory, c_add_assign_full),
	C("heap_add_memory.assign_table_conflict", xmem_heap_add_memory, c_add_assign_table_conflict),
	C("heap_add_memory.pa_not_resident", xmem_heap_add_memory, c_add_pa_not_resident),
	C("heap_add_memory.bad_iova", xmem_heap_add_memory, c_add_bad_iova),
	C("heap_remove_memory.null_heap", xmem_heap_remove_memory, c_remove_null_heap),
	C("heap_remove_memory.dead_heap", xmem_heap_remove_memory, c_remove_dead_heap),
	C("heap_remove_memory.null_va", xmem_heap_remove_memory, c_remove_null_va),
	C("heap_remove_memory.zero_len", xmem_heap_remove_memory, c_remove_zero_len),
	C("heap_remove_memory.not_a_chunk", xmem_heap_remove_memory, c_remove_not_a_chunk),
	C("heap_remove_memory.part_of_chunk", xmem_heap_remove_memory, c_remove_part_of_chunk),
	C("heap_remove_memory.two_chunks", xmem_heap_remove_memory, c_remove_two_chunks),
	C("heap_remove_memory.other_heap", xmem_heap_remove_memory, c_remove_other_heap),
	C("heap_remove_memory.registered", xmem_heap_remove_memory, c_remove_registered),
	C("heap_remove_memory.removed", xmem_heap_remove_memory, c_remove_removed),
	C("heap_remove_memory.in_use", xmem_heap_remove_memory, c_remove_in_use),
	C("heap_remove_memory.no_metadata", xmem_heap_remove_memory, c_remove_no_metadata),
	C("heap_remove_memory.unmap_fails", xmem_heap_remove_memory, c_remove_unmap_fails),
	C("register.null_va", xmem_register, c_register_null_va),
	C("register.zero_len", xmem_register, c_register_zero_len),
	C("register.page_size", xmem_register, c_register_page_size),
	C("register.misaligned", xmem_register, c_register_misaligned),
	C("register.n_pages", xmem_register, c_register_n_pages),
	C("register.beyond_va_bits", xmem_register, c_register_beyond_va_bits),
	C("register.overlap_heap", xmem_register, c_register_overlap_heap),
	C("register.overlap_registered", xmem_register, c_register_overlap_registered),
	C("register.no_metadata", xmem_register, c_register_no_metadata),
	C("register.subscriber_veto", xmem_register, c_register_subscriber_veto),
	C("register.bad_iova", xmem_register, c_register_bad_iova),
	C("unregister.null_va", xmem_unregister, c_unregister_null_va),
	C("unregister.zero_len", xmem_unregister, c_unregister_zero_len),
	C("unregister.unknown", xmem_unregister, c_unregister_unknown),
	C("unregister.part", xmem_unregister, c_unregister_part),
	C("unregister.heap_chunk", xmem_unregister, c_unregister_heap_chunk),
	C("unregister.twice", xmem_unregister, c_unregister_twice),
	C("unregister.no_metadata", xmem_unregister, c_unregister_no_metadata),
	C("unregister.unmap_fails", xmem_unregister, c_unregister_unmap_fails),
};

const size_t n_cases_heap = sizeof cases_heap / sizeof cases_heap[0];
