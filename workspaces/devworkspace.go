package workspaces

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// devWorkspace is what the operator decodes of a DevWorkspace: its
// metadata and the phase and message of its status. Decoding skips the
// rest (the devfile), so a page of DevWorkspaces costs little. It is never
// written: a write of it would drop the spec.
type devWorkspace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Status            struct {
		// DevWorkspaceID names the workspace's Deployment.
		DevWorkspaceID string `json:"devworkspaceId,omitempty"`
		Phase          string `json:"phase,omitempty"`
		Message        string `json:"message,omitempty"`
	} `json:"status,omitempty"`
}

type devWorkspaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []devWorkspace `json:"items"`
}

func (d *devWorkspace) DeepCopyObject() runtime.Object {
	out := *d
	d.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return &out
}

func (l *devWorkspaceList) DeepCopyObject() runtime.Object {
	out := *l
	out.Items = make([]devWorkspace, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopyObject().(*devWorkspace)
	}
	return &out
}

// The DevWorkspace phases of a workspace that failed to start
// (devfile/api v2 DevWorkspaceStatusFailed, and the DevWorkspace Operator's
// own "Failing" while it stops one).
const (
	phaseFailed  = "Failed"
	phaseFailing = "Failing"
)
