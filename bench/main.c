/* main.c - the benchmark binary (bazel run //bench:bench): parses the
 * harness's own options and leaves --benchmark_* ones to Google Benchmark.
 *
 *   --quick            short smoke run (tiny min time, 128 MiB metadata fill)
 *   --threads=N        scale the burst and the pipeline up to N threads (default 2,
 *                      or $XB_THREADS)
 *   --min-time=S       seconds per benchmark (default 0.5, quick 0.01)
 *   --only=LIST        comma list of burst,mixed,pipeline,translate,latency,
 *                      tail,curves,numa
 *   --plain=FILE       the plain loop's figures (bench/plain/plain_burst.c
 *                      --out=FILE) to put in the table and JSON
 *   --out=DIR          where table.md, results.json, results.svg go
 *                      (default $BUILD_WORKSPACE_DIRECTORY/bench-results,
 *                      else ./bench-results; --out= writes nothing)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

static void usage(void)
{
	printf("usage: bench [--quick] [--threads=N] [--min-time=SECONDS]\n"
	       "             [--only=burst,mixed,pipeline,translate,latency,tail,curves,numa]\n"
	       "             [--out=DIR] [--plain=FILE]\n"
	       "             [--benchmark_* options of Google Benchmark]\n");
}

int main(int argc, char **argv)
{
	static char out_buf[4096];
	struct xb_cfg cfg;
	const char *ws = getenv("BUILD_WORKSPACE_DIRECTORY");
	const char *env_threads = getenv("XB_THREADS");
	int n = 1, color_set = 0;
	static char no_color[] = "--benchmark_color=false";
	char **gb_argv = calloc((size_t)argc + 2, sizeof *gb_argv);

	if (gb_argv == NULL)
		return 2;
	gb_argv[0] = argv[0];

	xb_reexec_for_static_tls(argv);

	memset(&cfg, 0, sizeof cfg);
	cfg.max_threads = env_threads ? atoi(env_threads) : 2;
	snprintf(out_buf, sizeof out_buf, "%s/bench-results", ws ? ws : ".");
	cfg.out_dir = out_buf;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quick") == 0) {
			cfg.quick = 1;
		} else if (strncmp(a, "--threads=", 10) == 0) {
			cfg.max_threads = atoi(a + 10);
		} else if (strncmp(a, "--min-time=", 11) == 0) {
			cfg.min_time = atof(a + 11);
		} else if (strncmp(a, "--only=", 7) == 0) {
			cfg.only = a + 7;
		} else if (strncmp(a, "--plain=", 8) == 0) {
			cfg.plain = a + 8;
		} else if (strncmp(a, "--out=", 6) == 0) {
			cfg.out_dir = a[6] ? a + 6 : NULL;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			return 0;
		} else if (strncmp(a, "--benchmark_out", 15) == 0) {
			fprintf(stderr, "bench: %s ignored: the raw results go to "
			        "results.json in the output directory\n", a);
		} else if (strncmp(a, "--benchmark_", 12) == 0) {
			color_set |= strncmp(a, "--benchmark_color", 17) == 0;
			gb_argv[n++] = argv[i];
		} else {
			fprintf(stderr, "bench: unknown option %s\n", a);
			usage();
			return 2;
		}
	}
	/* No colour escapes when the output goes to a file or a pipe. */
	if (!color_set && !isatty(STDOUT_FILENO))
		gb_argv[n++] = no_color;
	gb_argv[n] = NULL;
	if (cfg.max_threads < 1)
		cfg.max_threads = 1;
	if (cfg.max_threads > XB_MAX_THREADS)
		cfg.max_threads = XB_MAX_THREADS;
	cfg.argc = n;
	cfg.argv = gb_argv;
	return xb_bench_main(&cfg, NULL);
}
