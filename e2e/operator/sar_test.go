package operator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// canI asks the real API server's RBAC authorizer, with a
// SubjectAccessReview, whether user may do verb on an SCC.
func canI(t *testing.T, user, namespace, verb, sccName string) bool {
	t.Helper()
	groups := []string{"system:authenticated"}
	if len(user) > len("system:serviceaccount:") && user[:len("system:serviceaccount:")] == "system:serviceaccount:" {
		groups = append(groups, "system:serviceaccounts")
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: verb, Group: "security.openshift.io",
			Resource: "securitycontextconstraints", Name: sccName,
		},
	}}
	if err := env.cluster.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// quietWrites waits until the operator has made no write for a while.
func quietWrites(t *testing.T) {
	t.Helper()
	last := env.requests.Writes()
	stable := time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if n := env.requests.Writes(); n != last {
			last, stable = n, time.Now()
		} else if time.Since(stable) > 3*time.Second {
			return
		}
	}
	t.Fatalf("operator kept writing: %v", env.requests.Snapshot())
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func metaLen(list client.ObjectList) int { return meta.LenList(list) }
