#!/usr/bin/env bash
# Builds a real node's binaries — kubelet, containerd (+ ctr and the runc
# shim) and runc — from the Go module proxy into a cache directory outside
# the clone, keyed by their versions, and installs the Debian packages a
# real node needs here (RUN_PACKAGES; BUILD_PACKAGES too when runc is
# built). Prints the directory as its last line on stdout; progress goes to
# stderr. Skips work when cached.
#
# Cold on 2 idle cores (empty Go caches, measured): about 2 min after the
# control plane (the kubelet shares its packages), about 5 alone.
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.4.2}"
# runc 1.2 or newer: containerd needs its idmapped mounts to report user
# namespace support (Debian bookworm's 1.1.5 does not have them).
RUNC_VERSION="${RUNC_VERSION:-1.5.2}"
CACHE_ROOT="${NESTED_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/k8s-bins}"
OUT="$CACHE_ROOT/node_kubelet-v${K8S_VERSION}_containerd-v${CONTAINERD_VERSION}_runc-v${RUNC_VERSION}"
BINS=(kubelet containerd ctr containerd-shim-runc-v2 runc)
# What a real node uses from Debian: the CNI plugins (bridge, host-local,
# loopback), ip and iptables, mount, busybox-static for the pause image, and
# the seccomp library runc is linked with.
RUN_PACKAGES=(containernetworking-plugins iproute2 iptables mount busybox-static libseccomp2)
# What building runc with seccomp (cgo) takes.
BUILD_PACKAGES=(gcc libc6-dev pkg-config libseccomp-dev)

say() { printf '[node-bins] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi

build_lock "$CACHE_ROOT/.build-node-bins.lock"
missing=()
for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || missing+=("$b"); done
need() { local b; for b in "${missing[@]}"; do [[ "$b" == "$1" ]] && return 0; done; return 1; }
packages=("${RUN_PACKAGES[@]}")
need runc && packages+=("${BUILD_PACKAGES[@]}")
missing_pkgs="$(debian_packages_missing "${packages[@]}")"
if [[ -n "$missing_pkgs" ]]; then
  # shellcheck disable=SC2086 # a list of package names
  install_debian_packages $missing_pkgs
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  say "cached in $OUT"
  echo "$OUT"
  exit 0
fi

mkdir -p "$OUT"
work="$(mktemp -d "${TMPDIR:-/tmp}/nested-node-bins.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOWORK=off

# source copies a module's source from the module proxy into $work/$2.
source_of() {
  local dir
  dir="$(cd "$work" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir" ]] || { say "cannot download $1"; exit 1; }
  cp -r "$dir" "$work/$2"
  chmod -R u+w "$work/$2"
}

if need runc; then
  say "building runc v${RUNC_VERSION} with seccomp (cgo) ..."
  start=$SECONDS
  source_of "github.com/opencontainers/runc@v${RUNC_VERSION}" runc
  (cd "$work/runc" && CGO_ENABLED=1 go_build_progress runc -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
    -ldflags "-s -w -X main.version=${RUNC_VERSION} -X main.gitCommit=module-proxy" -o "$OUT/runc.tmp" -- .)
  mv "$OUT/runc.tmp" "$OUT/runc"
  say "built runc in $((SECONDS - start))s"
fi

if need containerd || need ctr || need containerd-shim-runc-v2; then
  source_of "github.com/containerd/containerd/v2@v${CONTAINERD_VERSION}" containerd
  ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=v${CONTAINERD_VERSION} -X github.com/containerd/containerd/v2/version.Revision=module-proxy"
  tags="urfave_cli_no_docs osusergo netgo static_build"
  # containerd and ctr in one go build (same tags: what they share compiles
  # once); the shim without gRPC.
  for group in "containerd ctr" "containerd-shim-runc-v2"; do
    cmds=() pkgs=()
    for b in $group; do need "$b" && cmds+=("$b") && pkgs+=("./cmd/$b"); done
    [[ ${#cmds[@]} -gt 0 ]] || continue
    group_tags="$tags"
    [[ "$group" == containerd-shim-runc-v2 ]] && group_tags+=" no_grpc"
    say "building ${cmds[*]} v${CONTAINERD_VERSION} ..."
    start=$SECONDS
    mkdir -p "$work/containerd-out"
    (cd "$work/containerd" && CGO_ENABLED=0 go_build_progress "${cmds[0]}" -trimpath -tags "$group_tags" -ldflags "$ldflags" -o "$work/containerd-out/" -- "${pkgs[@]}")
    for b in "${cmds[@]}"; do mv "$work/containerd-out/$b" "$OUT/$b"; done
    say "built ${cmds[*]} in $((SECONDS - start))s"
  done
fi

if need kubelet; then
  say "building kubelet v${K8S_VERSION} from the module proxy (cold on 2 idle cores: ~20 s after the control plane, ~3 min alone) ..."
  mod="$work/k8s"
  pinned="$(k8s_module "$mod" nested-workspaces.local/kubeletbin "$K8S_VERSION" kubelet)"
  say "$pinned"
  ldflags="$(k8s_ldflags "$K8S_VERSION")"
  start=$SECONDS
  (cd "$mod" && CGO_ENABLED=0 go_build_progress kubelet -trimpath -ldflags "$ldflags" -o "$OUT/kubelet.tmp" -- k8s.io/kubernetes/cmd/kubelet)
  mv "$OUT/kubelet.tmp" "$OUT/kubelet"
  say "built kubelet in $((SECONDS - start))s"
fi

say "node binaries ready in $OUT"
echo "$OUT"
