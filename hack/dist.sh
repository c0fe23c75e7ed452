#!/usr/bin/env bash
# Builds the nested-enabler CLI for the platforms an admin runs it from, into
# dist/ (make dist):
#
#   dist/nested-enabler-<version>-<os>-<arch>.tar.gz   nested-enabler,
#       kubectl-nested_enabler (a symlink: kubectl and oc run it for
#       `kubectl nested-enabler` / `oc nested-enabler` once it is on PATH),
#       LICENSE
#   dist/SHA256SUMS
#
# Static (CGO_ENABLED=0), -trimpath, the version stamped as the images'.
#   DIST_PLATFORMS="linux/amd64 ..."   other platforms (default: linux and
#                                      darwin, amd64 and arm64)
#   DIST_DIR=dir                       write there instead of dist/
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${VERSION:-$(cat VERSION)}"
LDFLAGS="${LDFLAGS:--X github.com/nested-workspaces/enabler/version.release=$VERSION}"
PLATFORMS="${DIST_PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
out="${DIST_DIR:-dist}"
say() { printf '[dist] %s\n' "$*" >&2; }

rm -rf "$out"
mkdir -p "$out"
for platform in $PLATFORMS; do
  os="${platform%/*}" arch="${platform#*/}"
  name="nested-enabler-$VERSION-$os-$arch"
  say "go build $platform"
  mkdir -p "$out/$name"
  CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -ldflags "-s -w $LDFLAGS" -o "$out/$name/nested-enabler" ./cmd/nested-enabler
  ln -s nested-enabler "$out/$name/kubectl-nested_enabler"
  cp LICENSE "$out/$name/"
  # Reproducible: sorted, no owner, the commit's time or the epoch.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH:-0}" \
    -C "$out" -czf "$out/$name.tar.gz" "$name"
  rm -rf "${out:?}/$name"
done
(cd "$out" && sha256sum -- *.tar.gz > SHA256SUMS)
say "wrote $(ls "$out"/*.tar.gz | wc -l) archives and SHA256SUMS in $out/"
ls "$out"/*.tar.gz
