# Everything a fresh machine needs, in two commands (see README.md):
#   make book   -- set up, then build the HTML book into _build/html/ (executes every chapter)
#   make test   -- set up, then: the library tests; the book build (warnings are errors);
#                  every chapter executed a second time under nbval and compared with the
#                  build's outputs; a headless-browser check of every built page
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)

# MNIST for machines without internet access: a data folder beside the clone, if there is one
# (it holds mnist/). Set LRBOOK_DATA yourself to use another; unset, the loaders download.
SHARED_DATA := $(abspath ../shared/data)
LRBOOK_DATA ?= $(if $(wildcard $(SHARED_DATA)/mnist),$(SHARED_DATA))
export LRBOOK_DATA

# Runs nobody watches (the book build, nbval) draw no progress bars: tqdm honours TQDM_DISABLE.
# The two executions must agree, so both get the same setting.
BATCH := TQDM_DISABLE=1

# The chapters as the book build executed them (outputs taken from its execution cache), for
# nbval to execute again and compare; and what nbval may ignore (see the file's comments).
EXECUTED := _build/executed
SANITIZE := tests/nbval-sanitize.cfg

.PHONY: setup data notebooks lab test test-lib test-chapters test-book book bench profile clean

setup: $(VENV)/.installed data .cache/mathjax/mathjax/tex-chtml.js

# MathJax 3 from the npm registry, served with the book (no CDN needed); skipped without npm.
.cache/mathjax/mathjax/tex-chtml.js:
	@if command -v npm >/dev/null; then \
	  npm install --no-save --no-audit --no-fund --silent --prefix .cache/npm mathjax@3 && \
	  mkdir -p .cache/mathjax && rm -rf .cache/mathjax/mathjax && \
	  cp -r .cache/npm/node_modules/mathjax/es5 .cache/mathjax/mathjax; \
	else echo "npm not found: the book will load MathJax from its CDN"; fi

# `python3 -m venv` needs ensurepip, which Debian ships separately (python3-venv, or
# python3.X-venv for one interpreter): installed first where apt-get exists.
PY_VENV_PKG = python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv
$(VENV)/.installed: pyproject.toml scripts/jupyterlab-overrides.json
	@if ! $(PYTHON) -c "import ensurepip, venv" 2>/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    echo "installing Debian's $(PY_VENV_PKG) (python3 -m venv needs it)"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(PY_VENV_PKG); \
	  else echo "$(PYTHON) has no ensurepip: install your system's venv package"; exit 1; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,book,lab]"
	@# JupyterLab opens Markdown files (the chapters) as notebooks, through jupytext
	mkdir -p $(VENV)/share/jupyter/lab/settings/overrides.d
	cp scripts/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.d/lrbook.json
	touch $@

# Debian packages, where apt-get exists: Fashion-MNIST (elsewhere the loader downloads it) and
# Chromium for the browser test of the built book.
APT_WANTED := $(if $(wildcard /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz),,dataset-fashion-mnist) \
              $(if $(wildcard /usr/bin/chromium),,chromium)
data:
	@if [ -n "$(strip $(APT_WANTED))" ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages: $(strip $(APT_WANTED))"; \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(APT_WANTED)) \
	  || echo "could not install $(APT_WANTED): Fashion-MNIST will be downloaded on first use, the browser test skipped"; \
	fi

# Every chapter as a Jupyter notebook without outputs (jupytext), in build/notebooks/.
notebooks: $(VENV)/.installed
	$(BIN)/python scripts/export_notebooks.py build/notebooks

# JupyterLab on the chapters: double-click book/<chapter>.md to run it as a notebook.
lab: setup
	$(BIN)/jupyter lab $(shell [ "$$(id -u)" = 0 ] && echo --allow-root) book/

test-lib: setup
	LRBOOK_REQUIRE_LAB=1 $(BIN)/python -m pytest tests --ignore=tests/book

# The second execution of every chapter, compared output by output with the book build's first.
test-chapters: book
	$(BIN)/python scripts/executed_notebooks.py $(EXECUTED)
	$(BATCH) $(BIN)/python -m pytest -p no:cacheprovider -p scripts.nbval_store_history \
	  --nbval --nbval-current-env \
	  --nbval-sanitize-with $(SANITIZE) --nbval-cell-timeout=1800 $(EXECUTED)

# The built book in headless Chromium: figures, maths, error outputs, links; screenshots.
test-book: book
	LRBOOK_REQUIRE_BOOK=1 $(BIN)/python -m pytest -p no:cacheprovider tests/book

test: test-lib test-chapters test-book

book: setup
	$(BATCH) $(BIN)/jupyter-book build . -W -n --keep-going

# Issue 14's figures, each with its spread: the step of fit against numpy's products and the
# memory floor; the loader's peak memory; the solver's time to a 1e-6 gap against sklearn's;
# mini-batch SGD epochs and check scoring, compiled against NumPy.
bench: setup
	$(BIN)/python benchmarks/bench_step.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_solver.py
	$(BIN)/python benchmarks/bench_sgd.py

# Where each chapter's execution time goes: the compiled kernels against the rest, and the
# cells that spend most outside them. CHAPTERS="book/x.md ..." to choose; default, all.
CHAPTERS ?= $(shell grep -l '{code-cell}' book/*.md)
profile: setup
	$(BATCH) $(BIN)/python benchmarks/profile_chapters.py $(CHAPTERS)

clean:
	rm -rf _build build
