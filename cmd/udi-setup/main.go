// Command udi-setup makes rootless podman work inside a workspace pod that
// runs in its own user namespace. It is built statically and shipped in the
// Universal Developer Image:
//
//	udi-setup configure   run by the image's entrypoint at every start
//	udi-setup doctor      says, one line per prerequisite, what is missing
//	udi-setup docker-api  serves podman's Docker-compatible API, started on
//	                      first use (the entrypoint runs it in the background)
//	udi-setup docker-host prints DOCKER_HOST for that API
//	podman                installed as /usr/local/bin/podman: runs the real
//	                      podman, for root as the user configure set up
//	                      for it (see udi.RootDelegate)
//
// See docs/udi-setup.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/nested-workspaces/enabler/udi"
)

// probeCommand is the hidden subcommand the storage trial re-executes this
// binary with, inside a scratch user and mount namespace.
const probeCommand = "probe-overlay"

// dockerAPIExecCommand is the hidden subcommand the Docker API waiter
// (udi-setup docker-api) runs for each burst of clients: podman's API
// service on the socket it holds.
const dockerAPIExecCommand = "docker-api-exec"

const usage = `udi-setup makes rootless podman work in a workspace pod with its own user namespace.

Usage:
  udi-setup configure [-v] [-runtime auto|default|NAME]
      Add the passwd entry, write /etc/subuid and /etc/subgid from the pod's
      uid_map/gid_map, choose the storage driver by trial and write
      ~/.config/containers/{storage,containers}.conf. Silent on success.
  udi-setup doctor [-o text|json] [-docker-api=false]
      Check every prerequisite of nested podman; exit 1 if podman cannot work.
  udi-setup docker-api
      Serve podman's Docker-compatible API on RUNTIME_DIR/podman/podman.sock,
      starting podman's service on first use; runs until stopped (the image's
      entrypoint starts it in the background). Exits at once when another
      waiter serves the socket.
  udi-setup docker-host
      Print DOCKER_HOST for the Docker-compatible API (unix://...podman.sock);
      exit 1 when nothing serves it.
  udi-setup podman ARGS...   (or udi-setup installed as "podman")
      Run the real podman; as root without CAP_SYS_ADMIN, as the user
      configure set up for podman as root.
`

func main() {
	if filepath.Base(os.Args[0]) == "podman" {
		os.Exit(podman(os.Args[1:], os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "configure":
		return configure(args[1:], stdout, stderr)
	case "doctor":
		return doctor(args[1:], stdout, stderr)
	case probeCommand:
		return probe(args[1:], stderr)
	case "docker-host":
		return dockerHost(stdout, stderr)
	case udi.DockerAPICommand:
		return dockerAPI(stdout, stderr)
	case dockerAPIExecCommand:
		return dockerAPIExec(stderr)
	case "podman":
		return podman(args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "udi-setup: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// config is udi.DefaultConfig plus how to re-execute ourselves for the trial.
func config() (udi.Config, error) {
	cfg, err := udi.DefaultConfig()
	if err != nil {
		return cfg, err
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("find this executable for the storage trial: %w", err)
	}
	cfg.ProbeCommand = []string{self, probeCommand}
	cfg.Self = self
	return cfg, nil
}

func configure(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("configure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print what was found, chosen and written")
	runtime := fs.String("runtime", "auto", `OCI runtime for containers.conf: "auto" (runc only where crun cannot work), "default" (podman's), or a name such as runc`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "udi-setup configure: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, err := config()
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup configure: %v\n", err)
		return 1
	}
	cfg.Runtime = *runtime
	if *runtime == "default" {
		cfg.Runtime = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := udi.Configure(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup configure: %v\nRun 'udi-setup doctor' for every prerequisite and its fix.\n", err)
		return 1
	}
	if *verbose {
		fmt.Fprint(stdout, report)
	} else {
		// Quiet on success, except for what the user has to act on.
		for _, n := range report.Notes {
			fmt.Fprintf(stderr, "udi-setup configure: note: %s\n", n)
		}
	}
	return 0
}

func doctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "text", "output format: text or json")
	dockerAPI := fs.Bool("docker-api", true, "check podman's Docker-compatible API")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "udi-setup doctor: -o %q: want text or json\n", *output)
		return 2
	}
	cfg, err := config()
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup doctor: %v\n", err)
		return 1
	}
	cfg.DockerAPI = *dockerAPI
	report := udi.Doctor(cfg)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup doctor: %v\n", err)
		return 1
	}
	if !report.OK {
		return 1
	}
	return 0
}

func probe(args []string, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintf(stderr, "usage: udi-setup %s DIR [MOUNT_PROGRAM] (internal: the storage trial)\n", probeCommand)
		return 2
	}
	mountProgram := ""
	if len(args) == 2 {
		mountProgram = args[1]
	}
	if err := udi.RunOverlayProbe(args[0], mountProgram); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// podman replaces this process with the real podman, switching to the
// delegate first where the user is root without CAP_SYS_ADMIN. It returns
// only when that fails.
func podman(args []string, stderr io.Writer) int {
	cfg, err := config()
	if err == nil {
		err = execPodman(cfg, args, os.Environ())
	}
	fmt.Fprintf(stderr, "podman (udi-setup): %v\n", err)
	return 125 // podman's own exit code for an error of podman itself
}

// dockerHost prints DOCKER_HOST for the API socket configure set up.
func dockerHost(stdout, stderr io.Writer) int {
	cfg, err := config()
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup docker-host: %v\n", err)
		return 1
	}
	if _, err := os.Stat(cfg.DockerSocketPath()); err != nil {
		fmt.Fprintf(stderr, "udi-setup docker-host: no Docker API socket at %s: run udi-setup configure\n", cfg.DockerSocketPath())
		return 1
	}
	fmt.Fprintln(stdout, cfg.DockerHost())
	return 0
}

// dockerAPI is the waiter: it binds the API socket and starts podman's
// service for each burst of clients, until stopped.
func dockerAPI(stdout, stderr io.Writer) int {
	cfg, err := config()
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup %s: %v\n", udi.DockerAPICommand, err)
		return 1
	}
	l, served, err := udi.ListenDockerAPI(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup %s: %v\n", udi.DockerAPICommand, err)
		return 1
	}
	if l == nil {
		fmt.Fprintln(stdout, served)
		return 0
	}
	socket, err := l.File()
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup %s: %v\n", udi.DockerAPICommand, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logPath := filepath.Join(filepath.Dir(cfg.DockerSocketPath()), udi.DockerAPILog)
	start := func(log *os.File) *exec.Cmd {
		cmd := exec.Command(cfg.Self, dockerAPIExecCommand)
		cmd.ExtraFiles = []*os.File{socket} // fd 3
		cmd.Stdout, cmd.Stderr = log, log
		return cmd
	}
	// podman as the user runs it (for root: udi-setup's podman, the delegate).
	podman := func(ctx context.Context, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, cfg.Self, append([]string{"podman"}, args...)...)
		cmd.Env = append(os.Environ(), "PODMAN_IGNORE_CGROUPSV1_WARNING=1")
		return cmd.Output()
	}
	err = udi.ServeDockerAPI(ctx, int(socket.Fd()), logPath, start, func(ctx context.Context) { udi.RunHealthchecks(ctx, podman, udi.HealthPoll) })
	if err != nil {
		fmt.Fprintf(stderr, "udi-setup %s: %v\n", udi.DockerAPICommand, err)
		return 1
	}
	return 0
}

// dockerAPIExec becomes podman's API service on the socket at fd 3, passed
// with systemd's socket activation protocol, as the user podman runs as.
func dockerAPIExec(stderr io.Writer) int {
	cfg, err := config()
	if err == nil {
		idle := strconv.Itoa(int(udi.DockerAPIIdle.Seconds()))
		// exec keeps the PID: LISTEN_PID is podman's.
		err = execPodman(cfg, []string{"system", "service", "--time", idle}, udi.ListenFDsEnv(os.Environ(), os.Getpid()))
	}
	fmt.Fprintf(stderr, "udi-setup %s: %v\n", dockerAPIExecCommand, err)
	return 125
}

func execPodman(cfg udi.Config, args, env []string) error {
	plan, err := udi.PlanPodman(cfg)
	if err != nil {
		return err
	}
	argv := append([]string{"podman"}, args...)
	if d := plan.Delegate; d != nil {
		// Groups, then GID, then UID: after the UID the process may no
		// longer change the others. Go applies each to every thread.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("drop supplementary groups for %s: %w", d.Name, err)
		}
		if err := syscall.Setresgid(d.GID, d.GID, d.GID); err != nil {
			return fmt.Errorf("switch to GID %d of %s: %w", d.GID, d.Name, err)
		}
		if err := syscall.Setresuid(d.UID, d.UID, d.UID); err != nil {
			return fmt.Errorf("switch to UID %d of %s: %w", d.UID, d.Name, err)
		}
		env = udi.DelegateEnv(env, *d)
	}
	return syscall.Exec(plan.Path, argv, env)
}
