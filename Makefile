# Two commands on a fresh machine: `make demo` and `make test`.
# Both install everything (all extras + dev tools) from the hash-checked lock
# requirements/all.txt; requirements/core.txt is the lean install without torch.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
BOT := $(VENV)/bin/bot
# The locks list every transitive dependency with its hashes, so they are installed with
# --no-deps: that is also what keeps taming-transformers' pytorch-lightning and omegaconf
# (declared by it, never imported by us) out. The project itself goes in last, --no-deps.
LOCK_ALL := requirements/all.txt
LOCK_CORE := requirements/core.txt
# `make lock` needs uv (in the dev extra; or on PATH).
UV ?= $(if $(wildcard $(VENV)/bin/uv),$(VENV)/bin/uv,uv)
# Extra flags for `make lock`, e.g. LOCK_FLAGS=--upgrade (otherwise existing pins are kept).
LOCK_FLAGS ?=
UV_COMPILE := $(UV) pip compile pyproject.toml requirements/build.in --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--override requirements/overrides.txt --custom-compile-command "make lock" $(LOCK_FLAGS)

.PHONY: demo test test-install venv core-venv test-deps lint bench lock clean

$(VENV)/.installed: pyproject.toml $(LOCK_ALL)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --no-deps --require-hashes -r $(LOCK_ALL)
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

# The lean install (no torch, no browser) in .venv-core, for machines that only curate, pin
# and publish.
core-venv:
	$(PYTHON) -m venv .venv-core
	.venv-core/bin/python -m pip install -q --disable-pip-version-check --no-deps \
		--require-hashes -r $(LOCK_CORE)
	.venv-core/bin/python -m pip install -q --disable-pip-version-check --no-deps \
		--no-build-isolation -e .

demo: venv
	$(PY) -m bot.demo

# System packages and npm tools the integration tests use (ipfs-cid, chromium, js-ipfs).
test-deps: venv
	bash scripts/install_test_deps.sh

# The suite, then the core install in a fresh virtualenv without torch (tests/test_install.py,
# marker `install`, deselected from the default run because it builds a venv).
test: test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot generator marketplace scraper storage
	$(PY) -m pytest -q
	$(MAKE) test-install

test-install: venv
	$(PY) -m pytest -q -m install

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot generator marketplace scraper storage
	$(VENV)/bin/ruff format --check .

bench: venv
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

# Regenerate both locks from pyproject.toml (after adding or changing a dependency there).
lock:
	$(UV_COMPILE) -o $(LOCK_CORE)
	$(UV_COMPILE) --all-extras -o $(LOCK_ALL)

clean:
	rm -rf $(VENV) .venv-core data/demo .pytest_cache
