package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/udi"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "no command prints usage", args: nil, wantCode: 2, wantErr: "Usage:"},
		{name: "help goes to stdout", args: []string{"help"}, wantCode: 0, wantOut: "udi-setup doctor [-o text|json]"},
		{name: "an unknown command is named", args: []string{"fix"}, wantCode: 2, wantErr: `unknown command "fix"`},
		{name: "doctor refuses an unknown format", args: []string{"doctor", "-o", "yaml"}, wantCode: 2, wantErr: `-o "yaml": want text or json`},
		{name: "configure refuses stray arguments", args: []string{"configure", "now"}, wantCode: 2, wantErr: `unexpected arguments ["now"]`},
		{name: "configure refuses unknown flags", args: []string{"configure", "-force"}, wantCode: 2, wantErr: "flag provided but not defined: -force"},
		{name: "the trial's child needs its directory", args: []string{probeCommand}, wantCode: 2, wantErr: "DIR [MOUNT_PROGRAM]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

// TestDoctorJSONExitCode: whatever this machine is, doctor -o json prints
// every check and exits 1 exactly when one failed.
func TestDoctorJSONExitCode(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	var out, errOut bytes.Buffer
	code := run([]string{"doctor", "-o", "json"}, &out, &errOut)
	var r udi.DoctorReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	// 13 prerequisites of podman, and the Docker-compatible API.
	if len(r.Checks) != 14 {
		t.Errorf("%d checks, want 14", len(r.Checks))
	}
	if (code == 0) != r.OK {
		t.Errorf("exit %d with ok=%v", code, r.OK)
	}
}

func TestConfigureFailsOutsideAUserNamespaceWithTheFix(t *testing.T) {
	m, err := udi.ReadIDMap("/proc/self/uid_map")
	if err != nil || !udi.IsIdentityMap(m) {
		t.Skip("this test runs where /proc/self/uid_map is the host's identity map")
	}
	t.Setenv("HOME", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"configure"}, &out, &errOut); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"udi-setup configure: not in a user namespace", "hostUsers: false", "Run 'udi-setup doctor'"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out.String())
	}
}
