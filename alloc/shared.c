/* shared.c - domains: the address window, the domain file and its layout,
 * create / attach / detach / unlink, member slots, reaping dead members,
 * the metadata arena and the domain's stats.
 *
 * The window is reserved by a constructor (PROT_NONE, MAP_NORESERVE), so
 * that whatever the program maps later (DPDK's EAL, a GiB of buffers) lands
 * elsewhere.  Joining maps the domain file at the window's base and then
 * maps the file's copy of the process-global state (state.h) and of the
 * page-map root over the library's own statics, and its translation map
 * over this process's (the map holds no pointer into itself, so its
 * address may differ between members): from then on every reference to
 * them reads the domain's, at the same addresses as before, so the data
 * path is the single-process one. */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "meta.h"
#include "pagemap.h"
#include "shared.h"
#include "state.h"

#define XM_WIN_BASE_DEFAULT ((uintptr_t)0x7e9000000000ull)
#define XM_WIN_SIZE_DEFAULT ((size_t)64 << 30)
#define XM_WIN_ALIGN        ((size_t)2 << 20)

struct xm_domain *xm_dom;

static uintptr_t xm_win_base = XM_WIN_BASE_DEFAULT;
static size_t    xm_win_size = XM_WIN_SIZE_DEFAULT;
static bool      xm_win_reserved;
static int       xm_member_idx = -1;

static size_t xm_env_size(const char *name, size_t dflt)
{
	const char *e = getenv(name);
	if (!e || !*e)
		return dflt;
	char *end;
	unsigned long long v = strtoull(e, &end, 0);
	return *end ? dflt : (size_t)v;
}

__attribute__((constructor)) static void xm_window_reserve(void)
{
	uintptr_t b = xm_env_size("XMEM_SHARED_BASE", XM_WIN_BASE_DEFAULT);
	size_t    s = xm_env_size("XMEM_SHARED_SIZE", XM_WIN_SIZE_DEFAULT);
	if (b % XM_WIN_ALIGN || s % XM_WIN_ALIGN || s < ((size_t)256 << 20)) {
		xm_log("xmem: XMEM_SHARED_BASE/SIZE not multiples of 2 MiB "
		       "(or under 256 MiB); using the defaults");
		b = XM_WIN_BASE_DEFAULT;
		s = XM_WIN_SIZE_DEFAULT;
	}
	xm_win_base = b;
	xm_win_size = s;
	void *p = mmap((void *)b, s, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == (void *)b)
		xm_win_reserved = true;
	else if (p != MAP_FAILED)
		munmap(p, s);   /* an old kernel took it as a hint */
}

static size_t xm_pg_up(size_t x) { return xm_align_up(x, 4096); }

/* A domain file's size: the part mapped over the window (its first
 * sixteenth), then the translation map (mapped over this process's own;
 * sparse, as the map is).  Create and attach must agree on it. */
static size_t xm_dom_file_bytes(void)
{
	return xm_win_size / 16 + XM_PM_MAP_BYTES;
}

static bool xm_name_ok(const char *name)
{
	size_t n = name ? strnlen(name, XMEM_SHARED_NAME_MAX + 1) : 0;
	if (n == 0 || n > XMEM_SHARED_NAME_MAX || name[0] == '.') {
		xm_cause("bad domain name");
		errno = EINVAL;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
			xm_cause("bad character in domain name");
			errno = EINVAL;
			return false;
		}
	}
	return true;
}

static void xm_dom_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "/dev/shm/xmem.%s", name);
}

/* This process has used no heap, registration or lcore id, and is no
 * member: its state can be replaced by the domain's. */
static bool xm_pristine(void)
{
	if (xm_dom || xm_region_count())
		return false;
	for (int i = 0; i < XMEM_MAX_HEAPS; i++)
		if (xm_rcu_deref(xm_st.heaps[i]))
			return false;
	for (int i = 0; i < XMEM_MAX_LCORES; i++)
		if (atomic_load(&xm_st.lcore_owner[i]))
			return false;
	return true;
}

static uint64_t xm_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');   /* the command may hold spaces */
	if (!p)
		return 0;
	/* Field 3 follows ") "; the start time is field 22. */
	for (int f = 2; f < 22 && p; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

struct xm_member *xm_member_of_tag(uint32_t tag)
{
	for (int i = 0; tag && i < XMEM_SHARED_MEMBERS; i++) {
		struct xm_member *m = &xm_dom->members[i];
		if (atomic_load_explicit(&m->state, memory_order_acquire) != 0 &&
		    atomic_load_explicit(&m->tag, memory_order_relaxed) == tag)
			return m;
	}
	return NULL;
}

void xm_member_lcore_got(struct xm_lcore *l)
{
	xm_lcore_totals(l, &l->base_allocs, &l->base_frees);
}

void xm_member_lcore_put(struct xm_lcore *l)
{
	struct xm_member *m = xm_member_of_tag(
		atomic_load_explicit(&xm_st.lcore_owner[l->id], memory_order_relaxed));
	uint64_t a, f;
	xm_lcore_totals(l, &a, &f);
	if (m) {
		atomic_fetch_add_explicit(&m->allocs, a - l->base_allocs,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&m->frees, f - l->base_frees,
					  memory_order_relaxed);
	}
}

void xm_member_count(uint64_t allocs, uint64_t frees)
{
	if (xm_member_idx < 0)
		return;
	struct xm_member *m = &xm_dom->members[xm_member_idx];
	atomic_fetch_add_explicit(&m->allocs, allocs, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->frees, frees, memory_order_relaxed);
}

/* Every slot taken: free those of live-looking members whose process is
 * gone.  What they held stays, owned by their tag, for the next reap. */
static void xm_free_dead_slots(struct xm_domain *d)
{
	for (int i = 0; i < XMEM_SHARED_MEMBERS; i++) {
		struct xm_member *m = &d->members[i];
		uint32_t live = 2;
		if (atomic_load(&m->state) != 2 || xm_member_alive(m) ||
		    !atomic_compare_exchange_strong(&m->state, &live, 1))
			continue;
		m->pid = 0;
		atomic_store(&m->tag, 0);
		atomic_fetch_add(&d->unreaped, 1);
		atomic_store_explicit(&m->state, 0, memory_order_release);
	}
}

bool xm_member_alive(const struct xm_member *m)
{
	pid_t pid = m->pid;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	uint64_t st = xm_start_time(pid);
	return st == 0 || st == m->start_time;   /* 0: cannot tell, alive */
}

/* Register this process for the drainers' cross-process fence, as the
 * domain says.  The owner side (cache.h) then needs no change: the
 * drainer's MEMBARRIER_CMD_GLOBAL_EXPEDITED (drain.c) fences every thread
 * of every registered member, as PRIVATE_EXPEDITED did for one process. */
static int xm_join_fence(struct xm_domain *d)
{
	if (d->fenced) {
		xm_membarrier_ok = 0;
		return 0;
	}
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
		    0, 0) != 0) {
		xm_cause("membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) "
			 "failed");
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

/* Map the domain file (fd) over the window and its state and page-map root
 * over the statics; claim a member slot.  -1 with errno. */
static int xm_join(int fd, bool creating)
{
	void *w = mmap((void *)xm_win_base, xm_win_size / 16,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (w == MAP_FAILED) {
		errno = ENOMEM;
		return -1;
	}
	struct xm_domain *d = w;
	if (!creating) {
		for (int i = 0; i < 1000 && atomic_load_explicit(
				&d->magic, memory_order_acquire) != XM_DOM_MAGIC; i++)
			usleep(1000);
		if (atomic_load_explicit(&d->magic, memory_order_acquire) !=
		    XM_DOM_MAGIC) {
			xm_cause("domain not initialised");
			errno = ENOENT;
			goto unmap;
		}
		if (d->base != xm_win_base || d->window != xm_win_size ||
		    d->version != (XM_DOM_LAYOUT << 24 | sizeof(struct xm_state))) {
			xm_cause("domain made with another window or library");
			errno = EINVAL;
			goto unmap;
		}
	}
	int idx = -1;
	for (int pass = 0; pass < 2 && idx < 0; pass++) {
		if (pass)
			xm_free_dead_slots(d);
		for (int i = 0; i < XMEM_SHARED_MEMBERS && idx < 0; i++) {
			uint32_t z = 0;
			if (atomic_compare_exchange_strong(&d->members[i].state,
							   &z, 1))
				idx = i;
		}
	}
	if (idx < 0) {
		xm_cause("%d members attached", XMEM_SHARED_MEMBERS);
		errno = ENOSPC;
		goto unmap;
	}
	if (xm_join_fence(d) != 0) {
		atomic_store(&d->members[idx].state, 0);
		goto unmap;
	}
	uint32_t tag;
	while ((tag = atomic_fetch_add(&d->next_tag, 1)) == 0)
		;   /* 0 means "free" in owner words */
	atomic_store(&d->members[idx].tag, tag);
	atomic_store(&d->members[idx].allocs, 0);
	atomic_store(&d->members[idx].frees, 0);
	d->members[idx].reaped_pid = 0;
	d->members[idx].start_time = xm_start_time(getpid());
	d->members[idx].pid = getpid();
	if (mmap(&xm_st, sizeof(xm_st), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, (off_t)d->state_off) == MAP_FAILED ||
	    mmap(xm_pm_root, sizeof(xm_pm_root), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, (off_t)d->root_off) == MAP_FAILED ||
	    xm_pagemap_map_shared(fd, (off_t)d->map_off) != 0) {
		/* The statics are now in an unknown state: nothing to go
		 * back to. */
		xm_log("xmem: cannot map the domain's state over the library's");
		abort();
	}
	xm_member_idx = idx;
	xm_member_tag = tag;
	xm_dom = d;
	/* Release: the slot's pid and start time are visible with it. */
	atomic_store_explicit(&d->members[idx].state, 2, memory_order_release);
	xm_dom_sync_files();
	return 0;
unmap:
	mmap(w, xm_win_size / 16, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	return -1;
}

/* The window must be ours: reserved at load, or free now. */
static int xm_window_check(void)
{
	if (xm_win_reserved)
		return 0;
	void *p = mmap((void *)xm_win_base, xm_win_size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       MAP_FIXED_NOREPLACE, -1, 0);
	if (p == (void *)xm_win_base) {
		xm_win_reserved = true;
		return 0;
	}
	if (p != MAP_FAILED)
		munmap(p, xm_win_size);
	xm_cause("address window %#lx + %#zx is taken: set XMEM_SHARED_BASE "
		 "to a free range in every member, or load libxmem earlier",
		 (unsigned long)xm_win_base, xm_win_size);
	errno = EADDRINUSE;
	return -1;
}

/* The statics mapped over must start on a page (checked, as a linker could
 * place them otherwise). */
static bool xm_statics_mappable(void)
{
	return (uintptr_t)&xm_st % 4096 == 0 && (uintptr_t)xm_pm_root % 4096 == 0;
}

static int xm_begin(const char *name)
{
	if (!xm_name_ok(name))
		return -1;
	if (!xm_statics_mappable()) {
		xm_cause("the library's state is not page-aligned in this program");
		errno = ENOTSUP;
		return -1;
	}
	if (!xm_pristine()) {
		xm_cause(xm_dom ? "already a member of a domain" :
			 "this process already has heaps, registrations or "
			 "lcore ids");
		errno = EBUSY;
		return -1;
	}
	return xm_window_check();
}

/* The domain file at path was left by members that are all gone: replace
 * it (unlink, under an exclusive flock so that two creators do not both
 * unlink, the second one the first one's new file).  True when unlinked. */
static bool xm_dom_unlink_stale(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool stale = false;
	struct stat st, now;
	struct xm_domain *d = MAP_FAILED;
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 ||
	    stat(path, &now) != 0 || now.st_ino != st.st_ino ||
	    (size_t)st.st_size < sizeof(*d))
		goto out;
	d = mmap(NULL, sizeof(*d), PROT_READ, MAP_SHARED, fd, 0);
	if (d == MAP_FAILED ||
	    atomic_load_explicit(&d->magic, memory_order_acquire) != XM_DOM_MAGIC)
		goto out;
	stale = true;
	for (int i = 0; i < XMEM_SHARED_MEMBERS && stale; i++) {
		const struct xm_member *m = &d->members[i];
		uint32_t state = atomic_load(&m->state);
		/* A slot being claimed (no pid yet) counts as live. */
		if (state != 0 && (m->pid == 0 || xm_member_alive(m)))
			stale = false;
	}
	if (stale)
		stale = unlink(path) == 0;
out:
	if (d != MAP_FAILED)
		munmap(d, sizeof(*d));
	close(fd);   /* drops the flock */
	return stale;
}

int xmem_shared_create(const char *name)
{
	xm_ctl_enter();
	int rc = -1, fd = -1;
	char path[128];
	if (xm_begin(name) != 0)
		goto out;
	xm_dom_path(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && xm_dom_unlink_stale(path))
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		xm_cause("%s: %s", path, strerror(errno));
		if (errno != EEXIST)
			errno = errno == ENOENT ? ENOTSUP : errno;
		goto out;
	}
	size_t fsize = xm_win_size / 16;
	if (ftruncate(fd, (off_t)xm_dom_file_bytes()) != 0) {
		errno = ENOMEM;
		goto fail_unlink;
	}
	/* The header, state and root are written through a temporary
	 * mapping; xm_join maps the file for good. */
	size_t state_off = xm_pg_up(sizeof(struct xm_domain));
	size_t root_off = state_off + sizeof(struct xm_state);
	size_t map_off = fsize;
	size_t arena_off = xm_align_up(root_off + sizeof(xm_pm_root), XM_WIN_ALIGN);
	struct xm_domain *d = mmap(NULL, root_off, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
	if (d == MAP_FAILED) {
		errno = ENOMEM;
		goto fail_unlink;
	}
	d->version = XM_DOM_LAYOUT << 24 | sizeof(struct xm_state);
	d->fenced = !xm_membarrier_ok;
	d->base = xm_win_base;
	d->window = xm_win_size;
	d->file_size = fsize;
	d->state_off = state_off;
	d->root_off = root_off;
	d->map_off = map_off;
	d->arena_off = arena_off;
	atomic_store(&d->arena_cur, arena_off);
	d->files_cur = fsize;
	atomic_store(&d->epoch, 1);
	atomic_store(&d->next_tag, 1);
	struct xm_state *st = (struct xm_state *)((char *)d + state_off);
	xm_state_init(st, true);
	st->checked_on = atomic_load(&xm_st.checked_on);   /* XMEM_CHECKED */
	atomic_store_explicit(&d->magic, XM_DOM_MAGIC, memory_order_release);
	munmap(d, root_off);
	if (xm_join(fd, true) != 0)
		goto fail_unlink;
	rc = 0;
	goto out;
fail_unlink: {
		int e = errno;
		unlink(path);
		errno = e;
	}
out:
	if (fd >= 0)
		close(fd);
	xm_ctl_exit(rc != 0, "xmem_shared_create");
	return rc;
}

int xmem_shared_attach(const char *name)
{
	xm_ctl_enter();
	int rc = -1, fd = -1;
	char path[128];
	if (!xm_name_ok(name))
		goto out;
	xm_dom_path(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		xm_cause("no domain %s (%s)", name, strerror(errno));
		errno = ENOENT;
		goto out;
	}
	if (xm_begin(name) != 0)
		goto out;
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size != xm_dom_file_bytes()) {
		xm_cause("domain made with another window size");
		errno = EINVAL;
		goto out;
	}
	rc = xm_join(fd, false);
out:
	if (fd >= 0)
		close(fd);
	xm_ctl_exit(rc != 0, "xmem_shared_attach");
	return rc;
}

int xmem_shared_unlink(const char *name)
{
	xm_ctl_enter();
	int rc = -1;
	char path[128];
	if (xm_name_ok(name)) {
		xm_dom_path(path, sizeof(path), name);
		rc = unlink(path);
		if (rc != 0 && errno != ENOENT)
			errno = EINVAL;
	}
	xm_ctl_exit(rc != 0, "xmem_shared_unlink");
	return rc;
}

static bool xm_member_check(void)
{
	if (xm_dom && xm_member_idx >= 0)
		return true;
	xm_cause("this process is not a member of a domain");
	errno = ENOENT;
	return false;
}

/* Give back every lcore id of member tag (0: of every tag no member has):
 * caches flushed (owners that are gone or stopped; wait_ns for one
 * inside), ids freed.  Control mutex. */
static unsigned xm_lcores_return(uint32_t tag, uint64_t wait_ns)
{
	unsigned n = 0;
	for (int i = 0; i < XMEM_MAX_LCORES; i++) {
		uint32_t t = atomic_load_explicit(&xm_st.lcore_owner[i],
						  memory_order_acquire);
		if (!t || (tag ? t != tag : xm_member_of_tag(t) != NULL))
			continue;
		uint64_t busy = xm_cache_take_lcore(&xm_st.lcores[i], wait_ns);
		atomic_fetch_add(&xm_dom->reaped_busy, busy);
		xm_lcore_put(&xm_st.lcores[i]);
		n++;
	}
	return n;
}

int xmem_shared_detach(void)
{
	xm_ctl_enter();
	int rc = -1;
	if (!xm_member_check())
		goto out;
	xmem_thread_unregister();   /* ENOENT when it has none: fine */
	xm_ctl_lock();
	xm_lcores_return(xm_member_tag, 2000000);
	xm_ctl_unlock();
	xm_dom_readers_reap(xm_member_tag);
	xm_self = XM_SELF_NONE;
	xm_dom->members[xm_member_idx].pid = 0;
	atomic_store(&xm_dom->members[xm_member_idx].tag, 0);
	atomic_store_explicit(&xm_dom->members[xm_member_idx].state, 0,
			      memory_order_release);
	xm_member_idx = -1;
	xm_member_tag = 0;
	rc = 0;
out:
	xm_ctl_exit(rc != 0, "xmem_shared_detach");
	return rc;
}

int xm_dom_reap_locked(void)
{
	int n = 0;
	for (int i = 0; i < XMEM_SHARED_MEMBERS; i++) {
		struct xm_member *m = &xm_dom->members[i];
		/* State 1 with a pid: a member killed while joining (a joiner
		 * writes its pid after claiming the slot, and slots are freed
		 * with pid 0; reapers hold the control mutex). */
		uint32_t st = atomic_load_explicit(&m->state, memory_order_acquire);
		if (i == xm_member_idx || st == 0 || m->pid == 0 ||
		    xm_member_alive(m))
			continue;
		if (!atomic_compare_exchange_strong(&m->state, &st, 1))
			continue;
		uint32_t tag = atomic_load(&m->tag);
		unsigned l = tag ? xm_lcores_return(tag, 0) : 0;
		if (tag)
			xm_dom_readers_reap(tag);
		atomic_fetch_add(&xm_dom->reaped_lcores, l);
		atomic_fetch_add(&xm_dom->reaped_members, 1);
		m->reaped_pid = m->pid;
		m->pid = 0;
		atomic_store(&m->tag, 0);
		atomic_store_explicit(&m->state, 0, memory_order_release);
		n++;
	}
	/* Members whose slot a joiner freed: what they held is orphaned. */
	uint64_t freed = atomic_exchange(&xm_dom->unreaped, 0);
	atomic_fetch_add(&xm_dom->reaped_lcores, xm_lcores_return(0, 0));
	xm_dom_readers_reap(0);
	atomic_fetch_add(&xm_dom->reaped_members, freed);
	/* The heap locks a dead member held are recovered now, not by their
	 * next user (invariant 7: their robust-list links name the dead
	 * member's memory until then). */
	if (n || freed)
		for (int i = 0; i < XMEM_MAX_HEAPS; i++) {
			struct xmem_heap *h = xm_st.heaps[i];
			if (h) {
				xm_mutex_tidy(&h->large_lock);
				xm_mutex_tidy(&h->ctl_lock);
			}
		}
	return n + (int)freed;
}

int xmem_shared_reap(void)
{
	xm_ctl_enter();
	int n = -1;
	if (xm_member_check()) {
		xm_ctl_lock();
		n = xm_dom_reap_locked();
		xm_ctl_unlock();
	}
	xm_ctl_exit(n < 0, "xmem_shared_reap");
	return n;
}

int xmem_shared_member_id(void)
{
	return xm_dom ? xm_member_idx : -1;
}

int xmem_shared_member_stats(int member, struct xmem_shared_member_stats *out)
{
	xm_ctl_enter();
	int rc = -1;
	if (member < 0 || member >= XMEM_SHARED_MEMBERS || !out) {
		xm_cause(!out ? "out is NULL" : "no member %d", member);
		errno = EINVAL;
		goto out;
	}
	if (!xm_member_check())
		goto out;
	memset(out, 0, sizeof(*out));
	struct xm_member *m = &xm_dom->members[member];
	uint32_t state = atomic_load_explicit(&m->state, memory_order_acquire);
	if (state == 0 && m->reaped_pid) {
		out->pid = m->reaped_pid;
		out->allocs = atomic_load_explicit(&m->allocs, memory_order_relaxed);
		out->frees = atomic_load_explicit(&m->frees, memory_order_relaxed);
	} else if (state == 2) {
		out->pid = m->pid;
		out->alive = xm_member_alive(m);
		uint32_t tag = atomic_load(&m->tag);
		out->allocs = atomic_load_explicit(&m->allocs, memory_order_relaxed);
		out->frees = atomic_load_explicit(&m->frees, memory_order_relaxed);
		for (int i = 0; i < XMEM_MAX_LCORES; i++) {
			if (atomic_load_explicit(&xm_st.lcore_owner[i],
						 memory_order_relaxed) != tag)
				continue;
			struct xm_lcore *l = &xm_st.lcores[i];
			uint64_t a, f;
			xm_lcore_totals(l, &a, &f);
			out->lcores++;
			/* base is written by the holder when it claims: a read
			 * racing a claim is off by that lcore's history. */
			out->allocs += a - l->base_allocs;
			out->frees += f - l->base_frees;
		}
	}
	rc = 0;
out:
	xm_ctl_exit(rc != 0, "xmem_shared_member_stats");
	return rc;
}

int xmem_shared_stats(struct xmem_shared_stats *out)
{
	xm_ctl_enter();
	int rc = -1;
	if (!out) {
		xm_cause("out is NULL");
		errno = EINVAL;
		goto out;
	}
	if (!xm_member_check())
		goto out;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < XMEM_SHARED_MEMBERS; i++)
		out->members += atomic_load_explicit(&xm_dom->members[i].state,
						     memory_order_relaxed) == 2;
	out->reaped_members = atomic_load(&xm_dom->reaped_members);
	out->reaped_lcores = atomic_load(&xm_dom->reaped_lcores);
	out->reaped_busy_caches = atomic_load(&xm_dom->reaped_busy);
	out->meta_bytes = atomic_load(&xm_dom->arena_cur);
	out->meta_capacity = xm_dom->file_size;
	rc = 0;
out:
	xm_ctl_exit(rc != 0, "xmem_shared_stats");
	return rc;
}

void *xm_arena_take(size_t len)
{
	len = xm_pg_up(len);
	size_t off = atomic_fetch_add_explicit(&xm_dom->arena_cur, len,
					       memory_order_relaxed);
	if (off + len > xm_dom->file_size) {
		atomic_fetch_sub_explicit(&xm_dom->arena_cur, len,
					  memory_order_relaxed);
		return NULL;
	}
	return (char *)xm_dom + off;
}

void xm_arena_give(void *p, size_t len)
{
	size_t off = (size_t)((char *)p - (char *)xm_dom);
	size_t end = off + xm_pg_up(len);
	atomic_compare_exchange_strong_explicit(&xm_dom->arena_cur, &end, off,
						memory_order_relaxed,
						memory_order_relaxed);
}
