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
export VERSION IMAGE

.PHONY: all build bins node test unit lint fmt demo bench manifests images udi-image install-yaml

all: build

build:
	$(GO) build -o $(BIN_DIR)/ ./cmd/...

## bins: build the simulated OpenShift's binaries (cached; see hack/build-bins.sh).
bins:
	@bash hack/build-bins.sh >/dev/null

## node: build the real node's kubelet, containerd, runc and workspace image
## (cached; e2e/realnode does this itself when it runs).
node:
	@bash hack/build-node-bins.sh >/dev/null
	@bash hack/build-node-crun.sh >/dev/null
	@bash hack/build-udi-base.sh >/dev/null

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: everything — unit, fuzz seeds, e2e on the real control plane, nested podman.
test: bins lint
	$(GO) test -count=1 -timeout 60m ./...

## unit: only the tests that need no control plane and no podman.
unit:
	$(GO) test -count=1 -short ./...

demo: bins
	$(GO) run ./cmd/nested-workspaces-demo

bench: bins
	$(GO) run ./test/bench -out test/bench/results.md

manifests:
	bash hack/generate.sh

## images: the operator image and the bundle image, built with podman (no
## registry needed); push them with podman push.
images:
	bash hack/build-images.sh

## udi-image: the nested-podman layer (udi/Containerfile) on your Universal
## Developer Image, with podman: UDI_IMAGE=<your UDI> UDI_LAYER_IMAGE=<tag>.
udi-image:
	bash hack/build-udi-image.sh

## install-yaml: the kustomize install for $(IMAGE):v$(VERSION), on stdout.
install-yaml: bins
	@bash hack/install-yaml.sh
