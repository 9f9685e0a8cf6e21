# Everything a fresh machine needs, in two commands (see README.md):
#   make book   -- set up, then build the HTML book into _build/html
#   make test   -- set up, then run the library tests and every chapter under nbval
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)

# MNIST for machines without internet access: a data folder beside the clone, if there is one
# (it holds mnist/). Set LRBOOK_DATA yourself to use another; unset, the loaders download.
SHARED_DATA := $(abspath ../shared/data)
LRBOOK_DATA ?= $(if $(wildcard $(SHARED_DATA)/mnist),$(SHARED_DATA))
export LRBOOK_DATA

.PHONY: setup data notebooks test test-lib test-chapters book bench browser-test clean

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,book]"
	touch $@

# Fashion-MNIST from Debian's package where apt-get exists; elsewhere the loader downloads it.
data:
	@if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian package dataset-fashion-mnist"; \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist) \
	  || echo "could not install dataset-fashion-mnist; lrbook will download Fashion-MNIST on first use"; \
	fi

# Every chapter as a Jupyter notebook (the same conversion nbval runs).
notebooks: $(VENV)/.installed
	$(BIN)/python scripts/export_notebooks.py build/notebooks

test-lib: setup
	$(BIN)/python -m pytest tests

test-chapters: setup notebooks
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-cell-timeout=900 build/notebooks

test: test-lib test-chapters

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

bench: setup
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf _build build
