# The README quick start: `make build` then `make test`. Each target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test check clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

SAMPLE := examples/sample-school
AS_OF ?= 2026-02-13

# The main job: check the bundled policy, regenerate generated/, then screen the bundled
# sample school (synthetic pupils) as of AS_OF and print the action list.
build: $(STAMP)
	$(BIN)/cme-policy check policy
	$(BIN)/cme-policy build policy
	$(BIN)/cme-policy run policy --pupils $(SAMPLE)/pupils.csv --marks $(SAMPLE)/marks.csv \
		--events $(SAMPLE)/events.csv --calendar $(SAMPLE)/calendar.yaml --as-of $(AS_OF)

check: $(STAMP)
	$(BIN)/cme-policy check policy

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
