package udi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsurePasswd(t *testing.T) {
	udiPasswd := "root:x:0:0:root:/root:/bin/bash\nuser:x:10001:0::/home/user:/bin/bash\n"
	tests := []struct {
		name      string
		passwd    string
		uid, gid  int
		wantEntry PasswdEntry
		wantHow   WriteMethod
		want      string
	}{
		{name: "an arbitrary UID gets the UDI entrypoint's entry with the process's GID",
			passwd: udiPasswd, uid: 1000, gid: 0,
			wantEntry: PasswdEntry{Name: "user", UID: 1000, GID: 0, Home: "/home/user"}, wantHow: Replaced,
			want: udiPasswd + "user:x:1000:0:user user:/home/user:/bin/bash\n"},
		{name: "an existing entry is used as it is",
			passwd: udiPasswd, uid: 10001, gid: 0,
			wantEntry: PasswdEntry{Name: "user", UID: 10001, GID: 0, Home: "/home/user"}, wantHow: Unchanged, want: udiPasswd},
		{name: "a file without a final newline gets one before the entry",
			passwd: "root:x:0:0:root:/root:/bin/bash", uid: 1000, gid: 1000,
			wantEntry: PasswdEntry{Name: "user", UID: 1000, GID: 1000, Home: "/home/user"}, wantHow: Replaced,
			want: "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000:user user:/home/user:/bin/bash\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwd")
			if err := os.WriteFile(path, []byte(tc.passwd), 0o664); err != nil {
				t.Fatal(err)
			}
			cfg := Config{PasswdPath: path, UID: tc.uid, GID: tc.gid, UserName: "user", Home: "/home/user", Shell: "/bin/bash"}
			e, how, err := EnsurePasswd(cfg, newFileWriter())
			if err != nil {
				t.Fatal(err)
			}
			if e != tc.wantEntry || how != tc.wantHow {
				t.Errorf("got %+v %q, want %+v %q", e, how, tc.wantEntry, tc.wantHow)
			}
			if got := readTestFile(t, path); got != tc.want {
				t.Errorf("passwd =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestEnsurePasswdNotWritable: when neither /etc nor /etc/passwd is
// writable the error says what to change in the image.
func TestEnsurePasswdNotWritable(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte("root:x:0:0::/root:/bin/bash\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	_, err := asNobody(t, "passwd", path, "")
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("error as the user sees it: %v", err)
	for _, want := range []string{"add a passwd entry for UID", "podman and newuidmap need one", "is writable by UID", "chgrp 0 " + path + " && chmod g=u " + path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
