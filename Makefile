# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test lint typecheck pytest clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,local]'

run: install
	$(BIN)/alpr up

lint: install-test
	$(BIN)/ruff check libs services tests bench examples scripts
	$(BIN)/ruff format --check libs services

typecheck: install-test
	$(BIN)/mypy libs services

pytest: install-test
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .alpr .pytest_cache .mypy_cache .ruff_cache
