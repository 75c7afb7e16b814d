# Fresh machine: `make demo` sets up .venv and runs the demo; `make test` sets up and runs the tests.
# Both install the exact versions (with hashes) of the committed lock in requirements/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := requirements/exomir.lock
TEST_LOCK := requirements/test.lock
UV_VERSION := 0.13.8
SHARED_DATA ?= $(abspath ../shared/data)
# Use the local reference data beside the project when there is one; otherwise exomir downloads it from the official sources.
ifneq ($(wildcard $(SHARED_DATA)/mirbase_v22),)
export EXOMIR_MIRBASE ?= $(SHARED_DATA)/mirbase_v22
export EXOMIR_MIRTARBASE ?= $(SHARED_DATA)/targets/mirtarbase_strong_evidence_human.csv
export EXOMIR_HMDD ?= $(SHARED_DATA)/hmdd/hmdd_v3.2.tsv
export EXOMIR_GENESETS ?= $(SHARED_DATA)/genesets
export EXOMIR_NCRNA ?= $(SHARED_DATA)/ncrna
endif

.PHONY: demo test test-latest install lock bench clean

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(TEST_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/exomir demo --out demo

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

# Refresh the lock from pyproject.toml's ranges (newest allowed versions, hashes of every file).
lock:
	test -x .venv-tools/bin/uv || ($(PYTHON) -m venv .venv-tools && .venv-tools/bin/python -m pip install --quiet uv==$(UV_VERSION))
	.venv-tools/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
	    --custom-compile-command "make lock" -o $(LOCK)
	.venv-tools/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes --quiet \
	    --custom-compile-command "make lock" -o $(TEST_LOCK)

# The newest versions pyproject.toml allows, in a venv of their own: drift is seen on purpose, not by accident.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade -e ".[test]"
	.venv-latest/bin/python -m pytest -q

bench: $(VENV)/.installed-test
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .venv-latest .venv-tools demo .pytest_cache build src/*.egg-info
