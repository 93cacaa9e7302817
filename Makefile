# Revaer: `make run` starts the server, `make test` runs the whole suite.
# Both share `make dev`, which is idempotent on a fresh Debian 12 machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD_DIR := build/editable
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)


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

# Options for the server: make run ARGS="--bind 127.0.0.1:9000 --data-dir /srv/revaer".
ARGS ?=
run: dev
	$(PY) -m revaer serve $(ARGS)

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
	$(PY) -m pytest -q -p no:cacheprovider -m "not faults_slow and not browser" --durations=25

# The status page and Flood (a qBittorrent web UI, npm, into build/flood) in a real browser: Debian's
# chromium (apt) driven by playwright-core (npm, into build/browser; it downloads no browser of its
# own). All installed only when missing.
BROWSER_MODULES := build/browser/node_modules
FLOOD_MODULES := build/flood/node_modules
browser: dev
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@[ -d $(BROWSER_MODULES)/playwright-core ] || \
	  (mkdir -p build/browser && npm install --no-audit --no-fund --prefix build/browser playwright-core)
	@[ -f $(FLOOD_MODULES)/flood/dist/index.js ] || \
	  (mkdir -p build/flood && npm install --no-audit --no-fund --prefix build/flood flood@4.16.2)
	$(PY) -m pytest -q -p no:cacheprovider -m browser tests/browser

# The fault suite, long tests included (real signals, a stopped PostgreSQL, a full tmpfs).
faults: dev
	$(PY) -m pytest -q -p no:cacheprovider tests/faults

test: lint typecheck stubtest docs pytest

# The fuzz suite's long run (tests/fuzz; `make test` runs it with a few examples per property):
# schemathesis over /v1/openapi.json, hypothesis over /api/v2's forms and the upload parsers.
FUZZ_EXAMPLES ?= 1000
fuzz: dev
	REVAER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz

# The qbittorrent-api library's own test suite (its PyPI sdist, run offline) against a fresh Revaer and a
# fresh qbittorrent-nox; prints and writes build/compat/differential.txt (~15 min; not part of `test`).
# COMPAT_ARGS="--cached tests/test_torrents.py" runs a subset against Revaer only.
compat: dev
	$(PY) -m tests.compat $(COMPAT_ARGS)

# Hot paths in isolation (pytest-benchmark), then Revaer beside qbittorrent-nox at 1,000 and 10,000
# torrents, Revaer alone at 100,000, and the load test (benchmarks/load.py, 30 s), written to
# docs/performance.md; then Revaer alone at 10,000 (add, memory, stop, restart:
# docs/performance-scale.md; its 100,000 tier is `python -m benchmarks.bench_scale 100000`).
bench: dev
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }
	$(PY) -m pytest benchmarks -q -p no:cacheprovider --benchmark-columns=min,median,max -s
	$(PY) -m benchmarks.compare_qbittorrent
	$(PY) -m benchmarks.bench_scale 10000 --markdown

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

# ---- shipping: wheel, image, docs ------------------------------------------------------------
# Tools of their own venvs, from the pyproject extras `dist` and `docs` (one list of versions).
EXTRA_REQS = $(PYTHON) -c 'import sys, tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"][sys.argv[1]]))'
DIST_VENV := build/dist-venv
DIST_PY := $(DIST_VENV)/bin/python
# Containers: podman (or docker where it is what is installed). CONTAINERS_CONF and runc are for
# hosts that refuse podman's default ulimits and crun's cgroup handling; harmless elsewhere.
ifndef CONTAINER
CONTAINER := $(if $(shell command -v podman 2>/dev/null),podman,docker)
endif
ifeq ($(CONTAINER),podman)
export CONTAINERS_CONF ?= $(CURDIR)/tools/container/containers.conf
CONTAINER_FLAGS ?= --runtime runc
endif
# The Debian 12 base every image starts from: the public image by default. Where no registry can be
# reached, `make base-image` makes localhost/debian:bookworm-slim from Debian's packages (debootstrap),
# and the image targets take it when it exists (unless BASE is given). Looked up by the recipes only.
LOCAL_BASE := localhost/debian:bookworm-slim
IMAGE ?= localhost/revaer:latest
BASE_SH = $${BASE:-$$($(CONTAINER) image inspect $(LOCAL_BASE) >/dev/null 2>&1 && echo $(LOCAL_BASE) || echo debian:bookworm-slim)}
CONTAINER_ENV = CONTAINER=$(CONTAINER) CONTAINER_FLAGS="$(CONTAINER_FLAGS)" IMAGE=$(IMAGE) BASE="$(BASE_SH)"

.PHONY: dist dist-test base-image image image-test docs docs-serve

$(DIST_PY):
	$(PYTHON) -m venv $(DIST_VENV)
	$(EXTRA_REQS) dist | xargs $(DIST_PY) -m pip install -q

# The sdist, then a wheel built from it (proving the sdist complete), repaired by auditwheel so that
# libtorrent-rasterbar, Boost and OpenSSL travel inside it; then its dependencies beside it in
# dist/wheelhouse, so a machine without a route to the package index can install it.
dist: system $(DIST_PY)
	rm -rf dist build/dist-raw
	$(DIST_PY) -m build -o build/dist-raw .
	mkdir -p dist && cp build/dist-raw/*.tar.gz dist/
	PATH="$(CURDIR)/$(DIST_VENV)/bin:$$PATH" $(DIST_PY) -m auditwheel repair -w dist build/dist-raw/*.whl
	$(DIST_PY) -m auditwheel show dist/*.whl
	$(DIST_PY) -m pip download -q -d dist/wheelhouse dist/*.whl

$(VENV)/.docs-installed: pyproject.toml | $(VENV)/bin/python
	$(EXTRA_REQS) docs | xargs $(PIP) install -q
	touch $@

# The docs site in build/site: the configuration reference is generated from the config model and the
# /v1 reference from the OpenAPI document first; --strict fails on a broken link or anchor (not with
# --quiet, which hides the warnings strict mode counts).
docs: install $(VENV)/.docs-installed
	$(PY) tools/gen_docs.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d build/site

# The site served with live reload on 127.0.0.1:8000 while writing (generated pages as of the start).
docs-serve: install $(VENV)/.docs-installed
	$(PY) tools/gen_docs.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

# A Debian 12 base image from Debian's own packages, for hosts that cannot pull the public one.
base-image:
	command -v debootstrap >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq debootstrap; }
	CONTAINER=$(CONTAINER) tools/container/base-image.sh $(LOCAL_BASE)

# The image (Dockerfile); a CA added on this host (a TLS-intercepting proxy) goes to the build stage only.
# --format docker keeps the HEALTHCHECK (OCI images have none).
image:
	$(CONTAINER) $(CONTAINER_FLAGS) build $(if $(filter podman,$(CONTAINER)),--format docker) --network=host \
	  --build-arg BASE="$(BASE_SH)" --build-arg EXTRA_CA="$$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null)" \
	  -t $(IMAGE) .
	$(CONTAINER) image inspect $(IMAGE) --format '$(IMAGE): {{.Size}} bytes'

# The slow proofs, outside `make test`: the repaired wheel on a bare Debian 12 (embedded PostgreSQL,
# a download from a seeder on the host), and the image against this machine's PostgreSQL.
CONTAINER_TESTS = $(CONTAINER_ENV) REVAER_CONTAINER_TESTS=1 $(PY) -m pytest -q -p no:cacheprovider -s
dist-test: dist install
	$(CONTAINER_TESTS) tests/containers/test_wheel.py

# The machine's PostgreSQL (the container reaches it on the host's network); a database of its own.
image-test: image install
	DATABASE_URL="$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" \
	  $(CONTAINER_TESTS) tests/containers/test_image.py
