# The two commands a newcomer needs:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# PyTorch first: a bare `torch` requirement would pull a multi-GB CUDA build. Where the default
# index gives the CUDA build, pass e.g. TORCH_PIP="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu".
TORCH_PIP ?= torch==2.13.0

.PHONY: setup demo test test-slow bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIP)
	$(PY) -m pip install -q -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	rm -rf demo-output
	$(VENV)/bin/nanoaq demo --out demo-output

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m pytest -q tests -m 'not slow' --benchmark-enable --benchmark-only

clean:
	rm -rf $(VENV) demo-output
