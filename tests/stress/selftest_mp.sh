#!/usr/bin/env bash
# selftest_mp.sh - the multi-process mode must fail, loudly, when a block is
# handed out twice: run it with --procs=2 --selftest-double (member 0 gives
# member 1 a block it still holds, as a new allocation) and expect exit 1
# and a "VIOLATION seed=... proc=P ...: OVERLAP" line: P is 1 when member
# 1 receives the block while member 0 holds it, 0 when member 0 freed it
# first and the library handed it to member 0 again while member 1 holds
# it.
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
if ! printf '%s\n' "$out" | grep -q '^VIOLATION seed=7 proc=[01] op=[0-9]*: OVERLAP'; then
    echo "FAIL: no VIOLATION ... OVERLAP line"
    exit 1
fi
echo "PASS stress_test --procs=2 reports a block handed out twice (exit $rc)"
