// Command bench measures the operator and udi-setup against the real local
// control plane (kube-apiserver + etcd from localcluster, the real
// DevWorkspace controller in-process) and writes a table to stdout and to
// -out. Run it with `make bench` (go run ./test/bench).
//
// The operator runs as a separate process (the nested-enabler binary, built
// here) so its peak RSS is its own; its API requests go through a counting
// reverse proxy in this process, and its reconciles and heap are read from
// its metrics endpoint.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

type options struct {
	workspaces   int
	unrelated    int
	perNamespace int
	starts       int
	steady       time.Duration
	settle       time.Duration
	out          string
	skipPodman   bool
	skipCluster  bool
	udiRuns      int
	operatorEnv  string
	profileDir   string
	sizes        string
}

func main() {
	var o options
	flag.IntVar(&o.workspaces, "workspaces", 5000, "workspace Deployments (and their service accounts) to create")
	flag.IntVar(&o.unrelated, "unrelated", 5000, "unrelated ConfigMaps, Secrets and Deployments (each) for the second run")
	flag.IntVar(&o.perNamespace, "per-namespace", 5, "workspaces per namespace (each namespace gets one RoleBinding)")
	flag.IntVar(&o.starts, "starts", 10, "DevWorkspaces started through the real DWO, without and with the operator")
	flag.DurationVar(&o.steady, "steady", 60*time.Second, "steady-state window after settling")
	flag.DurationVar(&o.settle, "settle", 15*time.Second, "quiet time watched after workspace starts")
	flag.StringVar(&o.out, "out", "test/bench/results.md", "markdown results file")
	flag.BoolVar(&o.skipPodman, "skip-podman", false, "do not run the nested podman measurement")
	flag.BoolVar(&o.skipCluster, "skip-cluster", false, "only the udi-setup measurement")
	flag.IntVar(&o.udiRuns, "udi-runs", 200, "runs of the shell equivalent of the subuid step")
	flag.StringVar(&o.sizes, "sizes", "1000,10000", "further workspace counts at which to measure the operator's peak RSS and toggle-on time (comma-separated; the smaller ones before run 1, the larger after run 2, without the unrelated objects)")
	flag.StringVar(&o.operatorEnv, "operator-env", "", "extra environment for the operator process, space-separated NAME=VALUE (e.g. GOMEMLIMIT=48MiB)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "where to save the operator's heap profile after each run's steady state and a CPU profile of the workspace starts (go tool pprof -top FILE); empty: none")
	flag.Parse()
	ctrl.SetLogger(logr.Discard())

	r := &report{started: time.Now(), loadStart: loadavg()}
	if n := otherAPIServers(); n > 0 {
		r.note("%d kube-apiserver processes not started by this bench were running at its start (a concurrent test suite on the same 2 cores): timings are under contention.", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp, err := os.MkdirTemp("", "nested-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)

	// The workspace's side first, on a quiet machine as a node is when a
	// workspace starts: right after the cluster part, this process's heap
	// and the control plane's teardown doubled udi-setup's timings.
	if err := benchUDI(ctx, o, tmp, r); err != nil {
		r.note("udi-setup measurement failed: %v", err)
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	if o.skipPodman {
		r.note("Nested podman (overlay / fuse-overlayfs / vfs cold run): not measured (-skip-podman).")
	} else if err := benchPodman(ctx, tmp, r); err != nil {
		r.note("Nested podman (overlay / fuse-overlayfs / vfs cold run): not measured: %v", err)
		fmt.Fprintln(os.Stderr, "bench: podman:", err)
	}
	if !o.skipCluster {
		if err := benchCluster(ctx, o, tmp, r); err != nil {
			r.note("cluster measurement failed: %v", err)
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	r.finished = time.Now()
	text := r.markdown(o)
	fmt.Print(text)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			fatal(err)
		}
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// row is one line of the results table.
type row struct {
	what, value, target, verdict string
}

type report struct {
	started, finished time.Time
	loadStart         string
	rows              []row
	notes             []string
	details           []string
}

func (r *report) add(what, value, target, verdict string) {
	r.rows = append(r.rows, row{what, value, target, verdict})
	logf("%s: %s (target %s) %s", what, value, target, verdict)
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) detail(format string, args ...any) {
	r.details = append(r.details, fmt.Sprintf(format, args...))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r *report) markdown(o options) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# nested-workspaces benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s (took %s)\n", r.started.UTC().Format(time.RFC3339), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(&b, "- machine: %s, %d CPUs (runtime.NumCPU), %s/%s, %s; %s\n", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), strings.Replace(r.loadStart, "at end", "at start", 1)+"; "+loadavg())
	fmt.Fprintf(&b, "- operator: built as hack/build-images.sh builds the image's binary (CGO_ENABLED=0, -trimpath, -ldflags \"-s -w\"), run with manifests/manager/deployment.yaml's environment\n")
	fmt.Fprintf(&b, "- flags: -workspaces %d -unrelated %d -per-namespace %d -starts %d -steady %s -operator-env %q\n",
		o.workspaces, o.unrelated, o.perNamespace, o.starts, o.steady, o.operatorEnv)
	fmt.Fprintf(&b, "- control plane: localcluster (kube-apiserver + etcd with OpenShift's SCC admission, kube-controller-manager, kube-scheduler, kwok nodes), simulated OpenShift 4.20, DWO v0.43.0 in the bench process\n\n")
	fmt.Fprintf(&b, "| measurement | value | target | |\n|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.what, x.value, x.target, x.verdict)
	}
	if len(r.details) > 0 {
		fmt.Fprintf(&b, "\n## Details\n\n")
		for _, d := range r.details {
			fmt.Fprintf(&b, "- %s\n", d)
		}
	}
	if len(r.notes) > 0 {
		fmt.Fprintf(&b, "\n## Notes\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// otherAPIServers counts running kube-apiserver processes.
func otherAPIServers() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "kube-apiserver" {
			n++
		}
	}
	return n
}

func loadavg() string {
	f, err := os.Open("/proc/loadavg")
	if err != nil {
		return "load unknown"
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "load unknown"
	}
	return "load average at end " + strings.Join(fields[:3], " ")
}
