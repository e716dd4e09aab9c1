#!/usr/bin/env bash
# vg_test.sh - runs vg_errors and vg_clean under valgrind (memcheck) and
# checks what memcheck says about xmem blocks:
#   - vg_errors: every deliberate bug is reported, at the address the program
#     printed, and nothing else (exact error count);
#   - vg_clean: zero errors and no leaks, three times: as is (membarrier),
#     with XMEM_NO_MEMBARRIER=1 (the seq_cst fallback) and XMEM_CHECKED=1.
# Usage: vg_test.sh VG_ERRORS VG_CLEAN   (bazel passes both; see BUILD)
# Prints "SKIPPED: ..." and exits 0 when valgrind is missing or the library
# was built without --config=valgrind.  Valgrind logs are kept in
# $TEST_UNDECLARED_OUTPUTS_DIR when bazel sets it.
set -uo pipefail

ERRORS_BIN="$1"
CLEAN_BIN="$2"
OUT="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
mkdir -p "$OUT"
VG_EXIT=97      # valgrind's exit code when it found errors

fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIPPED: valgrind is not installed (Debian package valgrind)"
    exit 0
fi
probe="$("$CLEAN_BIN" 2>&1 | head -1)"
case "$probe" in
    SKIPPED:*) echo "$probe"; exit 0 ;;
esac
echo "$(valgrind --version)"

vg() {  # vg LOG PROGRAM: memcheck with full leak checking
    local log="$1"
    shift
    valgrind --tool=memcheck --leak-check=full --error-exitcode="$VG_EXIT" \
        --log-file="$log" "$@"
}

# has_record LOG ERE...: true if one record of the log (the lines between
# two "==PID== " separator lines) matches every ERE, ignoring case.
has_record() {
    local log="$1"
    shift
    PATS="$(printf '%s\n' "$@")" awk '
        BEGIN { n = split(ENVIRON["PATS"], p, "\n"); while (n > 0 && p[n] == "") n-- }
        function check(  i) {
            if (rec == "") return
            for (i = 1; i <= n; i++)
                if (tolower(rec) !~ tolower(p[i])) { rec = ""; return }
            found = 1; rec = ""
        }
        /^==[0-9]+== *$/ { check(); next }
        { rec = rec "\n" $0 }
        END { check(); exit found ? 0 : 1 }' "$log"
}

expect_record() {  # expect_record WHAT LOG ERE...
    local what="$1"
    shift
    if has_record "$@"; then pass "$what"; else fail "$what: no such report in $1"; fi
}

# ---- vg_errors -------------------------------------------------------------
elog="$OUT/vg_errors.valgrind.log"
eout="$OUT/vg_errors.out"
vg "$elog" "$ERRORS_BIN" >"$eout" 2>&1
rc=$?
echo "--- vg_errors printed:"
cat "$eout"
if [ "$rc" -eq "$VG_EXIT" ]; then
    pass "vg_errors: valgrind exited $VG_EXIT (errors found)"
else
    fail "vg_errors: valgrind exited $rc, expected $VG_EXIT"
fi
grep -q '^DONE$' "$eout" || fail "vg_errors did not run to the end"

addr() { awk -v k="$1" '$1 == k { print $2 }' "$eout"; }
for k in LEAK LEAKBIG LEAKBULK UAF PAST OVERFLOW UNINIT DOUBLE REUSE; do
    [ -n "$(addr "$k")" ] || fail "vg_errors printed no $k line"
done

expect_record "leak of a 777-byte block (first object of a span)" "$elog" \
    '777 bytes in 1 blocks are definitely lost' ': xmem_alloc \(' ': leak_small \('
expect_record "leak of a 50000-byte large block" "$elog" \
    '50,000 bytes in 1 blocks are definitely lost' ': xmem_alloc \(' ': leak_big \('
expect_record "leak of one block of a bulk allocation" "$elog" \
    '300 bytes in 1 blocks are definitely lost' ': xmem_alloc_bulk \(' ': leak_bulk \('
expect_record "use after free, read at $(addr UAF)" "$elog" \
    'Invalid read of size 1' ': use_after_free \(' \
    "Address $(addr UAF) is 0 bytes inside a block of size 64 free'd" ': xmem_free \('
expect_record "read one byte past a 100-byte block, at $(addr PAST)" "$elog" \
    'Invalid read of size 1' ': read_past \(' \
    "Address $(addr PAST) is 0 bytes after a block of size 100 alloc'd"
expect_record "write past a 64-byte block into a free neighbour, at $(addr OVERFLOW)" "$elog" \
    'Invalid write of size 1' ': overflow_into_free \(' \
    "Address $(addr OVERFLOW) is 0 bytes (after a (recently re-allocated )?block of size 64 alloc'd|inside a block of size 64 free'd)"
expect_record "branch on an uninitialised byte of a fresh block" "$elog" \
    'Conditional jump or move depends on uninitialised value\(s\)' ': uninit \('
expect_record "double free of $(addr DOUBLE) reported, not FREELIKE'd twice" "$elog" \
    "xmem: xmem_free\($(addr DOUBLE)\): not a live xmem block" ': double_free \('
expect_record "double free of $(addr DOUBLE) is a memcheck error" "$elog" \
    'Unaddressable byte\(s\) found during client check request' \
    "Address $(addr DOUBLE) is 0 bytes inside a block of size 32 free'd"
expect_record "block handed out twice after the double free" "$elog" \
    "xmem: $(addr REUSE) handed out again while still live"
# 5 access errors + 3 leaks; anything more is a false report.
if grep -q 'ERROR SUMMARY: 8 errors from 8 contexts' "$elog"; then
    pass "vg_errors: exactly 8 errors"
else
    fail "vg_errors: $(grep 'ERROR SUMMARY' "$elog"), expected 8 errors from 8 contexts"
fi
if grep -qE 'definitely lost: 51,077 bytes in 3 blocks' "$elog" &&
    grep -qE 'possibly lost: 0 bytes in 0 blocks' "$elog" &&
    grep -qE 'still reachable: 0 bytes in 0 blocks' "$elog"; then
    pass "vg_errors: leak summary is exactly the 3 lost blocks"
else
    fail "vg_errors: leak summary: $(grep -A5 'LEAK SUMMARY' "$elog" | tr -s ' ' | tr '\n' ';')"
fi

# ---- vg_clean --------------------------------------------------------------
for envs in "" "XMEM_NO_MEMBARRIER=1" "XMEM_CHECKED=1"; do
    name="vg_clean${envs:+ ($envs)}"
    tag="${envs:-default}"
    clog="$OUT/vg_clean.$tag.valgrind.log"
    cout="$OUT/vg_clean.$tag.out"
    env $envs valgrind --tool=memcheck --leak-check=full \
        --error-exitcode="$VG_EXIT" --log-file="$clog" "$CLEAN_BIN" >"$cout" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$name: exit code $rc (valgrind errors: $VG_EXIT)"
        cat "$cout"
    elif ! grep -q '^CLEAN$' "$cout"; then
        fail "$name: the program did not finish clean"
        cat "$cout"
    elif ! grep -q 'ERROR SUMMARY: 0 errors' "$clog"; then
        fail "$name: $(grep 'ERROR SUMMARY' "$clog")"
    elif ! grep -q 'in use at exit: 0 bytes in 0 blocks' "$clog"; then
        fail "$name: blocks in use at exit: $(grep 'in use at exit' "$clog")"
    else
        pass "$name: 0 errors, nothing in use at exit"
    fi
    # The malloc'd pointer given to xmem_free must have been refused, not
    # FREELIKE'd (which memcheck would report, and the later free() too).
    has_record "$clog" 'xmem: xmem_free\(0x[0-9a-f]+\): not a live xmem block' ': foreign_free \(' ||
        fail "$name: the foreign pointer was not reported as not live"
    if grep -q 'unhandled .*syscall' "$clog"; then
        echo "NOTE $name: valgrind does not handle a syscall: $(grep -m1 'unhandled .*syscall' "$clog")"
    fi
    [ "$rc" -eq 0 ] || { echo "--- $clog"; cat "$clog"; }
done

if [ "$fails" -ne 0 ]; then
    echo "--- $elog"
    cat "$elog"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all valgrind checks passed"
