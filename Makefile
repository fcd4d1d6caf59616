# The README's commands. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SUFFIX ?= $(or $(ENVIRONMENT_SUFFIX),dev)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
EDGE := $(PY) scripts/edge_secrets.py
BLUE_GREEN := $(PY) scripts/blue_green.py
QUOTAS := $(PY) scripts/account_quotas.py
# The environment's profile (`make deploy SUFFIX=dev PROFILE=lean`); empty: the app's default (lean for a
# pull-request suffix, pr and digits; production otherwise: lib/config.py default_profile).
# An environment keeps the profile it was first deployed with: pass the same PROFILE to every target.
PROFILE ?=
# More context for the environment's synthesis, e.g. a release of a pushed tag: CONTEXT="--context imageTag=3f2c1ab".
CONTEXT ?=
STACK_CONTEXT = --context environmentSuffix=$(SUFFIX) $(if $(PROFILE),--context profile=$(PROFILE)) $(CONTEXT)
# The same profile for `python tap.py` run without the CDK CLI (template-diff).
PROFILE_CONTEXT_ENV = $(if $(PROFILE),CDK_CONTEXT_JSON='{"profile": "$(PROFILE)"}')
# cdk deploy of TapStack$(SUFFIX) with the edge-secret context of a step ($(1): keep, switch or finish) and the
# blue/green context that states where ECS left production, so a listener-rule update keeps it (aws/aws-cdk#36649).
# One synthesis with every context (and aws-cdk-lib's template validation), then the quota preflight on that
# template: it refuses (nothing deployed) when a quota the environment shares with the account's others would be
# exceeded; then cdk deploys that same assembly (`--app $(DEPLOY_OUT)`), so what was checked is what is deployed.
# cdk.json makes every `cdk deploy` of this app, the pipeline's plain one included, non-interactive
# (`requireApproval`: CI has no TTY to confirm IAM changes on) and write its outputs to `outputsFile`.
CDK_OUTPUTS := $(shell python3 -c "import json; print(json.load(open('cdk.json'))['outputsFile'])")
define edge_deploy
	set -euo pipefail; edge=$$($(EDGE) context --step $(1) --suffix $(SUFFIX)); \
	live=$$($(BLUE_GREEN) context --suffix $(SUFFIX)); \
	echo "edge-secret context: $${edge:-none}; blue/green context: $${live:-none (template start: blue)}"; \
	$(CDK) synth --quiet --output $(DEPLOY_OUT) $(STACK_CONTEXT) $$edge $$live TapStack$(SUFFIX); \
	$(QUOTAS) preflight --suffix $(SUFFIX) --template $(DEPLOY_OUT)/TapStack$(SUFFIX).template.json $(QUOTA_ARGS); \
	$(CDK) deploy --app $(DEPLOY_OUT) TapStack$(SUFFIX)
endef
# The assembly a deploy checks and deploys: its own folder, so a `make synth` meanwhile cannot replace it.
DEPLOY_OUT = cdk.out/deploy-$(SUFFIX)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# cdk.json runs `python3 tap.py` with whatever Python is first on PATH (as a
# pipeline does after `pip install -r requirements.txt`); make puts its venv first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Coverage gates of `make test-infra` (lib/, lines and branches each).
LIB_COVERAGE_MIN := 95

.PHONY: help install synth template-diff test test-infra test-backend test-frontend test-containers test-faults container-tools lint \
        check-plain-synth account-setup deploy destroy outputs integration run-backend run-frontend bench-backend \
        bench-cdn cost clean rotate-edge-secrets edge-secrets-status edge-secrets-stage edge-secrets-switch \
        edge-secrets-promote edge-secrets-finish

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-bench.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Python venv and the pinned CDK CLI

synth: install ## Synthesize TapStack$(SUFFIX) into cdk.out/ (no AWS credentials needed)
	$(CDK) synth --quiet --no-validation $(STACK_CONTEXT)
	@echo "Wrote cdk.out/TapStack$(SUFFIX).template.json"

BASE ?= main
template-diff: install ## cdk-diff-style offline: what deploying this tree over BASE (default main) adds, modifies, replaces; exit 1 if state is lost
	@base=$$(mktemp -d) && trap 'rm -rf "$$base"' EXIT && git archive $(BASE) | tar -x -C "$$base" && \
	(cd "$$base" && ENVIRONMENT_SUFFIX=$(SUFFIX) $(PROFILE_CONTEXT_ENV) $(CURDIR)/$(PY) tap.py >/dev/null) && \
	ENVIRONMENT_SUFFIX=$(SUFFIX) $(PROFILE_CONTEXT_ENV) $(PY) tap.py >/dev/null && \
	$(PY) scripts/template_diff.py --fail-on-stateful "$$base/cdk.out/TapStack$(SUFFIX).template.json" cdk.out/TapStack$(SUFFIX).template.json

test: test-infra test-backend test-frontend test-containers ## Every test: infrastructure, backend, frontend, containers

test-infra: install ## Unit tests of the CDK app (template assertions, cdk-nag, cfn-lint, reachability); lib/ coverage >= 95% lines and branches
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest tests/unit -n 2 --dist loadscope --cov=lib --cov-branch --cov-report=term-missing:skip-covered --cov-report=json:.coverage-lib.json
	$(PY) scripts/coverage_gate.py .coverage-lib.json --label lib/ --lines $(LIB_COVERAGE_MIN) --branches $(LIB_COVERAGE_MIN)

test-backend: ## Catalog API tests against a throwaway PostgreSQL (includes test-faults)
	$(MAKE) -C app/backend test

test-faults: ## Fault injection against the real API server and PostgreSQL; prints liveness, 503 and recovery figures
	$(MAKE) -C app/backend test-faults

test-frontend: ## Web app unit and browser tests
	$(MAKE) -C app/frontend test

# Debian packages the container tests need (podman runs as root with runc here).
CONTAINER_TOOLS := podman runc mmdebstrap uidmap
container-tools:
	@missing=""; for tool in podman runc mmdebstrap; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing apt packages: $(CONTAINER_TOOLS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CONTAINER_TOOLS) >/dev/null; \
	else \
		echo "missing:$$missing; install them with: sudo apt-get install -y $(CONTAINER_TOOLS)" >&2; exit 1; \
	fi

test-containers: container-tools synth ## Build both images from their Dockerfiles, run them as the task definitions do
	$(MAKE) -C app/backend venv postgres
	SUFFIX=$(SUFFIX) app/backend/.venv/bin/python -m pytest -p no:cacheprovider tests/containers

lint: install ## Linters only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check-plain-synth: ## Prove the pipeline's plain path: fresh clone, pip install -r requirements.txt, npx cdk synth
	env -u VIRTUAL_ENV scripts/check_plain_synth.sh

account-setup: install ## Deploy TapAccountSetup, the settings shared by every environment of this account and region (idempotent)
	$(CDK) deploy TapAccountSetup --context accountSetup=true

deploy: install account-setup ## Deploy TapStack$(SUFFIX) to the current AWS account (ap-southeast-1), write cfn-outputs/flat-outputs.json
	$(call edge_deploy,keep)
	$(PY) scripts/flatten_outputs.py --cdk-outputs $(CDK_OUTPUTS) --stack-name TapStack$(SUFFIX)

rotate-edge-secrets: install ## Rotate origin-verify, web API key and test-route token with no downtime (the 4 steps below)
	$(MAKE) --no-print-directory edge-secrets-stage edge-secrets-switch edge-secrets-promote edge-secrets-finish SUFFIX=$(SUFFIX)

edge-secrets-status: $(VENV)/.installed ## Deployed and staged edge-secret versions, and the next rotation step
	$(EDGE) status --suffix $(SUFFIX)

edge-secrets-stage: $(VENV)/.installed ## Rotation 1/4: new edge-secret values as a new version labelled AWSPENDING
	$(EDGE) stage --suffix $(SUFFIX)

edge-secrets-switch: install ## Rotation 2/4: deploy; ALB and WAF accept old and new, CloudFront and API Gateway send new
	$(BLUE_GREEN) pre-deploy --keeps-live --suffix $(SUFFIX)
	$(call edge_deploy,switch)
	$(BLUE_GREEN) status --suffix $(SUFFIX)

edge-secrets-promote: $(VENV)/.installed ## Rotation 3/4: AWSCURRENT moves to the new version
	$(EDGE) promote --suffix $(SUFFIX)

edge-secrets-finish: install ## Rotation 4/4: deploy; only the new values are accepted
	$(BLUE_GREEN) pre-deploy --keeps-live --suffix $(SUFFIX)
	$(call edge_deploy,finish)
	$(BLUE_GREEN) status --suffix $(SUFFIX)
	$(PY) scripts/flatten_outputs.py --cdk-outputs $(CDK_OUTPUTS) --stack-name TapStack$(SUFFIX)
	$(EDGE) status --suffix $(SUFFIX)

outputs: $(VENV)/.installed ## Write cfn-outputs/flat-outputs.json from the deployed TapStack$(SUFFIX) (describe-stacks)
	$(PY) scripts/flatten_outputs.py --stack-name TapStack$(SUFFIX)

integration: $(VENV)/.installed ## Integration tests against the deployed stack (reads cfn-outputs/flat-outputs.json)
	$(PY) -m pytest tests/integration

destroy: install ## Delete TapStack$(SUFFIX) and everything in it
	$(CDK) destroy TapStack$(SUFFIX) $(STACK_CONTEXT) --force

run-backend: ## Serve the Catalog API on 127.0.0.1:8000 with a local PostgreSQL
	$(MAKE) -C app/backend run

run-frontend: ## Serve the web app locally (API proxied to 127.0.0.1:8000)
	$(MAKE) -C app/frontend run

.PHONY: demo-media publish-media measure-startup

demo-media: ## Regenerate the demo clips (app/media/demo) from ffmpeg test sources
	$(MAKE) -C app/backend demo-media

publish-media: ## Publish a video: SOURCE=clip.mp4 VIDEO_ID=12 BUCKET=<MediaBucketName> DSN=<libpq connection string>
	$(MAKE) -C app/backend publish SOURCE="$(SOURCE)" VIDEO_ID="$(VIDEO_ID)" BUCKET="$(BUCKET)" DSN="$(DSN)"

measure-startup: ## Time to first frame of a demo video in headless Chromium (RUNS=5, median)
	$(MAKE) -C app/frontend measure-startup RUNS=$(or $(RUNS),5)

bench-backend: $(VENV)/.bench-installed ## Floor vs catalog API under gunicorn and granian on one core; req/s, p50, p99, ratios (chart: docs/backend-throughput.svg)
	$(MAKE) -C app/backend bench
	$(PY) scripts/backend_chart.py

$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench-cdn: synth $(VENV)/.bench-installed ## CDN offload of the synthesized distribution under a synthetic day (chart: docs/cdn-offload.svg)
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq nginx >/dev/null; } \
		|| { echo "bench-cdn needs nginx (apt-get install nginx)"; exit 1; }
	$(PY) scripts/bench_cdn.py --template cdk.out/TapStack$(SUFFIX).template.json $(BENCH_CDN_ARGS)

cost: install ## Monthly cost in ap-southeast-1: production and the lean profile side by side (+ usage from make bench-cdn)
	$(CDK) synth --quiet --no-validation --context environmentSuffix=$(SUFFIX) --context profile=production --output cdk.out/production >/dev/null
	$(CDK) synth --quiet --no-validation --context environmentSuffix=$(SUFFIX) --context profile=lean --output cdk.out/lean >/dev/null
	$(PY) scripts/cost.py cdk.out/production/TapStack$(SUFFIX).template.json cdk.out/lean/TapStack$(SUFFIX).template.json \
		--names production lean $(if $(wildcard cdk.out/bench-cdn.json),--traffic cdk.out/bench-cdn.json)

clean: ## Remove build output and installed dependencies
	rm -rf cdk.out $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .coverage .coverage-lib.json
	-$(MAKE) -C app/backend clean
	-$(MAKE) -C app/frontend clean
