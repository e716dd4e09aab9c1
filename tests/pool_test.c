/* pool_test.c - xmem_pool (include/xmem/xmem_pool.h), one thread: bad
 * input, all-or-nothing get, counts, every size around the magazine size
 * (128) and partial magazines, and a random sequence checked against a
 * reference multiset. */
#include <xmem/xmem_pool.h>

#include "xt_util.h"

/* Fake object pointers: the pool never dereferences them. */
#define OBJ(i) ((void *)(uintptr_t)(0x1000 + 16 * (uintptr_t)(i)))
#define IDX(p) (((uintptr_t)(p) - 0x1000) / 16)

static void t_bad_input(void)
{
	void *o[4] = {OBJ(0), OBJ(1), OBJ(2), OBJ(3)};
	CHECK_FAILS_PTR(xmem_pool_create(0), EINVAL);
	CHECK_FAILS_PTR(xmem_pool_create((1u << 31) + 1), EINVAL);
	CHECK_FAILS_INT(xmem_pool_put_bulk(NULL, o, 1), EINVAL);
	CHECK_FAILS_INT(xmem_pool_get_bulk(NULL, o, 1), EINVAL);
	struct xmem_pool *p = xmem_pool_create(16);
	if (!CHECK(p))
		return;
	CHECK_FAILS_INT(xmem_pool_put_bulk(p, NULL, 1), EINVAL);
	CHECK_FAILS_INT(xmem_pool_get_bulk(p, NULL, 1), EINVAL);
	CHECK_OK(xmem_pool_put_bulk(p, NULL, 0));
	CHECK_OK(xmem_pool_get_bulk(p, NULL, 0));
	CHECK_EQ(xmem_pool_count(p), 0u);
	CHECK_EQ(xmem_pool_count(NULL), 0u);
	/* Empty pool: ENOENT, nothing taken. */
	CHECK_FAILS_INT(xmem_pool_get_bulk(p, o, 1), ENOENT);
	CHECK_OK(xmem_pool_put_bulk(p, o, 3));
	/* Not enough: all or nothing. */
	void *g[4] = {0};
	CHECK_FAILS_INT(xmem_pool_get_bulk(p, g, 4), ENOENT);
	CHECK_EQ(xmem_pool_count(p), 3u);
	CHECK_OK(xmem_pool_get_bulk(p, g, 3));
	CHECK_EQ(xmem_pool_count(p), 0u);
	xmem_pool_destroy(p);
	xmem_pool_destroy(NULL);
}

/* Put n1, get n2 <= n1, get the rest: each pointer exactly once. */
static void put_get(unsigned cap, unsigned n1, unsigned n2)
{
	struct xmem_pool *p = xmem_pool_create(cap);
	if (!CHECK(p))
		return;
	void **in = malloc(n1 * sizeof(void *)), **out = malloc(n1 * sizeof(void *));
	unsigned char *seen = calloc(n1, 1);
	for (unsigned i = 0; i < n1; i++)
		in[i] = OBJ(i);
	/* In pieces of varying size, so partial magazines get topped up. */
	for (unsigned i = 0, k = 1; i < n1; k = k * 3 % 257 + 1) {
		unsigned m = n1 - i < k ? n1 - i : k;
		CHECK_OK(xmem_pool_put_bulk(p, in + i, m));
		i += m;
	}
	CHECK_EQ(xmem_pool_count(p), n1);
	CHECK_OK(xmem_pool_get_bulk(p, out, n2));
	CHECK_EQ(xmem_pool_count(p), n1 - n2);
	if (n1 > n2)
		CHECK_OK(xmem_pool_get_bulk(p, out + n2, n1 - n2));
	CHECK_FAILS_INT(xmem_pool_get_bulk(p, out, 1), ENOENT);
	unsigned dup = 0, bad = 0;
	for (unsigned i = 0; i < n1; i++) {
		uintptr_t x = IDX(out[i]);
		if (x >= n1)
			bad++;
		else if (seen[x]++)
			dup++;
	}
	CHECK_EQ(dup, 0u);
	CHECK_EQ(bad, 0u);
	free(in);
	free(out);
	free(seen);
	xmem_pool_destroy(p);
}

static void t_sizes(void)
{
	static const unsigned ns[] = {1, 2, 31, 127, 128, 129, 255, 256, 257, 383, 1000, 4096};
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		unsigned n = ns[i];
		put_get(n, n, n);
		put_get(n, n, n / 2 ? n / 2 : 1);
		put_get(n, n, n > 1 ? n - 1 : 1);
		put_get(1, n, n);   /* beyond capacity: magazines from metadata */
	}
}

/* Random puts and gets against a reference multiset (counts per index). */
static void t_random(void)
{
	enum { N = 3000, OPS = 20000 };
	struct xmem_pool *p = xmem_pool_create(N);
	if (!CHECK(p))
		return;
	static void *outside[N], *buf[N];
	static unsigned char inpool[N];
	unsigned n_out = N, held = 0;
	for (unsigned i = 0; i < N; i++)
		outside[i] = OBJ(i);
	xt_seed();
	for (int op = 0; op < OPS; op++) {
		unsigned k = (unsigned)xt_range(1, 400);
		if (xt_rand() & 1) {
			if (k > n_out)
				k = n_out;
			n_out -= k;
			CHECK_OK(xmem_pool_put_bulk(p, &outside[n_out], k));
			for (unsigned i = 0; i < k; i++)
				inpool[IDX(outside[n_out + i])]++;
			held += k;
		} else if (k > held) {
			CHECK_FAILS_INT(xmem_pool_get_bulk(p, buf, k), ENOENT);
		} else {
			CHECK_OK(xmem_pool_get_bulk(p, buf, k));
			for (unsigned i = 0; i < k; i++) {
				uintptr_t x = IDX(buf[i]);
				if (!CHECK(x < N && inpool[x] == 1))
					return;
				inpool[x] = 0;
				outside[n_out++] = buf[i];
			}
			held -= k;
		}
		if (xmem_pool_count(p) != held) {
			CHECK_EQ(xmem_pool_count(p), held);
			break;
		}
	}
	xmem_pool_destroy(p);
}

int main(void)
{
	xt_run("bad_input", t_bad_input);
	xt_run("sizes", t_sizes);
	xt_run("random", t_random);
	return xt_done();
}
