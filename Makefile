# The two commands of the archive: `make run` and `make test` (see README.md);
# `make serve` for production (docs/deployment.md).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

# The tests' tiers are pytest markers (pyproject.toml, set in tests/conftest.py):
# `make test` runs everything on the embedded defaults (SQLite, SQLite queue);
# `make test-fast` leaves out the slow, browser and e2e tiers (under a minute);
# `make test-pg` runs again only what touches the database (`-m postgres`), on
# PostgreSQL and Redis (.ci/services starts local ones on Debian): the rest does
# not depend on the database and has run once already. The URL's database is only
# used to create test databases.
TEST_DATABASE_URL ?= postgresql+psycopg://archive_test:archive_test@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# The interface's languages (docs/development.md): the .po catalogues are the
# source, kept in git; the .mo files the app reads are built from them here, by
# every target that runs the app, whenever a .po is newer than its .mo.
TRANSLATIONS := archive/translations
CATALOGUES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
BABEL_KEYWORDS := -k lazy_gettext -k _l -k Nn_:1,2

.PHONY: run serve test test-fast test-pg lint venv translations messages

venv: $(STAMP) $(COMPILED)

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel -q compile --statistics -l $* -i $< -o $@

translations: $(COMPILED)

# After changing user-visible text: re-extract every marked string into
# messages.pot and merge it into each language's .po (new strings arrive empty,
# changed ones fuzzy); translate those, then `make translations`.
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --sort-by-file \
		--project "Testimony Archive" --no-wrap -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap

run: $(STAMP) $(COMPILED)
	mkdir -p recordings transcripts
	$(FLASK) db upgrade
	$(FLASK) users ensure-admin
	@# One transcription worker beside the web server; both stop together.
	$(FLASK) worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production: migrate, then gunicorn (gunicorn.conf.py; ARCHIVE_BIND, default
# 127.0.0.1:8000). Transcription workers run as their own processes:
# `.venv/bin/flask --app wsgi worker`, as many as the machines have room for.
serve: $(STAMP) $(COMPILED)
	mkdir -p recordings transcripts
	$(FLASK) db upgrade
	exec $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(STAMP) $(COMPILED)
	env -u ARCHIVE_TEST_DATABASE_URL -u ARCHIVE_TEST_REDIS_URL $(BIN)/python -m pytest

test-fast: $(STAMP) $(COMPILED)
	env -u ARCHIVE_TEST_DATABASE_URL -u ARCHIVE_TEST_REDIS_URL $(BIN)/python -m pytest -q \
		-m "not slow and not browser and not e2e"

test-pg: $(STAMP) $(COMPILED)
	ARCHIVE_TEST_DATABASE_URL='$(TEST_DATABASE_URL)' ARCHIVE_TEST_REDIS_URL='$(TEST_REDIS_URL)' \
		$(BIN)/python -m pytest -m postgres

# Style, formatting, and who may import whom (the contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check archive tests bench
	$(BIN)/ruff format --check archive tests bench
	$(BIN)/lint-imports
