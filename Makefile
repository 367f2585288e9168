# kamdash: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DB ?= $(or $(KAMDASH_DB),data/kamdash.duckdb)
PORT ?= 8501

.PHONY: run test demo chromium engines bench clean help

help:
	@echo "make run    install into $(VENV), build the demo database if missing, start the dashboard"
	@echo "make test   install test dependencies and run every test (browser tests included)"
	@echo "make demo   rebuild the demo database ($(DB))"
	@echo "make bench  benchmarks at 1M, 10M and 50M order lines (see bench/README.md)"

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "kamdash needs Python 3.11+, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(DB): | $(VENV)/.installed
	@echo "No sales database at $(DB): building the demo database ..."
	$(PY) -m kamdash demo --out $(DB)

# Single-user mode unless .streamlit/secrets.toml has an [auth] section: kamdash.ui.serve then
# listens on 127.0.0.1 only (README: Deploying for a team).
run: $(VENV)/.installed $(DB) chromium
	KAMDASH_DB=$(DB) $(PY) -m kamdash.ui.serve --server.port $(PORT)

demo: $(VENV)/.installed
	$(PY) -m kamdash demo --out $(DB)

# Chart exports (PNG/SVG/PPTX/PDF, kaleido) and browser tests drive Debian's Chromium (neither can
# download a browser here) and need a CJK font so Chinese shows characters, not boxes; the tests
# also render PDFs with poppler-utils (pdftoppm, pdffonts).
chromium:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && command -v pdftoppm >/dev/null; then \
		echo "Chromium, CJK fonts and poppler-utils present."; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Chromium, CJK fonts and poppler-utils (apt-get) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; \
	else \
		echo "Chart exports and browser tests need Chromium at /usr/bin/chromium (and fonts-noto-cjk;"; \
		echo "the tests also use poppler-utils):"; \
		echo "  sudo apt-get install chromium fonts-noto-cjk poppler-utils"; \
		echo "or point KAMDASH_CHROMIUM at another Chromium binary."; \
	fi

# The company-source tests start a real PostgreSQL (Debian's postgresql: initdb in a temporary
# folder) and Spark in local mode, which needs Java (openjdk-17-jre-headless).
engines:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v java >/dev/null; then \
		echo "PostgreSQL and Java present."; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing PostgreSQL and Java (apt-get) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql openjdk-17-jre-headless >/dev/null; \
	else \
		echo "The company-source tests need PostgreSQL and Java (they are skipped without them):"; \
		echo "  sudo apt-get install postgresql openjdk-17-jre-headless"; \
	fi

test: $(VENV)/.installed-dev chromium engines
	$(PY) -m pytest -n 2 --dist loadgroup --durations=30

bench: $(VENV)/.installed-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache tests/e2e/artifacts
