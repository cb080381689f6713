# `make run` opens the app; `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
# Users get a plain range; CI pins the local CPU wheel (see .ci/run).
TORCH_SPEC ?= torch>=2.10
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test venv data bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,video]"
	touch $(STAMP)

venv: $(STAMP)

# Fashion-MNIST from Debian, where apt-get may run (best effort: see the script).
data:
	@sh scripts/install_system_data.sh

run: $(STAMP) data
	$(PY) -m ganstudio.gui.preflight --install
	$(VENV)/bin/ganstudio

test: $(STAMP) data
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/render_latency.py

clean:
	rm -rf $(VENV) build *.egg-info
