#!/usr/bin/env bash
# Makes crun from Debian trixie (1.21) runnable on this Debian bookworm host
# for the real node, without putting trixie's libraries on the host's system
# paths. Kubernetes needs crun 1.9 or newer for user namespace pods; RHCOS 9
# runs pods with crun by default and RHCOS 10 has no runc. Bookworm's crun
# (1.8) is too old, and also refuses this machine's cgroup v1 hybrid mode.
#
# What runs: trixie's own /usr/bin/crun binary, its ELF interpreter and
# DT_RPATH rewritten (patchelf) to a private copy of trixie's dynamic loader
# and of the libraries crun links (libc, libm, libsystemd, libseccomp,
# libcap, libyajl), all under the cache directory below. A wrapper that
# starts crun through the loader (ld.so --library-path ... crun) does not
# work: crun re-executes /proc/self/exe from a sealed memory file (its
# CVE-2019-5736 guard), which would then be the loader. The packages come
# from the UDI-shaped base root filesystem (hack/build-udi-base.sh), which
# installs crun from trixie.
#
# Prints the directory holding `crun` as its last line on stdout, keyed by
# the base's and this script's hashes. Needs root only to build the base.
set -euo pipefail

CACHE_ROOT="${NESTED_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/k8s-bins}"
DEBIAN_PACKAGES=(patchelf)
say() { printf '[node-crun] %s\n' "$*" >&2; }
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

base="$(bash "$here/build-udi-base.sh" --print-path)"
key="$( (basename "$base"; cat "$0") | sha256sum | cut -c1-16)"
OUT="$CACHE_ROOT/node_crun-trixie-$key"
if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi

build_lock "$CACHE_ROOT/.build-node-crun.lock"
if [[ -x "$OUT/crun" ]]; then
  say "cached in $OUT"
  echo "$OUT"
  exit 0
fi
missing_pkgs="$(debian_packages_missing "${DEBIAN_PACKAGES[@]}")"
if [[ -n "$missing_pkgs" ]]; then
  # shellcheck disable=SC2086 # a list of package names
  install_debian_packages $missing_pkgs
fi
base="$(bash "$here/build-udi-base.sh" | tail -n 1)"

work="$(mktemp -d "${TMPDIR:-/tmp}/nested-node-crun.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -xf "$base" -C "$work" ./usr/bin/crun ./usr/lib/x86_64-linux-gnu
libdir="$work/usr/lib/x86_64-linux-gnu"
loader="$libdir/ld-linux-x86-64.so.2"
mkdir -p "$OUT.tmp/lib"
# The loader lists what crun needs, resolved inside the extracted root.
"$loader" --library-path "$libdir" --list "$work/usr/bin/crun" |
  awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
    cp -L "$lib" "$OUT.tmp/lib/"
  done
cp -L "$loader" "$OUT.tmp/lib/"
cp "$work/usr/bin/crun" "$OUT.tmp/crun"
patchelf --set-interpreter "$OUT/lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$OUT/lib" "$OUT.tmp/crun"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
say "crun $("$OUT/crun" --version | head -n 1 | awk '{print $3}') ready in $OUT (libraries: $(cd "$OUT/lib" && echo *))"
echo "$OUT"
