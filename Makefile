# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SANDBOX_PORT ?= 8765
UI_PORT ?= 3000
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test test-all lint dev sandbox bench health publish clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
# pykrx, for the shape tests of etf_assets.read only: it pins pandas < 3, which it runs
# without (its own dependencies are in the dev extras)
	$(PY) -m pip install --quiet --no-deps 'pykrx==1.2.9'
	touch $(STAMP)

demo: install
	$(PY) -m etf_sandbox.demo

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: install lint
	scripts/install_browser.sh
	scripts/install_postgres.sh
	$(PY) -m pytest -n 2 -q

dev: install
	$(PY) -m etf_sandbox.dev --port $(SANDBOX_PORT) --ui-port $(UI_PORT)

sandbox: install
	$(PY) -m etf_sandbox --port $(SANDBOX_PORT)

bench: install
	$(PY) -m bench

# The read snapshot (ETF_ASSETS_READ_DUCKDB) that readers open instead of the warehouse;
# dagster-daemon's publish_read_snapshot sensor does the same after every successful run.
publish: install
	$(PY) -m etf_assets.warehouse.publish

# `make health ARGS=--notify` also sends the verdict to ETF_ASSETS_ALERT_URLS
health: install
	$(PY) -m etf_assets.health $(ARGS)

clean:
	rm -rf $(VENV) .dagster_home data *.egg-info
