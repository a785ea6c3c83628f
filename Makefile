# Two commands: `make run` (the app on the bundled sample data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py

test: $(STAMP)
	$(PY) -m pytest -n auto --dist worksteal

bench: $(STAMP)
	$(PY) bench/bench_fit.py
	$(PY) bench/bench_bootstrap.py
	$(PY) bench/bench_curves.py
	$(PY) bench/bench_families.py
	$(PY) bench/bench_scaling.py
	$(PY) bench/bench_app.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
