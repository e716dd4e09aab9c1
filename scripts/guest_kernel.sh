#!/usr/bin/env bash
# Build the guest kernel for the iommufd / device-memory guest stage, once.
#
# Source: Debian's linux-source-6.12 (/usr/src/linux-source-6.12.tar.xz).
# Config: x86_64_defconfig + scripts/guest_kernel.config (every driver the
# guest needs is built in, so the initramfs carries no modules for it).
# Cache:  $XMEM_CACHE/guest-kernel/<pkgversion>-<confighash>/bzImage
#         (XMEM_CACHE defaults to /var/cache/xmem), keyed by the package
#         version and the fragment; a cache hit is a no-op.
# Prints the bzImage path as its last stdout line; build logs go to stderr
# and to build.log next to the bzImage. Fails if any "=y" option of the
# fragment is not =y in the resulting .config.
# Needs root (apt) unless the packages are already installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fragment="$here/guest_kernel.config"
pkg=linux-source-6.12
cache="${XMEM_CACHE:-/var/cache/xmem}/guest-kernel"

# --- packages ---------------------------------------------------------------
PACKAGES=(bc flex bison libelf-dev libssl-dev dwarves xz-utils make gcc "$pkg")
missing=()
for p in "${PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -ne 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "guest_kernel.sh: installing ${missing[*]}" >&2
    aptlog="$(mktemp -t xmem-kernel-apt.XXXXXX)"
    if ! { $SUDO apt-get update -q &&
           $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
               --no-install-recommends "${missing[@]}" </dev/null; } >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        echo "guest_kernel.sh: apt-get install failed" >&2
        exit 1
    fi
    rm -f "$aptlog"
fi

# --- cache key ----------------------------------------------------------------
version="$(dpkg-query -W -f='${Version}' "$pkg")"
# Only the option lines count: comments in the fragment do not change the key.
confhash="$(grep -v '^#' "$fragment" | grep . | sort | sha256sum | cut -c1-16)"
key="${version}-${confhash}"
out="$cache/$key"
if [ -s "$out/bzImage" ]; then
    echo "guest_kernel.sh: cache hit $out/bzImage" >&2
    echo "$out/bzImage"
    exit 0
fi

mkdir -p "$cache"
# One builder at a time per cache; a second caller waits, then hits the cache.
exec 9>"$cache/.lock"
flock 9
if [ -s "$out/bzImage" ]; then
    echo "$out/bzImage"
    exit 0
fi

tarball="/usr/src/$pkg.tar.xz"
[ -f "$tarball" ] || { echo "guest_kernel.sh: $tarball missing" >&2; exit 1; }
work="$cache/build-$key"
src="$work/$pkg"
log="$work/build.log"
start=$(date +%s)
# A build that was interrupted (killed, machine rebooted) resumes in its tree: make is
# incremental. A tree whose extraction did not finish is thrown away.
if [ -f "$work/.extracted" ]; then
    echo "guest_kernel.sh: resuming the build in $work; log $log" >&2
else
    rm -rf "$work"
    mkdir -p "$work"
    echo "guest_kernel.sh: building $pkg $version (config $confhash) in $work; log $log" >&2
    tar -C "$work" -xf "$tarball"
    touch "$work/.extracted"
fi
args=()
while IFS='=' read -r opt val; do
    case "$opt" in ''|'#'*) continue ;; esac
    case "$val" in
        y) args+=(-e "$opt") ;;
        n) args+=(-d "$opt") ;;
        *) echo "guest_kernel.sh: bad line $opt=$val in $fragment" >&2; exit 1 ;;
    esac
done <"$fragment"

jobs="${XMEM_KERNEL_JOBS:-$(nproc)}"
if ! ( cd "$src" &&
       make x86_64_defconfig &&
       ./scripts/config "${args[@]}" &&
       make olddefconfig &&
       make -j"$jobs" bzImage ) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "guest_kernel.sh: build failed; full log $log" >&2
    exit 1
fi

# Every required option must have survived olddefconfig (a missing
# dependency silently turns an option off).
bad=0
while IFS='=' read -r opt val; do
    case "$opt" in ''|'#'*) continue ;; esac
    [ "$val" = y ] || continue
    if ! grep -qx "CONFIG_$opt=y" "$src/.config"; then
        echo "guest_kernel.sh: CONFIG_$opt is not =y: $(grep -E "(^| )CONFIG_$opt[= ]" "$src/.config" || echo absent)" >&2
        bad=1
    fi
done <"$fragment"
[ "$bad" -eq 0 ] || exit 1

mkdir -p "$out.tmp"
cp "$src/arch/x86/boot/bzImage" "$out.tmp/bzImage"
cp "$src/.config" "$out.tmp/config"
cp "$log" "$out.tmp/build.log"
rm -rf "$out"
mv "$out.tmp" "$out"
# The source tree (about 1.5 GB once built) is not needed after the build;
# the uapi headers the tests compile against are in the project.
rm -rf "$work"
echo "guest_kernel.sh: built $out/bzImage in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
