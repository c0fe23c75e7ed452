# nested-workspaces/enabler — see README.md.
SHELL := /usr/bin/env bash
GO ?= go
BIN_DIR := bin
# The test control plane lives outside the clone, keyed by versions.
KUBEBUILDER_ASSETS ?= $(shell bash hack/build-bins.sh --print-dir)
export KUBEBUILDER_ASSETS

# The release: VERSION (the file) and IMAGE tag the operator image
# ($(IMAGE):v$(VERSION)) and its bundle ($(IMAGE)-bundle:v$(VERSION)), and
# feed the kustomize install and the CSV (make manifests), so that the three
# never disagree (manifests/release_test.go checks it).
VERSION := $(shell cat VERSION)
IMAGE ?= quay.io/nested-workspaces/enabler
# ARCHES: the operator image's architectures (one manifest list), which the
# CSV's operatorframework.io/arch labels name (manifests/release_test.go).
ARCHES ?= amd64 arm64 ppc64le s390x
# The bundle image the catalog names; a digest (IMAGE-bundle@sha256:...)
# once pushed, for mirroring.
BUNDLE_IMAGE ?= $(IMAGE)-bundle:v$(VERSION)
CATALOG_IMAGE ?= $(IMAGE)-catalog:v$(VERSION)
export VERSION IMAGE ARCHES BUNDLE_IMAGE CATALOG_IMAGE

# The version every binary reports (nested-enabler version, the log at
# start, nested_workspaces_build_info).
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/nested-workspaces/enabler/version.release=$(VERSION) -X github.com/nested-workspaces/enabler/version.revision=$(REVISION)
export LDFLAGS

.PHONY: all build bins node test unit lint fmt demo bench manifests images udi-image install-yaml dist catalog catalog-image prometheus

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/ ./cmd/...

## dist: the nested-enabler CLI for linux and darwin, amd64 and arm64, in
## dist/ (static, -trimpath), each also as kubectl-nested_enabler (kubectl
## and oc plugin), with SHA256SUMS.
dist:
	bash hack/dist.sh

## bins: build the simulated OpenShift's binaries (cached; see hack/build-bins.sh).
bins:
	@bash hack/build-bins.sh >/dev/null

## node: build the real node's kubelet, containerd, runc and workspace image
## (cached; e2e/realnode does this itself when it runs).
node:
	@bash hack/build-node-bins.sh >/dev/null
	@bash hack/build-node-crun.sh >/dev/null
	@bash hack/build-udi-base.sh >/dev/null

## lint: vet, gofmt, import grouping (standard library, others, this
## module: goimports -local) and staticcheck, both at pinned versions from
## the Go module proxy.
GOIMPORTS := golang.org/x/tools/cmd/goimports@v0.51.0
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet ./...
	@files="$$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')"; \
	  out="$$(gofmt -l $$files)"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi; \
	  out="$$(GOFLAGS=-mod=mod $(GO) run $(GOIMPORTS) -local github.com/nested-workspaces/enabler -l $$(echo "$$files" | grep -v zz_generated))"; \
	  if [ -n "$$out" ]; then echo "imports need grouping (goimports -local github.com/nested-workspaces/enabler -w):"; echo "$$out"; exit 1; fi
	GOFLAGS=-mod=mod $(GO) run $(STATICCHECK) ./...

## test: everything — unit, fuzz seeds, e2e on the real control plane, nested podman.
## TEST_EXEC runs each test binary through a command: CI (.ci/run) gives
## each a clean root of its own (hack/clean-root.sh).
test: bins prometheus lint
	$(GO) test -count=1 -timeout 60m $(if $(TEST_EXEC),-exec '$(TEST_EXEC)') ./...

## unit: only the tests that need no control plane and no podman.
unit:
	$(GO) test -count=1 -short ./...

## demo: the product on the simulated OpenShift (and, where the machine can,
## a real node with podman in the workspace); it builds the binaries it
## needs itself, with progress. DEMO_ARGS: e.g. --simulated-only, --keep.
demo:
	@source hack/lib.sh && go_build_progress demo -ldflags "-s -w" -o $(BIN_DIR)/nested-workspaces-demo -- ./cmd/nested-workspaces-demo
	@$(BIN_DIR)/nested-workspaces-demo $(DEMO_ARGS)

bench: bins
	$(GO) run ./test/bench -out test/bench/results.md

manifests:
	bash hack/generate.sh

## images: the operator image (a manifest list of ARCHES) and the bundle
## image, built with podman (no registry needed); push them with
## podman manifest push --all and podman push.
images:
	bash hack/build-images.sh

## catalog: the File-Based Catalog (catalog/) for BUNDLE_IMAGE, from the
## bundle in manifests/bundle (a test fails when it is stale).
catalog:
	$(GO) run ./hack/catalog -bundle manifests/bundle -bundle-image $(BUNDLE_IMAGE) -out catalog

## catalog-image: the catalog image CATALOG_IMAGE with podman; its base is
## OPM_IMAGE (operator-framework's opm, which serves the catalog to OLM).
catalog-image: catalog
	bash hack/build-catalog-image.sh

## prometheus: build/cache Prometheus and promtool (e2e/monitoring).
prometheus:
	@bash hack/build-prometheus.sh >/dev/null

## udi-image: the nested-podman layer (udi/Containerfile) on your Universal
## Developer Image, with podman: UDI_IMAGE=<your UDI> UDI_LAYER_IMAGE=<tag>.
udi-image:
	bash hack/build-udi-image.sh

## install-yaml: the kustomize install for $(IMAGE):v$(VERSION), on stdout.
install-yaml:
	@bash hack/build-bins.sh kubectl >/dev/null
	@bash hack/install-yaml.sh
