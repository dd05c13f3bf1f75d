# The README's two commands: `make run` and `make test`. Everything else they need is here.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench messages compilemessages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/civicgrid migrate --no-input
	$(BIN)/civicgrid demo
	$(BIN)/civicgrid collectstatic --no-input --verbosity 0
	@# The task worker (imports, recomputations) and the scheduler (which enqueues the daily jobs for
	@# that worker) run beside the web server and stop with it.
	$(BIN)/civicgrid db_worker --no-reload --interval 1 & worker=$$!; \
	  $(BIN)/civicgrid scheduler & scheduler=$$!; \
	  trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/civicgrid runserver $(HOST):$(PORT) --noreload

test: install
	$(BIN)/ruff check src bench
	$(BIN)/mypy src
	@# One worker per core (pytest-xdist; each worker has its own test database).
	$(BIN)/python -m pytest -q -rsx -n auto

lint: install
	@# The code is wrapped by hand at 110 columns (pyproject's line-length), not by `ruff format`.
	$(BIN)/ruff check src bench
	$(BIN)/mypy src

bench: install
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run.py

# English UI catalog: `make messages` extracts new strings into src/civicgrid/locale/en/LC_MESSAGES/django.po;
# translate every empty (or '#, fuzzy') entry there, then `make compilemessages` and commit django.po and django.mo.
messages: install
	cd src/civicgrid && CIVICGRID_DATA_DIR=$(CURDIR)/var PYTHONPATH=$(CURDIR)/src $(CURDIR)/$(BIN)/django-admin \
	  makemessages -l en --settings=civicgrid.config.settings.dev --ignore='*/tests/*' --ignore='testing/*' --no-obsolete

compilemessages: install
	cd src/civicgrid && CIVICGRID_DATA_DIR=$(CURDIR)/var PYTHONPATH=$(CURDIR)/src $(CURDIR)/$(BIN)/django-admin \
	  compilemessages --settings=civicgrid.config.settings.dev

clean:
	rm -rf $(VENV) var
