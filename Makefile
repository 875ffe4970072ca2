# Two commands for a fresh machine: `make run` opens the app, `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint dist bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m app

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# `make dist`: dist/TorchCanvas/ (PyInstaller one-folder bundle) and, on Linux, the .deb;
# then the bundle test (clean environment, byte-for-byte export, training, GUI). docs/INSTALL.md.
PACKAGING_STAMP := $(VENV)/.installed-packaging

$(PACKAGING_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,packaging]'
	touch $(PACKAGING_STAMP)

dist: $(PACKAGING_STAMP)
	$(BIN)/python packaging/build.py
	TORCHCANVAS_BUILD_BUNDLE=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m slow tests/packaging
	$(if $(filter Linux,$(shell uname -s)),$(BIN)/python packaging/build.py --deb-only)

lint: $(STAMP)
	$(BIN)/ruff check app tests benchmarks

# `make bench`: every benchmark in benchmarks/, one at a time, into docs/PERFORMANCE.md
# (Lightning for the training comparison comes with the `bench` extra).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py
