# The two commands of the README: `make run` (the product on local services) and `make test`.
# Both first run `setup`, which installs everything on a fresh machine and is quick when done.

PYTHON ?= python3.11
VENV := .venv
# Relative: recipes run in the checkout, whose absolute path may hold spaces, which would split a
# command's words. PATH takes absolute folders, spaces and all.
BIN := $(VENV)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)

# The browser files of the chart library (uPlot, pinned in package.json), copied from node_modules
# into the git-ignored app/static/vendor.
VENDOR := app/static/vendor/uPlot.iife.min.js app/static/vendor/uPlot.min.css

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup chromium gas-report benchmark report load-test

# `make run SIMULATE=1` also streams simulated bedside readings for the demo patients, Ada
# deteriorating after two minutes (scripts/simulate_devices.py, with SIMULATOR_ARGS), in one-minute
# vitals windows so their records appear while you watch.
SIMULATOR_ARGS ?= --interval 10 --calm 12

run: setup
	$(if $(SIMULATE),CARECHAIN_VITALS_WINDOW_MINUTES=1 CARECHAIN_DEVICE_SIMULATOR='$(SIMULATOR_ARGS)' )$(BIN)/python -m scripts.services

# Contract and toolchain tests on brownie's throw-away chain; then the library, web and browser
# tests, which start their own chain, IPFS node and web server and need no brownie plugin.
test: setup chromium
	$(BIN)/brownie test --network carechain-test --ignore=tests/e2e
	$(BIN)/python -m pytest -p no:pytest-brownie tests/e2e

benchmark: setup
	$(BIN)/python -m scripts.benchmark

# The concurrency cases of the integrity review through the web app (bounded, loopback only).
load-test: setup
	$(BIN)/python -m scripts.load_test

# Every benchmark in one markdown report, reports/benchmark.md (about 12 minutes).
report: setup
	$(BIN)/python -m scripts.report

# scripts.toolchain runs a brownie script as `brownie run` does, from a checkout at any path.
gas-report: setup
	$(BIN)/python -m scripts.toolchain run scripts/gas_report.py --network carechain-test

setup: $(VENV)/.installed node_modules/.installed $(VENDOR)
	$(BIN)/python -m scripts.toolchain
	$(BIN)/brownie compile >/dev/null

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# `npm install` (not `npm ci`) reproduces the committed lock; see README, "Toolchain".
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

# The chart library for the browser, served by the app itself (no CDN).
app/static/vendor/%: node_modules/.installed
	mkdir -p $(@D)
	cp node_modules/uplot/dist/$* $@
