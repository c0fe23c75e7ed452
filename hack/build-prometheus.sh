#!/usr/bin/env bash
# Builds Prometheus and promtool from the Go module proxy into a cache
# directory outside the clone, keyed by the recipe (module version and build
# tags), for the monitoring test (e2e/monitoring): a real Prometheus scrapes
# the operator as the ServiceMonitor says and evaluates the PrometheusRule,
# and promtool runs the rule tests. Prints the directory as its last line on
# stdout; progress goes to stderr. Skips work when cached.
#
# remove_all_sd leaves out every service discovery plugin (AWS, Azure, GCE,
# Kubernetes, ...): the test scrapes a static target, and the cloud SDKs
# are most of a cold build.
set -euo pipefail

PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
PROMETHEUS_TAGS="remove_all_sd"
CACHE_ROOT="${NESTED_PROMETHEUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/prometheus}"
OUT="$CACHE_ROOT/${PROMETHEUS_MODULE_VERSION}_${PROMETHEUS_TAGS//,/_}"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

say() { printf '[prometheus] %s\n' "$*" >&2; }

if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi

build_lock "$CACHE_ROOT/.build.lock"
if [[ -x "$OUT/prometheus" && -x "$OUT/promtool" ]]; then
  say "cached in $OUT"
  echo "$OUT"
  exit 0
fi
mkdir -p "$OUT"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
say "building prometheus and promtool ${PROMETHEUS_MODULE_VERSION} (tags ${PROMETHEUS_TAGS}) from the module proxy"
start=$SECONDS
tmpbin="$(mktemp -d "$OUT/.tmp.XXXXXX")"
trap 'rm -rf "$tmpbin"' EXIT
# The module has no replace directives, so go install at a version works.
GOBIN="$tmpbin" go install -trimpath -tags "$PROMETHEUS_TAGS" -ldflags "-s -w" \
  "github.com/prometheus/prometheus/cmd/prometheus@${PROMETHEUS_MODULE_VERSION}" \
  "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}"
mv "$tmpbin/prometheus" "$tmpbin/promtool" "$OUT/"
say "built in $((SECONDS - start))s"
echo "$OUT"
