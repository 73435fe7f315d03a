# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test lock lint typecheck pytest clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the hashed locks in requirements/ (made by `make lock` from pyproject.toml): every
# package at the version CI proved and a download that does not match its hash is refused. The project
# itself goes in editable and without dependencies, so nothing outside the lock is installed.
LOCK_RUN := requirements/local.txt
LOCK_TEST := requirements/test.txt
install: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_RUN)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_TEST)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .

# Regenerates both locks after a change to pyproject.toml's dependencies. pip-compile keeps every pin the
# lock already has unless pyproject.toml rules it out; LOCK_ARGS='--upgrade-package NAME' (or --upgrade)
# moves pins on purpose. pip-tools lives in a venv of its own so the project's venv stays exactly the lock.
# The run lock starts from the test lock's pins, so the packages both hold stay at one version.
LOCK_VENV ?= .venv-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock:
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools; }
	$(PIP_COMPILE) --extra test --extra local -o $(LOCK_TEST) pyproject.toml
	cp $(LOCK_TEST) $(LOCK_RUN)
	$(PIP_COMPILE) --extra local -o $(LOCK_RUN) pyproject.toml

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
