/* shared_file.c - xmem_heap_add_file: a hugetlbfs or tmpfs file mapped at
 * one address in every member of a domain.  The caller maps it at an
 * address from the window's file area (after the domain file) and records
 * (path, offset, len, address) in the domain header; the other members map
 * every recorded file when they attach, and new ones at their next control
 * call or xmem_shared_sync (xm_dom_sync_files), found by a generation
 * counter.  The window is reserved in every member, so the address is free
 * there too.  Outside a domain the kernel picks the address. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared.h"
#include "state.h"

/* Generation of the file records this process has mapped, and which. */
static _Atomic uint64_t xm_files_seen;
static bool xm_file_mapped[XMEM_SHARED_FILES];
static pthread_mutex_t xm_files_mu = PTHREAD_MUTEX_INITIALIZER;

static void *xm_file_map(const char *path, off_t offset, size_t len, void *at)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return MAP_FAILED;
	void *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (at ? MAP_FIXED : 0), fd, offset);
	int e = errno;
	close(fd);
	errno = e;
	return p;
}

/* Put the window's PROT_NONE reservation back over [p, p + len). */
static void xm_file_unmap(void *p, size_t len)
{
	mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	     MAP_FIXED, -1, 0);
}

int xm_dom_sync_files(void)
{
	/* Acquire: the records published with this generation. */
	uint64_t g = atomic_load_explicit(&xm_dom->files_gen, memory_order_acquire);
	if (g == atomic_load_explicit(&xm_files_seen, memory_order_relaxed))
		return 0;
	int rc = 0;
	pthread_mutex_lock(&xm_files_mu);
	for (int i = 0; i < XMEM_SHARED_FILES; i++) {
		struct xm_file_rec *f = &xm_dom->files[i];
		if (xm_file_mapped[i] ||
		    !atomic_load_explicit(&f->live, memory_order_acquire))
			continue;
		if (xm_file_map(f->path, f->offset, f->len,
				(void *)f->va) == MAP_FAILED) {
			xm_log("xmem: cannot map %s at %#lx in member %d: %s",
			       f->path, (unsigned long)f->va,
			       xmem_shared_member_id(), strerror(errno));
			rc = -1;
			continue;
		}
		xm_file_mapped[i] = true;
	}
	if (rc == 0)
		atomic_store_explicit(&xm_files_seen, g, memory_order_relaxed);
	pthread_mutex_unlock(&xm_files_mu);
	if (rc)
		errno = EIO;
	return rc;
}

int xmem_shared_sync(void)
{
	xm_ctl_enter();
	int rc = -1;
	if (!xm_dom) {
		xm_cause("this process is not a member of a domain");
		errno = ENOENT;
	} else {
		rc = xm_dom_sync_files();
	}
	xm_ctl_exit(rc != 0, "xmem_shared_sync");
	return rc;
}

/* A free record and window space for len bytes; control mutex held.
 * -1 with ENOSPC. */
static int xm_file_slot(size_t len, uintptr_t *va)
{
	int slot = -1;
	for (int i = 0; i < XMEM_SHARED_FILES && slot < 0; i++)
		if (!atomic_load(&xm_dom->files[i].live) &&
		    !xm_dom->files[i].len)
			slot = i;
	size_t at = xm_align_up(xm_dom->files_cur, (size_t)2 << 20);
	if (slot < 0 || at + len > xm_dom->window || at + len < at) {
		if (slot < 0)
			xm_cause("%d files recorded already", XMEM_SHARED_FILES);
		else
			xm_cause("the window has no room for %zu more bytes", len);
		errno = ENOSPC;
		return -1;
	}
	xm_dom->files_cur = at + len;
	*va = xm_dom->base + at;
	return slot;
}

void *xmem_heap_add_file(struct xmem_heap *heap, const char *path, off_t offset,
			 size_t len, const uint64_t *iova, size_t n_pages,
			 size_t page_size)
{
	xm_ctl_enter();
	void *p = MAP_FAILED;
	int slot = -1;
	if (!heap || !path || len == 0 || offset < 0 ||
	    strlen(path) >= sizeof(xm_dom->files[0].path) ||
	    (page_size && offset % (off_t)page_size)) {
		xm_cause(!heap ? "heap is NULL" : !path ? "path is NULL" :
			 len == 0 ? "len is 0" : "bad offset or path");
		errno = EINVAL;
		goto out;
	}
	uintptr_t va = 0;
	if (xm_dom) {
		xm_ctl_lock();
		slot = xm_file_slot(len, &va);
		if (slot >= 0) {
			struct xm_file_rec *f = &xm_dom->files[slot];
			strcpy(f->path, path);
			f->offset = offset;
			f->len = len;   /* taken, not live yet */
			f->va = va;
		}
		xm_ctl_unlock();
		if (slot < 0)
			goto out;
	}
	p = xm_file_map(path, offset, len, (void *)va);
	if (p == MAP_FAILED) {
		if (errno != ENOENT && errno != EACCES)
			errno = ENOMEM;
		xm_cause("cannot map %s", path);
		goto out;
	}
	if (xmem_heap_add_memory(heap, p, len, iova, n_pages, page_size) != 0) {
		int e = errno;
		if (xm_dom)
			xm_file_unmap(p, len);
		else
			munmap(p, len);
		p = MAP_FAILED;
		errno = e;
		goto out;
	}
	if (xm_dom) {
		xm_ctl_lock();
		pthread_mutex_lock(&xm_files_mu);
		xm_file_mapped[slot] = true;
		pthread_mutex_unlock(&xm_files_mu);
		/* Release: the record before live, live before the generation
		 * (acquired by xm_dom_sync_files). */
		atomic_store_explicit(&xm_dom->files[slot].live, 1,
				      memory_order_release);
		atomic_fetch_add_explicit(&xm_dom->files_gen, 1,
					  memory_order_release);
		xm_ctl_unlock();
		slot = -1;
	}
out:
	if (slot >= 0) {
		xm_ctl_lock();
		xm_dom->files[slot].len = 0;   /* the window space stays used */
		xm_ctl_unlock();
	}
	xm_ctl_exit(p == MAP_FAILED, "xmem_heap_add_file");
	return p == MAP_FAILED ? NULL : p;
}
