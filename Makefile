# The project's entry points. Everything installs into .venv at the repository root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install compose-cli test demo broker bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
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

## make test: the whole suite (unit + integration against the embedded broker)
test: $(STAMP) compose-cli
	$(PY) -m pytest -q -p no:cacheprovider

## make demo: the pipeline on the embedded defaults (broker, worker, sink, chDB) with realistic
## SDK traffic; prints the insights and leaves the data for `phospho-stream query`
demo: $(STAMP)
	$(VENV)/bin/phospho-stream up --demo

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
