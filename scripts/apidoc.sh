#!/usr/bin/env bash
# apidoc.sh - the API reference, generated from the public headers
# (include/xmem/*.h) with Doxygen (docs/Doxyfile).
#
#   ./scripts/apidoc.sh           write docs/api/html/ (open index.html; not
#                                 committed)
#   ./scripts/apidoc.sh --check   generate into a temporary directory and fail
#                                 when Doxygen warns about anything but an
#                                 undocumented struct field: every public
#                                 function, type and macro must be documented
#                                 (/** ... */ comments)
# Installs doxygen first if it is missing (scripts/deps.sh docs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    *) echo "usage: scripts/apidoc.sh [--check]" >&2; exit 2 ;;
esac

command -v doxygen >/dev/null 2>&1 || bash "$ROOT/scripts/deps.sh" docs </dev/null

ver() { sed -n "s/^XMEM_VERSION_$1 = \([0-9][0-9]*\)$/\1/p" "$ROOT/version.bzl"; }
export XMEM_VERSION="$(ver MAJOR).$(ver MINOR).$(ver PATCH)"
if [ "$check" = 1 ]; then
    XMEM_APIDOC_OUT="$(mktemp -d -t xmem-apidoc.XXXXXX)"
    trap 'rm -rf "$XMEM_APIDOC_OUT"' EXIT
else
    XMEM_APIDOC_OUT="$ROOT/docs/api"
    rm -rf "$XMEM_APIDOC_OUT"
    mkdir -p "$XMEM_APIDOC_OUT"
fi
export XMEM_APIDOC_OUT

doxygen docs/Doxyfile
log="$XMEM_APIDOC_OUT/warnings.txt"
n_all="$(grep -c 'warning:' "$log" || true)"
# Undocumented struct fields are tolerated (most are named for what they
# hold); anything else is a failure.
bad="$(grep 'warning:' "$log" | grep -vE 'warning: Member .* \(variable\) of struct [a-z_]+ is not documented\.$' || true)"
if [ -n "$bad" ]; then
    sed "s|$ROOT/||" <<<"$bad"
    echo "apidoc: $(wc -l <<<"$bad") warnings about undocumented or badly documented API (functions, types, macros)"
    exit 1
fi
if [ "$check" = 1 ]; then
    echo "apidoc: every public function, type and macro documented ($n_all undocumented struct fields)"
else
    echo "apidoc: wrote $XMEM_APIDOC_OUT/html/index.html ($n_all undocumented struct fields)"
fi
