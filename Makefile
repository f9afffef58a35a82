# molgen: two commands do everything on a fresh machine.
#   make demo   - set up the environment, then run the main job end to end
#   make test   - set up the environment, then lint and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.molgen-installed
LOCK   := requirements/lock.txt
DEMO   ?=
MOLGEN := $(BIN)/molgen

.PHONY: setup demo test test-slow lint clean-demo

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and exactly pinned, so no dependency can pull a CUDA build
	$(BIN)/python -m pip install --quiet -c $(LOCK) torch
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[qm9,eval,dev,dock,pyg]'
	@touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check molgen tests bench

test: setup lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q

test-slow: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q -m slow

demo: setup
	bash scripts/demo.sh $(DEMO)
