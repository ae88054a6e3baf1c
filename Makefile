# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# make bench BENCH=sessions: one section of tests/bench/run.py (the others are kept from the last run)
BENCH ?=

.PHONY: help setup system-deps demo test lint format synth bench layers clean

help:
	@echo "make demo   - embedded stack, a sample video through the whole pipeline, a signed URL"
	@echo "make test   - lint, type-check and the full test suite"
	@echo "make synth  - CloudFormation template into cdk.out (fails on unsuppressed cdk-nag findings)"
	@echo "make bench  - benchmarks, JSON results in tests/bench/results/ (BENCH=sessions: one section)"
	@echo "make lint   - ruff, mypy and the layering contracts (import-linter) only"
	@echo "make layers - build the ffmpeg/ffprobe Lambda layer (x86_64 and arm64)"

# System packages: ffmpeg (media), python3-venv, Node.js (the CDK's jsii runtime needs it).
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup
	$(BIN)/vod demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# Two runs: mock_aws (unit/integration) resets moto's process-wide backends, which the
	@# embedded stack's in-process moto server shares, so the two never share a process.
	$(BIN)/pytest -n 2 --dist loadgroup tests/unit tests/integration tests/infrastructure $(PYTEST_ARGS)
	$(BIN)/pytest -n 2 tests/e2e $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# CF_PUBLIC_KEY: the PEM public key of the CloudFront signing pair. Without it, synth uses the
# embedded mode's development key from .vod/ (fine for a look at the template, not for a deploy).
CF_PUBLIC_KEY ?=
synth: setup
	@if [ -n "$(CF_PUBLIC_KEY)" ]; then pem="$$(cat $(CF_PUBLIC_KEY))"; else \
	  echo "synth: no CF_PUBLIC_KEY=<file.pem> given; using the local development key"; \
	  pem="$$($(BIN)/python -c 'from infra.local.keys import CloudFrontKeys; print(CloudFrontKeys().public_pem)')"; fi; \
	$(BIN)/python -m infra.app -c cloudfront_public_key_pem="$$pem"

layers: setup
	$(BIN)/python -m layers media --arch all

bench: setup
	$(BIN)/python -m tests.bench.run $(if $(BENCH),--only $(BENCH))

clean:
	rm -rf cdk.out build .vod .pytest_cache .mypy_cache .ruff_cache
