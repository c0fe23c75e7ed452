package localcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unicode"
)

// moduleDir returns the directory of a dependency module in the Go module
// cache, at the exact version this binary was built with, downloading it if
// the cache lacks it. CRD manifests are read from there so that the CRDs the
// tests install are the ones of the API types the code compiles against.
func moduleDir(modulePath string) (string, error) {
	version, err := dependencyVersion(modulePath)
	if err != nil {
		return "", err
	}
	cache, err := goEnv("GOMODCACHE")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, escapeModulePath(modulePath)+"@"+version)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", modulePath+"@"+version).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("download %s@%s to read its manifests: %v: %s", modulePath, version, err, out)
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("module %s@%s not found in %s after download: %w", modulePath, version, cache, err)
	}
	return dir, nil
}

func dependencyVersion(modulePath string) (string, error) {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == modulePath {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				return dep.Version, nil
			}
		}
	}
	// Test binaries carry no dependency list; ask the go command, which
	// answers from the enclosing module's go.mod.
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", modulePath).Output()
	if err != nil {
		return "", fmt.Errorf("find the version of %s (run from within the nested-workspaces module, or use a binary built with it): %w", modulePath, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("no version of %s in go.mod", modulePath)
	}
	return v, nil
}

func goEnv(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s (the Go toolchain is needed to locate CRD manifests): %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// escapeModulePath applies the module cache's case encoding ("!" + lower).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
