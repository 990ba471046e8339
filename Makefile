# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

# Debian packages, installed as root or through sudo: $(call apt_install,package ...)
apt_install = { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); fi; }

.PHONY: run test test-db test-redis install install-dev mariadb-driver browser redis lint db demo recs

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## mysqlclient, the C driver for MariaDB (mysql+mysqldb://), with the Debian packages it builds against.
$(VENV)/.installed-mariadb: $(VENV)/.installed requirements-mariadb.txt
	@pkg-config --exists libmariadb || $(call apt_install,libmariadb-dev pkg-config gcc)
	$(PY) -m pip install --quiet -r requirements-mariadb.txt
	touch $@

install: $(VENV)/.installed

mariadb-driver: $(VENV)/.installed-mariadb

install-dev: $(VENV)/.installed-dev

db: install
	$(FLASK) db upgrade

demo: db
	$(FLASK) seed-demo

## Train the recommender once (a few minutes on the demo); later runs keep the existing model.
recs: demo
	$(FLASK) train-recs --if-no-model

## Run the product: virtual environment, database, demo library, recommendations, web server.
run: recs
	@echo "Serving Athenaeum on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(VENV)/bin/gunicorn --workers 2 --threads 4 --bind $(HOST):$(PORT) wsgi:app

## Debian's Chromium for the browser tests (playwright cannot download browsers here).
browser:
	@test -x /usr/bin/chromium || $(call apt_install,chromium)

## Debian's redis-server: the tests start their own on a free port to check the Redis backend.
redis:
	@command -v redis-server >/dev/null || $(call apt_install,redis-server)

## Run the whole test suite (SQLite; TEST_DATABASE_URL=mysql+mysqldb://... for MariaDB/MySQL), one
## pytest-xdist worker per core, each with its own SQLite file and Redis; a test file stays on one worker.
TEST_WORKERS ?= auto
test: install-dev browser redis
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## The tests that touch the database, against TEST_DATABASE_URL.
test-db: install-dev mariadb-driver redis
	@test -n "$(TEST_DATABASE_URL)" || { echo "Set TEST_DATABASE_URL=mysql+mysqldb://..."; exit 2; }
	$(PY) -m pytest -m "db and not browser" $(PYTEST_ARGS)

## The web and security tests again with every app on one shared Redis (page cache, login limits).
test-redis: install-dev redis
	@test -n "$(TEST_REDIS_URL)" || { echo "Set TEST_REDIS_URL=redis://host:port/db (a database the tests may empty)"; exit 2; }
	TEST_REDIS_URL="$(TEST_REDIS_URL)" $(PY) -m pytest -m "not browser" tests/web tests/security $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
