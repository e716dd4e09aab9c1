#!/usr/bin/env bash
# The project's main job: build and run the benchmark suite (bench/), which
# measures xmem against rte_malloc on a DPDK external heap, rte_mempool
# (ring and stack ops), glibc, jemalloc and mimalloc in one process, then
# prints the side-by-side table with tail-latency percentiles and writes the
# raw JSON, the plots and the key ratios.
#
# First it installs xmem into bench-results/plain/prefix with
# scripts/install.sh, builds the plain loop, bench/plain/plain_burst.c, with
# plain `cc -O2 $(pkg-config --cflags --libs xmem libdpdk)` (no extra
# defines; bench/plain/align_scan.c too, which it does not run), runs it,
# and hands its figures to the benchmark (--plain=FILE) so they land in the
# same table and JSON.
#
#   ./scripts/bench.sh               full run (a few minutes on 2 cores)
#   ./scripts/bench.sh --quick       smoke run (seconds)
#   ./scripts/bench.sh --threads=8   scale the burst and pipeline up to 8 threads
#   ./scripts/bench.sh --no-plain    skip the plain loop
#   ./scripts/bench.sh --help        every option
#
# Other options go to the benchmark binary (bench/main.c); --benchmark_*
# options go on to Google Benchmark.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ -x scripts/deps.sh ]; then
    ./scripts/deps.sh
fi

out="$PWD/bench-results"
plain=1
quick=""
args=()
for a in "$@"; do
    case "$a" in
    --out=*) out="${a#--out=}" ;;
    --help | -h) out=""; plain=0 ;;
    --no-plain) plain=0; continue ;;
    --quick) quick="--quick" ;;
    esac
    args+=("$a")
done

nice_cmd=()
if [ -n "${XMEM_BENCH_NICE:-}" ]; then
    nice_cmd=(nice -n "$XMEM_BENCH_NICE")
fi

if [ "$plain" = 1 ] && [ -n "$out" ]; then
    # Installed as a user would (scripts/install.sh), into a prefix of its own,
    # and built with plain cc from pkg-config's flags alone.
    prefix="$out/plain/prefix"
    mkdir -p "$out/plain"
    XMEM_SKIP_DEPS=1 "${nice_cmd[@]}" ./scripts/install.sh --prefix="$prefix" >"$out/plain/install.log" 2>&1 ||
        { cat "$out/plain/install.log" >&2; echo "bench.sh: scripts/install.sh failed" >&2; exit 1; }
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    # shellcheck disable=SC2046
    "${nice_cmd[@]}" cc -O2 -Wall $(pkg-config --cflags xmem libdpdk) \
        bench/plain/plain_burst.c -o "$out/plain/plain_burst" \
        $(pkg-config --libs xmem libdpdk) -Wl,-rpath,"$prefix/lib"
    # The same loop with bursts of 64 and the array-offset scan
    # (docs/benchmarks.md), built the same way, not run.
    # shellcheck disable=SC2046
    "${nice_cmd[@]}" cc -O2 -Wall -DBURST=64 $(pkg-config --cflags xmem libdpdk) \
        bench/plain/plain_burst.c -o "$out/plain/plain_burst64" \
        $(pkg-config --libs xmem libdpdk) -Wl,-rpath,"$prefix/lib"
    # shellcheck disable=SC2046
    "${nice_cmd[@]}" cc -O2 -Wall $(pkg-config --cflags xmem) bench/plain/align_scan.c \
        -o "$out/plain/align_scan" $(pkg-config --libs xmem) -Wl,-rpath,"$prefix/lib"
    # The loop by burst size (1 to 64), run below; its lines join plain.txt.
    # shellcheck disable=SC2046
    "${nice_cmd[@]}" cc -O2 -Wall $(pkg-config --cflags xmem libdpdk) \
        bench/plain/burst_sizes.c -o "$out/plain/burst_sizes" \
        $(pkg-config --libs xmem libdpdk) -Wl,-rpath,"$prefix/lib"
    echo "plain loop: $out/plain/plain_burst $quick (cc -O2 \$(pkg-config --cflags --libs xmem libdpdk))"
    if "$out/plain/plain_burst" $quick --out="$out/plain.txt"; then
        echo "plain loop by burst size: $out/plain/burst_sizes $quick"
        if "$out/plain/burst_sizes" $quick --out="$out/plain/sizes.txt"; then
            cat "$out/plain/sizes.txt" >>"$out/plain.txt"
        else
            echo "plain loop by burst size FAILED; the table will say so" >&2
        fi
        args+=("--plain=$out/plain.txt")
    else
        echo "plain loop FAILED; the table will say so" >&2
        args+=("--plain=$out/plain.txt.missing")
    fi
fi

rc=0
"${nice_cmd[@]}" bazel run -c opt //bench:bench -- "${args[@]}" || rc=$?

if [ -n "$out" ] && [ -f "$out/table.md" ]; then
    echo
    echo "table:  $out/table.md"
    echo "JSON:   $out/results.json"
    echo "plot:   $out/results.svg"
    echo "ratios: $out/ratios.txt"
fi
exit "$rc"
