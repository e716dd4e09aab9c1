#!/usr/bin/env bash
# selftest_mp.sh - the multi-process mode must fail, loudly, when a block is
# handed out twice: run it with --procs=2 --selftest-double (member 0 gives
# member 1 a block it still holds, as a new allocation) and expect exit 1
# and a "VIOLATION seed=... proc=1 ...: OVERLAP" line.
set -u
bin="$1"
out="$("$bin" --procs=2 --selftest-double --seconds=5 --seed=7 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 40
if printf '%s\n' "$out" | grep -q '^SKIPPED:'; then
    exit 0
fi
if [ "$rc" -eq 0 ]; then
    echo "FAIL: stress_test --procs=2 --selftest-double exited 0"
    exit 1
fi
if ! printf '%s\n' "$out" | grep -q '^VIOLATION seed=7 proc=1 op=[0-9]*: OVERLAP'; then
    echo "FAIL: no VIOLATION ... OVERLAP line"
    exit 1
fi
echo "PASS stress_test --procs=2 reports a block handed out twice (exit $rc)"
