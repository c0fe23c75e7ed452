package operator

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// step is one write of a transition.
type step struct {
	name string
	run  func(context.Context) error
}

// StepError says which step of a transition failed; the steps after it
// did not run.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// runSteps runs steps in order and stops at the first that fails, so that
// a transition never skips ahead: e.g. an SCC is never deleted while the
// DevWorkspaceOperatorConfig may still pin workspaces to it.
func runSteps(ctx context.Context, steps []step) error {
	for _, s := range steps {
		if err := s.run(inStep(ctx, s.name)); err != nil {
			return &StepError{Step: s.name, Err: err}
		}
	}
	return nil
}

// inStep names the step in the context's logger: every write made in it is
// logged with it (see writeLogger).
func inStep(ctx context.Context, name string) context.Context {
	return log.IntoContext(ctx, log.FromContext(ctx).WithValues("step", name))
}
