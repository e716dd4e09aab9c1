#!/usr/bin/env bash
# scripts/numa_exp.sh: the NUMA placement experiment (bench/numa, docs/numa.md).
#
#   ./scripts/numa_exp.sh [--nodes=0,1] [--size=2048] [--seconds=0.5] [--burst=32]
#                         [--page-size=auto|4096|2M|1G] [--heap-mb=16]
#
# Builds //bench/numa:numa_exp and runs it; the table goes to stdout, progress to stderr,
# and numa_exp.json and numa_exp.svg (the heat map) to numa-results/ (or $XMEM_NUMA_OUT).
# Reserve hugepages per node first for 2 MiB pages, e.g. as root:
#   for f in /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do
#       echo 64 > "$f"; done
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${XMEM_NUMA_OUT:-numa-results}
mkdir -p "$OUT"
nice -n 10 "${BAZEL:-bazel}" build //bench/numa:numa_exp >&2
exec ./bazel-bin/bench/numa/numa_exp --json="$OUT/numa_exp.json" --svg="$OUT/numa_exp.svg" "$@"
