// Command testcontainers-probe is what a user's Testcontainers test does,
// run inside a nested workspace against udi-setup's Docker-compatible API
// (DOCKER_HOST): start a container from a local image, wait until its HTTP
// port answers, talk to it through the mapped port, and terminate it.
//
// It is its own module so that the product's go.mod does not carry
// Testcontainers; e2e/realnode builds it statically on the host and copies
// it into the workspace. Ryuk (Testcontainers' reaper) is off: its image
// comes from a registry and there is none; the program terminates its
// container itself and the test checks that nothing is left.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testcontainers-probe:", err)
		os.Exit(1)
	}
}

func run() error {
	image := "localhost/busybox:latest"
	if len(os.Args) > 1 {
		image = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        image,
			ExposedPorts: []string{"8080/tcp"},
			Cmd:          []string{"sh", "-c", "mkdir -p /www && echo hello-from-testcontainers > /www/index.html && httpd -f -p 8080 -h /www"},
			WaitingFor:   wait.ForHTTP("/").WithPort("8080/tcp").WithStartupTimeout(time.Minute),
		},
		Started: true,
	})
	if err != nil {
		return fmt.Errorf("start a container: %w", err)
	}
	fmt.Printf("started container %.12s from %s\n", c.GetContainerID(), image)
	host, err := c.Host(ctx)
	if err != nil {
		return err
	}
	port, err := c.MappedPort(ctx, "8080/tcp")
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%s/", host, port.Port())
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("GET %s: %s %s", url, resp.Status, body)
	// busybox's shell as PID 1 ignores SIGTERM: do not wait the default 10 s.
	if err := c.Terminate(ctx, testcontainers.StopTimeout(time.Second)); err != nil {
		return fmt.Errorf("terminate: %w", err)
	}
	fmt.Println("terminated")
	return nil
}
