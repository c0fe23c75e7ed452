# nested-workspaces/enabler — see README.md.
SHELL := /usr/bin/env bash
GO ?= go
BIN_DIR := bin
# The test control plane lives outside the clone, keyed by versions.
KUBEBUILDER_ASSETS ?= $(shell bash hack/build-bins.sh --print-dir)
export KUBEBUILDER_ASSETS

.PHONY: all build bins node test unit lint fmt demo bench manifests

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
	@bash hack/build-workspace-image.sh >/dev/null

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
	$(GO) run ./bench

manifests:
	bash hack/generate.sh
