// Package operatortest holds what the tests that run the operator against
// the local cluster share: reading and changing the NestedContainers
// resource, waiting on its conditions, tenants and the operator's own
// service account as clients, and the invariants every test checks.
// Harness only: no shipped binary links it.
package operatortest
