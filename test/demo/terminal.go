package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// typed is one command a user types in the workspace's terminal.
type typed struct {
	// why is said before it, as a comment.
	why string
	// line is what the user types (a shell command line, may span lines).
	line string
	// expect is what its output must contain: the demo fails otherwise,
	// so that it never claims what did not happen.
	expect string
	// login runs the line in a login shell (bash -l), as a workspace
	// terminal's shell is: it sets DOCKER_HOST to the workspace's
	// Docker-compatible API (udi/Containerfile's profile script).
	login bool
}

// composeTools are the compose commands the demo runs the same project
// with, one after the other: podman's own, and Docker's compose v2 against
// the workspace's Docker-compatible API (through a login shell).
var composeTools = []struct {
	command string
	login   bool
}{{"podman-compose", false}, {"docker compose", true}}

// cgroupV1Quiet turns off podman 5's cgroup v1 deprecation warning (this
// machine's cgroup v1, not OpenShift's).
const cgroupV1Quiet = "PODMAN_IGNORE_CGROUPSV1_WARNING"

// busyboxInPod is where the demo copies the busybox root filesystem into
// the workspace (there is no registry).
const busyboxInPod = "/tmp/busybox.tar"

// terminalSession is what the demo types in the nested workspace, in the
// workspace's working directory (/projects).
func terminalSession() []typed {
	session := []typed{
		{why: "who am I, and in which user namespace: the pod's own, 65536 IDs from a high host range",
			line: "id; cat /proc/self/uid_map", expect: "uid=1000"},
		{why: "there is no registry here: import the busybox root filesystem copied in above",
			line: "podman import -q " + busyboxInPod + " localhost/busybox"},
		{why: "a container: root inside, on the workspace's subordinate IDs outside",
			line: "podman run --rm localhost/busybox sh -c 'id; cat /proc/self/uid_map'", expect: "uid=0(root)"},
		{why: "an image built here, a RUN step changing owners across the ID range",
			line: `cat > Containerfile <<'EOF'
FROM localhost/busybox
RUN echo "built inside a workspace" > /hello && chown 65534:65534 /hello
CMD ["sh", "-c", "cat /hello; stat -c 'owned by %u:%g' /hello"]
EOF`},
		{line: "podman build -t localhost/hello .", expect: "localhost/hello"},
		{line: "podman run --rm localhost/hello", expect: "built inside a workspace"},
		{why: "two services that talk by name: the client fetches a page from web",
			line: `cat > compose.yaml <<'EOF'
services:
  web:
    image: localhost/busybox
    init: true
    command: sh -c 'mkdir -p /www && echo "hello from web" > /www/index.html && exec httpd -f -p 8080 -h /www'
  client:
    image: localhost/busybox
    depends_on: [web]
    command: sh -c 'for i in 1 2 3 4 5; do wget -qO- http://web:8080/ && exit 0; sleep 1; done; exit 1'
EOF`},
	}
	for _, compose := range composeTools {
		session = append(session,
			typed{line: compose.command + " up --exit-code-from client", expect: "hello from web", login: compose.login},
			typed{line: compose.command + " down", login: compose.login},
		)
	}
	return session
}

// runTerminal types the session in the workspace's tools container, as
// its user, printing each command and its output as a terminal shows them.
func runTerminal(ctx context.Context, p *printer, cluster *localcluster.Cluster, pod *corev1.Pod) error {
	p.section(fmt.Sprintf("In the workspace's terminal (pod %s on node %s, container %q, as the DevWorkspace Operator rendered it)",
		pod.Name, pod.Spec.NodeName, pod.Spec.Containers[0].Name))
	fmt.Fprintf(p.w, "\n  # this machine runs cgroup v1, where podman 5 warns at every command that v1 is deprecated;\n  # OpenShift's nodes run cgroup v2. The session sets %s=1.\n", cgroupV1Quiet)
	if err := copyBusybox(ctx, p, cluster, pod); err != nil {
		return err
	}
	for _, cmd := range terminalSession() {
		if cmd.why != "" {
			fmt.Fprintf(p.w, "\n  # %s\n", cmd.why)
		}
		fmt.Fprintf(p.w, "  $ %s\n", strings.ReplaceAll(cmd.line, "\n", "\n  > "))
		out := &terminal{w: p.w, prefix: "  "}
		stepCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		shell := []string{"env", cgroupV1Quiet + "=1", "sh", "-c"}
		if cmd.login {
			shell = []string{"env", cgroupV1Quiet + "=1", "bash", "-lc"}
		}
		err := cluster.ExecStream(stepCtx, pod.Namespace, pod.Name, pod.Spec.Containers[0].Name,
			localcluster.ExecOutput{Stdout: out, TTY: true}, append(shell, cmd.line)...)
		cancel()
		out.endLine()
		if err != nil {
			return fmt.Errorf("in the workspace: %w", err)
		}
		if cmd.expect != "" && !strings.Contains(out.seen.String(), cmd.expect) {
			return fmt.Errorf("in the workspace, %q printed no %q", cmd.line, cmd.expect)
		}
	}
	fmt.Fprintln(p.w)
	return nil
}

// copyBusybox copies the busybox root filesystem PrepareRealNode wrote
// into the workspace, as a user copies a file in (kubectl cp, here
// kubectl exec -i with cat).
func copyBusybox(ctx context.Context, p *printer, cluster *localcluster.Cluster, pod *corev1.Pod) error {
	from := filepath.Join(os.Getenv(localcluster.FixturesEnv), localcluster.BusyboxFixture)
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("the busybox root filesystem (localcluster.PrepareRealNode writes it): %w", err)
	}
	defer in.Close()
	fmt.Fprintf(p.w, "\n  # from the host, as kubectl cp does: a busybox root filesystem into the workspace\n  $ kubectl cp busybox.tar %s/%s:%s\n", pod.Namespace, pod.Name, busyboxInPod)
	copyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var errOut bytes.Buffer
	if err := cluster.ExecStream(copyCtx, pod.Namespace, pod.Name, pod.Spec.Containers[0].Name,
		localcluster.ExecOutput{Stdin: in, Stdout: io.Discard, Stderr: &errOut}, "sh", "-c", "cat > "+busyboxInPod); err != nil {
		return fmt.Errorf("copy busybox.tar into the workspace: %w: %s", err, errOut.String())
	}
	return nil
}

// terminal shows a command's output as a terminal does (the container's
// side is a TTY), indented under it, and keeps it.
type terminal struct {
	w       io.Writer
	prefix  string
	mu      sync.Mutex
	midLine bool
	seen    bytes.Buffer
}

func (t *terminal) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen.Write(b)
	var buf bytes.Buffer
	for _, c := range b {
		if c == '\r' {
			continue // the TTY's line ends are "\r\n"
		}
		if !t.midLine {
			buf.WriteString(t.prefix)
			t.midLine = true
		}
		buf.WriteByte(c)
		if c == '\n' {
			t.midLine = false
		}
	}
	if _, err := t.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// endLine ends a last line that had no newline.
func (t *terminal) endLine() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.midLine {
		fmt.Fprintln(t.w)
		t.midLine = false
	}
}
