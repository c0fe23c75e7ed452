package localcluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EventsFor summarises the Warning events in a namespace, newest last: why
// a ReplicaSet could not create its pod (SCC admission's refusal), why a
// pod did not start. Tests put it in their failure messages.
func (c *Cluster) EventsFor(ctx context.Context, namespace string) string {
	events := &corev1.EventList{}
	if err := c.Client.List(ctx, events, client.InNamespace(namespace)); err != nil {
		return "cannot list events: " + err.Error()
	}
	sort.Slice(events.Items, func(i, j int) bool {
		return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp)
	})
	var out []string
	for _, e := range events.Items {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s/%s: %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message))
	}
	if len(out) == 0 {
		return "no warning events"
	}
	if len(out) > 5 {
		out = out[len(out)-5:]
	}
	return strings.Join(out, " | ")
}
