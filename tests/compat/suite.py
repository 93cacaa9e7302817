"""The qbittorrent-api library's own test suite, fetched from PyPI and made to run offline.

``prepare()`` downloads the sdist with pip (once; it is kept in the work dir), unpacks a fresh copy
into a directory named ``qbittorrent-api`` (the suite's conftest insists on that name) and rewrites
what would reach the internet or assume a fixed machine:

- the three test .torrent URLs, the RSS feed and the search plugin point at a static server on
  127.0.0.1 (``StaticServer``) that serves the suite's own .torrent files, a local feed and a stub
  plugin;
- ``/tmp/_resources`` (where the upstream CI mounts the resources) becomes the copy's
  ``tests/_resources``, and ``localhost:8080`` the port of the server under test.

``run()`` runs it against one server with a junit report and returns each test's outcome.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

VERSION = "2026.10.1"
SDIST = f"qbittorrent_api-{VERSION}.tar.gz"
STATIC = Path(__file__).resolve().parent / "static"
UPSTREAM_TORRENTS = "https://github.com/rmartin16/qbittorrent-api/raw/main/tests/_resources/"
UPSTREAM_FEED = (
    '"https://gist.githubusercontent.com/rmartin16/"\n'
    '    "d615e1066f54186b44e8018d31af18f1/raw/b59cdc878fedfaf08efe6fc4321d18e8ded01e09/rss.xml"'
)
UPSTREAM_PLUGIN = (
    "https://raw.githubusercontent.com/BurningMop/qBittorrent-Search-Plugins/refs/heads/main/therarbg.py"
)
# Outcomes as the junit report gives them.
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


class StaticServer:
    """A threaded HTTP server on 127.0.0.1 serving one directory (the suite's downloads)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="compat-static", daemon=True)

    def __enter__(self) -> StaticServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def download(work: Path) -> Path:
    """The sdist in ``work`` (pip downloads it the first time)."""
    target = work / SDIST
    if not target.exists():
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                f"qbittorrent-api=={VERSION}",
                "-d",
                str(work),
            ],
            check=True,
        )
    return target


def suite_python(work: Path) -> Path:
    """A venv of its own for the suite (the project's pytest plugins would change its behaviour)."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "pytest", "requests", "urllib3", "packaging"],
            check=True,
        )
        marker.touch()
    return python


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"{path.name}: {old!r} not found; the adaptation no longer fits this sdist")
    path.write_text(text.replace(old, new))


def prepare(work: Path, static: StaticServer) -> Path:
    """A fresh offline copy of the suite under ``work``; returns its root. The static server's
    directory (``work/static``) is filled with what the suite downloads."""
    sdist = download(work)
    unpacked = work / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, filter="data")
    root = work / "qbittorrent-api"
    shutil.rmtree(root, ignore_errors=True)
    shutil.move(unpacked / SDIST.removesuffix(".tar.gz"), root)
    served = work / "static"
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(root / "tests" / "_resources", served)
    for name in ("rss.xml", "therarbg.py"):
        shutil.copy(STATIC / name, served / name)
    tests = root / "tests"
    _replace(tests / "conftest.py", UPSTREAM_TORRENTS, f"{static.url}/")
    _replace(tests / "test_rss.py", UPSTREAM_FEED, f'"{static.url}/rss.xml"')
    _replace(tests / "test_search.py", UPSTREAM_PLUGIN, f"{static.url}/therarbg.py")
    resources = str(tests / "_resources")
    creator = tests / "test_torrentcreator.py"
    _replace(creator, 'Path("/tmp/_resources/test_torrent")', f'Path("{resources}/test_torrent")')
    for name in ("server.crt", "server.key"):
        upstream = f'mkpath("/tmp", "_resources", "{name}")'
        _replace(tests / "test_request.py", upstream, f'"{resources}/{name}"')
    return root


def point_at(root: Path, port: int) -> None:
    """Rewrite the suite's fixed ``localhost:8080`` to the server's port."""
    path = root / "tests" / "test_request.py"
    _replace(path, "localhost:8080", f"localhost:{port}")
    _replace(path, "port=8080", f"port={port}")


@dataclass(frozen=True)
class Target:
    """A server to run the suite against: where it is, who to log in as, what version it reports."""

    name: str
    port: int
    username: str
    password: str
    version: str
    # pytest's temporary directory: inside the server's allowed save roots.
    basetemp: Path


def run(python: Path, root: Path, target: Target, report: Path, selection: list[str]) -> dict[str, str]:
    """Run the suite (or the ``selection`` of its test files) against ``target``; each test's outcome."""
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env.update(
        QBITTORRENTAPI_HOST=f"localhost:{target.port}",
        QBITTORRENTAPI_USERNAME=target.username,
        QBITTORRENTAPI_PASSWORD=target.password,
        QBT_VER=target.version,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONPATH", None)
    shutil.rmtree(target.basetemp, ignore_errors=True)
    args = [
        str(python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=--doctest-modules",
        f"--basetemp={target.basetemp}",
        f"--junitxml={report}",
        *(selection or ["tests"]),
    ]
    with (report.parent / f"{target.name}.log").open("wb") as log:
        subprocess.run(args, cwd=root, env={**env, "PYTHONPATH": str(root / "src")}, stdout=log, stderr=log)
    return outcomes(report, target.port)


def outcomes(report: Path, port: int) -> dict[str, str]:
    """``{node id: passed|failed|skipped}`` from a junit report (an error counts as failed); the
    server's port, part of some parameters, reads ``PORT`` so both sides' ids compare."""
    found: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        node = f"{module}.py::{case.get('name', '')}".replace(f"localhost:{port}", "localhost:PORT")
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            found[node] = FAILED
        elif "skipped" in tags:
            found[node] = SKIPPED
        else:
            found[node] = PASSED
    return found
