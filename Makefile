# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Debian packages the tests and the demo use: debootstrap builds the Asterisk root,
# chromium runs the browser tests, docker-compose checks docker-compose.yml, sip-tester
# (sipp) plays the trunk, the agents' phones and inbound callers of tests/sip.
APT_PACKAGES := debootstrap chromium docker-compose sip-tester
DEMO_PORT ?= 8080

.PHONY: setup system-deps python-deps asterisk lint types pytest test demo fixtures clean

setup: system-deps python-deps asterisk

system-deps:
	@missing=""; \
	command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing="$$missing debootstrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v sipp >/dev/null || missing="$$missing sip-tester"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: need root to apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

python-deps: $(VENV)/.installed

asterisk: python-deps
	$(PY) -m pbx_dialer.testing.asterisk ensure

lint: python-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: python-deps
	$(VENV)/bin/mypy

# Two workers (the machine's two cores), a test file per worker at a time: every test
# starts its own Asterisk, sipp and server on free ports, and most of the suite waits on
# real calls, so two files at once halve its time (~15 min instead of ~25).
PYTEST_WORKERS ?= 2
pytest: python-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test: setup lint types pytest

demo: setup
	$(PY) -m pbx_dialer demo --port $(DEMO_PORT)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts var

fixtures: setup
	$(PY) -m pbx_dialer.testing.record_fixtures tests/fixtures/ami
	$(PY) -m pbx_dialer.testing.record_sip_fixtures tests/fixtures/ami
