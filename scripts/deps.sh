#!/usr/bin/env bash
# Install the Debian packages xmem needs. Idempotent: installs only what is
# missing; silent when nothing is missing. Needs root (or sudo) and Debian
# 12's apt archive.
#   scripts/deps.sh          everything (build, test, sanitizers, benchmarks,
#                            examples, API docs)
#   scripts/deps.sh lib      only what building and installing the library
#                            needs (scripts/install.sh)
#   scripts/deps.sh dpdk     only what the DPDK integration library needs
#   scripts/deps.sh docs     only doxygen (scripts/apidoc.sh)
set -euo pipefail

# What the library itself needs to build (the README's "Install" names them).
LIB_PACKAGES=(
    bazel-bootstrap       # Bazel 4.2.3 (offline; see WORKSPACE)
    bazel-platforms       # @platforms for Bazel
    build-essential       # gcc 12, make, libc headers
    pkg-config
    liburcu-dev           # RCU for control-plane reads
    libck-dev             # Concurrency Kit
    libnuma-dev
)

DPDK_PACKAGES=(
    libdpdk-dev           # the peer: rte_malloc / rte_mempool; dpdk/
)

# Tests, benchmarks, examples and docs.
OTHER_PACKAGES=(
    numactl
    libbenchmark-dev      # Google Benchmark
    dpdk-dev              # dpdk-testpmd: the dpdk stage and bench/testpmd.sh
    libjemalloc-dev
    libmimalloc-dev
    clang
    libclang-rt-14-dev    # clang's sanitizer runtimes
    valgrind
    python3
    meson                 # examples/ built from an installed prefix
    ninja-build
    doxygen               # scripts/apidoc.sh, and the install stage's check
    libbsd-dev            # libbsd.a, libmd.a: DPDK's static EAL in tests/vfio_guest's DPDK test
    libmd-dev
)

PACKAGES=()
if [ "$#" -eq 0 ]; then
    PACKAGES=("${LIB_PACKAGES[@]}" "${DPDK_PACKAGES[@]}" "${OTHER_PACKAGES[@]}")
fi
for group in "$@"; do
    case "$group" in
        lib)  PACKAGES+=("${LIB_PACKAGES[@]}") ;;
        dpdk) PACKAGES+=("${DPDK_PACKAGES[@]}") ;;
        docs) PACKAGES+=(doxygen) ;;
        *) echo "deps.sh: unknown group $group (lib, dpdk, docs; none: everything)" >&2; exit 2 ;;
    esac
done

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
