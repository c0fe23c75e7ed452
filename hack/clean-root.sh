#!/usr/bin/env bash
# Runs a command on a clean root: Debian as a fresh machine comes, with
# nothing this project (or anyone else on this machine) installed since.
# CI runs every test binary on a clean root of its own (`go test -exec`), so
# a test or script that uses a Debian package it does not install itself
# fails there — also on a developer's machine where another test installed
# that package long ago.
#
#   clean-root.sh run -- CMD [ARG...]
#       Run CMD, in the current directory, on a throwaway root. Its exit
#       status is CMD's. What CMD installs (apt-get) lands in a scratch
#       directory that is removed afterwards: the host and every other root
#       never see it, and CMD never sees what the host has installed.
#   clean-root.sh base
#       Build the base root (cached) and print its path.
#
# The root is an overlay: a debootstrapped base (minbase, plus what the
# README asks a machine to have besides Go: make, and ca-certificates for the
# Go module proxy) as the lower directory, a fresh upper directory per run.
# Bound in at the same paths, so that builds and caches are shared as on the
# host: the Go toolchain and the user's `go env -w` file (read-only),
# GOCACHE and GOMODCACHE, the project's caches (~/.cache/nested-workspaces:
# binaries built from the Go module proxy, the workspace image; elsewhere
# where NESTED_BINS_CACHE, NESTED_IMAGES_CACHE, NESTED_PROMETHEUS_CACHE or
# NESTED_PODMAN_CACHE move them), the
# checkout, and the directory of CMD itself (go test's binary). The machine's
# resolv.conf, hosts and trusted CAs are copied in. /proc, /sys and /dev are
# the host's (cgroups, /dev/fuse, the real node's iptables); /tmp, /run and
# /dev/shm are fresh. Everything runs in private mount and PID namespaces:
# no mount outlives the run, and neither does any process it started.
#
# Needs root. The root is entered with pivot_root (a chrooted process may not
# create user namespaces). The base is built once with debootstrap (installed on the host
# if missing), keyed by this script's recipe; downloaded .deb files are
# shared between runs (one apt at a time takes them, by apt's own lock).
set -euo pipefail

SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# What a fresh machine has besides debootstrap's minbase, per the README:
# "a fresh Linux machine with Go 1.26, bash and make". Go reaches the module
# proxy over HTTPS, so the machine has the CA certificates.
BASE_PACKAGES=(make ca-certificates)

here="$(cd "$(dirname "$0")" && pwd)"
self="$here/$(basename "$0")"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces"
ROOTS="$CACHE_ROOT/clean-root"

say() { printf '[clean-root] %s\n' "$*" >&2; }

# base_recipe writes what debootstrap's minbase lacks and a fresh machine
# has into the new root $1: the Debian release's updates and security
# suites, as on this machine.
base_recipe() {
  cat >"$1/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
}
# The base is keyed by its recipe: the suite, the mirrors, the packages and
# base_recipe itself.
recipe="$(printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "${BASE_PACKAGES[*]}" "$(declare -f base_recipe)" | sha256sum | cut -c1-16)"
BASE="$ROOTS/$SUITE-$recipe"
# Downloaded .deb files, shared by the roots (hack/measure-cold.sh points it
# at an empty directory).
APT_CACHE="${CLEAN_ROOT_APT_CACHE:-$ROOTS/apt-archives}"

# ensure_base builds the base root unless it is cached.
ensure_base() {
  [[ -f "$BASE/.complete" ]] && return 0
  build_lock "$ROOTS/.build.lock"
  [[ -f "$BASE/.complete" ]] && return 0
  command -v debootstrap >/dev/null || install_debian_packages debootstrap
  say "building the base root: debootstrap $SUITE (minbase) with ${BASE_PACKAGES[*]} (once, ~1-2 min) ..."
  local start=$SECONDS tmp
  rm -rf "$BASE.tmp"
  tmp="$BASE.tmp"
  mkdir -p "$tmp"
  if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE_PACKAGES[*]}")" "$SUITE" "$tmp" "$MIRROR" >"$ROOTS/debootstrap.log" 2>&1; then
    tail -n 30 "$ROOTS/debootstrap.log" >&2
    say "debootstrap failed (log: $ROOTS/debootstrap.log)"
    return 1
  fi
  base_recipe "$tmp"
  touch "$tmp/.complete"
  mv "$tmp" "$BASE"
  # Bases of other recipes are kept: another checkout may be running on
  # one (an overlay's lower directory must not change under it).
  say "base root ready in $((SECONDS - start))s: $BASE"
}

# bind_same SRC: binds SRC (a directory or file on the host) at the same
# path in the root ($root), creating the mount point.
bind_same() {
  local src=$1 flags=${2:-}
  [[ -e "$src" ]] || return 0
  if [[ -d "$src" ]]; then
    mkdir -p "$root$src"
  else
    mkdir -p "$(dirname "$root$src")"
    [[ -e "$root$src" ]] || : >"$root$src"
  fi
  mount --bind "$src" "$root$src"
  if [[ "$flags" == ro ]]; then
    mount -o remount,bind,ro "$root$src"
  fi
}

case "${1:-}" in
base)
  [[ $(id -u) -eq 0 ]] || { say "needs root (debootstrap)"; exit 1; }
  ensure_base
  echo "$BASE"
  ;;

run)
  shift
  [[ "${1:-}" == "--" ]] && shift
  [[ $# -gt 0 ]] || { echo "usage: clean-root.sh run -- CMD [ARG...]" >&2; exit 2; }
  if [[ $(id -u) -ne 0 ]]; then
    say "a clean root needs root (overlay mounts, pivot_root): run as root"
    exit 1
  fi
  ensure_base
  mkdir -p "$APT_CACHE/partial"
  # On disk, not in memory: tests write gigabytes (etcd, images, podman
  # storage), and podman's overlay storage needs a real filesystem under it.
  scratch="$(mktemp -d "${CLEAN_ROOT_SCRATCH:-/var/tmp}/nested-clean-root.XXXXXX")"
  # Runs on the host side, after the private mount namespace is gone: only
  # empty mount points are left there, so nothing bound in is touched.
  trap 'rm -rf --one-file-system "$scratch"' EXIT
  mkdir -p "$scratch/upper" "$scratch/work" "$scratch/root" "$scratch/tmp"
  chmod 1777 "$scratch/tmp"
  set +e
  unshare --mount --pid --fork --kill-child --propagation private -- bash "$self" _inside "$scratch" "$PWD" "$@"
  rc=$?
  set -e
  exit $rc
  ;;

_inside)
  # In private mount and PID namespaces (this shell is PID 1 of the latter).
  scratch=$2 cwd=$3
  shift 3
  root="$scratch/root"
  mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$scratch/upper,workdir=$scratch/work" "$root"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
  mount --rbind /sys "$root/sys"
  mount -t proc proc "$root/proc"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  mkdir -p "$root/run/lock"
  chmod 1777 "$root/run/lock"
  mount --bind "$scratch/tmp" "$root/tmp"
  # The machine's own network settings: minbase has no /etc/hosts (not even
  # localhost would resolve), and the machine may trust CAs of its own (a
  # proxy's) for the Go module proxy.
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/hosts "$root/etc/hosts"
  cp -a /etc/ssl/certs/. "$root/etc/ssl/certs/"
  mount --bind "$APT_CACHE" "$root/var/cache/apt/archives"
  gocache="$(go env GOCACHE)" gomodcache="$(go env GOMODCACHE)" goroot="$(go env GOROOT)"
  # Made here if new (hack/measure-cold.sh's empty caches), so that what
  # the run puts there outlives it.
  mkdir -p "$gocache" "$gomodcache"
  bind_same "$goroot" ro
  # The user's go env -w settings.
  bind_same "$(go env GOENV)" ro
  bind_same "$gocache"
  bind_same "$gomodcache"
  bind_same "$CACHE_ROOT"
  for dir in "${NESTED_BINS_CACHE:-}" "${NESTED_IMAGES_CACHE:-}" "${NESTED_PROMETHEUS_CACHE:-}" "${NESTED_PODMAN_CACHE:-}"; do
    [[ -n "$dir" ]] && { mkdir -p "$dir"; bind_same "$dir"; }
  done
  top="$(git -C "$cwd" rev-parse --show-toplevel 2>/dev/null || true)"
  [[ -n "$top" ]] || top="$(cd "$cwd" && dirname "$(go env GOMOD)")"
  bind_same "$top"
  # A git worktree keeps its repository elsewhere.
  gitdir="$(git -C "$top" rev-parse --git-common-dir 2>/dev/null || true)"
  [[ -n "$gitdir" ]] && bind_same "$(cd "$top" && realpath "$gitdir")"
  # go test -exec: the test binary, in go's work directory.
  if [[ "$1" == /* && -f "$1" ]]; then
    bind_same "$(dirname "$1")"
  fi
  # pivot_root, not chroot: the kernel refuses a user namespace to a
  # chrooted process (podman, the real node and udi-setup's trials make
  # them).
  mkdir -p "$root/.host"
  cd "$root"
  pivot_root . .host
  cd /
  umount -l /.host
  rmdir /.host
  exec /usr/bin/env -C "$cwd" HOME=/root TMPDIR=/tmp GOCACHE="$gocache" GOMODCACHE="$gomodcache" \
    PATH="$goroot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
  ;;

*)
  echo "usage: clean-root.sh run -- CMD [ARG...] | clean-root.sh base" >&2
  exit 2
  ;;
esac
