# One-command set-up: every target bootstraps .venv idempotently (re-installs only when the
# requirement files change), so `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip setuptools wheel
	$(VPY) -m pip install --quiet -c requirements/constraints.txt -e '.[tests,plot]'
	touch $(STAMP)

demo: $(STAMP)
	$(VPY) tools/demo.py --work-dir work_dirs/demo

test: $(STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) work_dirs .pytest_cache
