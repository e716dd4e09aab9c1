# tests/vfio_guest/guest_run_lib.sh: the steps every guest runner shares, sourced by
# tests/vfio_guest/run.sh and tests/numa_guest/run.sh (after they set HERE and ROOT):
# the output directory, the guest image (build_image.sh, with its SKIPPED rule) and the
# console log without the firmware's escapes.  Each prints its messages under the name
# the runner gives (guest_name).

# guest_out_dir PREFIX: OUT is $XMEM_GUEST_OUT (created, kept) or a new temporary
# directory named after PREFIX, removed at exit.
guest_out_dir() {
    if [ -n "${XMEM_GUEST_OUT:-}" ]; then
        OUT=$XMEM_GUEST_OUT
        mkdir -p "$OUT"
    else
        OUT=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
        # shellcheck disable=SC2064  # OUT is fixed now
        trap "rm -rf '$OUT'" EXIT
    fi
}

# guest_image NAME GUEST_TEST [EXTRA...]: build_image.sh into $OUT (its log in
# $OUT/build_image.log).  Exit status 2 of build_image.sh (QEMU or the kernel cannot be
# installed) ends the runner with "SKIPPED: <reason>" and status 0; any other failure ends
# it with "NAME: FAIL" and status 1.
guest_image() {
    local name=$1 rc reason
    shift
    "$ROOT/tests/vfio_guest/build_image.sh" "$1" "$OUT" "${@:2}" 2> "$OUT/build_image.log"
    rc=$?
    if [ $rc -eq 2 ]; then
        reason=$(sed -n 's/^REASON: //p' "$OUT/build_image.log" | tail -n1)
        echo "SKIPPED: ${reason:-guest image dependencies unavailable}"
        exit 0
    elif [ $rc -ne 0 ]; then
        cat "$OUT/build_image.log"
        echo "$name: FAIL: build_image.sh exited $rc"
        exit 1
    fi
}

# guest_console: $OUT/console.raw without terminal escapes and carriage returns, as
# $OUT/console.log.
guest_console() {
    sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/\r$//' "$OUT/console.raw" \
        > "$OUT/console.log"
}
