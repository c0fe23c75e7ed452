package localcluster

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// RequestCounter counts the API requests made through a rest.Config, by
// verb and resource path, so tests and benchmarks can prove how many writes
// a controller makes.
type RequestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Counting returns a copy of cfg whose requests are counted.
func Counting(cfg *rest.Config) (*rest.Config, *RequestCounter) {
	rc := &RequestCounter{counts: map[string]int{}}
	return intercept(cfg, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		rc.add(req)
		return next.RoundTrip(req)
	}), rc
}

// intercept returns a copy of cfg whose requests go through f, which may
// answer them itself or pass them on to next.
func intercept(cfg *rest.Config, f func(req *http.Request, next http.RoundTripper) (*http.Response, error)) *rest.Config {
	out := rest.CopyConfig(cfg)
	prev := out.WrapTransport
	out.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return roundTripFunc(func(req *http.Request) (*http.Response, error) { return f(req, rt) })
	}
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (rc *RequestCounter) add(req *http.Request) {
	verb := req.Method
	switch {
	case req.Method == http.MethodGet && req.URL.Query().Get("watch") == "true":
		verb = "WATCH"
	case req.URL.Query().Get("dryRun") != "":
		// Changes nothing: not a write.
		verb = "DRYRUN " + verb
	}
	rc.mu.Lock()
	rc.counts[verb+" "+req.URL.Path]++
	rc.mu.Unlock()
}

// Writes is the number of POST, PUT, PATCH and DELETE requests so far.
func (rc *RequestCounter) Writes() int {
	n := 0
	for k, v := range rc.Snapshot() {
		if isWrite(k) {
			n += v
		}
	}
	return n
}

// Total is the number of requests so far.
func (rc *RequestCounter) Total() int {
	n := 0
	for _, v := range rc.Snapshot() {
		n += v
	}
	return n
}

// Snapshot returns the counts, keyed "VERB /path".
func (rc *RequestCounter) Snapshot() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.counts))
	for k, v := range rc.counts {
		out[k] = v
	}
	return out
}

// WritesSince lists the write requests made since an earlier Snapshot.
func (rc *RequestCounter) WritesSince(before map[string]int) []string {
	var out []string
	for k, v := range rc.Snapshot() {
		if isWrite(k) && v > before[k] {
			out = append(out, fmt.Sprintf("%s x%d", k, v-before[k]))
		}
	}
	sort.Strings(out)
	return out
}

func isWrite(key string) bool {
	for _, m := range []string{"POST ", "PUT ", "PATCH ", "DELETE "} {
		if strings.HasPrefix(key, m) {
			return true
		}
	}
	return false
}
