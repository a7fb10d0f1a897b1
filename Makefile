# The README's two commands: `make demo` (install, then the quick suite of every family) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.aligngym-installed

.PHONY: install demo test bench clean

install: $(STAMP)

# PyTorch first, so no dependency pulls another build. The default is the CPU build (torch==2.13.0+cpu): pip takes it
# from a local wheel where the machine has one (find-links), else from PyTorch's CPU index. For a CUDA build, PyPI's
# Linux wheel: `make install TORCH=torch==2.13.0`; or PyTorch's own index:
#   make install TORCH=torch==2.13.0+cu128 TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH ?= torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)" --index-url $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: install
	MUJOCO_GL=egl $(VENV)/bin/aligngym run quick --out reports/demo

# The leaderboard tests start their own PostgreSQL server and drive headless Chromium: Debian's packages,
# installed once when missing (as root, or through sudo); nothing downloads a browser.
test: install
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v chromium >/dev/null && \
	  command -v chromedriver >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q \
	  postgresql chromium chromium-driver; }
	MUJOCO_GL=egl $(PY) -m pytest -q

bench: install
	MUJOCO_GL=egl $(VENV)/bin/aligngym bench --out reports/bench

clean:
	rm -rf $(VENV) reports
