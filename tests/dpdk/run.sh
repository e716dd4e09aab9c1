#!/usr/bin/env bash
# tests/dpdk/run.sh - libxmem_dpdk as real DPDK programs use it, from an
# installed prefix (the dpdk stage of scripts/test.sh):
#   1. install xmem and libxmem_dpdk into a temporary prefix
#      (scripts/install.sh --prefix);
#   2. dpdk-testpmd loads the driver with -d PREFIX/lib/libxmem_dpdk.so and
#      --mbuf-pool-ops-name=xmem, io forwarding between two net_null vdevs
#      for a few seconds: its own output must say that the pool uses the
#      xmem ops, that packets were forwarded (RX and TX > 0), and nothing
#      about errors;
#   3. examples/dpdk_fwd is built with meson from the prefix (pkg-config
#      libdpdk, xmem, xmem_dpdk) and run.
# Prints one line per check, "dpdk: PASS <name>" or "dpdk: FAIL <name>: why",
# and exits non-zero if any failed.
#   XMEM_TESTPMD_SECONDS=5  how long testpmd forwards
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT="$(pwd)"
SECS="${XMEM_TESTPMD_SECONDS:-5}"
# Not under /tmp: EAL refuses to load a plugin (-d) from a directory with a
# world-writable ancestor ("directory path /tmp is world-writable").
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}"
mkdir -p "$CACHE" && chmod go-w "$CACHE"
WORK="$(mktemp -d "$CACHE/xmem-dpdk.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
PREFIX="$WORK/prefix"
failed=0

pass() { echo "dpdk: PASS $1"; }
fail() { echo "dpdk: FAIL $1: $2"; failed=1; }

# ---- 1. the prefix -------------------------------------------------------
if XMEM_SKIP_DEPS=1 bash scripts/install.sh --prefix="$PREFIX" </dev/null >"$WORK/install.log" 2>&1 &&
   [ -e "$PREFIX/lib/libxmem_dpdk.so" ] && [ -e "$PREFIX/lib/pkgconfig/xmem_dpdk.pc" ]; then
    pass "install (scripts/install.sh --prefix)"
else
    tail -20 "$WORK/install.log"
    fail "install (scripts/install.sh --prefix)" "no libxmem_dpdk.so or xmem_dpdk.pc in the prefix"
fi
LIB="$PREFIX/lib"

# ---- 2. dpdk-testpmd with the xmem ops -----------------------------------
if ! command -v dpdk-testpmd >/dev/null 2>&1; then
    fail "testpmd" "dpdk-testpmd not found (Debian package dpdk-dev: scripts/deps.sh)"
elif [ ! -e "$LIB/libxmem_dpdk.so" ]; then
    fail "testpmd" "no $LIB/libxmem_dpdk.so"
else
    log="$WORK/testpmd.log"
    echo "dpdk: dpdk-testpmd -d $LIB/libxmem_dpdk.so --mbuf-pool-ops-name=xmem ... for $SECS s"
    # SIGINT after SECS: testpmd stops forwarding, prints its accumulated
    # statistics, closes the ports and says "Bye...".
    timeout -s INT "$SECS" dpdk-testpmd -d "$LIB/libxmem_dpdk.so" --mbuf-pool-ops-name=xmem \
        --no-huge --no-pci --no-shconf -l 0,1 -m 512 \
        --vdev=net_null0 --vdev=net_null1 --log-level=lib.eal:error -- \
        --forward-mode=io --stats-period=1 --auto-start --total-num-mbufs=8192 \
        </dev/null >"$log" 2>&1
    rc=$?
    tr -d '\033' <"$log" | sed 's/\[2J\[1;1H//g' >"$log.txt"
    grep -E 'mempool ops|mbuf pool|Accumulated' -A3 "$log.txt" | head -12
    if grep -q 'preferred mempool ops selected: xmem' "$log.txt"; then
        pass "testpmd: the mbuf pool uses the xmem ops"
    else
        fail "testpmd: the mbuf pool uses the xmem ops" "no 'preferred mempool ops selected: xmem' (see above)"
    fi
    acc="$(sed -n '/Accumulated forward statistics/,/+++++$/p' "$log.txt")"
    rx="$(sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' <<<"$acc" | head -1)"
    tx="$(sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' <<<"$acc" | head -1)"
    if [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ]; then
        pass "testpmd: forwarded packets (RX $rx, TX $tx in $SECS s)"
    else
        fail "testpmd: forwarded packets" "accumulated RX '${rx:-none}' TX '${tx:-none}'"
    fi
    # Errors: anything testpmd or EAL calls an error or failure, and a
    # non-clean exit (timeout's 124 is the SIGINT we sent).
    errs="$(grep -inE 'error|fail|cannot|panic|abort' "$log.txt" | grep -vE 'errors: 0' | head -5)"
    if [ -n "$errs" ] || [ "$rc" -ne 124 ] || ! grep -q '^Bye' "$log.txt"; then
        fail "testpmd: ran without errors" "exit $rc; ${errs:-no 'Bye...'}"
    else
        pass "testpmd: ran without errors and exited cleanly"
    fi
fi

# ---- 3. examples/dpdk_fwd with meson from the prefix ---------------------
export PKG_CONFIG_PATH="$LIB/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
bld="$WORK/dpdk_fwd"
if meson setup "$bld" examples/dpdk_fwd >"$WORK/meson.log" 2>&1 &&
   ninja -C "$bld" >>"$WORK/meson.log" 2>&1; then
    pass "examples/dpdk_fwd: built with meson from the prefix"
    out="$(LD_LIBRARY_PATH="$LIB" "$bld/dpdk_fwd" --no-huge --no-pci --no-shconf -l 0,1 -m 256 \
           --vdev=net_null0 --vdev=net_null1 --log-level=lib.eal:error -- 2 </dev/null 2>&1)"
    rc=$?
    grep '^dpdk_fwd' <<<"$out"
    if [ "$rc" -eq 0 ] && grep -q 'ops xmem' <<<"$out"; then
        pass "examples/dpdk_fwd: forwarded over an xmem mbuf pool"
    else
        echo "$out" | tail -5
        fail "examples/dpdk_fwd: run" "exit $rc"
    fi
else
    tail -20 "$WORK/meson.log"
    fail "examples/dpdk_fwd: built with meson from the prefix" "meson/ninja failed"
fi
exit "$failed"
