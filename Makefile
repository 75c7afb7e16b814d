# Fresh machine: `make demo` sets up .venv and runs the demo; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_DATA ?= $(abspath ../shared/data)
# Use the local reference data beside the project when there is one; otherwise exomir downloads it from the official sources.
ifneq ($(wildcard $(SHARED_DATA)/mirbase_v22),)
export EXOMIR_MIRBASE ?= $(SHARED_DATA)/mirbase_v22
export EXOMIR_MIRTARBASE ?= $(SHARED_DATA)/targets/mirtarbase_strong_evidence_human.csv
export EXOMIR_HMDD ?= $(SHARED_DATA)/hmdd/hmdd_v3.2.tsv
export EXOMIR_GENESETS ?= $(SHARED_DATA)/genesets
endif

.PHONY: demo test install bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/exomir demo --out demo

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

bench: $(VENV)/.installed-test
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache build src/*.egg-info
