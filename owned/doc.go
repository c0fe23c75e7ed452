// Package owned says what "ours" means for the objects the operator writes,
// and holds the write rules every object package shares.
//
// An object is ours when it carries the managed-by label AND has one of the
// names the operator gives that kind: anyone who may create an object may
// set a label, so a label alone never makes a tenant's object ours (the
// operator would otherwise try to delete it, be refused, and stall). The
// operator's RBAC lets it change and delete exactly those names.
//
// The write rules: an object of one of our names that lacks the label is
// someone else's and is never changed (ForeignError); an object already as
// wanted gets no write; a delete names the exact object that was read
// (UID and resourceVersion preconditions), so nothing relabelled or
// replaced meanwhile is deleted on stale information.
package owned
