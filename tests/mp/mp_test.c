/* mp_test.c - heaps shared across processes (docs/multiprocess.md).  This
 * process creates the domain and heap "pipe" (a 64 MiB /dev/shm file added
 * with xmem_heap_add_file), then starts members with fork+exec
 * (mp_member) and checks:
 *   pipeline   a producer member allocates and a consumer member frees
 *              200k objects through a ring: no overlap (shared shadow), the
 *              pattern written by one is read by the other, live count 0;
 *   visible    a member creates heap "x" on a file and allocates 10
 *              objects: this process finds "x", maps its file, reads the
 *              objects, frees them; another member removes and destroys
 *              "x", and this process no longer finds it;
 *   detach     a member that detaches gives back its lcore and cache;
 *   checked    checked mode switched on here holds in another member;
 *   exists     creating a domain with a live member fails with EEXIST; one
 *              whose members are all gone is replaced;
 *   kill       >= 100 churn members killed with SIGKILL at random moments,
 *              the first half reaped one by one, the second half (more than
 *              the 64 member slots) by one reap at the end; the objects they held are freed here; at the
 *              end every object of the heap is either live or allocatable
 *              again (exactly, up to the bursts of owners killed inside a
 *              cache section, which the domain counts), and a new member
 *              still makes progress;
 *   ctl-kill   40 members killed inside control calls (heap create, add,
 *              remove, destroy in a loop): the next control calls do not
 *              hang, every one is reaped, heap "pipe" is undisturbed;
 *   eal        a member that mapped 1 GiB and started DPDK's EAL before
 *              attaching (mp_eal_member) attaches and allocates;
 *   layout     invariant 7: no word of the domain's metadata points into
 *              memory private to this process (any mapping outside the
 *              window, from /proc/self/maps).
 *   mp_test <mp_member> <mp_eal_member> [kills] */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xmem/xmem.h>

#include "mp_area.h"

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } } while (0)

static const char *member_bin, *eal_bin;
static char dom[64], area_path[128], file_path[128];
static struct mp_area *A;
static struct xmem_heap *pipe_heap;

static pid_t start(const char *cmd, const char *n)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(member_bin, member_bin, dom, area_path, cmd, n, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int finish(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t live_count(struct xmem_heap *h)
{
	struct xmem_heap_stats st;
	if (xmem_heap_stats(h, &st) != 0)
		return ~0ull;
	return st.alloc_count;
}

static void test_pipeline(void)
{
	const char *n = "200000";
	pid_t c = start("consume", n), p = start("produce", n);
	CHECK(finish(p) == 0, "producer failed");
	CHECK(finish(c) == 0, "consumer failed");
	CHECK(A->overlaps == 0, "%lu overlaps", (unsigned long)A->overlaps);
	CHECK(A->bad_data == 0, "%lu bad patterns", (unsigned long)A->bad_data);
	CHECK(live_count(pipe_heap) == 0, "live %lu after the pipeline",
	      (unsigned long)live_count(pipe_heap));
	/* Per member: the producer allocated everything, the consumer freed
	 * everything (both exited without detaching: not alive). */
	int seen = 0;
	for (int m = 0; m < XMEM_SHARED_MEMBERS; m++) {
		struct xmem_shared_member_stats ms;
		if (xmem_shared_member_stats(m, &ms) != 0 || !ms.pid || ms.alive)
			continue;
		if (ms.pid == p) {
			seen++;
			CHECK(ms.allocs == 200000 && ms.frees == 0, "producer: %lu allocs, %lu frees",
			      (unsigned long)ms.allocs, (unsigned long)ms.frees);
		}
		if (ms.pid == c) {
			seen++;
			CHECK(ms.allocs == 0 && ms.frees == 200000, "consumer: %lu allocs, %lu frees",
			      (unsigned long)ms.allocs, (unsigned long)ms.frees);
		}
	}
	CHECK(seen == 2, "member stats of the producer and consumer: %d found", seen);
	printf("%s pipeline: 200000 objects, producer and consumer processes\n",
	       fails ? "FAIL" : "PASS");
}

static void test_visible(void)
{
	int f0 = fails;
	A->ring_head = A->ring_tail = 0;
	CHECK(finish(start("mkheap", "0")) == 0, "mkheap failed");
	struct xmem_heap *x = xmem_heap_lookup("x");
	CHECK(x != NULL, "heap x not visible (errno %d)", errno);
	if (x) {
		CHECK(live_count(x) == 10, "x: live %lu", (unsigned long)live_count(x));
		void *objs[10];
		for (int i = 0; i < 10; i++) {
			objs[i] = A->ring[i];
			const unsigned char *c = objs[i];
			CHECK(c[0] == 0x5a && c[999] == 0x5a, "x object %d unreadable", i);
			CHECK(xmem_usable_size(objs[i]) >= 1000, "usable size");
		}
		xmem_free_bulk(objs, 10);
		CHECK(live_count(x) == 0, "x: live after free");
	}
	CHECK(finish(start("rmheap", "0")) == 0, "rmheap failed");
	errno = 0;
	CHECK(xmem_heap_lookup("x") == NULL && errno == ENOENT,
	      "heap x still visible after destroy in another member");
	A->ring_head = A->ring_tail = 0;
	printf("%s visible: create/add/alloc in one member, free here, remove/destroy in another\n",
	       fails == f0 ? "PASS" : "FAIL");
}

static void test_detach(void)
{
	int f0 = fails;
	/* The members of the tests above exited without detaching: gone,
	 * so reaped here (4: producer, consumer, mkheap, rmheap). */
	int r = xmem_shared_reap();
	CHECK(r == 4, "reaped %d exited members, not 4", r);
	struct xmem_shared_stats before, after;
	xmem_shared_stats(&before);
	CHECK(finish(start("detach", "0")) == 0, "detach member failed");
	xmem_shared_stats(&after);
	CHECK(after.members == before.members, "members %u -> %u",
	      before.members, after.members);
	CHECK(xmem_shared_reap() == 0, "a detached member was reaped");
	CHECK(live_count(pipe_heap) == 0, "live after detach");
	unsigned lc = 0;
	for (int m = 0; m < XMEM_SHARED_MEMBERS; m++) {
		struct xmem_shared_member_stats ms;
		xmem_shared_member_stats(m, &ms);
		if (m != xmem_shared_member_id())
			lc += ms.lcores;
	}
	CHECK(lc == 0, "%u lcores held by other members after detach", lc);
	printf("%s detach\n", fails == f0 ? "PASS" : "FAIL");
}

/* Checked mode switched on here holds in another member. */
static void test_checked(void)
{
	int f0 = fails;
	xmem_set_checked(1);
	CHECK(finish(start("checked", "0")) == 0, "the member did not see checked mode");
	xmem_set_checked(0);
	CHECK(xmem_shared_reap() == 1, "reap of the checked member");
	printf("%s checked: switched on in one member, a double free caught in another\n",
	       fails == f0 ? "PASS" : "FAIL");
}

/* create: EEXIST while a member lives; a domain whose members are all gone
 * is replaced. */
static void test_exists(void)
{
	int f0 = fails;
	int rc = finish(start("create", "0"));
	CHECK(rc == EEXIST, "create of a live domain: status %d, not EEXIST", rc);
	char stale[80];
	snprintf(stale, sizeof(stale), "%s-stale", dom);
	pid_t p = fork();
	if (p == 0) {
		execl(member_bin, member_bin, stale, area_path, "create", "0", (char *)NULL);
		_exit(127);
	}
	CHECK(finish(p) == 0, "first create of %s", stale);
	p = fork();
	if (p == 0) {
		execl(member_bin, member_bin, stale, area_path, "create", "0", (char *)NULL);
		_exit(127);
	}
	rc = finish(p);
	CHECK(rc == 0, "create over a domain whose members are gone: status %d", rc);
	xmem_shared_unlink(stale);
	printf("%s exists: EEXIST while a member lives, a dead domain is replaced\n",
	       fails == f0 ? "PASS" : "FAIL");
}

/* Members killed inside control calls: the next control calls neither
 * hang (robust mutexes, EOWNERDEAD reaps) nor see a broken table. */
static void test_ctl_kill(int kills)
{
	int f0 = fails;
	alarm(120);   /* a hang fails the test instead of blocking it */
	uint64_t live0 = live_count(pipe_heap);
	struct xmem_shared_stats s0, s1;
	xmem_shared_stats(&s0);
	for (int k = 0; k < kills; k++) {
		atomic_store(&A->rounds, 0);
		pid_t p = start("ctlchurn", "0");
		while (atomic_load(&A->rounds) == 0 && waitpid(p, NULL, WNOHANG) == 0)
			usleep(100);
		usleep((useconds_t)(random() % 2000));
		kill(p, SIGKILL);
		finish(p);
		/* A control call right away: it may recover the mutex. */
		struct xmem_heap *t = xmem_heap_create("ctl-probe");
		CHECK(t != NULL && xmem_heap_destroy(t) == 0, "kill %d: create/destroy after", k);
		xmem_shared_reap();
	}
	alarm(0);
	/* Reaped by xmem_shared_reap, or by the create that found the
	 * control mutex's holder dead. */
	xmem_shared_stats(&s1);
	CHECK(s1.reaped_members - s0.reaped_members == (uint64_t)kills,
	      "%lu of %d killed members reaped",
	      (unsigned long)(s1.reaped_members - s0.reaped_members), kills);
	CHECK(live_count(pipe_heap) == live0, "heap pipe disturbed");
	void *b[MP_BURST];
	CHECK(xmem_alloc_bulk(pipe_heap, MP_OBJ, b, MP_BURST) == 0, "alloc after");
	xmem_free_bulk(b, MP_BURST);
	FILE *devnull = fopen("/dev/null", "w");
	CHECK(xmem_heap_dump(devnull) == 0, "dump after");
	fclose(devnull);
	printf("%s ctl-kill: %d members killed inside control calls; no hang, all reaped\n",
	       fails == f0 ? "PASS" : "FAIL", kills);
}

/* Objects the heap can hand out now: allocate until ENOMEM, free all. */
static uint64_t capacity(void)
{
	size_t cap = MP_FILE_LEN / MP_OBJ + 64, n = 0;
	void **v = malloc(cap * sizeof(void *));
	while (n < cap && (v[n] = xmem_alloc(pipe_heap, MP_OBJ, 0)))
		n++;
	xmem_free_bulk(v, (unsigned)n);
	free(v);
	return n;
}

static void test_kill(int kills)
{
	int f0 = fails;
	uint64_t cap0 = capacity();
	struct xmem_shared_stats s0;
	xmem_shared_stats(&s0);
	/* The first half reaps after each kill; the second half reaps once at
	 * the end, so that dead members fill every slot (64) and joiners must
	 * free the slots of dead ones themselves. */
	int reaped = 0, late = kills / 2;
	for (int k = 0; k < kills; k++) {
		atomic_store(&A->held_n, 0);
		atomic_store(&A->rounds, 0);
		pid_t p = start("churn", "0");
		/* Let it attach and run a random while. */
		while (atomic_load(&A->rounds) == 0 && waitpid(p, NULL, WNOHANG) == 0)
			usleep(100);
		usleep((useconds_t)(random() % 3000));
		kill(p, SIGKILL);
		finish(p);
		/* Its counts: what it held for sure, plus the burst in flight. */
		uint64_t held = atomic_load(&A->held_n);
		for (int m = 0; m < XMEM_SHARED_MEMBERS; m++) {
			struct xmem_shared_member_stats ms;
			if (xmem_shared_member_stats(m, &ms) != 0 || ms.pid != p)
				continue;
			uint64_t net = ms.allocs - ms.frees;
			CHECK(!ms.alive && net >= held && net <= held + MP_BURST,
			      "killed member: alive %d, %lu allocs - %lu frees, held %lu",
			      ms.alive, (unsigned long)ms.allocs, (unsigned long)ms.frees,
			      (unsigned long)held);
		}
		if (k < kills - late) {
			int r = xmem_shared_reap();
			CHECK(r == 1, "kill %d: reap returned %d", k, r);
			reaped += r > 0 ? r : 0;
		}
		/* The ones it held for sure go back (freed in this process). */
		uint64_t n = atomic_load(&A->held_n);
		xmem_free_bulk(A->held, (unsigned)n);
	}
	int r = xmem_shared_reap();
	CHECK(r == late, "one reap after %d kills returned %d", late, r);
	reaped += r > 0 ? r : 0;
	struct xmem_shared_stats s1;
	xmem_shared_stats(&s1);
	CHECK(s1.members == 1, "%u members left", s1.members);
	uint64_t busy = s1.reaped_busy_caches - s0.reaped_busy_caches;
	uint64_t live = live_count(pipe_heap);
	uint64_t cap1 = capacity();
	/* Every object is live (held by a killed member between its call and
	 * its list update: at most a burst per kill) or allocatable, but for
	 * bursts lost with an owner killed inside its cache section. */
	CHECK(live <= (uint64_t)kills * MP_BURST, "live %lu after %d kills",
	      (unsigned long)live, kills);
	CHECK(cap1 + live <= cap0 && cap0 - cap1 - live <= busy * 64,
	      "capacity %lu -> %lu with %lu live, %lu caches died busy",
	      (unsigned long)cap0, (unsigned long)cap1, (unsigned long)live,
	      (unsigned long)busy);
	CHECK(s1.reaped_members - s0.reaped_members == (uint64_t)kills,
	      "reaped_members %lu", (unsigned long)(s1.reaped_members - s0.reaped_members));
	/* Progress: a new member still runs. */
	atomic_store(&A->held_n, 0);
	atomic_store(&A->rounds, 0);
	pid_t p = start("churn", "0");
	for (int i = 0; i < 2000 && atomic_load(&A->rounds) < 1000; i++)
		usleep(1000);
	CHECK(atomic_load(&A->rounds) >= 1000, "no progress after the kills");
	kill(p, SIGKILL);
	finish(p);
	CHECK(xmem_shared_reap() == 1, "final reap");
	xmem_free_bulk(A->held, (unsigned)atomic_load(&A->held_n));
	printf("%s kill: %d members killed and reaped; live %lu (in flight at "
	       "the kills), capacity %lu -> %lu, %lu caches died mid-section\n",
	       fails == f0 ? "PASS" : "FAIL", reaped, (unsigned long)live,
	       (unsigned long)cap0, (unsigned long)cap1, (unsigned long)busy);
}

static void test_eal(void)
{
	int f0 = fails;
	pid_t pid = fork();
	if (pid == 0) {
		execl(eal_bin, eal_bin, dom, area_path, (char *)NULL);
		_exit(127);
	}
	CHECK(finish(pid) == 0, "the member that started EAL could not attach");
	CHECK(xmem_shared_reap() == 0, "it detached: nothing to reap");
	printf("%s eal: attach after mapping 1 GiB and rte_eal_init\n",
	       fails == f0 ? "PASS" : "FAIL");
}

/* The words around a reported one, inside the scanned part: what object
 * holds it (a robust mutex shows its owner, kind 0x90 and list links). */
static void show_near(const uint64_t *w, size_t i, size_t words)
{
	if (i >= 5 && i + 1 < words)
		printf("  words before it: %#lx %#lx %#lx %#lx %#lx, after: %#lx\n",
		       (unsigned long)w[i - 5], (unsigned long)w[i - 4],
		       (unsigned long)w[i - 3], (unsigned long)w[i - 2],
		       (unsigned long)w[i - 1], (unsigned long)w[i + 1]);
}

/* Invariant 7: scan the domain file's used part word by word. */
static void test_layout(void)
{
	int f0 = fails;
	const char *e = getenv("XMEM_SHARED_BASE");
	uintptr_t base = e ? strtoull(e, NULL, 0) : 0x7e9000000000ull;
	e = getenv("XMEM_SHARED_SIZE");
	size_t win = e ? strtoull(e, NULL, 0) : (size_t)64 << 30;
	struct xmem_shared_stats st;
	xmem_shared_stats(&st);
	/* Private mappings: what /proc/self/maps lists outside the window. */
	uintptr_t lo[512], hi[512];
	char what[512][96];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && n < 512 && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perm[8];
		/* Not PROT_NONE reservations nor sanitizer shadows (terabytes):
		 * nothing of the library's can be there. */
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 &&
		    (b <= base || a >= base + win) && perm[0] == 'r' &&
		    b - a < (64ul << 30)) {
			lo[n] = a;
			hi[n] = b;
			snprintf(what[n++], sizeof what[0], "%.95s", line);
		}
	}
	if (f)
		fclose(f);
	const uint64_t *w = (const uint64_t *)base;
	size_t words = st.meta_bytes / 8, bad = 0, ptrs = 0;
	size_t churn = atomic_load(&A->churn_n);
	if (churn > sizeof(A->churn_va) / sizeof(A->churn_va[0]))
		churn = sizeof(A->churn_va) / sizeof(A->churn_va[0]);
	for (size_t i = 0; i < words; i++) {
		uint64_t v = w[i];
		if (v < 0x10000)
			continue;
		if (v >= base && v < base + win)
			ptrs++;
		/* Into a killed member's thread descriptor: the links of a
		 * robust mutex it died holding, unless reap recovered it. */
		size_t c = 0;
		while (c < churn && v - A->churn_tcb[c] >= 4096)
			c++;
		if (c < churn) {
			if (bad++ < 5) {
				printf("  word at %#lx (offset %#zx) = %#lx, inside the thread "
				       "descriptor of killed member %zu\n",
				       (unsigned long)&w[i], i * 8, (unsigned long)v, c);
				show_near(w, i, words);
			}
			continue;
		}
		for (int j = 0; j < n; j++)
			if (v >= lo[j] && v < hi[j]) {
				/* An object of a killed member's own chunk, left
				 * in a cache array or magazine: application
				 * memory that happens to lie where this process
				 * has a mapping, not a metadata pointer. */
				int app = 0;
				for (size_t c = 0; c < churn && !app; c++)
					app = v - A->churn_va[c] < ((uintptr_t)1 << 20);
				if (app)
					break;
				if (bad++ < 5)
					printf("  word at %#lx (offset %#zx) = %#lx, private: %s",
					       (unsigned long)&w[i], i * 8, (unsigned long)v,
					       what[j]);
				if (bad <= 5)
					show_near(w, i, words);
				break;
			}
	}
	CHECK(bad == 0, "%zu words point into private memory", bad);
	CHECK(ptrs > 100, "only %zu pointers into the window found: scan broken?", ptrs);
	printf("%s layout: %zu MiB of metadata scanned, %zu pointers, all inside the window\n",
	       fails == f0 ? "PASS" : "FAIL", st.meta_bytes >> 20, ptrs);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mp_test <mp_member> <mp_eal_member> [kills]\n");
		return 2;
	}
	member_bin = argv[1];
	eal_bin = argv[2];
	int kills = argc > 3 ? atoi(argv[3]) : 200;
	srandom((unsigned)time(NULL));
	snprintf(dom, sizeof(dom), "mpt%d", (int)getpid());
	snprintf(area_path, sizeof(area_path), "/dev/shm/xmem_mpt_area.%d", (int)getpid());
	snprintf(file_path, sizeof(file_path), "/dev/shm/xmem_mpt_file.%d", (int)getpid());
	if (access("/dev/shm", W_OK) != 0) {
		printf("SKIPPED: /dev/shm is not writable\n");
		return 0;
	}
	int fd = open(area_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct mp_area)) != 0)
		return printf("FAIL: area\n"), 1;
	A = mmap(NULL, sizeof(*A), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, MP_FILE_LEN) != 0)
		return printf("FAIL: heap file\n"), 1;
	close(fd);

	if (xmem_shared_create(dom) != 0) {
		printf("FAIL: xmem_shared_create: errno %d\n", errno);
		return 1;
	}
	pipe_heap = xmem_heap_create("pipe");
	void *va = pipe_heap ? xmem_heap_add_file(pipe_heap, file_path, 0, MP_FILE_LEN,
						  NULL, 0, 4096) : NULL;
	if (!va) {
		printf("FAIL: heap pipe: errno %d\n", errno);
		return 1;
	}
	A->file_va = (uintptr_t)va;

	test_pipeline();
	test_visible();
	test_detach();
	test_exists();
	test_checked();
	test_kill(kills);
	test_ctl_kill(40);
	test_eal();
	test_layout();

	xmem_shared_unlink(dom);
	unlink(area_path);
	unlink(file_path);
	char xp[160];
	snprintf(xp, sizeof(xp), "%s.x", area_path);
	unlink(xp);
	printf("%s\n", fails ? "FAILED" : "ALL PASSED");
	return fails != 0;
}
