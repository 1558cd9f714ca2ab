# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
QUESTION ?= What did the Meta spokesperson say?

CHROMIUM := /usr/bin/chromium
SUDO   := $(shell test "$$(id -u)" = 0 || echo sudo)

.PHONY: install run test eval bench lint clean

install: $(STAMP)

# The browser tests drive Debian's chromium (playwright cannot download a browser here).
$(CHROMIUM):
	@echo "Installing chromium for the browser tests..."
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Reinstalls only when the dependency pins change. torch goes first, from this
# machine's CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (first run takes a few minutes)..."
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@

# Index corpus/ (only what changed), then serve the chat and print its URL.
run: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag ui

test: install $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	$(BIN)/rag eval --check

# The article question set through the real pipeline: table, report.json, report.html.
eval: install
	$(BIN)/rag eval

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .rag .pytest_cache .ruff_cache

# Figures, not tests: model load, answer latency (warm and cold prompt cache), medians.
bench: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag bench
