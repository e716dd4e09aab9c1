#!/usr/bin/env bash
# selftest.sh - the stress test must fail, loudly, when the model sees a
# block handed out twice: run it with --selftest-double and expect exit 1
# and a "VIOLATION seed=... OVERLAP" line.
set -u
bin="$1"
out="$("$bin" --selftest-double --threads=2 --seeds=1 --seconds=5 --seed=7 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 40
if [ "$rc" -eq 0 ]; then
    echo "FAIL: stress_test --selftest-double exited 0"
    exit 1
fi
if ! printf '%s\n' "$out" | grep -q '^VIOLATION seed=7 thread=0 op=[0-9]*: OVERLAP'; then
    echo "FAIL: no VIOLATION ... OVERLAP line"
    exit 1
fi
echo "PASS stress_test reports a block handed out twice (exit $rc)"
