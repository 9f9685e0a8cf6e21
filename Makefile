# Everything a fresh machine needs, in two commands (see README.md):
#   make book   -- set up, then build the HTML book into _build/html
#   make test   -- set up, then run the library tests and every chapter under nbval
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)

# MNIST for machines without internet access: a data folder beside the clone, if there is one
# (it holds mnist/). Set LRBOOK_DATA yourself to use another; unset, the loaders download.
SHARED_DATA := $(abspath ../shared/data)
LRBOOK_DATA ?= $(if $(wildcard $(SHARED_DATA)/mnist),$(SHARED_DATA))
export LRBOOK_DATA

.PHONY: setup data notebooks test test-lib test-chapters test-book book bench clean

setup: $(VENV)/.installed data .cache/mathjax/mathjax/tex-chtml.js

# MathJax 3 from the npm registry, served with the book (no CDN needed); skipped without npm.
.cache/mathjax/mathjax/tex-chtml.js:
	@if command -v npm >/dev/null; then \
	  npm install --no-save --no-audit --no-fund --silent --prefix .cache/npm mathjax@3 && \
	  mkdir -p .cache/mathjax && rm -rf .cache/mathjax/mathjax && \
	  cp -r .cache/npm/node_modules/mathjax/es5 .cache/mathjax/mathjax; \
	else echo "npm not found: the book will load MathJax from its CDN"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,book]"
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

# Every chapter as a Jupyter notebook (the same conversion nbval runs).
notebooks: $(VENV)/.installed
	$(BIN)/python scripts/export_notebooks.py build/notebooks

test-lib: setup
	$(BIN)/python -m pytest tests --ignore=tests/book

test-chapters: setup notebooks
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-cell-timeout=900 build/notebooks

# The built book in headless Chromium: figures, maths, error outputs, links; screenshots.
test-book: book
	LRBOOK_REQUIRE_BOOK=1 $(BIN)/python -m pytest -p no:cacheprovider tests/book

test: test-lib test-chapters test-book

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

bench: setup
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf _build build
