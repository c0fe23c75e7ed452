package udi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// PasswdEntry is the part of an /etc/passwd line nested podman cares about.
type PasswdEntry struct {
	Name string
	UID  int
	GID  int
	Home string
}

// lookupPasswdUID finds the first entry for uid, as getpwuid does.
func lookupPasswdUID(data string, uid int) (PasswdEntry, bool) {
	for _, line := range strings.Split(data, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := strconv.Atoi(f[2])
		if err != nil || u != uid {
			continue
		}
		g, err := strconv.Atoi(f[3])
		if err != nil {
			g = -1
		}
		return PasswdEntry{Name: f[0], UID: u, GID: g, Home: f[5]}, true
	}
	return PasswdEntry{}, false
}

// LookupPasswd reads the entry for uid from the passwd file at path.
func LookupPasswd(path string, uid int) (PasswdEntry, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return PasswdEntry{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	e, ok := lookupPasswdUID(string(data), uid)
	return e, ok, nil
}

// EnsurePasswd makes sure the running UID has a passwd entry, adding the one
// the UDI entrypoint adds for an arbitrary UID when there is none:
// "user:x:UID:GID:user user:HOME:/bin/bash". newuidmap refuses to run for a
// UID without one, and also unless the entry's group is the process's GID —
// so the entry gets the process's GID (0 in an OpenShift pod, as the UDI
// writes).
func EnsurePasswd(cfg Config, w fileWriter) (PasswdEntry, WriteMethod, error) {
	data, err := os.ReadFile(cfg.PasswdPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return PasswdEntry{}, "", fmt.Errorf("read %s: %w", cfg.PasswdPath, err)
	}
	if e, ok := lookupPasswdUID(string(data), cfg.UID); ok {
		return e, Unchanged, nil
	}
	e := PasswdEntry{Name: cfg.UserName, UID: cfg.UID, GID: cfg.GID, Home: cfg.Home}
	line := fmt.Sprintf("%s:x:%d:%d:%s user:%s:%s\n", e.Name, e.UID, e.GID, e.Name, e.Home, cfg.Shell)
	content := string(data)
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	how, err := w.write(cfg.PasswdPath, []byte(content+line), 0o644)
	if err != nil {
		return PasswdEntry{}, "", fmt.Errorf("add a passwd entry for UID %d (podman and newuidmap need one): %w", cfg.UID, err)
	}
	return e, how, nil
}
