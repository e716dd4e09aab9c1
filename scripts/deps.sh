#!/usr/bin/env bash
# Install every Debian package xmem needs (build, test, sanitizers, benchmarks).
# Idempotent: installs only what is missing; silent when nothing is missing.
# Needs root (or sudo) and Debian 12's apt archive.
set -euo pipefail

PACKAGES=(
    bazel-bootstrap       # Bazel 4.2.3 (offline; see WORKSPACE)
    bazel-platforms       # @platforms for Bazel
    build-essential       # gcc 12, make, libc headers
    pkg-config
    liburcu-dev           # RCU for control-plane reads
    libck-dev             # Concurrency Kit
    libnuma-dev
    numactl
    libbenchmark-dev      # Google Benchmark
    libdpdk-dev           # the peer: rte_malloc / rte_mempool
    dpdk-dev              # dpdk-testpmd: the dpdk stage and bench/testpmd.sh
    meson                 # examples/dpdk_fwd is built with meson
    ninja-build
    libjemalloc-dev
    libmimalloc-dev
    clang
    libclang-rt-14-dev    # clang's sanitizer runtimes
    valgrind
    python3
)

missing=()
for p in "${PACKAGES[@]}"; do
    # "install ok installed" is the only state that counts as present.
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps.sh: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
log="$(mktemp -t xmem-deps.XXXXXX)"
trap 'rm -f "$log"' EXIT
if ! $SUDO apt-get update -q >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get update failed" >&2
    exit 1
fi
# `< /dev/null`: CI has no stdin; nothing may prompt.
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get install failed" >&2
    exit 1
fi
echo "deps.sh: done"
