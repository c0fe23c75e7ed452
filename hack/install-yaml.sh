#!/usr/bin/env bash
# Prints the kustomize install (manifests/default) for the operator image
# $IMAGE:v$VERSION, for installing your own build:
#   make install-yaml IMAGE=registry.example.com/me/enabler | oc apply -f -
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${VERSION:-$(cat "$root/VERSION")}"
IMAGE="${IMAGE:?set IMAGE, or run make install-yaml}"
kubectl="$(bash "$root/hack/build-bins.sh" --print-dir)/kubectl"
overlay="$(mktemp -d "${TMPDIR:-/tmp}/nested-install.XXXXXX")"
trap 'rm -rf "$overlay"' EXIT
cp -r "$root/manifests/." "$overlay/"
name="$(sed -n 's/^ *image: *//p' "$root/manifests/manager/deployment.yaml")"
cat > "$overlay/default/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../crd, ../manager, ../rbac, ../monitoring, ../policy]
images:
  - name: $name
    newName: $IMAGE
    newTag: v$VERSION
YAML
"$kubectl" kustomize "$overlay/default"
