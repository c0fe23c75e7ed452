package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
}

// composeTools are the compose commands the demo runs the same project
// with, one after the other. A workspace image with Docker's compose adds
// "docker compose" here.
var composeTools = []string{"podman-compose"}

// terminalSession is what the demo types in the nested workspace, in the
// workspace's working directory (/projects).
func terminalSession() []typed {
	session := []typed{
		{why: "who am I, and in which user namespace: the pod's own, 65536 IDs from a high host range",
			line: "id; cat /proc/self/uid_map", expect: "uid=1000"},
		{why: "there is no registry here: import the busybox image the workspace image carries",
			line: "podman import -q " + localcluster.BusyboxArchive + " localhost/busybox"},
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
			typed{line: compose + " up --exit-code-from client", expect: "hello from web"},
			typed{line: compose + " down"},
		)
	}
	return session
}

// runTerminal types the session in the workspace's tools container, as
// its user, printing each command and its output as a terminal shows them.
func runTerminal(ctx context.Context, p *printer, cluster *localcluster.Cluster, pod *corev1.Pod) error {
	p.section(fmt.Sprintf("In the workspace's terminal (pod %s on node %s, container %q, as the DevWorkspace Operator rendered it)",
		pod.Name, pod.Spec.NodeName, pod.Spec.Containers[0].Name))
	for _, cmd := range terminalSession() {
		if cmd.why != "" {
			fmt.Fprintf(p.w, "\n  # %s\n", cmd.why)
		}
		fmt.Fprintf(p.w, "  $ %s\n", strings.ReplaceAll(cmd.line, "\n", "\n  > "))
		out := &terminal{w: p.w, prefix: "  "}
		stepCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := cluster.ExecStream(stepCtx, pod.Namespace, pod.Name, pod.Spec.Containers[0].Name,
			localcluster.ExecOutput{Stdout: out, TTY: true}, "sh", "-c", cmd.line)
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
