package operator_test

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

const (
	operatorNamespace = localcluster.OperatorNamespace
	operatorSA        = localcluster.OperatorServiceAccount
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
