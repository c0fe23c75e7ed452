#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd), kwok, and the simulated OpenShift admission
# (hack/openshift-admission) from the Go module proxy into a cache directory
# outside the clone, keyed by versions (and, for openshift-admission, by a
# hash of its source). Prints the directory (for KUBEBUILDER_ASSETS) as
# its last line on stdout; progress goes to stderr. Skips work when cached.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
CACHE_ROOT="${NESTED_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/k8s-bins}"
OUT="$CACHE_ROOT/k8s-v${K8S_VERSION}_etcd-v${ETCD_VERSION}"
# kubectl renders the kustomize install in manifests' test, and serves
# `demo --keep`.
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok openshift-admission)
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
admission_src="$here/openshift-admission"
admission_sum="$(cd "$admission_src" && cat go.mod go.sum *.go | sha256sum | cut -c1-16)"

say() { printf '[bins] %s\n' "$*" >&2; }

# --print-dir: only print where the binaries live (the Makefile uses it to set
# KUBEBUILDER_ASSETS without building).
if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi

build_lock "$CACHE_ROOT/.build-bins.lock"
missing=()
for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || missing+=("$b"); done
# openshift-admission is this project's own source: rebuilt when it changes.
if [[ -x "$OUT/openshift-admission" && "$(cat "$OUT/openshift-admission.src" 2>/dev/null)" != "$admission_sum" ]]; then
  missing+=(openshift-admission)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  say "cached in $OUT"
  echo "$OUT"
  exit 0
fi

mkdir -p "$OUT"
work="$(mktemp -d "${TMPDIR:-/tmp}/nested-bins.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

need() { local b; for b in "${missing[@]}"; do [[ "$b" == "$1" ]] && return 0; done; return 1; }

if need kube-apiserver || need kube-controller-manager || need kube-scheduler || need kubectl; then
  say "building Kubernetes v${K8S_VERSION} binaries from the module proxy (cold: ~6 min on 2 cores)"
  mod="$work/k8s"
  say "resolving modules"
  pinned="$(k8s_module "$mod" nested-workspaces.local/k8sbins "$K8S_VERSION" kube-apiserver kube-controller-manager kube-scheduler kubectl)"
  say "$pinned"
  ldflags="$(k8s_ldflags "$K8S_VERSION")"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    need "$b" || continue
    say "go build $b ..."
    start=$SECONDS
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$OUT/$b.tmp" "$OUT/$b"
    say "built $b in $((SECONDS - start))s"
  done
fi

if need etcd; then
  say "building etcd v${ETCD_VERSION} from the module proxy (~1 min)"
  mod="$work/etcd"; mkdir -p "$mod"
  cat > "$mod/go.mod" <<GOMOD
module nested-workspaces.local/etcdbin
go 1.24
require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}
GOMOD
  cat > "$mod/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  start=$SECONDS
  (cd "$mod" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" .)
  mv "$OUT/etcd.tmp" "$OUT/etcd"
  say "built etcd in $((SECONDS - start))s"
fi

if need kwok; then
  say "building kwok v${KWOK_VERSION} from the module proxy (~1 min)"
  mod="$work/kwok"; mkdir -p "$mod"
  cat > "$mod/go.mod" <<GOMOD
module nested-workspaces.local/kwokbin
go 1.24
require sigs.k8s.io/kwok v${KWOK_VERSION}
GOMOD
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
GO
  start=$SECONDS
  (cd "$mod" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$OUT/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
  mv "$OUT/kwok.tmp" "$OUT/kwok"
  say "built kwok in $((SECONDS - start))s"
fi

if need openshift-admission; then
  say "building openshift-admission (OpenShift's SCC admission, apiserver-library-go; cold: ~3 min)"
  start=$SECONDS
  (cd "$admission_src" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$OUT/openshift-admission.tmp" .)
  mv "$OUT/openshift-admission.tmp" "$OUT/openshift-admission"
  echo "$admission_sum" > "$OUT/openshift-admission.src"
  say "built openshift-admission in $((SECONDS - start))s"
fi

say "control plane binaries ready in $OUT"
echo "$OUT"
