// Command openshift-admission makes a stock kube-apiserver judge pods as
// OpenShift's does. It is test harness, never shipped, and lives in its own
// module because OpenShift's admission code imports Kubernetes internals of
// another release than the product's.
//
// It serves, over TLS, for the local kube-apiserver to call as admission
// webhooks:
//
//   - /mutate-pods and /validate-pods: OpenShift's own SecurityContextConstraints
//     admission plugin (github.com/openshift/apiserver-library-go sccadmission),
//     unchanged: its Admit phase picks the SCC (priority, restrictiveness,
//     openshift.io/required-scc), checks `use` for the requesting user and the
//     pod's service account through the API server's RBAC, defaults the pod's
//     UID, fsGroup, SELinux options, seccomp and capabilities, and annotates
//     openshift.io/scc; its Validate phase re-checks the final pod.
//
// and runs the namespace controller that gives every namespace the
// openshift.io/sa.scc.uid-range, sa.scc.supplemental-groups and sa.scc.mcs
// annotations, as OpenShift's cluster-policy-controller does.
//
// OpenShift compiles the plugin into its kube-apiserver; here it runs as a
// webhook so that the API server stays the stock binary the rest of the
// harness uses. Webhooks run after the in-tree mutating plugins
// (ServiceAccount included), as the plugin does in OpenShift.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openshift/apiserver-library-go/pkg/securitycontextconstraints/sccadmission"
	securityclient "github.com/openshift/client-go/security/clientset/versioned"
	securityinformers "github.com/openshift/client-go/security/informers/externalversions"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	coreapi "k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
)

// plugin is what this command needs of OpenShift's SCC admission plugin.
type plugin interface {
	admission.MutationInterface
	admission.ValidationInterface
}

func main() {
	var kubeconfig, certFile, keyFile, listen, readyFile string
	var verbosity int
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server whose SCCs, namespaces and RBAC are used")
	flag.StringVar(&certFile, "tls-cert-file", "", "serving certificate")
	flag.StringVar(&keyFile, "tls-private-key-file", "", "serving key")
	flag.StringVar(&listen, "listen", "127.0.0.1:0", "address to serve the webhooks on")
	flag.StringVar(&readyFile, "ready-file", "", "once serving, write the listen address here")
	flag.IntVar(&verbosity, "v", 0, "OpenShift plugin log verbosity (4 shows each decision)")
	flag.Parse()
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", fmt.Sprint(verbosity))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, kubeconfig, certFile, keyFile, listen, readyFile); err != nil {
		log.Fatalf("openshift-admission: %v", err)
	}
}

func run(ctx context.Context, kubeconfig, certFile, keyFile, listen, readyFile string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	// Unthrottled: OpenShift's plugin asks its authorizer in-process, and
	// here every pod costs a SubjectAccessReview per candidate SCC for the
	// requesting user and again for the pod's service account (dozens per
	// pod). A client-side limit (it was 200 per second) made admission wait
	// on it: over a second per pod while thousands of workspace pods start.
	cfg.QPS = -1
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	sec, err := securityclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	kubeInformers := informers.NewSharedInformerFactory(kube, 10*time.Minute)
	secInformers := securityinformers.NewSharedInformerFactory(sec, 10*time.Minute)

	p := sccadmission.NewConstraint()
	p.SetSecurityInformers(secInformers.Security().V1().SecurityContextConstraints())
	p.SetExternalKubeInformerFactory(kubeInformers)
	p.SetAuthorizer(&sarAuthorizer{client: kube})
	if err := p.ValidateInitialization(); err != nil {
		return err
	}
	nsController := newNamespaceAllocator(kube, kubeInformers.Core().V1().Namespaces())

	kubeInformers.Start(ctx.Done())
	secInformers.Start(ctx.Done())
	kubeInformers.WaitForCacheSync(ctx.Done())
	secInformers.WaitForCacheSync(ctx.Done())
	go nsController.run(ctx)

	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load serving certificate: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate-pods", review(func(ctx context.Context, a admission.Attributes) error { return p.Admit(ctx, a, nil) }))
	mux.HandleFunc("/validate-pods", review(func(ctx context.Context, a admission.Attributes) error { return p.Validate(ctx, a, nil) }))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte(ln.Addr().String()), 0o600); err != nil {
			return err
		}
	}
	log.Printf("openshift-admission: serving SCC admission on https://%s", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// review adapts an admission phase of the plugin to an AdmissionReview
// handler: the v1 pod is converted to the internal type the plugin works on
// and, after a mutating phase, the changed spec and annotations go back as a
// JSON patch.
func review(phase func(context.Context, admission.Attributes) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in := &admissionv1.AdmissionReview{}
		if err := json.NewDecoder(r.Body).Decode(in); err != nil || in.Request == nil {
			http.Error(w, "expected an AdmissionReview", http.StatusBadRequest)
			return
		}
		resp, err := judge(r.Context(), in.Request, phase)
		if err != nil {
			resp = deny(in.Request.UID, err)
		}
		out := &admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func judge(ctx context.Context, req *admissionv1.AdmissionRequest, phase func(context.Context, admission.Attributes) error) (*admissionv1.AdmissionResponse, error) {
	pod, err := internalPod(req.Object.Raw)
	if err != nil {
		return nil, err
	}
	var old runtime.Object
	if len(req.OldObject.Raw) > 0 {
		if old, err = internalPod(req.OldObject.Raw); err != nil {
			return nil, err
		}
	}
	before := pod.DeepCopy()
	attrs := admission.NewAttributesRecord(pod, old,
		schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind},
		req.Namespace, req.Name,
		schema.GroupVersionResource{Group: req.Resource.Group, Version: req.Resource.Version, Resource: req.Resource.Resource},
		req.SubResource, admission.Operation(req.Operation), nil, req.DryRun != nil && *req.DryRun, userInfo(req))
	if err := phase(ctx, attrs); err != nil {
		return nil, err
	}
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if equalPods(before, pod) {
		return resp, nil
	}
	patch, err := specAndAnnotationsPatch(pod)
	if err != nil {
		return nil, err
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	return resp, nil
}

func internalPod(raw []byte) (*coreapi.Pod, error) {
	v1pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, v1pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	pod := &coreapi.Pod{}
	if err := legacyscheme.Scheme.Convert(v1pod, pod, nil); err != nil {
		return nil, fmt.Errorf("convert pod: %w", err)
	}
	return pod, nil
}

func equalPods(a, b *coreapi.Pod) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// specAndAnnotationsPatch replaces what the SCC plugin may change: the pod
// spec (security contexts) and the annotations (openshift.io/scc).
func specAndAnnotationsPatch(pod *coreapi.Pod) ([]byte, error) {
	v1pod := &corev1.Pod{}
	if err := legacyscheme.Scheme.Convert(pod, v1pod, nil); err != nil {
		return nil, fmt.Errorf("convert admitted pod: %w", err)
	}
	ops := []map[string]any{
		{"op": "add", "path": "/spec", "value": v1pod.Spec},
		{"op": "add", "path": "/metadata/annotations", "value": v1pod.Annotations},
	}
	return json.Marshal(ops)
}

func userInfo(req *admissionv1.AdmissionRequest) user.Info {
	extra := map[string][]string{}
	for k, v := range req.UserInfo.Extra {
		extra[k] = v
	}
	return &user.DefaultInfo{Name: req.UserInfo.Username, UID: req.UserInfo.UID, Groups: req.UserInfo.Groups, Extra: extra}
}

func deny(uid types.UID, err error) *admissionv1.AdmissionResponse {
	status := metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: err.Error()}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		status = se.Status()
	}
	return &admissionv1.AdmissionResponse{UID: uid, Allowed: false, Result: &status}
}
