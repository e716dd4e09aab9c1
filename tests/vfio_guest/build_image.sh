#!/usr/bin/env bash
# tests/vfio_guest/build_image.sh: builds the guest image for the VFIO-in-a-guest test.
#
# Owns: installing QEMU, busybox-static and cpio with apt (idempotent), fetching the Debian
# kernel that linux-image-amd64 depends on (one version only) into a cache, collecting the
# VFIO modules in their real dependency order, and packing an initramfs (cpio newc, gzip)
# with busybox, an /init script and the static test binary.
#
# Usage: build_image.sh GUEST_BINARY OUT_DIR [ERRORS_BINARY]
#   Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.gz.  With ERRORS_BINARY (the static
#   tests/errors_test), the image also holds it as /bin/errors_test and what it reads at run
#   time (docs/errors.md and the public headers) in /xmem; /init runs its VFIO rows.
# Exit codes: 0 built; 2 a dependency could not be installed (the caller reports SKIPPED;
#   the reason is on the last line of stderr, prefixed "REASON: "); 1 any other error.
# Environment: XMEM_GUEST_CACHE (default /var/cache/xmem-guest, or ~/.cache/xmem-guest when
#   that is not writable) holds downloads; XMEM_GUEST_EXTRA_BINS (space-separated paths) adds
#   binaries to the image's /bin.  XMEM_GUEST_KERNEL: a kernel image to boot instead of
#   Debian's (e.g. scripts/guest_kernel.sh's bzImage, which has every driver built in): no
#   Debian kernel is fetched and the initramfs carries no modules.
set -euo pipefail

BIN=${1:?usage: build_image.sh GUEST_BINARY OUT_DIR}
OUT=${2:?usage: build_image.sh GUEST_BINARY OUT_DIR}
ERRBIN=${3:-}
CACHE=${XMEM_GUEST_CACHE:-/var/cache/xmem-guest}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin" # depmod

log() { echo "build_image: $*" >&2; }
skip() { echo "REASON: $*" >&2; exit 2; }

[ -f "$BIN" ] || { log "no such binary: $BIN"; exit 1; }
if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
    CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xmem-guest # not root: a per-user cache
    mkdir -p "$CACHE"
fi
mkdir -p "$OUT"

SUDO=
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi

# ---------------------------------------------------------------- host packages
APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq >&2 || return 1
        APT_UPDATED=1
    fi
}
need_pkg() { # need_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then skip "$1 missing and not root to install $2"; fi
    apt_update_once || skip "apt-get update failed"
    log "apt-get install $2"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$2" >&2 \
        || skip "apt-get install $2 failed"
    command -v "$1" >/dev/null 2>&1 || skip "$2 installed but $1 not found"
}
need_pkg qemu-system-x86_64 qemu-system-x86
need_pkg cpio cpio
need_pkg gzip gzip
need_pkg depmod kmod
# busybox-static installs /bin/busybox (conflicts with the dynamic busybox package).
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then
    if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then skip "static busybox missing and not root"; fi
    apt_update_once || skip "apt-get update failed"
    log "apt-get install busybox-static"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends busybox-static >&2 \
        || skip "apt-get install busybox-static failed"
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || skip "busybox-static did not provide /bin/busybox"
if ldd "$BUSYBOX" >/dev/null 2>&1; then skip "/bin/busybox is not statically linked"; fi

declare -a ORDER=()
if [ -n "${XMEM_GUEST_KERNEL:-}" ]; then
    [ -f "$XMEM_GUEST_KERNEL" ] || { log "no such kernel: $XMEM_GUEST_KERNEL"; exit 1; }
    VMLINUZ=$XMEM_GUEST_KERNEL
    log "kernel $VMLINUZ (given; drivers built in, no modules)"
else
# ---------------------------------------------------------------- kernel package
# Resolve the one kernel image package the metapackage depends on (never a glob over versions).
KPKG=""
resolve_kpkg() {
    apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends/{print $2}' | grep '^linux-image-' | head -n1
}
KPKG=$(resolve_kpkg || true)
if [ -z "$KPKG" ]; then
    apt_update_once || true
    KPKG=$(resolve_kpkg || true)
fi
if [ -z "$KPKG" ]; then
    # Offline and no apt lists: fall back to a kernel already unpacked in the cache.
    KPKG=$(cat "$CACHE/kernel.pkg" 2>/dev/null || true)
    [ -n "$KPKG" ] || skip "cannot resolve the kernel package of linux-image-amd64"
    log "apt-cache gave nothing; using cached $KPKG"
fi
KROOT="$CACHE/$KPKG"
if [ ! -f "$KROOT/.done" ]; then
    log "downloading $KPKG (about 100 MB, once)"
    rm -rf "$CACHE/dl" "$KROOT"
    mkdir -p "$CACHE/dl"
    # Sandbox user root: the cache directory is not readable by _apt.
    if ! ( cd "$CACHE/dl" && apt-get -q -o APT::Sandbox::User=root download "$KPKG" >&2 ); then
        # Stale package lists name a kernel the archive no longer has: refresh once, retry.
        [ "$APT_UPDATED" = 0 ] || skip "apt-get download $KPKG failed"
        apt_update_once || skip "apt-get download $KPKG failed and apt-get update failed"
        KPKG=$(resolve_kpkg || true)
        [ -n "$KPKG" ] || skip "cannot resolve the kernel package of linux-image-amd64"
        KROOT="$CACHE/$KPKG"
        rm -rf "$KROOT"
        ( cd "$CACHE/dl" && apt-get -q -o APT::Sandbox::User=root download "$KPKG" >&2 ) \
            || skip "apt-get download $KPKG failed"
    fi
    deb=$(ls "$CACHE/dl"/*.deb | head -n1)
    mkdir -p "$KROOT"
    dpkg -x "$deb" "$KROOT" || { rm -rf "$KROOT"; skip "dpkg -x $deb failed"; }
    rm -rf "$CACHE/dl"
    touch "$KROOT/.done"
    echo "$KPKG" > "$CACHE/kernel.pkg"
    # Keep one kernel: drop versions an earlier run unpacked.
    for old in "$CACHE"/linux-image-*; do
        [ "$old" = "$KROOT" ] || rm -rf "$old"
    done
fi
VMLINUZ=$(ls "$KROOT"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$VMLINUZ" ] || skip "no vmlinuz in $KPKG"
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR="$KROOT/lib/modules/$KVER"
[ -d "$MODDIR" ] || skip "no modules directory for $KVER"
# The package ships no modules.dep (its postinst runs depmod); make it once in the cache.
if [ ! -s "$MODDIR/modules.dep" ]; then
    log "depmod -b $KROOT $KVER"
    depmod -b "$KROOT" "$KVER" || skip "depmod failed"
fi
log "kernel $KVER"

# ---------------------------------------------------------------- modules
# Wanted modules, by name. Any of them may be built in (modules.builtin) or absent in this
# kernel (vfio_virqfd was folded into vfio in 6.2+); that is fine. Dependencies come from
# modules.dep; the final load order follows modules.dep (dependencies first).
WANT="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"
norm() { echo "$1" | tr '-' '_'; }
modpath() { # relative path of module $1 in modules.dep, or empty
    local n; n=$(norm "$1")
    awk -F: -v n="$n" '{ p=$1; b=p; sub(/.*\//,"",b); sub(/\.ko(\.xz|\.zst|\.gz)?$/,"",b); gsub(/-/,"_",b); if (b==n) { print p; exit } }' "$MODDIR/modules.dep"
}
isbuiltin() {
    local n; n=$(norm "$1")
    [ -f "$MODDIR/modules.builtin" ] || return 1
    awk -v n="$n" '{ b=$1; sub(/.*\//,"",b); sub(/\.ko$/,"",b); gsub(/-/,"_",b); if (b==n) f=1 } END { exit !f }' "$MODDIR/modules.builtin"
}
declare -A SEEN=()
visit() { # depth-first over modules.dep, dependencies first
    local rel="$1"
    [ -n "${SEEN[$rel]:-}" ] && return 0
    SEEN[$rel]=1
    local deps d
    deps=$(awk -F: -v p="$rel" '$1==p { print $2; exit }' "$MODDIR/modules.dep")
    for d in $deps; do visit "$d"; done
    ORDER+=("$rel")
}
for m in $WANT; do
    rel=$(modpath "$m")
    if [ -n "$rel" ]; then
        visit "$rel"
    elif isbuiltin "$m"; then
        log "module $m is built in"
    else
        log "module $m is absent in $KVER (ok)"
    fi
done
[ "${#ORDER[@]}" -gt 0 ] || log "all VFIO modules built in"
fi # XMEM_GUEST_KERNEL

# ---------------------------------------------------------------- initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xmem-initrd.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,mnt,lib/modules,etc}
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh mount mkdir echo cat ls insmod poweroff sleep grep dmesg ln sed; do ln -sf busybox "$R/bin/$a"; done
install -m 0755 "$BIN" "$R/bin/guest_test"
# XMEM_GUEST_EXTRA_BINS: more static binaries for /bin (e.g. the NUMA experiment tool).
for extra in ${XMEM_GUEST_EXTRA_BINS:-}; do
    install -m 0755 "$extra" "$R/bin/${extra##*/}"
done
if [ -n "$ERRBIN" ]; then
    install -m 0755 "$ERRBIN" "$R/bin/errors_test"
    mkdir -p "$R/xmem"
    cp "$ROOT/docs/errors.md" "$ROOT"/include/xmem/xmem.h "$ROOT"/include/xmem/xmem_pool.h \
        "$ROOT"/include/xmem/xmem_dma.h "$ROOT"/include/xmem/xmem_vfio.h \
        "$ROOT"/include/xmem/xmem_numa.h "$ROOT"/include/xmem/xmem_devmem.h "$ROOT"/include/xmem/xmem_shared.h \
        "$ROOT"/testing/xmem_testdev.h "$R/xmem/"
fi

: > "$R/lib/modules/load_order"
for rel in ${ORDER[@]+"${ORDER[@]}"}; do
    src="$MODDIR/$rel"
    base=${rel##*/}
    case "$base" in
        *.ko.xz)  xz -dc "$src"   > "$R/lib/modules/${base%.xz}";  base=${base%.xz} ;;
        *.ko.zst) zstd -qdc "$src" > "$R/lib/modules/${base%.zst}"; base=${base%.zst} ;;
        *.ko.gz)  gzip -dc "$src" > "$R/lib/modules/${base%.gz}";  base=${base%.gz} ;;
        *.ko)     cp "$src" "$R/lib/modules/$base" ;;
    esac
    echo "$base" >> "$R/lib/modules/load_order"
done
log "modules: $(tr '\n' ' ' < "$R/lib/modules/load_order")"

install -m 0755 "$HERE/init.sh" "$R/init"

( cd "$R" && find . -print0 | cpio --null -o -H newc --quiet ) | gzip -1 > "$OUT/initrd.gz.tmp"
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
cp "$VMLINUZ" "$OUT/vmlinuz"
log "wrote $OUT/vmlinuz and $OUT/initrd.gz ($(du -h "$OUT/initrd.gz" | cut -f1))"
