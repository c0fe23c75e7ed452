#!/usr/bin/env bash
# Builds the root filesystem of a UDI-shaped base image from Debian trixie
# packages, with no registry: the stand-in for the Universal Developer Image
# on which the real node's test builds udi/Containerfile, exactly as an admin
# builds it on the real UDI.
#
# What it models, and from where: devfile/developer-images, base/ubi9
# (Dockerfile, entrypoint.sh, kubedock_setup.sh, podman-wrapper.sh,
# .stow-local-ignore, .copy-files), main at commit 131c3978 (2026-07-14).
# Nothing is copied from there; every file below is written here:
#   - podman 5 (trixie: 5.4) with buildah, skopeo, fuse-overlayfs, crun,
#     netavark, aardvark-dns, nftables (netavark's firewall for published
#     ports), passt (pasta, podman 5's default rootless network) and
#     catatonit, as the UDI's `dnf install podman buildah
#     skopeo fuse-overlayfs` brings them; newuidmap and newgidmap with file
#     capabilities (the UDI reinstalls RHEL's shadow-utils, which ships
#     them so), not Debian's setuid root;
#   - podman moved to /usr/bin/podman.orig (Dockerfile: `mv /usr/bin/podman
#     ${ORIGINAL_PODMAN_PATH}`), a wrapper at /usr/bin/podman.wrapper that
#     sends kubedock's commands to tcp://127.0.0.1:2475 (podman-wrapper.sh),
#     and /usr/local/bin/kubedock_setup, which the entrypoint sources: it
#     links ~/.local/bin/podman to podman.orig, or to the wrapper when
#     KUBEDOCK_ENABLED=true and a kubeconfig exists (kubedock itself is not
#     here: it is a download, and there is no cluster API for it to use);
#   - ~/.local/bin first in PATH (ENV PATH="/home/user/.local/bin:$PATH"),
#     BUILDAH_ISOLATION=chroot, _BUILDAH_STARTED_IN_USERNS="", KUBECONFIG,
#     PODMAN_WRAPPER_PATH, ORIGINAL_PODMAN_PATH: the image config, written
#     by the caller from udi_base_env below (printed with --print-config);
#   - user `user`, UID 10001, in group root, home /home/user (useradd -u
#     10001 -G wheel,root; Debian has no wheel), /etc/subuid and /etc/subgid
#     `user:10000:65536`, /etc/passwd, /etc/group, /etc/subuid, /etc/subgid
#     and /home group-writable by group 0 (chmod g=u);
#   - /etc/containers/storage.conf as UBI's containers-common ships it after
#     the Dockerfile's sed: mount_program = fuse-overlayfs uncommented and
#     the additional image store /var/lib/shared, whose overlay-images and
#     overlay-layers directories and lock files exist;
#   - /home/tooling with .stow-local-ignore, .copy-files, .bashrc and
#     .bash_profile, stowed into /home/user; the entrypoint stows again into
#     a /home/user that is a mount point (persistUserHome's PVC);
#   - /entrypoint.sh: $HOME made; ~/.config/containers/storage.conf written
#     (fuse-overlayfs when /dev/fuse and /usr/bin/fuse-overlayfs exist, else
#     vfs) only when ~/.config/containers is absent; a passwd and group
#     entry for an arbitrary UID; with HOST_USERS=false, /etc/subuid and
#     /etc/subgid replaced by `NAME:UID+1:65535-UID` for a UID below 65536;
#     kubedock_setup; stow; .copy-files; .config links; exec "$@"
#     (the JDK CA import is left out: there is no JDK);
#   - ENTRYPOINT /usr/libexec/podman/catatonit -- /entrypoint.sh, CMD tail -f
#     /dev/null, USER 10001, WORKDIR /projects.
# Beyond the UDI, as the real node's tests need them and as udi/Containerfile
# adds them: podman-compose, docker-cli, docker-compose (v2) and
# podman-docker; runc (crun refuses cgroup v1 hybrid mode: see
# docs/udi-setup.md); iproute2, procps.
#
# Writes a tarball (file capabilities as PAX xattrs) into a cache directory
# outside the clone, keyed by this script's hash, and prints its path as the
# last line on stdout. Needs root (debootstrap, chroot, setcap); installs
# debootstrap itself. Cold: ~3-5 min, mostly downloads.
set -euo pipefail

SUITE="${UDI_BASE_SUITE:-trixie}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(podman buildah skopeo fuse-overlayfs passt crun runc uidmap catatonit netavark aardvark-dns nftables iptables
  podman-compose docker-cli docker-compose
  stow libcap2-bin iproute2 procps ca-certificates less)
CACHE_ROOT="${NESTED_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/images}"
key="$(sha256sum "$0" | cut -c1-16)"
OUT="$CACHE_ROOT/udi-base-rootfs-${SUITE}-${key}.tar"

# The image config of the real UDI's base/ubi9 Dockerfile (ENV, USER,
# WORKDIR, ENTRYPOINT, CMD), one `podman import --change` each.
udi_base_config=(
  'ENV PATH=/home/user/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'ENV HOME=/home/user'
  'ENV _BUILDAH_STARTED_IN_USERNS='
  'ENV BUILDAH_ISOLATION=chroot'
  'ENV KUBECONFIG=/home/user/.kube/config'
  'ENV PODMAN_WRAPPER_PATH=/usr/bin/podman.wrapper'
  'ENV ORIGINAL_PODMAN_PATH=/usr/bin/podman.orig'
  'USER 10001'
  'WORKDIR /projects'
  'ENTRYPOINT ["/usr/libexec/podman/catatonit","--","/entrypoint.sh"]'
  'CMD ["tail","-f","/dev/null"]'
)

say() { printf '[udi-base] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
  --print-path) echo "$OUT"; exit 0 ;;
  --print-config) printf '%s\n' "${udi_base_config[@]}"; exit 0 ;;
esac
build_lock "$CACHE_ROOT/.build-udi-base.lock"
if [[ -f "$OUT" ]]; then
  say "cached: $OUT"
  echo "$OUT"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  say "building the UDI-shaped base needs root (debootstrap, chroot, setcap)"
  exit 1
fi
tool_packages=()
command -v debootstrap >/dev/null || tool_packages+=(debootstrap)
command -v setcap >/dev/null || tool_packages+=(libcap2-bin)
if [[ ${#tool_packages[@]} -gt 0 ]]; then
  install_debian_packages "${tool_packages[@]}"
fi

mkdir -p "$CACHE_ROOT"
work="$(mktemp -d "${TMPDIR:-/tmp}/nested-udi-base.XXXXXX")"
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
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# --- podman behind ~/.local/bin, as the UDI has it ----------------------------
mv "$root/usr/bin/podman" "$root/usr/bin/podman.orig"
cat >"$root/usr/bin/podman.wrapper" <<'SH'
#!/bin/bash
# UDI-shaped (devfile/developer-images base/ubi9 podman-wrapper.sh): the
# commands kubedock serves go to kubedock's API at 127.0.0.1:2475, the rest
# to the real podman.
set -euo pipefail
real="${PODMAN_ORIGINAL_PATH:-/usr/bin/podman.orig}"
served=" ${KUBEDOCK_SUPPORTED_COMMANDS:-run ps exec cp logs inspect kill rm wait stop start} "
if [[ $# -gt 0 && "$served" == *" $1 "* ]]; then
  exec env CONTAINER_HOST=tcp://127.0.0.1:2475 "$real" "$@"
fi
exec "$real" "$@"
SH
chmod 0755 "$root/usr/bin/podman.wrapper"
mkdir -p "$root/usr/local/bin"
cat >"$root/usr/local/bin/kubedock_setup" <<'SH'
#!/bin/bash
# UDI-shaped (devfile/developer-images base/ubi9 kubedock_setup.sh), sourced
# by /entrypoint.sh: ~/.local/bin/podman is the real podman, or kubedock's
# wrapper when KUBEDOCK_ENABLED=true and a kubeconfig shows up in time.
udi_local_bin=/home/user/.local/bin
mkdir -p "$udi_local_bin"
if [ "${KUBEDOCK_ENABLED:-false}" = "true" ]; then
  echo "Kubedock is enabled (KUBEDOCK_ENABLED=true)."
  waited=0
  until [ -f "$KUBECONFIG" ] || [ "$waited" -gt "${KUBEDOCK_TIMEOUT:-10}" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if [ -f "$KUBECONFIG" ]; then
    if command -v kubedock >/dev/null; then
      kubedock server ${KUBEDOCK_PARAMS:-"--reverse-proxy --kubeconfig $KUBECONFIG"} >/tmp/kubedock.log 2>&1 &
    else
      echo "kubedock is not installed in this image: its commands will find nothing at 127.0.0.1:2475"
    fi
    ln -f -s "${PODMAN_WRAPPER_PATH:-/usr/bin/podman.wrapper}" "$udi_local_bin/podman"
    export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_CHECKS_DISABLE=true
  else
    echo "No kubeconfig at $KUBECONFIG: kubedock not started."
  fi
else
  echo "Kubedock is disabled (KUBEDOCK_ENABLED=true enables it)."
  ln -f -s "${ORIGINAL_PODMAN_PATH:-/usr/bin/podman.orig}" "$udi_local_bin/podman"
fi
SH
chmod 0755 "$root/usr/local/bin/kubedock_setup"
# The UDI's ENTRYPOINT names catatonit where RHEL's podman installs it.
if [[ ! -e "$root/usr/libexec/podman/catatonit" ]]; then
  mkdir -p "$root/usr/libexec/podman"
  ln -s /usr/bin/catatonit "$root/usr/libexec/podman/catatonit"
fi

# --- rootless podman and buildah, as the UDI tweaks them -----------------------
# RHEL's shadow-utils: file capabilities, not setuid root.
chmod 0755 "$root/usr/bin/newuidmap" "$root/usr/bin/newgidmap"
setcap cap_setuid=ep "$root/usr/bin/newuidmap"
setcap cap_setgid=ep "$root/usr/bin/newgidmap"
echo user:10000:65536 >"$root/etc/subuid"
echo user:10000:65536 >"$root/etc/subgid"
chmod g=u "$root/etc/subuid" "$root/etc/subgid" "$root/etc/passwd"
mkdir -p "$root/etc/containers"
cat >"$root/etc/containers/storage.conf" <<'TOML'
# UDI-shaped: UBI 9's containers-common storage.conf after the UDI
# Dockerfile's sed (mount_program uncommented, /var/lib/shared added).
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = [
"/var/lib/shared",
]

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev,metacopy=on"
TOML
mkdir -p "$root/var/lib/shared/overlay-images" "$root/var/lib/shared/overlay-layers"
touch "$root/var/lib/shared/overlay-images/images.lock" "$root/var/lib/shared/overlay-layers/layers.lock"

# --- the user, /home/tooling and the entrypoint --------------------------------
mkdir -p "$root/home/tooling"
cat >"$root/home/tooling/.stow-local-ignore" <<'EOF'
# UDI-shaped .stow-local-ignore: copied, not linked (see .copy-files), or
# links stow cannot handle.
\.viminfo
\.bashrc
\.bash_profile
\.local/bin/podman
\.config
\.copy-files
EOF
cat >"$root/home/tooling/.copy-files" <<'EOF'
# UDI-shaped .copy-files: copied from /home/tooling into the home at start
# (not linked), so that they persist on a PVC home.
.bashrc
.bash_profile
EOF
in_root useradd -u 10001 -G root -d /home/user --shell /bin/bash -m user
cp "$root/home/user/.bashrc" "$root/home/tooling/.bashrc"
cp "$root/home/user/.bash_profile" "$root/home/tooling/.bash_profile" 2>/dev/null ||
  cp "$root/home/user/.profile" "$root/home/tooling/.bash_profile"
chown 10001 "$root/home/tooling/.bashrc" "$root/home/tooling/.bash_profile" "$root/home/tooling/.stow-local-ignore" "$root/home/tooling/.copy-files"
cat >"$root/etc/profile.d/udi_prompt.sh" <<'EOF'
export PS1='\W $ '
EOF
chown 10001 "$root/etc/profile.d/udi_prompt.sh"
chgrp -R 0 "$root/home"
chmod -R g=u "$root/etc/passwd" "$root/etc/group" "$root/home"
in_root stow . -t /home/user/ -d /home/tooling/
mkdir -p "$root/projects"

cat >"$root/entrypoint.sh" <<'SH'
#!/bin/bash
# UDI-shaped /entrypoint.sh (devfile/developer-images base/ubi9 entrypoint.sh,
# written anew; the JDK CA import is left out: no JDK here).
mkdir -p "${HOME}"

# Storage for container builds, only where the user has no configuration.
if [ ! -d "${HOME}/.config/containers" ]; then
  mkdir -p "${HOME}/.config/containers"
  if [ -c /dev/fuse ] && [ -f /usr/bin/fuse-overlayfs ]; then
    printf '[storage]\ndriver = "overlay"\n[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n' >"${HOME}/.config/containers/storage.conf"
  else
    printf '[storage]\ndriver = "vfs"\n' >"${HOME}/.config/containers/storage.conf"
  fi
fi

if [ -w "${HOME}" ] && [ ! -f "${HOME}/.bashrc" ]; then
  echo "PS1='[\u@\h \W]\$ '" >"${HOME}/.bashrc"
fi

# An arbitrary UID gets a passwd and a group entry.
if ! whoami >/dev/null 2>&1 && [ -w /etc/passwd ]; then
  echo "${USER_NAME:-user}:x:$(id -u):0:${USER_NAME:-user} user:${HOME}:/bin/bash" >>/etc/passwd
  echo "${USER_NAME:-user}:x:$(id -u):" >>/etc/group
fi

# In a pod user namespace (the DevWorkspace Operator sets HOST_USERS=false
# with hostUsers: false): subordinate IDs UID+1 .. 65535.
if [ "${HOST_USERS}" = "false" ]; then
  echo "Running in a user namespace: uid_map $(cat /proc/self/uid_map 2>/dev/null)"
  if whoami >/dev/null 2>&1; then
    uid=$(id -u)
    if [ "$uid" -lt 65536 ]; then
      range="$(whoami):$((uid + 1)):$((65536 - uid - 1))"
      [ -w /etc/subuid ] && echo "$range" >/etc/subuid && echo "/etc/subuid updated"
      [ -w /etc/subgid ] && echo "$range" >/etc/subgid && echo "/etc/subgid updated"
    fi
  fi
fi

source kubedock_setup

# persistUserHome: /home/user is a PVC; link /home/tooling into it once,
# leaving the user's own regular files alone.
if mountpoint -q /home/user/ && [ ! -f /home/user/.stow_completed ]; then
  find /home/user -type f -xtype f -print | sed 's|^/home/user||' | sort >/tmp/user.txt
  find /home/tooling -print | sed 's|^/home/tooling||' | sort >/tmp/tooling.txt
  comm -12 /tmp/user.txt /tmp/tooling.txt >>/home/tooling/.stow-local-ignore
  rm -f /tmp/user.txt /tmp/tooling.txt
  stow . -t /home/user/ -d /home/tooling/ --no-folding -v 2 >/tmp/stow.log 2>&1
  touch /home/user/.stow_completed
fi

# Files that must be copies, not links (they persist on a PVC home).
if [ -f /home/tooling/.copy-files ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    [ -e "/home/tooling/$line" ] && [ ! -e "${HOME}/$line" ] &&
      mkdir -p "$(dirname "${HOME}/$line")" && cp --no-clobber -r "/home/tooling/$line" "${HOME}/$line"
  done </home/tooling/.copy-files
fi

# stow leaves .config alone: link what /home/tooling/.config has and the
# home lacks.
if [ -d /home/tooling/.config ]; then
  find /home/tooling/.config -type f | while read -r f; do
    target="${HOME}/.config/${f#/home/tooling/.config/}"
    [ -e "$target" ] || { mkdir -p "$(dirname "$target")" && ln -s "$f" "$target"; }
  done
fi

exec "$@"
SH
chmod 0755 "$root/entrypoint.sh"

# No package caches or lists in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"

say "writing the tarball ..."
tar --xattrs --xattrs-include='security.capability' --numeric-owner -C "$root" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
say "UDI-shaped base root filesystem ready: $OUT ($(du -h "$OUT" | cut -f1))"
echo "$OUT"
