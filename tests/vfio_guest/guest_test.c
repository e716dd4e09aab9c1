/* tests/vfio_guest/guest_test.c - the test that runs inside the QEMU guest
 * (as a static binary started by /init, linking all of libxmem).  Owns the
 * end-to-end check of xmem's DMA layer against a real VFIO type1 container,
 * a real emulated IOMMU (intel-iommu) and a device that does DMA (QEMU's
 * edu), through the public API only:
 *   a  bind edu to vfio-pci, find its IOMMU group
 *   b  the default container + the group, IOVA ranges and DMA_AVAIL;
 *      xmem_vfio_attach, IOVA mode ASSIGN
 *   c  xmem_heap_add_memory over hugepages (and over scattered 4 KiB pages,
 *      and xmem_register with a caller's table): map calls == runs
 *   d  xmem_alloc buffers; edu DMAs RAM -> device -> RAM through the IOVAs
 *      xmem_virt2iova returns; also across a 4 KiB page boundary
 *   e  xmem_heap_remove_memory: unmapped (size checked), a DMA to the old
 *      IOVA is refused and the destination stays untouched
 *   f  detach, move the group to a second container, attach it: replay
 *      maps every existing region (calls == runs) and DMA works there
 *   g  the time to add and remove a 1 GiB region of 4 KiB pages with its
 *      mapping (one map call)
 *   h  a real kernel-side short unmap: the test unmaps xmem's entry behind
 *      its back and maps one page at the same IOVA, so type1 reports a short
 *      unmap when xmem_heap_remove_memory unmaps: EIO, the region stays
 *      (allocatable, translated, DMA works), xmem's records (backend and
 *      registry) match what the kernel maps, and the retry succeeds
 *   m  (guest_test --mp, run by /init as a fresh process) a secondary
 *      process's edu DMA on buffers the primary allocated in a shared heap
 * The same steps run on either backend: the default container is type1 or
 * iommufd as XMEM_VFIO_BACKEND says (run.sh passes it on the kernel command
 * line, which hands it to /init's environment); on iommufd groups join as
 * VFIO cdevs bound to an IOAS, and DMA_AVAIL (type1 only) is not checked.
 * It prints one line per check, "STEP x PASS|FAIL: ...", and at the end
 * "GUEST RESULT: PASS" or "GUEST RESULT: FAIL".  run.sh reads those lines. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <xmem/xmem.h>
#include <xmem/xmem_dma.h>
#include <xmem/xmem_vfio.h>

#include "iommu/iommufd_uapi.h" /* step h on iommufd: ioctls behind xmem's back */
#include "guest_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_avail = 1; /* the container reports DMA_AVAIL (type1) */
/* A DMA_AVAIL check, only where the backend reports it. */
#define AVAIL_OK(x) (!g_avail || (x))

/* Internal (iommu/vfio.h), linked statically: 1 when the backend's record
 * of mappings made through c holds exactly (va, iova, len). */
int xm_vfio_has_mapping(struct xmem_vfio_container *c, uintptr_t va, uint64_t iova,
                        uint64_t len);
/* Internal too: the IOAS of an iommufd container. */
uint32_t xm_vfio_ioas_id(const struct xmem_vfio_container *c);

struct find_arg {
    uint64_t iova;
    const struct xmem_dma_mapping *found;
    struct xmem_dma_mapping copy;
    long n_at;
};

static int find_fn(const char *s, const struct xmem_dma_mapping *m, void *arg)
{
    (void)s;
    struct find_arg *f = arg;
    if (m->iova < f->iova + 1 && f->iova < m->iova + m->len) {
        f->copy = *m;
        f->found = &f->copy;
        f->n_at++;
    }
    return 0;
}

/* h: xmem_heap_remove_memory meets a short unmap from the kernel.  The
 * region (hs over sm, one run) is mapped through container c with
 * subscriber s; ed is the edu device in c. */
static void step_h(struct xmem_vfio_container *c, struct xmem_dma_subscriber *s,
                   struct xmem_heap *hs, unsigned char *sm, size_t len, struct edu *ed)
{
    int cfd = xmem_vfio_container_fd(c);
    uint64_t iova = xmem_virt2iova(sm);
    /* Behind xmem's back: unmap its entry, map one page at the same IOVA. */
    int urc, mrc, ue = 0;
    uint64_t usize;
    int fd_backend = xmem_vfio_container_backend(c) == XMEM_VFIO_BACKEND_IOMMUFD;
    if (fd_backend) {
        uint32_t ioas = xm_vfio_ioas_id(c);
        struct xm_iommu_ioas_unmap um = {.size = sizeof(um), .ioas_id = ioas, .iova = iova,
                                         .length = len};
        urc = ioctl(cfd, XM_IOMMU_IOAS_UNMAP, &um);
        ue = errno;
        usize = um.length;
        struct xm_iommu_ioas_map mp = {
            .size = sizeof(mp),
            .flags = XM_IOMMU_IOAS_MAP_FIXED_IOVA | XM_IOMMU_IOAS_MAP_READABLE |
                     XM_IOMMU_IOAS_MAP_WRITEABLE,
            .ioas_id = ioas, .user_va = (uintptr_t)sm, .length = PG, .iova = iova,
        };
        mrc = ioctl(cfd, XM_IOMMU_IOAS_MAP, &mp);
    } else {
        struct vfio_iommu_type1_dma_unmap um = {.argsz = sizeof(um), .iova = iova, .size = len};
        urc = ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &um);
        ue = errno;
        usize = um.size;
        struct vfio_iommu_type1_dma_map mp = {
            .argsz = sizeof(mp),
            .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            .vaddr = (uintptr_t)sm, .iova = iova, .size = PG,
        };
        mrc = ioctl(cfd, VFIO_IOMMU_MAP_DMA, &mp);
    }
    step('h', urc == 0 && usize == len && mrc == 0,
         "behind xmem's back: %s of its entry [%#llx, +%#zx) (%s, %llu bytes), "
         "%s of one page at the same IOVA (%s)",
         fd_backend ? "IOMMU_IOAS_UNMAP" : "VFIO_IOMMU_UNMAP_DMA",
         (unsigned long long)iova, len, urc == 0 ? "ok" : strerror(ue),
         (unsigned long long)usize, fd_backend ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA",
         mrc == 0 ? "ok" : strerror(errno));
    struct xmem_vfio_stats v0, v1;
    struct xmem_dma_stats d0, d1;
    vstats(c, &v0);
    xmem_dma_get_stats(s, &d0);
    long n0 = entries_of(s);
    errno = 0;
    int rrc = xmem_heap_remove_memory(hs, sm, len);
    int e = errno;
    vstats(c, &v1);
    xmem_dma_get_stats(s, &d1);
    struct find_arg f = {.iova = iova};
    xmem_dma_mapping_walk(s, find_fn, &f);
    int rec = f.n_at == 1 && f.found->iova == iova && f.found->len == len &&
              f.found->va == (void *)sm && f.found->owned;
    int backend = xm_vfio_has_mapping(c, (uintptr_t)sm, iova, len);
    step('h', rrc == -1 && e == EIO && v1.unmap_failed > v0.unmap_failed &&
                  d1.unmap_errors == d0.unmap_errors + 1 && xmem_virt2iova(sm) == iova &&
                  entries_of(s) == n0 && d1.entries == d0.entries && rec && backend,
         "xmem_heap_remove_memory with the kernel reporting a short unmap: rc %d errno %s; "
         "unmap errors %llu -> %llu; xmem_virt2iova still %#llx; registry %ld -> %ld entries, "
         "its entry for the region [%#llx, +%#llx) %s; the VFIO backend's record %s",
         rrc, e == EIO ? "EIO" : strerror(e), (unsigned long long)d0.unmap_errors,
         (unsigned long long)d1.unmap_errors, (unsigned long long)xmem_virt2iova(sm), n0,
         entries_of(s), (unsigned long long)(f.found ? f.found->iova : 0),
         (unsigned long long)(f.found ? f.found->len : 0), rec ? "exact" : "WRONG",
         backend ? "exact" : "WRONG");
    /* What the kernel maps is the whole entry again: DMAs into a block
     * allocated from the region and into its last page (the piece the test
     * mapped was the first page) go through without an IOMMU fault.  The
     * device buffer still holds step f's pattern. */
    unsigned char pat[DMA_LEN];
    fill(pat, DMA_LEN, 2);
    unsigned char *b = xmem_alloc(hs, 16384, 0);
    unsigned char *last = sm + len - PG;
    int ok = b != NULL;
    dmar_faults_since_last();
    unsigned char *dst[2] = {b, last};
    for (int i = 0; i < 2 && ok; i++) {
        memset(dst[i], 0x77, DMA_LEN);
        ok = edu_dma(ed, EDU_BUF, xmem_virt2iova(dst[i]), DMA_LEN, 1) == 0 &&
             memcmp(dst[i], pat, DMA_LEN) == 0;
    }
    int faults = dmar_faults_since_last();
    step('h', ok && faults == 0,
         "after the failed removal: xmem_alloc from the region %s; edu DMA to the block (IOVA "
         "%#llx) and to the region's last page (IOVA %#llx): bytes %s, DMAR faults %d",
         b ? "ok" : strerror(errno), (unsigned long long)(b ? xmem_virt2iova(b) : 0),
         (unsigned long long)xmem_virt2iova(last), ok ? "equal" : "DIFFER", faults);
    xmem_free(b);
    /* The retry succeeds: the kernel unmaps the full entry now. */
    vstats(c, &v0);
    rrc = xmem_heap_remove_memory(hs, sm, len);
    vstats(c, &v1);
    step('h', rrc == 0 && v1.unmap_failed == v0.unmap_failed &&
                  xmem_virt2iova(sm) == XMEM_BAD_IOVA && entries_of(s) == n0 - 1,
         "retry: xmem_heap_remove_memory %s, %llu unmap call(s), none failed: %s",
         rrc == 0 ? "ok" : strerror(errno), (unsigned long long)(v1.unmap_calls - v0.unmap_calls),
         v1.unmap_failed == v0.unmap_failed ? "yes" : "NO");
}

#define HP_N 8  /* hugepages in the heap */
#define SM_N 64 /* scattered 4 KiB pages */

/* ---------------------------------------------------------------- main */

/* ---------------------------------------------------------------- multi-process */

/* m (guest_test --mp, a fresh process): the primary creates a domain and a
 * heap on a /dev/shm file with an IOVA table, allocates two buffers and
 * starts a secondary (fork+exec of this binary, --mp-secondary) that
 * attaches, opens the edu through its own VFIO container (the layer maps
 * the regions the primary added when it attaches: docs/multiprocess.md) and
 * DMAs the first buffer into the second.  The primary then checks the data
 * the device wrote. */
#define MP_IOVA ((uint64_t)1 << 32)
#define MP_LEN  (2UL << 20)

static int mp_secondary(unsigned char *a, unsigned char *b)
{
    char bdf[64];
    int group = find_pci(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf)) == 0 ?
                xmem_vfio_group_of(bdf) : -1;
    if (xmem_shared_attach("guest") != 0 || group < 0) {
        info("mp secondary: attach or edu: %s", strerror(errno));
        return 1;
    }
    struct xmem_vfio_container *c = xmem_vfio_default_container();
    struct edu ed = {.fd = -1};
    if (!c || xmem_vfio_group_add(c, group) != 0 || !xmem_vfio_attach(NULL) ||
        edu_open(c, group, bdf, &ed) != 0) {
        info("mp secondary: VFIO: %s", strerror(errno));
        return 1;
    }
    uint64_t ia = xmem_virt2iova(a), ib = xmem_virt2iova(b);
    int rc = edu_copy(&ed, ia, ib, DMA_LEN);
    int same = rc == 0 && memcmp(a, b, DMA_LEN) == 0;
    info("mp secondary: edu DMA %#llx -> %#llx (buffers of the primary): %s",
         (unsigned long long)ia, (unsigned long long)ib, same ? "data ok" : "FAILED");
    edu_close(c, &ed);
    xmem_vfio_container_close(c);
    xmem_shared_detach();
    return same ? 0 : 1;
}

static int mp_primary(void)
{
    const char *path = "/dev/shm/guest-mp";
    static uint64_t iova[MP_LEN / PG];
    for (size_t i = 0; i < MP_LEN / PG; i++)
        iova[i] = MP_IOVA + i * PG;
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    struct xmem_heap *h = NULL;
    unsigned char *va = NULL, *a = NULL, *b = NULL;
    if (fd < 0 || ftruncate(fd, MP_LEN) != 0 || xmem_shared_create("guest") != 0 ||
        !(h = xmem_heap_create("mp")) ||
        !(va = xmem_heap_add_file(h, path, 0, MP_LEN, iova, MP_LEN / PG, PG)) ||
        !(a = xmem_alloc(h, DMA_LEN, 0)) || !(b = xmem_alloc(h, DMA_LEN, 0))) {
        step('m', 0, "primary: domain, heap on %s or buffers: %s", path, strerror(errno));
        return 1;
    }
    fill(a, DMA_LEN, 77);
    memset(b, 0, DMA_LEN);
    char sa[32], sb[32];
    snprintf(sa, sizeof(sa), "%p", (void *)a);
    snprintf(sb, sizeof(sb), "%p", (void *)b);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "guest_test", "--mp-secondary", sa, sb, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && memcmp(a, b, DMA_LEN) == 0;
    step('m', ok, "a secondary process attached to the domain, DMAed with its own container "
         "from buffer %p to %p allocated by the primary (IOVA %#llx, %#llx); the primary sees "
         "the data", (void *)a, (void *)b, (unsigned long long)xmem_virt2iova(a),
         (unsigned long long)xmem_virt2iova(b));
    xmem_shared_unlink("guest");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "--mp") == 0)
        return mp_primary();
    if (argc > 3 && strcmp(argv[1], "--mp-secondary") == 0)
        return mp_secondary((unsigned char *)(uintptr_t)strtoull(argv[2], NULL, 16),
                            (unsigned char *)(uintptr_t)strtoull(argv[3], NULL, 16));
    const char *be = getenv("XMEM_VFIO_BACKEND");
    printf("GUEST TEST: xmem DMA layer over VFIO (heap, registry, replay), backend %s\n",
           be ? be : "auto");

    /* a: bind edu to vfio-pci, find the group. */
    char bdf[64];
    if (find_pci(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf)) != 0) {
        step('a', 0, "no edu device (1234:11e8) in /sys/bus/pci/devices");
        goto done;
    }
    int group = -1;
    int bound = bind_vfio("1234 11e8", bdf, &group) == 0;
    step('a', bound, "edu %s bound to vfio-pci, iommu group %d (/dev/vfio/%d): %s", bdf, group,
         group, bound ? "ok" : strerror(errno));
    if (!bound)
        goto done;

    /* b: the default container, the group, info, attach. */
    struct xmem_vfio_container *c1 = xmem_vfio_default_container();
    if (!c1) {
        step('b', 0, "default container: %s", strerror(errno));
        goto done;
    }
    if (xmem_vfio_group_add(c1, group) != 0) {
        step('b', 0, "group_add(%d): %s", group, strerror(errno));
        goto done;
    }
    struct xmem_vfio_info in;
    if (xmem_vfio_get_info(c1, &in) != 0) {
        step('b', 0, "get_info: %s", strerror(errno));
        goto done;
    }
    for (uint32_t i = 0; i < in.n_ranges; i++)
        info("iova range %u: [%#llx, %#llx]", i, (unsigned long long)in.ranges[i].start,
             (unsigned long long)in.ranges[i].end);
    xmem_dma_set_iova_mode(XMEM_IOVA_MODE_ASSIGN);
    int kind = xmem_vfio_container_backend(c1);
    int want_kind = be && strcmp(be, "iommufd") == 0 ? XMEM_VFIO_BACKEND_IOMMUFD
                                                     : XMEM_VFIO_BACKEND_TYPE1;
    g_avail = kind == XMEM_VFIO_BACKEND_TYPE1;
    struct xmem_dma_subscriber *s1 = xmem_vfio_attach(NULL);
    step('b', s1 != NULL && kind == want_kind && in.has_dma_avail == g_avail &&
                  xmem_vfio_attach(c1) == NULL && errno == EEXIST,
         "default container (%s) with group %d: %u IOVA ranges, DMA_AVAIL %s %u; "
         "xmem_vfio_attach(NULL) %s (subscriber %s); attaching it twice gives EEXIST",
         kind == XMEM_VFIO_BACKEND_IOMMUFD ? "iommufd IOAS, device cdevs" : "type1", group,
         in.n_ranges, in.has_dma_avail ? "" : "not reported (iommufd has none)", in.dma_avail,
         s1 ? "ok" : strerror(errno), s1 ? (kind == XMEM_VFIO_BACKEND_IOMMUFD ? "iommufd:N" : "vfio:N") : "-");
    if (!s1)
        goto done;

    /* c: a heap over hugepages with assigned IOVAs: map calls == runs. */
    unsigned char *hp = mmap(NULL, HP_N * HP, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    if (hp == MAP_FAILED) {
        step('c', 0, "mmap %d hugepages: %s", HP_N, strerror(errno));
        goto done;
    }
    memset(hp, 0, HP_N * HP);
    struct xmem_heap *h = xmem_heap_create("guest-hp");
    struct xmem_vfio_stats v0, v1;
    uint32_t av0 = dma_avail(c1);
    vstats(c1, &v0);
    double t0 = now();
    int rc = h ? xmem_heap_add_memory(h, hp, HP_N * HP, NULL, 0, HP) : -1;
    double t1 = now();
    int e = errno;
    vstats(c1, &v1);
    uint32_t av1 = dma_avail(c1);
    size_t hp_runs = rc == 0 ? runs_of((char *)hp, HP_N * HP, HP) : 0;
    uint64_t hp_iova = xmem_virt2iova(hp);
    step('c', rc == 0 && hp_runs == 1 && v1.map_calls - v0.map_calls == hp_runs &&
                  AVAIL_OK(av0 - av1 == hp_runs),
         "heap over %d x 2 MiB hugepages at VA %p: add %s in %.2f ms, assigned IOVA [%#llx, "
         "%#llx), %zu run(s), %llu map call(s), DMA_AVAIL %u -> %u",
         HP_N, (void *)hp, rc == 0 ? "ok" : strerror(e), (t1 - t0) * 1e3,
         (unsigned long long)hp_iova, (unsigned long long)(hp_iova + HP_N * HP), hp_runs,
         (unsigned long long)(v1.map_calls - v0.map_calls), av0, av1);
    if (rc != 0)
        goto done;

    /* c: 64 scattered 4 KiB pages, assigned: one call. */
    unsigned char *sm = mmap(NULL, SM_N * PG, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    memset(sm, 0, SM_N * PG);
    struct xmem_heap *hs = xmem_heap_create("guest-4k");
    vstats(c1, &v0);
    rc = xmem_heap_add_memory(hs, sm, SM_N * PG, NULL, 0, PG);
    vstats(c1, &v1);
    size_t sm_runs = rc == 0 ? runs_of((char *)sm, SM_N * PG, PG) : 0;
    step('c', rc == 0 && sm_runs == 1 && v1.map_calls - v0.map_calls == 1,
         "heap over %d scattered 4 KiB pages, assigned IOVA %#llx: %zu run(s), %llu map call(s)",
         SM_N, (unsigned long long)xmem_virt2iova(sm), sm_runs,
         (unsigned long long)(v1.map_calls - v0.map_calls));

    /* c: xmem_register with a caller's table, pairs swapped: one call per run. */
    unsigned char *ct = mmap(NULL, SM_N * PG, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    memset(ct, 0, SM_N * PG);
    uint64_t tab[SM_N];
    for (int i = 0; i < SM_N; i++)
        tab[i] = 0x2000000000ULL / 2 + (uint64_t)(i ^ 1) * PG; /* 64 GiB: inside 39 bits */
    vstats(c1, &v0);
    rc = xmem_register(ct, SM_N * PG, tab, SM_N, PG);
    vstats(c1, &v1);
    size_t ct_runs = rc == 0 ? runs_of((char *)ct, SM_N * PG, PG) : 0;
    step('c', rc == 0 && ct_runs == SM_N && v1.map_calls - v0.map_calls == ct_runs,
         "xmem_register with a caller's table (pairs swapped): %zu runs, %llu map calls",
         ct_runs, (unsigned long long)(v1.map_calls - v0.map_calls));
    long want = (long)(hp_runs + sm_runs + ct_runs);
    step('c', entries_of(s1) == want, "registry of %s: %ld entries (want %ld)", "vfio container 1",
         entries_of(s1), want);

    /* d: DMA between xmem buffers through xmem_virt2iova. */
    struct edu ed;
    if (edu_open(c1, group, bdf, &ed) != 0) {
        step('d', 0, "open edu through VFIO");
        goto done;
    }
    unsigned char *src = xmem_alloc(h, DMA_LEN, 0);
    unsigned char *dst = xmem_alloc(h, 3 * HP, 0); /* a large block, another page */
    if (!src || !dst) {
        step('d', 0, "xmem_alloc: %s", strerror(errno));
        goto done;
    }
    uint64_t src_iova = xmem_virt2iova(src), dst_iova = xmem_virt2iova(dst + HP + 0x2340);
    unsigned char *dstp = dst + HP + 0x2340;
    fill(src, DMA_LEN, 1);
    memset(dstp, 0xee, DMA_LEN + 64);
    dmar_faults_since_last();
    {
        int drc = edu_copy(&ed, src_iova, dst_iova, DMA_LEN);
        int same = memcmp(src, dstp, DMA_LEN) == 0;
        int tail = dstp[DMA_LEN] == 0xee && dstp[DMA_LEN + 63] == 0xee;
        int faults = dmar_faults_since_last();
        step('d', drc == 0 && same && tail && faults == 0,
             "edu DMA %d bytes: xmem_alloc'd src %p (IOVA %#llx) -> edu 0x40000 -> xmem_alloc'd "
             "dst %p (IOVA %#llx): completion %s, bytes %s, tail untouched %s, DMAR faults %d",
             DMA_LEN, (void *)src, (unsigned long long)src_iova, (void *)dstp,
             (unsigned long long)dst_iova, drc == 0 ? "yes" : "TIMEOUT",
             same ? "equal" : "DIFFER", tail ? "yes" : "no", faults);
    }
    /* d: across a 4 KiB page boundary of scattered pages (assigned IOVAs). */
    {
        unsigned char *b = xmem_alloc(hs, 16384, 0);
        if (!b) {
            step('d', 0, "xmem_alloc 16 KiB on 4 KiB pages: %s", strerror(errno));
            goto done;
        }
        unsigned char *p = b + PG - 1000; /* 1000 bytes in one page, 3000 in the next */
        memset(p, 0x33, DMA_LEN + 64);
        int drc = edu_dma(&ed, EDU_BUF, xmem_virt2iova(p), DMA_LEN, 1);
        int same = memcmp(src, p, DMA_LEN) == 0 && p[DMA_LEN] == 0x33;
        int faults = dmar_faults_since_last();
        step('d', drc == 0 && same && faults == 0,
             "edu DMA %d bytes to IOVA %#llx spanning two scattered 4 KiB pages of a 16 KiB "
             "xmem_alloc block: bytes %s, DMAR faults %d",
             DMA_LEN, (unsigned long long)xmem_virt2iova(p), same ? "equal" : "DIFFER", faults);
        xmem_free(b);
    }

    /* e: remove the memory: unmapped, DMA to the old IOVA refused. */
    xmem_free(src);
    xmem_free(dst);
    {
        vstats(c1, &v0);
        av0 = dma_avail(c1);
        int rrc = xmem_heap_remove_memory(h, hp, HP_N * HP);
        vstats(c1, &v1);
        av1 = dma_avail(c1);
        struct xmem_dma_stats ds;
        xmem_dma_get_stats(s1, &ds);
        step('e', rrc == 0 && v1.unmap_calls - v0.unmap_calls == 1 &&
                      v1.unmap_failed == v0.unmap_failed && AVAIL_OK(av1 - av0 == 1) &&
                      xmem_virt2iova(hp) == XMEM_BAD_IOVA && ds.unmap_errors == 0,
             "xmem_heap_remove_memory: %s, %llu unmap call(s) (kernel reported the full "
             "size: %s), DMA_AVAIL %u -> %u, xmem_virt2iova now %s",
             rrc == 0 ? "ok" : strerror(errno), (unsigned long long)(v1.unmap_calls - v0.unmap_calls),
             v1.unmap_failed == v0.unmap_failed ? "yes" : "NO", av0, av1,
             xmem_virt2iova(hp) == XMEM_BAD_IOVA ? "XMEM_BAD_IOVA" : "still set");
        /* The device buffer still holds the pattern; send it to the old IOVA. */
        memset(dstp, 0x5a, DMA_LEN);
        int drc = edu_dma(&ed, EDU_BUF, dst_iova, DMA_LEN, 1);
        usleep(200000); /* let the fault be reported */
        int untouched = 1;
        for (size_t i = 0; i < DMA_LEN; i++)
            untouched &= dstp[i] == 0x5a;
        int faults = dmar_faults_since_last();
        step('e', untouched && faults > 0,
             "DMA edu -> old IOVA %#llx after removal: completion %s, destination %s, DMAR "
             "fault lines %d",
             (unsigned long long)dst_iova, drc == 0 ? "shown" : "timeout",
             untouched ? "untouched" : "WRITTEN", faults);
    }
    /* Add the hugepages back (new IOVAs), so that three regions exist. */
    if (xmem_heap_add_memory(h, hp, HP_N * HP, NULL, 0, HP) != 0) {
        step('e', 0, "re-adding the hugepages: %s", strerror(errno));
        goto done;
    }
    info("hugepages added again at IOVA %#llx", (unsigned long long)xmem_virt2iova(hp));

    /* f: detach, move the group, attach a second container: replay. */
    edu_close(c1, &ed);
    {
        int drc = xmem_vfio_detach(NULL);
        long left = entries_of(NULL);
        int rm = xmem_vfio_group_remove(c1, group);
        int rme = rm == 0 ? 0 : errno;
        struct xmem_vfio_container *c2 = xmem_vfio_container_open_backend(kind);
        int add = c2 ? xmem_vfio_group_add(c2, group) : -1;
        int adde = add == 0 ? 0 : errno;
        step('f', drc == 0 && left == 0 && rm == 0 && add == 0,
             "detached container 1 (%s, registry entries left %ld); group %d moved: removed from "
             "container 1 (%s), added to container 2 (%s)",
             drc == 0 ? "ok" : strerror(errno), left, group, rm == 0 ? "ok" : strerror(rme),
             add == 0 ? "ok" : strerror(adde));
        if (drc != 0 || rm != 0 || add != 0)
            goto done;
        av0 = dma_avail(c2);
        double ta = now();
        struct xmem_dma_subscriber *s2 = xmem_vfio_attach(c2);
        double tb = now();
        struct xmem_vfio_stats st2;
        vstats(c2, &st2);
        av1 = dma_avail(c2);
        step('f', s2 && (long)st2.map_calls == want && entries_of(s2) == want &&
                      AVAIL_OK(av0 - av1 == (uint32_t)want),
             "xmem_vfio_attach(container 2) replayed 3 regions in %.2f ms: %llu map calls for %ld "
             "runs, registry entries %ld, DMA_AVAIL %u -> %u",
             (tb - ta) * 1e3, (unsigned long long)st2.map_calls, want, s2 ? entries_of(s2) : -1L,
             av0, av1);
        if (!s2 || edu_open(c2, group, bdf, &ed) != 0) {
            step('f', 0, "open edu in container 2");
            goto done;
        }
        src = xmem_alloc(h, DMA_LEN, 0);
        dst = xmem_alloc(h, DMA_LEN, 0);
        fill(src, DMA_LEN, 2);
        memset(dst, 0x11, DMA_LEN);
        int drc2 = edu_copy(&ed, xmem_virt2iova(src), xmem_virt2iova(dst), DMA_LEN);
        int same = memcmp(src, dst, DMA_LEN) == 0;
        int faults = dmar_faults_since_last();
        step('f', drc2 == 0 && same && faults == 0,
             "edu DMA in container 2 between xmem buffers (IOVA %#llx -> %#llx, replayed "
             "mapping): completion %s, bytes %s, DMAR faults %d",
             (unsigned long long)xmem_virt2iova(src), (unsigned long long)xmem_virt2iova(dst),
             drc2 == 0 ? "yes" : "TIMEOUT", same ? "equal" : "DIFFER", faults);
        xmem_free(src);
        xmem_free(dst);
        /* h: a short unmap from the kernel; then the region is added again
         * for the rest of the test. */
        step_h(c2, s2, hs, sm, SM_N * PG, &ed);
        if (xmem_heap_add_memory(hs, sm, SM_N * PG, NULL, 0, PG) != 0)
            step('h', 0, "adding the 4 KiB pages again: %s", strerror(errno));
        edu_close(c2, &ed);
        vstats(c2, &st2);
        uint64_t failed_h = st2.unmap_failed; /* step h's short unmaps */
        /* Everything goes away cleanly. */
        int ok = xmem_heap_remove_memory(h, hp, HP_N * HP) == 0 &&
                 xmem_heap_remove_memory(hs, sm, SM_N * PG) == 0 &&
                 xmem_unregister(ct, SM_N * PG) == 0;
        long left2 = entries_of(s2);
        uint32_t av2 = dma_avail(c2);
        vstats(c2, &st2);
        step('f', ok && left2 == 0 && AVAIL_OK(av2 == av0) && st2.unmap_failed == failed_h,
             "all regions removed: registry entries %ld, DMA_AVAIL back to %u, %llu unmap calls "
             "(%llu failed, all in step h)",
             left2, av2, (unsigned long long)st2.unmap_calls,
             (unsigned long long)st2.unmap_failed);
        /* g: the time to add a 1 GiB region of 4 KiB pages with its mapping
         * (one map call that pins 262,144 pages), and to remove it. */
        size_t gib = (size_t)1 << 30;
        double tp = now();
        char *g = mmap(NULL, gib, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        double tq = now();
        if (g == MAP_FAILED) {
            step('g', 0, "mmap 1 GiB: %s", strerror(errno));
        } else {
            struct xmem_vfio_stats g0, g1;
            vstats(c2, &g0);
            double ta2 = now();
            int grc = xmem_register(g, gib, NULL, 0, PG);
            double tb2 = now();
            vstats(c2, &g1);
            int urc = grc == 0 ? xmem_unregister(g, gib) : -1;
            double tc2 = now();
            step('g', grc == 0 && urc == 0 && g1.map_calls - g0.map_calls == 1,
                 "1 GiB of 4 KiB pages (populated in %.0f ms): xmem_register with assigned IOVAs "
                 "%s in %.1f ms with %llu map call(s) (262144 pages pinned); "
                 "xmem_unregister %.1f ms",
                 (tq - tp) * 1e3, grc == 0 ? "ok" : strerror(errno), (tb2 - ta2) * 1e3,
                 (unsigned long long)(g1.map_calls - g0.map_calls), (tc2 - tb2) * 1e3);
            munmap(g, gib);
        }
        xmem_vfio_container_close(c2); /* detaches */
        xmem_heap_destroy(h);
        xmem_heap_destroy(hs);
    }
    xmem_vfio_container_close(c1);
    munmap(hp, HP_N * HP);
    munmap(sm, SM_N * PG);
    munmap(ct, SM_N * PG);

done:
    printf("GUEST RESULT: %s (%d failed checks)\n", n_fail ? "FAIL" : "PASS", n_fail);
    fflush(stdout);
    return n_fail ? 1 : 0;
}
