#!/usr/bin/env bash
# The project's main job: build and run the benchmark suite (bench/), which
# measures xmem against rte_malloc on a DPDK external heap, rte_mempool,
# glibc, jemalloc and mimalloc in one process, then prints the side-by-side
# table and writes the raw JSON and the plot.
#
#   ./scripts/bench.sh               full run (about a minute on 2 cores)
#   ./scripts/bench.sh --quick       smoke run (seconds)
#   ./scripts/bench.sh --threads=8   scale workloads 1 and 3 up to 8 threads
#   ./scripts/bench.sh --help        every option
#
# Options go to the benchmark binary (bench/main.c); --benchmark_* options go
# on to Google Benchmark.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ -x scripts/deps.sh ]; then
    ./scripts/deps.sh
fi

out="$PWD/bench-results"
for a in "$@"; do
    case "$a" in
    --out=*) out="${a#--out=}" ;;
    --help | -h) out="" ;;
    esac
done

rc=0
bazel run -c opt //bench:bench -- "$@" || rc=$?

if [ -n "$out" ] && [ -f "$out/table.md" ]; then
    echo
    echo "table: $out/table.md"
    echo "JSON:  $out/results.json"
    echo "plot:  $out/results.svg"
fi
exit "$rc"
