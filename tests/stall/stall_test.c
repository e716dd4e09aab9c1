/* stall_test.c - progress while a thread is frozen inside the allocator.
 *
 * A victim thread allocates and frees bursts of every class size with a
 * changing live set.  The main thread freezes it again and again at random
 * moments with SIGUSR1, whose handler spins until released: the victim stops
 * wherever it was, inside xmem_alloc_bulk / xmem_free_bulk most of the time
 * (the test counts how often, and requires most freezes to land there).
 * While it is frozen, every worker thread must complete a fixed number of
 * alloc + free bursts, of sizes up to the largest class, on the same heap.
 * A worker that waited on something the victim holds would miss the deadline
 * and fail the test.
 *
 * The fast path takes no lock (per-lcore caches, the ck depot); the span
 * layer behind it does (heap lock).  The heap is warmed first so the depot
 * holds magazines of every class, as in a running pipeline; the workers'
 * bursts then circulate through caches and depot.  What the test cannot
 * promise, the docs say: a thread that needs new spans while a frozen thread
 * holds the heap lock waits for it.
 *
 * Options (env): XMEM_STALL_FREEZES (default 200), XMEM_STALL_WORKERS (2),
 * XMEM_STALL_OPS (bursts each worker must finish per freeze, 500).  Prints
 * worker throughput while frozen against a phase with nobody frozen. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/xt.h"
#include "tests/xt_util.h"
#include "xmem/xmem.h"

#define HEAP_BYTES  ((size_t)512 << 20)
#define MAX_WORKERS 16
#define VICTIM_LIVE 4096

static struct xmem_heap *g_heap;
static atomic_int g_stop;

struct worker {
	_Alignas(64) _Atomic uint64_t bursts;
	_Atomic int failed;
	pthread_t tid;
	uint64_t rng;
};
static struct worker g_workers[MAX_WORKERS];
static int g_nworkers = 2;

/* Victim state shared with its signal handler. */
static volatile sig_atomic_t g_in_op;      /* victim is inside an xmem call */
static atomic_int g_frozen, g_thaw;
static _Atomic uint64_t g_frozen_mid_op, g_freezes_seen;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned env_uint(const char *name, unsigned def)
{
	const char *s = getenv(name);
	return s && *s ? (unsigned)strtoul(s, NULL, 0) : def;
}

/* A random class size and a burst length that keeps a burst under 256 KiB. */
static void pick(uint64_t *rng, size_t *size, unsigned *n)
{
	int cls = (int)xt_range_r(rng, 0, XMEM_NUM_CLASSES - 1);
	*size = xmem_class_size(cls) - xt_range_r(rng, 0, 15);
	unsigned cap = (unsigned)((256 * KiB) / *size);
	cap = cap < 1 ? 1 : cap > 32 ? 32 : cap;
	*n = (unsigned)xt_range_r(rng, 1, cap);
}

/* Async-signal-safe: only atomics and nanosleep. */
static void on_freeze(int sig)
{
	(void)sig;
	atomic_fetch_add(&g_freezes_seen, 1);
	if (g_in_op)
		atomic_fetch_add(&g_frozen_mid_op, 1);
	atomic_store(&g_frozen, 1);
	struct timespec ts = {0, 50000};
	while (!atomic_load(&g_thaw))
		nanosleep(&ts, NULL);
	atomic_store(&g_thaw, 0);
	atomic_store(&g_frozen, 0);
}

/* The victim keeps its live set in a FIFO ring and draws its sizes from a
 * precomputed table, so that nearly all of its time is spent inside
 * xmem_alloc_bulk / xmem_free_bulk, where the freezes should land. */
static void *victim(void *arg)
{
	(void)arg;
	static void *live[VICTIM_LIVE];
	static struct { size_t size; unsigned n; } plan[1024];
	unsigned head = 0, nlive = 0, step = 0;
	uint64_t rng = 0x5eedull;

	for (unsigned i = 0; i < 1024; i++)
		pick(&rng, &plan[i].size, &plan[i].n);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		size_t size = plan[step % 1024].size;
		unsigned n = plan[step % 1024].n;
		step++;
		unsigned tail = (head + nlive) % VICTIM_LIVE;
		if (nlive + n <= VICTIM_LIVE && tail + n <= VICTIM_LIVE && (step & 1)) {
			g_in_op = 1;
			int rc = xmem_alloc_bulk(g_heap, size, &live[tail], n);
			g_in_op = 0;
			if (rc == 0)
				nlive += n;
		} else if (nlive) {
			/* The oldest run, up to the end of the ring. */
			unsigned k = nlive < 32 ? nlive : 32;
			if (head + k > VICTIM_LIVE)
				k = VICTIM_LIVE - head;
			g_in_op = 1;
			xmem_free_bulk(&live[head], k);
			g_in_op = 0;
			head = (head + k) % VICTIM_LIVE;
			nlive -= k;
		}
	}
	while (nlive) {
		unsigned k = head + nlive > VICTIM_LIVE ? VICTIM_LIVE - head : nlive;
		xmem_free_bulk(&live[head], k);
		head = (head + k) % VICTIM_LIVE;
		nlive -= k;
	}
	return NULL;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	void *objs[32];
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		size_t size;
		unsigned n;
		pick(&w->rng, &size, &n);
		if (xmem_alloc_bulk(g_heap, size, objs, n) != 0) {
			atomic_store(&w->failed, 1);
			break;
		}
		/* Touch both ends: the blocks are really ours to write. */
		for (unsigned i = 0; i < n; i++) {
			((char *)objs[i])[0] = (char)i;
			((char *)objs[i])[size - 1] = (char)i;
		}
		xmem_free_bulk(objs, n);
		/* Relaxed: a progress counter, read by the main thread. */
		atomic_store_explicit(&w->bursts,
				      atomic_load_explicit(&w->bursts, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	return NULL;
}

static uint64_t total_bursts(void)
{
	uint64_t t = 0;
	for (int i = 0; i < g_nworkers; i++)
		t += atomic_load_explicit(&g_workers[i].bursts, memory_order_relaxed);
	return t;
}

/* The depot holds magazines of every class before the run, as after a
 * while in a real pipeline: 8 magazines' worth per class, freed here. */
static void warm(void)
{
	for (int c = 0; c < XMEM_NUM_CLASSES; c++) {
		size_t size = xmem_class_size(c);
		size_t n = size <= 2048 ? 8 * 128 : 8 * (256 * KiB / size < 32 ? 32 : 256 * KiB / size);
		void **v = malloc(n * sizeof(void *));
		size_t got = 0;
		while (got < n && (v[got] = xmem_alloc(g_heap, size, 0)))
			got++;
		CHECK_EQ(got, n);
		xmem_free_bulk(v, (unsigned)got);
		free(v);
	}
}

/* Freeze the victim `freezes` times (stopping at the first freeze during
 * which a worker fell short); returns how many fell short. */
static unsigned run(unsigned freezes, uint64_t deadline_ns, bool checked)
{
	unsigned need = env_uint("XMEM_STALL_OPS", 500);
	g_nworkers = (int)env_uint("XMEM_STALL_WORKERS", 2);
	if (g_nworkers < 1 || g_nworkers > MAX_WORKERS)
		XT_FATAL("XMEM_STALL_WORKERS must be 1..%d", MAX_WORKERS);

	char *mem = xt_map(HEAP_BYTES, PAGE2M, PROT_READ | PROT_WRITE);
	uint64_t *tab = xt_linear_table((uint64_t)1 << 36, HEAP_BYTES / PAGE4K, PAGE4K);
	g_heap = xmem_heap_create(xt_name("stall"));
	if (!CHECK(g_heap) ||
	    !CHECK_EQ(xmem_heap_add_memory(g_heap, mem, HEAP_BYTES, tab,
					   HEAP_BYTES / PAGE4K, PAGE4K), 0))
		return 0;
	warm();
	xmem_set_checked(checked);
	atomic_store(&g_stop, 0);
	atomic_store(&g_freezes_seen, 0);
	atomic_store(&g_frozen_mid_op, 0);
	for (int i = 0; i < g_nworkers; i++) {
		atomic_store(&g_workers[i].bursts, 0);
		atomic_store(&g_workers[i].failed, 0);
	}

	struct sigaction sa = {.sa_handler = on_freeze};
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

	pthread_t vt;
	pthread_create(&vt, NULL, victim, NULL);
	for (int i = 0; i < g_nworkers; i++) {
		g_workers[i].rng = 0x1000u + (uint64_t)i;
		pthread_create(&g_workers[i].tid, NULL, worker, &g_workers[i]);
	}

	/* Baseline: nobody frozen, 0.5 s. */
	uint64_t b0 = total_bursts(), t0 = now_ns();
	usleep(500000);
	double base = (double)(total_bursts() - b0) / (double)(now_ns() - t0);

	uint64_t rng = 0xf2eeull, frozen_ns = 0, frozen_bursts = 0;
	unsigned missed = 0;
	for (unsigned f = 0; f < freezes && !missed; f++) {
		usleep((useconds_t)xt_range_r(&rng, 0, 2000));
		pthread_kill(vt, SIGUSR1);
		while (!atomic_load(&g_frozen))
			sched_yield();
		uint64_t start[MAX_WORKERS], ts = now_ns();
		for (int i = 0; i < g_nworkers; i++)
			start[i] = atomic_load(&g_workers[i].bursts);
		uint64_t fb0 = total_bursts();
		for (int i = 0; i < g_nworkers; i++) {
			while (atomic_load(&g_workers[i].bursts) - start[i] < need) {
				if (atomic_load(&g_workers[i].failed) || now_ns() - ts > deadline_ns) {
					fprintf(stderr, "freeze %u: worker %d did %llu of %u bursts "
						"while the victim was frozen (mid-op: %d)\n", f, i,
						(unsigned long long)(atomic_load(&g_workers[i].bursts) -
								     start[i]), need, (int)g_in_op);
					missed++;
					break;
				}
				sched_yield();
			}
		}
		frozen_ns += now_ns() - ts;
		frozen_bursts += total_bursts() - fb0;
		atomic_store(&g_thaw, 1);
		while (atomic_load(&g_frozen))
			sched_yield();
	}

	atomic_store(&g_stop, 1);
	if (missed) {
		atomic_store(&g_thaw, 1);   /* let the victim go */
		while (atomic_load(&g_frozen))
			sched_yield();
	}
	pthread_join(vt, NULL);
	for (int i = 0; i < g_nworkers; i++) {
		pthread_join(g_workers[i].tid, NULL);
		CHECK_EQ(atomic_load(&g_workers[i].failed), 0);
	}
	uint64_t seen = atomic_load(&g_freezes_seen), mid = atomic_load(&g_frozen_mid_op);
	double frozen_rate = frozen_ns ? (double)frozen_bursts / (double)frozen_ns : 0;
	printf("stall%s: workers=%d freezes=%llu mid-op=%llu bursts/freeze>=%u missed=%u; "
	       "worker throughput while frozen %.2f Mbursts/s, none frozen %.2f "
	       "(ratio %.2f)\n", checked ? " (checked mode)" : "", g_nworkers, (unsigned long long)seen,
	       (unsigned long long)mid, need, missed, frozen_rate * 1e3, base * 1e3,
	       base > 0 ? frozen_rate / base : 0);
	/* The freezes must really land inside allocator calls (the rest land
	 * between two calls, or where the victim was descheduled). */
	CHECK(mid * 3 >= seen);
	xmem_set_checked(0);

	struct xmem_heap_stats st;
	if (CHECK_EQ(xmem_heap_stats(g_heap, &st), 0))
		CHECK_EQ(st.alloc_count, 0u);
	CHECK_EQ(xmem_heap_remove_memory(g_heap, mem, HEAP_BYTES), 0);
	CHECK_EQ(xmem_heap_destroy(g_heap), 0);
	free(tab);
	xt_unmap(mem, HEAP_BYTES);
	return missed;
}

/* The claim: with the fast path, no freeze holds the workers up. */
static void fast_path(void)
{
	unsigned freezes = env_uint("XMEM_STALL_FREEZES", 200);
	CHECK_EQ(run(freezes, 10000000000ull, false), 0u);
	CHECK_EQ(atomic_load(&g_freezes_seen), (uint64_t)freezes);
}

/* The control: checked mode serialises every call on the heap lock, so a
 * victim frozen inside one holds the workers up, and the test must see it
 * (within 100 freezes, each given 200 ms). */
static void checked_mode_blocks(void)
{
	CHECK(run(100, 200000000ull, true) > 0);
}

int main(void)
{
	xt_run("workers_progress_while_one_is_frozen", fast_path);
	xt_run("control_checked_mode_is_caught_blocking", checked_mode_blocks);
	return xt_done();
}
