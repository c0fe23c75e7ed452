#!/usr/bin/env bash
# The real node's workspace image, built as an admin builds it: the
# UDI-shaped trixie base (hack/build-udi-base.sh) is imported into podman
# storage of its own (no registry), hack/build-udi-image.sh builds
# udi/Containerfile on it, and the result is saved as a docker archive that
# containerd imports. Usage: build-udi-node-image.sh OUT.tar TAG
#
# The podman storage is kept under the cache, keyed by the base's hash, so
# that the base is imported once; each build tags a name of its own and
# removes it after saving, so that builds from two checkouts never save each
# other's image. Host podman is Debian bookworm's (4.3) as root, on its own
# storage (overlay), with runc and cgroupfs: this machine has cgroup v1 in
# hybrid mode and no systemd. Its run root is /run/nested-udi-KEY (podman
# refuses one longer than 50 characters). Needs root.
set -euo pipefail
out="${1:?usage: build-udi-node-image.sh OUT.tar TAG}"
tag="${2:?usage: build-udi-node-image.sh OUT.tar TAG}"
here="$(cd "$(dirname "$0")" && pwd)"
DEBIAN_PACKAGES=(podman runc)
say() { printf '[udi-node-image] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

missing_pkgs="$(debian_packages_missing "${DEBIAN_PACKAGES[@]}")"
if [[ -n "$missing_pkgs" ]]; then
  # shellcheck disable=SC2086 # a list of package names
  install_debian_packages $missing_pkgs
fi
base_tar="$(bash "$here/build-udi-base.sh" | tail -n 1)"
key="$(basename "$base_tar" .tar | sed 's/^udi-base-rootfs-//')"
store="${NESTED_PODMAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/podman}/udi-$key"
mkdir -p "$store"
podman_cmd="podman --root $store/root --runroot /run/nested-udi-${key#trixie-} --tmpdir $store/tmp --storage-driver overlay --runtime runc --cgroup-manager cgroupfs --events-backend file"
base_ref="localhost/nested-workspaces/udi-base:$key"
(
  flock 9
  if ! $podman_cmd image exists "$base_ref"; then
    say "importing the UDI-shaped base $base_tar as $base_ref"
    changes=()
    while IFS= read -r c; do changes+=(--change "$c"); done < <(bash "$here/build-udi-base.sh" --print-config)
    $podman_cmd import -q "${changes[@]}" "$base_tar" "$base_ref" >/dev/null
  fi
) 9>"$store.lock"
build_tag="$tag-build$$"
trap '$podman_cmd rmi -f "$build_tag" >/dev/null 2>&1 || true' EXIT
start=$SECONDS
PODMAN="$podman_cmd" UDI_IMAGE="$base_ref" UDI_LAYER_IMAGE="$build_tag" \
  PODMAN_BUILD_FLAGS="--network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --layers=false" \
  bash "$here/build-udi-image.sh" >/dev/null
$podman_cmd tag "$build_tag" "$tag"
rm -f "$out"
$podman_cmd save -q --format docker-archive -o "$out" "$tag"
$podman_cmd untag "$tag" "$tag" >/dev/null 2>&1 || true
say "built and saved $tag in $((SECONDS - start))s: $out"
echo "$out"
