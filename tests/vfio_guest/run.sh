#!/usr/bin/env bash
# tests/vfio_guest/run.sh: the VFIO-in-a-guest test.
#
# Owns: building the static guest test binaries (tests/vfio_guest/guest_test.c and
# devmem_test.c with guest_util.c, and
# tests/errors_test.c with its tests/errors_cases_*.c for the VFIO rows of docs/errors.md,
# each with all of libxmem: alloc/ and iommu/; tests/vfio_guest/dpdk_guest_test.c with
# guest_util.c, libxmem, dpdk/dma_subs.c and DPDK's static archives),
# building the guest image (build_image.sh), booting it under QEMU TCG with intel-iommu and
# the edu and ivshmem-plain devices, with a hard timeout, and judging the serial console.
#
# Usage: tests/vfio_guest/run.sh            (from anywhere; needs root for apt)
# Exit: 0 when the guest printed "GUEST RESULT: PASS" and "DEVMEM RESULT: PASS", no STEP
#       failed, and errors_test ran every VFIO row of
#       docs/errors.md and passed ("ERRORS EXIT: 0"), or when QEMU or the kernel cannot be
#       installed (then it prints "SKIPPED: <reason>"); 1 otherwise.  One line per VFIO row,
#       "vfio_guest: errors row PASS|FAIL|MISSING <id>", and dpdk_guest_test's
#       "CHECK PASS|FAIL <name>: ..." lines, which scripts/test.sh counts; the DPDK test must
#       print "DPDK RESULT: PASS" and no "CHECK FAIL" (unless XMEM_GUEST_DPDK=0).
# Environment: XMEM_GUEST_CACHE (default /var/cache/xmem-guest): downloads;
#              XMEM_GUEST_OUT (default a temporary dir): binary, image and console.log are kept
#              there when set; XMEM_GUEST_TIMEOUT (default 120): seconds for QEMU;
#              XMEM_GUEST_KERNEL: a kernel image to boot instead of Debian's stock one
#              (build_image.sh); XMEM_GUEST_APPEND: extra kernel command-line words (a
#              NAME=value one reaches /init's and guest_test's environment, e.g.
#              XMEM_VFIO_BACKEND=iommufd); XMEM_GUEST_QEMU_ARGS: extra QEMU arguments
#              (split on spaces), e.g. more devices; XMEM_GUEST_DPDK=0: leave
#              dpdk_guest_test out of this run (it is neither built nor required; the
#              iommufd_guest stage: DPDK 22.11 drives the legacy container/group API,
#              which the type1 run already proves).
set -uo pipefail

# readlink -f: under `bazel test` run.sh is a runfiles symlink into the source tree.
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TIMEOUT=${XMEM_GUEST_TIMEOUT:-120}
# shellcheck source=tests/vfio_guest/guest_run_lib.sh
. "$HERE/guest_run_lib.sh"
guest_out_dir xmem-guest

t0=$(date +%s)
echo "vfio_guest: building the static guest test (all of libxmem, static)"
# The whole library (alloc/ and iommu/, as //:xmem compiles it) plus the test,
# linked statically: Debian ships liburcu-memb.a, liburcu-common.a, libck.a
# and libnuma.a (libnuma-dev), so nothing needs a shim.
LIBSRCS=$(ls "$ROOT"/alloc/*.c "$ROOT"/iommu/*.c | grep -v '_test\.c$')
# The errors test also drives the test library's rows (testing/).
TESTLIBSRCS=$(ls "$ROOT"/testing/*.c)
if ! gcc -static -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE \
        -I"$ROOT/include" -I"$ROOT" \
        "$HERE/guest_test.c" "$HERE/guest_util.c" $LIBSRCS \
        -lurcu-memb -lurcu-common -lck -lnuma -lpthread -o "$OUT/guest_test" 2> "$OUT/build.log"; then
    cat "$OUT/build.log"
    echo "vfio_guest: FAIL: the guest test does not build"
    exit 1
fi
echo "vfio_guest: building the static device-memory test (BAR heaps, P2P)"
if ! gcc -static -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE \
        -I"$ROOT/include" -I"$ROOT" \
        "$HERE/devmem_test.c" "$HERE/guest_util.c" $LIBSRCS \
        -lurcu-memb -lurcu-common -lck -lnuma -lpthread -o "$OUT/devmem_test" 2>> "$OUT/build.log"; then
    cat "$OUT/build.log"
    echo "vfio_guest: FAIL: the device-memory test does not build"
    exit 1
fi
grep -E 'error|warning' "$OUT/build.log" | head -n 20
echo "vfio_guest: building the static errors test (the VFIO rows of docs/errors.md)"
if ! gcc -static -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE \
        -I"$ROOT/include" -I"$ROOT" -I"$ROOT/tests" \
        "$ROOT/tests/errors_test.c" "$ROOT"/tests/errors_cases_*.c $LIBSRCS $TESTLIBSRCS \
        -lurcu-memb -lurcu-common -lck -lnuma -lpthread -o "$OUT/errors_test" 2> "$OUT/build_errors.log"; then
    cat "$OUT/build_errors.log"
    echo "vfio_guest: FAIL: the errors test does not build"
    exit 1
fi
DPDK=${XMEM_GUEST_DPDK:-1}
DPDK_BIN=
if [ "$DPDK" != 0 ]; then
    echo "vfio_guest: building the static DPDK test (libxmem_dpdk's DMA subscribers, DPDK's EAL)"
    # DPDK's static archives (libdpdk-dev): EAL and the PCI bus whole, for their constructors
    # (the bus registers itself, EAL's own registrations); dma_subs.c is the part of
    # libxmem_dpdk under test.
    if ! gcc -static -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -DALLOW_EXPERIMENTAL_API \
            -I"$ROOT/include" -I"$ROOT" -I"$ROOT/dpdk/include" \
            -isystem /usr/include/dpdk -isystem /usr/include/x86_64-linux-gnu/dpdk \
            -include rte_config.h -march=corei7 \
            "$HERE/dpdk_guest_test.c" "$HERE/guest_util.c" "$ROOT/dpdk/dma_subs.c" $LIBSRCS \
            -Wl,--whole-archive -l:librte_eal.a -l:librte_bus_pci.a -Wl,--no-whole-archive \
            -l:librte_pci.a -l:librte_kvargs.a -l:librte_telemetry.a \
            -lurcu-memb -lurcu-common -lck -lnuma -lbsd -lmd -ldl -lpthread \
            -o "$OUT/dpdk_guest_test" 2> "$OUT/build_dpdk.log"; then
        cat "$OUT/build_dpdk.log"
        echo "vfio_guest: FAIL: the DPDK guest test does not build"
        exit 1
    fi
    DPDK_BIN=$OUT/dpdk_guest_test
else
    echo "vfio_guest: dpdk_guest_test not in this run (XMEM_GUEST_DPDK=0)"
fi
# The rows the guest must run: those whose "run" cell is vfio.
VFIO_ROWS=$(awk -F'|' '/^\| `/ { id=$2; run=$(NF-1); gsub(/[ `]/, "", id); gsub(/ /, "", run);
                                    if (run == "vfio") print id }' "$ROOT/docs/errors.md")

echo "vfio_guest: building the guest image"
XMEM_GUEST_EXTRA_BINS="${XMEM_GUEST_EXTRA_BINS:-} $OUT/devmem_test $DPDK_BIN" \
    guest_image vfio_guest "$OUT/guest_test" "$OUT/errors_test"
grep '^build_image: ' "$OUT/build_image.log" | grep -v 'apt-get update' | sed 's/^/  /'

echo "vfio_guest: booting the guest (TCG, timeout ${TIMEOUT}s)"
# no_timer_check: on a loaded host TCG can miss the kernel's boot-time IO-APIC timer check, which
# then panics ("timer doesn't work through Interrupt-remapped IO-APIC"); panic=-1 with
# -no-reboot ends QEMU at once on any panic instead of waiting for the timeout.
t1=$(date +%s)
# -cpu: TCG's default qemu64 lacks SSSE3/SSE4.2/POPCNT, which Debian's DPDK archives are built
# for (-march=corei7); without them dpdk_guest_test dies of an illegal instruction.
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1536 -smp 1 \
    -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt \
    -M q35,kernel-irqchip=split \
    -device intel-iommu,intremap=on,caching-mode=on \
    -device edu,dma_mask=0xffffffffffffffff \
    -object memory-backend-ram,id=xmshm0,size=4M,share=on -device ivshmem-plain,memdev=xmshm0 \
    ${XMEM_GUEST_QEMU_ARGS:-} \
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.gz" \
    -append "console=ttyS0 intel_iommu=on quiet no_timer_check panic=-1 ${XMEM_GUEST_APPEND:-}" \
    -nographic -no-reboot < /dev/null > "$OUT/console.raw" 2>&1
qrc=$?
t2=$(date +%s)
guest_console

# The guest's own lines, plus the kernel's DMAR lines.
grep -E '^(INIT:|GUEST|DEVMEM|STEP|DPDK|CHECK|  )|DMAR' "$OUT/console.log"
grep -E '^ERRORS' "$OUT/console.log" | grep -vE '^ERRORS: PASS ' | head -n 40

# The VFIO rows of docs/errors.md, each run by errors_test in the guest.
n_rows=0; n_ok=0
for id in $VFIO_ROWS; do
    n_rows=$((n_rows + 1))
    if grep -qxF "ERRORS: PASS $id" "$OUT/console.log"; then
        echo "vfio_guest: errors row PASS $id"; n_ok=$((n_ok + 1))
    elif grep -qxF "ERRORS: FAIL $id" "$OUT/console.log"; then
        echo "vfio_guest: errors row FAIL $id"
    else
        echo "vfio_guest: errors row MISSING $id"
    fi
done
echo "vfio_guest: errors.md VFIO rows: $n_ok of $n_rows passed in the guest"
errors_ok=0
if [ "$n_rows" -gt 0 ] && [ "$n_ok" -eq "$n_rows" ] && grep -qx 'ERRORS EXIT: 0' "$OUT/console.log"; then
    errors_ok=1
fi

echo "vfio_guest: qemu exit $qrc, boot+test $((t2 - t1)) s, total $((t2 - t0)) s"
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
    echo "vfio_guest: FAIL: the guest did not power off within ${TIMEOUT}s (console: $OUT/console.log)"
    exit 1
fi
# dpdk_guest_test: every CHECK passed and it reached its verdict.
dpdk_ok=0
if [ "$DPDK" = 0 ]; then
    dpdk_ok=1
elif grep -q '^DPDK RESULT: PASS' "$OUT/console.log" && ! grep -q '^CHECK FAIL' "$OUT/console.log"; then
    dpdk_ok=1
fi
if [ "$DPDK" != 0 ]; then
    echo "vfio_guest: DPDK checks: $(grep -c '^CHECK PASS' "$OUT/console.log") passed," \
        "$(grep -c '^CHECK FAIL' "$OUT/console.log") failed"
fi
if grep -q '^GUEST RESULT: PASS' "$OUT/console.log" && ! grep -q '^STEP . FAIL' "$OUT/console.log" \
        && grep -q '^DEVMEM RESULT: PASS' "$OUT/console.log" \
        && grep -q '^STEP m PASS' "$OUT/console.log" \
        && ! grep -q '^DEVMEM RESULT: FAIL' "$OUT/console.log" && [ "$errors_ok" = 1 ] \
        && [ "$dpdk_ok" = 1 ]; then
    echo "vfio_guest: PASS"
    exit 0
fi
if ! grep -q '^GUEST RESULT:' "$OUT/console.log" || ! grep -q '^DEVMEM RESULT:' "$OUT/console.log" \
        || { [ "$DPDK" != 0 ] && ! grep -q '^DPDK RESULT:' "$OUT/console.log"; }; then
    echo "--- last console lines ---"
    tail -n 30 "$OUT/console.log"
fi
echo "vfio_guest: FAIL"
exit 1
