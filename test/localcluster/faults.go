package localcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// ConflictInjector answers the first write of each kind (method and
// resource, e.g. "PATCH devworkspaceoperatorconfigs") made through a
// rest.Config with 409 Conflict, as an API server does when another writer
// got there first, without sending it on. Later writes of that kind pass.
type ConflictInjector struct {
	mu       sync.Mutex
	seen     map[string]bool
	Injected []string
}

// InjectConflicts returns a copy of cfg whose first write of each kind
// fails with 409 Conflict.
func InjectConflicts(cfg *rest.Config) (*rest.Config, *ConflictInjector) {
	ci := &ConflictInjector{seen: map[string]bool{}}
	return intercept(cfg, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if kind, ok := writeKind(req); ok && ci.first(kind) {
			return conflict(req, kind), nil
		}
		return next.RoundTrip(req)
	}), ci
}

func (ci *ConflictInjector) first(kind string) bool {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if ci.seen[kind] {
		return false
	}
	ci.seen[kind] = true
	ci.Injected = append(ci.Injected, kind)
	return true
}

// Kinds lists the write kinds that got a 409, in order.
func (ci *ConflictInjector) Kinds() []string {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	return append([]string(nil), ci.Injected...)
}

// writeKind is "METHOD resource[/subresource]" for a write, from a path
// such as /apis/g/v/namespaces/ns/rolebindings/name.
func writeKind(req *http.Request) (string, bool) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return "", false
	}
	if req.URL.Query().Get("dryRun") != "" {
		return "", false // changes nothing: the write it precedes gets the 409
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// Skip /api/v1 or /apis/group/version, then namespaces/ns.
	i := 2
	if len(parts) > 0 && parts[0] == "apis" {
		i = 3
	}
	if len(parts) > i+2 && parts[i] == "namespaces" {
		i += 2
	}
	if i >= len(parts) {
		return "", false
	}
	kind := req.Method + " " + parts[i]
	if len(parts) > i+2 {
		kind += "/" + parts[i+2]
	}
	return kind, true
}

func conflict(req *http.Request, kind string) *http.Response {
	status := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: http.StatusConflict, Reason: metav1.StatusReasonConflict,
		Message: fmt.Sprintf("Operation cannot be fulfilled (injected conflict on the first %s): the object has been modified; please apply your changes to the latest version and try again", kind),
	}
	body, _ := json.Marshal(status)
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusConflict, Status: "409 Conflict", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}
