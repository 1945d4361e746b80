PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Ctrl+C is a normal way to stop the bot: its 130 is no error of make's.
run: $(STAMP)
	$(BIN)/newsbot run || test $$? -eq 130

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy bot

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The kill, outage, hang and clock-jump stories again and again: a longer hunt for a
# duplicate or a loss.
SOAK_TESTS := tests/test_crash_recovery.py tests/test_outages.py tests/test_clock_jumps.py

soak: $(STAMP)
	for run in 1 2 3 4 5; do $(BIN)/pytest -q $(SOAK_TESTS) || exit 1; done

clean:
	rm -rf $(VENV)
