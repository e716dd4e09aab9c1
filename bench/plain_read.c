/* plain_read.c - reads the figures the plain loop (bench/plain/plain_burst.c,
 * and bench/plain/burst_sizes.c when its lines are in the same file) wrote,
 * so the report can put them beside this run's. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static struct xb_plain g_plain;

const struct xb_plain *xb_plain_result(void)
{
	return &g_plain;
}

int xb_plain_load(const char *path)
{
	struct xb_plain *out = &g_plain;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
#define K(f) {#f, offsetof(struct xb_plain, f)}
		K(rounds), K(bursts_per_round), K(burst_mempool_min), K(burst_mempool_median),
		K(burst_xmem_min), K(burst_xmem_median), K(burst_ratio), K(tr_memseg_min),
		K(tr_memseg_median), K(tr_xmem_min), K(tr_xmem_median), K(tr_ratio),
#undef K
	};
	const size_t nk = sizeof keys / sizeof keys[0];
	char key[64];
	double v;
	size_t seen = 0;
	FILE *f = fopen(path, "r");

	memset(out, 0, sizeof *out);
	if (f == NULL) {
		snprintf(out->note, sizeof out->note, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* burst_sizes.c's lines, size_<n>_{mempool_median,xmem_median,ratio}:
	 * gathered per size in the order the sizes come, then only the sizes
	 * with all three kept. */
	unsigned sz_seen[XB_PLAIN_MAX_SIZES] = {0};
	int n_sz = 0;
	while (fscanf(f, "%63s %lf", key, &v) == 2) {
		for (size_t k = 0; k < nk; k++)
			if (strcmp(key, keys[k].key) == 0) {
				*(double *)((char *)out + keys[k].off) = v;
				seen |= (size_t)1 << k;
			}
		unsigned b;
		char what[32];
		if (sscanf(key, "size_%u_%31s", &b, what) != 2)
			continue;
		int w = strcmp(what, "mempool_median") == 0 ? 0 :
			strcmp(what, "xmem_median") == 0 ? 1 :
			strcmp(what, "ratio") == 0 ? 2 : -1;
		int i = 0;
		while (i < n_sz && out->size[i] != b)
			i++;
		if (w < 0 || i == XB_PLAIN_MAX_SIZES)
			continue;
		if (i == n_sz)
			out->size[n_sz++] = b;
		double *field[3] = {out->size_mempool, out->size_xmem, out->size_ratio};
		field[w][i] = v;
		sz_seen[i] |= 1u << w;
	}
	fclose(f);
	for (int i = 0; i < n_sz; i++)
		if (sz_seen[i] == 7) {
			int k = out->n_sizes++;
			out->size[k] = out->size[i];
			out->size_mempool[k] = out->size_mempool[i];
			out->size_xmem[k] = out->size_xmem[i];
			out->size_ratio[k] = out->size_ratio[i];
		}
	if (seen != ((size_t)1 << nk) - 1) {
		snprintf(out->note, sizeof out->note, "%s: not every figure is there", path);
		return -1;
	}
	out->valid = 1;
	return 0;
}
