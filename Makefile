# Two commands on a fresh machine: `make demo` and `make test`. Everything they need is installed
# from this repository's own files (requirements*.txt, package.json + package-lock.json).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins versions that clash with the CDK/test stack: it gets its own virtualenv.
VENV_SCAN := .venv-scan
TEMPLATE := cdk.out/GenesysApiUsage.template.json
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Node 20 is past end of life for jsii: it says so on every synth unless told the major version.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo test lint format unit infra integration synth bench bench-scale scan clean chromium

# make demo lands the last 14 complete UTC days: the report's default range (7 days) and the 7
# days before it, which "What changed" compares with.
DEMO_OUT := demo-output
DEMO_DAYS := 14

help:
	@echo "make demo   - run the whole pipeline locally (simulator + moto + DuckDB), then the report"
	@echo "make test   - lint, unit, infrastructure (synth, cdk-nag, cfn-lint, checkov) and integration tests"
	@echo "make synth  - synthesize the CloudFormation template (offline)"
	@echo "make bench  - transform vs jq; saved queries on Parquet vs NDJSON; handler import time vs boto3"
	@echo "make bench-scale - a 30-day backfill of a large organization at the real rate limit (minutes)"
	@echo "make scan   - checkov on the synthesized template"

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# No AWS account, no Docker: the Lambda asset is bundled by pip (cached under build/); cdk-nag
# findings that are not acknowledged fail it.
synth: install
	npx cdk synth --quiet
	@test -s $(TEMPLATE)

demo: synth
	rm -rf $(DEMO_OUT)/bucket
	$(PY) -m local.run --input '{"lastDays": $(DEMO_DAYS)}' --keep $(DEMO_OUT)/bucket
	$(PY) -m ops.report --local $(DEMO_OUT)/bucket --out $(DEMO_OUT)/report

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lambdas/usage_pipeline lambdas/usage_report lambdas/handlers stacks local bench ops app.py

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit -q

# synth first: it warms the dependency cache the bundling test copies from.
infra: synth $(VENV_SCAN)/.installed
	$(PY) -m pytest tests/infrastructure -q

$(VENV_SCAN)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(VENV_SCAN)
	$(VENV_SCAN)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_SCAN)/bin/python -m pip install --quiet -r requirements-scan.txt
	touch $@

# Every failed check is fixed or skipped in the resource's metadata with a reason (stacks/).
scan: synth $(VENV_SCAN)/.installed
	$(VENV_SCAN)/bin/checkov --file $(TEMPLATE) --framework cloudformation --compact --skip-download

# The report's browser tests drive Debian's chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

integration: synth chromium
	$(PY) -m pytest tests/integration -q

test: lint install synth chromium $(VENV_SCAN)/.installed
	$(PY) -m pytest tests -q

bench: $(VENV)/.installed
	$(PY) -m bench.transform_bench
	$(PY) -m bench.import_bench
	$(PY) -m bench.scan_bench

# The synthesized template gives the functions' timeouts and memory sizes; PASS/FAIL per target.
bench-scale: synth
	$(PY) -m bench.scale_bench

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
