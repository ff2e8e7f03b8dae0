# pingan: `make demo` runs it, `make test` tests it. Everything else is for contributors.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3
DEMO_ENV := PINGAN_DEMO=1
CHECK_DB := var/alembic-check.db

.PHONY: demo test check install assets browser warnings-peers pgrouting java compose lint format bench clean messages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies are pinned in constraints.txt (regenerate with `make lock`).
# The screening kernels are compiled here, once (numba, about 4 s; kept in the package's __pycache__),
# as an extension module would be built at install, not in the first screening run.
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -c "from pingan.antifraud.screening import kernels; kernels.warm_up()"
	@touch $@

install: $(STAMP)

# htmx and ECharts for the pages, and axe-core for the browser tests' accessibility check, pinned by
# package-lock.json; the pages also work without htmx.
assets:
	@if [ -f node_modules/htmx.org/dist/htmx.min.js ] && [ -f node_modules/echarts/dist/echarts.min.js ] && [ -f node_modules/axe-core/axe.min.js ]; then :; \
	elif command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: pages will run without htmx"; fi

# The browser tests drive Debian's Chromium, with Noto CJK so that Chinese pages render; under CI both
# are installed when missing.
browser:
	@if { [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; } && [ "$$CI" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; fi

# Warning channels' peers: Kannel + fake SMSC, SIPp, espeak-ng and sox; under CI installed when missing.
warnings-peers:
	@if { [ ! -x /usr/sbin/bearerbox ] || [ ! -x /usr/lib/kannel/test/fakesmsc ] || ! command -v sipp >/dev/null \
		|| ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; } && [ "$$CI" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras sip-tester espeak-ng sox >/dev/null; fi

# Road routing on PostgreSQL: pgRouting (and PostGIS) for the server; under CI installed when missing.
# Migration 0018 creates the extension in each database where the server offers it.
pgrouting:
	@if [ ! -f /usr/share/postgresql/15/extension/pgrouting.control ] && [ "$$CI" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-pgrouting postgresql-15-postgis-3 >/dev/null; fi

# The Spark screening engine's tests run PySpark in local mode on a Java 17 runtime; under CI installed
# when missing (outside CI the Spark tests skip without Java).
java:
	@if ! command -v java >/dev/null && [ "$$CI" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; fi

# The deployment's compose file is checked by `docker-compose config` where Docker exists; under CI
# Debian's docker-compose is installed when missing (tests/deploy).
compose:
	@if command -v docker >/dev/null && ! command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1 \
		&& [ "$$CI" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; fi

demo: install assets
	@mkdir -p var
	$(DEMO_ENV) $(BIN)/pingan db upgrade
	$(DEMO_ENV) $(BIN)/pingan demo seed
	$(DEMO_ENV) $(BIN)/pingan command train-classifier --seed 1
	@echo ""
	@echo "  pingan is starting on  http://127.0.0.1:8000   (API docs: http://127.0.0.1:8000/docs)"
	@echo "  demo logins (password pingan-demo-2026): analyst, supervisor, officer, dispatcher, traffic, legal, auditor, admin"
	@echo "  bank-sim answers on :8700; the robot stops payments; a new report arrives every 8 s"
	@echo ""
	$(DEMO_ENV) $(BIN)/pingan demo run --host 127.0.0.1 --port 8000

# The suite runs on TEST_WORKERS pytest-xdist workers: most tests wait on databases, brokers, browsers
# and child processes, so more workers than cores keep both cores busy. Each worker makes its own
# databases, ports and temporary folders; a file's tests stay on one worker, and the files that share
# the Mosquitto broker share one worker (tests/conftest.py, MQTT_FILES). The stop-payment robot's process tests
# (orders) time real processes against each other, so they run last, alone. Either part failing fails.
TEST_WORKERS ?= 4
TEST_ALONE := tests/antifraud/orders
test: install assets browser warnings-peers pgrouting java compose
	@echo "== tests, on $(TEST_WORKERS) workers: all but $(TEST_ALONE)"
	@$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --ignore=$(TEST_ALONE); r=$$?; \
	echo "== tests, alone: $(TEST_ALONE)"; \
	$(BIN)/pytest -q -p no:cacheprovider $(TEST_ALONE); ro=$$?; \
	exit $$(( r != 0 || ro != 0 ))

check: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy --strict src
	@rm -f $(CHECK_DB); mkdir -p var
	PINGAN_DATABASE_URL=sqlite:///$(CHECK_DB) $(BIN)/alembic upgrade head
	PINGAN_DATABASE_URL=sqlite:///$(CHECK_DB) $(BIN)/alembic check
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

# The page text catalogues: extract every string marked with _() / N_() in Python and templates, then
# bring each language's messages.po in step (`i18n.update_catalogue`: new msgids untranslated, unused
# ones kept as obsolete and revived with their translation when they come back). Translations are
# filled in by hand; the tests refuse an untranslated zh_CN msgid. The catalogues are read at start.
LOCALE_DIR := src/pingan/locale
messages: install
	@mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ExportColumn --sort-output --no-location --omit-header -o var/messages.pot .
	$(PY) -c 'from pathlib import Path; from pingan.core.i18n import LOCALES, catalogue_path, update_catalogue; \
	[print(l, len(update_catalogue(catalogue_path(l), Path("var/messages.pot"), l)), "untranslated") for l in LOCALES]'

lock: $(PY)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^pingan' > constraints.txt

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
