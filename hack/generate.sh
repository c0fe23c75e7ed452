#!/usr/bin/env bash
# Regenerates the code and manifests derived from the code: the deepcopy
# functions (api/v1alpha1/zz_generated.deepcopy.go), the NestedContainers
# CRD (manifests/crd/), the operator's ClusterRole from its RBAC markers
# (manifests/rbac/role.yaml), and the OLM bundle. `make manifests` runs it;
# manifests/crd_stale_test.go and manifests/bundle_test.go
# fail when the committed output differs from what this produces.
#
#   OUT_DIR=<dir>  write into <dir>/object, <dir>/crd and <dir>/rbac instead of
#                  the tree (the bundle is then not written).
#
# controller-gen is run at a pinned version through the Go module proxy, so
# nothing needs installing; v0.21 is the release built against the
# Kubernetes 0.36 libraries this module uses.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTROLLER_TOOLS_VERSION=v0.21.0

if [[ -n "${OUT_DIR:-}" ]]; then
  object_out="output:object:dir=${OUT_DIR}/object"
  crd_dir="${OUT_DIR}/crd"
  rbac_dir="${OUT_DIR}/rbac"
else
  object_out=""  # next to the types
  crd_dir="manifests/crd"
  rbac_dir="manifests/rbac"
fi
mkdir -p "$crd_dir" "$rbac_dir"

# shellcheck disable=SC2086 # object_out is empty or one word
go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}" \
  object:headerFile=hack/boilerplate.go.txt crd \
  paths=./api/... \
  $object_out \
  output:crd:artifacts:config="$crd_dir"
# The operator's ClusterRole, from the +kubebuilder:rbac markers beside the
# code that needs each rule: the packages the operator binary links.
go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}" \
  rbac:roleName=nested-workspaces-enabler \
  paths=./operator/... paths=./detect/... paths=./scc/... paths=./grants/... \
  paths=./dwoconfig/... paths=./workspaces/... paths=./owned/... \
  output:rbac:artifacts:config="$rbac_dir"
# OLM bundle in manifests/bundle/ and the kustomize install's image override,
# from the CRD just written and the release (VERSION, IMAGE: the Makefile's).
[[ -n "${OUT_DIR:-}" ]] || go run ./hack/bundlegen -version "${VERSION:-$(cat VERSION)}" \
  -image "${IMAGE:?set IMAGE, or run make manifests}" -arches "${ARCHES:?set ARCHES, or run make manifests}"
