# KundenOrbit — `make run` (set up + main job on demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml

export DAGSTER_HOME := $(CURDIR)/.dagster
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_VERSION_CHECK := false
export GX_ANALYTICS_ENABLED := false
export PYTHONWARNINGS := ignore

.DEFAULT_GOAL := help
.PHONY: help install manifest demo run job summary docs erase dev test test-fast bench evaluate lint clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the locked dependencies

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet
	@touch $(MANIFEST)

manifest: $(MANIFEST) ## parse the dbt project (Dagster needs target/manifest.json)

demo: install ## generate demo exports into data/raw/ (only if it holds none)
	$(BIN)/kundenorbit demo --if-empty

run: install manifest ## set up, demo data if data/raw/ is empty, run the main job, print headline numbers
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/kundenorbit demo --if-empty
	@if [ -z "$(FORCE)" ] && $(BIN)/kundenorbit up-to-date; then :; else \
		set -o pipefail; $(BIN)/dagster job execute -m pipelines.definitions -j kundenorbit_job 2>&1 \
		| $(BIN)/python -m pipelines.runlog; fi
	$(BIN)/kundenorbit summary

summary: install ## headline numbers of the published warehouse
	$(BIN)/kundenorbit summary

docs: install manifest ## build the static dbt docs site (data/warehouse/docs/index.html)
	$(BIN)/kundenorbit docs

erase: install manifest ## erasure request, then rebuild: make erase EMAIL="anna@example.de" (or EMAIL_FILE=list.txt)
	@if [ -z "$(EMAIL)$(EMAIL_FILE)" ]; then echo 'usage: make erase EMAIL="anna@example.de" (or EMAIL_FILE=addresses.txt)'; exit 2; fi
	@$(BIN)/kundenorbit erase $(EMAIL) $(if $(EMAIL_FILE),--file "$(EMAIL_FILE)")
	@mkdir -p $(DAGSTER_HOME)
	@set -o pipefail; $(BIN)/dagster job execute -m pipelines.definitions -j kundenorbit_job 2>&1 \
		| $(BIN)/python -m pipelines.runlog
	$(BIN)/kundenorbit summary

dev: install manifest ## Dagster UI on http://localhost:3000
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -c "import os, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); os.execv('$(BIN)/dagster', ['dagster', 'dev', '-w', 'workspace.yaml'])"

test: install manifest ## set up and run every test (slow end-to-end ones included)
	$(BIN)/pytest

test-fast: install manifest ## tests without the slow end-to-end runs
	$(BIN)/pytest -m "not slow"

bench: install manifest ## speed and memory benchmark (medians, ratios vs baseline)
	$(BIN)/python -m pipelines.bench

evaluate: install manifest ## churn early warning: AUC and precision@100 on planted churners
	$(BIN)/python -m pipelines.evaluate

lint: install ## ruff (installed on demand)
	$(BIN)/python -m pip install --quiet ruff && $(BIN)/ruff check pipelines tests

clean: ## remove the working and published warehouse (keeps data/raw)
	rm -rf data/warehouse/* data/warehouse/.build data/warehouse/.salt dbt_project/target
