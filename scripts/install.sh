#!/usr/bin/env bash
# install.sh - build libxmem with Bazel (offline) and install it for C
# programs that build with make, meson or a plain cc line.
#
#   ./scripts/install.sh [--prefix=DIR]               (default /usr/local)
#   ./scripts/install.sh --uninstall [--prefix=DIR]
#   XMEM_SKIP_DEPS=1 ./scripts/install.sh ...         (don't run scripts/deps.sh)
#
# It first installs the Debian packages the library needs to build
# (scripts/deps.sh lib), builds //:xmem and //:libxmem.so, and installs:
#   PREFIX/lib/libxmem.so.MAJOR.MINOR     soname libxmem.so.MAJOR
#   PREFIX/lib/libxmem.so.MAJOR, libxmem.so   symbolic links
#   PREFIX/lib/libxmem.a                  every object of the library
#   PREFIX/include/xmem/*.h               the public headers (include/xmem/)
#   PREFIX/lib/pkgconfig/xmem.pc          from xmem.pc.in
#   PREFIX/share/xmem/install_manifest.txt   every file above, one a line
# The version comes from version.bzl. Installing over an earlier install
# first removes what its manifest lists. --uninstall removes exactly what the
# manifest lists, then the directories that became empty, up to PREFIX.
#
# The DPDK integration library (dpdk/) follows this contract: when dpdk/BUILD
# exists, this script also
#   - installs the Debian packages of `scripts/deps.sh dpdk`;
#   - builds //dpdk:libxmem_dpdk.so, a shared library that links against
#     libxmem.so (never embeds the core) and has the soname
#     libxmem_dpdk.so.MAJOR (MAJOR from version.bzl), and installs it as
#     lib/libxmem_dpdk.so.MAJOR.MINOR with the links libxmem_dpdk.so.MAJOR
#     and libxmem_dpdk.so;
#   - installs dpdk/include/xmem/xmem_dpdk*.h into include/xmem/;
#   - writes lib/pkgconfig/xmem_dpdk.pc from dpdk/xmem_dpdk.pc.in, with
#     @PREFIX@ and @VERSION@ substituted (it should say Requires: xmem, libdpdk);
#   - and lists all of it in the same manifest, so --uninstall removes it.
# A dpdk/BUILD without that target is reported and skipped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
BAZEL="${BAZEL:-bazel}"

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit "${1:-2}"
}

PREFIX=/usr/local
MODE=install
for a in "$@"; do
    case "$a" in
        --prefix=*) PREFIX="${a#--prefix=}" ;;
        --uninstall) MODE=uninstall ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown argument $a" >&2; usage ;;
    esac
done
[ -n "$PREFIX" ] || { echo "install.sh: empty --prefix" >&2; exit 2; }
PREFIX="$(realpath -m -- "$PREFIX")"
MANIFEST="$PREFIX/share/xmem/install_manifest.txt"

version_part() {
    sed -n "s/^XMEM_VERSION_$1 = \([0-9][0-9]*\)$/\1/p" "$ROOT/version.bzl"
}
MAJOR="$(version_part MAJOR)"
MINOR="$(version_part MINOR)"
PATCH="$(version_part PATCH)"
if [ -z "$MAJOR" ] || [ -z "$MINOR" ] || [ -z "$PATCH" ]; then
    echo "install.sh: cannot read the version from version.bzl" >&2
    exit 1
fi
VERSION="$MAJOR.$MINOR.$PATCH"

# Remove every file the manifest lists (only paths inside PREFIX), then the
# directories that became empty, then the manifest.
remove_manifest() {
    local f d
    while IFS= read -r f; do
        case "$f" in
            "$PREFIX"/*) ;;
            *) echo "install.sh: manifest entry outside $PREFIX ignored: $f" >&2; continue ;;
        esac
        rm -f -- "$f"
        d="$(dirname -- "$f")"
        while [ "$d" != "$PREFIX" ] && [ "${d#"$PREFIX"/}" != "$d" ]; do
            rmdir -- "$d" 2>/dev/null || break
            d="$(dirname -- "$d")"
        done
    done <"$MANIFEST"
}

if [ "$MODE" = uninstall ]; then
    if [ ! -f "$MANIFEST" ]; then
        echo "install.sh: nothing to uninstall: no $MANIFEST" >&2
        exit 1
    fi
    n="$(wc -l <"$MANIFEST")"
    remove_manifest
    echo "install.sh: removed xmem $VERSION ($n files) from $PREFIX"
    exit 0
fi

# ---- install -------------------------------------------------------------

HAVE_DPDK=0
[ -f "$ROOT/dpdk/BUILD" ] && HAVE_DPDK=1

if [ -z "${XMEM_SKIP_DEPS:-}" ]; then
    groups=(lib)
    [ "$HAVE_DPDK" = 1 ] && groups+=(dpdk)
    bash "$ROOT/scripts/deps.sh" "${groups[@]}" </dev/null
fi

TARGETS=(//:xmem //:libxmem.so)
if [ "$HAVE_DPDK" = 1 ]; then
    if "$BAZEL" query --noshow_progress //dpdk:libxmem_dpdk.so >/dev/null 2>&1; then
        TARGETS+=(//dpdk:libxmem_dpdk.so)
    else
        echo "install.sh: dpdk/BUILD has no target libxmem_dpdk.so: the DPDK library is not installed"
        HAVE_DPDK=0
    fi
fi

echo "install.sh: building ${TARGETS[*]}"
# The release configuration (-c opt: the library's own -O2, and NDEBUG).
bazel_args=(-c opt --curses=no --color=no --show_progress_rate_limit=30)
"$BAZEL" build "${bazel_args[@]}" "${TARGETS[@]}"
BIN="$("$BAZEL" info -c opt bazel-bin 2>/dev/null)"

# Bazel's archive of a cc_library holds that target's own sources only:
# check that libxmem.a has an object for every source of the library.
members="$(ar t "$BIN/libxmem.a")"
missing=()
for src in "$ROOT"/alloc/*.c "$ROOT"/iommu/*.c; do
    case "$src" in *_test.c) continue ;; esac
    o="$(basename "$src" .c)"
    grep -qx -e "$o.o" -e "$o.pic.o" <<<"$members" || missing+=("$o")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install.sh: libxmem.a lacks the objects of: ${missing[*]}" >&2
    exit 1
fi

[ -f "$MANIFEST" ] && remove_manifest

installed=()
put() {  # put MODE SRC DEST
    install -D -m "$1" -- "$2" "$3"
    installed+=("$3")
}
link() {  # link TARGET NAME (in the same directory)
    ln -sfn -- "$1" "$2"
    installed+=("$2")
}
# A shared library with its soname link and its development link.
put_shared() {  # put_shared BUILT NAME
    local lib="$PREFIX/lib"
    put 0755 "$1" "$lib/$2.so.$MAJOR.$MINOR"
    link "$2.so.$MAJOR.$MINOR" "$lib/$2.so.$MAJOR"
    link "$2.so.$MAJOR" "$lib/$2.so"
}
put_pc() {  # put_pc TEMPLATE NAME
    local tmp
    tmp="$(mktemp)"
    sed -e '/^#/d' -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" "$1" >"$tmp"
    put 0644 "$tmp" "$PREFIX/lib/pkgconfig/$2.pc"
    rm -f "$tmp"
}

put_shared "$BIN/libxmem.so" libxmem
put 0644 "$BIN/libxmem.a" "$PREFIX/lib/libxmem.a"
for h in "$ROOT"/include/xmem/*.h; do
    put 0644 "$h" "$PREFIX/include/xmem/$(basename "$h")"
done
put_pc "$ROOT/xmem.pc.in" xmem

if [ "$HAVE_DPDK" = 1 ]; then
    put_shared "$BIN/dpdk/libxmem_dpdk.so" libxmem_dpdk
    for h in "$ROOT"/dpdk/include/xmem/xmem_dpdk*.h; do
        [ -f "$h" ] && put 0644 "$h" "$PREFIX/include/xmem/$(basename "$h")"
    done
    if [ -f "$ROOT/dpdk/xmem_dpdk.pc.in" ]; then
        put_pc "$ROOT/dpdk/xmem_dpdk.pc.in" xmem_dpdk
    else
        echo "install.sh: no dpdk/xmem_dpdk.pc.in: no xmem_dpdk.pc installed"
    fi
fi

mkdir -p "$(dirname "$MANIFEST")"
printf '%s\n' "${installed[@]}" "$MANIFEST" >"$MANIFEST"

# A system prefix: let the dynamic linker find the new soname now.
if [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null 2>&1; then
    case "$PREFIX" in /usr|/usr/local) ldconfig ;; esac
fi
echo "install.sh: installed xmem $VERSION into $PREFIX (${#installed[@]} files, manifest $MANIFEST)"
