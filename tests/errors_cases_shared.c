/* errors_cases_shared.c - the cases of the rows of docs/errors.md for
 * xmem_shared.h.  This process is no member of a domain (and has heaps, so
 * it cannot become one): the rows for members are driven by tests/mp. */
#include <sys/stat.h>
#include <unistd.h>

#include "errors_test.h"

static const char *const bad_names[] = {
	NULL, "", ".hidden", "a/b", "sp ace",
	"x123456789x123456789x123456789x123456789x123456789x123456789x1234",
};
#define N_BAD (sizeof bad_names / sizeof bad_names[0])

static void c_shared_create_bad_name(struct env *e)
{
	for (size_t i = 0; i < N_BAD; i++)
		EXPECT(e, xmem_shared_create(bad_names[i]));
}
static void c_shared_create_busy(struct env *e)
{
	EXPECT(e, xmem_shared_create("errors-test-busy"));
}
static void c_shared_attach_bad_name(struct env *e)
{
	for (size_t i = 0; i < N_BAD; i++)
		EXPECT(e, xmem_shared_attach(bad_names[i]));
}
static void c_shared_attach_unknown(struct env *e)
{
	EXPECT(e, xmem_shared_attach("errors-test-no-such-domain"));
}
/* A domain file exists, but this process already has heaps. */
static void c_shared_attach_busy(struct env *e)
{
	const char *path = "/dev/shm/xmem.errors-test-attach";
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (!CHECK(fd >= 0))
		return;
	close(fd);
	EXPECT(e, xmem_shared_attach("errors-test-attach"));
	unlink(path);
}
static void c_shared_detach_not_member(struct env *e) { EXPECT(e, xmem_shared_detach()); }
static void c_shared_reap_not_member(struct env *e) { EXPECT(e, xmem_shared_reap()); }
static void c_shared_sync_not_member(struct env *e) { EXPECT(e, xmem_shared_sync()); }
static void c_shared_unlink_bad_name(struct env *e)
{
	for (size_t i = 0; i < N_BAD; i++)
		EXPECT(e, xmem_shared_unlink(bad_names[i]));
}
static void c_shared_unlink_unknown(struct env *e)
{
	EXPECT(e, xmem_shared_unlink("errors-test-no-such-domain"));
}
static void c_shared_member_id_ok(struct env *e)
{
	EXPECT_OK(e, xmem_shared_member_id() == -1);
}
static void c_shared_member_stats_bad_args(struct env *e)
{
	struct xmem_shared_member_stats ms;
	EXPECT(e, xmem_shared_member_stats(0, NULL));
	EXPECT(e, xmem_shared_member_stats(-1, &ms));
	EXPECT(e, xmem_shared_member_stats(XMEM_SHARED_MEMBERS, &ms));
}
static void c_shared_member_stats_not_member(struct env *e)
{
	struct xmem_shared_member_stats ms;
	EXPECT(e, xmem_shared_member_stats(0, &ms));
}
static void c_shared_stats_null(struct env *e) { EXPECT(e, xmem_shared_stats(NULL)); }
static void c_shared_stats_not_member(struct env *e)
{
	struct xmem_shared_stats st;
	EXPECT(e, xmem_shared_stats(&st));
}

/* A 64 KiB tmpfs file for the add_file rows. */
#define AF_PATH "/dev/shm/xmem-errors-test-file"
static bool af_file(void)
{
	int fd = open(AF_PATH, O_RDWR | O_CREAT, 0600);
	bool ok = fd >= 0 && ftruncate(fd, 64 * KiB) == 0;
	if (fd >= 0)
		close(fd);
	return CHECK(ok);
}
static void c_heap_add_file_bad_args(struct env *e)
{
	if (!af_file())
		return;
	EXPECT(e, xmem_heap_add_file(NULL, AF_PATH, 0, 64 * KiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(dead_heap(), AF_PATH, 0, 64 * KiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(e->h, NULL, 0, 64 * KiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(e->h, AF_PATH, 0, 0, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(e->h, AF_PATH, -4096, 64 * KiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(e->h, AF_PATH, 100, 64 * KiB, NULL, 0, PAGE4K));
	EXPECT(e, xmem_heap_add_file(e->h, AF_PATH, 0, 64 * KiB, NULL, 0, 3));
	EXPECT(e, xmem_heap_add_file(e->h, AF_PATH, 0, 64 * KiB, e->tab, 3, PAGE4K));
	unlink(AF_PATH);
}
static void c_heap_add_file_no_file(struct env *e)
{
	EXPECT(e, xmem_heap_add_file(e->h, "/dev/shm/xmem-errors-test-none", 0,
				     64 * KiB, NULL, 0, PAGE4K));
}

const struct xcase cases_shared[] = {
	C("shared_create.bad_name", xmem_shared_create, c_shared_create_bad_name),
	C("shared_create.busy", xmem_shared_create, c_shared_create_busy),
	C("shared_attach.bad_name", xmem_shared_attach, c_shared_attach_bad_name),
	C("shared_attach.unknown", xmem_shared_attach, c_shared_attach_unknown),
	C("shared_attach.busy", xmem_shared_attach, c_shared_attach_busy),
	C("shared_detach.not_member", xmem_shared_detach, c_shared_detach_not_member),
	C("shared_reap.not_member", xmem_shared_reap, c_shared_reap_not_member),
	C("shared_sync.not_member", xmem_shared_sync, c_shared_sync_not_member),
	C("shared_unlink.bad_name", xmem_shared_unlink, c_shared_unlink_bad_name),
	C("shared_unlink.unknown", xmem_shared_unlink, c_shared_unlink_unknown),
	C("shared_member_id.ok", xmem_shared_member_id, c_shared_member_id_ok),
	C("shared_member_stats.bad_args", xmem_shared_member_stats, c_shared_member_stats_bad_args),
	C("shared_member_stats.not_member", xmem_shared_member_stats, c_shared_member_stats_not_member),
	C("shared_stats.null", xmem_shared_stats, c_shared_stats_null),
	C("shared_stats.not_member", xmem_shared_stats, c_shared_stats_not_member),
	C("heap_add_file.bad_args", xmem_heap_add_file, c_heap_add_file_bad_args),
	C("heap_add_file.no_file", xmem_heap_add_file, c_heap_add_file_no_file),
};

const size_t n_cases_shared = sizeof cases_shared / sizeof cases_shared[0];
