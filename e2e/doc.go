// Package e2e holds the tests that run against a real control plane
// (localcluster: kube-apiserver and etcd on this machine) and the nested
// podman tests. Its subdirectories group tests that share one cluster.
package e2e
