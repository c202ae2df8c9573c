# The project's entry points. Everything installs into .venv at the repository root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install compose-cli browser test demo dashboard broker bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# setuptools says at every editable install of a multi-folder layout that a folder named like a
	@# package may shadow it: none does here (each package lives one level down), so that notice is quiet
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make compose-cli: docker-compose (Debian's 1.29), which tests/test_docker_compose.py runs
compose-cli:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose; \
	  else \
	    echo "make: docker-compose is missing and only root can install it here: run 'sudo apt-get install docker-compose' (or 'sudo make compose-cli') and retry" >&2; \
	    exit 1; \
	  fi; }

## make browser: Debian's chromium and chromium-driver, which the dashboard's browser tests drive
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	  else \
	    echo "make: chromium/chromedriver are missing and only root can install them here: run 'sudo apt-get install chromium chromium-driver' (or 'sudo make browser') and retry" >&2; \
	    exit 1; \
	  fi; }

## make test: the whole suite (unit + integration against the embedded broker, browser tests of the dashboard)
test: $(STAMP) compose-cli browser
	$(PY) -m pytest -q -p no:cacheprovider

## make demo: the pipeline on the embedded defaults (broker, worker, sink, chDB) with realistic
## SDK traffic; prints the insights and leaves the data for `phospho-stream query`
demo: $(STAMP)
	$(VENV)/bin/phospho-stream up --demo

## make dashboard: the dashboard on the store `make demo` filled (its URL is printed)
dashboard: $(STAMP)
	$(VENV)/bin/phospho-stream dashboard

## make broker: the embedded Kafka-protocol broker, until Ctrl-C
broker: $(STAMP)
	$(VENV)/bin/phospho-stream broker

## make bench: benchmarks/sdk_overhead.py (rewrites BENCHMARKS.md)
bench: $(STAMP)
	$(PY) benchmarks/sdk_overhead.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .bench build *.egg-info
