# One-command set-up: every target bootstraps .venv idempotently (re-installs only when the
# requirement files change), so `make demo`, `make test` and `make app` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APP_STAMP := $(VENV)/.installed-app
PORT ?= 7860

.PHONY: venv demo test app browser clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip setuptools wheel
	$(VPY) -m pip install --quiet -c requirements/constraints.txt -e '.[tests,plot]'
	touch $(STAMP)

$(APP_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet -c requirements/constraints.txt -e '.[app]'
	touch $(APP_STAMP)

# The page's browser tests drive Debian's Chromium (never a browser download at run time): installed once,
# when missing, where we may (root); elsewhere the tests say how to get it (and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing Debian's chromium for the page's browser tests"; \
	      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "note: no chromium; the browser tests of harmony app will be skipped (apt-get install chromium)"; fi; }

demo: $(STAMP)
	$(VPY) tools/demo.py --work-dir work_dirs/demo

test: $(STAMP) browser
	$(VPY) -m ruff check .
	$(VPY) -m pytest $(PYTEST_ARGS)

app: $(APP_STAMP)
	$(VPY) -m toolkit.cli app --port $(PORT)

clean:
	rm -rf $(VENV) work_dirs .pytest_cache
