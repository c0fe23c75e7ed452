// Package scc owns the SecurityContextConstraints nested-podman workspace
// pods run under, and the RBAC that lets exactly the workspace service
// accounts and the DevWorkspace controller use it.
//
// The builders (NestedPodmanSCC, UseClusterRole, UseRoleBinding,
// UseClusterRoleBinding) are pure: they return objects and talk to no one.
// The Apply and Delete functions write them for the operator under three
// rules: an object of the same name that lacks our managed-by label is never
// changed or deleted; an object that matches what is wanted gets no write at
// all; and an SCC that would grant SETUID/SETGID without forcing pods into
// their own user namespace is never left on the cluster (OpenShift 4.19 with
// featureSet Default prunes userNamespaceLevel from SCCs).
package scc
