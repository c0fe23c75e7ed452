package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// OpenShift allocates each namespace a block of 10,000 UIDs from
// 1,000,000,000 on, the same block as supplemental groups, and an MCS level
// of two categories.
const (
	uidBase      = 1000000000
	uidBlockSize = 10000
	uidBlocks    = 100000
)

// namespaceAllocator gives namespaces the SCC annotations, as OpenShift's
// namespace-security-allocation controller does: blocks in use are read
// back from the annotations, so a restart never hands one out twice.
type namespaceAllocator struct {
	client   kubernetes.Interface
	informer coreinformers.NamespaceInformer
	queue    workqueue.TypedRateLimitingInterface[string]

	mu   sync.Mutex
	used map[int]bool
}

func newNamespaceAllocator(c kubernetes.Interface, inf coreinformers.NamespaceInformer) *namespaceAllocator {
	a := &namespaceAllocator{client: c, informer: inf, used: map[int]bool{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.enqueue(obj) },
		UpdateFunc: func(_, obj any) { a.enqueue(obj) },
	})
	return a
}

func (a *namespaceAllocator) enqueue(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	if block, ok := parseBlock(ns.Annotations[securityv1.UIDRangeAnnotation]); ok {
		a.mu.Lock()
		a.used[block] = true
		a.mu.Unlock()
		return
	}
	a.queue.Add(ns.Name)
}

func (a *namespaceAllocator) run(ctx context.Context) {
	go func() { <-ctx.Done(); a.queue.ShutDown() }()
	// Blocks already handed out are known once the informer synced.
	for _, obj := range a.informer.Informer().GetStore().List() {
		a.enqueue(obj)
	}
	for {
		name, quit := a.queue.Get()
		if quit {
			return
		}
		if err := a.allocate(ctx, name); err != nil {
			log.Printf("openshift-admission: namespace %s: %v", name, err)
			a.queue.AddRateLimited(name)
		} else {
			a.queue.Forget(name)
		}
		a.queue.Done(name)
	}
}

func (a *namespaceAllocator) allocate(ctx context.Context, name string) error {
	ns, err := a.informer.Lister().Get(name)
	if err != nil {
		return nil // gone
	}
	if _, ok := parseBlock(ns.Annotations[securityv1.UIDRangeAnnotation]); ok {
		return nil
	}
	block, err := a.next()
	if err != nil {
		return err
	}
	uidRange := fmt.Sprintf("%d/%d", uidBase+block*uidBlockSize, uidBlockSize)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		securityv1.UIDRangeAnnotation:           uidRange,
		securityv1.SupplementalGroupsAnnotation: uidRange,
		securityv1.MCSAnnotation:                mcsLevel(block),
	}}})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := a.client.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "namespace-security-allocation-controller"}); err != nil {
		a.release(block)
		return fmt.Errorf("annotate: %w", err)
	}
	return nil
}

func (a *namespaceAllocator) next() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for b := 0; b < uidBlocks; b++ {
		if !a.used[b] {
			a.used[b] = true
			return b, nil
		}
	}
	return 0, fmt.Errorf("no free UID block")
}

func (a *namespaceAllocator) release(block int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, block)
}

// parseBlock reads "1000010000/10000" back into its block number.
func parseBlock(v string) (int, bool) {
	start, size, ok := strings.Cut(v, "/")
	if !ok || size != strconv.Itoa(uidBlockSize) {
		return 0, false
	}
	n, err := strconv.Atoi(start)
	if err != nil || n < uidBase || (n-uidBase)%uidBlockSize != 0 {
		return 0, false
	}
	return (n - uidBase) / uidBlockSize, true
}

// mcsLevel is the block's SELinux level, "s0:cA,cB" with A > B, the n-th
// pair of categories in order, as OpenShift levels look.
func mcsLevel(n int) string {
	hi := 1
	for n >= hi {
		n -= hi
		hi++
	}
	return fmt.Sprintf("s0:c%d,c%d", hi, n)
}
