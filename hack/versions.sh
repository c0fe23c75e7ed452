# shellcheck shell=bash
# The versions of the Kubernetes parts the project builds from the Go module
# proxy, in one place: the simulated control plane (hack/build-bins.sh) and
# the real node's kubelet (hack/build-node-bins.sh) are the same Kubernetes
# release. Each may be overridden from the environment. Two other places
# must agree, and test/localcluster's TestVersionsAgree checks that they
# do: test/localcluster/cluster.go (KubernetesVersion, EtcdVersion: the
# cache directory's name) and hack/openshift-admission/go.mod (OpenShift's
# SCC admission plugin compiles against the same Kubernetes packages).
K8S_VERSION="${K8S_VERSION:-1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
