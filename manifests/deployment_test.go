package manifests_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func readStrict(t *testing.T, file string, obj any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// The metrics certificate travels from the service CA to the metrics
// server by names in three places: the Service's annotation names the
// Secret, the Deployment mounts that Secret, and --metrics-cert-dir names
// the mount.
func TestMetricsCertificateReachesTheMetricsServer(t *testing.T) {
	svc := &corev1.Service{}
	readStrict(t, "manager/metrics_service.yaml", svc)
	dep := &appsv1.Deployment{}
	readStrict(t, "manager/deployment.yaml", dep)
	secret := svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"]
	if secret == "" {
		t.Fatal("the metrics Service asks the service CA for no certificate")
	}
	volume := ""
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			volume = v.Name
		}
	}
	if volume == "" {
		t.Fatalf("the Deployment mounts no volume of Secret %s", secret)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	mountPath := ""
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			mountPath = m.MountPath
		}
	}
	if mountPath == "" || !slices.Contains(c.Args, "--metrics-cert-dir="+mountPath) {
		t.Errorf("volume %s mounted at %q, args %v: --metrics-cert-dir must name the mount", volume, mountPath, c.Args)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" || !hasPort(c.Ports, "metrics", 8443) || !slices.Contains(c.Args, "--metrics-bind-address=:8443") {
		t.Errorf("Service ports %+v, container ports %+v, args %v: the Service must reach the metrics server's port", svc.Spec.Ports, c.Ports, c.Args)
	}
}

// An OLM Subscription can set the operator's environment, never its
// arguments: the DevWorkspace Operator settings are environment variables
// of the Deployment, not flags (a flag would win over the Subscription).
func TestDWOSettingsAreEnvironmentVariables(t *testing.T) {
	dep := &appsv1.Deployment{}
	readStrict(t, "manager/deployment.yaml", dep)
	c := dep.Spec.Template.Spec.Containers[0]
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--dwo-") {
			t.Errorf("the Deployment passes %s: set it as an environment variable, which a Subscription can override", a)
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for _, name := range []string{"DWO_NAMESPACE"} {
		if env[name] == "" {
			t.Errorf("the Deployment does not set %s", name)
		}
	}
}

func hasPort(ports []corev1.ContainerPort, name string, port int32) bool {
	for _, p := range ports {
		if p.Name == name && p.ContainerPort == port {
			return true
		}
	}
	return false
}
