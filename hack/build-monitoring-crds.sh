#!/usr/bin/env bash
# Generates the CustomResourceDefinitions of prometheus-operator's
# monitoring.coreos.com/v1 API (ServiceMonitor, PrometheusRule, ...) from its
# Go types at a pinned version, with controller-gen, into a cache directory
# outside the clone keyed by the recipe (types and controller-gen versions).
# The module proxy serves the types module but not prometheus-operator's own
# module, which holds the released CRD files. The tests install these CRDs so
# that the ServiceMonitor and PrometheusRule this project ships are checked
# by a real API server with strict field validation. Prints the directory as
# its last line on stdout.
set -euo pipefail

MONITORING_VERSION="${MONITORING_VERSION:-v0.95.2}"
CONTROLLER_TOOLS_VERSION=v0.21.0
CACHE_ROOT="${NESTED_MONITORING_CRDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nested-workspaces/monitoring-crds}"
OUT="$CACHE_ROOT/monitoring-${MONITORING_VERSION}_controller-gen-${CONTROLLER_TOOLS_VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
say() { printf '[monitoring-crds] %s\n' "$*" >&2; }

if [[ "${1:-}" == "--print-dir" ]]; then echo "$OUT"; exit 0; fi
build_lock "$CACHE_ROOT/.build.lock"
if compgen -G "$OUT/monitoring.coreos.com_servicemonitors.yaml" >/dev/null && compgen -G "$OUT/monitoring.coreos.com_prometheusrules.yaml" >/dev/null; then
  say "cached in $OUT"
  echo "$OUT"
  exit 0
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/nested-monitoring-crds.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cat > "$work/go.mod" <<GOMOD
module nested-workspaces.local/monitoringcrds
go 1.24
require github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring ${MONITORING_VERSION}
GOMOD
cat > "$work/tools.go" <<'GO'
package tools

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
GO
export GOFLAGS=-mod=mod GOWORK=off
(cd "$work" && go mod tidy >/dev/null 2>&1)
tmp="$work/out"
say "generating monitoring.coreos.com CRDs from the ${MONITORING_VERSION} types"
(cd "$work" && go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}" \
  crd:maxDescLen=0 paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
  output:crd:artifacts:config="$tmp")
mkdir -p "$OUT"
cp "$tmp"/*.yaml "$OUT/"
echo "$OUT"
