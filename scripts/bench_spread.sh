#!/usr/bin/env bash
# The spread of the key ratios over several runs: runs the plain loop and the
# benchmark's burst, pipeline and translation workloads N times (default 5),
# each run writing its own ratios.txt, then prints min / median / max of
# every ratio and the load average of each run.
#
#   ./scripts/bench_spread.sh            5 runs (a few minutes on 2 cores)
#   ./scripts/bench_spread.sh 7          7 runs
#   ./scripts/bench_spread.sh 5 --quick  smoke (seconds per run)
#
# Results: bench-results/spread/run<i>/ (each run's table, JSON, plot,
# ratios.txt) and bench-results/spread/spread.md (the summary printed here).
set -euo pipefail

cd "$(dirname "$0")/.."

n="${1:-5}"
shift || true
case "$n" in
'' | *[!0-9]*) echo "usage: $0 [N] [bench options]" >&2; exit 2 ;;
esac
[ "$n" -ge 1 ] || { echo "N must be at least 1" >&2; exit 2; }

base="$PWD/bench-results/spread"
rm -rf "$base"
mkdir -p "$base"
for i in $(seq 1 "$n"); do
    echo "== run $i of $n (load average $(cut -d' ' -f1 /proc/loadavg))"
    ./scripts/bench.sh --only=burst,pipeline,translate --min-time=0.3 \
        --out="$base/run$i" "$@" >"$base/run$i.log" 2>&1 ||
        { echo "run $i failed: see $base/run$i.log" >&2; exit 1; }
done

# key -> every run's value; median of the sorted list.
cat "$base"/run*/ratios.txt | awk -v n="$n" '
{ v[$1] = v[$1] " " $2; c[$1]++ }
END {
    printf "| figure | min | median | max | runs |\n|---|---:|---:|---:|---:|\n"
    for (k in v) {
        m = split(substr(v[k], 2), a, " ")
        for (i = 1; i <= m; i++)
            for (j = i + 1; j <= m; j++)
                if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        printf "| %s | %.3f | %.3f | %.3f | %d |\n", k, a[1], med, a[m], m
    }
}' | sort >"$base/spread.body"
{
    echo "Spread over $n runs of: ./scripts/bench.sh --only=burst,pipeline,translate --min-time=0.3 $*"
    echo "(ratios as in ratios.txt: *_per_mempool = xmem cost / rte_mempool cost for ns figures,"
    echo "xmem / rte_mempool for throughput; *_memseg_per_xmem = how many times faster xmem translates)"
    echo
    grep '^| figure' "$base/spread.body"
    grep '^|---' "$base/spread.body"
    grep -v '^| figure\|^|---' "$base/spread.body"
} >"$base/spread.md"
rm -f "$base/spread.body"
cat "$base/spread.md"
echo
echo "summary: $base/spread.md"
