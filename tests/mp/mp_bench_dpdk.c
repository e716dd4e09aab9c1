/* mp_bench_dpdk.c - DPDK's peer of mp_bench's pipeline: rte_mempool across
 * a primary and a secondary process, and within one process.
 *
 * The orchestrator (mp_bench --dpdk) reserves 2 MiB hugepages, mounts a
 * private hugetlbfs and starts the primary with fork+exec; the primary
 * (EAL lcores 0,1 on CPUs 0,1) creates the pool (2 KiB elements, cache 256,
 * the default ring_mp_mc ops), an SPSC rte_ring and a sync memzone, and for
 * each round starts a secondary (lcore 2 on CPU 1, so its mempool cache is
 * not one of the primary's) that looks them up.  RX in the primary:
 * rte_mempool_get_bulk(32) then rte_ring_enqueue_bulk; TX in the secondary:
 * rte_ring_dequeue_bulk then rte_mempool_put_bulk.  The in-process run is the
 * same pipeline on the primary's lcores 0 and 1.  Everything the run reserved
 * (hugepages, the mount, DPDK's runtime directory) is given back by the
 * orchestrator, also when a child failed or a signal arrived. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "mp_bench_dpdk.h"

#define BURST   32
#define ELT     2048
#define CACHE   256
#define POOL_N  16383          /* 2^k - 1: the ring under the pool is 2^k */
#define RING_N  4096
#define PAGES   128            /* 2 MiB pages reserved for the run */

/* In the sync memzone.  `ready` is set by the secondary once it found
 * everything (release), `go` by the primary to start (release), `done` by
 * the secondary after its last put (release); each reader acquires. */
struct sync {
	_Atomic int ready, go, done;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct rte_mempool *P;
static struct rte_ring *Q;

static void rx(unsigned long n)
{
	void *b[BURST];
	for (unsigned long done = 0; done < n; done += BURST) {
		while (rte_mempool_get_bulk(P, b, BURST) != 0)
			;   /* pool empty for a moment: the consumer is behind */
		while (rte_ring_enqueue_bulk(Q, b, BURST, NULL) == 0)
			;
	}
}

static void tx(unsigned long n)
{
	void *b[BURST];
	for (unsigned long done = 0; done < n; done += BURST) {
		while (rte_ring_dequeue_bulk(Q, b, BURST, NULL) == 0)
			;
		rte_mempool_put_bulk(P, b, BURST);
	}
}

static int tx_lcore(void *arg)
{
	tx((unsigned long)(uintptr_t)arg);
	return 0;
}

static int eal(const char *self, const char *type, const char *prefix,
	       const char *dir, const char *lcores)
{
	char pt[64], fp[96], hd[160], lc[32];
	snprintf(pt, sizeof(pt), "--proc-type=%s", type);
	snprintf(fp, sizeof(fp), "--file-prefix=%s", prefix);
	snprintf(hd, sizeof(hd), "--huge-dir=%s", dir);
	snprintf(lc, sizeof(lc), "--lcores=%s", lcores);
	char *argv[] = {(char *)self, pt, fp, hd, lc, "--no-pci",
			"--no-telemetry", "--log-level=lib.eal:error", NULL};
	if (rte_eal_init(8, argv) < 0) {
		fprintf(stderr, "mp_bench %s: rte_eal_init: %s\n", type,
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* mp_bench --dpdk-secondary <prefix> <hugedir> <n> */
int mp_dpdk_secondary(const char *self, char **argv)
{
	if (eal(self, "secondary", argv[0], argv[1], "2@1") != 0)
		return 1;
	const struct rte_memzone *mz = rte_memzone_lookup("xmpb_sync");
	P = rte_mempool_lookup("xmpb_pool");
	Q = rte_ring_lookup("xmpb_ring");
	if (!mz || !P || !Q)
		return fprintf(stderr, "mp_bench secondary: lookup failed\n"), 1;
	struct sync *s = mz->addr;
	unsigned long n = strtoul(argv[2], NULL, 0);
	atomic_store_explicit(&s->ready, 1, memory_order_release);
	while (!atomic_load_explicit(&s->go, memory_order_acquire))
		;
	tx(n);
	atomic_store_explicit(&s->done, 1, memory_order_release);
	rte_eal_cleanup();
	return 0;
}

static double cross_round(const char *self, const char *prefix, const char *dir,
			  struct sync *s, unsigned long n)
{
	char ns[32];
	snprintf(ns, sizeof(ns), "%lu", n);
	atomic_store(&s->ready, 0);
	atomic_store(&s->go, 0);
	atomic_store(&s->done, 0);
	pid_t p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the primary */
		execl(self, self, "--dpdk-secondary", prefix, dir, ns, (char *)NULL);
		_exit(127);
	}
	int st;
	while (!atomic_load_explicit(&s->ready, memory_order_acquire))
		if (waitpid(p, &st, WNOHANG) == p)
			return -1;   /* it died before it was ready */
	double t0 = now();
	atomic_store_explicit(&s->go, 1, memory_order_release);
	rx(n);
	while (!atomic_load_explicit(&s->done, memory_order_acquire))
		;
	double t = now() - t0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : -1;
}

/* mp_bench --dpdk-primary <prefix> <hugedir> <n> <rounds> <fd>: writes the
 * best cross-process and in-process seconds (two doubles) to fd. */
int mp_dpdk_primary(const char *self, char **argv)
{
	const char *prefix = argv[0], *dir = argv[1];
	unsigned long n = strtoul(argv[2], NULL, 0);
	int rounds = atoi(argv[3]), fd = atoi(argv[4]);
	if (eal(self, "primary", prefix, dir, "0@0,1@1") != 0)
		return 1;
	const struct rte_memzone *mz = rte_memzone_reserve("xmpb_sync", sizeof(struct sync),
							   SOCKET_ID_ANY, 0);
	P = rte_mempool_create("xmpb_pool", POOL_N, ELT, CACHE, 0, NULL, NULL, NULL, NULL,
			       SOCKET_ID_ANY, 0);
	Q = rte_ring_create("xmpb_ring", RING_N, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!mz || !P || !Q) {
		fprintf(stderr, "mp_bench primary: setup: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (strcmp(rte_mempool_get_ops(P->ops_index)->name, "ring_mp_mc") != 0)
		fprintf(stderr, "mp_bench primary: pool ops are %s\n",
			rte_mempool_get_ops(P->ops_index)->name);
	double best[2] = {1e9, 1e9};
	for (int r = 0; r < rounds; r++) {
		double t = cross_round(self, prefix, dir, mz->addr, n);
		if (t < 0)
			return fprintf(stderr, "mp_bench primary: the secondary failed\n"), 1;
		best[0] = t < best[0] ? t : best[0];
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		if (rte_eal_remote_launch(tx_lcore, (void *)(uintptr_t)n, 1) != 0)
			return fprintf(stderr, "mp_bench primary: launch failed\n"), 1;
		rx(n);
		rte_eal_wait_lcore(1);
		double t = now() - t0;
		best[1] = t < best[1] ? t : best[1];
	}
	unsigned avail = rte_mempool_avail_count(P);
	if (avail != POOL_N) {
		fprintf(stderr, "mp_bench primary: %u of %d objects back\n", avail, POOL_N);
		return 1;
	}
	if (write(fd, best, sizeof(best)) != sizeof(best))
		return 1;
	rte_mempool_free(P);
	rte_ring_free(Q);
	rte_eal_cleanup();
	return 0;
}

/* ---- the orchestrator: hugepages in, the run, everything back out ---- */

static long hp_added = -1;   /* pages this process added, -1: none */
static char hp_dir[64];      /* the private hugetlbfs mount, "" if none */
static char run_dir[96];     /* DPDK's runtime directory for the prefix */

static long hp_read(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = -1;
	size_t k = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k))
			v = atol(line + k);
	if (f)
		fclose(f);
	return v;
}

static int hp_write(long pages)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	if (!f)
		return -1;
	int bad = fprintf(f, "%ld\n", pages) < 0;
	return (fclose(f) != 0 || bad) ? -1 : 0;
}

static void rm_dir_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
}

/* Idempotent; also run from the signal handler (only on the way out). */
static void give_back(void)
{
	if (hp_dir[0]) {
		rm_dir_files(hp_dir);
		umount2(hp_dir, MNT_DETACH);   /* pages come back when the last user exits */
		rmdir(hp_dir);
		hp_dir[0] = 0;
	}
	if (run_dir[0]) {
		rm_dir_files(run_dir);
		rmdir(run_dir);
		run_dir[0] = 0;
	}
	if (hp_added > 0) {
		/* Others may have changed the count meanwhile: take back only
		 * what this run added. */
		long cur = hp_read("HugePages_Total:");
		hp_write(cur > hp_added ? cur - hp_added : 0);
		hp_added = -1;
	}
}

static pid_t primary = -1;

static void on_signal(int sig)
{
	if (primary > 0) {
		kill(primary, SIGKILL);   /* its secondary follows (PDEATHSIG) */
		waitpid(primary, NULL, 0);
	}
	give_back();
	signal(sig, SIG_DFL);
	raise(sig);
}

int mp_dpdk_run(const char *self, unsigned long n, int rounds, double best[2],
		char *why, size_t whylen)
{
	long old = hp_read("HugePages_Total:"), free0 = hp_read("HugePages_Free:");
	if (old < 0 || hp_read("Hugepagesize:") != 2048)
		return snprintf(why, whylen, "no 2 MiB hugepages in /proc/meminfo"), -1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	atexit(give_back);
	if (hp_write(old + PAGES) != 0)
		return snprintf(why, whylen, "cannot write /proc/sys/vm/nr_hugepages (%s)",
				strerror(errno)), -1;
	hp_added = hp_read("HugePages_Total:") - old;
	if (hp_read("HugePages_Free:") - free0 < PAGES) {
		snprintf(why, whylen, "asked for %d more 2 MiB hugepages, the kernel gave %ld",
			 PAGES, hp_added);
		give_back();
		return -1;
	}
	snprintf(hp_dir, sizeof(hp_dir), "/tmp/xmemmp_huge.XXXXXX");
	if (!mkdtemp(hp_dir) || mount("nodev", hp_dir, "hugetlbfs", 0, "pagesize=2M") != 0) {
		snprintf(why, whylen, "cannot mount hugetlbfs (%s)", strerror(errno));
		if (hp_dir[0] == '/')
			rmdir(hp_dir);
		hp_dir[0] = 0;
		give_back();
		return -1;
	}
	char prefix[32], ns[32], rs[16], fds[16];
	snprintf(prefix, sizeof(prefix), "xmemmp%d", (int)getpid());
	snprintf(run_dir, sizeof(run_dir), "/var/run/dpdk/%s", prefix);
	snprintf(ns, sizeof(ns), "%lu", n);
	snprintf(rs, sizeof(rs), "%d", rounds);
	int pfd[2];
	if (pipe(pfd) != 0) {
		give_back();
		return snprintf(why, whylen, "pipe failed"), -1;
	}
	snprintf(fds, sizeof(fds), "%d", pfd[1]);
	if ((primary = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		execl(self, self, "--dpdk-primary", prefix, hp_dir, ns, rs, fds, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	ssize_t got = read(pfd[0], best, 2 * sizeof(double));
	close(pfd[0]);
	int st;
	waitpid(primary, &st, 0);
	primary = -1;
	give_back();
	if (got != 2 * sizeof(double) || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return snprintf(why, whylen, "FAILED: the DPDK primary failed (see above)"), -2;
	return 0;
}
