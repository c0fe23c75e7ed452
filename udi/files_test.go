package udi

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestFileWriter(t *testing.T) {
	ebusy := func(string, string) error { return &os.LinkError{Op: "rename", Err: syscall.EBUSY} }
	eacces := func(dir, _ string) (*os.File, error) {
		return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
	}
	tests := []struct {
		name       string
		old        *string // nil: the file does not exist
		oldMode    os.FileMode
		content    string
		w          func(fileWriter) fileWriter
		want       WriteMethod
		sameInode  bool
		wantMode   os.FileMode
		wantErrMsg string
	}{
		{name: "a new file is created by rename with the given mode", content: "user:1:999\n",
			want: Created, wantMode: 0o644},
		{name: "equal content is not written", old: strp("same\n"), oldMode: 0o644, content: "same\n",
			want: Unchanged, sameInode: true, wantMode: 0o644},
		{name: "a writable directory gets a rename that keeps the file's mode", old: strp("old\n"), oldMode: 0o664, content: "new\n",
			want: Replaced, wantMode: 0o664},
		{name: "a bind-mounted file, which cannot be renamed over, is written in place", old: strp("old\n"), oldMode: 0o664, content: "new content\n",
			w: func(w fileWriter) fileWriter { w.rename = ebusy; return w }, want: InPlace, sameInode: true, wantMode: 0o664},
		{name: "shorter content written in place leaves no tail of the old", old: strp("user:10000:65536\nlong old line\n"), oldMode: 0o664, content: "user:1:2\n",
			w: func(w fileWriter) fileWriter { w.createTemp = eacces; return w }, want: InPlace, sameInode: true, wantMode: 0o664},
		{name: "a file that does not exist in a read-only directory cannot be created", content: "x\n",
			w:          func(w fileWriter) fileWriter { w.createTemp = eacces; return w },
			wantErrMsg: "is not writable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "subuid")
			var before uint64
			if tc.old != nil {
				if err := os.WriteFile(path, []byte(*tc.old), tc.oldMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.oldMode); err != nil {
					t.Fatal(err)
				}
				before = inode(t, path)
			}
			w := newFileWriter()
			if tc.w != nil {
				w = tc.w(w)
			}
			how, err := w.write(path, []byte(tc.content), 0o644)
			if tc.wantErrMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("err = %v, want %q", err, tc.wantErrMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if how != tc.want {
				t.Errorf("method %q, want %q", how, tc.want)
			}
			if got := readTestFile(t, path); got != tc.content {
				t.Errorf("content %q, want %q", got, tc.content)
			}
			if tc.old != nil && (inode(t, path) == before) != tc.sameInode {
				t.Errorf("same inode = %v, want %v", inode(t, path) == before, tc.sameInode)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != tc.wantMode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.wantMode)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("temporary files left behind: %v", entries)
			}
		})
	}
}

// TestFileWriterWithRealPermissions runs the writer as a user who cannot
// write the directory — like the UDI's /etc — so the kernel, not a stub,
// decides which path it takes.
func TestFileWriterWithRealPermissions(t *testing.T) {
	tests := []struct {
		name      string
		writable  bool
		wantHow   WriteMethod
		wantError string
	}{
		{name: "a group-writable file in a read-only directory is written in place", writable: true, wantHow: InPlace},
		{name: "a read-only file in a read-only directory fails with the fix", writable: false,
			wantError: "chgrp 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(sharedDir(t), "etc")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "passwd")
			old := "root:x:0:0:root:/root:/bin/bash\nsomeone:x:5:5:with a long line that will be cut:/:/bin/sh\n"
			mode := os.FileMode(0o644)
			if tc.writable {
				mode = 0o666
			}
			if err := os.WriteFile(path, []byte(old), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() != 0 {
				// Without root the directory must be closed to ourselves.
				if err := os.Chmod(dir, 0o555); err != nil {
					t.Fatal(err)
				}
				if !tc.writable {
					if err := os.Chmod(path, 0o444); err != nil {
						t.Fatal(err)
					}
				}
				t.Cleanup(func() { os.Chmod(dir, 0o755) })
			}
			before := inode(t, path)
			content := "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:0:user user:/home/user:/bin/bash\n"
			how, err := asNobody(t, "write", path, content)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantError)
				}
				if got := readTestFile(t, path); got != old {
					t.Errorf("a failed write changed the file: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if how != tc.wantHow {
				t.Errorf("method %q, want %q", how, tc.wantHow)
			}
			if got := readTestFile(t, path); got != content {
				t.Errorf("content %q, want %q", got, content)
			}
			if inode(t, path) != before {
				t.Error("the file was replaced, not written in place")
			}
		})
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func strp(s string) *string { return &s }

// /etc is not writable in the UDI, so subuid, subgid and passwd are written
// in place. A reader (newuidmap, at any moment) must never see the new
// entries followed by the tail of the old ones.
func TestInPlaceWriteIsNeverSeenHalfWritten(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"much_shorter", "user:100000:65536\nuser:300000:65536\nother:1:2\n", "user:1:999\n"},
		{"one_byte_shorter", "user:1:9999\n", "user:1:999\n"},
		{"two_bytes_shorter", "user:1:99999\n", "user:1:999\n"},
		{"longer", "user:1:999\n", "user:1:999\nuser:1001:64535\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "subuid")
			if err := os.WriteFile(path, []byte(tc.old), 0o664); err != nil {
				t.Fatal(err)
			}
			var seen string
			err := writeInPlaceWatched(path, []byte(tc.new), []byte(tc.old), func() {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				seen = string(b)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := entries(seen); got != entries(tc.new) {
				t.Errorf("between write and cut a reader sees entries %q, want exactly the new %q (file %q)", got, entries(tc.new), seen)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.new {
				t.Errorf("final content %q, want %q", b, tc.new)
			}
		})
	}
}

// entries is what a reader of an /etc ID file takes from it: the lines
// that are neither empty nor comments.
func entries(content string) string {
	var out []string
	for _, line := range strings.Split(content, "\n") {
		if trimmed := strings.TrimSpace(line); trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "|")
}
