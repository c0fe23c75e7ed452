package localcluster

import "testing"

func TestKubectlLogLinesLeaveTheCommandsStderr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"E1125 14:18:45.031011     289 websocket.go:297] Unknown stream id 1, discarding message\n", ""},
		{"E1125 14:18:45.031011     289 websocket.go:297] Unknown stream id 1, discarding message\nError: no such image\n", "Error: no such image\n"},
		{"newuidmap: write to uid_map failed: Operation not permitted\n", "newuidmap: write to uid_map failed: Operation not permitted\n"},
		{"W1125 14:18:45.031011 1 x.go:1] a\nI1125 14:18:45.031011 1 y.go:2] b", ""},
	} {
		if got := kubectlLogLine.ReplaceAllString(tc.in, ""); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
