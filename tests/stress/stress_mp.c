/* stress_mp.c - the stress test's multi-process mode (--procs=N, or
 * XMEM_STRESS_PROCS=N): random ops on heaps shared by N member processes
 * of one domain (docs/multiprocess.md), checked against a shadow that all
 * of them share.
 *
 * The parent creates domain "xst<pid>" and two heaps, each on a 32 MiB
 * /dev/shm file added with xmem_heap_add_file (a contiguous IOVA table),
 * and a test area in another shm file (struct mps_area: the shadow, one
 * owner byte per 16 bytes of each file; every member's held blocks; one
 * single-producer/single-consumer ring per pair of members).  It starts the
 * members by fork+exec of this binary (--mp-member=I ...), which attach and
 * run random ops: alloc, zalloc, alloc_bulk, free, free_bulk, handoff of a
 * block to another member through its ring (freed there: the cross-process
 * free), translation and usable-size probes.  Each allocation claims its
 * usable extent in the shadow with compare-and-swap (0 -> member): a byte
 * owned by anyone else is an OVERLAP; it must lie inside its heap's file
 * (OUTSIDE), be aligned (ALIGN), and carry the tag bytes its holder wrote
 * until it is freed (TAG).  A handoff moves ownership member -> "in flight
 * to R" -> R.
 *
 * Every --batch ops the members meet the parent twice: at the first meeting
 * nobody sends any more, in between each member empties its inbox, at the
 * second the parent checks, while all wait: xmem_heap_stats of both heaps
 * (alloc_count and alloc_bytes) against the blocks the members hold, and
 * xmem_shared_member_stats of every member (allocs and frees) against the
 * member's own counts - exact, from another process.  While the members
 * run, the parent reads stats and trims the heaps (control calls crossing
 * their data path).  At the end the members free everything and meet the
 * parent a last time (no live block in either heap, as many frees as
 * allocs, member stats exact), then detach and exit.
 *
 * With --kill-every=Q, every Q-th quiescent point the parent kills a
 * random member with SIGKILL while it waits (its lcore cache holding what
 * it freed), reaps it (xmem_shared_reap must return 1; its slot must keep
 * its counts, alive 0, no lcores), frees the blocks it held, checks the
 * heaps exactly again, and starts a new member in its place.
 *
 * A violation prints `VIOLATION seed=S proc=P op=K: what` (P is the member,
 * or "parent" for the quiescent checks) with the member's last ops, and
 * the run exits 1.  Each member's op sequence is a function of (seed, P);
 * the interleaving of the members is not reproducible.  The last line of a
 * clean run is
 *   stress-mp: procs=N seed=S ops=M quiescent=Q violations=0 seconds=X
 *
 * With --selftest-double member 0 hands one block it still holds to member
 * 1 as a fresh allocation (a double hand-out, as the library would make
 * it; member 0 keeps it in the shadow for good): member 1 must report
 * OVERLAP. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/stress/stress.h"

#define MPS_PROCS   8
#define MPS_HEAPS   2
#define MPS_LEN     (32 * MiB)
#define MPS_GRAIN   16                   /* XMEM_ALIGN_MIN */
#define MPS_HELD    2048
#define MPS_RING    256
#define MPS_IOVA0   0x40000000000ull     /* heap i's IOVAs: MPS_IOVA0 * (i + 1) */
#define IN_FLIGHT   0x80                 /* shadow: handed to member (v & 0x7f) - 1 */

struct mps_blk {
	void *p;
	uint32_t usable;
	uint8_t heap, tag, fresh;   /* fresh: the selftest's planted hand-out */
};

/* Single producer (member `from`), single consumer (member `to`). */
struct mps_ring {
	_Atomic uint64_t head, tail;
	struct mps_blk e[MPS_RING];
};

struct mps_member {
	/* Written by the member only; the parent reads them while the member
	 * waits at a meeting (its arrival is a release, see meet()). */
	struct mps_blk held[MPS_HELD];
	uint32_t n_held;
	uint64_t allocs, frees, ops;
	int member_id;                   /* xmem_shared_member_id */
	unsigned gen;                    /* members started in this place */
};

struct mps_area {
	uintptr_t file_va[MPS_HEAPS];
	uint64_t seed;
	unsigned procs, batch;
	int selftest;
	/* Meetings: a member adds one to arrived, then waits until gen
	 * moves; the parent waits until arrived == procs, resets it and
	 * moves gen (release: its writes, e.g. stop, are seen after). */
	_Atomic uint32_t arrived, gen;
	_Atomic int stop;
	_Atomic uint64_t violations;
	struct mps_member m[MPS_PROCS];
	struct mps_ring ring[MPS_PROCS][MPS_PROCS];   /* [to][from] */
	_Atomic uint8_t shadow[MPS_HEAPS][MPS_LEN / MPS_GRAIN];
};

static struct mps_area *A;
static struct xmem_heap *HP[MPS_HEAPS];
static char dom[64], area_path[128], file_path[MPS_HEAPS][128];

/* ---- one member ------------------------------------------------------- */

static unsigned me;
static uint64_t mrng, mop;
static struct { uint64_t op; const char *what; const void *p; size_t a; } mrec[RECENT];
static unsigned n_mrec;

static void mnote(const char *what, const void *p, size_t a)
{
	mrec[n_mrec % RECENT].op = mop;
	mrec[n_mrec % RECENT].what = what;
	mrec[n_mrec % RECENT].p = p;
	mrec[n_mrec++ % RECENT].a = a;
}

static void __attribute__((format(printf, 1, 2), noreturn)) mviolation(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&A->violations, 1);
	atomic_store(&A->stop, 1);
	printf("VIOLATION seed=%" PRIu64 " proc=%u op=%" PRIu64 ": %s\n", A->seed, me,
	       mop, msg);
	unsigned n = n_mrec < RECENT ? n_mrec : RECENT;
	for (unsigned i = n_mrec - n; i < n_mrec; i++)
		printf("  op %" PRIu64 ": %s %p %zu\n", mrec[i % RECENT].op,
		       mrec[i % RECENT].what, mrec[i % RECENT].p, mrec[i % RECENT].a);
	fflush(stdout);
	_exit(1);
}

static _Atomic uint8_t *shadow_at(int hi, uintptr_t a)
{
	return &A->shadow[hi][(a - A->file_va[hi]) / MPS_GRAIN];
}

/* Moves every grain of b from `from` to `to`; a grain found otherwise is a
 * violation (an OVERLAP when claiming a fresh block). */
static void shadow_move(const struct mps_blk *b, uint8_t from, uint8_t to, const char *what)
{
	uintptr_t a = (uintptr_t)b->p, end = a + b->usable;
	for (; a < end; a += MPS_GRAIN) {
		uint8_t v = from;
		if (!atomic_compare_exchange_strong(shadow_at(b->heap, a), &v, to))
			mviolation("%s: %p (+%zu of %u bytes, heap %d): shadow %#x, not %#x",
				   what, b->p, (size_t)(a - (uintptr_t)b->p), b->usable,
				   b->heap, v, from);
	}
}

static void tag_check(const struct mps_blk *b)
{
	const uint8_t *c = b->p, nt = (uint8_t)~b->tag;
	if (c[0] != b->tag || c[b->usable - 1] != nt)
		mviolation("TAG: %p (heap %d, %u bytes): %#x/%#x, not %#x/%#x", b->p,
			   b->heap, b->usable, c[0], c[b->usable - 1], b->tag, nt);
}

static void hold_blk(struct mps_blk b)
{
	struct mps_member *m = &A->m[me];
	m->held[m->n_held++] = b;
}

/* A block just allocated (or, with fresh, planted): checked and claimed. */
static void claim(void *p, size_t size, size_t align, int hi, bool zero)
{
	mnote("alloc", p, size);
	uintptr_t a = (uintptr_t)p, lo = A->file_va[hi];
	size_t us = xmem_usable_size(p);
	if (a < lo || a + us > lo + MPS_LEN || us < size)
		mviolation("OUTSIDE: %p usable %zu (size %zu) not inside heap %d's file "
			   "[%#lx, +%zu)", p, us, size, hi, (unsigned long)lo, MPS_LEN);
	size_t want = align ? align : MPS_GRAIN;
	if (a % want)
		mviolation("ALIGN: %p, align %zu", p, align);
	struct mps_blk b = { p, (uint32_t)us, (uint8_t)hi, (uint8_t)rnd(&mrng), 0 };
	shadow_move(&b, 0, (uint8_t)(me + 1), "OVERLAP");
	if (zero) {
		const uint8_t *c = p;
		for (size_t i = 0; i < size; i += 61)
			if (c[i])
				mviolation("ZERO: zalloc %p byte %zu is %#x", p, i, c[i]);
	}
	((uint8_t *)p)[0] = b.tag;
	((uint8_t *)p)[us - 1] = (uint8_t)~b.tag;
	A->m[me].allocs++;
	hold_blk(b);
}

/* Removes held block i: tag checked, shadow released. */
static void *unhold(uint32_t i)
{
	struct mps_member *m = &A->m[me];
	struct mps_blk b = m->held[i];
	m->held[i] = m->held[--m->n_held];
	tag_check(&b);
	mnote("free", b.p, b.usable);
	shadow_move(&b, (uint8_t)(me + 1), 0, "FREE");
	m->frees++;
	return b.p;
}

static size_t mp_size(void)
{
	uint64_t r = rnd(&mrng) % 100;
	if (r < 70)
		return range(&mrng, 1, 512);
	if (r < 95)
		return range(&mrng, 513, XMEM_MAX_CLASS_SIZE);
	return range(&mrng, XMEM_MAX_CLASS_SIZE + 1, 256 * KiB);
}

static void m_alloc(bool zero)
{
	static const size_t aligns[] = { 0, 0, 0, 0, 16, 64, 256, 4096 };
	int hi = (int)(rnd(&mrng) % MPS_HEAPS);
	size_t size = mp_size(), align = aligns[rnd(&mrng) % 8];
	void *p = zero ? xmem_zalloc(HP[hi], size, align) : xmem_alloc(HP[hi], size, align);
	if (!p) {
		if (errno != ENOMEM)
			mviolation("ERRNO: alloc(%zu, %zu) errno %d, not ENOMEM", size, align, errno);
		return;
	}
	claim(p, size, align, hi, zero);
}

static void m_alloc_bulk(void)
{
	int hi = (int)(rnd(&mrng) % MPS_HEAPS);
	unsigned n = (unsigned)range(&mrng, 1, 32);
	size_t size = range(&mrng, 1, 2048);
	void *b[32];
	if (xmem_alloc_bulk(HP[hi], size, b, n) != 0) {
		if (errno != ENOMEM)
			mviolation("ERRNO: alloc_bulk(%zu, %u) errno %d, not ENOMEM", size, n, errno);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		claim(b[i], size, 0, hi, false);
}

static void m_free(unsigned n)
{
	void *b[32];
	unsigned k = 0;
	while (k < n && A->m[me].n_held)
		b[k++] = unhold((uint32_t)(rnd(&mrng) % A->m[me].n_held));
	if (k == 1 && rnd(&mrng) % 2)
		xmem_free(b[0]);
	else
		xmem_free_bulk(b, k);
}

static void m_handoff(void)
{
	struct mps_member *m = &A->m[me];
	if (!m->n_held || A->procs < 2)
		return;
	unsigned to = (unsigned)((me + range(&mrng, 1, A->procs - 1)) % A->procs);
	struct mps_ring *r = &A->ring[to][me];
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) >= MPS_RING)
		return;
	uint32_t i = (uint32_t)(rnd(&mrng) % m->n_held);
	struct mps_blk b = m->held[i];
	m->held[i] = m->held[--m->n_held];
	if (A->selftest && me == 0 && mop >= 100) {
		/* The planted bug: b stays member 0's in the shadow (as a
		 * block it still uses, never freed) and goes to `to` as if
		 * the library had handed it out a second time. */
		b.fresh = 1;
		A->selftest = 0;
	} else {
		tag_check(&b);
		mnote("handoff", b.p, to);
		shadow_move(&b, (uint8_t)(me + 1), (uint8_t)(IN_FLIGHT | (to + 1)), "HANDOFF");
	}
	r->e[h % MPS_RING] = b;
	/* release: the entry (and the shadow moves) before the consumer
	 * sees the new head */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

static void m_drain(void)
{
	for (unsigned from = 0; from < A->procs; from++) {
		struct mps_ring *r = &A->ring[me][from];
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		/* acquire: pairs with the producer's release of head */
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
		for (; t < h; t++) {
			struct mps_blk b = r->e[t % MPS_RING];
			if (b.fresh) {
				claim(b.p, b.usable, 0, b.heap, false);
				continue;
			}
			tag_check(&b);
			mnote("received", b.p, from);
			shadow_move(&b, (uint8_t)(IN_FLIGHT | (me + 1)), (uint8_t)(me + 1), "RECEIVE");
			if (A->m[me].n_held < MPS_HELD)
				hold_blk(b);
			else {
				shadow_move(&b, (uint8_t)(me + 1), 0, "FREE");
				A->m[me].frees++;
				xmem_free(b.p);
			}
		}
		/* release: the slots are read before the producer reuses them */
		atomic_store_explicit(&r->tail, t, memory_order_release);
	}
}

static void m_probe(void)
{
	struct mps_member *m = &A->m[me];
	if (!m->n_held)
		return;
	struct mps_blk *b = &m->held[rnd(&mrng) % m->n_held];
	mnote("probe", b->p, b->usable);
	uintptr_t off = (uintptr_t)b->p - A->file_va[b->heap] + b->usable - 1;
	uint64_t want = MPS_IOVA0 * (b->heap + 1u) + off;
	uint64_t got = xmem_virt2iova((char *)b->p + b->usable - 1);
	if (got != want)
		mviolation("TRANSLATE: virt2iova(%p + %u) = %#" PRIx64 ", not %#" PRIx64,
			   b->p, b->usable - 1, got, want);
	if (xmem_usable_size(b->p) != b->usable)
		mviolation("USABLE: %p: %zu, recorded %u", b->p, xmem_usable_size(b->p),
			   b->usable);
}

/* Arrive at a meeting and wait for the parent to end it. */
static void meet(void)
{
	uint32_t g = atomic_load(&A->gen);
	/* seq_cst (release): this member's held list and counts before the
	 * parent sees the arrival */
	atomic_fetch_add(&A->arrived, 1);
	for (unsigned spin = 0; atomic_load(&A->gen) == g; spin++)
		if (spin > 100)
			usleep(50);
}

static int member_main(unsigned idx)
{
	me = idx;
	mrng = A->seed * 0x9e3779b97f4a7c15ULL + idx + 1 + ((uint64_t)A->m[idx].gen << 32);
	if (xmem_shared_attach(dom) != 0) {
		printf("stress-mp: member %u: attach %s: errno %d\n", idx, dom, errno);
		return 1;
	}
	for (int i = 0; i < MPS_HEAPS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "mps%d", i);
		if (!(HP[i] = xmem_heap_lookup(name))) {
			printf("stress-mp: member %u: lookup %s: errno %d\n", idx, name, errno);
			return 1;
		}
	}
	struct mps_member *m = &A->m[me];
	m->member_id = xmem_shared_member_id();
	uint64_t bad0 = xmem_invalid_free_count();
	meet();   /* everybody attached */
	while (!atomic_load(&A->stop)) {
		for (unsigned k = 0; k < A->batch; k++, mop++) {
			uint64_t r = rnd(&mrng) % 100;
			bool full = m->n_held + 64 > MPS_HELD;
			if (r < 25 && !full)
				m_alloc(false);
			else if (r < 30 && !full)
				m_alloc(true);
			else if (r < 40 && !full)
				m_alloc_bulk();
			else if (r < 60)
				m_free(1);
			else if (r < 70)
				m_free((unsigned)range(&mrng, 2, 32));
			else if (r < 85)
				m_handoff();
			else if (r < 95)
				m_drain();
			else
				m_probe();
		}
		m->ops = mop;
		meet();     /* nobody sends any more */
		m_drain();
		if (xmem_invalid_free_count() != bad0)
			mviolation("INVALID_FREE: count %" PRIu64 ", not %" PRIu64,
				   xmem_invalid_free_count(), bad0);
		meet();     /* the parent checks */
	}
	while (m->n_held)
		m_free(32);
	m->ops = mop;
	meet();         /* the parent checks the end, then we detach */
	if (xmem_shared_detach() != 0) {
		printf("stress-mp: member %u: detach: errno %d\n", idx, errno);
		return 1;
	}
	return 0;
}

/* ---- the parent -------------------------------------------------------- */

static pid_t kids[MPS_PROCS];

static void stop_all(void)
{
	atomic_store(&A->stop, 1);
	atomic_fetch_add(&A->gen, 1);
	usleep(200000);
	for (unsigned i = 0; i < A->procs; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (unsigned i = 0; i < A->procs; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
}

static void cleanup(void)
{
	xmem_shared_unlink(dom);
	unlink(area_path);
	for (int i = 0; i < MPS_HEAPS; i++)
		unlink(file_path[i]);
}

static void __attribute__((noreturn)) fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	stop_all();
	cleanup();
	exit(1);
}

/* Waits until every member arrived; a member that exits first fails the
 * run.  While waiting, control calls on the heaps (with ctl). */
static void gather(unsigned n, bool ctl, uint64_t *crng)
{
	for (unsigned spin = 0; atomic_load(&A->arrived) < n; spin++) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0) {
			for (unsigned i = 0; i < A->procs; i++)
				if (kids[i] == p)
					kids[i] = 0;
			fail("stress-mp: a member (pid %d) ended early: %s %d%s", (int)p,
			     WIFEXITED(st) ? "exit" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			     atomic_load(&A->violations) ? " (a VIOLATION above)" : "");
		}
		if (ctl && spin % 64 == 0) {
			struct xmem_heap *h = HP[rnd(crng) % MPS_HEAPS];
			struct xmem_heap_stats st2;
			if (rnd(crng) % 4 == 0 ? xmem_heap_trim(h) != 0 : xmem_heap_stats(h, &st2) != 0)
				fail("VIOLATION seed=%" PRIu64 " proc=parent: a control call "
				     "failed: errno %d", A->seed, errno);
		}
		if (spin > 100)
			usleep(100);
	}
	atomic_store(&A->arrived, 0);
}

/* Member i: fork+exec of this binary. */
static void spawn(unsigned i)
{
	char a1[32], a2[160], a3[96];
	snprintf(a1, sizeof(a1), "--mp-member=%u", i);
	snprintf(a2, sizeof(a2), "--mp-area=%s", area_path);
	snprintf(a3, sizeof(a3), "--mp-domain=%s", dom);
	kids[i] = fork();
	if (kids[i] == 0) {
		execl("/proc/self/exe", "stress_test", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	if (kids[i] < 0)
		fail("stress-mp: fork: %s", strerror(errno));
}

static void release_all(void)
{
	/* release: arrived = 0 and stop before the members see gen move */
	atomic_fetch_add(&A->gen, 1);
}

/* Of the killed members: ops, allocs, and frees (theirs and the parent's
 * of what they held). */
static uint64_t kills, dead_ops, dead_allocs, dead_frees;
static void check(uint64_t q, bool end);

/* At a quiescent point (every member waits at its second meeting, its
 * cache full of what it freed): SIGKILL a random member, reap it (exactly
 * one), check that its figures stay and the heaps are exact once the
 * blocks it held are freed here, then start a new member in its place and
 * end the meeting.  Kills inside bursts and control calls are
 * tests/mp's. */
static void kill_one(uint64_t *crng, uint64_t q)
{
	unsigned k = (unsigned)(rnd(crng) % A->procs);
	struct mps_member *m = &A->m[k];
	int st;
	kill(kids[k], SIGKILL);
	waitpid(kids[k], &st, 0);
	kids[k] = 0;
	int r = xmem_shared_reap();
	if (r != 1)
		fail("VIOLATION seed=%" PRIu64 " proc=parent quiescent=%" PRIu64
		     ": REAP: xmem_shared_reap() = %d (errno %d) after killing member %u, not 1",
		     A->seed, q, r, errno, k);
	struct xmem_shared_member_stats ms;
	if (xmem_shared_member_stats(m->member_id, &ms) != 0 || ms.alive || ms.lcores)
		fail("VIOLATION seed=%" PRIu64 " proc=parent quiescent=%" PRIu64
		     ": REAP: member %u (id %d) alive %d lcores %u after its reap", A->seed,
		     q, k, m->member_id, ms.alive, ms.lcores);
	/* Its blocks: the application's (here, the parent's) to free. */
	while (m->n_held) {
		struct mps_blk b = m->held[--m->n_held];
		uintptr_t a = (uintptr_t)b.p;
		for (; a < (uintptr_t)b.p + b.usable; a += MPS_GRAIN) {
			uint8_t v = (uint8_t)(k + 1);
			if (!atomic_compare_exchange_strong(shadow_at(b.heap, a), &v, 0))
				fail("VIOLATION seed=%" PRIu64 " proc=parent: dead member %u's "
				     "block %p: shadow %#x", A->seed, k, b.p, v);
		}
		xmem_free(b.p);
		dead_frees++;
	}
	check(q, false);   /* the dead member's figures kept, heaps exact */
	dead_ops += m->ops;
	dead_allocs += m->allocs;
	dead_frees += m->frees;
	m->allocs = m->frees = m->ops = 0;
	m->gen++;
	kills++;
	spawn(k);
	gather(1, false, crng);   /* the new member attached */
	/* the others still wait at the meeting the caller ends */
}

/* The quiescent check: heaps and members, exactly. */
static void check(uint64_t q, bool end)
{
	uint64_t cnt[MPS_HEAPS] = { 0 }, bytes[MPS_HEAPS] = { 0 };
	uint64_t allocs = dead_allocs, frees = dead_frees;
	for (unsigned i = 0; i < A->procs; i++) {
		struct mps_member *m = &A->m[i];
		for (uint32_t k = 0; k < m->n_held; k++) {
			cnt[m->held[k].heap]++;
			bytes[m->held[k].heap] += m->held[k].usable;
		}
		struct xmem_shared_member_stats ms;
		if (xmem_shared_member_stats(m->member_id, &ms) != 0)
			fail("VIOLATION seed=%" PRIu64 " proc=parent quiescent=%" PRIu64
			     ": member_stats(%d): errno %d", A->seed, q, m->member_id, errno);
		if (ms.allocs != m->allocs || ms.frees != m->frees)
			fail("VIOLATION seed=%" PRIu64 " proc=parent quiescent=%" PRIu64
			     ": STATS: member %u (id %d): library %" PRIu64 " allocs, %" PRIu64
			     " frees; the member counted %" PRIu64 ", %" PRIu64, A->seed, q, i,
			     m->member_id, ms.allocs, ms.frees, m->allocs, m->frees);
		allocs += m->allocs;
		frees += m->frees;
	}
	for (int h = 0; h < MPS_HEAPS; h++) {
		struct xmem_heap_stats st;
		if (xmem_heap_stats(HP[h], &st) != 0)
			fail("VIOLATION seed=%" PRIu64 " proc=parent: stats: errno %d", A->seed, errno);
		if (st.alloc_count != cnt[h] || st.alloc_bytes != bytes[h] ||
		    (end && cnt[h]))
			fail("VIOLATION seed=%" PRIu64 " proc=parent quiescent=%" PRIu64
			     ": STATS: heap mps%d: %" PRIu64 " live blocks, %zu bytes; the "
			     "members hold %" PRIu64 ", %" PRIu64, A->seed, q, h,
			     st.alloc_count, st.alloc_bytes, cnt[h], bytes[h]);
	}
	if (end && allocs != frees)
		fail("VIOLATION seed=%" PRIu64 " proc=parent: STATS: %" PRIu64 " allocs, %"
		     PRIu64 " frees at the end", A->seed, allocs, frees);
}

static int parent_main(void)
{
	if (O.procs < 1 || O.procs > MPS_PROCS) {
		fprintf(stderr, "--procs must be 1..%d\n", MPS_PROCS);
		return 2;
	}
	if (access("/dev/shm", W_OK) != 0) {
		printf("SKIPPED: /dev/shm is not writable (the multi-process mode needs it)\n");
		return 0;
	}
	int pid = (int)getpid();
	snprintf(dom, sizeof(dom), "xst%d", pid);
	snprintf(area_path, sizeof(area_path), "/dev/shm/xmem_stress_area.%d", pid);
	int fd = open(area_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct mps_area)) != 0)
		return printf("stress-mp: %s: %s\n", area_path, strerror(errno)), 1;
	A = mmap(NULL, sizeof(*A), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (A == MAP_FAILED)
		return printf("stress-mp: mmap area: %s\n", strerror(errno)), 1;
	A->seed = O.seed;
	A->procs = O.procs;
	A->batch = O.batch;
	A->selftest = O.selftest_double;
	if (xmem_shared_create(dom) != 0) {
		printf("stress-mp: xmem_shared_create(%s): errno %d\n", dom, errno);
		cleanup();
		return 1;
	}
	for (int i = 0; i < MPS_HEAPS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "mps%d", i);
		snprintf(file_path[i], sizeof(file_path[i]), "/dev/shm/xmem_stress_heap%d.%d", i, pid);
		fd = open(file_path[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, MPS_LEN) != 0)
			fail("stress-mp: %s: %s", file_path[i], strerror(errno));
		close(fd);
		uint64_t iova[MPS_LEN / (2 * MiB)];
		for (size_t k = 0; k < MPS_LEN / (2 * MiB); k++)
			iova[k] = MPS_IOVA0 * (i + 1u) + k * 2 * MiB;
		void *va = (HP[i] = xmem_heap_create(name))
			   ? xmem_heap_add_file(HP[i], file_path[i], 0, MPS_LEN, iova,
						MPS_LEN / (2 * MiB), 2 * MiB)
			   : NULL;
		if (!va)
			fail("stress-mp: heap %s: errno %d", name, errno);
		A->file_va[i] = (uintptr_t)va;
	}
	printf("stress-mp: procs=%u seed=%" PRIu64 " batch=%u seconds=%.0f kill-every=%u "
	       "domain=%s\n", O.procs, O.seed, O.batch, O.seconds, O.kill_every, dom);
	fflush(stdout);
	for (unsigned i = 0; i < O.procs; i++)
		spawn(i);
	double t0 = now_s(), t_end = t0 + O.seconds;
	uint64_t crng = O.seed ^ 0xc0ffee, q = 0;
	gather(A->procs, false, &crng);   /* all attached */
	release_all();
	for (;;) {
		gather(A->procs, true, &crng);    /* nobody sends any more */
		release_all();
		gather(A->procs, false, &crng);   /* inboxes empty */
		check(++q, false);
		if (O.kill_every && q % O.kill_every == 0 && now_s() < t_end)
			kill_one(&crng, ++q);
		if (now_s() >= t_end)
			atomic_store(&A->stop, 1);
		bool stop = atomic_load(&A->stop);
		release_all();
		if (stop)
			break;
	}
	gather(A->procs, false, &crng);   /* everything freed */
	check(++q, true);
	release_all();
	uint64_t ops = dead_ops;
	for (unsigned i = 0; i < O.procs; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		kids[i] = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("stress-mp: member %u ended with %s %d", i,
			     WIFEXITED(st) ? "exit" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		ops += A->m[i].ops;
	}
	printf("stress-mp: procs=%u seed=%" PRIu64 " ops=%" PRIu64 " quiescent=%" PRIu64
	       " kills=%" PRIu64 " violations=0 seconds=%.1f\n", O.procs, O.seed, ops, q,
	       kills, now_s() - t0);
	cleanup();
	return 0;
}

/* argv of a member: --mp-member=I --mp-area=PATH --mp-domain=NAME. */
int stress_mp_main(int argc, char **argv)
{
	if (argc < 2 || strncmp(argv[1], "--mp-member=", 12))
		return parent_main();
	if (argc != 4 || strncmp(argv[2], "--mp-area=", 10) ||
	    strncmp(argv[3], "--mp-domain=", 12))
		return 2;
	unsigned idx = (unsigned)strtoul(argv[1] + 12, NULL, 10);
	snprintf(area_path, sizeof(area_path), "%s", argv[2] + 10);
	snprintf(dom, sizeof(dom), "%s", argv[3] + 12);
	int fd = open(area_path, O_RDWR);
	A = fd < 0 ? MAP_FAILED
		   : mmap(NULL, sizeof(*A), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (A == MAP_FAILED || idx >= A->procs) {
		printf("stress-mp: member: area %s: %s\n", area_path, strerror(errno));
		return 1;
	}
	return member_main(idx);
}
