# `make run` opens the app; `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
# Users get a plain range; CI pins the local CPU wheel (see .ci/run).
TORCH_SPEC ?= torch>=2.10
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test venv data bench clean wheel check-wheel package

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,video]"
	touch $(STAMP)

venv: $(STAMP)

# Fashion-MNIST and the emoji set's font and list from Debian, where apt-get may run (best effort: see the script).
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
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/gui_responsiveness.py

# The wheel (shipped models inside), then the same wheel in a fresh venv, run from another folder.
wheel: $(STAMP)
	$(PY) -m pip wheel . --no-deps --no-build-isolation -q -w dist
	@ls -l dist/ganstudio-*.whl

check-wheel:
	sh scripts/check_wheel.sh

# A PyInstaller one-folder app in dist/ganstudio/ (spec and how-to in packaging/), then its selftest.
# PyInstaller comes from PyPI here, not from the dev extra: only packagers need it.
PYINSTALLER_SPEC ?= pyinstaller>=6.10
package: $(STAMP)
	$(PY) -m pip install -q "$(PYINSTALLER_SPEC)"
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
	  packaging/ganstudio.spec
	QT_QPA_PLATFORM=offscreen dist/ganstudio/ganstudio --selftest
	@du -sh dist/ganstudio

clean:
	rm -rf $(VENV) build dist *.egg-info
