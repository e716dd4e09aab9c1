#!/usr/bin/env bash
# tests/fuzz/run.sh - builds the libFuzzer target (bazel --config=fuzz, clang)
# and runs it, bounded, from a copy of the seed corpus.  Prints libFuzzer's
# figures (executions, cov, ft, corpus) and ends with one line:
#   FUZZ: PASS ...   (exit 0)   or   FUZZ: FAIL ...   (exit 1; 2: no build)
#
#   tests/fuzz/run.sh              a bounded run (CI)
#   tests/fuzz/run.sh --selftest   plant a double free (XMEM_FUZZ_BUG) and
#                                  check that the run catches it
#
#   XMEM_FUZZ_RUNS=200000  XMEM_FUZZ_TIME=90   bounds (whichever comes first)
#   XMEM_FUZZ_ARTIFACTS=dir   where a crashing input is kept
#                             (default /tmp/xmem-fuzz-artifacts)
#   XMEM_FUZZ_KEEP_CORPUS=dir copy the grown corpus there afterwards
#   XMEM_FUZZ_V2=0            without the second release's ops (bad frees in
#                             every mode, double frees, stats/trim, failing
#                             DMA unmaps), which are on by default; the
#                             selftest always runs without them (its planted
#                             double free is what V2 tolerates until a trim)
#
# A crash (model violation, ASan, UBSan, timeout, OOM) fails the run; the
# input is kept and the command that replays it printed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT="$(pwd)"
BAZEL="${BAZEL:-bazel}"

mode=run
case "${1:-}" in
    --selftest) mode=selftest ;;
    "") ;;
    *) echo "usage: $0 [--selftest]"; exit 2 ;;
esac
RUNS="${XMEM_FUZZ_RUNS:-200000}"
TIME="${XMEM_FUZZ_TIME:-90}"
ART="${XMEM_FUZZ_ARTIFACTS:-/tmp/xmem-fuzz-artifacts}"

say() { printf 'fuzz: %s\n' "$*"; }

if ! command -v clang-14 >/dev/null 2>&1; then
    echo "FUZZ: FAIL clang-14 not found (Debian package clang-14, libclang-rt-14-dev)"
    exit 2
fi
work="$(mktemp -d -t xmem-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
say "building: $BAZEL build --config=fuzz //tests/fuzz:api_fuzz"
"$BAZEL" build --config=fuzz //tests/fuzz:api_fuzz >"$work/build.log" 2>&1
brc=$?
# The gold linker prints one harmless warning per ASan register helper.
grep -v "Cannot export local symbol '__asan_check_" "$work/build.log" | tail -15
if [ "$brc" -ne 0 ]; then
    echo "FUZZ: FAIL the fuzz target did not build (bazel exited $brc)"
    exit 2
fi
BIN="$("$BAZEL" info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/api_fuzz"
[ -x "$BIN" ] || { echo "FUZZ: FAIL no binary at $BIN"; exit 2; }

mkdir -p "$work/corpus" "$work/art" "$ART"
cp "$ROOT"/tests/fuzz/corpus/* "$work/corpus/"
seeds="$(ls "$work/corpus" | wc -l)"

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
args=(-max_len=480 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/art/")
log="$work/fuzz.log"

if [ "$mode" = selftest ]; then
    # 1. The seed that frees a block and allocates twice more: with the
    #    planted double free, the model must see one block handed out twice.
    say "selftest 1: XMEM_FUZZ_BUG=double_free $BIN corpus/seed-double_free_probe"
    (cd "$work" && XMEM_FUZZ_V2=0 XMEM_FUZZ_BUG=double_free "$BIN" "${args[@]}" corpus/seed-double_free_probe) \
        >"$log" 2>&1
    rc1=$?
    grep -E "VIOLATION" "$log" | sed 's/^/  /' | head -3
    ok1=0
    [ "$rc1" -ne 0 ] && grep -q "VIOLATION.*model OVERLAP" "$log" && ok1=1
    # 2. A fuzz run from the whole corpus must stop on the bug too.
    say "selftest 2: XMEM_FUZZ_BUG=double_free $BIN -runs=50000 corpus ($seeds seeds)"
    (cd "$work" && XMEM_FUZZ_V2=0 XMEM_FUZZ_BUG=double_free "$BIN" "${args[@]}" -runs=50000 \
        -max_total_time=60 corpus) >"$log" 2>&1
    rc2=$?
    grep -E "VIOLATION|Test unit written" "$log" | sed 's/^/  /' | head -3
    ok2=0
    [ "$rc2" -ne 0 ] && grep -q "VIOLATION" "$log" && ok2=1
    if [ "$ok1" = 1 ] && [ "$ok2" = 1 ]; then
        echo "FUZZ: PASS selftest: the planted double free was caught (seed: OVERLAP, exit $rc1; fuzz run: exit $rc2)"
        exit 0
    fi
    tail -20 "$log"
    echo "FUZZ: FAIL selftest: the planted double free was NOT caught (seed: exit $rc1, fuzz run: exit $rc2)"
    exit 1
fi

[ "${XMEM_FUZZ_V2:-1}" = 1 ] && say "the V2 ops are on (XMEM_FUZZ_V2=0 turns them off)"
say "running: $BIN -runs=$RUNS -max_total_time=$TIME ${args[*]} corpus ($seeds seeds)"
(cd "$work" && "$BIN" "${args[@]}" -runs="$RUNS" -max_total_time="$TIME" corpus) >"$log" 2>&1
rc=$?
grep -E "INITED" "$log" | sed 's/^/  /' | head -1
grep -E "DONE|pulse" "$log" | sed 's/^/  /' | tail -4
grep -E "^stat::" "$log" | sed 's/^/  /'
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
last="$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)"
cov="$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")"
ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
corp="$(ls "$work/corpus" | wc -l)"
if [ -n "${XMEM_FUZZ_KEEP_CORPUS:-}" ]; then
    mkdir -p "$XMEM_FUZZ_KEEP_CORPUS" && cp "$work/corpus/"* "$XMEM_FUZZ_KEEP_CORPUS/"
fi
if [ "$rc" -ne 0 ]; then
    grep -E "VIOLATION|ERROR|SUMMARY|runtime error|Test unit written" "$log" | sed 's/^/  /' | head -12
    for f in "$work"/art/*; do
        [ -e "$f" ] || continue
        cp "$f" "$ART/"
        say "kept $ART/$(basename "$f"); replay: \$(bazel info bazel-bin)/tests/fuzz/api_fuzz_replay $ART/$(basename "$f")"
        say "  (XMEM_FUZZ_TRACE=1 prints each decoded op)"
    done
    echo "FUZZ: FAIL libFuzzer exited $rc after ${execs:-?} executions (cov ${cov:-?}, ft ${ft:-?})"
    exit 1
fi
echo "FUZZ: PASS ${execs:-?} executions (${eps:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus $seeds -> $corp files"
exit 0
