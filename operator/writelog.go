package operator

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// writeLogger is the operator's client: every write it makes (not dry
// runs) is one structured log line at the info level, with the object and
// what the context's logger carries (the transition and the step that
// made it). Reads are not logged.
type writeLogger struct {
	client.Client
}

func withWriteLog(c client.Client) client.Client { return &writeLogger{Client: c} }

// logWrite logs a write that happened: not a failed one, nor a dry run
// (dryRun holds the options' DryRun values).
func (w *writeLogger) logWrite(ctx context.Context, verb string, obj client.Object, dryRun []string, err error) {
	if err != nil || len(dryRun) > 0 {
		return
	}
	gvk, _ := w.GroupVersionKindFor(obj)
	kv := []any{"verb", verb, "kind", kindOf(gvk, obj), "name", obj.GetName()}
	if ns := obj.GetNamespace(); ns != "" {
		kv = append(kv, "namespace", ns)
	}
	log.FromContext(ctx).Info("wrote", kv...)
}

func kindOf(gvk schema.GroupVersionKind, obj client.Object) string {
	if gvk.Kind != "" {
		return gvk.Kind
	}
	return obj.GetObjectKind().GroupVersionKind().Kind
}

func (w *writeLogger) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	err := w.Client.Create(ctx, obj, opts...)
	w.logWrite(ctx, "create", obj, (&client.CreateOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}

func (w *writeLogger) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	err := w.Client.Update(ctx, obj, opts...)
	w.logWrite(ctx, "update", obj, (&client.UpdateOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}

func (w *writeLogger) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	err := w.Client.Patch(ctx, obj, patch, opts...)
	w.logWrite(ctx, "patch ("+string(patch.Type())+")", obj, (&client.PatchOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}

func (w *writeLogger) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	err := w.Client.Apply(ctx, obj, opts...)
	if o, ok := obj.(client.Object); ok {
		w.logWrite(ctx, "apply", o, (&client.ApplyOptions{}).ApplyOptions(opts).DryRun, err)
	}
	return err
}

func (w *writeLogger) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	err := w.Client.Delete(ctx, obj, opts...)
	w.logWrite(ctx, "delete", obj, (&client.DeleteOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}

func (w *writeLogger) Status() client.SubResourceWriter {
	return &statusWriteLogger{SubResourceWriter: w.Client.Status(), w: w}
}

type statusWriteLogger struct {
	client.SubResourceWriter
	w *writeLogger
}

func (s *statusWriteLogger) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	err := s.SubResourceWriter.Update(ctx, obj, opts...)
	s.w.logWrite(ctx, "update status", obj, (&client.SubResourceUpdateOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}

func (s *statusWriteLogger) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	err := s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	s.w.logWrite(ctx, "patch status", obj, (&client.SubResourcePatchOptions{}).ApplyOptions(opts).DryRun, err)
	return err
}
