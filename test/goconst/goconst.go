// Package goconst reads the string constants of a Go source file, for tests
// that check documentation and test tables against the constants the code
// defines (every condition reason documented, every reason with a row).
package goconst

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Strings maps the names of the string constants in the Go file at path
// whose names begin with prefix to their values. A file with none is an
// error: a test that reads no constants checks nothing.
func Strings(path, prefix string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var bad error
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, prefix) || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					bad = fmt.Errorf("%s: constant %s: %w", path, name.Name, err)
					return false
				}
				out[name.Name] = v
			}
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no string constants named %s* in %s", prefix, path)
	}
	return out, nil
}
