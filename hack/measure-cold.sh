#!/usr/bin/env bash
# Measures what a newcomer waits for on a fresh machine: a cold `make demo`
# and a cold `make test` (each then a second time, warm), each in a fresh
# clone of this checkout's HEAD, on a clean root (hack/clean-root.sh: none of
# the Debian packages the project installs), with empty caches in fresh
# temporary directories: Go's build and module caches, the project's
# binaries and images, apt's downloads. The shared caches in ~/.cache are
# not touched (only the clean root's base is taken from there). Prints the
# phase times and how busy the machine was meanwhile; keeps the logs.
#
#   hack/measure-cold.sh [demo|test|all|simulated]   default: all
#                          simulated: make demo with the simulated nodes
#                          only (--simulated-only), cold then warm
#   MEASURE_REV=<commit>   measure that revision instead of HEAD (e.g. the
#                          one before a change, for a "before" under the
#                          same load)
#   MEASURE_DIR=<dir>      where the clones, caches and logs go (default
#                          /var/tmp/nested-measure-<date>)
#
# Run it as root on an otherwise idle machine: on a shared one the figures
# are inflated by everyone else's work (the "machine busy" line says how
# much of the CPU was in use, ours and others').
set -euo pipefail
what="${1:-all}"
case "$what" in demo|test|all|simulated) ;; *) echo "usage: measure-cold.sh [demo|test|all|simulated]" >&2; exit 2 ;; esac
[[ $(id -u) -eq 0 ]] || { echo "measure-cold.sh needs root (clean roots, the real node)" >&2; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
out="${MEASURE_DIR:-/var/tmp/nested-measure-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
rev="$(git -C "$top" rev-parse --short "${MEASURE_REV:-HEAD}")"
[[ -n "${MEASURE_REV:-}" || -z "$(git -C "$top" status --porcelain)" ]] ||
  echo "note: uncommitted changes in $top are not measured (a clone of HEAD $rev is)" >&2

# cpu_busy prints the machine's busy and total jiffies (all CPUs).
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

# measure NAME CMD: runs CMD (a make target line) in a fresh clone on a
# clean root with the caches of $caches, logging every line with the seconds
# since the start, and prints a summary.
measure() {
  local name=$1 cmd=$2 log b0 t0 b1 t1 start rc=0
  log="$out/$name.log"
  rm -rf "$out/src-$name"
  git clone -q "$top" "$out/src-$name"
  git -C "$out/src-$name" checkout -q "$rev"
  echo "== $name: $cmd (revision $rev, $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$log"
  read -r b0 t0 < <(cpu_busy)
  start=$SECONDS
  (
    cd "$out/src-$name"
    GOCACHE="$caches/gocache" GOMODCACHE="$caches/gomodcache" NESTED_BINS_CACHE="$caches/bins" \
      NESTED_IMAGES_CACHE="$caches/images" NESTED_PROMETHEUS_CACHE="$caches/prometheus" \
      NESTED_PODMAN_CACHE="$caches/podman" CLEAN_ROOT_APT_CACHE="$caches/apt" \
      bash "$here/clean-root.sh" run -- bash -c "TIMEFORMAT='%R s wall, %U s user, %S s sys'; time $cmd" 2>&1
  ) | while IFS= read -r line; do printf '%5ds %s\n' $((SECONDS - start)) "$line"; done >>"$log" || rc=$?
  read -r b1 t1 < <(cpu_busy)
  {
    echo "-- $name: exit ${rc}, $((SECONDS - start)) s; machine busy $(( (b1 - b0) * 100 / (t1 - t0) ))% of $(nproc) CPUs meanwhile (ours and others'); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    # Phase lines: the builds' own timings, Debian installs, the demo's
    # timeline, go test's per-package times.
    grep -E '\] (built|compiled) |debootstrap done|base root ready|installing Debian packages|^ *[0-9]+s \[ *[0-9.]+s\]|^ *[0-9]+s (ok|FAIL|---) |s wall, ' "$log" || true
  } | tee -a "$out/summary.txt"
  return "$rc"
}

# The clean root's base is the machine, not the project: build it first,
# outside the measurement.
bash "$here/clean-root.sh" base >/dev/null
status=0
if [[ "$what" == demo || "$what" == all ]]; then
  caches="$out/caches-demo"
  mkdir -p "$caches"/{gocache,gomodcache,bins,images,apt}
  measure demo-cold "make demo" || status=1
  measure demo-warm "make demo" || status=1
fi
if [[ "$what" == simulated ]]; then
  caches="$out/caches-simulated"
  mkdir -p "$caches"/{gocache,gomodcache,bins,images,apt}
  measure simulated-cold "make demo DEMO_ARGS=--simulated-only" || status=1
  measure simulated-warm "make demo DEMO_ARGS=--simulated-only" || status=1
fi
if [[ "$what" == test || "$what" == all ]]; then
  caches="$out/caches-test"
  mkdir -p "$caches"/{gocache,gomodcache,bins,images,apt}
  measure test-cold "make test" || status=1
  measure test-warm "make test" || status=1
fi
echo "logs and summary in $out (remove it when done: the caches there hold several GB)"
exit "$status"
