/* line_pingpong.c - what one cache line costs to move between two CPUs of
 * this machine: thread A on CPU 0 writes a counter, thread B on CPU 1 waits
 * for it and answers in a second line, N times.  One round trip is two
 * transfers of a modified line.  It bounds what any 2-thread pipeline can do:
 * every exchange with a pool shared by RX and TX (xmem's depot, rte_mempool's
 * ring) costs a few such transfers (docs/benchmarks.md, "Where the 2-thread
 * pipeline's time goes").
 *
 *   line_pingpong [N]        N round trips (default 2,000,000), then the
 *                            mean time of one */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) _Atomic long ping;
static _Alignas(64) _Atomic long pong;
static long rounds = 2000000;

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void *answer(void *arg)
{
	(void)arg;
	pin(1);
	/* Acquire/release: each side's store is what the other waits for;
	 * no other data moves. */
	for (long i = 1; i <= rounds; i++) {
		while (atomic_load_explicit(&ping, memory_order_acquire) != i)
			;
		atomic_store_explicit(&pong, i, memory_order_release);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = strtol(argv[1], NULL, 10);
	if (rounds < 1 || rounds > 1000000000L) {
		fprintf(stderr, "usage: line_pingpong [N: 1 .. 10^9]\n");
		return 2;
	}
	pthread_t t;
	if (pin(0) != 0 || pthread_create(&t, NULL, answer, NULL) != 0) {
		fprintf(stderr, "line_pingpong: needs CPUs 0 and 1\n");
		return 1;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 1; i <= rounds; i++) {
		atomic_store_explicit(&ping, i, memory_order_release);
		while (atomic_load_explicit(&pong, memory_order_acquire) != i)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
		    (double)rounds;
	printf("CPU 0 <-> CPU 1: %.1f ns per round trip (two line transfers), %ld rounds\n",
	       ns, rounds);
	return 0;
}
