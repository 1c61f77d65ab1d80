# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
BOT := $(VENV)/bin/bot
# taming-transformers' metadata pulls pytorch-lightning; we only use its torch modules.
TAMING := taming-transformers-rom1504==0.0.6

.PHONY: demo test venv dev-venv test-deps lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps $(TAMING)
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) install -q -e '.[dev,ray]'
	touch $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.dev-installed

demo: venv
	$(PY) -m bot.demo

# System packages and npm tools the integration tests use (ipfs-cid, chromium, js-ipfs).
test-deps: dev-venv
	bash scripts/install_test_deps.sh

test: test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot generator marketplace scraper storage
	$(PY) -m pytest -q

lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot generator marketplace scraper storage
	$(VENV)/bin/ruff format --check .

bench: dev-venv
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) data/demo .pytest_cache
