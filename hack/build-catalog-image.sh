#!/usr/bin/env bash
# Builds the catalog image with podman from the File-Based Catalog in
# catalog/ (make catalog writes it): $CATALOG_IMAGE, also tagged :latest,
# which the CatalogSource and ClusterCatalog examples in manifests/olm
# name (OLM polls it, so moving :latest publishes a release).
#
#   OPM_IMAGE=...   the base image with /bin/opm (default in
#                   hack/catalog.Containerfile); it must be pullable
#   PODMAN="podman --root DIR ..."  another podman command line
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${VERSION:-$(cat VERSION)}"
IMAGE="${IMAGE:?set IMAGE, or run make catalog-image}"
CATALOG_IMAGE="${CATALOG_IMAGE:-$IMAGE-catalog:v$VERSION}"
PODMAN="${PODMAN:-podman}"
say() { printf '[catalog-image] %s\n' "$*" >&2; }

[[ -f catalog/nested-workspaces-enabler/catalog.yaml ]] || { echo "no catalog: run make catalog first" >&2; exit 1; }
context="$(mktemp -d "${TMPDIR:-/tmp}/nested-catalog.XXXXXX")"
trap 'rm -rf "$context"' EXIT
cp -r catalog "$context/catalog"
build_args=()
[[ -z "${OPM_IMAGE:-}" ]] || build_args=(--build-arg "OPM_IMAGE=$OPM_IMAGE")
say "podman build $CATALOG_IMAGE"
$PODMAN build --quiet --format docker "${build_args[@]}" -f hack/catalog.Containerfile -t "$CATALOG_IMAGE" "$context" >/dev/null
latest="${CATALOG_IMAGE%:*}:latest"
$PODMAN tag "$CATALOG_IMAGE" "$latest"
say "built $CATALOG_IMAGE (and $latest); push both with podman push"
echo "$CATALOG_IMAGE"
