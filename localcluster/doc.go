// Package localcluster runs a real Kubernetes control plane (kube-apiserver
// and etcd built by hack/build-bins.sh) on this machine and makes it look
// like a given OpenShift release: it installs the OpenShift CRDs taken from
// the openshift/api module's own manifests and the DevWorkspace CRDs from the
// DevWorkspace Operator module, then writes the ClusterVersion, FeatureGate
// and Node objects that a real cluster of that release would have.
//
// It is what the e2e tests, the benchmarks and `nested-enabler demo` stand
// on. Nothing here fakes the API server: every object goes through a real
// kube-apiserver with its validation, defaulting and admission.
package localcluster
