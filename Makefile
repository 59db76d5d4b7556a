# LeadHub: the few commands people need. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Re-install only when a requirements file changes.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install migrate demo run test test-pg lint format fuzz bench clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
		{ echo "LeadHub needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install everything LeadHub and its tests need

migrate: install ## Create or update the database (SQLite in var/ unless DATABASE_URL is set)
	@mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v 0

demo: migrate ## Load the demo company (idempotent) and print the demo login
	$(BIN)/python manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py demo_login

run: demo ## Set up, load demo data, and run every process of the Procfile on 127.0.0.1:8000 (Ctrl-C stops them all)
	@echo "Starting LeadHub on http://$(HOST):$(PORT)/ with honcho: $$(cut -d: -f1 Procfile | paste -sd' ')."
	@echo "Ctrl-C stops them all."
	@# honcho gives the first Procfile line (web) PORT; the .venv's python and gunicorn come first.
	@PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) exec $(BIN)/honcho start --port $(PORT)

test: install ## Run the whole test suite (SQLite; set DATABASE_URL for PostgreSQL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-pg: install ## Run the whole test suite on the local PostgreSQL
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadhub} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

fuzz: install ## Fuzz the API against its OpenAPI document with schemathesis (local PostgreSQL; .ci/fuzz)
	.ci/fuzz

bench: install ## Run the benchmarks in bench/ (see bench/README.md)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean: ## Remove the virtualenv, the local database and caches
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .hypothesis .schemathesis
