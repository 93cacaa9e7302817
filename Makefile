# Revaer: `make run` starts the server, `make test` runs the whole suite.
# Both share `make dev`, which is idempotent on a fresh Debian 12 machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD_DIR := build/editable
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev system venv install run test lint typecheck stubtest pytest faults bench clean generate asan compat

dev: system install

# System packages: libtorrent (the engine links it) and qbittorrent-nox (a foreign peer for the tests
# and the side-by-side benchmarks). Installed only when missing.
system:
	@missing=""; \
	pkg-config --exists 'libtorrent-rasterbar >= 2.0' 2>/dev/null || missing="$$missing libtorrent-rasterbar-dev pkg-config"; \
	command -v qbittorrent-nox >/dev/null || missing="$$missing qbittorrent-nox"; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v ninja >/dev/null || missing="$$missing ninja-build"; \
	command -v g++ >/dev/null || missing="$$missing g++"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Build requirements live in the venv so the editable install can rebuild the extension on import
# (no build isolation, fixed build dir) whenever a .pyx/.pxd/C++ file changes.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml CMakeLists.txt
	$(PIP) install -q "scikit-build-core>=0.10" "cython>=3.0"
	$(PIP) install -q --no-build-isolation \
	  -Ceditable.rebuild=true -Cbuild-dir=$(BUILD_DIR) -Ceditable.verbose=false \
	  -Ccmake.define.REVAER_WERROR=ON \
	  -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: dev
	$(PY) -m revaer serve

# The status row is defined once, in tools/row_fields.py; this writes every spelling of it.
generate:
	$(PYTHON) tools/generate_row.py

lint: dev
	$(PY) tools/generate_row.py --check
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

typecheck: dev
	$(VENV)/bin/mypy

stubtest: dev
	$(PY) -m mypy.stubtest revaer._engine --allowlist .stubtest-allowlist

pytest: dev
	$(PY) -m pytest -q -p no:cacheprovider -m "not faults_slow"

# The fault suite, long tests included (real signals, a stopped PostgreSQL, a full tmpfs).
faults: dev
	$(PY) -m pytest -q -p no:cacheprovider tests/faults

test: lint typecheck stubtest pytest

# The qbittorrent-api library's own test suite (its PyPI sdist, run offline) against a fresh Revaer and a
# fresh qbittorrent-nox; prints and writes build/compat/differential.txt (~15 min; not part of `test`).
# COMPAT_ARGS="--cached tests/test_torrents.py" runs a subset against Revaer only.
compat: dev
	$(PY) -m tests.compat $(COMPAT_ARGS)

# Hot paths in isolation (pytest-benchmark), then Revaer beside qbittorrent-nox at 1,000 and 10,000
# torrents; the side-by-side table is written to docs/performance.md.
bench: dev
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }
	$(PY) -m pytest benchmarks -q -p no:cacheprovider --benchmark-columns=min,median,max -s
	$(PY) -m benchmarks.compare_qbittorrent

# Opt-in (not part of `make test`): the engine built with AddressSanitizer and UBSan into a venv
# of its own, then the engine and contract tests under it. CPython itself is not built with ASan,
# so libasan is preloaded, and leak detection is off (CPython keeps objects alive at exit).
ASAN_VENV := build/asan-venv
ASAN_PY := $(ASAN_VENV)/bin/python
asan: system
	test -x $(ASAN_PY) || $(PYTHON) -m venv $(ASAN_VENV)
	$(ASAN_PY) -m pip install -q "scikit-build-core>=0.10" "cython>=3.0"
	$(ASAN_PY) -m pip install -q --no-build-isolation -Cbuild-dir=build/asan \
	  -Ccmake.define.REVAER_SANITIZE=address,undefined -Ccmake.build-type=RelWithDebInfo ".[dev]"
	cd build && LD_PRELOAD="$$(g++ -print-file-name=libasan.so) $$(g++ -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  DATABASE_URL="$${DATABASE_URL:-}" ../$(ASAN_PY) -m pytest -q -p no:cacheprovider \
	  --rootdir=.. -c ../pyproject.toml ../tests/engine ../tests/contract

clean:
	rm -rf build $(VENV)
