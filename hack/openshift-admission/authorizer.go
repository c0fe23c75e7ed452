package main

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"
)

// sarAuthorizer asks the API server's own authorizer (RBAC) through
// SubjectAccessReviews, as OpenShift's kube-apiserver asks its authorizer
// in-process: whether a user or service account may `use` an SCC.
type sarAuthorizer struct {
	client kubernetes.Interface
}

func (a *sarAuthorizer) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	u := attrs.GetUser()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   u.GetName(),
		UID:    u.GetUID(),
		Groups: u.GetGroups(),
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace:   attrs.GetNamespace(),
			Verb:        attrs.GetVerb(),
			Group:       attrs.GetAPIGroup(),
			Version:     attrs.GetAPIVersion(),
			Resource:    attrs.GetResource(),
			Subresource: attrs.GetSubresource(),
			Name:        attrs.GetName(),
		},
	}}
	if extra := u.GetExtra(); len(extra) > 0 {
		sar.Spec.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range extra {
			sar.Spec.Extra[k] = v
		}
	}
	out, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return authorizer.DecisionNoOpinion, "", fmt.Errorf("SubjectAccessReview: %w", err)
	}
	if out.Status.Allowed {
		return authorizer.DecisionAllow, out.Status.Reason, nil
	}
	return authorizer.DecisionNoOpinion, out.Status.Reason, nil
}
