package detect

import (
	"errors"
	"fmt"
)

// PermissionError is a read the API server refused (403 Forbidden). It
// names what is missing so an admin can grant it.
type PermissionError struct {
	Verb     string // get, list
	Group    string // API group; "" for the core group
	Resource string // plural resource, or a non-resource URL such as /apis
	Name     string // object name, if one
	Err      error
}

func (e *PermissionError) Error() string {
	what := e.Resource
	if e.Group != "" {
		what += "." + e.Group
	}
	if e.Name != "" {
		what += fmt.Sprintf(" %q", e.Name)
	}
	group := e.Group
	if group == "" {
		group = `"" (core)`
	}
	return fmt.Sprintf("not allowed to %s %s: grant verb %q on resource %q in API group %s: %v",
		e.Verb, what, e.Verb, e.Resource, group, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// IsPermission tells whether err is, or wraps, a PermissionError.
func IsPermission(err error) bool {
	var pe *PermissionError
	return errors.As(err, &pe)
}
