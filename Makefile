# Two commands set everything up on a fresh machine (Python 3.11+ and make):
#   make demo   installs into .venv and runs the demo on the embedded default
#   make test   installs into .venv and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench docs-images clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/spendsense-video demo

# Independent tests run side by side (pytest-xdist; most of the time is spent waiting on worker
# processes, so four runners keep two cores busy); -v prints each test as it finishes.
test: install
	$(BIN)/python -m pytest -n 4 --dist worksteal -v

# Lint and format check (ruff) and type check (mypy), configured in pyproject.toml; CI runs it first.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_engine_overhead.py
	$(BIN)/python bench/bench_enqueue.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_remote_throughput.py
	$(BIN)/python bench/bench_recovery.py

# Pictures in docs/ come from commands, never from the test run.
docs-images: install
	$(BIN)/spendsense-video preview user_0034 --out docs/storyboard.png \
		--contexts tests/data/spendsense/user_contexts_high_utilization.json
	$(BIN)/python -m tests.preview_site --screenshot docs/preview.png
	SPENDSENSE_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_topology.py -k flower  # docs/flower-tasks.png

clean:
	rm -rf $(VENV) data *.egg-info
