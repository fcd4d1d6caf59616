# The README's commands. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SUFFIX ?= $(or $(ENVIRONMENT_SUFFIX),dev)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install synth test test-infra test-backend test-frontend lint deploy destroy outputs integration \
        run-backend run-frontend bench-backend bench-cdn cost clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Python venv and the pinned CDK CLI

synth: install ## Synthesize TapStack$(SUFFIX) into cdk.out/ (no AWS credentials needed)
	$(CDK) synth --quiet --no-validation --context environmentSuffix=$(SUFFIX)
	@echo "Wrote cdk.out/TapStack$(SUFFIX).template.json"

test: test-infra test-backend test-frontend ## Every test: infrastructure, backend, frontend

test-infra: install ## Unit tests of the CDK app (template assertions, cdk-nag, cfn-lint, reachability)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest tests/unit

test-backend: ## Catalog API tests against a throwaway PostgreSQL
	$(MAKE) -C app/backend test

test-frontend: ## Web app unit and browser tests
	$(MAKE) -C app/frontend test

lint: install ## Linters only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

deploy: install ## Deploy TapStack$(SUFFIX) to the current AWS account (ap-southeast-1), write cfn-outputs/flat-outputs.json
	$(CDK) deploy TapStack$(SUFFIX) --context environmentSuffix=$(SUFFIX) --require-approval never \
		--outputs-file cfn-outputs/all-outputs.json
	$(PY) scripts/flatten_outputs.py --cdk-outputs cfn-outputs/all-outputs.json --stack-name TapStack$(SUFFIX)

outputs: $(VENV)/.installed ## Write cfn-outputs/flat-outputs.json from the deployed TapStack$(SUFFIX) (describe-stacks)
	$(PY) scripts/flatten_outputs.py --stack-name TapStack$(SUFFIX)

integration: $(VENV)/.installed ## Integration tests against the deployed stack (reads cfn-outputs/flat-outputs.json)
	$(PY) -m pytest tests/integration

destroy: install ## Delete TapStack$(SUFFIX) and everything in it
	$(CDK) destroy TapStack$(SUFFIX) --context environmentSuffix=$(SUFFIX) --force

run-backend: ## Serve the Catalog API on 127.0.0.1:8000 with a local PostgreSQL
	$(MAKE) -C app/backend run

run-frontend: ## Serve the web app locally (API proxied to 127.0.0.1:8000)
	$(MAKE) -C app/frontend run

bench-backend: ## Load-test the Catalog API on one core
	$(MAKE) -C app/backend bench

$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench-cdn: synth $(VENV)/.bench-installed ## CDN offload of the synthesized distribution under a synthetic day (chart: docs/cdn-offload.svg)
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq nginx >/dev/null; } \
		|| { echo "bench-cdn needs nginx (apt-get install nginx)"; exit 1; }
	$(PY) scripts/bench_cdn.py --template cdk.out/TapStack$(SUFFIX).template.json $(BENCH_CDN_ARGS)

cost: install ## Monthly cost in ap-southeast-1: production and the lean profile side by side (+ usage from make bench-cdn)
	$(CDK) synth --quiet --no-validation --context environmentSuffix=$(SUFFIX) --output cdk.out/production >/dev/null
	$(CDK) synth --quiet --no-validation --context environmentSuffix=$(SUFFIX) --context profile=lean --output cdk.out/lean >/dev/null
	$(PY) scripts/cost.py cdk.out/production/TapStack$(SUFFIX).template.json cdk.out/lean/TapStack$(SUFFIX).template.json \
		--names production lean $(if $(wildcard cdk.out/bench-cdn.json),--traffic cdk.out/bench-cdn.json)

clean: ## Remove build output and installed dependencies
	rm -rf cdk.out $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache
	-$(MAKE) -C app/backend clean
	-$(MAKE) -C app/frontend clean
