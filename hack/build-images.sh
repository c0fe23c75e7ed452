#!/usr/bin/env bash
# Builds the operator image and the OLM bundle image with podman, offline:
#   $IMAGE:v$VERSION          a manifest list with one image per ARCHES
#                             (Containerfile: scratch + the static binary)
#   $IMAGE-bundle:v$VERSION   from a bundle generated for that image
# VERSION, IMAGE and ARCHES come from the Makefile (`make images IMAGE=...`).
# Installs podman from Debian when it is missing (as root).
#
#   IMAGE_DIGEST=sha256:...         name the operator image by this digest in
#                                   the bundle's CSV (what podman manifest push
#                                   --digestfile wrote), which then claims
#                                   disconnected support
#   PODMAN="podman --root DIR ..."  use another podman command line (the
#                                   test keeps its images out of the host's
#                                   storage this way)
#
# Push with: podman manifest push --all $IMAGE:v$VERSION docker://$IMAGE:v$VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${VERSION:-$(cat VERSION)}"
IMAGE="${IMAGE:?set IMAGE, or run make images}"
ARCHES="${ARCHES:?set ARCHES, or run make images}"
PODMAN="${PODMAN:-podman}"
LDFLAGS="${LDFLAGS:--X github.com/nested-workspaces/enabler/version.release=$VERSION}"
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

operator="$IMAGE:v$VERSION"
# A list of the same name from an earlier build would gain duplicates.
$PODMAN manifest rm "$operator" >/dev/null 2>&1 || $PODMAN rmi --force "$operator" >/dev/null 2>&1 || true
$PODMAN manifest create "$operator" >/dev/null
for arch in $ARCHES; do
  say "building the static nested-enabler binary for linux/$arch"
  mkdir -p "bin/image/$arch"
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "-s -w $LDFLAGS" -o "bin/image/$arch/nested-enabler" ./cmd/nested-enabler
  say "podman build --platform linux/$arch into $operator"
  $PODMAN build --quiet --format oci --platform "linux/$arch" --build-arg "VERSION=$VERSION" \
    --manifest "$operator" -f Containerfile . >/dev/null
done

bundle_dir="$(mktemp -d "${TMPDIR:-/tmp}/nested-bundle.XXXXXX")"
trap 'rm -rf "$bundle_dir"' EXIT
digest_args=()
[[ -z "${IMAGE_DIGEST:-}" ]] || digest_args=(-image-digest "$IMAGE_DIGEST")
go run ./hack/bundlegen -version "$VERSION" -image "$IMAGE" -arches "$ARCHES" "${digest_args[@]}" -out "$bundle_dir" -kustomization ""
bundle="$IMAGE-bundle:v$VERSION"
say "podman build $bundle (its CSV runs $operator${IMAGE_DIGEST:+ as @$IMAGE_DIGEST})"
$PODMAN build --quiet --format docker -f "$bundle_dir/bundle.Dockerfile" -t "$bundle" "$bundle_dir" >/dev/null

say "built $operator (linux: $ARCHES) and $bundle"
say "push them with: podman manifest push --all $operator docker://$operator && podman push $bundle"
echo "$operator"
echo "$bundle"
