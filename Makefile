# Two entry points, both usable on a fresh machine with Python 3.11:
#   make book   -> sets up .venv, builds the HTML report into _build/html
#   make test   -> sets up .venv, runs unit tests, the notebook checks (nbval) and the browser test
#   make test-fast -> the unit tests alone: no book build, no slow training (a few minutes)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHAPTERS := intro eda theory results collapse batch_effects batch_limits real_cells conclusions your_data
# Trained models and results are cached here, shared by the book build and the nbval run.
export CELLVAE_CACHE ?= $(CURDIR)/_build/cellvae-cache

.PHONY: install book test test-fast notebooks lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The grid first, with a progress bar and a line per run; the chapters then only read the cache.
# GRID_ARGS="--workers 4" (a local Dask cluster) or "--scheduler tcp://HOST:8786" fans it out.
book: install
	$(BIN)/cellvae-grid $(GRID_ARGS)
	PATH="$(CURDIR)/$(BIN):$$PATH" jupyter-book build book

# MyST .md is the source: build fresh .ipynb from it (keeping the reference outputs stored in
# the paired book/*.ipynb for cells marked NBVAL_CHECK_OUTPUT), then execute them with nbval.
notebooks: install
	mkdir -p _build/nbval
	for c in $(CHAPTERS); do \
	  cp book/$$c.ipynb _build/nbval/$$c.ipynb && \
	  $(BIN)/jupytext --quiet --to notebook --update --output _build/nbval/$$c.ipynb book/$$c.md || exit 1; \
	done

test: notebooks
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests _build/nbval --nbval-lax --nbval-current-env -p no:cacheprovider

# Unit tests only: what `make test` runs, less the book builds, the notebooks and the slow trainings.
test-fast: install
	$(BIN)/python -m pytest tests -m "not slow and not browser" -p no:cacheprovider

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf _build
