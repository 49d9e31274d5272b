# The two commands a newcomer needs: `make run` (the service, embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint lock bench clean teams-app wheel

# Two environments from one venv folder: `make run` installs the core only (pinned by
# requirements/run.lock, which also pins the extras the image ships: pdf, s3, otel);
# `make test`/`make lint` add the dev extra (pinned by dev.lock). The lock files are
# constraints: they pin every package installed, and `make lock` rewrites them.
$(VENV)/.run: pyproject.toml requirements/run.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/run.lock -e .
	touch $@

$(VENV)/.dev: pyproject.toml requirements/dev.lock requirements/checkov.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[dev]'
	# checkov (tests/unit/deploy/) in a virtualenv of its own: its pins would move ours.
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -r requirements/checkov.lock
	touch $@ $(VENV)/.run  # the dev install is a superset of the core

run: $(VENV)/.run  ## run the service on the embedded default (SQLite, web page, demo policy)
	$(BIN)/approvals serve

test: $(VENV)/.dev  ## all tests: needs PostgreSQL and Redis on 127.0.0.1 (see README)
	$(BIN)/python -m pytest -n 2 -q

lock:  ## re-pin requirements/*.lock from pyproject.toml (needs pip-tools)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--extra pdf --extra s3 --extra otel -o requirements/run.lock pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev --extra bench \
		-o requirements/dev.lock pyproject.toml
	sed -i '/^approvals @ /d' requirements/dev.lock
	$(BIN)/pip-compile -q --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links \
		-o requirements/checkov.lock requirements/checkov.in

lint: $(VENV)/.dev  ## ruff, mypy (strict) and the import-linter architecture contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

wheel: $(VENV)/.dev  ## dist/approvals-*.whl with approvals.redaction compiled by mypyc (needs gcc)
	APPROVALS_COMPILE=1 $(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

teams-app:  ## Teams app package: deploy/teams-app/approvals-teams.zip (env: see docs/teams.md)
	$(PYTHON) deploy/teams-app/build_package.py

clean:
	rm -rf $(VENV) dist .approvals .mypy_cache .ruff_cache .pytest_cache
