#!/usr/bin/env bash
# Builds the root filesystem of the real node's workspace image from Debian
# bookworm packages, with no registry: debootstrap (minbase) plus podman,
# podman-compose, uidmap, fuse-overlayfs and what rootless podman needs in a
# pod (slirp4netns, netavark, aardvark-dns, iptables, catatonit, runc, crun), shaped as
# udi/Containerfile shapes the Universal Developer Image: newuidmap and
# newgidmap with file capabilities, /etc/passwd, /etc/group, /etc/subuid and
# /etc/subgid writable by group 0, HOME /home/user, and the entrypoint that
# runs `udi-setup configure`. udi-setup itself is not in it: the test adds
# it as a layer of its own, built from the tree under test.
#
# Writes a tarball (with file capabilities as PAX xattrs) into a cache
# directory outside the clone, keyed by this script's hash, and prints its
# path as the last line on stdout. Needs root (debootstrap, setcap);
# installs debootstrap itself. Cold: ~3-5 min, mostly downloads.
set -euo pipefail

SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# iptables: netavark sets up published ports (-p) with it, in the rootless
# network namespace; without it `podman run -p` fails with "netavark: No such
# file or directory".
PACKAGES=(podman podman-compose uidmap fuse-overlayfs slirp4netns netavark aardvark-dns catatonit
  iptables runc crun libcap2-bin iproute2 procps ca-certificates)
CACHE_ROOT="${NESTED_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/images}"
key="$(sha256sum "$0" | cut -c1-16)"
OUT="$CACHE_ROOT/workspace-rootfs-${SUITE}-${key}.tar"

say() { printf '[workspace-image] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ "${1:-}" == "--print-path" ]]; then echo "$OUT"; exit 0; fi
build_lock "$CACHE_ROOT/.build-workspace-image.lock"
if [[ -f "$OUT" ]]; then
  say "cached: $OUT"
  echo "$OUT"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  say "building the workspace image needs root (debootstrap, setcap)"
  exit 1
fi
tool_packages=()
command -v debootstrap >/dev/null || tool_packages+=(debootstrap)
command -v setcap >/dev/null || tool_packages+=(libcap2-bin)
if [[ ${#tool_packages[@]} -gt 0 ]]; then
  install_debian_packages "${tool_packages[@]}"
fi

mkdir -p "$CACHE_ROOT"
work="$(mktemp -d "${TMPDIR:-/tmp}/nested-workspace-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
say "debootstrap $SUITE (minbase) with ${PACKAGES[*]} from $MIRROR ..."
start=$SECONDS
include="$(IFS=,; echo "${PACKAGES[*]}")"
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [[ -f "$root/debootstrap/debootstrap.log" ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  say "debootstrap failed"
  exit 1
fi
say "debootstrap done in $((SECONDS - start))s"

# What udi/Containerfile does to the UDI.
chmod 0755 "$root/usr/bin/newuidmap" "$root/usr/bin/newgidmap"
setcap cap_setuid+ep "$root/usr/bin/newuidmap"
setcap cap_setgid+ep "$root/usr/bin/newgidmap"
touch "$root/etc/subuid" "$root/etc/subgid"
chgrp 0 "$root/etc/passwd" "$root/etc/group" "$root/etc/subuid" "$root/etc/subgid"
chmod g=u "$root/etc/passwd" "$root/etc/group" "$root/etc/subuid" "$root/etc/subgid"
# The workspace user's home and projects, writable by group 0 as in the
# UDI (the pod runs as an arbitrary UID with group 0).
mkdir -p "$root/home/user" "$root/projects"
chgrp 0 "$root/home/user" "$root/projects"
chmod 0775 "$root/home/user" "$root/projects"
mkdir -p "$root/usr/local/bin"
cat >"$root/usr/local/bin/udi-entrypoint" <<'SH'
#!/bin/sh
# As udi/Containerfile: set nested podman up, or say why not, then run the
# workspace's command.
/usr/local/bin/udi-setup configure ||
    echo "udi-entrypoint: nested podman is not set up; run 'udi-setup doctor' for the reason and the fix" >&2
exec "$@"
SH
chmod 0755 "$root/usr/local/bin/udi-entrypoint"
# No package caches or lists in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"

say "writing the tarball ..."
tar --xattrs --xattrs-include='security.capability' --numeric-owner -C "$root" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
# Older builds (another script version) are of no further use.
find "$CACHE_ROOT" -maxdepth 1 -name 'workspace-rootfs-*.tar' ! -path "$OUT" -delete
say "workspace image root filesystem ready: $OUT ($(du -h "$OUT" | cut -f1))"
echo "$OUT"
