#!/usr/bin/env bash
# suite_test.sh - runs some of the ordinary xmem tests (tests/BUILD) under
# valgrind (memcheck) and requires each to pass with zero memcheck errors and
# nothing in use at exit: the annotations must not produce false reports on
# the paths those tests take (IOVA tables, alignment, PROT_NONE heaps, stats,
# several threads).  Usage: suite_test.sh TEST_BINARY...
# Tests that poke heap memory they do not own on purpose (alloc_bulk_test
# fills a heap's memory before zalloc; bad_input_test and fastpath_test free
# invalid pointers) are rightly reported by memcheck and are not listed.
set -uo pipefail

OUT="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
mkdir -p "$OUT"
VG_EXIT=97

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIPPED: valgrind is not installed (Debian package valgrind)"
    exit 0
fi
# The annotations leave this string (vg.c) in every binary linked with them.
if ! grep -q 'not a live xmem block' "$1"; then
    echo "SKIPPED: built without --config=valgrind: libxmem has no memcheck annotations"
    exit 0
fi

fails=0
for bin in "$@"; do
    name="$(basename "$bin")"
    log="$OUT/$name.valgrind.log"
    XT_SEED="${XT_SEED:-1}" valgrind --tool=memcheck --leak-check=full \
        --error-exitcode="$VG_EXIT" --log-file="$log" "$bin" >"$OUT/$name.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$log" &&
        grep -q 'in use at exit: 0 bytes in 0 blocks' "$log"; then
        echo "PASS $name under valgrind: $(tail -1 "$OUT/$name.out")"
    else
        echo "FAIL $name under valgrind: exit $rc (valgrind errors: $VG_EXIT)"
        tail -20 "$OUT/$name.out"
        cat "$log"
        fails=$((fails + 1))
    fi
done
[ "$fails" -eq 0 ] || { echo "$fails test(s) failed under valgrind"; exit 1; }
echo "all tests clean under valgrind"
