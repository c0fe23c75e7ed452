package localcluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The webhook configurations that put OpenShift's SCC admission in front of
// every pod.
const (
	sccMutatingWebhook   = "scc-admission.localcluster.nested-workspaces.io"
	sccValidatingWebhook = "scc-validation.localcluster.nested-workspaces.io"
)

// startOpenShiftAdmission runs hack/openshift-admission (OpenShift's own SCC
// admission plugin and namespace UID/MCS allocation) and makes the API
// server call it for every pod create and update.
func (c *Cluster) startOpenShiftAdmission(ctx context.Context, assets string) error {
	certFile, keyFile, caPEM, err := writeServingCert(c.dir)
	if err != nil {
		return err
	}
	ready := filepath.Join(c.dir, "openshift-admission.addr")
	p, err := startProcess(c.dir, filepath.Join(assets, "openshift-admission"),
		"--kubeconfig", c.KubeconfigPath, "--tls-cert-file", certFile, "--tls-private-key-file", keyFile,
		"--listen", "127.0.0.1:0", "--ready-file", ready)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, p)
	addr, err := p.waitForFile(ctx, ready, time.Minute)
	if err != nil {
		return err
	}
	return c.registerSCCWebhooks(ctx, "https://"+string(addr), caPEM)
}

func (c *Cluster) registerSCCWebhooks(ctx context.Context, base string, caPEM []byte) error {
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: sccMutatingWebhook},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    sccMutatingWebhook,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + "/mutate-pods"), CABundle: caPEM},
			Rules:                   rules,
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](15),
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.NeverReinvocationPolicy),
		}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: sccValidatingWebhook},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    sccValidatingWebhook,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + "/validate-pods"), CABundle: caPEM},
			Rules:                   rules,
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](15),
		}},
	}
	for _, obj := range []client.Object{mutating, validating} {
		if err := c.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("register SCC admission webhook: %w", err)
		}
	}
	return nil
}

// writeServingCert makes a CA and a certificate for 127.0.0.1 signed by it.
func writeServingCert(dir string) (certFile, keyFile string, caPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localcluster-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "webhook.crt"), filepath.Join(dir, "webhook.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	return certFile, keyFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
