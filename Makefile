# flowledger: two commands on a machine that has only python3 and make.
#   make demo   set everything up, generate + ingest + build the demo, serve http://127.0.0.1:8501
#               (NO_SERVE=1 make demo stops after the build)
#   make test   set everything up (packages, chromium for the browser tests) and run the whole suite
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
# Byte-compile the environment at install: without .pyc files (uv's default, and none are ever
# written where PYTHONDONTWRITEBYTECODE is set) every dbt start compiles dbt again, ~2 s each.
export UV_COMPILE_BYTECODE := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: demo test bootstrap test-env browser spark-runtime lint clean
PORT ?= 8501
demo: bootstrap
	$(VENV)/bin/flowledger demo --port $(PORT) $(if $(filter-out 0,$(NO_SERVE)),--no-serve,)

# One pytest worker per core (TEST_WORKERS=0: one process); tests/conftest.py groups the tests
# that share a built fixture onto one worker and orders the groups longest first.
TEST_WORKERS ?= auto
test: test-env browser spark-runtime
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# The demo needs only the runtime packages; the tests add the dev and spark groups (pytest,
# playwright, pm4py, OpenTelemetry SDK, dbt-ol, pyspark, dbt-spark). --inexact keeps what the
# other target installed, so running one after the other never uninstalls anything.
bootstrap: $(VENV)/.bootstrapped

test-env: $(VENV)/.test-env

$(UV):
	@echo "== setting up: uv $(UV_VERSION) in $(TOOLS)/"
	$(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.bootstrapped: pyproject.toml uv.lock | $(UV)
	@echo "== installing the locked runtime packages into $(VENV)/"
	$(UV) sync --frozen --inexact --no-default-groups --python $(PYTHON)
	@touch $@

$(VENV)/.test-env: pyproject.toml uv.lock | $(UV)
	@echo "== installing the locked runtime and test packages into $(VENV)/"
	$(UV) sync --frozen --inexact --all-groups --python $(PYTHON)
	@touch $@ $(VENV)/.bootstrapped

browser:
	@bash scripts/install-browser.sh

# Java 17 for pyspark (tests/scale); pyspark + dbt-spark come with the `spark` dependency group.
spark-runtime:
	@bash scripts/install-spark.sh

lint: test-env
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) $(TOOLS) .flowledger target logs
