#!/usr/bin/env bash
# tests/install/run.sh - the install stage of scripts/test.sh: xmem as a user
# outside Bazel meets it.  Installs into a temporary prefix with
# scripts/install.sh and checks, one line each:
#   INSTALL: PASS <check> [(note)]   or   INSTALL: FAIL <check> (why)
#   install      install.sh --prefix ran
#   exports      libxmem.so exports exactly the functions and variables the public headers
#                declare (no xm_* nor anything else), under version XMEM_MAJOR
#   dpdk_exports libxmem_dpdk.so (when installed) exports exactly the
#                functions xmem_dpdk*.h declare, under XMEM_DPDK_MAJOR
#   soname       soname libxmem.so.MAJOR, the two links resolve
#   needed       NEEDED is liburcu, libnuma, libck, libc (+ pthread, ld.so)
#                only: no libstdc++
#   pkgconfig    pkg-config knows xmem at the version of version.bzl
#   shared_app   tests/install/install_check.c built with pkg-config
#                against libxmem.so, and run
#   static_app   the same with -static and pkg-config --static (libxmem.a)
#   make_example, meson_example   examples/burst_pipeline built with make
#                and with meson from the prefix, each run for ~1 s
#   bench_plain  the benchmark's plain programs (bench/plain/plain_burst.c with
#                libdpdk, also with -DBURST=64, align_scan.c, burst_sizes.c)
#                built as scripts/bench.sh builds them, and the plain loop run
#                once in its quick mode, with bursts of 32 and of 64 (it
#                checks both translations against the IOVA table before
#                timing them), and by burst size (a row for each of 6 sizes)
#   apidoc       Doxygen finds every public function documented
#                (scripts/apidoc.sh --check)
#   uninstall    install.sh --uninstall leaves the prefix empty, and a second
#                --uninstall fails (no manifest)
# Exit 0 when every check passed.  BAZEL and XMEM_SKIP_DEPS pass through.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT="$(pwd)"
T="$(mktemp -d -t xmem-install.XXXXXX)"
trap 'rm -rf "$T"' EXIT
P="$T/prefix"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
export LD_LIBRARY_PATH="$P/lib"

n_fail=0
pass() { echo "INSTALL: PASS $1${2:+ ($2)}"; }
fail() { echo "INSTALL: FAIL $1 ($2)"; n_fail=$((n_fail + 1)); }

ver() { sed -n "s/^XMEM_VERSION_$1 = \([0-9][0-9]*\)$/\1/p" version.bzl; }
MAJOR="$(ver MAJOR)"; MINOR="$(ver MINOR)"; VERSION="$MAJOR.$MINOR.$(ver PATCH)"
SO="$P/lib/libxmem.so.$MAJOR.$MINOR"

echo "install: scripts/install.sh --prefix=$P"
if ! XMEM_SKIP_DEPS="${XMEM_SKIP_DEPS:-1}" ./scripts/install.sh --prefix="$P" >"$T/install.log" 2>&1; then
    tail -n 30 "$T/install.log"
    fail install "install.sh exited non-zero: see above"
    echo "install: nothing else to check"
    exit 1
fi
pass install "$(tail -n 1 "$T/install.log")"

# exports: the dynamic symbols against the functions the headers declare:
# libxmem.so against include/xmem/*.h but xmem_dpdk*.h, and (when installed)
# libxmem_dpdk.so against xmem_dpdk*.h, each under its version node.
# check_exports NAME LIBRARY NODE HEADER...
check_exports() {
    local name="$1" so="$2" node="$3" h
    shift 3
    nm -D --defined-only "$so" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$T/exported"
    # Declared: xmem_name( in the headers after the preprocessor (no
    # comments; a typedef (*xmem_x_fn)(...) does not match), and the
    # variables the headers declare extern (extern ... xmem_name; or [),
    # which inline code reads.
    for h in "$@"; do echo "#include \"$h\""; done \
        | cc -E -P -I"$P/include" -x c - 2>/dev/null >"$T/pre.c"
    {
        grep -oE '\bxmem_[a-z0-9_]+[[:space:]]*[(]' "$T/pre.c"
        grep -oE '^extern [^;(]*\bxmem_[a-z0-9_]+[[:space:]]*[;\[]' "$T/pre.c" | grep -oE '\bxmem_[a-z0-9_]+[[:space:]]*[;\[]$'
    } | sed 's/[[:space:]]*[(\[;]$//' | sort -u >"$T/declared.all"
    # What the other headers declare too (xmem_dpdk.h includes xmem.h).
    if [ "$node" = "XMEM_$MAJOR" ]; then
        cp "$T/declared.all" "$T/declared"
    else
        grep '^xmem_dpdk_' "$T/declared.all" >"$T/declared"
    fi
    local extra absent unversioned
    extra="$(comm -23 "$T/exported" "$T/declared" | grep -vx "$node" | tr '\n' ' ')"
    absent="$(comm -13 "$T/exported" "$T/declared" | tr '\n' ' ')"
    unversioned="$(nm -D --defined-only --with-symbol-versions "$so" 2>/dev/null \
        | awk '$NF ~ /^xmem_/ && $NF !~ /@@'"$node"'$/ {print $NF}' | tr '\n' ' ')"
    if [ -n "$extra" ]; then
        fail "$name" "exported but not public: $extra"
    elif [ -n "$absent" ]; then
        fail "$name" "declared in the headers but not exported: $absent"
    elif [ -n "$unversioned" ]; then
        fail "$name" "not under version $node: $unversioned"
    else
        pass "$name" "$(wc -l <"$T/declared") functions and variables, all xmem_*, version $node"
    fi
}
core_headers=()
for h in "$P"/include/xmem/*.h; do
    case "$h" in */xmem_dpdk*.h) ;; *) core_headers+=("$h") ;; esac
done
check_exports exports "$SO" "XMEM_$MAJOR" "${core_headers[@]}"
if [ -e "$P/lib/libxmem_dpdk.so.$MAJOR.$MINOR" ]; then
    check_exports dpdk_exports "$P/lib/libxmem_dpdk.so.$MAJOR.$MINOR" "XMEM_DPDK_$MAJOR" \
        "$P"/include/xmem/xmem_dpdk*.h
fi

soname="$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$soname" != "libxmem.so.$MAJOR" ]; then
    fail soname "soname is '$soname', not libxmem.so.$MAJOR"
elif [ "$(readlink -f "$P/lib/libxmem.so")" != "$SO" ] ||
     [ "$(readlink -f "$P/lib/libxmem.so.$MAJOR")" != "$SO" ]; then
    fail soname "libxmem.so or libxmem.so.$MAJOR does not lead to $SO"
else
    pass soname "$soname"
fi

needed="$(readelf -d "$SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
bad_needed="$(tr ' ' '\n' <<<"$needed" | grep -v '^$' \
    | grep -vE '^(liburcu-memb|liburcu-common|libnuma|libck|libc|libpthread|ld-linux-x86-64)\.so' | tr '\n' ' ')"
if [ -n "$bad_needed" ]; then
    fail needed "unexpected dependencies: $bad_needed(all: $needed)"
else
    pass needed "$needed"
fi

got="$(pkg-config --modversion xmem 2>&1)"
if [ "$got" = "$VERSION" ]; then pass pkgconfig "xmem $got"; else fail pkgconfig "pkg-config says '$got', version.bzl $VERSION"; fi

# run_app NAME BINARY: runs it, PASS when it exits 0 and printed its ok line.
run_app() {
    local out
    if out="$("$2" 2>&1)" && grep -q '^install_check: ok' <<<"$out"; then
        pass "$1" "$(tail -n 1 <<<"$out")"
    else
        fail "$1" "the program failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    fi
}
src=tests/install/install_check.c
# shellcheck disable=SC2046
if ! cc -std=gnu11 -Wall -Wextra -Werror -o "$T/check_shared" "$src" \
        $(pkg-config --cflags --libs xmem) 2>"$T/cc.log"; then
    fail shared_app "cc \$(pkg-config --cflags --libs xmem) failed: $(head -n 3 "$T/cc.log" | tr '\n' ' ')"
elif lib="$(ldd "$T/check_shared" | awk '$1 == "libxmem.so.'"$MAJOR"'" {print $3}')" &&
     [ "$(readlink -f "$lib")" != "$SO" ]; then
    fail shared_app "libxmem.so.$MAJOR resolves to '$lib', not $SO"
else
    run_app shared_app "$T/check_shared"
fi
# shellcheck disable=SC2046
if ! cc -static -std=gnu11 -Wall -Wextra -Werror -o "$T/check_static" "$src" \
        $(pkg-config --static --cflags --libs xmem) 2>"$T/cc.log"; then
    fail static_app "cc -static \$(pkg-config --static --cflags --libs xmem) failed: $(grep -v getaddrinfo "$T/cc.log" | head -n 3 | tr '\n' ' ')"
elif readelf -d "$T/check_static" 2>/dev/null | grep -q NEEDED; then
    fail static_app "the static program still needs shared libraries"
else
    run_app static_app "$T/check_static"
fi

# run_example NAME BINARY: ~1 s of the pipeline; PASS when it exits 0 and
# printed its throughput and sample IOVA.
run_example() {
    local out
    if out="$("$2" --seconds 1 2>&1)" && grep -q 'Mobj/s' <<<"$out" && grep -q ' iova 0x' <<<"$out"; then
        pass "$1" "$(grep -o '[0-9.]* Mobj/s' <<<"$out")"
    else
        fail "$1" "burst_pipeline failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    fi
}
mkdir -p "$T/make"
if ! make -s -C examples/burst_pipeline O="$T/make" >"$T/make.log" 2>&1; then
    fail make_example "make failed: $(tail -n 3 "$T/make.log" | tr '\n' ' ')"
else
    run_example make_example "$T/make/burst_pipeline"
fi
if ! meson setup "$T/meson" examples/burst_pipeline >"$T/meson.log" 2>&1 ||
   ! ninja -C "$T/meson" >>"$T/meson.log" 2>&1; then
    fail meson_example "meson or ninja failed: $(tail -n 3 "$T/meson.log" | tr '\n' ' ')"
else
    run_example meson_example "$T/meson/burst_pipeline"
fi

# shellcheck disable=SC2046
if ! cc -O2 -Wall -Werror -o "$T/plain_burst" bench/plain/plain_burst.c \
        $(pkg-config --cflags --libs xmem libdpdk) 2>"$T/cc.log" ||
   ! cc -O2 -Wall -Werror -DBURST=64 -o "$T/plain_burst64" bench/plain/plain_burst.c \
        $(pkg-config --cflags --libs xmem libdpdk) 2>>"$T/cc.log" ||
   ! cc -O2 -Wall -Werror -o "$T/align_scan" bench/plain/align_scan.c \
        $(pkg-config --cflags --libs xmem) 2>>"$T/cc.log" ||
   ! cc -O2 -Wall -Werror -o "$T/burst_sizes" bench/plain/burst_sizes.c \
        $(pkg-config --cflags --libs xmem libdpdk) 2>>"$T/cc.log"; then
    fail bench_plain "cc failed: $(head -n 3 "$T/cc.log" | tr '\n' ' ')"
elif out="$("$T/plain_burst" --quick 2>&1)" && grep -q '^  burst ' <<<"$out" &&
     out64="$("$T/plain_burst64" --quick 2>&1)" && grep -q 'bursts of 64 x' <<<"$out64" &&
     outsz="$("$T/burst_sizes" --quick 2>&1)" &&
     [ "$(grep -cE '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x$' <<<"$outsz")" = 6 ]; then
    pass bench_plain "32: $(grep -o 'xmem / rte_mempool [0-9.]*x' <<<"$out" | head -n 1); 64: $(grep -o 'xmem / rte_mempool [0-9.]*x' <<<"$out64" | head -n 1); by size: $(awk '/x$/ {printf "%s:%s ", $1, $4}' <<<"$outsz")"
else
    out="$out ${out64:-} ${outsz:-}"
    fail bench_plain "plain_burst --quick failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
fi

if out="$(./scripts/apidoc.sh --check 2>&1)"; then
    pass apidoc "$(tail -n 1 <<<"$out")"
else
    echo "$out" | tail -n 20
    fail apidoc "$(tail -n 1 <<<"$out")"
fi

if ! ./scripts/install.sh --uninstall --prefix="$P" >"$T/uninstall.log" 2>&1; then
    fail uninstall "install.sh --uninstall failed: $(tail -n 2 "$T/uninstall.log" | tr '\n' ' ')"
elif [ -n "$(find "$P" -mindepth 1 2>/dev/null | head -n 5)" ]; then
    fail uninstall "left behind: $(find "$P" -mindepth 1 | head -n 5 | tr '\n' ' ')"
elif ./scripts/install.sh --uninstall --prefix="$P" >/dev/null 2>&1; then
    fail uninstall "a second --uninstall (no manifest) succeeded"
else
    pass uninstall "$(tail -n 1 "$T/uninstall.log")"
fi

[ "$n_fail" -eq 0 ]
