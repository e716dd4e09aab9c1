/* heap_names_test.c - DPDK external-heap checks for heap naming and ids
 * (rte_malloc_heap_create / rte_malloc_heap_get_socket re-expressed):
 *   - invalid names (NULL, "", 32 bytes and longer) on create and lookup:
 *     EINVAL; a 31-character name is valid;
 *   - valid unknown names: ENOENT;
 *   - duplicate name: EEXIST;
 *   - id / lookup / from_id / name round trip; ids in [0, XMEM_MAX_HEAPS);
 *   - XMEM_MAX_HEAPS (>= 64) heaps at once, one more: ENOSPC; destroy all;
 *     afterwards lookups and from_id give ENOENT and ids are reused;
 *   - from_id of out-of-range ids: ENOENT.
 * Heap names and ids have nothing to do with IOVAs, but the suite still runs
 * twice, once with memory added with an IOVA table and once without, so the
 * heaps are not only empty ones.
 */
#include "xt_util.h"

static char long_name[200];

static void case_invalid_names(void)
{
	char n32[XMEM_HEAP_NAME_MAX + 1];
	memset(n32, 'a', XMEM_HEAP_NAME_MAX);
	n32[XMEM_HEAP_NAME_MAX] = 0; /* 32 characters: 33 bytes with NUL */
	char n31[XMEM_HEAP_NAME_MAX];
	memset(n31, 'b', XMEM_HEAP_NAME_MAX - 1);
	n31[XMEM_HEAP_NAME_MAX - 1] = 0;
	memset(long_name, 'c', sizeof long_name - 1);

	CHECK_FAILS_PTR(xmem_heap_create(NULL), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_create(""), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_create(n32), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_create(long_name), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_lookup(NULL), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_lookup(""), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_lookup(n32), EINVAL);
	CHECK_FAILS_PTR(xmem_heap_lookup(long_name), EINVAL);

	/* a 32-char name must not be truncated into a valid 31-char one */
	struct xmem_heap *h = xmem_heap_create(n31);
	if (!CHECK(h != NULL))
		return;
	CHECK_FAILS_PTR(xmem_heap_lookup(n32), EINVAL);
	n32[XMEM_HEAP_NAME_MAX - 1] = 'b';
	memset(n32, 'b', XMEM_HEAP_NAME_MAX);
	CHECK_FAILS_PTR(xmem_heap_create(n32), EINVAL);
	CHECK_EQ(xmem_heap_lookup(n31), h);
	CHECK(xmem_heap_name(h) && strcmp(xmem_heap_name(h), n31) == 0);
	CHECK_OK(xmem_heap_destroy(h));
	CHECK_FAILS_PTR(xmem_heap_lookup(n31), ENOENT);
}

static void case_unknown_names(void)
{
	CHECK_FAILS_PTR(xmem_heap_lookup("no-such-heap"), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_lookup("x"), ENOENT);
	struct xmem_heap *h = xmem_heap_create("known");
	if (!CHECK(h != NULL))
		return;
	CHECK_FAILS_PTR(xmem_heap_lookup("know"), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_lookup("known2"), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_lookup("KNOWN"), ENOENT);
	CHECK_EQ(xmem_heap_lookup("known"), h);
	CHECK_OK(xmem_heap_destroy(h));
	CHECK_FAILS_PTR(xmem_heap_lookup("known"), ENOENT);
}

static void case_duplicate(void)
{
	struct xmem_heap *h = xmem_heap_create("dup");
	if (!CHECK(h != NULL))
		return;
	CHECK_FAILS_PTR(xmem_heap_create("dup"), EEXIST);
	CHECK_EQ(xmem_heap_lookup("dup"), h);
	CHECK_OK(xmem_heap_destroy(h));
	/* the name is free again once the heap is destroyed */
	h = xmem_heap_create("dup");
	CHECK(h != NULL);
	if (h)
		CHECK_OK(xmem_heap_destroy(h));
}

static void case_id_from_id(void)
{
	CHECK_FAILS_PTR(xmem_heap_from_id(-1), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_from_id(XMEM_MAX_HEAPS), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_from_id(1 << 30), ENOENT);
	CHECK_FAILS_PTR(xmem_heap_from_id(-100000), ENOENT);

	struct xmem_heap *a = xmem_heap_create("ida"), *b = xmem_heap_create("idb");
	if (!CHECK(a && b))
		return;
	int ia = xmem_heap_id(a), ib = xmem_heap_id(b);
	CHECK(ia >= 0 && ia < XMEM_MAX_HEAPS);
	CHECK(ib >= 0 && ib < XMEM_MAX_HEAPS);
	CHECK_NE(ia, ib);
	CHECK_EQ(xmem_heap_from_id(ia), a);
	CHECK_EQ(xmem_heap_from_id(ib), b);
	CHECK_EQ(xmem_heap_id(a), ia); /* stable */
	struct xmem_heap_stats st;
	if (xt_stats(a, &st)) {
		CHECK_EQ(st.id, ia);
		CHECK(strcmp(st.name, "ida") == 0);
	}
	CHECK_OK(xmem_heap_destroy(a));
	CHECK_FAILS_PTR(xmem_heap_from_id(ia), ENOENT);
	CHECK_EQ(xmem_heap_from_id(ib), b);
	CHECK_OK(xmem_heap_destroy(b));
	CHECK_FAILS_PTR(xmem_heap_from_id(ib), ENOENT);
}

/* Create XMEM_MAX_HEAPS heaps (each with a little memory when mem is set,
 * with or without a table), one more fails with ENOSPC, destroy all. */
static void case_max_heaps(int with_table)
{
	CHECK(XMEM_MAX_HEAPS >= 64);
	static struct xmem_heap *h[XMEM_MAX_HEAPS];
	static char names[XMEM_MAX_HEAPS][XMEM_HEAP_NAME_MAX];
	bool seen[XMEM_MAX_HEAPS] = {0};
	size_t chunk = 4 * PAGE4K;
	char *mem = xt_map(chunk * XMEM_MAX_HEAPS, PAGE4K, PROT_READ | PROT_WRITE);
	uint64_t *tab = with_table ? xt_linear_table(0x100000000ULL,
						     XMEM_MAX_HEAPS * 4, PAGE4K)
				   : NULL;
	int made = 0;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
		snprintf(names[i], sizeof names[i], "max-%d-%d", with_table, i);
		h[i] = xmem_heap_create(names[i]);
		if (!CHECK(h[i] != NULL)) {
			fprintf(stderr, "  create #%d: %s\n", i, strerror(errno));
			break;
		}
		made++;
		int id = xmem_heap_id(h[i]);
		if (CHECK(id >= 0 && id < XMEM_MAX_HEAPS)) {
			CHECK(!seen[id]);
			seen[id] = true;
		}
		CHECK_OK(xmem_heap_add_memory(h[i], mem + i * chunk, chunk,
					      tab ? tab + i * 4 : NULL,
					      tab ? 4 : 0, PAGE4K));
	}
	CHECK_FAILS_PTR(xmem_heap_create("one-too-many"), ENOSPC);
	CHECK_FAILS_PTR(xmem_heap_lookup("one-too-many"), ENOENT);
	for (int i = 0; i < made; i++) {
		CHECK_EQ(xmem_heap_lookup(names[i]), h[i]);
		CHECK_EQ(xmem_heap_from_id(xmem_heap_id(h[i])), h[i]);
		void *p = xmem_alloc(h[i], 64, 0);
		if (CHECK(p != NULL)) {
			CHECK((char *)p >= mem + i * chunk &&
			      (char *)p + 64 <= mem + (i + 1) * chunk);
			CHECK_EQ(xmem_virt2iova(p),
				 tab ? tab[i * 4] + ((char *)p - mem - i * chunk)
				     : XMEM_BAD_IOVA);
			xmem_free(p);
		}
	}
	for (int i = 0; i < made; i++) {
		int id = xmem_heap_id(h[i]);
		CHECK_FAILS_INT(xmem_heap_destroy(h[i]), EBUSY);
		CHECK_OK(xmem_heap_remove_memory(h[i], mem + i * chunk, chunk));
		CHECK_OK(xmem_heap_destroy(h[i]));
		CHECK_FAILS_PTR(xmem_heap_lookup(names[i]), ENOENT);
		CHECK_FAILS_PTR(xmem_heap_from_id(id), ENOENT);
	}
	/* all slots are free again: ids are reused, ENOSPC is gone */
	for (int i = 0; i < made; i++) {
		h[i] = xmem_heap_create(names[i]);
		if (!CHECK(h[i] != NULL))
			break;
		int id = xmem_heap_id(h[i]);
		CHECK(id >= 0 && id < XMEM_MAX_HEAPS);
	}
	for (int i = 0; i < made; i++)
		if (h[i])
			CHECK_OK(xmem_heap_destroy(h[i]));
	free(tab);
	xt_unmap(mem, chunk * XMEM_MAX_HEAPS);
}

static void case_all(int with_table)
{
	case_invalid_names();
	case_unknown_names();
	case_duplicate();
	case_id_from_id();
	case_max_heaps(with_table);
}

int main(void)
{
	xt_seed();
	xt_run("invalid_names", case_invalid_names);
	xt_run("unknown_names", case_unknown_names);
	xt_run("duplicate_name", case_duplicate);
	xt_run("id_lookup_from_id", case_id_from_id);
	xt_run_arg("max_heaps[table]", case_max_heaps, 1);
	xt_run_arg("max_heaps[no table]", case_max_heaps, 0);
	xt_run_arg("all_again[table]", case_all, 1);
	xt_run_arg("all_again[no table]", case_all, 0);
	return xt_done();
}
