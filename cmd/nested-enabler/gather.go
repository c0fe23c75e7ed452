package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/version"
)

// Bounds of what gather copies out of the cluster, so that an archive
// stays small enough to attach to a support case whatever the cluster
// holds (at most gatherListLimit objects per list, gatherLogBytes per
// container log, gatherFileBytes per file).
const (
	gatherListLimit = 500
	gatherLogLines  = 5000
	gatherLogBytes  = 2 << 20
	gatherFileBytes = 4 << 20
	// gatherLogSince is how far back operator logs are read.
	gatherLogSince = 24 * time.Hour
)

var dwocGVK = schema.GroupVersionKind{Group: "controller.devfile.io", Version: "v1alpha1", Kind: "DevWorkspaceOperatorConfig"}

type gatherOptions struct {
	cluster      clusterFlags
	dwoNamespace string
	dest         string
}

func newGatherCommand() *cobra.Command {
	opts := gatherOptions{}
	cmd := &cobra.Command{
		Use:   "gather",
		Short: "Collect what a support case needs into one archive (tar.gz)",
		Long: `Collect into one tar.gz what a support case about nested workspaces needs:

  version.yaml                 this CLI's build
  detect.yaml                  what the cluster supports, as detect reports it
  nestedcontainers.yaml        the NestedContainers resource, status included
  events/                      events about it, and in the operator's namespace
  objects/                     every object the operator labels as its own:
                               SCCs, ClusterRoles, ClusterRoleBindings, RoleBindings
  dwo/                         the global DevWorkspaceOperatorConfig and the SCC it pins
  operator/                    the operator's Deployments and pods, and each
                               container's recent log (the pod log API)
  errors.txt                   what could not be read, and why

Secrets are never read. Sizes are bounded: at most 500 objects per kind,
the last 5000 lines and 2 MiB of each container's log (24 hours back, the
previous container's too after a restart), 4 MiB per file; managedFields
are left out. Nothing that fails to be read stops the rest: it is listed in
errors.txt. Run it as a cluster admin (or with --as).

The cluster is found from ` + kubeconfigOrder + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGather(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	opts.cluster.bindConnection(f, defaultRequestTimeout)
	opts.cluster.bindNamespace(f, "whose pods' logs and events are collected")
	f.StringVar(&opts.dwoNamespace, "dwo-namespace", operator.DefaultDWONamespace, "namespace of the global DevWorkspaceOperatorConfig")
	f.StringVar(&opts.dest, "dest", "", "the archive to write (default: nested-workspaces-gather-<UTC time>.tar.gz in the current directory)")
	return cmd
}

func runGather(ctx context.Context, opts gatherOptions, out io.Writer) error {
	cfg, err := opts.cluster.restConfig()
	if err != nil {
		return err
	}
	rest.AddUserAgent(cfg, "nested-enabler-gather")
	c, err := newClient(opts.cluster)
	if err != nil {
		return err
	}
	pods, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	dest := opts.dest
	if dest == "" {
		dest = "nested-workspaces-gather-" + stamp + ".tar.gz"
	}
	file, err := os.Create(dest)
	if err != nil {
		return fmt.Errorf("create the archive: %w", err)
	}
	a := newArchive(file, "nested-workspaces-gather-"+stamp)
	g := &gatherer{c: c, pods: pods, cfg: cfg, a: a, operatorNamespace: opts.cluster.operatorNamespace(), dwoNamespace: opts.dwoNamespace}
	g.gather(ctx)
	if err := a.close(); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", dest, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	fmt.Fprintf(out, "wrote %s (%d files", dest, a.files)
	if len(g.problems) > 0 {
		fmt.Fprintf(out, "; %d things could not be read, see errors.txt", len(g.problems))
	}
	fmt.Fprintln(out, ")")
	return nil
}

// gatherer collects into an archive; what fails is noted, not fatal.
type gatherer struct {
	c                               client.Client
	pods                            kubernetes.Interface
	cfg                             *rest.Config
	a                               *archive
	operatorNamespace, dwoNamespace string
	problems                        []string
}

func (g *gatherer) gather(ctx context.Context) {
	g.write("version.yaml", version.Get())
	g.detect(ctx)
	nc := &enablerv1alpha1.NestedContainers{}
	if g.get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc, "NestedContainers cluster") {
		g.write("nestedcontainers.yaml", nc)
	}
	g.events(ctx)
	ours := client.MatchingLabels(owned.Labels())
	g.list(ctx, "objects/securitycontextconstraints.yaml", &securityv1.SecurityContextConstraintsList{}, ours)
	g.list(ctx, "objects/clusterroles.yaml", &rbacv1.ClusterRoleList{}, ours)
	g.list(ctx, "objects/clusterrolebindings.yaml", &rbacv1.ClusterRoleBindingList{}, ours)
	g.list(ctx, "objects/rolebindings.yaml", &rbacv1.RoleBindingList{}, ours)
	g.dwoConfig(ctx)
	g.operator(ctx)
	if len(g.problems) > 0 {
		g.a.add("errors.txt", []byte(strings.Join(g.problems, "\n")+"\n"))
	}
}

func (g *gatherer) problem(format string, args ...any) {
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

func (g *gatherer) detect(ctx context.Context) {
	d, err := detect.NewDetector(g.cfg, nil)
	if err != nil {
		g.problem("detect: %v", err)
		return
	}
	report, err := d.Detect(ctx)
	if err != nil {
		g.problem("detect: %v", err)
		return
	}
	if devSpaces, err := detect.ReadDevSpaces(ctx, d.Reader); err != nil {
		g.problem("detect Dev Spaces: %v", err)
	} else {
		report.AddDevSpaces(devSpaces)
	}
	g.write("detect.yaml", report)
}

func (g *gatherer) get(ctx context.Context, key client.ObjectKey, obj client.Object, what string) bool {
	if err := g.c.Get(ctx, key, obj); err != nil {
		g.problem("%s: %v", what, err)
		return false
	}
	obj.SetManagedFields(nil)
	return true
}

// list writes one bounded list; a list cut at gatherListLimit says so.
func (g *gatherer) list(ctx context.Context, name string, list client.ObjectList, opts ...client.ListOption) {
	if err := g.c.List(ctx, list, append(opts, client.Limit(gatherListLimit))...); err != nil {
		g.problem("%s: %v", name, err)
		return
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		g.problem("%s: %v", name, err)
		return
	}
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			o.SetManagedFields(nil)
		}
	}
	if err := meta.SetList(list, items); err != nil {
		g.problem("%s: %v", name, err)
		return
	}
	if list.GetContinue() != "" {
		g.problem("%s: more than %d objects; only the first %d are in the archive", name, gatherListLimit, gatherListLimit)
	}
	g.write(name, list)
}

func (g *gatherer) events(ctx context.Context) {
	// Events about a cluster-scoped object are kept in "default".
	g.list(ctx, "events/nestedcontainers.yaml", &corev1.EventList{},
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("involvedObject.kind", "NestedContainers")})
	g.list(ctx, "events/"+g.operatorNamespace+".yaml", &corev1.EventList{}, client.InNamespace(g.operatorNamespace))
}

// dwoConfig writes the global DevWorkspaceOperatorConfig and the SCC its
// workspace pods are pinned to.
func (g *gatherer) dwoConfig(ctx context.Context) {
	dwoc := &unstructured.Unstructured{}
	dwoc.SetGroupVersionKind(dwocGVK)
	if !g.get(ctx, client.ObjectKey{Namespace: g.dwoNamespace, Name: dwoconfig.Name}, dwoc, "DevWorkspaceOperatorConfig "+g.dwoNamespace+"/"+dwoconfig.Name) {
		return
	}
	g.write("dwo/"+dwoconfig.Name+".yaml", dwoc)
	pinned, _, _ := unstructured.NestedString(dwoc.Object, "config", "workspace", "podAnnotations", dwoconfig.RequiredSCCAnnotation)
	if pinned == "" {
		return
	}
	s := &securityv1.SecurityContextConstraints{}
	if g.get(ctx, client.ObjectKey{Name: pinned}, s, "the pinned SCC "+pinned) {
		g.write("dwo/pinned-scc-"+pinned+".yaml", s)
	}
}

// operator writes the operator's Deployments and pods, and each container's
// recent log, the previous one's too when it restarted.
func (g *gatherer) operator(ctx context.Context) {
	selector := client.MatchingLabels{"app.kubernetes.io/name": operatorAppName}
	g.list(ctx, "operator/deployments.yaml", &appsv1.DeploymentList{}, client.InNamespace(g.operatorNamespace), selector)
	pods := &corev1.PodList{}
	if err := g.c.List(ctx, pods, client.InNamespace(g.operatorNamespace), selector, client.Limit(gatherListLimit)); err != nil {
		g.problem("operator pods in %s: %v", g.operatorNamespace, err)
		return
	}
	if len(pods.Items) == 0 {
		g.problem("no operator pods (label app.kubernetes.io/name=%s) in namespace %s: pass -n with the operator's namespace", operatorAppName, g.operatorNamespace)
	}
	for i := range pods.Items {
		pods.Items[i].ManagedFields = nil
	}
	g.write("operator/pods.yaml", pods)
	for _, pod := range pods.Items {
		for _, status := range pod.Status.ContainerStatuses {
			g.log(ctx, pod.Name, status.Name, false)
			if status.RestartCount > 0 {
				g.log(ctx, pod.Name, status.Name, true)
			}
		}
	}
}

// operatorAppName is the app.kubernetes.io/name label of the operator's
// Deployment and pods (manifests/manager/deployment.yaml, and the CSV's).
const operatorAppName = "nested-workspaces-enabler"

func (g *gatherer) log(ctx context.Context, pod, container string, previous bool) {
	lines, limit, since := int64(gatherLogLines), int64(gatherLogBytes), int64(gatherLogSince/time.Second)
	req := g.pods.CoreV1().Pods(g.operatorNamespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: container, Previous: previous, TailLines: &lines, LimitBytes: &limit, SinceSeconds: &since, Timestamps: true,
	})
	name := "operator/logs/" + pod + "/" + container + ".log"
	if previous {
		name = "operator/logs/" + pod + "/" + container + ".previous.log"
	}
	stream, err := req.Stream(ctx)
	if err != nil {
		if !previous || !apierrors.IsBadRequest(err) {
			g.problem("log of %s/%s container %s: %v", g.operatorNamespace, pod, container, err)
		}
		return
	}
	defer stream.Close()
	// The kubelet honours limitBytes; this bounds what a misbehaving one
	// could send.
	data, err := io.ReadAll(io.LimitReader(stream, gatherLogBytes))
	if err != nil {
		g.problem("log of %s/%s container %s: %v", g.operatorNamespace, pod, container, err)
	}
	g.a.add(name, data)
}

// write adds v as YAML.
func (g *gatherer) write(name string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		data, err = yaml.JSONToYAML(data)
	}
	if err != nil {
		g.problem("%s: %v", name, err)
		return
	}
	g.a.add(name, data)
}

// archive is a tar.gz whose files are each at most gatherFileBytes.
type archive struct {
	gz    *gzip.Writer
	tw    *tar.Writer
	dir   string
	files int
	err   error
	now   time.Time
}

func newArchive(w io.Writer, dir string) *archive {
	gz := gzip.NewWriter(w)
	return &archive{gz: gz, tw: tar.NewWriter(gz), dir: dir, now: time.Now()}
}

func (a *archive) add(name string, data []byte) {
	if a.err != nil {
		return
	}
	if len(data) > gatherFileBytes {
		note := fmt.Appendf(nil, "\n# cut at %d bytes by nested-enabler gather\n", gatherFileBytes)
		data = append(bytes.Clone(data[:gatherFileBytes]), note...)
	}
	hdr := &tar.Header{Name: path.Join(a.dir, name), Mode: 0o644, Size: int64(len(data)), ModTime: a.now, Typeflag: tar.TypeReg}
	if a.err = a.tw.WriteHeader(hdr); a.err != nil {
		return
	}
	_, a.err = a.tw.Write(data)
	a.files++
}

func (a *archive) close() error {
	if a.err != nil {
		return a.err
	}
	if err := a.tw.Close(); err != nil {
		return err
	}
	return a.gz.Close()
}
