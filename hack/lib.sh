# Shared by the hack/ build scripts (source it; it defines functions only).

# debian_packages_missing PKG...: prints the packages dpkg does not have
# installed, space-separated.
debian_packages_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[*]}"
}

# install_debian_packages PKG...: installs the packages, as root, one
# installer at a time across the project's scripts and tests (the e2e
# harnesses take the same lock, test/debpkg). apt's output goes to a log,
# shown when it fails. Fails naming the packages when not root.
install_debian_packages() {
  if [[ $(id -u) -ne 0 ]]; then
    printf 'missing Debian packages: %s; install them as root (apt-get install %s)\n' "$*" "$*" >&2
    return 1
  fi
  printf 'installing Debian packages: %s\n' "$*" >&2
  local log status=0
  log="$(mktemp "${TMPDIR:-/tmp}/nested-apt.XXXXXX")"
  mkdir -p /run/lock
  (
    flock 9
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@"
  ) 9>/run/lock/nested-workspaces-e2e-apt.lock >"$log" 2>&1 || status=$?
  if [[ $status -ne 0 ]]; then
    tail -n 30 "$log" >&2
    printf 'installing %s failed (above, the end of apt-get'"'"'s output)\n' "$*" >&2
  fi
  rm -f "$log"
  return "$status"
}

# k8s_module DIR MODULE K8S_VERSION CMD...: makes DIR a throwaway Go module
# that requires k8s.io/kubernetes at K8S_VERSION and imports the given
# commands (e.g. kubelet), so that `go build k8s.io/kubernetes/cmd/CMD`
# works there from the Go module proxy. k8s.io/kubernetes replaces its
# staging modules with local paths; each one is pointed at its published
# version instead. Prints how many were pinned.
k8s_module() {
  local dir=$1 module=$2 version=$3 gomod_file staging cmd
  shift 3
  mkdir -p "$dir"
  gomod_file="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v${version}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod_file" ]] || { echo "cannot read go.mod of k8s.io/kubernetes@v${version}" >&2; return 1; }
  staging="v0.${version#1.}"
  {
    echo "module $module"
    echo "go 1.24"
    echo "require k8s.io/kubernetes v${version}"
    grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod_file" \
      | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } > "$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for cmd in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd"; done
    printf ')\n'
  } > "$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  echo "$(grep -c '^replace' "$dir/go.mod") staging modules pinned to ${staging}"
}

# k8s_ldflags K8S_VERSION: the -ldflags that give Kubernetes binaries their
# version (stripped).
k8s_ldflags() {
  local version=$1 minor pkg flags="-s -w"
  minor="$(echo "$version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v${version} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor}"
  done
  echo "$flags"
}

# build_lock FILE: holds an exclusive lock on FILE until the script exits, so
# that two builds of the same cache (two test packages, two checkouts) never
# run at once: the second waits, then finds the first one's output cached.
build_lock() {
  mkdir -p "$(dirname "$1")"
  exec 8>"$1"
  if ! flock -n 8; then
    printf 'waiting for another build holding %s\n' "$1" >&2
    flock 8
  fi
}

# go_build_progress LABEL [GO BUILD FLAGS...] -- PACKAGE...: runs go build
# with the flags (which name the output with -o) on the packages, and says
# on stderr how far it got: at every tenth of the packages it has to
# compile (those not in GOCACHE, counted first with go list), and when done,
# with the CPU time it took (on a busy machine the wall time grows, the CPU
# time hardly). Go's own errors pass through.
go_build_progress() {
  local label=$1 flags=() list_flags=() pkgs total start=$SECONDS me=$BASHPID cpu0
  cpu0="$(children_cpu_seconds "$me")"
  shift
  while [[ $# -gt 0 && "$1" != "--" ]]; do flags+=("$1"); shift; done
  shift
  pkgs=("$@")
  # go list takes the build flags that decide what is stale, not -o or the
  # linker's.
  local i
  for ((i = 0; i < ${#flags[@]}; i++)); do
    case "${flags[$i]}" in
    -o|-ldflags) i=$((i + 1)) ;;
    *) list_flags+=("${flags[$i]}") ;;
    esac
  done
  total="$(go list -deps "${list_flags[@]}" -f '{{if .Stale}}x{{end}}' "${pkgs[@]}" | grep -c x || true)"
  printf '[%s] compiling %s packages ...\n' "$label" "$total" >&2
  local done_count=0 next=10 line status=0 count_file
  count_file="$(mktemp "${TMPDIR:-/tmp}/nested-go-build.XXXXXX")"
  go build -v "${flags[@]}" "${pkgs[@]}" 2>&1 | {
    while IFS= read -r line; do
      if [[ "$line" == *" "* || "$line" == "#"* ]]; then
        printf '%s\n' "$line" >&2
        continue
      fi
      done_count=$((done_count + 1))
      if [[ $total -gt 0 ]] && ((done_count * 100 >= next * total)) && ((next < 100)); then
        printf '[%s] compiling: %d%% (%d of %d packages, %dm%02ds)\n' "$label" "$next" "$done_count" "$total" \
          $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) >&2
        while ((done_count * 100 >= next * total)) && ((next < 100)); do next=$((next + 10)); done
      fi
    done
    echo "$done_count" >"$count_file"
  } || status=$?
  local cpu=$(($(children_cpu_seconds "$me") - cpu0))
  printf '[%s] compiled %d packages and linked in %dm%02ds (CPU time %dm%02ds)\n' "$label" "$(cat "$count_file")" \
    $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) $((cpu / 60)) $((cpu % 60)) >&2
  rm -f "$count_file"
  return "$status"
}

# children_cpu_seconds PID: the CPU time (user and system, in seconds) the
# finished children of process PID have used, from /proc.
children_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{print int(($16 + $17) / hz)}' "/proc/$1/stat"
}
