#!/usr/bin/env bash
# tests/numa_guest/run.sh: NUMA placement proven in a two-node QEMU guest.
#
# Owns: building the static guest binaries (tests/numa_guest/numa_guest.c and the experiment
# tool bench/numa, each with all of libxmem), the QEMU topology (two NUMA nodes of 512 MiB
# with one CPU each, 16 hugepages of 2 MiB reserved on each node, an edu device on node 1
# behind a pxb-pcie bridge with numa_node=1), and judging the console.  The image comes from
# tests/vfio_guest/build_image.sh (the Debian kernel and its VFIO modules, busybox, init.sh).
#
# Usage: tests/numa_guest/run.sh      (needs root for apt, like tests/vfio_guest/run.sh)
# Output: one line per guest check, "numa_guest: check PASS|FAIL|MISSING <name>: <detail>",
#   which scripts/test.sh counts (stage numa_guest); then "numa_guest: PASS" or FAIL.
# Exit: 0 when every check passed, or when QEMU or the kernel cannot be installed ("SKIPPED:
#   <reason>"); 1 otherwise.
# Environment: XMEM_GUEST_CACHE, XMEM_GUEST_OUT (as for tests/vfio_guest/run.sh);
#   XMEM_GUEST_TIMEOUT (default 150): seconds for QEMU.
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TIMEOUT=${XMEM_GUEST_TIMEOUT:-150}
# shellcheck source=tests/vfio_guest/guest_run_lib.sh
. "$ROOT/tests/vfio_guest/guest_run_lib.sh"
guest_out_dir xmem-numa-guest
# Every check the guest must print (numa_guest.c's header lists them).
CHECKS="topology heap_node0_4K heap_node0_2M heap_node1_4K heap_node1_2M alloc_node0 alloc_node1
        local_follows edu_node locality_warning locality_quiet locality_strict numa_exp"

t0=$(date +%s)
echo "numa_guest: building the static guest binaries (all of libxmem, static)"
LIBSRCS=$(ls "$ROOT"/alloc/*.c "$ROOT"/iommu/*.c | grep -v '_test\.c$')
CFLAGS="-static -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -I$ROOT/include -I$ROOT"
LIBS="-lurcu-memb -lurcu-common -lck -lnuma -lpthread"
mkdir -p "$OUT/bin"
# shellcheck disable=SC2086
if ! gcc $CFLAGS "$HERE/numa_guest.c" $LIBSRCS $LIBS -o "$OUT/guest_test" 2> "$OUT/build.log" ||
   ! gcc $CFLAGS "$ROOT"/bench/numa/numa_exp.c "$ROOT"/bench/numa/numa_report.c $LIBSRCS $LIBS \
        -o "$OUT/bin/numa_exp" 2>> "$OUT/build.log"; then
    cat "$OUT/build.log"
    echo "numa_guest: FAIL: the guest binaries do not build"
    exit 1
fi
grep -E 'error|warning' "$OUT/build.log" | head -n 20

echo "numa_guest: building the guest image (tests/vfio_guest/build_image.sh)"
XMEM_GUEST_EXTRA_BINS="$OUT/bin/numa_exp" guest_image numa_guest "$OUT/guest_test"

echo "numa_guest: booting the 2-node guest (TCG, -smp 2, timeout ${TIMEOUT}s)"
t1=$(date +%s)
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 2 \
    -M q35,kernel-irqchip=split \
    -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
    -numa node,memdev=m0,cpus=0,nodeid=0 -numa node,memdev=m1,cpus=1,nodeid=1 \
    -device intel-iommu,intremap=on,caching-mode=on \
    -device pxb-pcie,id=pxb1,bus_nr=64,numa_node=1,bus=pcie.0 \
    -device pcie-root-port,id=rp1,bus=pxb1,chassis=1 \
    -device edu,bus=rp1,dma_mask=0xffffffffffffffff \
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.gz" \
    -append "console=ttyS0 intel_iommu=on quiet xmem_hp_node=16" \
    -nographic -no-reboot < /dev/null > "$OUT/console.raw" 2>&1
qrc=$?
t2=$(date +%s)
guest_console
grep -E '^(INIT:|NUMA|  numa_exp\|)' "$OUT/console.log"

n_ok=0; n_all=0
for c in $CHECKS; do
    n_all=$((n_all + 1))
    line=$(grep -m1 -E "^NUMA CHECK (PASS|FAIL) $c:" "$OUT/console.log")
    case "$line" in
        "NUMA CHECK PASS "*) echo "numa_guest: check PASS ${line#NUMA CHECK PASS }"; n_ok=$((n_ok + 1)) ;;
        "NUMA CHECK FAIL "*) echo "numa_guest: check FAIL ${line#NUMA CHECK FAIL }" ;;
        *) echo "numa_guest: check MISSING $c: the guest printed no line for it" ;;
    esac
done
echo "numa_guest: $n_ok of $n_all checks passed; qemu exit $qrc, boot+test $((t2 - t1)) s, total $((t2 - t0)) s"
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
    echo "numa_guest: FAIL: the guest did not power off within ${TIMEOUT}s"
    tail -n 30 "$OUT/console.log"
    exit 1
fi
if [ "$n_ok" -eq "$n_all" ] && grep -q '^NUMA RESULT: PASS' "$OUT/console.log"; then
    echo "numa_guest: PASS"
    exit 0
fi
grep -q '^NUMA RESULT:' "$OUT/console.log" || tail -n 30 "$OUT/console.log"
echo "numa_guest: FAIL"
exit 1
