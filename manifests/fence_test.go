package manifests_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// fenceExempt are the writes the operator's RBAC grants that no policy of
// the fence needs to match, and why.
var fenceExempt = map[string]string{
	"authentication.k8s.io/tokenreviews":                       "a review is answered, never stored (the metrics endpoint authenticates its callers)",
	"authorization.k8s.io/subjectaccessreviews":                "a review is answered, never stored (the metrics endpoint authorizes its callers)",
	"enabler.nested-workspaces.io/nestedcontainers/status":     "the operator's own report; the spec cannot change through the status subresource",
	"enabler.nested-workspaces.io/nestedcontainers/finalizers": "not an endpoint: the permission the API server checks before the operator sets blockOwnerDeletion on an object owned by a NestedContainers",
	"coordination.k8s.io/leases":                               "granted by a Role in the operator's own namespace only, where only its own leader election reads them",
}

// writeOperations maps an RBAC verb to the admission operations it allows.
var writeOperations = map[string][]admissionregistrationv1.OperationType{
	"create":           {admissionregistrationv1.Create},
	"update":           {admissionregistrationv1.Update},
	"patch":            {admissionregistrationv1.Update},
	"delete":           {admissionregistrationv1.Delete},
	"deletecollection": {admissionregistrationv1.Delete},
	"*":                {admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
}

// Every write the operator's RBAC allows (the generated ClusterRole and the
// leader-election Role) is matched by a policy of the fence, for the
// operator's service account in any namespace, bound to deny: a new
// +kubebuilder:rbac write marker without a fence fails here.
func TestFenceCoversEveryWriteTheRBACAllows(t *testing.T) {
	policies, bindings := readFence(t, "policy/fence.yaml")
	denied := map[string]bool{}
	for _, b := range bindings {
		if slices.Contains(b.Spec.ValidationActions, admissionregistrationv1.Deny) && b.Spec.MatchResources == nil && b.Spec.ParamRef == nil {
			denied[b.Spec.PolicyName] = true
		}
	}
	for _, p := range policies {
		t.Run(p.Name, func(t *testing.T) {
			if !denied[p.Name] {
				t.Errorf("no binding denies what %s refuses", p.Name)
			}
			if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admissionregistrationv1.Fail {
				t.Errorf("failurePolicy is not Fail: a policy that cannot be evaluated must refuse")
			}
			if len(p.Spec.MatchConditions) != 1 || p.Spec.MatchConditions[0].Expression != operatorInAnyNamespace {
				t.Errorf("matchConditions = %+v, want exactly %q", p.Spec.MatchConditions, operatorInAnyNamespace)
			}
		})
	}

	used := map[string]bool{}
	for _, file := range []string{"rbac/role.yaml", "rbac/leader_election_role.yaml"} {
		for _, rule := range readRules(t, file) {
			for _, verb := range rule.Verbs {
				ops, write := writeOperations[verb]
				if !write {
					continue
				}
				for _, group := range rule.APIGroups {
					for _, resource := range rule.Resources {
						key := group + "/" + resource
						if _, ok := fenceExempt[key]; ok {
							used[key] = true
							continue
						}
						for _, op := range ops {
							if !fenceMatches(policies, group, resource, op) {
								t.Errorf("%s grants %s %s (%s) and no policy in policy/fence.yaml matches %s of it: fence it, or say in fenceExempt why it needs none",
									file, verb, key, strings.Join(rule.ResourceNames, ","), op)
							}
						}
					}
				}
			}
		}
	}
	for key := range fenceExempt {
		if !used[key] {
			t.Errorf("fenceExempt names %s, which the RBAC no longer lets the operator write: remove it", key)
		}
	}
}

// operatorInAnyNamespace is the matchCondition of every policy of the fence.
const operatorInAnyNamespace = `request.userInfo.username.matches('^system:serviceaccount:[^:]+:nested-workspaces-enabler$')`

func fenceMatches(policies []admissionregistrationv1.ValidatingAdmissionPolicy, group, resource string, op admissionregistrationv1.OperationType) bool {
	for _, p := range policies {
		if p.Spec.MatchConstraints == nil {
			continue
		}
		for _, r := range p.Spec.MatchConstraints.ResourceRules {
			if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
				(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) &&
				(slices.Contains(r.Operations, op) || slices.Contains(r.Operations, admissionregistrationv1.OperationAll)) {
				return true
			}
		}
	}
	return false
}

func readRules(t *testing.T, path string) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(obj.Rules) == 0 {
		t.Fatalf("%s has no rules", path)
	}
	return obj.Rules
}

func readFence(t *testing.T, path string) ([]admissionregistrationv1.ValidatingAdmissionPolicy, []admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var policies []admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []admissionregistrationv1.ValidatingAdmissionPolicyBinding
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &kind); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch kind.Kind {
		case "ValidatingAdmissionPolicy":
			var p admissionregistrationv1.ValidatingAdmissionPolicy
			if err := yaml.UnmarshalStrict(doc, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			policies = append(policies, p)
		case "ValidatingAdmissionPolicyBinding":
			var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
			if err := yaml.UnmarshalStrict(doc, &b); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			bindings = append(bindings, b)
		default:
			t.Fatalf("%s: unexpected kind %q", path, kind.Kind)
		}
	}
	if len(policies) == 0 {
		t.Fatalf("%s holds no policy", path)
	}
	return policies, bindings
}
