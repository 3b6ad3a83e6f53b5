# tinygen developer entry points. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tinygen-installed
PYTEST_ARGS ?= -n 2 --durations=25

.PHONY: demo test sysdeps venv clean

# constraints.txt pins every package to the versions the suite passed with.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[keras,test]"
	touch $(STAMP)

venv: $(STAMP)

# Cross compiler, newlib and QEMU for the firmware tests (Debian/Ubuntu; installs as root when missing).
sysdeps:
	@./scripts/sysdeps.sh

demo: $(STAMP)
	$(PY) examples/digits_demo.py

test: $(STAMP) sysdeps
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf out build dist .pytest_cache
