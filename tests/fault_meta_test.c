/* fault_meta_test.c - metadata allocation failing at every point of the
 * control plane: heap create, add memory (heap chunks and translation-only
 * registrations; caller's table, IOVA=VA, assigned IOVAs, IOVA=PA; with and
 * without DMA subscribers), remove and unregister, subscribe (replay) and
 * unsubscribe, xmem_dma_set_iova_ranges, and the registry's array growth.
 *
 * Each operation is swept twice (tests/fault_util.h): the n-th counted
 * allocation fails once (meta-once), and the n-th and every later one fail
 * (meta-from), for n = 1, 2, ... until the operation no longer meets the
 * fault.  After every failed attempt: errno is the documented ENOMEM, every
 * heap's stats, the dump, the DMA registry, the devices' mappings and the
 * metadata in use equal what they were, nothing of the call is visible, and
 * the identical call then succeeds. */
#include <fcntl.h>

#include "fault_util.h"

#define PG FT_PG

static void sweep_add(const char *name, struct ft_add *a, bool dry_run)
{
	struct ft_op op = {
		.name = name, .expect = ENOMEM, .run = ft_add_run,
		.after_ok = ft_add_present, .undo = ft_add_undo, .absent = ft_add_absent,
		.arg = a, .no_dry_run = !dry_run,
	};
	struct ft_result r1 = ft_sweep(&op, &ft_meta_once);
	struct ft_result r2 = ft_sweep(&op, &ft_meta_sticky);
	/* Every add allocates at least its region descriptor and the IOVA ->
	 * VA table: at least two points, each of which must fail it. */
	CHECK_GE(r1.points, 2);
	CHECK_EQ(r2.failed, r2.points);
}

/* Remove (a is added on entry, and again on return). */
static void sweep_remove(const char *name, struct ft_add *a)
{
	a->iova0 = xmem_virt2iova(a->va);
	struct ft_op op = {
		.name = name, .expect = ENOMEM, .run = ft_remove_run,
		.after_ok = ft_removed_check, .undo = ft_remove_undo,
		.absent = ft_remove_absent, .arg = a,
	};
	struct ft_result r1 = ft_sweep(&op, &ft_meta_once);
	ft_sweep(&op, &ft_meta_sticky);
	CHECK_GE(r1.failed, 1);   /* the smaller IOVA -> VA table */
}

/* ---- heap create -------------------------------------------------------- */

struct create_arg {
	struct xmem_heap *h;
	int slot;                /* the id a new heap gets */
};

/* Destroyed heaps' descriptors are reused by later creates without a
 * metadata allocation (heap.c keeps them so that dead handles stay safe to
 * check); hand them back first so that the create must allocate. */
void xm_heap_descs_release(void);

static void create_setup(void *p)
{
	(void)p;
	xm_heap_descs_release();
}

static int create_run(void *p)
{
	struct create_arg *c = p;
	c->h = xmem_heap_create("fault-new");
	return c->h ? 0 : -1;
}

static void create_ok(void *p)
{
	struct create_arg *c = p;
	CHECK_EQ(xmem_heap_lookup("fault-new"), c->h);
	CHECK_EQ(xmem_heap_id(c->h), c->slot);
}

static void create_undo(void *p)
{
	struct create_arg *c = p;
	CHECK_OK(xmem_heap_destroy(c->h));
	xm_heap_descs_release();   /* the descriptor's metadata too */
}

static void create_absent(void *p)
{
	struct create_arg *c = p;
	if (!CHECK_FAILS_PTR(xmem_heap_lookup("fault-new"), ENOENT))
		FT_FAIL("a failed create took the name");
	if (!CHECK_FAILS_PTR(xmem_heap_from_id(c->slot), ENOENT))
		FT_FAIL("a failed create took slot %d", c->slot);
}

static void case_heap_create(void)
{
	struct create_arg c = {NULL, -1};
	for (int id = 0; id < XMEM_MAX_HEAPS && c.slot < 0; id++)
		if (!xmem_heap_from_id(id))
			c.slot = id;
	struct ft_op op = {
		.name = "heap_create", .expect = ENOMEM, .run = create_run,
		.setup = create_setup,
		.after_ok = create_ok, .undo = create_undo,
		.absent = create_absent, .arg = &c,
	};
	struct ft_result r = ft_sweep(&op, &ft_meta_once);
	ft_sweep(&op, &ft_meta_sticky);
	CHECK_GE(r.failed, 1);
	CHECK_EQ(r.recovered, 0);
}

/* ---- the registry's array: growth ------------------------------------------ */

/* The registry keeps its regions in an array that doubles from 64 entries
 * when full and never shrinks.  Each attempt starts with the array exactly
 * full (the test knows every region of the process: this case runs first),
 * so the add must grow it, and a failure after the growth must not keep
 * the bigger array. */
static size_t grow_cap = 64;           /* the array's capacity, modelled */
static char *grow_base;                /* 2 pages per filler region */
#define GROW_MAX 1024

static size_t grow_fill;               /* fillers the current setup made */

static void grow_setup(void *p)
{
	(void)p;
	if (grow_cap > GROW_MAX)
		XT_FATAL("more than %d filler regions needed", GROW_MAX);
	for (grow_fill = 0; grow_fill < grow_cap; grow_fill++)
		if (xmem_register(grow_base + 2 * grow_fill * PG, PG, NULL, 0, PG))
			XT_FATAL("filler %zu: %s", grow_fill, strerror(errno));
}

static void grow_teardown(void *p)
{
	(void)p;
	for (size_t i = 0; i < grow_fill; i++)
		CHECK_OK(xmem_unregister(grow_base + 2 * i * PG, PG));
}

static int grow_run(void *p)
{
	int rc = ft_add_run(p);
	/* With the array full, every success doubled it. */
	if (rc == 0)
		grow_cap *= 2;
	return rc;
}

static void case_registry_growth(void)
{
	grow_base = ft_carve(2 * GROW_MAX * PG);
	char *va = ft_carve(PG);
	struct ft_add a = {.h = NULL, .va = va, .len = PG,
			    .iova = NULL, .mode = XMEM_IOVA_MODE_TABLE};
	struct ft_op op = {
		.name = "register (registry array grows)", .expect = ENOMEM,
		.setup = grow_setup, .run = grow_run,
		.after_ok = ft_add_present, .undo = ft_add_undo, .absent = ft_add_absent,
		.teardown = grow_teardown, .arg = &a,
		/* A dry run would grow the array before the sweep; a success
		 * keeps the grown array, by design. */
		.no_dry_run = true, .success_may_grow = true,
	};
	struct ft_result r = ft_sweep(&op, &ft_meta_once);
	CHECK_GE(r.failed, 4);  /* descriptor, DMA record, array, IOVA table */
}

/* ---- subscribe / unsubscribe -------------------------------------------- */

struct sub_arg {
	const char *name;
	struct ftdev *d;         /* ftdev ops */
	struct ft_ledger *l;     /* ledger ops */
	struct xmem_dma_testdev *t;
	size_t expect_entries;   /* ftdev: mappings a full replay makes */
	size_t expect_regions;   /* ledger: regions a full replay announces */
};

static int sub_ftdev_run(void *p)
{
	struct sub_arg *s = p;
	return ftdev_subscribe(s->d, s->name);
}

static void sub_ftdev_ok(void *p)
{
	struct sub_arg *s = p;
	if (ftdev_entries(s->d) != s->expect_entries)
		FT_FAIL("replay mapped %zu extents, want %zu",
			ftdev_entries(s->d), s->expect_entries);
}

static void sub_ftdev_undo(void *p)
{
	struct sub_arg *s = p;
	CHECK_OK(xmem_dma_unsubscribe(s->d->sub));
	if (ftdev_entries(s->d) != 0)
		FT_FAIL("unsubscribe left %zu extents mapped", ftdev_entries(s->d));
}

static void sub_ftdev_absent(void *p)
{
	struct sub_arg *s = p;
	if (ftdev_entries(s->d) != 0)
		FT_FAIL("a failed subscribe left %zu extents mapped on the device",
			ftdev_entries(s->d));
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup(s->name), ENOENT);
}

static int sub_ledger_run(void *p)
{
	struct sub_arg *s = p;
	return ft_ledger_attach(s->l, s->name) ? 0 : -1;
}

static void sub_ledger_ok(void *p)
{
	struct sub_arg *s = p;
	if (s->l->n != s->expect_regions || s->l->errors)
		FT_FAIL("replay announced %zu regions (%ld errors), want %zu",
			s->l->n, s->l->errors, s->expect_regions);
}

static void sub_ledger_undo(void *p)
{
	struct sub_arg *s = p;
	CHECK_OK(xmem_dma_unsubscribe(s->l->sub));
	if (s->l->n || s->l->errors)
		FT_FAIL("after unsubscribe the ledger holds %zu regions, %ld errors",
			s->l->n, s->l->errors);
}

static void sub_ledger_absent(void *p)
{
	struct sub_arg *s = p;
	/* Every ADD of the failed replay has its REMOVE, naming the region. */
	if (s->l->n || s->l->errors)
		FT_FAIL("a failed subscribe left %zu regions announced, %ld REMOVEs "
			"naming no region", s->l->n, s->l->errors);
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup(s->name), ENOENT);
}

static int sub_testdev_run(void *p)
{
	struct sub_arg *s = p;
	s->t = xmem_dma_testdev_create(s->name, 0);
	return s->t ? 0 : -1;
}

static void sub_testdev_undo(void *p)
{
	struct sub_arg *s = p;
	CHECK_OK(xmem_dma_testdev_destroy(s->t));
}

static void sub_testdev_absent(void *p)
{
	struct sub_arg *s = p;
	CHECK_FAILS_PTR(xmem_dma_subscriber_lookup(s->name), ENOENT);
}

/* Unsubscribe cannot fail; under faults it must still unmap everything and
 * send every REMOVE with the region it removes. */
static int unsub_ftdev_run(void *p)
{
	struct sub_arg *s = p;
	return xmem_dma_unsubscribe(s->d->sub);
}

static void unsub_ftdev_ok(void *p)
{
	struct sub_arg *s = p;
	if (ftdev_entries(s->d) != 0)
		FT_FAIL("unsubscribe left %zu extents mapped", ftdev_entries(s->d));
}

static void unsub_ftdev_undo(void *p)
{
	struct sub_arg *s = p;
	CHECK_OK(ftdev_subscribe(s->d, s->name));
}

static int unsub_ledger_run(void *p)
{
	struct sub_arg *s = p;
	return xmem_dma_unsubscribe(s->l->sub);
}

static void unsub_ledger_ok(void *p)
{
	struct sub_arg *s = p;
	if (s->l->n || s->l->errors)
		FT_FAIL("unsubscribe: %zu regions never removed, %ld REMOVEs naming "
			"no region", s->l->n, s->l->errors);
}

static void unsub_ledger_undo(void *p)
{
	struct sub_arg *s = p;
	CHECK(ft_ledger_attach(s->l, s->name));
}

/* ---- IOVA ranges -------------------------------------------------------- */

static char *probe_va;

/* The IOVA an ASSIGN-mode registration gets now. */
static uint64_t probe_assign(void)
{
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
	int rc = xmem_register(probe_va, 4 * PG, NULL, 0, PG);
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);
	if (!CHECK_OK(rc))
		return XMEM_BAD_IOVA;
	uint64_t i = xmem_virt2iova(probe_va);
	CHECK_OK(xmem_unregister(probe_va, 4 * PG));
	return i;
}

#define NEW_LO ((uint64_t)1 << 41)
#define NEW_HI (((uint64_t)1 << 42) - 1)

static int ranges_run(void *p)
{
	(void)p;
	struct xmem_iova_range r[2] = {{NEW_LO, NEW_LO + (1u << 30) - 1},
				       {NEW_LO + (2u << 30), NEW_HI}};
	return xmem_dma_set_iova_ranges(r, 2);
}

static void ranges_ok(void *p)
{
	(void)p;
	uint64_t i = probe_assign();
	if (i < NEW_LO || i > NEW_HI)
		FT_FAIL("after set_iova_ranges an extent at %#llx", (unsigned long long)i);
}

static void ranges_undo(void *p)
{
	(void)p;
	struct xmem_iova_range d = {XMEM_DMA_DEFAULT_IOVA_START, XMEM_DMA_DEFAULT_IOVA_END};
	CHECK_OK(xmem_dma_set_iova_ranges(&d, 1));
}

static void ranges_absent(void *p)
{
	(void)p;
	uint64_t i = probe_assign();
	if (i < XMEM_DMA_DEFAULT_IOVA_START || i > XMEM_DMA_DEFAULT_IOVA_END)
		FT_FAIL("a failed set_iova_ranges changed the ranges: extent at %#llx",
			(unsigned long long)i);
}

/* ---- IOVA=PA ------------------------------------------------------------- */

/* Why IOVA=PA cannot run here, or NULL. */
static const char *pa_unavailable(char *va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return "no /proc/self/pagemap";
	uint64_t e = 0;
	ssize_t n = pread(fd, &e, 8, (off_t)((uintptr_t)va / PG * 8));
	close(fd);
	if (n != 8 || !(e >> 63) || (e & (((uint64_t)1 << 55) - 1)) == 0)
		return "the kernel hides page frame numbers (not root)";
	return NULL;
}

/* ---- the cases ---------------------------------------------------------- */

static struct xmem_heap *keep_h, *rm_h;
static struct xmem_dma_testdev *t1, *t2;
static struct ftdev f1;
static struct ft_ledger l1;

static void case_adds_plain(void)
{
	struct xmem_heap *h = xmem_heap_create("fault-add");
	if (!CHECK(h))
		return;
	char *va = ft_carve(64 * PG);
	struct ft_add a = {.h = h, .va = va, .len = 64 * PG,
			    .iova = NULL, .mode = XMEM_IOVA_MODE_TABLE};
	sweep_add("heap_add (no table)", &a, true);
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 36);
	a.iova = t8;
	sweep_add("heap_add (table, 8 runs)", &a, true);
	a.iova = NULL;
	a.mode = XMEM_IOVA_MODE_VA;
	sweep_add("heap_add (IOVA=VA)", &a, true);
	struct ft_add r = {.h = NULL, .va = ft_carve(32 * PG), .len = 32 * PG,
			    .iova = NULL, .mode = XMEM_IOVA_MODE_TABLE};
	sweep_add("register (no table)", &r, true);
	uint64_t *t4 = ft_table(32, 4, (uint64_t)1 << 37);
	r.iova = t4;
	sweep_add("register (table, 8 runs)", &r, true);
	CHECK_OK(xmem_heap_destroy(h));
	free(t8);
	free(t4);
}

static void attach_subscribers(void)
{
	t1 = xmem_dma_testdev_create("fault-t1", 0);
	t2 = xmem_dma_testdev_create("fault-t2", 1000);
	pthread_mutex_init(&f1.lock, NULL);
	if (!CHECK(t1 && t2) || !CHECK_OK(ftdev_subscribe(&f1, "fault-f1")) ||
	    !CHECK(ft_ledger_attach(&l1, "fault-l1")))
		XT_FATAL("subscribers");
	ft_devs[0] = t1;
	ft_devs[1] = t2;
	ft_ftdevs[0] = &f1;
	ft_ledgers[0] = &l1;
}

static void case_adds_subscribed(void)
{
	struct xmem_heap *h = xmem_heap_create("fault-adds");
	if (!CHECK(h))
		return;
	char *va = ft_carve(64 * PG);
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 36);
	struct ft_add a = {.h = h, .va = va, .len = 64 * PG,
			    .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	sweep_add("heap_add +subs (table, 8 runs)", &a, true);
	a.iova = NULL;
	sweep_add("heap_add +subs (no table)", &a, true);
	a.mode = XMEM_IOVA_MODE_VA;
	sweep_add("heap_add +subs (IOVA=VA)", &a, true);
	/* The first ASSIGN-mode region of the process sets up the assigner:
	 * no dry run, so that its allocation is one of the points. */
	a.mode = XMEM_IOVA_MODE_ASSIGN;
	sweep_add("heap_add +subs (assigned IOVA, first)", &a, false);
	sweep_add("heap_add +subs (assigned IOVA)", &a, true);
	struct ft_add r = {.h = NULL, .va = ft_carve(32 * PG), .len = 32 * PG,
			    .iova = NULL, .mode = XMEM_IOVA_MODE_ASSIGN};
	sweep_add("register +subs (assigned IOVA)", &r, true);
	uint64_t *t4 = ft_table(32, 4, (uint64_t)1 << 37);
	r.iova = t4;
	sweep_add("register +subs (table held in assigner)", &r, true);
	r.mode = XMEM_IOVA_MODE_TABLE;
	sweep_add("register +subs (table, 8 runs)", &r, true);

	/* IOVA=PA: resident pages. */
	size_t plen = 16 * PG;
	char *pva = mmap(NULL, plen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pva == MAP_FAILED)
		XT_FATAL("mmap");
	memset(pva, 1, plen);
	const char *why = pa_unavailable(pva);
	if (why) {
		printf("fault: heap_add +subs (IOVA=PA): case SKIPPED: %s\n", why);
	} else {
		struct ft_add p = {.h = h, .va = pva, .len = plen,
			    .iova = NULL, .mode = XMEM_IOVA_MODE_PA};
		sweep_add("heap_add +subs (IOVA=PA)", &p, true);
	}
	munmap(pva, plen);
	CHECK_OK(xmem_heap_destroy(h));
	free(t8);
	free(t4);
}

static void case_removes(const char *tag)
{
	char name[96];
	/* Two chunks: the one removed is the last of its heap, so that adding
	 * it again restores the heap's order, and a failed remove must keep it
	 * there. */
	char *va1 = ft_carve(32 * PG), *va2 = ft_carve(64 * PG);
	uint64_t *t8 = ft_table(64, 8, (uint64_t)1 << 38);
	CHECK_OK(xmem_heap_add_memory(rm_h, va1, 32 * PG, NULL, 0, PG));
	struct ft_add a = {.h = rm_h, .va = va2, .len = 64 * PG,
			    .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	if (!CHECK_OK(ft_add_run(&a)))
		return;
	/* Some blocks carved and freed, so the chunk has spans to give back. */
	void *objs[48];
	if (CHECK_OK(xmem_alloc_bulk(rm_h, 1024, objs, 48)))
		xmem_free_bulk(objs, 48);
	snprintf(name, sizeof(name), "heap_remove%s", tag);
	sweep_remove(name, &a);
	CHECK_OK(xmem_heap_remove_memory(rm_h, va2, 64 * PG));
	CHECK_OK(xmem_heap_remove_memory(rm_h, va1, 32 * PG));

	struct ft_add r = {.h = NULL, .va = ft_carve(32 * PG), .len = 32 * PG,
			    .iova = t8, .mode = XMEM_IOVA_MODE_TABLE};
	if (!CHECK_OK(ft_add_run(&r)))
		return;
	snprintf(name, sizeof(name), "unregister%s", tag);
	sweep_remove(name, &r);
	CHECK_OK(xmem_unregister(r.va, r.len));
	free(t8);
}

static void case_removes_plain(void) { case_removes(""); }
static void case_removes_subs(void)  { case_removes(" +subs"); }

static void case_subscribe(void)
{
	/* Regions to replay: the kept chunk and a registration, with runs. */
	char *rv = ft_carve(32 * PG);
	uint64_t *t4 = ft_table(32, 4, (uint64_t)1 << 39);
	CHECK_OK(xmem_register(rv, 32 * PG, t4, 32, PG));

	static struct ftdev f2;
	pthread_mutex_init(&f2.lock, NULL);
	struct sub_arg s = {.name = "fault-f2", .d = &f2,
			    .expect_entries = ftdev_entries(&f1)};
	struct ft_op op = {
		.name = "subscribe ftdev (replay)", .expect = ENOMEM,
		.run = sub_ftdev_run, .after_ok = sub_ftdev_ok,
		.undo = sub_ftdev_undo, .absent = sub_ftdev_absent, .arg = &s,
	};
	struct ft_result r = ft_sweep(&op, &ft_meta_once);
	ft_sweep(&op, &ft_meta_sticky);
	CHECK_GE(r.failed, 3);

	static struct ft_ledger l2;
	struct sub_arg sl = {.name = "fault-l2", .l = &l2,
			     .expect_regions = ft_count_regions()};
	struct ft_op opl = {
		.name = "subscribe mem_event (replay)", .expect = ENOMEM,
		.run = sub_ledger_run, .after_ok = sub_ledger_ok,
		.undo = sub_ledger_undo, .absent = sub_ledger_absent, .arg = &sl,
	};
	ft_sweep(&opl, &ft_meta_once);
	ft_sweep(&opl, &ft_meta_sticky);

	struct sub_arg st = {.name = "fault-t3"};
	struct ft_op opt = {
		.name = "xmem_dma_testdev_create (replay)", .expect = ENOMEM,
		.run = sub_testdev_run, .undo = sub_testdev_undo,
		.absent = sub_testdev_absent, .arg = &st,
	};
	ft_sweep(&opt, &ft_meta_once);
	ft_sweep(&opt, &ft_meta_sticky);

	/* Unsubscribe under faults: still everything unmapped, every REMOVE
	 * names its region. */
	CHECK_OK(ftdev_subscribe(&f2, "fault-f2"));
	ft_ftdevs[1] = &f2;
	struct ft_op opu = {
		.name = "unsubscribe ftdev", .run = unsub_ftdev_run,
		.after_ok = unsub_ftdev_ok, .undo = unsub_ftdev_undo, .arg = &s,
	};
	ft_sweep(&opu, &ft_meta_once);
	ft_sweep(&opu, &ft_meta_sticky);
	CHECK_OK(xmem_dma_unsubscribe(f2.sub));
	ft_ftdevs[1] = NULL;

	CHECK(ft_ledger_attach(&l2, "fault-l2"));
	ft_ledgers[1] = &l2;
	struct ft_op opul = {
		.name = "unsubscribe mem_event", .run = unsub_ledger_run,
		.after_ok = unsub_ledger_ok, .undo = unsub_ledger_undo, .arg = &sl,
	};
	ft_sweep(&opul, &ft_meta_once);
	ft_sweep(&opul, &ft_meta_sticky);
	CHECK_OK(xmem_dma_unsubscribe(l2.sub));
	ft_ledgers[1] = NULL;

	CHECK_OK(xmem_unregister(rv, 32 * PG));
	free(t4);
}

static void case_ranges(void)
{
	probe_va = ft_carve(4 * PG);
	struct ft_op op = {
		.name = "xmem_dma_set_iova_ranges", .expect = ENOMEM,
		.run = ranges_run, .after_ok = ranges_ok, .undo = ranges_undo,
		.absent = ranges_absent,
	};
	struct ft_result r = ft_sweep(&op, &ft_meta_once);
	ft_sweep(&op, &ft_meta_sticky);
	CHECK_GE(r.failed, 1);
}

/* More than 16 subscribers: removal needs an array for their blocks. */
static void case_many_subscribers(void)
{
	static struct ft_ledger many[14];
	for (int i = 0; i < 14; i++) {
		char name[32];
		snprintf(name, sizeof(name), "fault-many-%d", i);
		if (!CHECK(ft_ledger_attach(&many[i], name)))
			return;
	}
	case_removes(" +18 subs");
	for (int i = 0; i < 14; i++) {
		CHECK_OK(xmem_dma_unsubscribe(many[i].sub));
		CHECK(many[i].n == 0 && many[i].errors == 0);
	}
}

int main(void)
{
	ft_arena_init();
	xmem_dma_set_iova_mode(XMEM_IOVA_MODE_TABLE);

	xt_run("registry array growth", case_registry_growth);
	xt_run("heap create", case_heap_create);

	/* A heap and a registration that stay, so nothing runs on empty
	 * tables. */
	keep_h = xmem_heap_create("fault-keep");
	rm_h = xmem_heap_create("fault-rm");
	char *kva = ft_carve(16 * PG), *kreg = ft_carve(8 * PG);
	uint64_t *kt = ft_table(16, 4, (uint64_t)1 << 40);
	if (!keep_h || !rm_h || xmem_heap_add_memory(keep_h, kva, 16 * PG, kt, 16, PG) ||
	    xmem_register(kreg, 8 * PG, NULL, 0, PG))
		XT_FATAL("setup");

	xt_run("add and register, no subscriber", case_adds_plain);
	xt_run("remove and unregister, no subscriber", case_removes_plain);
	attach_subscribers();
	xt_run("add and register, 4 subscribers", case_adds_subscribed);
	xt_run("remove and unregister, 4 subscribers", case_removes_subs);
	xt_run("remove and unregister, 18 subscribers", case_many_subscribers);
	xt_run("subscribe and unsubscribe", case_subscribe);
	xt_run("IOVA ranges", case_ranges);

	CHECK_OK(xmem_unregister(kreg, 8 * PG));
	CHECK_OK(xmem_heap_remove_memory(keep_h, kva, 16 * PG));
	CHECK_OK(xmem_heap_destroy(keep_h));
	CHECK_OK(xmem_heap_destroy(rm_h));
	CHECK_OK(xmem_dma_testdev_destroy(t1));
	CHECK_OK(xmem_dma_testdev_destroy(t2));
	CHECK_OK(xmem_dma_unsubscribe(f1.sub));
	CHECK_OK(xmem_dma_unsubscribe(l1.sub));
	CHECK(f1.n == 0 && l1.n == 0 && l1.errors == 0);
	free(kt);
	ft_arena_fini();
	return xt_done();
}
