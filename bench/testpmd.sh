#!/usr/bin/env bash
# bench/testpmd.sh - dpdk-testpmd's forwarding rate with the mbuf pool's
# common pool behind DPDK's per-lcore caches provided by the "xmem" ops
# (libxmem_dpdk.so, loaded with -d) against DPDK's ring_mp_mc and stack,
# in one run: the ops interleaved, REPS repetitions each, median reported.
#
#   ./bench/testpmd.sh     [XMEM_TP_REPS=3 XMEM_TP_SECONDS=5
#                           XMEM_TP_SCENARIOS="plain preempted plain-nocache preempted-nocache"]
#
# Scenarios, io forwarding between two net_null vdevs
# (--no-huge --no-pci --no-shconf, 8192 mbufs):
#   plain      one forwarding lcore on its own CPU (-l 0,1);
#   preempted  two forwarding lcores time-sharing one CPU
#              (--lcores '0@0,(1,2)@1' --nb-cores=2): the kernel preempts a
#              forwarding thread wherever it is, inside a pool operation too;
#   *-nocache  the same with testpmd's --mbcache=0: no per-lcore mempool
#              cache, so every burst's alloc and free goes to the ops (with
#              the default cache of 250, most never reach them).
# The rate is testpmd's own Rx-pps summed over both ports, per 1 s stats
# period (the first period dropped); a run's figure is the median period,
# a cell the median run.  Prints a Markdown table and the load average.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
BAZEL="${BAZEL:-bazel}"
REPS="${XMEM_TP_REPS:-3}"
SECS="${XMEM_TP_SECONDS:-5}"
# shellcheck disable=SC2206
SCENARIOS=(${XMEM_TP_SCENARIOS:-plain preempted plain-nocache preempted-nocache})
OPS=(xmem ring_mp_mc stack)

command -v dpdk-testpmd >/dev/null || { echo "testpmd.sh: no dpdk-testpmd (Debian dpdk-dev)" >&2; exit 1; }

# The driver and libxmem side by side (its RUNPATH is $ORIGIN), not under a
# world-writable directory (EAL refuses plugins there).
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}"
mkdir -p "$CACHE" && chmod go-w "$CACHE"
WORK="$(mktemp -d "$CACHE/xmem-testpmd.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
"$BAZEL" build --curses=no --color=no -c opt //:libxmem.so //dpdk:libxmem_dpdk.so >"$WORK/build.log" 2>&1 ||
    { tail -20 "$WORK/build.log"; exit 1; }
BIN="$("$BAZEL" info -c opt bazel-bin 2>/dev/null)"
soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }
cp "$BIN/libxmem.so" "$WORK/$(soname "$BIN/libxmem.so" | grep . || echo libxmem.so)"
cp "$BIN/dpdk/libxmem_dpdk.so" "$WORK/libxmem_dpdk.so"

# run OPS SCENARIO -> prints the median Mpps of one run
run() {
    local ops="$1" sc="$2" log="$WORK/run.log" eal fwd=()
    case "$sc" in
        plain*) eal=(-l 0,1) ;;
        *) eal=(--lcores '0@0,(1,2)@1'); fwd=(--nb-cores=2) ;;
    esac
    case "$sc" in *-nocache) fwd+=(--mbcache=0) ;; esac
    timeout -s INT "$((SECS + 2))" dpdk-testpmd -d "$WORK/libxmem_dpdk.so" \
        --mbuf-pool-ops-name="$ops" --no-huge --no-pci --no-shconf "${eal[@]}" -m 512 \
        --vdev=net_null0 --vdev=net_null1 --log-level=lib.eal:error -- \
        --forward-mode=io --stats-period=1 --auto-start --total-num-mbufs=8192 \
        "${fwd[@]}" </dev/null >"$log" 2>&1
    if ! grep -q "preferred mempool ops selected: $ops" "$log"; then
        echo "testpmd.sh: $ops/$sc: testpmd did not use the $ops ops" >&2
        echo nan
        return
    fi
    # Rx-pps lines come in pairs (port 0, port 1) per period.
    grep -o 'Rx-pps: *[0-9]*' "$log" | awk '{print $2}' |
        awk 'NR % 2 == 1 {a = $1; next} {print (a + $1) / 1e6}' |
        tail -n +2 | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "nan"}'
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR) printf "%.3g", v[int((NR + 1) / 2)]; else print "nan"}'; }
# a / b, or "-" when b is 0 or not a number
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.3gx", a / b; else print "-"}'; }

declare -A R
for sc in "${SCENARIOS[@]}"; do
    for ((i = 1; i <= REPS; i++)); do
        for ops in "${OPS[@]}"; do
            m="$(run "$ops" "$sc")"
            R[$sc,$ops]+="$m "
            echo "testpmd.sh: $sc rep $i $ops: $m Mpps" >&2
        done
    done
done

echo
echo "| scenario | xmem (Mpps) | ring_mp_mc (Mpps) | stack (Mpps) | xmem / ring_mp_mc | xmem / stack |"
echo "|---|---|---|---|---|---|"
for sc in "${SCENARIOS[@]}"; do
    x="$(tr ' ' '\n' <<<"${R[$sc,xmem]}" | grep . | median)"
    r="$(tr ' ' '\n' <<<"${R[$sc,ring_mp_mc]}" | grep . | median)"
    s="$(tr ' ' '\n' <<<"${R[$sc,stack]}" | grep . | median)"
    echo "| $sc | $x | $r | $s | $(ratio "$x" "$r") | $(ratio "$x" "$s") |"
done
echo
echo "runs per cell: $REPS x ${SECS} s (medians); raw Mpps per run:"
for sc in "${SCENARIOS[@]}"; do
    for ops in "${OPS[@]}"; do echo "  $sc $ops: ${R[$sc,$ops]}"; done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
