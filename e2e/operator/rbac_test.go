package operator_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

const (
	operatorNamespace = "nested-workspaces-enabler"
	operatorSA        = "nested-workspaces-enabler"
)

// operatorServiceAccount installs the shipped ClusterRole and binding and
// the admission policy that fences the operator's power over SCCs, and
// returns a config that authenticates as the operator's service account.
func operatorServiceAccount(ctx context.Context, c *localcluster.Cluster) (*rest.Config, error) {
	role := &rbacv1.ClusterRole{}
	binding := &rbacv1.ClusterRoleBinding{}
	for path, obj := range map[string]client.Object{
		"../../manifests/rbac/role.yaml":         role,
		"../../manifests/rbac/role_binding.yaml": binding,
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	fence, err := readDocs("../../manifests/policy/scc-fence.yaml")
	if err != nil {
		return nil, err
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: operatorSA, Namespace: operatorNamespace}},
		role, binding,
	}
	objs = append(objs, fence...)
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("install operator RBAC: %w", err)
		}
	}
	return c.AddUser("system:serviceaccount:"+operatorNamespace+":"+operatorSA,
		"system:serviceaccounts", "system:serviceaccounts:"+operatorNamespace, "system:authenticated")
}

// readDocs decodes every YAML document of a manifest file.
func readDocs(path string) ([]client.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []client.Object
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

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
