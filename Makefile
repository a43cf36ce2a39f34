# Developer entry points. The README's quick start uses `make synth` and `make test`.
SHELL := /bin/bash
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# A filesystem mirror of the AWS provider, when the machine has one (no registry access).
export TF_PROVIDER_MIRROR ?= $(shell scripts/find-provider-mirror)
PY := .venv/bin/python
PIPENV := python3 -m pipenv
RUNTIME_CATEGORIES := packages runtime dev-packages

.PHONY: install synth list test lint typecheck unit infra clean

install: .venv/.synced tools/checkov/.venv/.synced node_modules/.synced

.venv/.synced: Pipfile.lock
	python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install --quiet 'pipenv==2026.10.3'
	$(PIPENV) sync --categories "$(RUNTIME_CATEGORIES)"
	touch $@

tools/checkov/.venv/.synced: tools/checkov/Pipfile.lock
	cd tools/checkov && $(PIPENV) sync
	touch $@

node_modules/.synced: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: install  ## synthesize every workspace (WORKSPACES=dev,prod narrows it)
	$(PY) main.py

list: install  ## the stacks, as the cdktf CLI sees them
	npx cdktf list

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy modules handlers devtools main.py

test: install lint  ## every test suite
	$(PY) -m pytest -p no:cacheprovider

clean:
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache
