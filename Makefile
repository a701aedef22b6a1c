# Molam Ops Controls — `make run` serves everything; `make test` proves it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8084
export PORT

.PHONY: run test lint bench venv migrate seed clean token e2e-deps screenshots

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

## run: the whole system on http://127.0.0.1:$(PORT) (embedded defaults)
run: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python scripts/run_local.py

## test: the whole suite (PostgreSQL when DATABASE_URL names one), on
## TEST_WORKERS processes (pytest-xdist; each gets its own test database)
TEST_WORKERS ?= 2
test: venv
	$(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

## e2e-deps: Debian's Chromium for tests/e2e (Playwright drives it; no browser download)
e2e-deps:
	test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## screenshots: refresh docs/screenshots/*.png; the browser tests take them
## only when asked (SCREENSHOTS=1), so `make test` leaves them alone
screenshots: venv
	SCREENSHOTS=1 $(BIN)/pytest -q -p no:xdist tests/e2e $(PYTEST_ARGS)

## lint: ruff; no model change without its migration; mypy (strict on the
## molam_ops kernel; settings in pyproject.toml). DEBUG=1 and TESTING=1 let
## the development settings load without secrets.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check molam_ops audit controls payouts approvals plans widgets
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	TESTING=1 $(BIN)/mypy

## bench: serve as in production and measure against floors (see
## benchmarks/README.md; the servers run DJANGO_SETTINGS_MODULE=benchmarks.settings)
bench: venv
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.freeze_to_effect $(FREEZE_BENCH_ARGS)
	$(BIN)/python -m benchmarks.load $(LOAD_BENCH_ARGS)

## bench-kpis: the KPI summary over 1M payouts, then the fan-out to 1,000
## sockets, on one database (the second run reuses the first's payouts)
.PHONY: bench-kpis
bench-kpis: venv
	$(BIN)/python -m benchmarks.kpi_summary $(KPI_BENCH_ARGS)
	$(BIN)/python -m benchmarks.ws_fanout --keep-db $(FANOUT_BENCH_ARGS)

token: venv
	@DEBUG=1 $(BIN)/python manage.py mint_token --sub alice --role pay_admin

## clients: the TypeScript SDK and widgets (clients/): the lockfile's exact
## packages, then the schema check (the SDK's types must match this service),
## build, typecheck, lint and tests; the tests start the real service from the
## venv, so it comes first
.PHONY: clients
clients: venv
	cd clients && npm ci && npm run check

clean:
	rm -rf var
