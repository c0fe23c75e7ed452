package operator

import (
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/internal/bounded"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/workspaces"
)

// Applied is what applying a plan did, as typed results: no reasons.
type Applied struct {
	// Finalizer is a failure to add or remove the finalizer.
	Finalizer error
	// SCC is the result of applying the operator's own SCC: nil, a
	// *scc.ForeignSCCError, scc.ErrUserNamespaceLevelPruned, or another
	// failure.
	SCC error
	// Grants is what applying the grants did; GrantsRan false when that
	// step was not reached.
	Grants    grants.Outcome
	GrantsRan bool
	// DWOConfig is what applying our DevWorkspaceOperatorConfig fields did;
	// DWOConfigRan false when that step was not reached.
	DWOConfig    dwoconfig.Outcome
	DWOConfigRan bool
	// Release is a failure to release what was used before.
	Release error
	// Removal is the step of a removal that failed; what comes after it
	// was kept.
	Removal error
}

// Verdict is the status a reconcile reports, and when to look again.
type Verdict struct {
	// Conditions to set; Degraded nil leaves it as it is.
	Supported, Ready, Degraded *metav1.Condition
	SCC                        enablerv1alpha1.SCCStatus
	// Retry is returned from Reconcile, for a retry with backoff.
	Retry error
	// RequeueAfter asks to look again after a while even if nothing
	// watched changes.
	RequeueAfter time.Duration
}

// Recheck intervals.
const (
	// blockedRecheck: a configuration blocked by what is not watched (an
	// admin's SCC, a tenant's RoleBinding of our name, another manager's
	// field, a DevWorkspace Operator not yet installed).
	blockedRecheck = 30 * time.Second
	// holdRecheck: a configuration kept while detection cannot tell.
	holdRecheck = 10 * time.Second
)

// maxMessage bounds a condition message: well within the API's 32768
// bytes, whatever other objects contribute.
const maxMessage = 4096

// maxNamed bounds how many objects (namespaces, configurations) a message
// names.
const maxNamed = 5

// judge picks every condition, reason and message, and the requeue. It is
// pure: each reason is decided here and nowhere else.
func judge(o Observation, p Plan, a Applied) Verdict {
	var v Verdict
	cond := func(t string, status metav1.ConditionStatus, reason, msg string) *metav1.Condition {
		return &metav1.Condition{Type: t, Status: status, Reason: reason, Message: bounded.Cut(msg, maxMessage)}
	}
	ready := func(ok bool, reason, msg string) {
		v.Ready = cond(enablerv1alpha1.ConditionReady, boolStatus(ok), reason, msg)
	}
	var degraded []problem
	degrade := func(reason, msg string) { degraded = append(degraded, problem{reason, msg}) }

	switch p.Action {
	case Unknown:
		msg := fmt.Sprintf("cannot tell what the cluster supports: %v; check the operator's RBAC and API server reachability (what is configured is left as it is)", o.DetectErr)
		v.Supported = cond(enablerv1alpha1.ConditionSupported, metav1.ConditionUnknown, enablerv1alpha1.ReasonDetectionFailed, msg)
		ready(false, enablerv1alpha1.ReasonDetectionFailed, msg)
		v.Retry = o.DetectErr
		return v
	case Finalize:
		if err := errors.Join(a.Removal, a.Finalizer); err != nil {
			msg := cleanupMessage(err) + "; the resource is deleted once cleanup completes"
			ready(false, enablerv1alpha1.ReasonCleanupFailed, msg)
			v.Degraded = cond(enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonCleanupFailed, msg)
			v.Retry = err
		}
		return v
	}

	rep := o.Report
	switch {
	case rep.Verdict == detect.Supported:
		v.Supported = cond(enablerv1alpha1.ConditionSupported, metav1.ConditionTrue, enablerv1alpha1.ReasonClusterSupported, supportedMessage(rep))
	case p.Action == Hold:
		v.Supported = cond(enablerv1alpha1.ConditionSupported, metav1.ConditionUnknown, enablerv1alpha1.ReasonDetectionInconclusive, rep.ReasonsMessage())
	default:
		v.Supported = cond(enablerv1alpha1.ConditionSupported, metav1.ConditionFalse, enablerv1alpha1.ReasonClusterUnsupported, rep.ReasonsMessage())
	}

	var retry []error
	blockedUnwatched := false
	switch p.Action {
	case Hold:
		ready(true, enablerv1alpha1.ReasonKeptLastGood, p.HoldWhy)
		degrade(enablerv1alpha1.ReasonDetectionInconclusive, p.HoldWhy)
		v.RequeueAfter = holdRecheck
	case Remove:
		reason, why := whyRemoved(p, rep)
		if a.Removal != nil {
			ready(false, enablerv1alpha1.ReasonCleanupFailed, why+"; but "+cleanupMessage(a.Removal))
			degrade(enablerv1alpha1.ReasonCleanupFailed, cleanupMessage(a.Removal))
			retry = append(retry, a.Removal)
		} else {
			ready(false, reason, why)
		}
		// Nothing watched changes when the DevWorkspace Operator is upgraded
		// in place: look again.
		blockedUnwatched = p.Why == DevWorkspaceMissing || p.Why == DevWorkspaceTooOld
	case Configure:
		blocking, transient, retryOnly, unwatched := configureProblems(p, a, degrade)
		retry = append(append(retry, transient...), retryOnly...)
		blockedUnwatched = unwatched
		switch {
		case len(blocking) > 0:
			ready(false, blocking[0].reason, joinProblems(blocking))
		case len(transient) > 0:
			ready(false, enablerv1alpha1.ReasonApplyFailed, errors.Join(transient...).Error()+"; retrying")
		default:
			ready(true, enablerv1alpha1.ReasonConfigured, configuredMessage(p))
			v.SCC = enablerv1alpha1.SCCStatus{Name: p.SCC.Name, BuiltIn: !p.SCC.Create}
		}
		if p.SCC.PassedOver != "" {
			v.SCC.BuiltInPassedOver = bounded.Cut(p.SCC.PassedOver, 2048)
		}
		if n := o.Workspaces.RefusedByOurConfiguration; n > 0 {
			degrade(enablerv1alpha1.ReasonWorkspacesRefusedBySCC, refusedMessage(p, o.Workspaces))
		}
	}
	if p.Action == Hold {
		v.SCC = o.Toggle.Status.SCC // what is in place stays in place
	}
	if f := o.Fence; f != nil && !f.Fenced {
		degrade(enablerv1alpha1.ReasonFenceMissing, "no admission policy keeps this operator's service account to what the operator itself writes ("+f.Detail+
			"): a stolen token could write SCCs, RBAC or DevWorkspace Operator configuration of its choosing; apply manifests/policy (oc apply -k manifests/policy)")
	}
	for _, d := range rep.Degraded {
		degrade(d.Code, d.Message)
	}
	if len(degraded) > 0 {
		v.Degraded = cond(enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, degraded[0].reason, joinProblems(degraded))
	} else {
		v.Degraded = cond(enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected, "nothing degraded")
	}
	v.Retry = errors.Join(retry...)
	if v.Retry == nil && v.RequeueAfter == 0 && blockedUnwatched {
		v.RequeueAfter = blockedRecheck
	}
	return v
}

// whyRemoved is the Ready reason and message of a plan that removes.
func whyRemoved(p Plan, rep *detect.Report) (reason, message string) {
	switch p.Why {
	case Disabled:
		msg := "spec.enabled is false: set it to true to make new workspaces nested-capable"
		for _, c := range rep.DevSpaces {
			if c.ContainerRun {
				msg += fmt.Sprintf("; Dev Spaces' container run (CheCluster %s) makes its own workspaces nested under SCC %s", c.Key(), c.ContainerRunSCC)
			}
		}
		return enablerv1alpha1.ReasonDisabled, msg
	case ClusterUnsupported:
		return enablerv1alpha1.ReasonClusterUnsupported, "cluster cannot run nested containers: " + rep.ReasonsMessage()
	case DevWorkspaceMissing:
		return enablerv1alpha1.ReasonDevWorkspaceMissing, degradedMessage(rep, detect.ReasonDevWorkspaceOperatorMissing)
	case DevWorkspaceTooOld:
		return enablerv1alpha1.ReasonDevWorkspaceTooOld, degradedMessage(rep, detect.ReasonDevWorkspaceOperatorTooOld)
	}
	return enablerv1alpha1.ReasonApplyFailed, "no reason given"
}

func degradedMessage(rep *detect.Report, code string) string {
	for _, d := range rep.Degraded {
		if d.Code == code {
			return d.Message
		}
	}
	return code
}

type problem struct{ reason, message string }

// configureProblems sorts what went wrong applying a Configure plan into
// what keeps workspaces from being nested-capable (blocking), what keeps
// them so and is retried (transient), what is retried but concerns a few
// namespaces only (retryOnly: every other namespace is served), and what
// is only reported (through degrade). It tells whether something not
// watched holds things back (so only a recheck sees it go).
func configureProblems(p Plan, a Applied, degrade func(reason, msg string)) (blocking []problem, transient, retryOnly []error, unwatched bool) {
	block := func(reason, msg string) { blocking = append(blocking, problem{reason, msg}) }
	if a.Finalizer != nil {
		transient = append(transient, a.Finalizer)
	}
	var foreign *scc.ForeignSCCError
	switch err := a.SCC; {
	case err == nil:
	case errors.As(err, &foreign):
		block(enablerv1alpha1.ReasonSCCNotOwned, err.Error())
		unwatched = true
	case errors.Is(err, scc.ErrUserNamespaceLevelPruned):
		block(enablerv1alpha1.ReasonUserNamespaceLevelPruned, err.Error())
		degrade(enablerv1alpha1.ReasonUserNamespaceLevelPruned, err.Error())
	default:
		transient = append(transient, fmt.Errorf("apply %s: %w", describeSCC(p.SCC), err))
	}
	if a.GrantsRan {
		g := a.Grants
		if len(g.Blocked) > 0 {
			degrade(enablerv1alpha1.ReasonGrantBlocked, blockedMessage(p.SCC.Name, g.Blocked))
			unwatched = true
		}
		if len(g.Failed) > 0 {
			degrade(enablerv1alpha1.ReasonGrantFailed, grantFailedMessage(p.SCC.Name, g.Failed))
			for _, f := range g.Failed {
				retryOnly = append(retryOnly, fmt.Errorf("grant use of %s in %s: %w", p.SCC.Name, f.Namespace, f.Err))
			}
		}
		if g.Err != nil {
			transient = append(transient, fmt.Errorf("grant use of %s: %w", describeSCC(p.SCC), g.Err))
		}
	}
	if a.DWOConfigRan {
		d := a.DWOConfig
		switch {
		case d.NotServed:
			block(enablerv1alpha1.ReasonDevWorkspaceMissing, "DevWorkspaceOperatorConfig is not served: install the DevWorkspace Operator (or Dev Spaces) first")
			unwatched = true
		case d.Conflict != nil:
			block(enablerv1alpha1.ReasonDWOConfigConflict, fmt.Sprintf(
				"another manager owns a field of the global DevWorkspaceOperatorConfig that nested workspaces need, "+
					"so this operator withdrew all of its fields there; remove that field or hand it over, then this operator applies them again: %v", d.Conflict))
			unwatched = true
		}
		if d.Err != nil {
			transient = append(transient, d.Err)
		}
		if len(d.Overrides) > 0 {
			degrade(enablerv1alpha1.ReasonExternalConfigOverrides, overridesMessage(d.Overrides))
		}
	}
	if a.Release != nil {
		transient = append(transient, fmt.Errorf("release what was used before %s: %w", describeSCC(p.SCC), a.Release))
	}
	return blocking, transient, retryOnly, unwatched
}

func configuredMessage(p Plan) string {
	msg := fmt.Sprintf("new workspaces run nested-capable under %s; the DevWorkspace Operator restarts running ones onto it when it next reconciles them "+
		"(status.workspaces.pendingRestart counts those not yet restarted)", describeSCC(p.SCC))
	if p.SCC.PassedOver != "" {
		msg += "; " + p.SCC.PassedOver
	}
	return msg + p.Note
}

func blockedMessage(sccName string, namespaces []string) string {
	name := grants.UseClusterRoleName(sccName)
	names := make([]string, 0, len(namespaces))
	for _, ns := range namespaces {
		names = append(names, ns+"/"+name)
	}
	return fmt.Sprintf("RoleBinding %s already exists and was not created by %s (it lacks the label %s=%s): "+
		"workspaces in those namespaces cannot use SCC %s and will not start nested; every other namespace is served. "+
		"Delete that object, or label it to hand it over",
		bounded.List(names, maxNamed), owned.ManagedByValue, owned.ManagedByLabel, owned.ManagedByValue, sccName)
}

func grantFailedMessage(sccName string, failed []grants.NamespaceError) string {
	names := make([]string, 0, len(failed))
	for _, f := range failed {
		names = append(names, f.Namespace)
	}
	return fmt.Sprintf("the RoleBinding that lets workspaces use SCC %s could not be written in %s (first error: %s); retrying, every other namespace is served",
		sccName, bounded.List(names, maxNamed), bounded.Cut(failed[0].Err.Error(), 512))
}

func overridesMessage(overrides []dwoconfig.Override) string {
	msgs := make([]string, 0, len(overrides))
	for _, ov := range overrides {
		msgs = append(msgs, ov.String())
	}
	return "workspaces that use these configurations will not be nested-capable: " + bounded.List(msgs, maxNamed) +
		"; remove those fields or set them as the global DevWorkspaceOperatorConfig has them"
}

func refusedMessage(p Plan, w workspaces.Snapshot) string {
	var named []string
	for _, f := range w.Failing {
		if f.OurConfiguration {
			named = append(named, f.Namespace+"/"+f.Name)
		}
	}
	return fmt.Sprintf("SCC admission refuses the pods of %d workspaces pinned to SCC %s that ask for nothing this operator's SCC would not allow (%s): "+
		"the pin or its grants are at fault; status.workspaces.failingSample says what admission answered",
		w.RefusedByOurConfiguration, p.SCC.Name, strings.Join(named, ", "))
}

func cleanupMessage(err error) string {
	return fmt.Sprintf("removing what this operator wrote stopped at a failed step (%v); what comes after it is kept so that no workspace "+
		"is pinned to an SCC it cannot use, and is retried", err)
}

func supportedMessage(rep *detect.Report) string {
	if rep.OpenShiftVersion == "" {
		return "cluster supports nested containers"
	}
	return fmt.Sprintf("OpenShift %s supports pod user namespaces", rep.OpenShiftVersion)
}

func joinProblems(ps []problem) string {
	msgs := make([]string, 0, len(ps))
	for _, p := range ps {
		msgs = append(msgs, p.message)
	}
	return strings.Join(msgs, "; ")
}

func boolStatus(ok bool) metav1.ConditionStatus {
	if ok {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}
