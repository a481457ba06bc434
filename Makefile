# The quick start: `make serve` and `make test`, each on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint bench clean

$(BIN)/mkoba: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/mkoba
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

serve: $(BIN)/mkoba
	$(BIN)/mkoba serve

test: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 3 --dist loadfile

bench: $(BIN)/mkoba
	$(BIN)/mkoba bench ledger

clean:
	rm -rf $(VENV) var
