# Guanxi: `make run` serves the app, `make test` runs the whole suite. Both install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CSS := static/build/app.css
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: install run test lint format bench clean

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c 'import os, site; root = os.getcwd(); open(os.path.join(site.getsitepackages()[0], "guanxi-paths.pth"), "w").write(root + "\n" + os.path.join(root, "platform") + "\n")'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --no-save --loglevel=error
	touch $@

$(CSS): $(NODE_STAMP) static/src/app.css $(shell find templates tenants core_crm plugins -name '*.html' 2>/dev/null)
	npm run --silent build

.env:
	printf '# Development settings for this checkout (git-ignored). Deployments set real ones.\nDEBUG=1\n' > $@

install: $(PY_STAMP) $(CSS) .env

run: install
	$(PY) -m guanxi.cli run

test: install
	$(PY) -m guanxi.cli test $(PYTEST_ARGS)

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(PY_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m guanxi.cli bench

clean:
	rm -rf $(VENV) node_modules static/build .run
