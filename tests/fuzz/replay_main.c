/* replay_main.c - runs inputs through the fuzz target without libFuzzer:
 * every file named on the command line, and every file of every directory
 * named (in name order).  The corpus replay runs in every build (gcc, ASan,
 * no clang needed); a violation aborts, as under libFuzzer.
 *
 *   api_fuzz_replay [--v2] tests/fuzz/corpus [more files or directories]
 *
 * --v2 sets XMEM_FUZZ_V2=1 first: the second release's ops. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long n_inputs;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	uint8_t buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	n_inputs++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		if (!names || asprintf(&names[n], "%s/%s", path, e->d_name) < 0)
			exit(2);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
		return 2;
	}
	int first = 1;
	if (!strcmp(argv[1], "--v2")) {
		setenv("XMEM_FUZZ_V2", "1", 1);
		first = 2;
	}
	for (int i = first; i < argc; i++)
		run_path(argv[i]);
	printf("replayed %lu inputs, no violation\n", n_inputs);
	if (n_inputs == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	return 0;
}
