// Package localcluster runs a real Kubernetes control plane (kube-apiserver
// and etcd built by hack/build-bins.sh) on this machine and makes it look
// like a given OpenShift release: it installs the OpenShift CRDs taken from
// the openshift/api module's own manifests and the DevWorkspace CRDs from the
// DevWorkspace Operator module, then writes the ClusterVersion, FeatureGate,
// Node and default SecurityContextConstraints objects that a real cluster of
// that release would have.
//
// Pods are judged as on OpenShift: OpenShift's own SCC admission plugin
// (hack/openshift-admission, from apiserver-library-go) runs as admission
// webhooks and namespaces get their UID ranges and SELinux levels. With
// Options.Workloads, kube-controller-manager, kube-scheduler and kwok turn
// Deployments into pods that run (as far as kwok plays a kubelet).
//
// It is what the e2e tests, the benchmarks and the demo
// (cmd/nested-workspaces-demo) stand on. Nothing here fakes the API server:
// every object goes through a real kube-apiserver with its validation,
// defaulting and admission.
package localcluster
