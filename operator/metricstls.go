package operator

import (
	"crypto/tls"

	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// securedMetricsOptions serves metrics over HTTPS to callers metricsAuth
// lets in (Prometheus scrapes with its service account token). With
// certDir the certificate is tls.crt/tls.key there, reloaded when the
// service CA rotates it; without, controller-runtime generates a
// self-signed one at start, which a scraper can only skip verifying.
func securedMetricsOptions(addr, certDir string) metricsserver.Options {
	return metricsserver.Options{
		BindAddress:    addr,
		SecureServing:  true,
		FilterProvider: metricsAuth,
		CertDir:        certDir,
		TLSOpts:        []func(*tls.Config){offerOnlyHTTP1},
	}
}

// offerOnlyHTTP1 turns HTTP/2 off: its stream handling is what the HTTP/2
// rapid reset and CONTINUATION flood advisories (CVE-2023-44487,
// CVE-2023-39325) exploit, and a metrics endpoint gains nothing from it.
func offerOnlyHTTP1(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }
