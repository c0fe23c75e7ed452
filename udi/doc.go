// Package udi makes rootless podman work inside a workspace pod that runs in
// its own user namespace (hostUsers: false). It owns what happens inside the
// Universal Developer Image, and nothing that talks to the cluster:
//
//   - reading the pod's /proc/self/uid_map and gid_map;
//   - planning /etc/subuid and /etc/subgid from them (every mapped ID except
//     the namespace's root and the user's own) and writing them, and the
//     /etc/passwd entry an arbitrary UID needs, without ever leaving a
//     half-written file;
//   - choosing the container storage driver by trial (native overlay in a
//     scratch user namespace, then fuse-overlayfs, then vfs) and writing the
//     user's storage.conf and containers.conf;
//   - podman for a workspace running as root (a delegate user);
//   - podman's Docker-compatible API for Docker tools, on a socket in the
//     user's runtime directory, started on first use by a waiter that also
//     runs the healthchecks podman cannot schedule without systemd;
//   - the doctor: one check per prerequisite of nested podman, each with the
//     fix a user or an administrator can apply.
//
// Every path it reads or writes comes from a Config; there is no package
// state. cmd/udi-setup is the command-line front end, and Containerfile in
// this directory is the image layer that installs it.
package udi
