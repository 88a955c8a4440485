# The README's two commands: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PIP     := $(VENV)/bin/pip
FLASK   := $(VENV)/bin/flask --app wsgi
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the tests drive for real: a headless browser, CJK fonts, a QR decoder and
# an SVG rasterizer (zbarimg reads PNG, not SVG).
DEBIAN_TEST_PACKAGES := chromium fonts-noto-cjk zbar-tools librsvg2-bin

.PHONY: run test lint format worker audit debian-test-packages clean

$(VENV)/.runtime: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

debian-test-packages:
	@missing=""; for p in $(DEBIAN_TEST_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.dev debian-test-packages lint
	$(VENV)/bin/pytest

# Needs network access to a vulnerability database; not part of `make test` (offline it would
# report "no known vulnerabilities", a check that cannot fail).
audit: $(VENV)/.dev
	$(VENV)/bin/pip install -q --disable-pip-version-check pip-audit
	$(VENV)/bin/pip-audit --strict -r requirements.txt

worker: $(VENV)/.runtime
	$(VENV)/bin/celery -A app.celery_app worker --loglevel=INFO

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
