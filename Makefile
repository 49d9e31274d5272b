# The two commands a newcomer needs: `make run` (the service, embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean teams-app wheel

$(BIN)/approvals: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/approvals  ## run the service on the embedded default (SQLite, web page, demo policy)
	$(BIN)/approvals serve

test: $(BIN)/approvals  ## all tests: needs PostgreSQL and Redis on 127.0.0.1 (see README)
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/approvals  ## ruff, mypy (strict) and the import-linter architecture contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

wheel: $(BIN)/approvals  ## dist/approvals-*.whl with approvals.redaction compiled by mypyc (needs gcc)
	APPROVALS_COMPILE=1 $(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

teams-app:  ## Teams app package: deploy/teams-app/approvals-teams.zip (env: see docs/teams.md)
	$(PYTHON) deploy/teams-app/build_package.py

clean:
	rm -rf $(VENV) dist .approvals .mypy_cache .ruff_cache .pytest_cache
