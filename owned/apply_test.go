package owned

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestInStep(t *testing.T) {
	kind := Kind[*corev1.ConfigMap]{
		Name:  "ConfigMap",
		Empty: func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
		Same:  func(cur, want *corev1.ConfigMap) bool { return cur.Data["k"] == want.Data["k"] },
	}
	cm := func(labels, annotations map[string]string, v string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: labels, Annotations: annotations}, Data: map[string]string{"k": v}}
	}
	ours := func(extra ...string) map[string]string {
		l := Labels()
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	desired := cm(map[string]string{"role": "use"}, map[string]string{"note": "ours"}, "v")
	for _, row := range []struct {
		name    string
		current *corev1.ConfigMap
		want    bool
	}{
		{"as built", cm(ours("role", "use"), map[string]string{"note": "ours"}, "v"), true},
		{"an admin's extra label and annotation are kept", cm(ours("role", "use", "team", "a"), map[string]string{"note": "ours", "admin": "x"}, "v"), true},
		{"content differs", cm(ours("role", "use"), map[string]string{"note": "ours"}, "w"), false},
		{"our managed-by label missing", cm(map[string]string{"role": "use"}, map[string]string{"note": "ours"}, "v"), false},
		{"a desired label missing", cm(ours(), map[string]string{"note": "ours"}, "v"), false},
		{"a desired label with another value", cm(ours("role", "other"), map[string]string{"note": "ours"}, "v"), false},
		{"a desired annotation missing", cm(ours("role", "use"), nil, "v"), false},
		{"a desired annotation with another value", cm(ours("role", "use"), map[string]string{"note": "theirs"}, "v"), false},
	} {
		t.Run(row.name, func(t *testing.T) {
			if got := InStep(row.current, desired, kind); got != row.want {
				t.Errorf("InStep = %v, want %v", got, row.want)
			}
		})
	}
}
