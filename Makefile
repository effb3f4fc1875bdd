# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
VENV_LOWER := .venv-lower
# The lowest versions we declare in pyproject.toml: `make test-lower` proves they work.
LOWER_PINS := prefect==3.8.8 pandas==2.1.0 numpy==1.26.0 scipy==1.16.0 requests==2.31.0 \
	prefect-slack==0.3.1 prefect-email==0.4.1 jinja2==3.1.6 rich==13.9.4 urllib3==2.0.7 pyyaml==6.0.1 \
	matplotlib==3.8.0

.PHONY: demo test lint test-lower test-postgres bench bench-hooks bench-dispatch bench-report bench-drift evidently-reference clean

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/prefect-alerts demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Two workers, each with its own Prefect test server; whole files per worker (module fixtures such as the
# demo's run happen once). `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: lint
	$(VENV)/bin/python -m pytest -q $(PYTEST_PARALLEL)

$(VENV_LOWER)/.installed: pyproject.toml
	test -x $(VENV_LOWER)/bin/python || $(PYTHON) -m venv $(VENV_LOWER)
	$(VENV_LOWER)/bin/python -m pip install --quiet --upgrade pip
	printf '%s\n' $(LOWER_PINS) > $(VENV_LOWER)/constraints.txt
	$(VENV_LOWER)/bin/python -m pip install --quiet -c $(VENV_LOWER)/constraints.txt -e ".[test]"
	touch $@

test-lower: $(VENV_LOWER)/.installed
	$(VENV_LOWER)/bin/python -m pip list --format=freeze | grep -iE '^($(shell echo $(LOWER_PINS) | sed -E 's/==[^ ]+//g; s/ /|/g'))=='
	$(VENV_LOWER)/bin/python -m pytest -q $(PYTEST_PARALLEL)

# The store and concurrency tests against a real PostgreSQL (.ci/postgres.sh starts and always stops it);
# tests marked sqlite_only opt out. Paths that do not exist (yet) are skipped.
POSTGRES_TESTS := tests/test_store.py tests/test_sweeper_store.py tests/dispatch tests/monitoring/test_sweeper.py \
	tests/monitoring/test_sla_monitor.py

POSTGRES_PATHS = $(wildcard $(POSTGRES_TESTS))

test-postgres: $(VENV)/.installed
	@test -n "$(POSTGRES_PATHS)" || { echo "none of POSTGRES_TESTS ($(POSTGRES_TESTS)) exists" >&2; exit 1; }
	.ci/postgres.sh $(VENV)/bin/python -m pytest -q -m "not sqlite_only" $(POSTGRES_PATHS)

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/delivery.py

bench-hooks: $(VENV)/.installed
	$(VENV)/bin/python bench/hook_overhead.py

bench-dispatch: $(VENV)/.installed
	$(VENV)/bin/python bench/dispatch_throughput.py

bench-report: $(VENV)/.installed
	$(VENV)/bin/python bench/daily_report.py

# Evidently only for the drift benchmark and the parity fixtures: its own venv (evidently 0.7.23 needs pandas < 3).
BENCH_EVIDENTLY := bench/.venv-evidently

$(BENCH_EVIDENTLY)/.installed: bench/requirements-evidently.txt
	test -x $(BENCH_EVIDENTLY)/bin/python || $(PYTHON) -m venv $(BENCH_EVIDENTLY)
	$(BENCH_EVIDENTLY)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_EVIDENTLY)/bin/python -m pip install --quiet -r bench/requirements-evidently.txt
	touch $@

bench-drift: $(VENV)/.installed $(BENCH_EVIDENTLY)/.installed
	$(VENV)/bin/python bench/drift.py

evidently-reference: $(BENCH_EVIDENTLY)/.installed
	$(BENCH_EVIDENTLY)/bin/python bench/evidently_reference.py

clean:
	rm -rf $(VENV) $(VENV_LOWER) $(BENCH_EVIDENTLY) .pytest_cache .ruff_cache
