package main

import (
	"os"
	"strings"
	"testing"
)

func TestReadSample(t *testing.T) {
	const header = "apiVersion: enabler.nested-workspaces.io/v1alpha1\nkind: NestedContainers\n"
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"the_shipped_sample_decodes", "", ""},
		{"a_field_the_api_no_longer_has_is_named", header + "metadata: {name: cluster}\nspec:\n  scc: {name: nested-podman, builtIn: Auto}\n",
			`unknown field "spec.scc.name"`},
		{"an_unknown_top_level_field_is_named", header + "metadata: {name: cluster}\nspecc: {enabled: true}\n", `unknown field "specc"`},
		{"another_name_is_refused", header + "metadata: {name: mine}\nspec: {enabled: true}\n", `metadata.name "mine"`},
		{"another_kind_is_refused", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster}\n", "ConfigMap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.yaml)
			if tc.yaml == "" {
				var err error
				if data, err = os.ReadFile("../../" + sampleFile); err != nil {
					t.Fatal(err)
				}
			}
			sample, err := readSample("sample.yaml", data)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("readSample: %v", err)
			case tc.wantErr == "":
				if sample["kind"] != "NestedContainers" {
					t.Errorf("sample %v", sample)
				}
			case err == nil || !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("readSample error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
