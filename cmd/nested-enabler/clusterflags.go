package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultOperatorNamespace is where the kustomize install and the CSV's
// suggested namespace put the operator.
const DefaultOperatorNamespace = "nested-workspaces-enabler"

// kubeconfigOrder is how every command finds the cluster, as oc and kubectl
// do (client-go's clientcmd): the help texts say it with these words.
const kubeconfigOrder = "--kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the pod's service account (in-cluster)"

// clusterFlags are oc's connection flags, for the commands that talk to the
// cluster. -n/--namespace is the namespace the operator runs in, not the
// kubeconfig context's namespace: no command of this CLI acts on a user's
// project.
type clusterFlags struct {
	kubeconfig, context string
	as                  string
	asGroups            []string
	requestTimeout      string
	// namespace is bound only where the operator's namespace matters (run,
	// gather).
	namespace string
}

// bindConnection adds --kubeconfig, --context, --as, --as-group and, when
// timeout is not empty (its default), --request-timeout.
func (f *clusterFlags) bindConnection(fs *pflag.FlagSet, timeout string) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: "+kubeconfigOrder+")")
	fs.StringVar(&f.context, "context", "", "the kubeconfig context to use (default: its current-context)")
	fs.StringVar(&f.as, "as", "", "username to impersonate for the operation, as oc --as")
	fs.StringArrayVar(&f.asGroups, "as-group", nil, "group to impersonate for the operation; repeat for several (needs --as)")
	if timeout != "" {
		f.requestTimeout = timeout
		fs.StringVar(&f.requestTimeout, "request-timeout", timeout, `how long to wait for each request to the API server, e.g. 1s, 2m ("0": no limit)`)
	}
}

// bindNamespace adds -n/--namespace, the operator's namespace.
func (f *clusterFlags) bindNamespace(fs *pflag.FlagSet, what string) {
	fs.StringVarP(&f.namespace, "namespace", "n", "", "the namespace the operator runs in, "+what+
		" (default: $POD_NAMESPACE inside the operator's pod, else "+DefaultOperatorNamespace+")")
}

// operatorNamespace is -n, else $POD_NAMESPACE (the Deployment sets it from
// the downward API), else the install's namespace.
func (f *clusterFlags) operatorNamespace() string {
	if f.namespace != "" {
		return f.namespace
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return DefaultOperatorNamespace
}

// restConfig finds the cluster in kubeconfigOrder and applies the context,
// impersonation and request timeout.
func (f *clusterFlags) restConfig() (*rest.Config, error) {
	if len(f.asGroups) > 0 && f.as == "" {
		return nil, errors.New("--as-group needs --as: name the user to impersonate as well")
	}
	timeout := time.Duration(0)
	if f.requestTimeout != "" {
		var err error
		if timeout, err = clientcmd.ParseTimeout(f.requestTimeout); err != nil {
			return nil, fmt.Errorf("--request-timeout %q: use a duration such as 30s or 2m, or 0 for no limit", f.requestTimeout)
		}
	}
	if f.kubeconfig != "" {
		if _, err := os.Stat(f.kubeconfig); err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", f.kubeconfig, err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	switch {
	case clientcmd.IsEmptyConfig(err):
		return nil, errors.New("find a kubeconfig: pass --kubeconfig or set KUBECONFIG (looked for " + kubeconfigOrder + ")")
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	case err != nil && f.context != "":
		return nil, fmt.Errorf("load kubeconfig with --context %s: %w", f.context, err)
	case err != nil:
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	// In-cluster configuration ignores clientcmd's overrides: apply them
	// here, for every source alike.
	if f.as != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: f.as, Groups: f.asGroups}
	}
	cfg.Timeout = timeout
	if cfg.QPS == 0 {
		// As controller-runtime's own loader does: no client-side rate
		// limit (the API server's priority and fairness applies), so that
		// granting 1,000 namespaces does not take minutes.
		cfg.QPS = -1
	}
	return cfg, nil
}
