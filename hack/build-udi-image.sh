#!/usr/bin/env bash
# Builds the nested-podman layer (udi/Containerfile) on a Universal Developer
# Image with podman: the image Dev Spaces workspaces run (docs/udi-setup.md).
# No registry is needed but the one holding the UDI: udi-setup is built here,
# statically, into the build context bin/udi/.
#
#   UDI_IMAGE        the base, default quay.io/devfile/universal-developer-image:ubi9-latest
#   UDI_LAYER_IMAGE  the tag to build, default localhost/udi-nested:latest
#   PODMAN           the podman command line, default podman (the real node's
#                    test uses storage of its own: "podman --root DIR ...")
#   PODMAN_BUILD_FLAGS  more flags for podman build (the test: --network none)
#
# Installs podman from Debian when it is missing (as root). Prints the tag
# as its last line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
UDI_IMAGE="${UDI_IMAGE:-quay.io/devfile/universal-developer-image:ubi9-latest}"
UDI_LAYER_IMAGE="${UDI_LAYER_IMAGE:-localhost/udi-nested:latest}"
PODMAN="${PODMAN:-podman}"
say() { printf '[udi-image] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source hack/lib.sh

if ! command -v podman >/dev/null; then
  install_debian_packages podman
fi
say "building the static udi-setup into bin/udi/"
mkdir -p bin/udi
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/udi/udi-setup ./cmd/udi-setup
say "podman build -f udi/Containerfile --build-arg UDI_IMAGE=$UDI_IMAGE -t $UDI_LAYER_IMAGE bin/udi"
# shellcheck disable=SC2086 # command lines
$PODMAN build ${PODMAN_BUILD_FLAGS:-} -f udi/Containerfile --build-arg "UDI_IMAGE=$UDI_IMAGE" -t "$UDI_LAYER_IMAGE" bin/udi >&2
echo "$UDI_LAYER_IMAGE"
