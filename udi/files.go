package udi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteMethod says how a file was brought to its wanted content.
type WriteMethod string

const (
	// Unchanged: the file already had the content; nothing was written.
	Unchanged WriteMethod = "unchanged"
	// Created: the file did not exist; it was written under a temporary
	// name in the same directory and renamed into place.
	Created WriteMethod = "created"
	// Replaced: a temporary file in the same directory was renamed over it.
	Replaced WriteMethod = "replaced"
	// InPlace: the directory is not writable (the UDI's /etc) but the file
	// is, so the full new content was written over the old and the file cut
	// to length.
	InPlace WriteMethod = "written in place"
)

// fileWriter writes configuration files so that a reader sees either the old
// or the new content. The two functions are os.CreateTemp and os.Rename;
// tests replace them to reach the in-place path from a writable directory.
type fileWriter struct {
	createTemp func(dir, pattern string) (*os.File, error)
	rename     func(oldpath, newpath string) error
}

func newFileWriter() fileWriter {
	return fileWriter{createTemp: os.CreateTemp, rename: os.Rename}
}

// write makes path hold data. A file that does not exist yet is created with
// mode; an existing one keeps its mode and owner.
func (w fileWriter) write(path string, data []byte, mode fs.FileMode) (WriteMethod, error) {
	old, err := os.ReadFile(path)
	exists := err == nil
	switch {
	case exists && bytes.Equal(old, data):
		return Unchanged, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	var st *syscall.Stat_t
	if exists {
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", path, err)
		}
		mode = fi.Mode().Perm()
		st, _ = fi.Sys().(*syscall.Stat_t)
	}
	replaced, err := w.replace(path, data, mode, st)
	switch {
	case replaced && exists:
		return Replaced, nil
	case replaced:
		return Created, nil
	}
	if !exists {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if err := writeInPlace(path, data, old); err != nil {
		return "", err
	}
	return InPlace, nil
}

// replace writes data to a temporary file next to path and renames it over
// path. It reports false with the reason when that cannot be done without
// changing the file's owner — the caller then writes in place.
func (w fileWriter) replace(path string, data []byte, mode fs.FileMode, st *syscall.Stat_t) (bool, error) {
	dir := filepath.Dir(path)
	tmp, err := w.createTemp(dir, "."+filepath.Base(path)+".udi-setup-*")
	if err != nil {
		return false, fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return false, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return false, fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	// A rename that changed the owner would, for example, take /etc/passwd
	// away from root; when we cannot keep the owner, write in place instead.
	if st != nil && (int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
		if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return false, fmt.Errorf("keep owner %d:%d of %s: %w", st.Uid, st.Gid, path, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return false, fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	// EBUSY: path is a bind mount (as /etc/subuid is in a test pod).
	if err := w.rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("rename over %s: %w", path, err)
	}
	done = true
	return true, nil
}

// writeInPlace overwrites path with the fully rendered data and only then
// cuts it to length, so the file is never empty or half-rendered between
// two complete versions; if the write fails the old content is put back.
//
// New content shorter than the old is written padded to the old length
// with a comment line (an empty line for one byte), which every reader of
// passwd, group, subuid and subgid skips: until the file is cut to length a
// reader sees the complete new entries and a comment, never the new
// entries followed by the tail of the old ones.
func writeInPlace(path string, data, old []byte) error {
	return writeInPlaceWatched(path, data, old, nil)
}

// writeInPlaceWatched is writeInPlace with a hook that sees the file
// between the write and the cut, for tests.
func writeInPlaceWatched(path string, data, old []byte, beforeCut func()) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("neither the directory nor %s itself is writable by UID %d GID %d (%w); "+
			"fix: in the image, give it to group 0 and make it group-writable (chgrp 0 %s && chmod g=u %s), as the UDI does for /etc/passwd",
			path, os.Geteuid(), os.Getegid(), err, path, path)
	}
	defer f.Close()
	if _, err := f.WriteAt(padTo(data, len(old)), 0); err != nil {
		if _, rerr := f.WriteAt(old, 0); rerr == nil {
			_ = f.Truncate(int64(len(old)))
		}
		return fmt.Errorf("write %s in place: %w", path, err)
	}
	if beforeCut != nil {
		beforeCut()
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// padTo returns data lengthened to n bytes by a trailing comment line ("#"
// and spaces) or, for one byte, an empty line. data ends with a newline.
func padTo(data []byte, n int) []byte {
	missing := n - len(data)
	if missing <= 0 {
		return data
	}
	out := make([]byte, 0, n)
	out = append(out, data...)
	if missing == 1 {
		return append(out, '\n')
	}
	out = append(out, '#')
	out = append(out, bytes.Repeat([]byte{' '}, missing-2)...)
	return append(out, '\n')
}
