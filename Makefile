# The README's two commands: `make demo` (install, then the quick suite of every family) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.aligngym-installed

.PHONY: install demo test bench clean

install: $(STAMP)

# torch first, pinned to the CPU build on this machine's disk, so no dependency pulls a CUDA build.
$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: install
	MUJOCO_GL=egl $(VENV)/bin/aligngym suite --out reports/demo

test: install
	MUJOCO_GL=egl $(PY) -m pytest -q

bench: install
	MUJOCO_GL=egl $(PY) -m aligngym.benchmarks.run_all --out reports/bench

clean:
	rm -rf $(VENV) reports
