# The two commands: `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
DEMO_SPECIALISTS ?= 3000

.PHONY: run test install lint format bench chromium axe load fuzz

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# axe-core for the browser tests' accessibility check (docs/accessibility-testing.md),
# pinned in package-lock.json; `npm ci` empties node_modules/, old stamps included.
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: $(NODE_STAMP)

## run: install, migrate, seed demo data into an empty database, serve :8000
run: $(STAMP)
	$(BIN)/sekispe migrate --noinput
	$(BIN)/sekispe seed-demo --specialists $(DEMO_SPECIALISTS) --seed 1 --if-empty --accounts
	$(BIN)/sekispe runserver 127.0.0.1:8000

## test: lint, then the whole suite (browser tests included) on $DATABASE_URL or SQLite
## (PYTEST_WORKERS: xdist workers; LINT= skips the lint, for CI, which lints once)
PYTEST_WORKERS ?= 2
LINT ?= lint
test: $(STAMP) chromium axe $(LINT)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

chromium:
	@bash scripts/ensure-chromium

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: every issue-18 target with PASS/FAIL: search (API, page, writes, freshness, memory,
## start, build) at 50,000 and at 1,000,000 listings (the rest of 1M are SQL copies of a
## 50,000 seed; 34 min per database at load 5-14; BENCH_LARGE_LISTINGS=0 skips it), the import
## (registry + courses) at 50,000 + 300,000 rows, Plan B on PostgreSQL (DATABASE_URL, else
## the local server); the daily expiry at 300,000 expiries, on SQLite (and PostgreSQL if
## DATABASE_URL is set),
## matching quality (fair exposure), the deemed-attendance copy check, and the insights
## refresh and pages at 50,000 registrants, 200,000 diagnoses, 1,000,000 searches
bench: $(STAMP)
	$(BIN)/sekispe bench search
	if [ "$${BENCH_LARGE_LISTINGS:-1000000}" != 0 ]; then \
		$(BIN)/sekispe bench search --listings "$${BENCH_LARGE_LISTINGS:-1000000}" --page-queries 0; fi
	$(BIN)/sekispe bench import
	$(BIN)/sekispe bench planb
	$(BIN)/sekispe bench expiry
	$(BIN)/sekispe bench matching
	$(BIN)/sekispe bench similarity
	$(BIN)/sekispe bench insights

## load: Locust against gunicorn + the worker on loopback, scratch database, 50 users for
## 2 minutes (searches, detail pages, diagnoses, signed-in inquiries); fails on any error
## or 5xx. Not in CI (LOAD_USERS, LOAD_TIME, LOAD_DATABASE_URL: see scripts/load)
load: $(STAMP)
	bash scripts/load

## fuzz: Schemathesis against gunicorn + production settings on loopback, scratch
## database, every check, seed 1, at least 10,000 cases; fails on any 5xx or
## undeclared behaviour (FUZZ_QUICK=1: about 60 s, as CI runs it; see scripts/fuzz)
FUZZ_QUICK ?=
fuzz: $(STAMP)
	bash scripts/fuzz $(if $(FUZZ_QUICK),--quick)
