# Developer entry points. The README's quick start uses `make up` and `make test`.
SHELL := /bin/bash
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No version check or telemetry calls from the cdktf CLI and Terraform (offline machines).
export CHECKPOINT_DISABLE := 1
# A filesystem mirror of the AWS provider, when the machine has one (no registry access).
export TF_PROVIDER_MIRROR ?= $(shell scripts/find-provider-mirror)
PY := .venv/bin/python
PIPENV := python3 -m pipenv
RUNTIME_CATEGORIES := packages runtime dev-packages

export NO_MKDOCS_2_WARNING := 1

.PHONY: install up down clean-local redeploy-local watch destroy-local synth config config-docs list plan rollout test unit lint docs e2e bench bench-local clean

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

up: install  ## local mode: synth of `local` (cached), emulator, the saved deployment restored or Terraform on its stacks, API on localhost (FRESH=1: deploy from nothing)
	$(PY) -m localmode.up $(if $(FRESH),--fresh)

down:  ## stop `make up` (emulator and API) without destroying: the deployment is saved for the next `make up`
	$(PY) -m localmode.up down

clean-local:  ## forget the deployment `make down` saved: the next `make up` deploys from nothing
	$(PY) -m localmode.up clean

redeploy-local:  ## apply the current code to the running `make up` (synth, Terraform on the changed stacks, rollout)
	$(PY) -m localmode.up redeploy

watch:  ## hotswap handler edits into WORKSPACE=local (default) or dev: zips, new version, rollout; no deploy
	$(PY) -m delivery.hotswap "$(or $(WORKSPACE),local)"

destroy-local:  ## destroy the local stacks in the running emulator, then stop `make up`
	$(PY) -m localmode.up destroy

synth: install  ## synthesize every workspace (WORKSPACES=dev,prod narrows it); skipped when nothing changed
	$(PY) main.py

# Configuration: config/<ws>.toml over the typed defaults, environment variables win (docs/configuration.md).
config: install  ## print the effective settings of WORKSPACE=<ws>, each value with its source (default, file, variable)
	@test -n "$(WORKSPACE)" || { echo "usage: make config WORKSPACE=<ws> (local, dev, staging or prod)" >&2; exit 1; }
	$(PY) -m modules.config.show "$(WORKSPACE)"

config-docs: install  ## regenerate config/schema.json and docs/configuration.md's key reference from the settings models
	$(PY) -m modules.config.file_schema
	$(PY) -m devtools.config_reference

list: install  ## the stacks, as the cdktf CLI sees them
	npx cdktf list

# Plan review: one synth, then init/plan/show per stack; the review goes to plan-review/<ws>.md
# and .json, the saved plans to plan-review/<ws>/. The tool exits 0 no changes, 2 changes,
# 3 blocked (stateful destroy/replace not in ALLOW_STATEFUL_CHANGES), 1 error; make itself
# reports any non-zero code as "Error <code>" (CI runs the module directly for the code).
plan: install  ## plan review of WORKSPACE=<ws>[,<ws>...] (local: against the running `make up`)
	@test -n "$(WORKSPACE)" || { echo "usage: make plan WORKSPACE=<ws>[,<ws>...] (e.g. local, dev,staging)" >&2; exit 1; }
	$(PY) -m delivery.plan_review "$(WORKSPACE)"

# Safe rollouts: after the app layer is applied, CodeDeploy moves every function's `live` alias
# to its newest version (canary/linear per workspace, pre-traffic hook, rollback on alarm).
# Exit 0 shifted or nothing to do, 1 a deployment was rolled back, 2 it could not run.
rollout: install  ## roll out new function versions of WORKSPACE=<ws> through CodeDeploy (local: the running `make up`)
	@test -n "$(WORKSPACE)" || { echo "usage: make rollout WORKSPACE=<ws> (local, dev, staging or prod)" >&2; exit 1; }
	$(PY) -m delivery.rollout "$(WORKSPACE)"

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy modules handlers delivery devtools localmode main.py
	scripts/lint-workflows
	scripts/build-docs

# pytest-xdist workers, one per core: the suites are CPU-bound (Terraform, the provider, moto), so more
# workers than cores only thrash (4 on 2 cores took 21 min, 2 took 13). Groups that share a deployment,
# an emulator or a synth stay on one worker (tests/conftest.py); work goes out in the order of
# pyproject.toml's testpaths: the long groups first, e2e last.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: install lint  ## every test suite (unit, handlers, localmode, infra, e2e), on TEST_WORKERS workers (default: one per core)
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

unit: install  ## the fast inner loop: unit, handler and synthesized-JSON tests (no Terraform, checkov or e2e)
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		-m "not terraform and not slow and not e2e" tests/unit tests/handlers tests/infra

docs: install  ## serve the documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8000
	$(PY) -m mkdocs serve --dev-addr 127.0.0.1:8000

e2e: install
	$(PY) -m pytest -p no:cacheprovider tests/e2e

bench: install
	$(PY) bench/bench_handlers.py
	$(PY) bench/bench_synth.py

bench-local: install  ## the inner loop beside its targets: make up (first, warm), make watch, make redeploy-local, make down (ports 4566/8080 free; edits and restores the health handler)
	$(PY) bench/bench_local.py

clean:  ## remove synth output (the next synth runs in full), builds and tool caches
	rm -rf cdktf.out .local/cdktf.out .local/state build .pytest_cache .mypy_cache .ruff_cache

# --- architecture diagram -------------------------------------------------------------------
.PHONY: diagram

diagram: install  ## redraw docs/architecture.mmd and README's diagram from a synth of prod (temp dir; cdktf.out untouched)
	$(PY) -m devtools.diagram

# --- formatting: the fixable part of `make lint` (tests/infra/test_precommit.py keeps them in step) ---
.PHONY: fmt

fmt: install  ## apply ruff's safe fixes (import order, pyupgrade, simplifications); `make lint` checks the same rules
	$(PY) -m ruff check --fix .
