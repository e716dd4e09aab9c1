/* mp_bench.c - a pipeline across two processes against the same pipeline
 * in one process.  The producer allocates bursts of 32 objects of 2 KiB
 * and passes them through a single-producer/single-consumer ring; the
 * consumer frees them in bursts of 32.
 *   local:  one process, two threads, no domain (the single-process
 *           library), the heap on 64 MiB of anonymous memory;
 *   shared: a domain; this process creates it and the heap (a 64 MiB
 *           /dev/shm file), then starts itself twice with fork+exec as the
 *           producer and the consumer member.
 * Each runs N objects (default 20M) `rounds` times (default 3, best kept)
 * and prints ns per object and the ratio shared/local (throughput).  The
 * producer runs on CPU 0, the consumer on CPU 1.  With --dpdk the same
 * pipeline also runs on rte_mempool, across a DPDK primary and secondary
 * and within one process (mp_bench_dpdk.c), and the ratios are printed.
 *   mp_bench [--dpdk] [objects] [rounds]
 * (the roles: mp_bench --member <domain> <area> produce|consume <n>,
 *  --dpdk-primary ..., --dpdk-secondary ...) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xmem/xmem.h>

#include "mp_bench_dpdk.h"

#define BURST 32
#define RING  4096
#define OBJ   2048   /* as the DPDK peer's elements (and an mbuf's data room) */
#define LEN   ((size_t)64 << 20)

struct ring {
	_Atomic uint64_t head __attribute__((aligned(64)));
	_Atomic uint64_t tail __attribute__((aligned(64)));
	_Atomic int go __attribute__((aligned(64)));
	void *slot[RING] __attribute__((aligned(64)));
};

static struct ring *R;
static struct xmem_heap *H;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The calling thread onto one CPU (the stage's, as DPDK's lcores are). */
static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void produce(unsigned long n)
{
	void *b[BURST];
	pin(0);
	uint64_t h = atomic_load_explicit(&R->head, memory_order_relaxed);
	for (unsigned long done = 0; done < n; done += BURST) {
		if (xmem_alloc_bulk(H, OBJ, b, BURST) != 0) {
			fprintf(stderr, "mp_bench: alloc failed\n");
			exit(1);
		}
		while (h + BURST - atomic_load_explicit(&R->tail, memory_order_acquire) > RING)
			;
		for (int i = 0; i < BURST; i++)
			R->slot[(h + i) % RING] = b[i];
		h += BURST;
		atomic_store_explicit(&R->head, h, memory_order_release);
	}
}

static void consume(unsigned long n)
{
	void *b[BURST];
	pin(1);
	uint64_t t = atomic_load_explicit(&R->tail, memory_order_relaxed);
	for (unsigned long done = 0; done < n; done += BURST) {
		while (atomic_load_explicit(&R->head, memory_order_acquire) - t < BURST)
			;
		for (int i = 0; i < BURST; i++)
			b[i] = R->slot[(t + i) % RING];
		t += BURST;
		atomic_store_explicit(&R->tail, t, memory_order_release);
		xmem_free_bulk(b, BURST);
	}
}

static void *consumer_thread(void *arg)
{
	consume((unsigned long)(uintptr_t)arg);
	return NULL;
}

static struct ring *ring_map(const char *path, bool create)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
	if (fd < 0 || (create && ftruncate(fd, sizeof(struct ring)) != 0))
		return NULL;
	struct ring *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return r == MAP_FAILED ? NULL : r;
}

static double run_local(unsigned long n)
{
	R->head = R->tail = 0;
	pthread_t t;
	double t0 = now();
	pthread_create(&t, NULL, consumer_thread, (void *)(uintptr_t)n);
	produce(n);
	pthread_join(t, NULL);
	return now() - t0;
}

static int member(char **argv)
{
	R = ring_map(argv[1], false);
	if (!R || xmem_shared_attach(argv[0]) != 0 || !(H = xmem_heap_lookup("bench"))) {
		fprintf(stderr, "mp_bench member: setup failed (errno %d)\n", errno);
		return 1;
	}
	unsigned long n = strtoul(argv[3], NULL, 0);
	/* Ready; then wait for the parent's start (go == 3), which it gives
	 * after reading its clock, so that no work happens before t0. */
	atomic_fetch_add(&R->go, 1);
	while (atomic_load(&R->go) < 3)
		;
	if (!strcmp(argv[2], "produce"))
		produce(n);
	else
		consume(n);
	return 0;
}

static double run_shared(const char *self, const char *dom, const char *ring,
			 unsigned long n)
{
	char ns[32];
	snprintf(ns, sizeof(ns), "%lu", n);
	R->head = R->tail = 0;
	R->go = 0;
	pid_t p[2];
	const char *role[2] = {"consume", "produce"};
	for (int i = 0; i < 2; i++)
		if ((p[i] = fork()) == 0) {
			execl(self, self, "--member", dom, ring, role[i], ns, (char *)NULL);
			_exit(127);
		}
	while (atomic_load(&R->go) < 2)
		;
	double t0 = now();
	atomic_store(&R->go, 3);   /* start: both members are ready */
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(p[i], &st, 0);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	}
	double t = now() - t0;
	xmem_shared_reap();   /* the members exited without detaching */
	return bad ? -1 : t;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--member"))
		return member(argv + 2);
	if (argc > 1 && !strcmp(argv[1], "--dpdk-primary"))
		return mp_dpdk_primary(argv[0], argv + 2);
	if (argc > 1 && !strcmp(argv[1], "--dpdk-secondary"))
		return mp_dpdk_secondary(argv[0], argv + 2);
	bool dpdk = argc > 1 && !strcmp(argv[1], "--dpdk");
	if (dpdk)
		argv[1] = argv[0], argc--, argv++;
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000000ul;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	n -= n % BURST;
	char ring[96], file[96], dom[32];
	snprintf(ring, sizeof(ring), "/dev/shm/xmem_mpb_ring.%d", (int)getpid());
	snprintf(file, sizeof(file), "/dev/shm/xmem_mpb_file.%d", (int)getpid());
	snprintf(dom, sizeof(dom), "mpb%d", (int)getpid());
	R = ring_map(ring, true);
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!R || fd < 0 || ftruncate(fd, LEN) != 0)
		return perror("mp_bench: files"), 1;
	close(fd);

	/* The local run happens in a child: creating a domain needs a
	 * process that has no heap yet. */
	double best_local = 1e9, best_shared = 1e9;
	int pfd[2];
	if (pipe(pfd) != 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		void *va = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		H = xmem_heap_create("bench");
		if (!H || xmem_heap_add_memory(H, va, LEN, NULL, 0, 4096) != 0)
			_exit(1);
		double best = 1e9;
		for (int r = 0; r < rounds; r++) {
			double t = run_local(n);
			best = t < best ? t : best;
		}
		if (write(pfd[1], &best, sizeof(best)) != sizeof(best))
			_exit(1);
		_exit(0);
	}
	if (read(pfd[0], &best_local, sizeof(best_local)) != sizeof(best_local))
		return fprintf(stderr, "mp_bench: local run failed\n"), 1;
	waitpid(c, NULL, 0);

	if (xmem_shared_create(dom) != 0 || !(H = xmem_heap_create("bench")) ||
	    !xmem_heap_add_file(H, file, 0, LEN, NULL, 0, 4096))
		return fprintf(stderr, "mp_bench: domain setup: errno %d\n", errno), 1;
	for (int r = 0; r < rounds; r++) {
		double t = run_shared(argv[0], dom, ring, n);
		if (t < 0)
			return fprintf(stderr, "mp_bench: a member failed\n"), 1;
		best_shared = t < best_shared ? t : best_shared;
	}
	xmem_shared_unlink(dom);
	unlink(ring);
	unlink(file);
	printf("pipeline of %lu objects of %d B, bursts of %d (best of %d):\n", n, OBJ,
	       BURST, rounds);
	printf("  one process, two threads:    %6.2f ns/object\n", best_local * 1e9 / n);
	printf("  two processes, one domain:   %6.2f ns/object\n", best_shared * 1e9 / n);
	printf("  throughput shared/local:     %6.2fx (goal >= 0.90x)\n",
	       best_local / best_shared);
	if (!dpdk)
		return 0;
	double d[2];
	char why[160];
	fflush(stdout);
	int rc = mp_dpdk_run(argv[0], n, rounds, d, why, sizeof(why));
	if (rc == -1)
		return printf("SKIPPED: DPDK peer: %s\n", why), 0;
	if (rc != 0)
		return printf("%s\n", why), 1;
	printf("DPDK rte_mempool (%d B elements, cache %d, ring_mp_mc; rte_ring SP/SC), same pipeline:\n",
	       2048, 256);
	printf("  one process, two lcores:     %6.2f ns/object\n", d[1] * 1e9 / n);
	printf("  primary + secondary:         %6.2f ns/object\n", d[0] * 1e9 / n);
	printf("  throughput cross/in-process: xmem %.2fx, DPDK %.2fx\n",
	       best_local / best_shared, d[1] / d[0]);
	printf("  throughput xmem/DPDK, cross-process: %.2fx\n", d[0] / best_shared);
	return 0;
}
