#!/usr/bin/env bash
# xmem: the project's one test command.
#
#   ./scripts/test.sh            install deps, then run every stage
#   XMEM_STAGES="normal asan" ./scripts/test.sh    run only some stages
#   XMEM_SKIP_DEPS=1 ./scripts/test.sh             don't run scripts/deps.sh
#   XMEM_BAZEL_ARGS="--test_output=all" ./scripts/test.sh   extra `bazel test` flags
#   XMEM_TARGETS=//tests/...  XMEM_ASAN_TARGETS=//tests:foo   narrow the target patterns
#
# Stages (each is one function, stage_<name>, below):
#   normal  bazel test //...                              (builds everything, runs all tests)
#   install tests/install/run.sh: scripts/install.sh into a temporary prefix;
#           exported symbols, soname, dependencies, pkg-config; a program
#           built against the shared and the static library; examples/ built
#           with make and meson from the prefix and run; Doxygen finds every
#           public function documented; uninstall empties the prefix (each
#           check counted)
#   asan    bazel test --config=asan //tests/...          (ASan + UBSan)
#   tsan    bazel test --config=tsan, tests tagged "concurrency" (skipped if none)
#   stress  tests/stress against the reference model (tests/model), under ASan
#           and under TSan (XMEM_STRESS_SEED / _SECONDS / _THREADS / _V2 pass
#           through); then its multi-process mode (3 members, 10 s, kills), plain
#           and under ASan
#   fuzz    tests/fuzz/run.sh: the libFuzzer target (clang, ASan + UBSan) from
#           the corpus, bounded (200000 runs or 90 s), then --selftest (a
#           planted double free must be caught); XMEM_FUZZ_V2=0 passes
#           through (turns off the second release's ops, on by default)
#   stall   tests/stall (one thread frozen mid-call, the others must progress),
#           plain and under ASan, and with XMEM_CHECKED=1 (plain); tagged
#           manual, so only this stage runs them
#   valgrind  bazel test --config=valgrind, tests tagged "valgrind" (manual):
#           memcheck sees xmem blocks (leaks, use after free, overruns)
#   dpdk    tests/dpdk/run.sh: from an installed prefix (scripts/install.sh),
#           dpdk-testpmd loads libxmem_dpdk.so with -d and forwards with the
#           "xmem" mempool ops (checked in its own output), and
#           examples/dpdk_fwd is built with meson and run; one result per
#           check (the in-process DPDK tests, //tests/dpdk, run in normal)
#   guest   tests/vfio_guest/run.sh: real VFIO DMA in a QEMU guest (apt installs
#           QEMU, busybox-static and a Debian kernel; about 30 s once cached), and
#           the VFIO rows of docs/errors.md run there (each row counted), and
#           libxmem_dpdk's DMA subscribers through DPDK's VFIO container (each
#           CHECK line of dpdk_guest_test counted)
#   numa_guest  tests/numa_guest/run.sh: NUMA placement in a two-node QEMU guest
#           (per-node heaps, every page verified, xmem_alloc_node, XMEM_NUMA_LOCAL
#           following a moved thread, the edu device on node 1 and the locality
#           warning, the experiment tool); each check counted (about 50 s)
#   iommufd_guest  scripts/guest_kernel.sh builds (once; cached under
#           /var/cache/xmem/guest-kernel; 466 s on 2 idle cores, 35 min seen
#           on a busy machine) a 6.12 kernel with iommufd and VFIO cdevs; the
#           guest test runs again on it with XMEM_VFIO_BACKEND=iommufd, each
#           STEP line counted as one result (dpdk_guest_test left out: DPDK
#           22.11 uses the legacy container/group API, proved in stage guest)
#
# Every test target is counted once per stage that ran it ("//tests:foo (asan)").
# A target that passes but whose test.log has a line starting with "SKIPPED:"
# counts as skipped. A build failure counts as failed. The last two lines are
#   K skipped (each SKIP line above says why)      (only when K > 0)
#   N passed, M failed
# and the exit code is 0 only if M == 0 and at least one test ran.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT="$(pwd)"

BAZEL="${BAZEL:-bazel}"
STAGES="${XMEM_STAGES:-normal install dpdk asan tsan stress fuzz stall valgrind guest numa_guest iommufd_guest}"
# shellcheck disable=SC2206
EXTRA_ARGS=(${XMEM_BAZEL_ARGS:-})
COMMON_ARGS=(--keep_going)
if [ -n "${CI:-}" ] || [ ! -t 1 ]; then
    COMMON_ARGS+=(--curses=no --color=no --show_progress_rate_limit=30)
fi

WORK="$(mktemp -d -t xmem-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# Results: one line per (target, stage) in $WORK/results:
#   STATUS<TAB>NAME<TAB>NOTE      STATUS in PASS FAIL SKIP (counted), NOTE (not)
RESULTS="$WORK/results"
: >"$RESULTS"

say() { printf '==> %s\n' "$*"; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$RESULTS"; }

# List test targets matching a query expression (keep_going: a broken package
# elsewhere must not hide the rest). Prints labels, one a line.
query_tests() {
    "$BAZEL" query --keep_going --noshow_progress "$1" 2>/dev/null | grep '^//' || true
}

# run_bazel_test STAGE_NAME SUFFIX CONFIG_ARGS... -- TARGETS...
# Runs `bazel test`, parses the per-target summary, records results.
run_bazel_test() {
    local stage="$1" suffix="$2"
    shift 2
    local cfg=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do cfg+=("$1"); shift; done
    shift # --
    local targets=("$@")
    local log="$WORK/$stage.log"

    say "stage $stage: $BAZEL test ${cfg[*]:+${cfg[*]} }${targets[*]}"
    "$BAZEL" test "${COMMON_ARGS[@]}" "${cfg[@]}" "${EXTRA_ARGS[@]}" -- "${targets[@]}" 2>&1 | tee "$log"
    local rc="${PIPESTATUS[0]}"
    say "stage $stage: bazel exited $rc"

    # Where this config's test.log files are (bazel-testlogs/ follows the
    # last invocation, which may be someone else's). Only --config flags:
    # `bazel info` does not take test-only flags.
    local testlogs a info_args=()
    for a in "${cfg[@]}"; do
        case "$a" in --config=*) info_args+=("$a") ;; esac
    done
    testlogs="$("$BAZEL" info "${info_args[@]}" bazel-testlogs 2>/dev/null)" || testlogs="$ROOT/bazel-testlogs"

    # Summary lines look like
    #   //pkg:name        (cached) PASSED in 0.1s
    #   //pkg:name                 FAILED TO BUILD
    #   //pkg:name                 FLAKY, failed in 1 out of 2 in 0.3s
    local n_lines=0 n_bad=0 line label rest status name reason
    while IFS= read -r line; do
        label="${line%%[[:space:]]*}"
        rest="${line#"$label"}"
        rest="${rest#"${rest%%[![:space:]]*}"}"  # ltrim
        rest="${rest#(cached) }"
        case "$rest" in
            "FAILED TO BUILD"*) status="FAIL"; reason="failed to build" ;;
            PASSED*)            status="PASS"; reason="" ;;
            FLAKY*)             status="PASS"; reason="flaky: ${rest#FLAKY, }" ;;
            FAILED*)            status="FAIL"; reason="failed" ;;
            TIMEOUT*)           status="FAIL"; reason="timeout" ;;
            "NO STATUS"*)       status="FAIL"; reason="no status (not run: build error?)" ;;
            INCOMPLETE*)        status="FAIL"; reason="incomplete" ;;
            "REMOTE FAILURE"*)  status="FAIL"; reason="remote failure" ;;
            SKIPPED*)           status="SKIP"; reason="skipped by bazel (incompatible target)" ;;
            *) continue ;;
        esac
        name="$label$suffix"
        if [ "$status" = PASS ]; then
            # //pkg/sub:name -> $testlogs/pkg/sub/name/test.log
            local pkg="${label#//}" tname
            tname="${pkg#*:}"
            pkg="${pkg%%:*}"
            local tlog="$testlogs/${pkg:+$pkg/}$tname/test.log"
            if [ -f "$tlog" ] && grep -q '^SKIPPED:' "$tlog"; then
                status="SKIP"
                reason="$(grep -m1 '^SKIPPED:' "$tlog" | sed 's/^SKIPPED:[[:space:]]*//')"
            fi
        fi
        [ "$status" = FAIL ] && n_bad=$((n_bad + 1))
        n_lines=$((n_lines + 1))
        record "$status" "$name" "$reason"
    done < <(grep -E '^(//|@)[^[:space:]]+[[:space:]]+((\(cached\)[[:space:]]+)?(PASSED|FAILED|FLAKY|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE|SKIPPED))' "$log" | sort -u)

    # Bazel exit codes: 0 ok, 3 some tests failed, 4 no test targets;
    # anything else (1 build failure, 2 bad flags, 8 interrupted, 36/37 ...)
    # is a failure even when every listed test passed (e.g. a library or a
    # benchmark binary failed to compile).
    case "$rc" in
        0) ;;
        3) [ "$n_bad" -gt 0 ] || record FAIL "stage $stage" "bazel exited 3 but no failing test was listed" ;;
        4) say "stage $stage: no test targets" ;;
        *)
            if [ "$n_bad" -gt 0 ]; then
                # Already counted through its failing targets; still say so.
                record NOTE "stage $stage" "bazel exited $rc: build errors too, see the ERROR lines above"
            else
                record FAIL "stage $stage" "bazel exited $rc (build or analysis error: see the ERROR lines above)"
            fi
            ;;
    esac
    [ "$n_lines" -gt 0 ] || [ "$rc" != 0 ] || say "stage $stage: no per-target results found"
    return 0
}

# ---- stages --------------------------------------------------------------
# To add a stage: write stage_<name>() and add <name> to STAGES above.

stage_normal() {
    run_bazel_test normal "" -- "${XMEM_TARGETS:-//...}"
}

# One result per check of tests/install/run.sh ("INSTALL: PASS|FAIL <check>").
stage_install() {
    local log="$WORK/install.log" rc st name note
    say "stage install: tests/install/run.sh (install, link, examples, uninstall)"
    bash ./tests/install/run.sh </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    while read -r st name note; do
        note="${note#(}"
        record "$st" "//tests/install:$name (install)" "${note%)}"
    done < <(sed -n 's/^INSTALL: \(PASS\|FAIL\) /\1 /p' "$log")
    if [ "$rc" -ne 0 ] && ! grep -q '^INSTALL: FAIL' "$log"; then
        record FAIL "//tests/install (install)" "run.sh exited $rc without a FAIL line"
    fi
}

stage_asan() {
    local t
    local pattern="${XMEM_ASAN_TARGETS:-//tests/...}"
    t="$(query_tests "tests($pattern)")"
    if [ -z "$t" ]; then
        say "stage asan: no test targets under $pattern, skipped"
        return 0
    fi
    run_bazel_test asan " (asan)" --config=asan --build_tests_only -- "$pattern"
}

stage_tsan() {
    local t
    local pattern="${XMEM_TARGETS:-//...}"
    t="$(query_tests "attr(tags, '\\bconcurrency\\b', tests($pattern))")"
    if [ -z "$t" ]; then
        say "stage tsan: no test targets tagged \"concurrency\", skipped"
        return 0
    fi
    run_bazel_test tsan " (tsan)" --config=tsan --build_tests_only --test_tag_filters=concurrency -- "$pattern"
}

stage_stress() {
    local env=(--test_env=XMEM_STRESS_SEED --test_env=XMEM_STRESS_SECONDS
               --test_env=XMEM_STRESS_THREADS --test_env=XMEM_STRESS_V2)
    run_bazel_test stress-asan " (stress, asan)" --config=asan "${env[@]}" -- \
        //tests/stress:stress_test
    run_bazel_test stress-tsan " (stress, tsan)" --config=tsan "${env[@]}" -- \
        //tests/stress:stress_test
    # The multi-process mode (3 member processes, 10 s, kill -9 and reap of
    # a member every 25th quiescent point), plain and under ASan.  Not under TSan: it sees one process at a time, and the members
    # synchronise through shared memory it cannot follow across processes.
    run_bazel_test stress-mp " (stress, multi-process)" --test_env=XMEM_STRESS_SEED -- \
        //tests/stress:stress_mp_test
    run_bazel_test stress-mp-asan " (stress, multi-process, asan)" --config=asan \
        --test_env=XMEM_STRESS_SEED -- //tests/stress:stress_mp_test
}

# One line per run.sh call: PASS/FAIL with run.sh's "FUZZ: ..." summary.
fuzz_run() {
    local name="$1" log="$WORK/fuzz$2.log" rc note
    shift 2
    bash ./tests/fuzz/run.sh "$@" </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    note="$(grep -m1 '^FUZZ: ' "$log" | sed 's/^FUZZ: [A-Z]* //')"
    if [ "$rc" -eq 0 ]; then
        record PASS "$name" "$note"
    else
        record FAIL "$name" "run.sh $* exited $rc: ${note:-see the fuzz: lines above}"
    fi
}

stage_fuzz() {
    say "stage fuzz: tests/fuzz/run.sh (bounded libFuzzer run, clang) and --selftest"
    fuzz_run "//tests/fuzz:api_fuzz (fuzz)" ""
    fuzz_run "//tests/fuzz:api_fuzz (fuzz selftest)" ".selftest" --selftest
}

stage_stall() {
    run_bazel_test stall " (stall)" -- //tests/stall:stall_test //tests/stall:stall_checked_test
    run_bazel_test stall-asan " (stall, asan)" --config=asan -- //tests/stall:stall_test
}

stage_valgrind() {
    local t
    t="$(query_tests "attr(tags, '\\bvalgrind\\b', tests(//...))")"
    if [ -z "$t" ]; then
        say "stage valgrind: no test targets tagged \"valgrind\", skipped"
        return 0
    fi
    # shellcheck disable=SC2086
    run_bazel_test valgrind " (valgrind)" --config=valgrind --build_tests_only -- $t
}

stage_dpdk() {
    local log="$WORK/dpdk.log" rc st name
    say "stage dpdk: tests/dpdk/run.sh (dpdk-testpmd and examples/dpdk_fwd from an installed prefix)"
    bash ./tests/dpdk/run.sh </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    local n=0
    while IFS= read -r line; do
        st="${line%% *}"
        name="${line#* }"
        case "$st" in
            PASS) record PASS "$name (dpdk)" ;;
            FAIL) record FAIL "${name%%: *} (dpdk)" "${name#*: }" ;;
        esac
        n=$((n + 1))
    done < <(sed -n 's/^dpdk: \(PASS\|FAIL\) /\1 /p' "$log")
    if [ "$n" -eq 0 ] || { [ "$rc" -ne 0 ] && ! grep -q '^dpdk: FAIL' "$log"; }; then
        record FAIL "tests/dpdk/run.sh (dpdk)" "exited $rc"
    fi
}

stage_guest() {
    local log="$WORK/guest.log" rc
    say "stage guest: tests/vfio_guest/run.sh"
    bash ./tests/vfio_guest/run.sh </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    if [ "$rc" -ne 0 ]; then
        record FAIL "//tests/vfio_guest (guest)" "run.sh exited $rc: see the STEP lines above"
    elif grep -q '^SKIPPED:' "$log"; then
        record SKIP "//tests/vfio_guest (guest)" "$(grep -m1 '^SKIPPED:' "$log" | sed 's/^SKIPPED:[[:space:]]*//')"
    else
        record PASS "//tests/vfio_guest (guest)"
    fi
    # The VFIO rows of docs/errors.md, run by errors_test inside the guest:
    # one result each.
    local st id
    while read -r st id; do
        case "$st" in
            PASS) record PASS "//tests:errors_vfio_test $id (guest)" ;;
            *) record FAIL "//tests:errors_vfio_test $id (guest)" "$st in the guest" ;;
        esac
    done < <(sed -n 's/^vfio_guest: errors row \([A-Z]*\) \(.*\)$/\1 \2/p' "$log")
    # dpdk_guest_test (libxmem_dpdk's DMA subscribers over DPDK's VFIO
    # container): one result per CHECK line.
    while read -r st id; do
        case "$st" in
            PASS) record PASS "//tests/vfio_guest:dpdk_guest_test $id (guest)" ;;
            *) record FAIL "//tests/vfio_guest:dpdk_guest_test $id (guest)" "$st in the guest" ;;
        esac
    done < <(sed -n 's/^CHECK \([A-Z]*\) \([^:]*\):.*$/\1 \2/p' "$log")
}

stage_numa_guest() {
    local log="$WORK/numa_guest.log" rc st rest
    say "stage numa_guest: tests/numa_guest/run.sh"
    bash ./tests/numa_guest/run.sh </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    if grep -q '^SKIPPED:' "$log"; then
        record SKIP "//tests/numa_guest (numa_guest)" "$(grep -m1 '^SKIPPED:' "$log" | sed 's/^SKIPPED:[[:space:]]*//')"
        return
    fi
    # One result per check the guest printed (or should have).
    while read -r st rest; do
        case "$st" in
            PASS) record PASS "//tests/numa_guest ${rest%%:*} (numa_guest)" ;;
            *) record FAIL "//tests/numa_guest ${rest%%:*} (numa_guest)" "$st: ${rest#*: }" ;;
        esac
    done < <(sed -n 's/^numa_guest: check \([A-Z]*\) \(.*\)$/\1 \2/p' "$log")
    if [ "$rc" -ne 0 ]; then
        record FAIL "//tests/numa_guest (numa_guest)" "run.sh exited $rc: see the check lines above"
    else
        record PASS "//tests/numa_guest (numa_guest)"
    fi
}

stage_iommufd_guest() {
    local log="$WORK/iommufd_guest.log" klog="$WORK/guest_kernel.log" kernel rc t0=$SECONDS
    say "stage iommufd_guest: scripts/guest_kernel.sh (built once, then cached)"
    kernel="$(bash ./scripts/guest_kernel.sh </dev/null 2>"$klog" | tail -n1)"
    if [ -z "$kernel" ] || [ ! -f "$kernel" ]; then
        tail -n 30 "$klog"
        record FAIL "scripts/guest_kernel.sh (iommufd_guest)" "no kernel: see the lines above"
        return 0
    fi
    grep -E '^guest_kernel.sh: (cache hit|built)' "$klog" | sed 's/^/  /'
    say "guest kernel $kernel ready in $((SECONDS - t0)) s"
    record PASS "scripts/guest_kernel.sh (iommufd_guest)"
    say "stage iommufd_guest: tests/vfio_guest/run.sh with XMEM_VFIO_BACKEND=iommufd"
    # XMEM_GUEST_DPDK=0: dpdk_guest_test drives DPDK 22.11's legacy
    # container/group API, which stage guest proves; nothing of it is iommufd.
    XMEM_GUEST_KERNEL="$kernel" XMEM_GUEST_APPEND="XMEM_VFIO_BACKEND=iommufd" XMEM_GUEST_DPDK=0 \
        bash ./tests/vfio_guest/run.sh </dev/null 2>&1 | tee "$log"
    rc="${PIPESTATUS[0]}"
    # One result per STEP line the guest printed (guest_test and devmem_test).
    local n=0 st line
    while IFS= read -r line; do
        n=$((n + 1))
        st="${line#STEP ? }"
        st="${st%%:*}"
        case "$st" in
            PASS) record PASS "iommufd guest ${line%%:*} #$n: ${line#*: }" ;;
            *) record FAIL "iommufd guest ${line%%:*} #$n: ${line#*: }" ;;
        esac
    done < <(grep -E '^STEP . (PASS|FAIL):' "$log" | cut -c1-150)
    if grep -q '^SKIPPED:' "$log"; then
        record SKIP "//tests/vfio_guest (iommufd_guest)" "$(grep -m1 '^SKIPPED:' "$log" | sed 's/^SKIPPED:[[:space:]]*//')"
    elif [ "$rc" -ne 0 ] || [ "$n" -eq 0 ]; then
        record FAIL "//tests/vfio_guest (iommufd_guest)" "run.sh exited $rc, $n STEP lines"
    else
        record PASS "//tests/vfio_guest (iommufd_guest)"
    fi
}

# ---- main ----------------------------------------------------------------

if [ -z "${XMEM_SKIP_DEPS:-}" ]; then
    say "installing dependencies (scripts/deps.sh)"
    if ! bash ./scripts/deps.sh </dev/null; then
        echo "scripts/deps.sh failed"
        echo "0 passed, 1 failed"
        exit 1
    fi
    say "dependencies took $SECONDS s"
fi

TIMES="$WORK/times"
: >"$TIMES"
run_start=$SECONDS
for s in $STAGES; do
    if ! declare -F "stage_$s" >/dev/null; then
        record FAIL "stage $s" "no such stage"
        continue
    fi
    t0=$SECONDS
    "stage_$s"
    say "stage $s took $((SECONDS - t0)) s"
    printf '  %-10s %5d s\n' "$s" "$((SECONDS - t0))" >>"$TIMES"
done

say "stage times"
cat "$TIMES"
printf '  %-10s %5d s\n' "all" "$((SECONDS - run_start))"

say "results"
passed=0 failed=0 skipped=0
while IFS=$'\t' read -r status name note; do
    case "$status" in
        PASS) passed=$((passed + 1)); printf '  PASS  %s%s\n' "$name" "${note:+  ($note)}" ;;
        SKIP) skipped=$((skipped + 1)); printf '  SKIP  %s  (%s)\n' "$name" "$note" ;;
        FAIL) failed=$((failed + 1)); printf '  FAIL  %s  (%s)\n' "$name" "$note" ;;
        NOTE) printf '  NOTE  %s  (%s)\n' "$name" "$note" ;;
    esac
done <"$RESULTS"

if [ $((passed + failed + skipped)) -eq 0 ]; then
    echo "  no test ran"
fi
# The last line is exactly "N passed, M failed"; skips are counted above it.
[ "$skipped" -eq 0 ] || echo "$skipped skipped (each SKIP line above says why)"
echo "$passed passed, $failed failed"
if [ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]; then
    exit 0
fi
exit 1
