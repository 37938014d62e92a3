# Two commands for a fresh machine:  make demo  (example dossiers into output/)  and  make test  (whole suite).
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dossier build examples/examplinib/study.yaml --out output --strict
	$(VENV)/bin/dossier build examples/combination/study.yaml --out output --strict
	@# the CDISC pilot example reads the public pilot data in ../shared/data (see examples/cdisc_pilot/README.md)
	@if [ -d ../shared/data/cdisc-pilot-adam ]; then \
	  $(VENV)/bin/dossier build examples/cdisc_pilot/study.yaml --out output --strict; \
	else echo "skipping examples/cdisc_pilot: ../shared/data/cdisc-pilot-adam is absent"; fi

# pytest exit code 5 (no test collected) is a failure: a suite that collects nothing is broken.
# The suite runs on every core (pytest-xdist), one test file per worker at a time (--dist loadfile:
# a file's module fixtures, e.g. the example build, are made once).
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check dossier tests benchmarks examples tools

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf output/*/ output/.??* .pytest_cache
