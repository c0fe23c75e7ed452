#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd), kwok, and the simulated OpenShift admission
# (hack/openshift-admission) from the Go module proxy into a cache directory
# outside the clone, keyed by versions (and, for openshift-admission, by a
# hash of its source). Prints the directory (for KUBEBUILDER_ASSETS) as
# its last line on stdout; progress goes to stderr. Skips work when cached.
#
#   build-bins.sh [BINARY...]   build only these (default: all); the demo
#                               needs all but kubectl, which only tests and
#                               `make install-yaml` use
#   build-bins.sh --print-dir   only print the directory
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
CACHE_ROOT="${NESTED_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/k8s-bins}"
OUT="$CACHE_ROOT/k8s-v${K8S_VERSION}_etcd-v${ETCD_VERSION}"
# kubectl renders the kustomize install in manifests' test and
# `make install-yaml`, and serves `demo --keep`.
ALL_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok openshift-admission)
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
admission_src="$here/openshift-admission"
admission_sum="$(cd "$admission_src" && cat go.mod go.sum *.go | sha256sum | cut -c1-16)"

say() { printf '[bins] %s\n' "$*" >&2; }

# --print-dir: only print where the binaries live (the Makefile uses it to set
# KUBEBUILDER_ASSETS without building).
if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi

BINS=("$@")
[[ ${#BINS[@]} -gt 0 ]] || BINS=("${ALL_BINS[@]}")
for b in "${BINS[@]}"; do
  [[ " ${ALL_BINS[*]} " == *" $b "* ]] || { say "unknown binary $b (one of: ${ALL_BINS[*]})"; exit 2; }
done

build_lock "$CACHE_ROOT/.build-bins.lock"
missing=()
for b in "${BINS[@]}"; do
  if [[ ! -x "$OUT/$b" ]]; then
    missing+=("$b")
  elif [[ "$b" == openshift-admission && "$(cat "$OUT/openshift-admission.src" 2>/dev/null)" != "$admission_sum" ]]; then
    # This project's own source: rebuilt when it changes.
    missing+=("$b")
  fi
done
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

# build_k8s builds the Kubernetes commands in one go build: the packages
# they share compile once, and they link in parallel.
build_k8s() {
  local cmds=() b mod pkgs=() start=$SECONDS
  for b in "${K8S_CMDS[@]}"; do need "$b" && cmds+=("$b"); done
  [[ ${#cmds[@]} -gt 0 ]] || return 0
  say "building ${cmds[*]} v${K8S_VERSION} from the module proxy (cold on 2 idle cores: 4 min, 7 CPU-minutes)"
  mod="$work/k8s"
  say "resolving modules"
  # The module imports all four, whichever are built: the same build list,
  # so the same binaries as when all are built.
  say "$(k8s_module "$mod" nested-workspaces.local/k8sbins "$K8S_VERSION" "${K8S_CMDS[@]}")"
  for b in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  mkdir -p "$work/k8s-out"
  (cd "$mod" && go_build_progress k8s -trimpath -ldflags "$(k8s_ldflags "$K8S_VERSION")" -o "$work/k8s-out/" -- "${pkgs[@]}")
  for b in "${cmds[@]}"; do mv "$work/k8s-out/$b" "$OUT/$b"; done
  say "built ${cmds[*]} in $((SECONDS - start))s"
}

# build_tool_module NAME MODULE@VERSION PACKAGE: builds PACKAGE of a module
# at a version from the module proxy (etcd, kwok), through a throwaway module
# that requires it; MAIN, if set, is that module's main.go instead.
build_tool_module() {
  local name=$1 requirement=$2 pkg=$3 mod="$work/$1" start=$SECONDS
  mkdir -p "$mod"
  printf 'module nested-workspaces.local/%sbin\ngo 1.24\nrequire %s %s\n' "$name" "${requirement%@*}" "${requirement#*@}" >"$mod/go.mod"
  if [[ -n "${MAIN:-}" ]]; then
    printf '%s\n' "$MAIN" >"$mod/main.go"
  else
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$mod/tools.go"
  fi
  (cd "$mod" && go mod tidy >/dev/null 2>&1 && go_build_progress "$name" -trimpath -ldflags "-s -w" -o "$OUT/$name.tmp" -- "$pkg")
  mv "$OUT/$name.tmp" "$OUT/$name"
  say "built $name in $((SECONDS - start))s"
}

# build_etcd_kwok builds etcd and kwok, one after the other: they share
# next to nothing with the Kubernetes commands (other versions of the same
# libraries), so they build beside them.
build_etcd_kwok() {
  if need etcd; then
    say "building etcd v${ETCD_VERSION} from the module proxy (cold: about 1 min, beside them)"
    MAIN='package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }' build_tool_module etcd "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" .
  fi
  if need kwok; then
    say "building kwok v${KWOK_VERSION} from the module proxy (cold: about 2 CPU-minutes, beside them)"
    build_tool_module kwok "sigs.k8s.io/kwok@v${KWOK_VERSION}" sigs.k8s.io/kwok/cmd/kwok
  fi
}

# build_admission builds openshift-admission. It imports Kubernetes 1.33
# internals at the versions the Kubernetes commands are built with, so after
# them most of its packages are in GOCACHE (built beside them, both compiled
# the same packages at once).
build_admission() {
  need openshift-admission || return 0
  say "building openshift-admission (OpenShift's SCC admission, apiserver-library-go; cold, after the Kubernetes commands: about 1 min)"
  local start=$SECONDS
  (cd "$admission_src" && GOFLAGS=-mod=readonly go_build_progress openshift-admission -trimpath -ldflags "-s -w" -o "$OUT/openshift-admission.tmp" -- .)
  mv "$OUT/openshift-admission.tmp" "$OUT/openshift-admission"
  echo "$admission_sum" > "$OUT/openshift-admission.src"
  say "built openshift-admission in $((SECONDS - start))s"
}

# etcd and kwok beside the Kubernetes commands: on 2 cores one build's module
# downloads and serial link steps leave a core to the other.
say "building ${missing[*]} (progress below; the first build on 2 idle cores: about 5 min, 15 to 20 on busy ones; then cached)"
# Job control gives the background build its own process group, so that a
# failure here stops all of it (go build and its compilers).
set -m
build_etcd_kwok &
others=$!
set +m
trap 'kill -- "-$others" 2>/dev/null; rm -rf "$work"' EXIT
build_k8s
build_admission
if ! wait "$others"; then
  say "building etcd or kwok failed (see above)"
  exit 1
fi
trap 'rm -rf "$work"' EXIT

say "control plane binaries ready in $OUT"
echo "$OUT"
