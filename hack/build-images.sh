#!/usr/bin/env bash
# Builds the operator image and the OLM bundle image with podman, offline:
#   $IMAGE:v$VERSION          from Containerfile (scratch + the static binary)
#   $IMAGE-bundle:v$VERSION   from a bundle generated for that image
# VERSION and IMAGE come from the Makefile (`make images IMAGE=...`).
# Installs podman from Debian when it is missing (as root).
#
#   PODMAN="podman --root DIR ..."  use another podman command line (the
#                                   test keeps its images out of the host's
#                                   storage this way)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${VERSION:-$(cat VERSION)}"
IMAGE="${IMAGE:?set IMAGE, or run make images}"
PODMAN="${PODMAN:-podman}"
say() { printf '[images] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source hack/lib.sh

# What this script uses from Debian: podman (with the crun it brings:
# neither image has a RUN step, so no container runs while building).
DEBIAN_PACKAGES=(podman)
missing_pkgs="$(debian_packages_missing "${DEBIAN_PACKAGES[@]}")"
if [[ -n "$missing_pkgs" ]]; then
  # shellcheck disable=SC2086 # a list of package names
  install_debian_packages $missing_pkgs
fi

say "building the static nested-enabler binary"
mkdir -p bin/image
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/image/nested-enabler ./cmd/nested-enabler

operator="$IMAGE:v$VERSION"
say "podman build $operator"
$PODMAN build --quiet --format oci --build-arg "VERSION=$VERSION" -f Containerfile -t "$operator" . >/dev/null

bundle_dir="$(mktemp -d "${TMPDIR:-/tmp}/nested-bundle.XXXXXX")"
trap 'rm -rf "$bundle_dir"' EXIT
go run ./hack/bundlegen -version "$VERSION" -image "$IMAGE" -out "$bundle_dir" -kustomization ""
bundle="$IMAGE-bundle:v$VERSION"
say "podman build $bundle (its CSV runs $operator)"
$PODMAN build --quiet --format docker -f "$bundle_dir/bundle.Dockerfile" -t "$bundle" "$bundle_dir" >/dev/null

size="$($PODMAN image inspect --format '{{.Size}}' "$operator")"
say "built $operator ($((size / 1024 / 1024)) MiB) and $bundle"
say "push them with: podman push $operator && podman push $bundle"
echo "$operator"
echo "$bundle"
